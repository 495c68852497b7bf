"""SBML events (without delay) -> :class:`~il21pk.io.ode_system.EventDef`.

Level 3 gives each trigger ``persistent`` and ``initialValue``; Level 2
triggers behave as ``persistent=True, initialValue=True`` (a trigger already
true at the start does not fire). An assignment to a species in
concentration sets ``amount = value x size`` with the size *before* the
event, also when the same event assigns the compartment: every right-hand
side, this product included, is evaluated before any is applied (SBML Test
Suite cases 01779/01780).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import sympy

from .ode_system import EventDef
from .sbml_errors import SbmlError
from .sbml_math import MathConverter, as_boolean, as_number


def read_events(
    model: Any,
    converter: MathConverter,
    to_amount: Callable[[str, sympy.Expr], sympy.Expr],
) -> tuple[EventDef, ...]:
    """The model's events, in document order.

    Parameters
    ----------
    model : libsbml.Model
        The model.
    converter : MathConverter
        Converts the trigger, priority and assignment math.
    to_amount : callable
        ``to_amount(target, value)`` turns a value as math sees it
        (concentration for most species) into the target symbol's value.

    Raises
    ------
    SbmlError
        An event has a delay.
    """
    events = []
    level = model.getLevel()
    for index, event in enumerate(model.getListOfEvents()):
        name = event.getId() or f"event_{index}"
        where = f"event {name!r}"
        if event.isSetDelay() and event.getDelay().getMath() is not None:
            raise SbmlError(f"{where} has a delay; event delays are not supported")
        trigger = event.getTrigger()
        if trigger is None or trigger.getMath() is None:
            continue  # Level 3 Version 2: an event without a trigger never fires
        condition = as_boolean(converter.convert(trigger.getMath(), f"trigger of {where}"))
        values: dict[str, sympy.Expr] = {}
        for ea in event.getListOfEventAssignments():
            if ea.getMath() is None:
                continue  # Level 3 Version 2: an assignment without math is ignored
            target = ea.getVariable()
            if target in values:
                raise SbmlError(f"{where} assigns {target!r} twice")
            values[target] = as_number(
                converter.convert(ea.getMath(), f"assignment to {target!r} in {where}")
            )
        assignments = [(target, to_amount(target, value)) for target, value in values.items()]
        priority = None
        if level >= 3 and event.isSetPriority() and event.getPriority().getMath() is not None:
            priority = as_number(
                converter.convert(event.getPriority().getMath(), f"priority of {where}")
            )
        persistent = trigger.getPersistent() if level >= 3 else True
        initial_value = trigger.getInitialValue() if level >= 3 else True
        events.append(
            EventDef(
                name=name,
                trigger=condition,
                assignments=tuple(assignments),
                persistent=bool(persistent),
                initial_value=bool(initial_value),
                priority=priority,
                use_values_from_trigger_time=bool(event.getUseValuesFromTriggerTime()),
            )
        )
    return tuple(events)


def map_event(event: EventDef, f: Callable[[Any], Any]) -> EventDef:
    """A copy of `event` with `f` applied to its trigger, priority and assignment values."""
    return dataclasses.replace(
        event,
        trigger=f(event.trigger),
        priority=f(event.priority) if event.priority is not None else None,
        assignments=tuple((target, f(value)) for target, value in event.assignments),
    )
