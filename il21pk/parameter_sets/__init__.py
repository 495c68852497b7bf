"""Sourced parameter sets: ``available()`` and ``load(name)``.

Each module holds ``VALUES = {name: (value, source)}``; :func:`load` joins it
with the units and hard bounds the model stages declare and fails if a value
is missing or unknown. A set covers every built-in model (v1, v2, oncology);
a simulation reads the parameters its model uses.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module

from ..errors import ParameterError
from ..model.v1 import il21_chain
from ..model.v2 import oncology_chain
from ..parameters import ParameterSet, ParameterSpec, build_set, unknown_name_error

_SETS = ("human", "cynomolgus", "human_n803")
_ALIASES = {"default": "human"}


def available() -> tuple[str, ...]:
    """Names accepted by :func:`load`."""
    return _SETS


@lru_cache(maxsize=1)
def all_specs() -> tuple[ParameterSpec, ...]:
    """Specs of every parameter of the built-in models: the v1 chain (``Model.v1()``),
    then the v2 and oncology chains (``Model()``, ``Model.oncology()``), in stage
    order, each name once.

    Raises
    ------
    ParameterError
        If two stages declare one name with different units or bounds.
    """
    specs: dict[str, ParameterSpec] = {}
    for stage in [*il21_chain(), *oncology_chain()]:
        for p in stage.parameters:
            seen = specs.setdefault(p.name, p)
            if (seen.unit, seen.lower, seen.upper) != (p.unit, p.lower, p.upper):
                raise ParameterError(
                    f"parameter {p.name!r} is declared as [{seen.unit}] in [{seen.lower:g}, "
                    f"{seen.upper:g}] and by stage {stage.name!r} as [{p.unit}] in "
                    f"[{p.lower:g}, {p.upper:g}]")
    return tuple(specs.values())


def load(name: str = "human") -> ParameterSet:
    """Load a parameter set by name (``"human"`` is the default, alias ``"default"``).

    Raises
    ------
    ParameterError
        If `name` is not one of :func:`available`.
    """
    if not isinstance(name, str):
        raise ParameterError(f"parameter set name must be a string; got {name!r}")
    key = _ALIASES.get(name, name)
    if key not in _SETS:
        raise unknown_name_error(name, _SETS, what="parameter set")
    module = import_module(f"{__name__}.{key}")
    return build_set(all_specs(), module.VALUES, name=key)


__all__ = ["available", "load", "all_specs", "ParameterError"]
