"""Stages composed by name into one flat system of ODEs.

:class:`ModelDefinition` joins stages, checks the wiring (every name read is
provided exactly once, no cycles among quantities) and flattens them: the
states in order, the free parameters, the constants computed once per
simulated member, the algebraic quantities evaluated with the rates, and the
drugs. Parameters can be *fixed* by the model (a variant such as the in vitro
culture or a one-compartment PK fixes some) and baselines overridden.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sympy as sp

from ..checks import is_real
from ..errors import InputTypeError, ParameterError
from ..parameters import ParameterSpec, check_value
from ..units import DOSING_UNITS, TIME_UNITS, time_to_hours
from .definition import (
    TIME,
    Drug,
    Quantity,
    Stage,
    State,
    as_expression,
    normal_time_unit,
)

#: An SBML unit definition as terms ``(kind, exponent, factor)``, meaning the
#: product of ``(factor * kind) ** exponent`` (SBML's multiplier x 10^scale).
UnitTerms = tuple[tuple[str, float, float], ...]

#: The model-wide units of il21pk's own models: time in hours, substance in
#: nmol, volume in litres (what the SBML export declares for them).
HOURS_NMOL_LITRE: Mapping[str, UnitTerms] = {
    "time": (("second", 1.0, 3600.0),),
    "substance": (("mole", 1.0, 1e-9),),
    "volume": (("litre", 1.0, 1.0),),
}


@dataclass(frozen=True)
class Variable:
    """A reported variable: name, stage, unit, description."""

    name: str
    stage: str
    unit: str
    description: str


def _topological(defined: Mapping[str, sp.Expr], what: str) -> list[str]:
    """Names of `defined` ordered so each comes after the names it reads."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " -> ".join(path[path.index(name):] + [name])
            raise ParameterError(f"{what} depend on each other in a cycle: {cycle}")
        state[name] = 1
        for s in sorted(defined[name].free_symbols, key=lambda s: s.name):
            if s.name in defined:
                visit(s.name, path + [name])
        state[name] = 2
        order.append(name)

    for name in defined:
        visit(name, [])
    return order


class ModelDefinition:
    """A model as data: stages wired by name, flattened into one ODE system.

    Parameters
    ----------
    stages : iterable of Stage
        In data-flow order (results list variables in this order).
    name : str
        Model name.
    fixed : mapping of str to float
        Parameters the model sets itself (removed from the parameters users
        give), each within its hard bounds, or NaN for a value that is not
        available (a culture's body weight: per-kg doses are refused). The
        values are not part of the generated code, so variants that differ
        only in them (cultures of other sizes) share compiled kernels.
    initial : mapping of str to expression
        Baselines that replace the stages' own.
    time_unit : str or None, optional
        The unit of time ``t`` in the rates (``'h'`` for il21pk's stages; an
        imported model's own, None if it declares none). Every stage that
        declares a time unit must declare this one.
    unit_definitions : mapping of str to UnitTerms, optional
        The model-wide ``"time"``, ``"substance"`` and ``"volume"`` units as
        the SBML export declares them (undeclared ones left out); default
        :data:`HOURS_NMOL_LITRE`. Must agree with `time_unit`.

    Raises
    ------
    ParameterError
        If a stage declares another time unit than the model's, a name is
        defined twice, a required input is provided by no stage,
        quantities depend on each other in a cycle, `fixed`/`initial` name
        something the stages do not define, a drug's parameters or states are
        declared in other units than dosing reads, or its central rate does
        not add the infusion input with coefficient 1.
    """

    def __init__(self, stages: Iterable[Stage], *, name: str = "custom",
                 fixed: Mapping[str, float] | None = None,
                 initial: Mapping[str, sp.Expr | float] | None = None,
                 time_unit: str | None = "h",
                 unit_definitions: Mapping[str, UnitTerms] = HOURS_NMOL_LITRE) -> None:
        self.stages: tuple[Stage, ...] = tuple(stages)
        self.time_unit = time_unit = normal_time_unit(time_unit)
        self.unit_definitions = dict(unit_definitions)
        if unit_definitions is HOURS_NMOL_LITRE and time_unit != "h":
            # the default's time is hours: a model in days declares days (its SBML export
            # said hours, and its rates per day were read per hour), one in no known
            # unit none
            del self.unit_definitions["time"]
            if time_unit in TIME_UNITS:
                self.unit_definitions["time"] = (
                    ("second", 1.0, 3600.0 * float(time_to_hours(1.0, time_unit))),)
        for stage in self.stages:
            if not isinstance(stage, Stage):
                raise TypeError(f"a model is composed of Stage objects; got "
                                f"{type(stage).__name__} {stage!r}")
        if not self.stages:
            raise ParameterError("a model needs at least one stage")
        for stage in self.stages:  # a rate per hour read per day would be 24 times too slow
            if None not in (stage.time_unit, time_unit) and stage.time_unit != time_unit:
                raise ParameterError(
                    f"stage {stage.name!r} runs in {stage.time_unit!r} (its rates and "
                    f"parameters are per {stage.time_unit}), but the model's time t runs in "
                    f"{time_unit!r}: they would be read per {time_unit}. Compose it with "
                    f"stages in {time_unit!r}, or declare a stage of your own in "
                    f"{time_unit!r} (Stage(..., time_unit={time_unit!r}))")
        if not isinstance(name, str) or not name.strip():
            raise InputTypeError(f"a model's name must be a non-empty str; got "
                                 f"{type(name).__name__} {name!r}"[:300])
        self.name = name
        self.fixed = dict(fixed or {})
        self.initial_overrides = {k: as_expression(v, f"initial value of {k!r}")
                                  for k, v in dict(initial or {}).items()}
        self._key: str | None = None
        self._identity: str | None = None
        self._flatten()

    def __getstate__(self) -> dict:
        # without the pickled copy of itself a Model keeps on it (model.py)
        return {k: v for k, v in self.__dict__.items() if k != "_pickled"}

    def derived(self, stages: Iterable[Stage], *, name: str, fixed: Mapping[str, float],
                initial: Mapping[str, sp.Expr | float]) -> ModelDefinition:
        """A definition of `stages` in this one's time unit and units (what
        ``Model.with_stage`` and ``replace_stage`` build); an imported model's
        keeps its own values and result names too."""
        return ModelDefinition(stages, name=name, fixed=fixed, initial=initial,
                               time_unit=self.time_unit, unit_definitions=self.unit_definitions)

    # -- composition ---------------------------------------------------------
    def _flatten(self) -> None:
        owner: dict[str, str] = {}
        for stage in self.stages:
            names = stage.names()
            if stage.name in {s.name for s in self.stages if s is not stage}:
                raise ParameterError(f"two stages are named {stage.name!r}")
            for name in sorted(names):
                if name in owner:
                    raise ParameterError(f"{name!r} is defined by both stage {owner[name]!r} "
                                         f"and stage {stage.name!r}")
                owner[name] = stage.name
        self.owner = owner
        specs = {p.name: p for stage in self.stages for p in stage.parameters}
        unknown = sorted(set(self.fixed) - set(specs))
        if unknown:
            raise ParameterError(f"`fixed` names {unknown}, which are not parameters of the "
                                 f"stages; parameters: {sorted(specs)}")
        for name, value in self.fixed.items():
            spec = specs[name]
            # as it is: NaN, not available (a culture's body weight), or an infinity
            # the bounds reach (an SBML constant INF, unbounded once imported)
            as_is = is_real(value) and (math.isnan(value) or (
                math.isinf(value) and spec.lower <= value <= spec.upper))
            self.fixed[name] = float(value) if as_is else check_value(
                f"fixed {name}", value, spec.lower, spec.upper, spec.unit)
        defaults: dict[str, sp.Expr] = {}
        for stage in self.stages:
            for name, default in stage.inputs.items():
                if name in owner:
                    continue
                if default is None:
                    raise ParameterError(
                        f"stage {stage.name!r} reads {name!r}, which no stage provides; "
                        f"provided names: {sorted(owner)}")
                defaults[name] = sp.Float(default)
        substitute = {sp.Symbol(k): v for k, v in defaults.items()}

        def resolve(expr: sp.Expr) -> sp.Expr:
            return expr.xreplace(substitute) if substitute else expr

        self.all_parameters: tuple[ParameterSpec, ...] = tuple(
            p for stage in self.stages for p in stage.parameters)
        self.parameters: tuple[ParameterSpec, ...] = tuple(
            p for p in self.all_parameters if p.name not in self.fixed)
        self.states: tuple[tuple[str, State], ...] = tuple(
            (stage.name, s) for stage in self.stages for s in stage.states)
        if not self.states:
            raise ParameterError(f"a model needs at least one state; stages "
                                 f"{[stage.name for stage in self.stages]} declare none")
        state_names = {s.name for _, s in self.states}
        unknown = sorted(set(self.initial_overrides) - state_names)
        if unknown:
            raise ParameterError(f"`initial` names {unknown}, which are not states; states: "
                                 f"{sorted(state_names)}")
        quantities: dict[str, Quantity] = {q.name: q for st in self.stages for q in st.quantities}
        expressions = {name: resolve(q.expression) for name, q in quantities.items()}
        order = _topological(expressions, "quantities")
        parameter_names = {p.name for p in self.all_parameters}
        constant: set[str] = set()
        for name in order:
            free = {s.name for s in expressions[name].free_symbols}
            if free <= parameter_names | constant:
                constant.add(name)
        self.constants: tuple[tuple[str, sp.Expr], ...] = tuple(
            (name, expressions[name]) for name in order if name in constant)
        self.algebraic: tuple[tuple[str, sp.Expr], ...] = tuple(
            (name, expressions[name]) for name in order if name not in constant)
        self.quantity_specs = quantities
        self.rates: tuple[sp.Expr, ...] = tuple(
            resolve(stage.rates[s.name]) for stage in self.stages for s in stage.states)
        initial = []
        for _, s in self.states:
            expr = resolve(self.initial_overrides.get(s.name, s.initial))
            free = {x.name for x in expr.free_symbols} - parameter_names - constant
            if free:
                raise ParameterError(f"the initial value of {s.name!r} reads {sorted(free)}; "
                                     "baselines may read parameters and constant quantities only")
            initial.append(expr)
        self.initial: tuple[sp.Expr, ...] = tuple(initial)
        self.drugs: tuple[Drug, ...] = tuple(d for stage in self.stages for d in stage.drugs)
        self._check_drugs(state_names, parameter_names)
        self.inputs: tuple[str, ...] = tuple(d.infusion_input for d in self.drugs)
        self.variables: tuple[Variable, ...] = tuple(self._variables())
        if not self.variables:
            raise ParameterError(f"a model needs at least one reported variable; stages "
                                 f"{[stage.name for stage in self.stages]} report none "
                                 "(list states or quantities in a stage's `report`)")
        self._check_reports_read_no_time()

    def _check_reports_read_no_time(self) -> None:
        """Refuse a reported quantity that reads time: reports are computed from the
        states and parameters alone (the generated ``outputs(y, k)``), so it failed
        in simulate() with a NameError."""
        quantities = dict(self.algebraic)
        sources = getattr(self, "sources", {})  # result label -> quantity (imported models)
        for variable in self.variables:
            todo_root = sources.get(variable.name, variable.name)
            todo, seen = [todo_root], set()
            while todo:
                name = todo.pop()
                if name in seen or name not in quantities:
                    continue
                seen.add(name)
                symbols = quantities[name].free_symbols
                if TIME in symbols:
                    raise ParameterError(
                        f"reported quantity {variable.name!r} reads time t"
                        f"{'' if name == todo_root else f' (through {name!r})'}: reports "
                        "are computed from states and parameters; add a state that counts "
                        f"time (State('clock', {self.time_unit or 'h'!r}, 'time', "
                        "initial=0.0) with rate 1) and read it instead")
                todo += [sym.name for sym in symbols]

    def _check_drugs(self, states: set[str], parameters: set[str]) -> None:
        seen: dict[int, str] = {}
        names = [d.name for d in self.drugs]
        if len(set(names)) != len(names):
            raise ParameterError(f"drug names must be unique; got {names}")
        for drug in self.drugs:
            for what, name in (("central", drug.central), ("depot", drug.depot)):
                if name is not None and name not in states:
                    raise ParameterError(f"drug {drug.name!r} {what} {name!r} is not a state")
            for what, name in (("mw", drug.mw), ("bioavailability", drug.bioavailability),
                               ("lag", drug.lag)):
                if name is not None and name not in parameters:
                    raise ParameterError(f"drug {drug.name!r} {what} {name!r} is not a parameter")
            self._check_dosing_units(drug)
            self._check_infusion(drug)
            for cmt, state in drug.cmt.items():
                if state not in (drug.central, drug.depot):
                    raise ParameterError(f"drug {drug.name!r} CMT {cmt} -> {state!r}: must be "
                                         "its central or depot state")
                if cmt in seen:
                    raise ParameterError(f"CMT {cmt} is claimed by drugs {seen[cmt]!r} and "
                                         f"{drug.name!r}")
                seen[cmt] = drug.name

    def _check_dosing_units(self, drug: Drug) -> None:
        """Refuse a parameter or state `drug`'s doses read in another unit than dosing
        uses (:data:`~il21pk.units.DOSING_UNITS`): units are free text, and a molecular
        weight in g/mol read as kDa doses 1000 times too little.

        The states doses go to and the lag are checked in a model in il21pk's units
        (hours and nmol: every composed model); an imported model in other units or
        none (and stages added to it) takes doses as numbers in its own substance
        unit and lags in its own time unit, into states in the SBML's units.
        """
        specs = {p.name: p for p in self.all_parameters}
        wanted = [(f"molecular weight {drug.mw!r}", specs[drug.mw].unit, DOSING_UNITS["mw"],
                   "mass doses in ug are divided by it in kDa to give nmol (1 kDa = 1000 g/mol)",
                   "")]
        if drug.bioavailability is not None:
            wanted.append((f"bioavailability {drug.bioavailability!r}",
                           specs[drug.bioavailability].unit, DOSING_UNITS["bioavailability"],
                           "SC doses are multiplied by it, a fraction", ""))
        if "body_weight" in specs:
            wanted.append(("'body_weight'", specs["body_weight"].unit,
                           DOSING_UNITS["body_weight"], "per-kg doses are multiplied by it in kg",
                           ""))
        if all(self.unit_definitions.get(k) == HOURS_NMOL_LITRE[k] for k in ("time", "substance")):
            units = {s.name: s.unit for _, s in self.states}
            wanted += [(f"{what} state {name!r}", units[name], DOSING_UNITS["amount"],
                        "doses add nmol to it",
                        " (an amount; report a concentration as a Quantity amount / volume)")
                       for what, name in (("central", drug.central), ("depot", drug.depot))
                       if name is not None]
            if drug.lag is not None:
                # spelled as stages may spell their time unit ("hour", "hours", "hr")
                wanted.append((f"lag {drug.lag!r}", normal_time_unit(specs[drug.lag].unit),
                               str(self.time_unit),
                               "it is added to SC dose times, in the model's time unit", ""))
        for what, unit, required, why, hint in wanted:
            if unit != required:
                raise ParameterError(f"drug {drug.name!r}: its {what} is declared in {unit!r}, "
                                     f"but {why}; declare it in {required!r}{hint}")

    def _check_infusion(self, drug: Drug) -> None:
        """Refuse a central rate that does not add the infusion input as it is: d rate /
        d infusion must be 1 (quantities that read the input substituted), else an
        infusion adds another amount than the same dose as a bolus."""
        symbol = sp.Symbol(drug.infusion_input)
        rate = dict(zip(self.state_names, self.rates, strict=True))[drug.central]
        how = (f"write it as an amount [nmol] whose rate adds {drug.infusion_input!r} "
               f"[nmol/h] as it is (`... + {drug.infusion_input}`), and report a "
               "concentration as a quantity amount / volume")
        reading: dict[sp.Symbol, sp.Expr] = {}  # quantities that read the input, expanded
        for name, expr in self.algebraic:
            expr = expr.xreplace(reading)
            if symbol in expr.free_symbols:
                reading[sp.Symbol(name)] = expr
        rate = rate.xreplace(reading)
        if symbol not in rate.free_symbols:
            raise ParameterError(
                f"drug {drug.name!r}: the rate of its central state {drug.central!r} must "
                f"add the infusion input {drug.infusion_input!r} [nmol/h]; {how}")
        derivative = sp.diff(rate, symbol)
        slope = derivative if derivative == 1 else sp.simplify(derivative)
        # a float coefficient (1.0, 0.3 + 0.7) is 1 to rounding, never equal to sympy's 1
        if not (slope.is_number and abs(complex(slope) - 1) <= 1e-12):
            raise ParameterError(
                f"drug {drug.name!r}: the rate of its central state {drug.central!r} must "
                f"add the infusion input {drug.infusion_input!r} [nmol/h] as it is, so that "
                f"an infusion adds the same nmol as a bolus; its derivative with respect to "
                f"{drug.infusion_input!r} is {str(derivative)[:200]}, not 1; {how}")

    def _variables(self) -> Iterable[Variable]:
        states = {s.name: s for _, s in self.states}
        for stage in self.stages:
            for name in stage.reported:
                item = states.get(name) or self.quantity_specs[name]
                yield Variable(name, stage.name, item.unit, item.description)

    # -- views -----------------------------------------------------------------
    @property
    def state_names(self) -> tuple[str, ...]:
        """ODE state names, in state-vector order."""
        return tuple(s.name for _, s in self.states)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Free parameter names, in stage order."""
        return tuple(p.name for p in self.parameters)

    def drug(self, name: str | None) -> Drug:
        """The drug called `name` (the first drug if None); a clear error if unknown."""
        if not self.drugs:
            raise ParameterError(f"model {self.name!r} declares no drug: it cannot be dosed")
        if name is None:
            return self.drugs[0]
        for drug in self.drugs:
            if drug.name == name:
                return drug
        raise ParameterError(f"model {self.name!r} has no drug {name!r}; its drugs: "
                             f"{[d.name for d in self.drugs]}")

    def stage(self, name: str) -> Stage:
        """The stage called `name`."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise ParameterError(f"model {self.name!r} has no stage {name!r}; stages: "
                             f"{[s.name for s in self.stages]}")

    def canonical_text(self) -> str:
        """A text that changes whenever anything that affects generated code changes."""
        lines = [f"model {self.name}"]
        lines += [f"state {s.name} [{s.unit}] = {sp.srepr(init)}"
                  for (_, s), init in zip(self.states, self.initial, strict=True)]
        lines += [f"parameter {p.name} [{p.unit}] {p.lower!r} {p.upper!r}"
                  for p in self.all_parameters]
        lines += [f"constant {n} = {sp.srepr(e)}" for n, e in self.constants]
        lines += [f"algebraic {n} = {sp.srepr(e)}" for n, e in self.algebraic]
        lines += [f"rate {s.name} = {sp.srepr(r)}"
                  for (_, s), r in zip(self.states, self.rates, strict=True)]
        lines += [f"input {name}" for name in self.inputs]
        lines += [f"variable {v.name} {v.stage} [{v.unit}]" for v in self.variables]
        return "\n".join(lines)

    def key(self) -> str:
        """Hash of :meth:`canonical_text`: generated code is cached under it.

        Computed once (a definition does not change after it is built): the
        verbs look the compiled kernels up by it on every batch.
        """
        if self._key is None:
            self._key = hashlib.sha256(self.canonical_text().encode()).hexdigest()[:16]
        return self._key

    def identity(self) -> str:
        """Hash of everything that changes a simulation's results: the generated code
        (:meth:`canonical_text`) and what the engine reads beside it (the drugs and
        their dosing, the non-negative states, the time unit and unit definitions,
        the fixed values). Models compare equal, and sweeps resume, by it."""
        if self._identity is None:
            text = "\n".join([
                self.canonical_text(), repr(self.drugs),
                repr([s.nonnegative for _, s in self.states]), repr(self.time_unit),
                repr(sorted(self.unit_definitions.items())),
                repr(sorted(self.fixed.items()))])
            self._identity = hashlib.sha256(text.encode()).hexdigest()[:16]
        return self._identity

    def uses_time(self) -> bool:
        """Whether any rate or quantity reads time explicitly (non-autonomous)."""
        exprs = list(self.rates) + [e for _, e in self.algebraic]
        return any(TIME in e.free_symbols for e in exprs)
