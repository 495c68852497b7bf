"""An imported :class:`~il21pk.io.ode_system.OdeSystem` as an il21pk :class:`~il21pk.Model`.

The SBML/Antimony reader gives a neutral symbolic system; this module turns it
into the representation of the built-in models, so every verb (``simulate``,
``sweep``, ``fit``, ``sensitivity``, ``to_sbml``, the plots, the CLI) takes it
and the compiled engine runs it:

* one :class:`Stage` (``"sbml"``) whose **states** are the system's states
  (species as amounts, plus parameters and compartments that rate rules or
  events change), with their initial values as baselines;
* a :class:`~il21pk.ParameterSpec` per constant, with the SBML's unit and
  wide physical bounds: ``[0, inf)`` for compartment sizes and species
  amounts whose model value is not negative, ``(-inf, inf)`` for everything
  else (SBML allows any real). Constants whose value is not finite (INF, NaN)
  are fixed by the model rather than given in parameter sets;
* a :class:`Quantity` per assignment (assignment rules, initial assignments
  of constants, reaction rates under the reaction id);
* the **events** (:class:`Event`, carried by an :class:`EventStage`), run by
  the compiled engine's event location;
* **drugs**: ``drugs={"x": "S1"}`` declares ``Drug("x", mw="mw_x",
  central=...)`` and adds the infusion input ``infusion_x`` to the rate of
  ``S1``; a parameter or constant species named as a drug becomes a state
  (its SBML value, still a parameter under its id, is the initial value).
  Assignment rules, reaction rates, events and reports read the dosed state;
  an initial value (an initial assignment, or a constant species' amount from
  its concentration) is evaluated once at the start, so it reads the value
  before any dose, as an SBML event changing the constant would leave it.
  It declares no NONMEM ``CMT`` number: records dose it by its state's
  position (:func:`il21pk.nonmem.cmt_routes`). The parameters doses read
  have the built-in models' units and hard bounds: ``mw_x`` [kDa] (not in
  the SBML: 1 kDa is assumed) and, with drugs, an SBML parameter
  ``body_weight`` [kg] (per-kg doses).

Results name variables as libRoadRunner does (``S`` the amount of species
``S``, ``[S]`` its concentration, parameters and compartments by id; an id
that is no valid il21pk name, such as ``lambda`` or ``_x``, is renamed inside
the model, e.g. ``lambda_``, and keeps its id in results). Time is the
model's own time unit (:attr:`ImportedDefinition.time_unit`).
"""

from __future__ import annotations

import hashlib
import keyword
import math
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.core.relational import Relational
from sympy.logic.boolalg import BooleanAtom, BooleanFunction

from ..errors import InputTypeError
from ..model.compose import ModelDefinition, Variable
from ..model.definition import TIME, Drug, Quantity, Stage, State, as_expression
from ..parameters import ParameterSpec
from .ode_system import OdeSystem, ParamDef
from .sbml_errors import SbmlError

#: The stage name of an imported model (the ``stage`` column of results).
STAGE = "sbml"
#: The source recorded for values taken from the SBML.
SOURCE = "SBML"
#: Default molecular weight [kDa] of a declared drug (a mass dose of 1 ug is 1 nmol).
DEFAULT_MW = 1.0
#: Hard bounds of a drug's molecular weight [kDa] and of the body weight [kg] per-kg
#: doses read, as the built-in models declare them (:mod:`il21pk.model.stages.pk`).
MW_BOUNDS = (1e-3, 1e4)
BODY_WEIGHT_BOUNDS = (0.01, 500.0)
#: Version of the code generated for imported models (events, SBML functions),
#: part of their key and of the fingerprint of events: bumped whenever that code
#: changes, so a stale cached module is never imported (the built-in models use
#: none of it, so their generated text and keys do not change).
EVENT_CODE_VERSION = 3

Report = str | Sequence[str] | None


@dataclass(frozen=True)
class Event:
    """An SBML event without delay, in the names of the model.

    Attributes
    ----------
    name : str
        The SBML event id.
    trigger : sympy boolean
        Relationals combined with And/Or/Not/Xor; the event fires when it
        turns from false to true.
    assignments : tuple of (str, sympy.Expr)
        ``(state, new value)``; every value is evaluated before any is applied.
    persistent : bool
        Whether a triggered event still executes if its trigger turns false
        before it executes (among simultaneous events).
    initial_value : bool
        The trigger's value just before t = 0 (``False``: a trigger true at 0 fires).
    priority : sympy.Expr or None
        Among simultaneous events the highest executes first; ``None``: lowest.
    use_values_from_trigger_time : bool
        Evaluate the assignments when the event triggers rather than when it
        executes (differs only among simultaneous events).
    """

    name: str
    trigger: sp.Basic
    assignments: tuple[tuple[str, sp.Expr], ...]
    persistent: bool = True
    initial_value: bool = True
    priority: sp.Expr | None = None
    use_values_from_trigger_time: bool = True

    def expressions(self) -> list[sp.Basic]:
        """The trigger, the assignment values and the priority."""
        out: list[sp.Basic] = [self.trigger, *(v for _, v in self.assignments)]
        if self.priority is not None:
            out.append(self.priority)
        return out

    def canonical_text(self) -> str:
        """A text that changes whenever anything about the event changes."""
        return (f"event {self.name} trigger={sp.srepr(self.trigger)} "
                f"assign={[(t, sp.srepr(v)) for t, v in self.assignments]} "
                f"persistent={self.persistent} initial={self.initial_value} "
                f"priority={sp.srepr(self.priority) if self.priority is not None else None} "
                f"trigger_time_values={self.use_values_from_trigger_time}")


@dataclass(frozen=True)
class EventStage(Stage):
    """A :class:`Stage` with SBML :class:`Event` s on its states.

    The compiled engine locates every trigger's change on each step's dense
    output and applies the assignments with SBML semantics (see
    :mod:`il21pk.engine.bdf`). A hidden constant ``events_<hash>`` (0) keeps
    the generated code of stages that differ only in their events apart.
    """

    events: tuple[Event, ...] = field(default=())

    def __post_init__(self) -> None:
        events = tuple(self.events)
        for event in events:
            if not isinstance(event, Event):
                raise TypeError(f"EventStage {self.name!r} events must be Event objects; got "
                                f"{type(event).__name__}")
        object.__setattr__(self, "events", events)
        super().__post_init__()
        states = {s.name for s in self.states}
        readable = self.names() | set(self.inputs) | {TIME.name}
        for event in events:
            for target, _ in event.assignments:
                if target not in states:
                    raise SbmlError(f"event {event.name!r} assigns {target!r}, which is not a "
                                    f"state of stage {self.name!r}")
            for expr in event.expressions():
                free = {s.name for s in expr.free_symbols} - readable
                if free:
                    raise SbmlError(f"event {event.name!r} reads {sorted(free)}, which stage "
                                    f"{self.name!r} does not define")


class ImportedDefinition(ModelDefinition):
    """The definition of an imported model: a :class:`ModelDefinition` that
    also knows the SBML's own values, its time unit and libRoadRunner's names.

    Attributes
    ----------
    values : dict of str to float
        The SBML's value of every free parameter (what ``default_parameters`` returns).
    time_unit : str or None
        The model's time unit (``'s'``, ``'h'``, ``'d'``, ...), ``None`` if undeclared.
    sources : dict of str to str
        Result label -> state or quantity name, for labels that differ (``[S]``).
    compartments : dict of str to (str or None)
        Species (a state, an assignment or a constant) -> the compartment
        whose size divides its amount into its concentration (``[S] = S /
        C``), None in a point compartment (``[S] = S``). The SBML export puts
        each species back in its compartment (a point one in a compartment of
        size 1), so ``[S]`` means the same after a round trip.
    generated : frozenset of str
        What the import added, not the SBML: reports under libRoadRunner's
        names (``[S]``, a constant's value), the events' fingerprint, the
        state that integrates time for reports that read it, the placeholder
        state of a model without one. The export leaves them out (the time
        state written as ``time``); its own ``[S]`` and ids report the same.
    renamed : dict of str to str
        SBML id -> its name in the model, for ids that are no valid il21pk
        name (``lambda`` -> ``lambda_``).
    dosed : dict of str to str
        A constant a drug doses -> the state that replaces it in the maths
        (``k`` -> ``k_dosed``; the constant is its initial value). The export
        writes the state under the constant's id, so that id means the same
        after a round trip.
    assumed : dict of str to str
        Parameter -> the source of a value the import assumed because the SBML
        does not hold it (a drug's molecular weight), ``"assumed: ..."``;
        every other value's source is ``"SBML"``.
    engine : str
        ``"generic"``: the compiled engine shared by all imported models
        (:func:`il21pk.engine.bdf.generic_engine`), so a new model compiles
        only its own small kernels.
    system : OdeSystem
        What was imported.
    """

    def __init__(self, stages: Iterable[Stage], *, name: str, fixed: Mapping[str, float],
                 labels: Mapping[str, str], values: Mapping[str, float],
                 time_unit: str | None, system: OdeSystem,
                 compartments: Mapping[str, str | None] | None = None,
                 generated: Iterable[str] = (), renamed: Mapping[str, str] | None = None,
                 dosed: Mapping[str, str] | None = None,
                 assumed: Mapping[str, str] | None = None,
                 initial: Mapping[str, sp.Expr | float] | None = None) -> None:
        self.labels = dict(labels)
        self.assumed = dict(assumed or {})
        self.compartments = dict(compartments or {})
        self.generated = frozenset(generated)
        self.renamed = dict(renamed or {})
        self.dosed = dict(dosed or {})
        self.sources = {label: name for name, label in self.labels.items() if label != name}
        self.engine = "generic"
        super().__init__(stages, name=name, fixed=fixed, initial=initial, time_unit=time_unit,
                         unit_definitions=system.unit_definitions)
        self.values = dict(values)
        self.system = system

    def derived(self, stages: Iterable[Stage], *, name: str, fixed: Mapping[str, float],
                initial: Mapping[str, sp.Expr | float]) -> ModelDefinition:
        """As :meth:`ModelDefinition.derived`, keeping the SBML's values, result
        names and export facts of the imported stages the new model keeps as
        they are. A model that replaced them has none: a stage of yours that
        reuses an SBML name (``ke`` in 1/d, a report ``conc_A``) is yours."""
        stages = tuple(stages)
        names = set().union(*(s.names() for s in stages if s in self.stages))
        if not names:
            return super().derived(stages, name=name, fixed=fixed, initial=initial)

        def kept(mapping: Mapping) -> dict:
            return {k: v for k, v in mapping.items() if k in names}

        return ImportedDefinition(
            stages, name=name, fixed=fixed, initial=initial, labels=kept(self.labels),
            values={k: v for k, v in kept(self.values).items() if k not in fixed},
            time_unit=self.time_unit, system=self.system,
            compartments={k: v for k, v in kept(self.compartments).items()
                          if v is None or v in names},
            generated=self.generated & names,
            renamed={k: v for k, v in self.renamed.items() if v in names},
            dosed={k: v for k, v in self.dosed.items() if v in names},
            assumed=kept(self.assumed))

    def _variables(self) -> Iterator[Variable]:
        for v in super()._variables():
            yield Variable(self.labels.get(v.name, v.name), v.stage, v.unit, v.description)

    def canonical_text(self) -> str:
        """As :meth:`ModelDefinition.canonical_text`, plus the engine and events."""
        events = [e.canonical_text() for st in self.stages for e in getattr(st, "events", ())]
        return "\n".join([super().canonical_text(), f"engine {self.engine}",
                          f"event code {EVENT_CODE_VERSION}", *events])


class _Namer:
    """SBML ids -> il21pk names (identifiers not starting with '_', not keywords, not 't')."""

    def __init__(self, ids: Iterable[str]) -> None:
        self.ids = list(dict.fromkeys(ids))
        self.taken = set(self.ids)
        self.map: dict[str, str] = {}
        for sid in self.ids:
            self.map[sid] = sid if _valid(sid) else self.fresh(sid.lstrip("_") or "x")

    def fresh(self, base: str) -> str:
        """A new name starting with `base` that no id or earlier name uses."""
        name = base if _valid(base) else f"{base}_"
        while name in self.taken or not _valid(name):
            name += "_"
        self.taken.add(name)
        return name


def _valid(name: str) -> bool:
    return (name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")
            and name != TIME.name)


def _fingerprint(events: Sequence[Event]) -> str:
    text = "\n".join([f"event code {EVENT_CODE_VERSION}", *(e.canonical_text() for e in events)])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _bounds(kind: str, value: float) -> tuple[float, float]:
    """Hard bounds: [0, inf) for sizes and amounts (when the SBML's value is not negative)."""
    if kind in ("compartment", "species_amount") and value >= 0:
        return 0.0, math.inf
    return -math.inf, math.inf


def _body_weight_spec(p: ParamDef) -> ParameterSpec:
    """The spec of an SBML parameter ``body_weight`` of a model with drugs: per-kg
    doses read it in kg, so it has the built-in models' unit and hard bounds."""
    if p.unit not in (None, "kg"):
        raise SbmlError(f"parameter 'body_weight' is in {p.unit!r} in the SBML; per-kg doses "
                        "read it in kg, so declare it in kg (or undeclared)")
    return ParameterSpec("body_weight", "kg", *BODY_WEIGHT_BOUNDS,
                         p.description or "body weight (per-kg doses)")


def _checked_trigger(expr: sp.Basic, where: str) -> sp.Basic:
    """`expr`, a boolean expression of relationals, with each side of each relational
    as the code generator compiles it (:func:`as_expression`: a function it cannot
    compile is named here, not when code is generated)."""
    if isinstance(expr, BooleanAtom):
        return expr
    if isinstance(expr, Relational):
        return expr.func(*(as_expression(side, where) for side in expr.args),
                         evaluate=False)
    if isinstance(expr, BooleanFunction):
        return expr.func(*(_checked_trigger(arg, where) for arg in expr.args))
    raise SbmlError(f"{where}: {expr} is not a boolean expression of relationals")


def model_from_system(system: OdeSystem, *, drugs: Mapping[str, str] | None = None,
                      report: Report = None, name: str | None = None,
                      rules: Collection[str] | None = None
                      ) -> tuple[ImportedDefinition, str]:
    """Convert an imported system into an il21pk model definition.

    Parameters
    ----------
    system : OdeSystem
        From :func:`~il21pk.io.read_sbml` or :func:`~il21pk.io.read_antimony`.
    drugs : mapping of str to str, optional
        Drug name -> id of the species or parameter its doses go to.
    report : None, "all" or sequence of str
        Result variables in libRoadRunner's names. ``None``: every species
        (``S`` and ``[S]``) and every parameter, compartment or assignment
        that changes in time; ``"all"``: also the constants and reaction rates.
    name : str, optional
        Model name (default: the SBML model id).
    rules : collection of str, optional
        The ids the SBML sets by an assignment rule. Their assignments and
        the reaction rates read a dosed constant's dosed value; every other
        assignment is an initial value (evaluated once at the start) and
        reads its value before doses. The system does not tell them apart,
        so None is refused when an assignment reads a dosed constant.

    Returns
    -------
    (ImportedDefinition, str)
        The definition, and the model's name.

    Raises
    ------
    SbmlError
        An unknown drug target or report name, a name clash with a drug's
        generated names, `rules` None where an assignment reads a dosed
        constant, or, with drugs, a parameter ``body_weight`` in a unit other
        than kg.
    """
    if drugs is not None and not isinstance(drugs, Mapping):
        raise InputTypeError(f"`drugs` must be a mapping of drug name to the id its doses go "
                             f"to (e.g. {{'drug': 'S1'}}); got {type(drugs).__name__} "
                             f"{drugs!r}"[:300])
    if report is not None and (not isinstance(report, (str, Iterable))
                               or isinstance(report, bytes)):
        raise InputTypeError(f"`report` must be None, 'all' or a list of names; got "
                             f"{type(report).__name__} {report!r}"[:300])
    namer = _Namer([*system.state_names, *system.parameter_names,
                    *(n for n, _ in system.assignments)])
    internal = namer.map
    namer.taken.update(e.name for e in system.events)  # names made here avoid event ids
    subs: dict[sp.Symbol, sp.Symbol] = {sp.Symbol(k): sp.Symbol(v)
                                        for k, v in internal.items() if k != v}
    subs[system.time_symbol] = TIME
    if system.time_symbol != TIME and TIME.name in internal:
        subs[sp.Symbol(TIME.name)] = sp.Symbol(internal[TIME.name])

    def rename(expr: sp.Basic) -> sp.Basic:
        return expr.xreplace(subs)

    params = {p.name: p for p in system.parameters}
    states = {s.name: s for s in system.states}
    assigned = {n for n, _ in system.assignments}
    rates = {internal[n]: rename(r) for n, r in system.rates.items()}
    state_list: list[State] = []
    for s in system.states:
        init = rename(s.initial).xreplace({TIME: sp.Integer(0)})
        state_list.append(State(internal[s.name], s.unit or "", s.description or s.name,
                                initial=init, reported=False))

    # drugs: the target gets the infusion input; a constant becomes a state
    drug_objects: list[Drug] = []
    extra_params: list[ParameterSpec] = []
    values: dict[str, float] = {}
    dosed_alias: dict[str, str] = {}  # parameter id -> the state that replaces it in math
    assumed: dict[str, str] = {}  # parameter -> source of a value the SBML does not hold
    for drug_name, target in dict(drugs or {}).items():
        if not isinstance(target, str):
            raise SbmlError(f"drug {drug_name!r}: the target must be the id of a species or "
                            f"parameter; got {target!r}")
        mw, infusion = f"mw_{drug_name}", f"infusion_{drug_name}"
        for generated in (mw, infusion):
            if generated in namer.taken:
                raise SbmlError(f"drug {drug_name!r}: its generated name {generated!r} is "
                                "already an id of the model; choose another drug name")
            namer.taken.add(generated)
        if target in states:
            state = internal[target]
        elif target in dosed_alias:  # a second drug into the same constant
            state = dosed_alias[target]
        elif target in params:
            state = namer.fresh(f"{internal[target]}_dosed")
            dosed_alias[target] = state
            p = params[target]
            state_list.append(State(state, p.unit or "", p.description or p.name,
                                    initial=sp.Symbol(internal[target]), reported=False))
            rates[state] = sp.Integer(0)
        elif target in system.reactions:
            raise SbmlError(f"drug {drug_name!r}: {target!r} is a reaction, which cannot be "
                            "dosed; dose a species or parameter")
        elif target in assigned:
            raise SbmlError(f"drug {drug_name!r}: {target!r} is set by an assignment rule or an "
                            "initial assignment, or is a constant or boundary species given by "
                            "its concentration (whose amount follows from it), and cannot be "
                            "dosed; dose a species or parameter with a value (a constant "
                            "species: declare it hasOnlySubstanceUnits, in Antimony "
                            f"'substanceOnly species {target}')")
        else:
            raise SbmlError(f"drug {drug_name!r}: the model has no species or parameter "
                            f"{target!r}; ids: {sorted(states) + sorted(params)}")
        rates[state] = rates[state] + sp.Symbol(infusion)
        extra_params.append(ParameterSpec(
            mw, "kDa", *MW_BOUNDS, f"molecular weight of drug {drug_name} (converts mass doses "
            f"to nmol); not in the SBML file: {DEFAULT_MW:g} kDa assumed, set it for mass doses"))
        values[mw] = DEFAULT_MW
        assumed[mw] = (f"assumed: {DEFAULT_MW:g} kDa, not in the SBML file (set it for mass "
                       "doses)")
        drug_objects.append(Drug(drug_name, mw=mw, central=state,
                                 description=f"doses go to {target}"))
    if dosed_alias:
        alias = {sp.Symbol(internal[p]): sp.Symbol(s) for p, s in dosed_alias.items()}
        rates = {k: v.xreplace(alias) for k, v in rates.items()}
    else:
        alias = {}

    def in_model(expr: sp.Basic) -> sp.Basic:
        return rename(expr).xreplace(alias) if alias else rename(expr)

    # parameters: SBML values, bounds, non-finite values fixed; per-kg doses read
    # body_weight, so with drugs it has the built-in models' unit and bounds
    specs: list[ParameterSpec] = []
    fixed: dict[str, float] = {}
    for p in system.parameters:
        per_kg = bool(drug_objects) and internal[p.name] == "body_weight"
        if per_kg:
            specs.append(_body_weight_spec(p))
        else:
            lower, upper = _bounds(p.kind, p.value) if math.isfinite(p.value) else (-math.inf,
                                                                                     math.inf)
            specs.append(ParameterSpec(internal[p.name], p.unit or "", lower, upper,
                                       p.description or p.name))
        if math.isfinite(p.value) or per_kg:
            values[internal[p.name]] = float(p.value)
        else:
            fixed[internal[p.name]] = float(p.value)
    specs += extra_params

    # assignment rules and reaction rates read a dosed constant's state; initial
    # values (initial assignments, amounts of constant species) its value before doses
    follows_doses = set(system.reactions) | set(rules or ())
    if alias and rules is None:
        unknown = sorted(n for n, e in system.assignments if n not in follows_doses
                         and rename(e).free_symbols & alias.keys())
        if unknown:
            raise SbmlError(f"the assignments {unknown} read a dosed constant "
                            f"{sorted(dosed_alias)}; pass `rules`, the ids an assignment rule "
                            "sets (they follow doses; initial values do not)")
    quantities: list[Quantity] = [
        Quantity(internal[n], in_model(e) if n in follows_doses else rename(e),
                 system.units.get(n) or "", system.descriptions.get(n) or n)
        for n, e in system.assignments]

    # reported variables, in libRoadRunner's names
    labels, report_names, report_quantities = _report(system, report, internal, namer,
                                                      list(dosed_alias), in_model, state_list,
                                                      quantities)
    if not report_names:
        why = ("nothing in it changes in time (no variable species, rate rule or "
               "time-dependent assignment)" if report is None
               else "`report` names no variable")
        raise SbmlError(f"the model reports nothing: {why}; `report` may name any of "
                        f"{sorted(system.reported)}")
    quantities += report_quantities
    reported = set(report_names)
    state_list = [State(s.name, s.unit, s.description, s.initial, reported=s.name in reported)
                  for s in state_list]
    quantities = [Quantity(q.name, q.expression, q.unit, q.description,
                           reported=q.name in reported) for q in quantities]
    added_states: list[str] = []  # a state integrating time, a placeholder
    if any(TIME in q.expression.free_symbols for q in quantities):
        # reported values are computed from the states alone: time becomes a state
        clock = namer.fresh("sbml_time")
        added_states.append(clock)
        state_list.append(State(clock, system.time_unit or "", "time (integrated)",
                                reported=False))
        rates[clock] = sp.Integer(1)
        quantities = [Quantity(q.name, q.expression.xreplace({TIME: sp.Symbol(clock)}),
                               q.unit, q.description, q.reported) for q in quantities]
    if not state_list:  # a model of assignments only still needs a state to integrate
        hidden = namer.fresh("sbml_no_state")
        added_states.append(hidden)
        state_list.append(State(hidden, "1", "placeholder (the model has no states)",
                                reported=False))
        rates[hidden] = sp.Integer(0)

    events = []
    for e in system.events:
        where = f"event {e.name!r}"
        trigger = _checked_trigger(e.trigger, f"the trigger of {where}")
        targets = []
        for target, value in e.assignments:
            if target not in states:
                raise SbmlError(f"{where} assigns {target!r}, which is not a state")
            targets.append((internal[target], in_model(as_expression(value, where))))
        events.append(Event(e.name, in_model(trigger), tuple(targets), e.persistent,
                            e.initial_value, None if e.priority is None else
                            in_model(as_expression(e.priority, f"the priority of {where}")),
                            e.use_values_from_trigger_time))
    generated = [q.name for q in report_quantities]
    generated += added_states
    if events:
        generated.append(namer.fresh(f"events_{_fingerprint(events)}"))
        quantities.append(Quantity(generated[-1], 0, "1",
                                   "fingerprint of the stage's SBML events"))
    stage = EventStage(
        STAGE, f"SBML model {system.name!r}" if system.name else "SBML model",
        states=tuple(state_list), parameters=tuple(specs), quantities=tuple(quantities),
        rates=rates, drugs=tuple(drug_objects), report=tuple(report_names),
        time_unit=system.time_unit, events=tuple(events))
    model_name = name or _model_name(system.name)
    definition = ImportedDefinition([stage], name=model_name, fixed=fixed, labels=labels,
                                    values=values, time_unit=system.time_unit, system=system,
                                    compartments=_compartments(system, internal, dosed_alias),
                                    generated=generated,
                                    renamed={k: v for k, v in internal.items() if k != v},
                                    dosed={internal[p]: s for p, s in dosed_alias.items()},
                                    assumed=assumed)
    return definition, model_name


def _compartments(system: OdeSystem, internal: Mapping[str, str],
                  dosed: Mapping[str, str]) -> dict[str, str | None]:
    """Species -> its compartment (None: a point one), from the reported
    concentrations ``[S] = S / C`` or ``[S] = S``. `dosed` maps a dosed constant
    to the state that replaces it in the maths: a dosed species or compartment
    is that state."""
    out: dict[str, str | None] = {}
    for label, expr in system.reported.items():
        species = label[1:-1]
        if not (label.startswith("[") and label.endswith("]")):
            continue
        name = dosed.get(species, internal[species])
        numerator, denominator = sp.fraction(expr)
        if numerator == sp.Symbol(species) and denominator == 1:
            out[name] = None
        elif numerator == sp.Symbol(species) and isinstance(denominator, sp.Symbol):
            out[name] = dosed.get(denominator.name, internal[denominator.name])
    return out


def _model_name(sbml_name: str) -> str:
    safe = "".join(ch if ch.isalnum() else "_" for ch in sbml_name).strip("_")
    return safe or "sbml_model"


def _default_report(system: OdeSystem) -> list[str]:
    """Every species (amount and concentration) and everything else that changes in time
    (reaction rates themselves are left out; what reads them is not)."""
    varying = set(system.state_names) | {system.time_symbol.name}
    for n, e in system.assignments:
        if {s.name for s in e.free_symbols} & varying:
            varying.add(n)
    out = []
    for label in system.reported:
        base = label[1:-1] if label.startswith("[") and label.endswith("]") else label
        if base in system.reactions:
            continue
        if f"[{base}]" in system.reported or base in varying:
            out.append(label)
    return out


def _report(system: OdeSystem, report: Report, internal: Mapping[str, str], namer: _Namer,
            dosed: Sequence[str], in_model, states: list[State],
            quantities: list[Quantity]) -> tuple[dict[str, str], list[str], list[Quantity]]:
    """(internal name -> label, internal names to report in order, extra quantities);
    `dosed`: parameters a drug doses (they change in time, so are reported by default)."""
    if report is None:
        wanted = _default_report(system)
        wanted += [p for p in dosed if p not in wanted]
    elif isinstance(report, str):
        if report != "all":
            raise SbmlError(f"`report` must be None, 'all' or a list of names; got {report!r}")
        wanted = list(system.reported)
    else:
        wanted = list(report)
        unknown = [w for w in wanted if w not in system.reported]
        if unknown:
            raise SbmlError(f"`report` names {unknown}, which the model does not define; it "
                            f"reports {sorted(system.reported)}")
        if len(set(wanted)) != len(wanted):
            raise SbmlError(f"`report` names a variable twice: {wanted}")
    state_names = {s.name for s in states}
    quantity_names = {q.name for q in quantities}
    units = {s.name: s.unit for s in states}
    units.update({q.name: q.unit for q in quantities})
    units.update({internal[p.name]: p.unit or "" for p in system.parameters})
    labels: dict[str, str] = {}
    names: list[str] = []
    extra: list[Quantity] = []
    for label in wanted:
        expr = in_model(system.reported[label])
        if isinstance(expr, sp.Symbol) and (expr.name in state_names
                                            or expr.name in quantity_names) \
                and expr.name not in labels:
            name = expr.name
        else:
            base = label[1:-1] if label.startswith("[") else label
            concentration = label.startswith("[")
            stem = internal.get(base, "value")
            name = namer.fresh(f"conc_{stem}" if concentration else f"value_{stem}")
            unit = ""
            if concentration:
                species = next((s for s in (*system.states, *system.parameters)
                                if s.name == base), None)
                comp = [s.name for s in expr.free_symbols if s.name != internal.get(base)]
                amount_unit = species.unit if species is not None else None
                comp_unit = units.get(comp[0], "") if len(comp) == 1 else ""
                unit = f"{amount_unit}/{comp_unit}" if amount_unit and comp_unit else \
                    (amount_unit or "")
            else:
                unit = units.get(internal.get(base, ""), "") or ""
            what = f"concentration of {base}" if concentration else f"{base}"
            extra.append(Quantity(name, expr, unit, what))
        labels[name] = label
        names.append(name)
    return labels, names, extra


def definition_from_sbml(source, *, drugs: Mapping[str, str] | None = None,
                         report: Report = None, name: str | None = None) -> ImportedDefinition:
    """Read SBML (a path or the XML text) into an :class:`ImportedDefinition`."""
    from .sbml_document import read_document
    from .sbml_import import read_sbml

    return model_from_system(read_sbml(source), drugs=drugs, report=report, name=name,
                             rules=_rule_variables(read_document(source)))[0]


def definition_from_antimony(text: str, *, drugs: Mapping[str, str] | None = None,
                             report: Report = None, name: str | None = None
                             ) -> ImportedDefinition:
    """Read Antimony text into an :class:`ImportedDefinition`."""
    from .sbml_document import sbml_from_antimony

    return definition_from_sbml(sbml_from_antimony(text), drugs=drugs, report=report, name=name)


def _rule_variables(document: Any) -> frozenset[str]:
    """The ids an assignment rule of the SBML `document` sets (one without math sets none)."""
    return frozenset(rule.getVariable() for rule in document.getModel().getListOfRules()
                     if rule.isAssignment() and rule.getMath() is not None)
