"""What a model takes from the user: its parameter values and a valid regimen.

Shared by every verb (simulate, sweep, fit, ...) and by the SBML export, so a
set or a regimen is checked against a model in one place.
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import InputTypeError, ParameterError, RegimenError
from ..parameters import ParameterSet, check_units, check_value
from ..regimen import Dose, Regimen
from ..units import DOSE_UNITS, is_per_body_weight
from .model import Model


def resolve_params(model: Model, params: object) -> ParameterSet:
    """The parameter set a verb runs `model` with: `params`, or the model's default.

    Every verb that takes ``params`` resolves it here, so None means the same
    everywhere: the model's own values if it has them (an imported model's
    SBML values, ``model.default_parameters()``), else
    ``parameter_sets.load("human")``.

    Parameters
    ----------
    model : Model
        The model the set is for.
    params : ParameterSet or None
        The set given by the user (returned as it is), or None.

    Returns
    -------
    ParameterSet

    Raises
    ------
    InputTypeError
        If `params` is neither a ParameterSet nor None.
    ParameterError
        If `params` changes a parameter `model` fixes or does not read
        (:func:`check_ignored_values`).
    """
    from ..parameter_sets import load

    if params is None:
        own = getattr(model.definition, "values", None) is not None
        return model.default_parameters() if own else load("human")
    if not isinstance(params, ParameterSet):
        raise InputTypeError(f"`params` must be an il21pk ParameterSet (or None: the model's "
                             f"own values); got {type(params).__name__} {params!r}"[:300])
    check_ignored_values(model, params)
    return params


def check_ignored_values(model: Model, params: ParameterSet) -> None:
    """Refuse a value of `params` that `model` would ignore: of a parameter it fixes or
    does not read.

    A set built for several models carries values of parameters a model fixes
    or never reads: the human set's ``q`` = 1 L/h, which
    ``Model.pk_only(compartments=1)`` fixes to 0, or its ``cl``, which the
    default model does not read. Such a value is the model's to ignore as long
    as it is one a built-in set holds or the model's default
    (:meth:`Model.default_value`): the set was taken from one, not changed for
    this model. Any other value (``human.with_values(q=50)``) would change
    nothing, as a swept one would. Parameters no built-in set holds (a stage of
    the user's, in a set made for a model extended with it) are that other
    model's and pass.

    Parameters
    ----------
    model : Model
    params : ParameterSet

    Raises
    ------
    ParameterError
        If `params` gives a parameter `model` fixes or does not read a value of
        its own, naming it, the model's fixed value (if any) and the set's.
    """
    fixed = model.definition.fixed
    readable = model_inputs(model)
    # a parameter no built-in set holds came with a set made for another model (one
    # extended with a stage of the user's): its values are that model's, not a change
    unread = [name for name in params if name not in readable and name not in fixed
              and _built_in_values(name)]
    for name in (*fixed, *unread):
        if name not in params:
            continue
        value = params.value(name)
        if name in fixed and value == fixed[name]:
            continue
        taken = _built_in_values(name) | ({model.default_value(name)} if name in fixed else set())
        if value in taken:
            continue
        unit = params[name].unit
        reads = "it does not read it" if name not in fixed or np.isnan(fixed[name]) else \
            f"it fixes {name} = {fixed[name]:g} {unit}"
        kept = ", ".join(f"{v:g}" for v in sorted(v for v in taken if v is not None))
        keep = f"Leave it at a built-in set's value ({kept} {unit}), or keep" if kept else "Keep"
        raise ParameterError(
            f"{model!r} does not use parameter {name!r} ({reads}), so its value {value:g} "
            f"{unit} in set {params.name!r} would change nothing. {keep} only the parameters "
            "the model reads: model.parameter_set(base=params)")


@functools.cache
def _built_in_values(name: str) -> frozenset[float]:
    """The values the built-in parameter sets give `name`."""
    from ..parameter_sets import available, load

    return frozenset(float(s.value(name)) for s in map(load, available()) if name in s)


def check_regimen(model: Model, regimen: object, name: str = "`regimen`") -> Regimen:
    """Accept a Regimen (or a single Dose, or None for no doses) valid for `model`.

    Doses after the end of a simulation are allowed: they cannot affect it.
    `name` is how errors call the argument (e.g. ``"grid['regimen']['a']"``).
    """
    if regimen is None:
        regimen = Regimen.none()
    if isinstance(regimen, Dose):
        regimen = Regimen.single(regimen)
    if not isinstance(regimen, Regimen):
        raise InputTypeError(f"{name} must be an il21pk Regimen or Dose; got "
                             f"{type(regimen).__name__} {regimen!r}"[:250]
                             + " (None means no doses)")
    if regimen.time_unit is not None and model.time_unit is not None \
            and regimen.time_unit != model.time_unit:
        raise RegimenError(
            f"{name} is a schedule that counts days in {regimen.time_unit!r}, but model "
            f"{model.name!r} runs in {model.time_unit!r}: build it with "
            f"time_unit={model.time_unit!r} (e.g. Regimen.weekly(dose, weeks=4, "
            f"time_unit={model.time_unit!r})); NONMEM records converted for another model "
            "(or for hours, without `model=`): read them with model=this model")
    for d in regimen.doses:
        drug = model.drug(d.drug)
        if d.route not in drug.routes:
            raise RegimenError(f"drug {drug.name!r} of model {model.name!r} cannot be given by "
                               f"route {d.route!r}; its routes: {list(drug.routes)}")
    if model.culture is not None:  # in vitro, also after with_stage / replace_stage
        for d in regimen.doses:
            if is_per_body_weight(d.unit) or d.route != "iv" or d.is_infusion:
                amounts = [u for u in DOSE_UNITS if not is_per_body_weight(u)]
                raise RegimenError(
                    f"an in vitro model takes IV bolus doses of an amount ({', '.join(amounts)}: "
                    f"cytokine added to the well); {name} has {d.describe(model.time_unit)}")
    return regimen


def model_inputs(model: Model) -> set[str]:
    """Names of every parameter a simulation of `model` reads (dosing included)."""
    return set(model.parameter_names)


def parameter_columns(model: Model, params: ParameterSet) -> dict[str, np.ndarray]:
    """Values (1,) of every parameter the model and dosing read, from a set."""
    needed = model_inputs(model)
    missing = sorted(needed - set(params))
    if missing:
        raise ParameterError(f"parameter set {params.name!r} has no values for {missing}, which "
                             f"model {model.name!r} reads; give them with "
                             "model.parameter_set({name: (value, source)}, base=...)")
    check_against_specs(model, params)
    return {name: np.atleast_1d(float(params[name].value)) for name in params if name in needed}


def check_against_specs(model: Model, params: ParameterSet) -> None:
    """Each value the model reads is in the unit the model declares and within its hard
    bounds (a set built for another model, such as the human set for a custom model
    whose ``kd`` is a time, would otherwise be read in the wrong unit)."""
    check_units(model.parameter_specs, params, model.name)
    for spec in model.parameter_specs:
        if spec.name in params:
            check_value(spec.name, params[spec.name].value, spec.lower, spec.upper, spec.unit)
