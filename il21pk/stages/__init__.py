"""One module per box of the chain dose -> PK -> binding -> signalling -> cells -> IFN.

Each stage declares ``STATES`` (name, unit, description), ``PARAMETERS``
(user-facing specs with units and hard bounds), ``KERNEL_PARAMETERS`` (the
internal-unit values its right-hand side reads, in order), a vectorised
``kernel_parameters(values)`` that derives them, and a compiled ``rhs``.
Stages never import each other; :mod:`il21pk.model` wires them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StateSpec:
    """One ODE state: name, unit, description and whether it is reported."""

    name: str
    unit: str
    description: str
    reported: bool = True


@dataclass(frozen=True)
class OutputSpec:
    """An algebraic output computed from the states after integration."""

    name: str
    unit: str
    description: str
