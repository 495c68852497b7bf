"""A neutral symbolic ODE system: what an imported model *is*, without SBML.

The SBML/Antimony reader (:mod:`il21pk.io.sbml_import`) produces an
:class:`OdeSystem`; a simulator (the reference one in
:mod:`il21pk.io.reference_sim`, or the compiled engine) consumes it. Nothing
here knows about libsbml.

Conventions
-----------
* Every quantity is a :class:`sympy.Symbol` named exactly by its SBML id
  (created with ``sympy.Symbol(id)``, never by parsing strings, so ids such as
  ``S``, ``E``, ``I``, ``beta`` or ``lambda`` are ordinary symbols).
* A species symbol always stands for the species **amount**; its
  concentration is ``amount / compartment`` (see :attr:`OdeSystem.reported`).
* Time is :attr:`OdeSystem.time_symbol` (named ``t`` unless the model uses the
  id ``t`` itself), in the model's own time unit :attr:`OdeSystem.time_unit`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import sympy

#: What an SBML quantity was: the kinds of :class:`StateDef` and :class:`ParamDef`.
Kind = Literal["species_amount", "parameter", "compartment", "species_reference", "local_parameter"]

KINDS: tuple[str, ...] = (
    "species_amount",
    "parameter",
    "compartment",
    "species_reference",
    "local_parameter",
)


def _check_kind(owner: str, name: str, kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"{owner} {name!r}: kind must be one of {list(KINDS)}; got {kind!r}")


@dataclass(frozen=True)
class StateDef:
    """One state variable: a quantity with a rate of change.

    Attributes
    ----------
    name : str
        The SBML id (also the name of its sympy Symbol).
    initial : sympy.Expr
        Initial value, in terms of parameter symbols and possibly the time
        symbol (evaluated at the start time). Species are amounts.
    unit : str or None
        Unit of the state (for species: the substance unit), ``None`` if the
        model does not declare one.
    kind : str
        ``'species_amount'``, ``'parameter'``, ``'compartment'`` or
        ``'species_reference'`` (a variable stoichiometry).
    description : str
        The SBML ``name`` attribute, or ``''``.
    """

    name: str
    initial: sympy.Expr
    unit: str | None
    kind: Kind
    description: str = ""

    def __post_init__(self) -> None:
        _check_kind("StateDef", self.name, self.kind)


@dataclass(frozen=True)
class ParamDef:
    """One constant quantity with a literal value.

    Attributes
    ----------
    name : str
        The SBML id; local (kinetic-law) parameters are renamed
        ``<reaction>_<param>``.
    value : float
        The value given in the SBML (species: the amount).
    unit : str or None
        Unit from the SBML declaration, ``None`` where none is declared.
    kind : str
        ``'parameter'``, ``'local_parameter'``, ``'compartment'``,
        ``'species_amount'`` or ``'species_reference'``.
    description : str
        The SBML ``name`` attribute, or ``''``.
    """

    name: str
    value: float
    unit: str | None
    kind: Kind
    description: str = ""

    def __post_init__(self) -> None:
        _check_kind("ParamDef", self.name, self.kind)


@dataclass(frozen=True)
class EventDef:
    """A discrete event without delay (SBML Level 3 semantics).

    Attributes
    ----------
    name : str
        The SBML event id (``event_<n>`` when the event has none).
    trigger : sympy.Basic
        A sympy boolean (relationals combined with And/Or/Not/Xor). The event
        fires when it changes from false to true.
    assignments : tuple of (str, sympy.Expr)
        ``(state name, new value)`` pairs. Every right-hand side is evaluated
        before any is applied; species values are amounts.
    persistent : bool
        Whether a triggered event still executes when its trigger turns false
        before execution (only matters among simultaneous events).
    initial_value : bool
        Value of the trigger just before the start time: ``False`` lets an
        event whose trigger is already true at the start fire there.
    priority : sympy.Expr or None
        Among simultaneous events, higher executes first; ``None`` when the
        model gives none.
    use_values_from_trigger_time : bool
        Evaluate the assignments when the event triggers (rather than when it
        executes, which differs only for simultaneous events).
    """

    name: str
    trigger: sympy.Basic
    assignments: tuple[tuple[str, sympy.Expr], ...]
    persistent: bool = True
    initial_value: bool = True
    priority: sympy.Expr | None = None
    use_values_from_trigger_time: bool = True


@dataclass(frozen=True)
class OdeSystem:
    """A model as explicit ODEs: states, constants, assignments, rates, events.

    Attributes
    ----------
    time_unit : str or None
        The model's time unit (e.g. ``'s'``, ``'h'``, ``'d'``), ``None`` if
        undeclared. Times given to and returned by simulators are in it.
    states : tuple of StateDef
        The variables integrated over time.
    parameters : tuple of ParamDef
        Constants with literal values.
    assignments : tuple of (str, sympy.Expr)
        Quantities defined by formulas, in dependency (topological) order: each
        reads states, parameters, the time symbol and earlier assignments.
        Reaction rates appear here under the reaction id (substance/time).
    rates : dict of str to sympy.Expr
        d state / dt for every state (species in amount per time).
    events : tuple of EventDef
        Discontinuous changes, in document order.
    reported : dict of str to sympy.Expr
        Output names as libRoadRunner spells them: ``S`` the amount of species
        ``S``, ``[S]`` its concentration, parameters, compartments, variable
        stoichiometries and reaction rates under their ids.
    time_symbol : sympy.Symbol
        The symbol that stands for time in every expression.
    name : str
        The model id (or name), for messages.
    units : dict of str to str or None
        Declared unit of every assignment (rule variables and initial
        assignments; reaction rates have none), ``None`` where undeclared.
    descriptions : dict of str to str
        The SBML ``name`` of every assignment's variable, or ``''``.
    reactions : tuple of str
        Reaction ids (their rates are assignments of the same name).
    unit_definitions : dict of str to tuple
        The declared model-wide ``"time"``, ``"substance"`` and ``"volume"``
        units as terms ``(kind, exponent, factor)`` (see
        :data:`il21pk.model.compose.UnitTerms`); undeclared ones left out.
    """

    time_unit: str | None
    states: tuple[StateDef, ...]
    parameters: tuple[ParamDef, ...]
    assignments: tuple[tuple[str, sympy.Expr], ...]
    rates: Mapping[str, sympy.Expr]
    events: tuple[EventDef, ...] = ()
    reported: Mapping[str, sympy.Expr] = field(default_factory=dict)
    time_symbol: sympy.Symbol = field(default_factory=lambda: sympy.Symbol("t"))
    name: str = ""
    units: Mapping[str, str | None] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)
    reactions: tuple[str, ...] = ()
    unit_definitions: Mapping[str, tuple[tuple[str, float, float], ...]] = field(
        default_factory=dict)

    def __post_init__(self) -> None:
        state_names = [s.name for s in self.states]
        missing = [n for n in state_names if n not in self.rates]
        extra = [n for n in self.rates if n not in set(state_names)]
        if missing or extra:
            raise ValueError(
                f"OdeSystem {self.name!r}: rates must have one entry per state; "
                f"missing {missing}, not states {extra}"
            )
        names = state_names + [p.name for p in self.parameters] + [a for a, _ in self.assignments]
        seen: set[str] = set()
        doubled = sorted({n for n in names if n in seen or seen.add(n)})
        if doubled:
            raise ValueError(f"OdeSystem {self.name!r}: names defined twice: {doubled}")

    @property
    def state_names(self) -> tuple[str, ...]:
        """Names of the states, in order."""
        return tuple(s.name for s in self.states)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names of the constants, in order."""
        return tuple(p.name for p in self.parameters)

    def default_values(self) -> dict[str, float]:
        """The parameters' values as given in the model, by name."""
        return {p.name: p.value for p in self.parameters}

    def symbol(self, name: str) -> sympy.Symbol:
        """The sympy Symbol of a state, parameter or assignment."""
        return sympy.Symbol(name)
