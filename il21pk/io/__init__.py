"""Reading models written elsewhere: SBML and Antimony import.

:func:`read_sbml` and :func:`read_antimony` turn a model into an
:class:`OdeSystem` (symbolic states, constants, assignments, rates, events);
:func:`simulate_reference` integrates one with scipy, for conformance checks.
libsbml and antimony are imported only when a model is read.
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
