"""Sourced parameter sets: ``available()`` and ``load(name)``.

Each module holds ``VALUES = {name: (value, source)}``; :func:`load` joins it
with the units and hard bounds the model stages declare and fails if a value
is missing or unknown.
"""

from __future__ import annotations

from importlib import import_module

from ..errors import ParameterError
from ..model import ModelDefinition, il21_chain
from ..parameters import ParameterSet, ParameterSpec, build_set, unknown_name_error

_SETS = ("human", "cynomolgus")
_ALIASES = {"default": "human"}


def available() -> tuple[str, ...]:
    """Names accepted by :func:`load`."""
    return _SETS


def all_specs() -> tuple[ParameterSpec, ...]:
    """Specs of every parameter of the full model, in stage order."""
    return ModelDefinition(il21_chain(), name="full").parameters


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
