"""Reading models written elsewhere: SBML and Antimony import.

:func:`read_sbml` and :func:`read_antimony` turn a model into an
:class:`OdeSystem` (symbolic states, constants, assignments, rates, events);
:func:`simulate_reference` integrates one with scipy, for conformance checks.
libsbml and antimony are imported only when a model is read.

Modules, one job each:

* ``ode_system``: the neutral dataclasses (no libsbml).
* ``sbml_document``: parsing, Antimony conversion, rejecting unsupported constructs.
* ``sbml_entities``: compartments, species, parameters, reactions as plain records.
* ``sbml_math``: MathML (libsbml AST) -> sympy; function definitions inlined.
* ``sbml_events``: events -> :class:`EventDef`.
* ``sbml_import``: the assembly into an :class:`OdeSystem`.
* ``sbml_units``: unit declarations as short strings.
* ``pyfunc``, ``reference_sim``: the scipy reference simulator.
* ``sbml_conformance``: the SBML Test Suite runner and the conformance page.
"""

from __future__ import annotations

from .ode_system import EventDef, OdeSystem, ParamDef, StateDef
from .reference_sim import simulate_reference
from .sbml_errors import SbmlError
from .sbml_import import read_antimony, read_sbml

__all__ = [
    "EventDef",
    "OdeSystem",
    "ParamDef",
    "SbmlError",
    "StateDef",
    "read_antimony",
    "read_sbml",
    "simulate_reference",
]
