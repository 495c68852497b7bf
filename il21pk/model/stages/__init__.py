"""The built-in IL-21 stages, one per module, each a factory returning a
:class:`~il21pk.model.definition.Stage`: dose -> PK -> binding -> signalling
-> cells -> IFN-gamma. Stages never import each other; they read each
other's states and quantities by name.
"""

from __future__ import annotations

from .binding import binding
from .cells import cells
from .ifn import ifn
from .pk import pk
from .signalling import signalling

__all__ = ["binding", "cells", "ifn", "pk", "signalling"]
