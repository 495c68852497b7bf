"""Parameters with units, hard bounds and sources, and read-only sets of them.

A :class:`ParameterSpec` is what a model stage declares (name, unit, hard
bounds, description); a :class:`Parameter` adds a value and its source; a
:class:`ParameterSet` is an immutable mapping of them. Changing a value
returns a new set (:meth:`ParameterSet.with_values`), so sweeps and fits
never share mutable state.
"""

from __future__ import annotations

import difflib
import keyword
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import pandas as pd

from .checks import is_real
from .errors import ParameterError
from .references import REFERENCES, citation_key


@dataclass(frozen=True)
class ParameterSpec:
    """What a model stage declares about one parameter.

    Attributes
    ----------
    name : str
        Python identifier used everywhere (``cl``, ``kon``, ...).
    unit : str
        Unit of the value, e.g. ``"L/h"``; ``"1"`` for dimensionless.
    lower, upper : float
        Hard bounds: values outside ``[lower, upper]`` are physically
        impossible and rejected.
    description : str
        One line saying what the parameter means.
    """

    name: str
    unit: str
    lower: float
    upper: float
    description: str

    def __post_init__(self) -> None:
        if not (isinstance(self.name, str) and self.name.isidentifier()
                and not keyword.iskeyword(self.name)):
            raise ParameterError(f"ParameterSpec: a parameter name must be a Python identifier; "
                                 f"got {self.name!r}")
        if not (is_real(self.lower) and is_real(self.upper) and self.lower <= self.upper):
            raise ParameterError(f"ParameterSpec {self.name!r} needs numbers lower <= upper; "
                                 f"got [{self.lower!r}, {self.upper!r}]")


@dataclass(frozen=True)
class Parameter:
    """A parameter value with its unit, hard bounds, description and source."""

    name: str
    value: float
    unit: str
    lower: float
    upper: float
    description: str
    source: str

    def __post_init__(self) -> None:
        for field_name in ("name", "unit", "description", "source"):
            text = getattr(self, field_name)
            if not isinstance(text, str):
                raise ParameterError(f"Parameter.{field_name} of {self.name!r} must be a string; "
                                     f"got {type(text).__name__} {text!r}")
        object.__setattr__(self, "value",
                           check_value(self.name, self.value, self.lower, self.upper, self.unit))
        if not self.source.strip():
            raise ParameterError(f"parameter '{self.name}' needs a source; got an empty string")


def check_value(name: str, value: object, lower: float, upper: float, unit: str) -> float:
    """Return `value` as float or raise a ParameterError naming the parameter."""
    if not is_real(value):
        raise ParameterError(
            f"parameter '{name}' must be a real number [{unit}]; got {value!r} "
            f"of type {type(value).__name__}"
        )
    try:
        value = float(value)
    except OverflowError:
        raise ParameterError(f"parameter '{name}' must be a finite number [{unit}]; got an "
                             f"integer too large for a float ({len(str(value))} digits)") from None
    if not math.isfinite(value):
        raise ParameterError(f"parameter '{name}' must be finite [{unit}]; got {value}")
    if not lower <= value <= upper:
        raise ParameterError(
            f"parameter '{name}' must be within [{lower:g}, {upper:g}] {unit}; got {value:g}"
        )
    return value


def check_units(specs: Iterable[ParameterSpec], params: ParameterSet, model_name: str,
                skip: Iterable[str] = ()) -> None:
    """A ParameterError for a value of `params` in another unit than its spec declares
    (a set built for another model: the human set's ``kd`` in nM read as a time in
    minutes); names in `skip` are not checked."""
    skipped = set(skip)
    for spec in specs:
        if spec.name in params and spec.name not in skipped \
                and params[spec.name].unit != spec.unit:
            raise ParameterError(
                f"parameter {spec.name!r} of set {params.name!r} is in "
                f"{params[spec.name].unit!r}, but model {model_name!r} declares it in "
                f"{spec.unit!r}; give its value in {spec.unit!r} "
                f"(model.parameter_set({{{spec.name!r}: (value, source)}}, base=...))")


def unknown_name_error(name: str, known: Iterable[str], what: str = "parameter") -> ParameterError:
    """A ParameterError for an unknown name, with difflib 'did you mean' suggestions."""
    known = sorted(known)
    close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return ParameterError(f"unknown {what} {name!r}{hint} Known: {known}")


class ParameterSet(Mapping[str, Parameter]):
    """An immutable, ordered mapping ``name -> Parameter``.

    Parameters
    ----------
    parameters : iterable of Parameter
        The parameters; names must be unique.
    name : str, optional
        A label for the set (``"human"``, ``"cynomolgus"``, ...).

    Examples
    --------
    >>> import il21pk as ip
    >>> params = ip.parameter_sets.load("human")
    >>> params["cl"].unit
    'L/h'
    >>> params.with_values(cl=2.0)["cl"].value
    2.0
    """

    def __init__(self, parameters: Iterable[Parameter], *, name: str = "custom") -> None:
        items: dict[str, Parameter] = {}
        for p in parameters:
            if not isinstance(p, Parameter):
                raise TypeError(f"ParameterSet takes Parameter objects; got {type(p).__name__}")
            if p.name in items:
                raise ParameterError(f"parameter '{p.name}' is given twice")
            items[p.name] = p
        self._items = items
        self.name = name

    def __getitem__(self, key: str) -> Parameter:
        try:
            return self._items[key]
        except KeyError:
            raise unknown_name_error(key, self._items) from None

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"ParameterSet(name={self.name!r}, {len(self)} parameters)"

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        """The parameter `key`, or `default` if the set holds none of that name, as a
        Mapping's ``get`` does (``params[key]`` raises a ParameterError with suggestions)."""
        return self._items.get(key, default)

    def value(self, name: str) -> float:
        """The value of parameter `name` in its unit."""
        return self[name].value

    def values(self) -> dict[str, float]:  # type: ignore[override]
        """A plain ``{name: value}`` dict (a copy)."""
        return {k: p.value for k, p in self._items.items()}

    def with_values(self, values: Mapping[str, float] | None = None, /, *,
                    source: str = "user", **kwargs: float) -> ParameterSet:
        """Return a new set with some values replaced.

        Parameters
        ----------
        values : mapping of str to float, optional
            New values by parameter name.
        source : str, optional
            Source recorded for the changed parameters. Default ``"user"``.
        **kwargs : float
            More new values by name.

        Raises
        ------
        ParameterError
            If a name is unknown (with suggestions) or a value is outside the
            parameter's hard bounds.
        """
        if values is not None and not isinstance(values, Mapping):
            raise ParameterError("with_values takes a mapping {name: value} (or keyword "
                                 f"arguments); got {type(values).__name__}")
        if not isinstance(source, str) or not source.strip():
            raise ParameterError(f"with_values source must be a non-empty string naming where "
                                 f"the values come from; got {source!r}")
        changes = {**dict(values or {}), **kwargs}
        new = dict(self._items)
        for key, val in changes.items():
            old = self[key]
            new[key] = replace(old, value=check_value(key, val, old.lower, old.upper, old.unit),
                               source=source)
        return ParameterSet(new.values(), name=self.name)

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter: name, value, unit, lower, upper, source, description."""
        rows = [
            (p.name, p.value, p.unit, p.lower, p.upper, p.source, p.description)
            for p in self._items.values()
        ]
        return pd.DataFrame(
            rows, columns=["name", "value", "unit", "lower", "upper", "source", "description"]
        )

    def references(self) -> dict[str, str]:
        """Full citations for every literature source used by this set."""
        keys = {citation_key(p.source) for p in self._items.values()}
        return {k: REFERENCES[k] for k in sorted(k for k in keys if k)}


def build_set(specs: Iterable[ParameterSpec], values: Mapping[str, tuple[float, str]],
              *, name: str) -> ParameterSet:
    """Join declared specs with ``{name: (value, source)}``; report all problems at once."""
    specs = list(specs)
    declared = {s.name for s in specs}
    missing = [s.name for s in specs if s.name not in values]
    unknown = sorted(set(values) - declared)
    problems = []
    if missing:
        problems.append(f"missing values for {missing}")
    if unknown:
        problems.append(f"values for unknown parameters {unknown}")
    if problems:
        raise ParameterError(f"parameter set '{name}' has " + " and ".join(problems))
    for key, entry in values.items():
        if isinstance(entry, str) or not (isinstance(entry, Sequence) and len(entry) == 2):
            raise ParameterError(f"parameter set '{name}': the value of {key!r} must be a "
                                 f"(value, source) pair; got {entry!r}"[:300])
    return ParameterSet(
        (Parameter(s.name, values[s.name][0], s.unit, s.lower, s.upper,
                   s.description, values[s.name][1]) for s in specs),
        name=name,
    )
