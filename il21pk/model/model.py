"""The user-facing :class:`Model`: a composed definition, compiled on first use.

A :class:`Model` is structure only. Parameter values come from a
:class:`~il21pk.ParameterSet` and doses from a :class:`~il21pk.Regimen`.
Built-in models (the IL-21 and IL-15 chain, its oncology extension, PK
alone, a culture well, and model v1 kept for reference) and the user's own
are the same kind of object: stages composed by name; every verb
(``simulate``, ``sweep``, ``dose_response``, ``fit``, ``sensitivity``,
``to_sbml``) takes any of them.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..checks import is_real
from ..errors import InputTypeError, OptionError, ParameterError
from ..parameters import ParameterSet, ParameterSpec, build_set, check_units
from .compose import ModelDefinition, Variable
from .definition import Drug, Stage, State
from .stages import pk
from .v1 import il21_chain
from .v2 import culture_fixed, oncology_chain, v2_chain


@dataclass(frozen=True)
class Culture:
    """An in vitro experiment: culture volume [mL] and cell numbers."""

    volume_ml: float
    nk_cells: float
    cd8_cells: float

    def __post_init__(self) -> None:
        for name in ("volume_ml", "nk_cells", "cd8_cells"):
            value = getattr(self, name)
            if not is_real(value):  # "0.2" or True would be read as 0.2 mL or 1 cell
                raise InputTypeError(f"Model.in_vitro {name} must be a number; got "
                                     f"{type(value).__name__} {value!r}")
            value = float(value)
            object.__setattr__(self, name, value)
            if not np.isfinite(value) or value < 0 or (name == "volume_ml" and value == 0):
                allowed = "> 0" if name == "volume_ml" else ">= 0"
                raise ParameterError(f"Model.in_vitro {name} must be {allowed}; got {value!r}")
        if self.nk_cells + self.cd8_cells <= 0:
            raise ParameterError("Model.in_vitro needs nk_cells + cd8_cells > 0; got 0")

    def fixed_parameters(self) -> dict[str, float]:
        """The culture replaces PK and the body: volume, cells, no clearance."""
        per_ul = 1.0 / (self.volume_ml * 1e3)
        return {"v_central": self.volume_ml * 1e-3, "cl": 0.0, "q": 0.0, "ka": 0.0,
                "v_peripheral": 1.0, "nk_blood_0": self.nk_cells * per_ul,
                "cd8_blood_0": self.cd8_cells * per_ul, "marginated_ratio": 0.0,
                "k_return": 0.0, "emax_margination": 0.0,
                "receptor_cells": self.nk_cells + self.cd8_cells,
                "body_weight": float("nan"), "f_sc": 1.0, "tlag_sc": 0.0}


#: Model definitions unpickled in this process, by their pickled bytes: a worker
#: that receives the same model with every chunk of a sweep rebuilds its sympy
#: expressions once (about 20 ms for model v2), not once per chunk. A definition
#: does not change once built, so loads share it; each load is a new Model.
_DEFINITIONS: dict[bytes, ModelDefinition] = {}
_DEFINITIONS_MAX = 8


def _definition_blob(definition: ModelDefinition) -> bytes:
    """`definition` pickled, once (kept on it, left out of its own pickle)."""
    blob = definition.__dict__.get("_pickled")
    if blob is None:
        blob = pickle.dumps(definition, pickle.HIGHEST_PROTOCOL)
        definition.__dict__["_pickled"] = blob
    return blob


def _restore(blob: bytes, kind: str, culture: Culture | None, compartments: int) -> Model:
    definition = _DEFINITIONS.get(blob)
    if definition is None:
        definition = pickle.loads(blob)
        definition.__dict__["_pickled"] = blob
        if len(_DEFINITIONS) >= _DEFINITIONS_MAX:
            _DEFINITIONS.pop(next(iter(_DEFINITIONS)))
        _DEFINITIONS[blob] = definition
    return Model(definition, kind=kind, culture=culture, compartments=compartments)


def _restore_with(definition: ModelDefinition, model: Model) -> Model:
    """A new Model of `definition`, otherwise as `model` (kind, culture, compartments)."""
    return Model(definition, kind=model.kind, culture=model.culture,
                 compartments=model.compartments)


class Model:
    """A model: stages composed by name, compiled on first use.

    ``Model()`` is the default IL-21 model (model v2): two dosed drugs,
    ``"il21"`` (the default of a ``Dose``) and ``"il15"``; dose -> PK ->
    IL-21R and IL-2R-beta trafficking, competing for the shared gamma-c ->
    pSTAT3/pSTAT5 -> NK/CD8 redistribution, expansion and activation ->
    IFN-gamma, sCD25, anti-drug antibodies and toxicity readouts (see
    ``docs/model_v2.md`` and ``docs/validation.md``). Variants:
    :meth:`oncology` (plus tumour cells and a therapeutic antibody),
    :meth:`in_vitro` (a culture well), :meth:`pk_only` (any drug; 1 or 2
    compartments) and :meth:`v1` / :meth:`in_vitro_v1` (the first release's
    IL-21-only chain, kept as the reference of its results). Your own:
    :meth:`compose`, :meth:`with_stage`, :meth:`replace_stage` (see the
    custom-model how-to).

    Parameters
    ----------
    definition : ModelDefinition, optional
        The composed stages; default model v2.
    kind : str, optional
        What the model is, for messages and rules: ``"v2"``, ``"v1"``,
        ``"oncology"``, ``"pk_only"``, ``"in_vitro"``, ``"sbml"`` or
        ``"custom"``.
    culture : Culture, optional
        The culture well of an in vitro model (set by :meth:`in_vitro`).
    compartments : int, optional
        Compartments of a PK-only model (set by :meth:`pk_only`; default 2).

    Examples
    --------
    >>> import il21pk as ip
    >>> ip.Model().kind, [d.name for d in ip.Model().drugs]
    ('v2', ['il21', 'il15'])
    >>> ip.Model.pk_only(compartments=1).state_names
    ('il21_depot', 'il21_central', 'il21_peripheral', 'il21_auc')
    """

    def __init__(self, definition: ModelDefinition | None = None, *, kind: str | None = None,
                 culture: Culture | None = None, compartments: int = 2) -> None:
        if definition is None:
            definition = ModelDefinition(v2_chain(), name="v2")
            kind = kind or "v2"
        if not isinstance(definition, ModelDefinition):
            raise TypeError(f"`definition` must be a ModelDefinition; got "
                            f"{type(definition).__name__}")
        self.definition = definition
        self.kind = kind or "custom"
        self.culture = culture
        self.compartments = compartments

    # -- constructors --------------------------------------------------------
    @classmethod
    def compose(cls, *stages: Stage, name: str = "custom", fixed: Mapping[str, float] | None = None,
                initial: Mapping[str, sp.Expr | float] | None = None) -> Model:
        """A model of your own stages (in data-flow order), wired by name.

        Parameters
        ----------
        *stages : Stage
        name : str
            Model name (also names its generated module).
        fixed : mapping of str to float, optional
            Parameters replaced by numbers.
        initial : mapping of str to expression, optional
            Baselines replacing the stages' own.
        """
        return cls(ModelDefinition(stages, name=name, fixed=fixed, initial=initial),
                   kind="custom")

    @classmethod
    def pk_only(cls, *, compartments: int = 2) -> Model:
        """PK alone (no receptors): IV bolus/infusion and first-order absorption.

        Works for any drug: set ``mw`` [kDa] and the PK parameters. They are
        model v1's (``cl``, ``v_central``, ``q``, ``v_peripheral``, ``ka``,
        ``f_sc``, ``tlag_sc``): the human set holds v1's IL-21 values there
        (``cl`` 5 L/h), not model v2's reconciled, allometric ones
        (``il21_cl_ref`` 1.5 L/h at 70 kg), so IL-21's exposure from this
        model with the human set is about a third of model v2's.
        """
        if isinstance(compartments, bool) or compartments not in (1, 2):
            raise OptionError(f"`compartments` must be 1 or 2; got {compartments!r}")
        fixed = {"q": 0.0, "v_peripheral": 1.0} if compartments == 1 else {}
        return cls(ModelDefinition([pk()], name=f"pk_only_{compartments}", fixed=fixed),
                   kind="pk_only", compartments=compartments)

    @classmethod
    def in_vitro_v1(cls, *, volume_ml: float = 0.2, nk_cells: float = 1e5,
                 cd8_cells: float = 2e5) -> Model:
        """Model v1's culture well: IL-21 added to `volume_ml` of medium with NK/CD8 cells.

        No PK: the culture volume replaces ``v_central``, there is no renal
        clearance, no margination, and IFN-gamma starts from 0. Give the
        cytokine as an IV dose at t=0 in mass or molar units (``ng``, ``nmol``).
        """
        culture = Culture(volume_ml, nk_cells, cd8_cells)
        definition = ModelDefinition(il21_chain(), name="in_vitro",
                                     fixed=culture.fixed_parameters(),
                                     initial={"ifng_plasma": 0.0})
        return cls(definition, kind="in_vitro", culture=culture)

    @classmethod
    def v1(cls) -> Model:
        """Model v1, the first release's IL-21-only chain: dose -> PK -> IL-21R/gamma-c
        binding -> pSTAT3 -> NK/CD8 cells -> IFN-gamma (``docs/model.md``).

        Kept unchanged as the reference of its results (the tests hold it to
        the release before the model core was rebuilt) and for its fits; see
        the model review for where it fails.
        """
        return cls(ModelDefinition(il21_chain(), name="full"), kind="v1")

    @classmethod
    def v2(cls) -> Model:
        """Model v2, the default: the same as ``Model()``."""
        return cls()

    @classmethod
    def oncology(cls) -> Model:
        """The default model plus tumour cells and a therapeutic antibody (``drug="mab"``).

        The antibody (rituximab-like IgG1, IV) has linear and target-mediated
        PK, binds its antigen on normal B cells (``b_cells``) and tumour cells
        (``tumour_cells``), and NK cells kill coated cells by ADCC, enhanced by
        IL-21 through the activated fraction; NK and CD8 activity kill the
        tumour (Cappuccio 2006 / Elishmereni 2011 structure).
        """
        return cls(ModelDefinition(oncology_chain(), name="oncology"), kind="oncology")

    @classmethod
    def in_vitro(cls, *, volume_ml: float = 0.2, nk_cells: float = 1e5,
                 cd8_cells: float = 2e5) -> Model:
        """A culture well with the default model's biology: IL-21 and/or IL-15 at t=0.

        The default chain without anti-drug antibodies and toxicity; the
        culture volume is both cytokines' volume, only the cells' receptors
        remove them, cells do not marginate or contract, IFN-gamma and sCD25
        start at 0. Doses are IV boluses of an amount (``ng``, ``ug``,
        ``nmol``, ...; not per kg) with ``drug="il21"`` or ``drug="il15"``.
        """
        culture = Culture(volume_ml, nk_cells, cd8_cells)
        definition = ModelDefinition(
            v2_chain(safety=False), name="in_vitro_v2",
            fixed=culture_fixed(culture.volume_ml, culture.nk_cells, culture.cd8_cells),
            initial={"ifng_plasma": 0.0, "scd25_plasma": 0.0})
        return cls(definition, kind="in_vitro", culture=culture)

    @classmethod
    def in_vitro_v2(cls, *, volume_ml: float = 0.2, nk_cells: float = 1e5,
                    cd8_cells: float = 2e5) -> Model:
        """The same as :meth:`in_vitro`."""
        return cls.in_vitro(volume_ml=volume_ml, nk_cells=nk_cells, cd8_cells=cd8_cells)

    def with_stage(self, stage: Stage, *, fixed: Mapping[str, float] | None = None) -> Model:
        """This model plus `stage` (appended; it reads the others' names).

        An imported model keeps its own parameter values (``default_parameters``)
        and result names (``[S]``); the new stage's parameters take their
        values from the set you give (``model.parameter_set({...})``).
        """
        d = self.definition
        return Model(d.derived([*d.stages, stage], name=f"{d.name}+{stage.name}",
                               fixed={**d.fixed, **dict(fixed or {})},
                               initial=d.initial_overrides),
                     kind="custom", culture=self.culture)

    def replace_stage(self, name: str, stage: Stage, *,
                      fixed: Mapping[str, float] | None = None) -> Model:
        """This model with stage `name` replaced by `stage` (same place in the chain).

        A value this model fixes stays fixed only for the same parameter: one
        the new stages declare with the same spec (unit, bounds, description).
        A parameter of that name in another unit is another quantity, so it is
        no longer fixed and its value comes from the parameter set:
        ``Model.pk_only(compartments=1)`` fixes the intercompartmental
        clearance ``q`` [L/h] to 0; a stage of yours whose ``q`` is an
        elimination rate constant [1/h] reads ``q`` from the set, in 1/h. So
        with a baseline given by ``initial=``: it carries over to a state of
        the same name and unit, and a state in another unit starts from its
        stage's own baseline.

        Parameters
        ----------
        name : str
            The stage to replace.
        stage : Stage
            Its replacement.
        fixed : mapping of str to float, optional
            Parameters replaced by numbers, besides those carried over (a value
            given here replaces a carried one).

        Raises
        ------
        ParameterError
            If `name` is not a stage of the model, or the new stages declare a
            parameter the model fixes in the same unit but with other bounds or
            another description (whether it is the same quantity is unknown):
            declare it with the same spec to keep the value, fix it with
            `fixed`, or name it differently to leave it free.
        """
        d = self.definition
        d.stage(name)  # a clear error if unknown
        stages = [stage if s.name == name else s for s in d.stages]
        specs = {p.name: p for s in stages for p in s.parameters}
        old = {p.name: p for p in d.all_parameters}
        given = dict(fixed or {})
        kept = {}
        for key, value in d.fixed.items():
            new = specs.get(key)
            if key in given or new is None or new.unit != old[key].unit:
                continue
            if new != old[key]:
                raise ParameterError(
                    f"model {d.name!r} fixes {key!r} = {value:g} {old[key].unit} "
                    f"({old[key].description}, within [{old[key].lower:g}, "
                    f"{old[key].upper:g}]), and stage {stage.name!r} declares {key!r} in "
                    f"{new.unit} as {new.description!r} within [{new.lower:g}, "
                    f"{new.upper:g}]: a fixed value carries over only to the same parameter. "
                    f"Declare it with the same spec to keep {key} = {value:g}, fix it with "
                    f"replace_stage(..., fixed={{{key!r}: value}}), or give it another name "
                    "to leave it free")
            kept[key] = value
        # as a fixed value: a baseline carries over to a state of the same name and unit
        units = {s.name: s.unit for _, s in d.states}
        states = {s.name: s.unit for st in stages for s in st.states}
        initial = {k: v for k, v in d.initial_overrides.items() if states.get(k) == units[k]}
        return Model(d.derived(stages, name=f"{d.name}~{stage.name}", fixed={**kept, **given},
                               initial=initial),
                     kind="custom", culture=self.culture)

    @classmethod
    def from_sbml(cls, source, *, drugs: Mapping[str, str] | None = None, report=None,
                  name: str | None = None) -> Model:
        """A model imported from SBML (Level 2 or 3 core), run by the compiled engine.

        Parameters
        ----------
        source : str or path-like
            Path to an SBML file, or the SBML (XML) text.
        drugs : mapping of str to str, optional
            ``{drug: id}``: doses of `drug` go to the species or parameter `id`
            (amounts in the model's substance unit; mass doses through the
            parameter ``mw_<drug>`` [kDa], 1 by default).
        report : None, "all" or sequence of str, optional
            Result variables in libRoadRunner's names (``S``, ``[S]``, ids).
            Default: species amounts and concentrations, and whatever else
            changes in time; ``"all"`` adds constants and reaction rates.
        name : str, optional
            Model name (default: the SBML model id).

        Returns
        -------
        Model
            ``kind="sbml"``; ``default_parameters()`` holds the SBML's values,
            ``definition.time_unit`` the model's time unit.

        Raises
        ------
        il21pk.io.SbmlError
            Invalid SBML or an unsupported construct (delays, algebraic rules,
            fast reactions, event delays, packages), naming the element.
        """
        from ..io.sbml_model import definition_from_sbml

        return cls(definition_from_sbml(source, drugs=drugs, report=report, name=name),
                   kind="sbml")

    @classmethod
    def from_antimony(cls, text: str, *, drugs: Mapping[str, str] | None = None, report=None,
                      name: str | None = None) -> Model:
        """A model imported from Antimony text; as :meth:`from_sbml`."""
        from ..io.sbml_model import definition_from_antimony

        return cls(definition_from_antimony(text, drugs=drugs, report=report, name=name),
                   kind="sbml")

    def __repr__(self) -> str:
        extra = f", compartments={self.compartments}" if self.kind == "pk_only" else ""
        if self.culture is not None:
            extra = f", culture={self.culture}"
        if self.kind == "custom":
            extra = f", name={self.definition.name!r}, stages=" \
                    f"{[s.name for s in self.definition.stages]}"
        return f"Model(kind={self.kind!r}{extra})"

    def __reduce__(self):
        # the definition is pickled once and unpickled once per process
        return _restore, (_definition_blob(self.definition), self.kind, self.culture,
                          self.compartments)

    def __copy__(self) -> Model:
        return _restore_with(self.definition, self)

    def __deepcopy__(self, memo: dict) -> Model:
        # a definition of its own (an unpickled one is shared; its pickled bytes are
        # left out of the copy by ModelDefinition.__getstate__)
        return _restore_with(copy.deepcopy(self.definition, memo), self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and \
            other.definition.identity() == self.definition.identity()

    def __hash__(self) -> int:
        return hash(self.definition.identity())

    # -- structure -----------------------------------------------------------
    @property
    def name(self) -> str:
        """The model's name."""
        return self.definition.name

    @property
    def time_unit(self) -> str | None:
        """The unit of the model's time: ``'h'`` for il21pk's own models, an
        imported model's own (``'d'``, ``'s'``, ...; None if its SBML declares
        none). Times given to and returned by every verb are in it."""
        return self.definition.time_unit

    @property
    def states(self) -> tuple[tuple[str, State], ...]:
        """(stage, State) of every ODE state, in state-vector order."""
        return self.definition.states

    @property
    def state_names(self) -> tuple[str, ...]:
        """Names of the ODE states in state-vector order."""
        return self.definition.state_names

    @property
    def n_states(self) -> int:
        """Number of ODE states per simulated member."""
        return len(self.definition.states)

    @property
    def parameter_specs(self) -> tuple[ParameterSpec, ...]:
        """Specs of the parameters this model reads."""
        return self.definition.parameters

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names of the parameters this model reads."""
        return self.definition.parameter_names

    @property
    def variables(self) -> tuple[Variable, ...]:
        """Everything reported in a simulation frame, in order."""
        return self.definition.variables

    @property
    def drugs(self) -> tuple[Drug, ...]:
        """Drugs the model can be dosed with (the first is the default)."""
        return self.definition.drugs

    def drug(self, name: str | None = None) -> Drug:
        """The drug called `name` (default: the first); a clear error if unknown."""
        return self.definition.drug(name)

    def default_parameters(self, values: Mapping[str, tuple[float, str]] | None = None, *,
                           base: str | ParameterSet | None = None) -> ParameterSet:
        """A parameter set with this model's parameters, values from `base`.

        Parameters
        ----------
        values : mapping of str to (float, str), optional
            ``{name: (value, source)}`` replacing or adding to the defaults:
            the values of a stage added to an imported model, which has none.
        base : str or ParameterSet, optional
            None (default): the model's own values if it has them (an imported
            model's SBML values), else the human set.

        Raises
        ------
        ParameterError
            If some of this model's parameters have no value (give them in
            `values`).
        """
        own = getattr(self.definition, "values", None)
        if base is None and own is not None:
            assumed = getattr(self.definition, "assumed", {})
            merged = {n: (v, assumed.get(n, "SBML")) for n, v in own.items()}
            merged.update(dict(values or {}))
            missing = [n for n in self.parameter_names if n not in merged]
            if missing:
                raise ParameterError(
                    f"model {self.name!r} has no values of its own for {missing} (parameters "
                    "of a stage added to the imported model); give them: "
                    f"model.default_parameters({{{missing[0]!r}: (value, 'source'), ...}})")
            return self.parameter_set(merged, base=None, name=f"{self.name} (SBML values)")
        return self.parameter_set(values, base="human" if base is None else base)

    def default_value(self, name: str) -> float | None:
        """The default value of one parameter, as :meth:`default_parameters` takes it
        (an imported model's own value, else the human set's), or None."""
        from ..parameter_sets import load

        own = getattr(self.definition, "values", None) or {}
        if name in own:
            return float(own[name])
        human = load("human")
        return float(human.value(name)) if name in human else None

    def parameter_set(self, values: Mapping[str, tuple[float, str]] | None = None, *,
                      base: str | ParameterSet | None = "human",
                      name: str | None = None) -> ParameterSet:
        """A parameter set for this model: `values` ``{name: (value, source)}``,
        the rest taken from `base` (a set or the name of a built-in set).

        Raises
        ------
        ParameterError
            If a parameter has no value, or a value names no parameter.
        """
        from ..parameter_sets import load

        if isinstance(base, str):
            base = load(base)
        merged: dict[str, tuple[float, str]] = {}
        values = dict(values or {})
        if base is not None:
            check_units(self.parameter_specs, base, self.name, skip=values)
            merged.update({n: (p.value, p.source) for n, p in base.items()
                           if n in self.parameter_names})
        merged.update(values)
        return build_set(self.parameter_specs, merged,
                         name=name or (base.name if base is not None and not values else
                                       f"{self.name} parameters"))

    def to_sbml(self, params=None, regimen=None, path=None) -> str:
        """SBML Level 3 of this model with `params` and `regimen`.

        `params` None: the model's own values; `regimen` None: no doses. See
        :func:`il21pk.codegen.sbml.to_sbml`.
        """
        from ..codegen.sbml import to_sbml

        return to_sbml(self, params, regimen, path)

    def fixed_value(self, name: str) -> float | None:
        """The number a parameter is fixed to in this model, or None."""
        return self.definition.fixed.get(name)
