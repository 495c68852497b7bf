"""Model v1: the stage chain of ``Model.v1()`` and ``Model.in_vitro_v1()``.

The first release's IL-21-only chain, kept as the reference of its results:
dose -> PK -> IL-21R binding -> pSTAT3 -> NK/CD8 cells -> IFN-gamma.
"""

from __future__ import annotations

from .definition import Stage
from .stages import binding, cells, ifn, pk, signalling


def il21_chain() -> list[Stage]:
    """The built-in stages, in data-flow order: PK, binding, signalling, cells, IFN."""
    return [pk(), binding(), signalling(), cells(), ifn()]
