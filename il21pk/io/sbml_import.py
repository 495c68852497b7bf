"""SBML / Antimony -> :class:`~il21pk.io.ode_system.OdeSystem`.

How SBML quantities become states, constants and assignments
-----------------------------------------------------------
* An **assignment rule** makes its variable an assignment.
* A **rate rule**, taking part in a reaction (a species that is neither
  boundary nor constant) or being the target of an **event** makes it a
  state. Species states are amounts: reactions add ``stoichiometry x rate x
  conversion factor``; a rate rule on a species in concentration becomes
  ``d amount/dt = size x rule + concentration x d size/dt``.
* Everything else never changes after the start: a literal value is a
  constant (:class:`ParamDef`), an initial assignment of constants is an
  assignment, and an initial value that reads time is a state with rate 0.
* Reaction rates are assignments named by the reaction id.

Initial values follow SBML: initial assignments and assignment rules hold at
the start, literal values elsewhere, resolved in dependency order down to the
constants.
"""

from __future__ import annotations

import os
from typing import Any

import sympy

from .ode_system import OdeSystem, ParamDef, StateDef
from .sbml_document import read_document, sbml_from_antimony
from .sbml_entities import (
    Quantity,
    ReactionRecord,
    is_point,
    read_quantities,
    read_reactions,
)
from .sbml_errors import SbmlError
from .sbml_events import map_event, read_events
from .sbml_math import RATE_OF, MathConverter, as_number, read_function_definitions
from .sbml_units import level2_default, model_unit_terms, unit_string
from .toposort import topological_order


def read_sbml(source: str | os.PathLike[str]) -> OdeSystem:
    """Import an SBML model (Level 2 or 3 core) as a symbolic ODE system.

    Parameters
    ----------
    source : str or path-like
        Path to an SBML file, or the SBML (XML) text.

    Returns
    -------
    OdeSystem
        States (species as amounts), constants, assignments, rates and events,
        in the model's own time unit.

    Raises
    ------
    SbmlError
        Invalid SBML, or a construct il21pk does not support (delays,
        algebraic rules, fast reactions, event delays, SBML packages); the
        message names the element and its id.
    """
    document = read_document(source)
    return _Importer(document.getModel()).build()


def read_antimony(text: str) -> OdeSystem:
    """Import an Antimony model (converted to SBML by the ``antimony`` package).

    Parameters
    ----------
    text : str
        Antimony source text.

    Returns
    -------
    OdeSystem
        As :func:`read_sbml`.
    """
    return read_sbml(sbml_from_antimony(text))


def _unique_name(base: str, taken: set[str]) -> str:
    name = base
    while name in taken:
        name += "_"
    return name


class _Importer:
    """One import: holds the model's records while they are turned into an OdeSystem."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.quantities: dict[str, Quantity] = read_quantities(model)
        taken = set(self.quantities) | {r.getId() for r in model.getListOfReactions()}
        self.reactions: list[ReactionRecord] = read_reactions(model, taken)
        self.reaction_ids = {r.id for r in self.reactions}
        self.time = sympy.Symbol(_unique_name("t", taken))
        self.converter = MathConverter(self._resolve, read_function_definitions(model), self.time)
        self.locals: dict[str, Quantity] = {
            q.id: q for r in self.reactions for q in r.local_parameters
        }

    # -- names in math -----------------------------------------------------------

    def _resolve(self, name: str, context: str) -> sympy.Expr:
        q = self.quantities.get(name)
        if q is not None:
            if q.kind == "species_amount" and not q.amount_in_math:
                return sympy.Symbol(name) / sympy.Symbol(q.compartment)
            return sympy.Symbol(name)
        if name in self.reaction_ids:
            return sympy.Symbol(name)
        raise SbmlError(f"{context} refers to {name!r}, which the model does not define")

    def _to_amount(self, name: str, value: sympy.Expr) -> sympy.Expr:
        """A value as math sees it (concentration for most species) -> the symbol's value."""
        q = self.quantities.get(name)
        if q is not None and q.kind == "species_amount" and not q.amount_in_math:
            return value * sympy.Symbol(q.compartment)
        return value

    # -- reading rules -----------------------------------------------------------

    def _read_rules(self) -> None:
        import libsbml

        self.assignment_rules: dict[str, sympy.Expr] = {}
        self.rate_rules: dict[str, sympy.Expr] = {}
        for rule in self.model.getListOfRules():
            if rule.getMath() is None:
                continue  # Level 3 Version 2: an element without math is ignored
            variable = rule.getVariable()
            if variable not in self.quantities:
                raise SbmlError(f"a rule assigns {variable!r}, which is not a model quantity")
            if self.quantities[variable].constant:
                raise SbmlError(f"a rule changes {variable!r}, which is declared constant")
            if variable in self.assignment_rules or variable in self.rate_rules:
                raise SbmlError(f"{variable!r} is the variable of more than one rule")
            if rule.getTypeCode() == libsbml.SBML_ASSIGNMENT_RULE:
                math = self.converter.convert(rule.getMath(), f"assignment rule for {variable!r}")
                self.assignment_rules[variable] = self._to_amount(variable, _number(math))
            else:
                math = self.converter.convert(rule.getMath(), f"rate rule for {variable!r}")
                self.rate_rules[variable] = _number(math)
        self.initial_assignments: dict[str, sympy.Expr] = {}
        for ia in self.model.getListOfInitialAssignments():
            if ia.getMath() is None:
                continue
            symbol = ia.getSymbol()
            if symbol not in self.quantities:
                raise SbmlError(
                    f"an initial assignment sets {symbol!r}, which is not a model quantity"
                )
            if symbol in self.assignment_rules:
                raise SbmlError(f"{symbol!r} has both an initial assignment and an assignment rule")
            math = self.converter.convert(ia.getMath(), f"initial assignment for {symbol!r}")
            self.initial_assignments[symbol] = self._to_amount(symbol, _number(math))

    def _read_reaction_math(self) -> None:
        self.rate_laws: dict[str, sympy.Expr] = {}
        self.species_flux: dict[str, sympy.Expr] = {}
        for r in self.reactions:
            local = {old: sympy.Symbol(new) for old, new in r.local_names.items()}
            law = self.converter.convert(r.kinetic_law, f"kinetic law of reaction {r.id!r}", local)
            self.rate_laws[r.id] = _number(law)
            for p in r.participants:
                if p.species not in self.quantities:
                    raise SbmlError(f"reaction {r.id!r} refers to unknown species {p.species!r}")
                if p.stoichiometry_math is not None:
                    stoich = _number(
                        self.converter.convert(
                            p.stoichiometry_math, f"stoichiometryMath in reaction {r.id!r}"
                        )
                    )
                elif p.reference_id is not None:
                    stoich = sympy.Symbol(p.reference_id)
                elif p.stoichiometry is not None:
                    stoich = _literal(p.stoichiometry)
                else:
                    raise SbmlError(
                        f"the stoichiometry of {p.species!r} in reaction {r.id!r} is undefined"
                    )
                term = p.sign * stoich * sympy.Symbol(r.id)
                self.species_flux[p.species] = self.species_flux.get(p.species, 0) + term

    # -- classification ------------------------------------------------------------

    def _reacts(self, q: Quantity) -> bool:
        return (
            q.kind == "species_amount"
            and not q.boundary
            and not q.constant
            and q.id in self.species_flux
            and q.id not in self.assignment_rules
        )

    def _classify(self, event_targets: set[str]) -> None:
        for target in event_targets:
            if target not in self.quantities:
                raise SbmlError(f"an event assigns {target!r}, which is not a model quantity")
            if self.quantities[target].constant:
                raise SbmlError(f"an event assigns {target!r}, which is declared constant")
            if target in self.assignment_rules:
                raise SbmlError(f"an event assigns {target!r}, which has an assignment rule")
        self.state_ids: list[str] = []
        self.fixed_ids: list[str] = []
        for q in self.quantities.values():
            if q.id in self.assignment_rules:
                continue
            if q.id in self.rate_rules or self._reacts(q) or q.id in event_targets:
                self.state_ids.append(q.id)
            else:
                self.fixed_ids.append(q.id)
        # constants with a literal value (or a numeric initial assignment)
        self.param_values: dict[str, float] = {}
        for name in self.fixed_ids:
            source = self._source_initial(name, literal_only=True)
            if source is not None and source.is_Number:
                self.param_values[name] = float(source)

    def _source_initial(self, name: str, literal_only: bool = False) -> sympy.Expr | None:
        """The initial value of `name`'s symbol before resolving what it reads."""
        if name in self.initial_assignments:
            expr = self.initial_assignments[name]
            return expr if (not literal_only or not expr.free_symbols) else None
        if name in self.assignment_rules:
            return None if literal_only else self.assignment_rules[name]
        if name in self.rate_laws:
            return None if literal_only else self.rate_laws[name]
        if name in self.locals:
            return sympy.Float(self.locals[name].value)
        q = self.quantities[name]
        if q.value is not None:
            return sympy.Float(q.value)
        if q.concentration is not None:
            if literal_only:
                return None
            return sympy.Float(q.concentration) * sympy.Symbol(q.compartment)
        if literal_only:
            return None
        what = {
            "species_amount": "initial amount or concentration",
            "compartment": "size",
            "parameter": "value",
            "species_reference": "stoichiometry",
        }[q.kind]
        raise SbmlError(
            f"{q.kind.replace('_amount', '').replace('_', ' ')} {name!r} has no {what}, "
            "initial assignment or rule; its initial value is undefined"
        )

    def _initial(self, name: str, visiting: tuple[str, ...] = ()) -> sympy.Expr:
        """Initial value of `name`'s symbol in terms of constants (and time)."""
        if name in self._init_cache:
            return self._init_cache[name]
        if name in self.param_values:
            return sympy.Symbol(name)
        if name in visiting:
            cycle = " -> ".join((*visiting[visiting.index(name) :], name))
            raise SbmlError(f"initial values depend on each other in a cycle: {cycle}")
        expr = self._source_initial(name)
        replacements = {
            s: self._initial(s.name, (*visiting, name)) for s in expr.free_symbols if s != self.time
        }
        value = expr.xreplace(replacements)
        self._init_cache[name] = value
        return value

    # -- rates -------------------------------------------------------------------

    def _size_rate(self, compartment: str, rates: dict[str, sympy.Expr]) -> sympy.Expr:
        """d size / dt of a compartment, from its rate rule or assignment rule."""
        if compartment in self.rate_rules:
            return self.rate_rules[compartment]
        if compartment in self.assignment_rules:
            return self._time_derivative(self.assignment_rules[compartment], rates, ())
        return sympy.Integer(0)

    def _time_derivative(
        self, expr: sympy.Expr, rates: dict[str, sympy.Expr], visiting: tuple[str, ...]
    ) -> sympy.Expr:
        total = sympy.diff(expr, self.time)
        for s in expr.free_symbols:
            if s == self.time or s.name in self.param_values:
                continue
            if s.name in self.assignment_rules:
                if s.name in visiting:
                    raise SbmlError(f"assignment rules for {s.name!r} form a cycle")
                inner = self._time_derivative(
                    self.assignment_rules[s.name], rates, (*visiting, s.name)
                )
            elif s.name in rates:
                inner = rates[s.name]
            elif s.name in self.rate_laws:
                raise SbmlError(
                    f"the rate of change of {s.name!r} (a reaction rate) is needed to scale a "
                    "concentration rate rule; this is not supported"
                )
            elif s.name in self._constant_ids:
                continue
            else:
                raise SbmlError(
                    f"the rate of change of {s.name!r} is needed before it is known "
                    "(a concentration rate rule in a compartment whose size depends on it)"
                )
            total += sympy.diff(expr, s) * inner
        return total

    def _rates(self) -> dict[str, sympy.Expr]:
        rates: dict[str, sympy.Expr] = {}
        deferred = []
        for name in self.state_ids:
            q = self.quantities[name]
            if name in self.rate_rules:
                if q.kind == "species_amount" and not q.amount_in_math:
                    deferred.append(name)
                    continue
                rates[name] = self.rate_rules[name]
            elif self._reacts(q):
                cf = sympy.Symbol(q.conversion_factor) if q.conversion_factor else 1
                rates[name] = cf * self.species_flux[name]
            else:
                rates[name] = sympy.Integer(0)
        # a compartment's size can follow another deferred species (C := 2 V): in
        # passes, each taking those whose sizes' rates are known, whatever the order
        while deferred:
            waiting, unknown = [], None
            for name in deferred:
                q = self.quantities[name]
                size = sympy.Symbol(q.compartment)
                try:
                    size_rate = self._size_rate(q.compartment, rates)
                except SbmlError as exc:
                    waiting.append(name)
                    unknown = exc
                    continue
                concentration = sympy.Symbol(name) / size
                rates[name] = size * self.rate_rules[name] + concentration * size_rate
            if len(waiting) == len(deferred):
                raise unknown
            deferred = waiting
        return rates

    def _rate_of(self, name: str, rates: dict[str, sympy.Expr]) -> sympy.Expr:
        """The value of ``rateOf(name)`` where SBML defines it simply."""
        if name in self._constant_ids:
            return sympy.Integer(0)
        if name not in rates:
            raise SbmlError(
                f"rateOf({name}) of a quantity set by an assignment rule is not supported"
            )
        rate = rates[name]
        if rate.has(RATE_OF):
            raise SbmlError(f"rateOf({name}) depends on another rateOf(); this is not supported")
        q = self.quantities.get(name)
        if q is not None and q.kind == "species_amount" and not q.amount_in_math:
            # d[S]/dt = (dn/dt) / V - [S] (dV/dt) / V
            size = sympy.Symbol(q.compartment)
            size_rate = self._size_rate(q.compartment, rates)
            if size_rate.has(RATE_OF):
                raise SbmlError(f"rateOf({name}) needs a size rate that uses rateOf()")
            return rate / size - sympy.Symbol(name) / size**2 * size_rate
        return rate

    def _replace_rate_of(self, expr: Any, rates: dict[str, sympy.Expr]) -> Any:
        if expr is None or not isinstance(expr, sympy.Basic) or not expr.has(RATE_OF):
            return expr
        calls = {call: self._rate_of(call.args[0].name, rates) for call in expr.atoms(RATE_OF)}
        return expr.xreplace(calls)

    # -- assembly ----------------------------------------------------------------

    def build(self) -> OdeSystem:
        self._read_rules()
        self._read_reaction_math()
        events_source = read_events(self.model, self.converter, self._to_amount)
        self._classify({target for e in events_source for target, _ in e.assignments})
        # quantities that never change after the start (their rate is zero)
        self._constant_ids = set(self.fixed_ids) | set(self.locals)
        rates = self._rates()
        fix = lambda e: self._replace_rate_of(e, rates)  # noqa: E731
        rates = {k: fix(v) for k, v in rates.items()}
        self.assignment_rules = {k: fix(v) for k, v in self.assignment_rules.items()}
        self.initial_assignments = {k: fix(v) for k, v in self.initial_assignments.items()}
        self.rate_laws = {k: fix(v) for k, v in self.rate_laws.items()}
        events = tuple(map_event(e, fix) for e in events_source)

        self._init_cache: dict[str, sympy.Expr] = {}
        states: list[StateDef] = []
        parameters: list[ParamDef] = []
        assignments: dict[str, sympy.Expr] = dict(self.assignment_rules)
        assignments.update(self.rate_laws)
        for q in self.quantities.values():
            name = q.id
            if name in self.param_values:
                parameters.append(
                    ParamDef(name, self.param_values[name], q.unit, q.kind, q.description)
                )
            elif name in self.fixed_ids:
                value = self._initial(name)
                if value.has(self.time):
                    states.append(StateDef(name, value, q.unit, q.kind, q.description))
                    rates[name] = sympy.Integer(0)
                elif value.is_Number:
                    parameters.append(ParamDef(name, float(value), q.unit, q.kind, q.description))
                else:
                    assignments[name] = value
            elif name in self.state_ids:
                states.append(StateDef(name, self._initial(name), q.unit, q.kind, q.description))
        for q in self.locals.values():
            parameters.append(ParamDef(q.id, float(q.value), q.unit, q.kind, q.description))

        order = topological_order(
            {name: {s.name for s in expr.free_symbols} for name, expr in assignments.items()},
            what="assignment rules and reaction rates",
        )
        rates = {s.name: rates[s.name] for s in states}
        return OdeSystem(
            time_unit=self._time_unit(),
            states=tuple(states),
            parameters=tuple(parameters),
            assignments=tuple((name, assignments[name]) for name in order),
            rates=rates,
            events=events,
            reported=self._reported(),
            time_symbol=self.time,
            name=self.model.getId() or self.model.getName(),
            units={n: self.quantities[n].unit for n in order if n in self.quantities},
            descriptions={
                n: self.quantities[n].description for n in order if n in self.quantities
            },
            reactions=tuple(r.id for r in self.reactions),
            unit_definitions=model_unit_terms(self.model),
        )

    def _reported(self) -> dict[str, sympy.Expr]:
        reported: dict[str, sympy.Expr] = {}
        for q in self.quantities.values():
            reported[q.id] = sympy.Symbol(q.id)
            if q.kind == "species_amount":
                compartment = self.model.getCompartment(q.compartment)
                if is_point(compartment):
                    reported[f"[{q.id}]"] = sympy.Symbol(q.id)
                else:
                    reported[f"[{q.id}]"] = sympy.Symbol(q.id) / sympy.Symbol(q.compartment)
        for r in self.reactions:
            reported[r.id] = sympy.Symbol(r.id)
        return reported

    def _time_unit(self) -> str | None:
        if self.model.getLevel() >= 3:
            units = self.model.getTimeUnits() if self.model.isSetTimeUnits() else ""
            return unit_string(self.model, units)
        return level2_default(self.model, "time")


def _literal(value: float) -> sympy.Expr:
    """A number from the SBML: an exact Integer when it is whole, else a Float."""
    return sympy.Integer(int(value)) if float(value).is_integer() else sympy.Float(value)


def _number(expr: sympy.Basic) -> sympy.Expr:
    """Math that must be numeric (rules, kinetic laws): booleans become 0/1."""
    return as_number(expr)
