"""SBML unit declarations as short readable strings (``'nmol/mL'``, ``'1/d'``).

Only for labels: units are metadata and never change a number. A unit that
has no short spelling is written out (``'(86400 s)^-1'``), and an undeclared
unit is ``None``.
"""

from __future__ import annotations

from typing import Any

_SYMBOLS = {
    "ampere": "A", "avogadro": "avogadro", "becquerel": "Bq", "candela": "cd",
    "celsius": "degC", "coulomb": "C", "dimensionless": "1", "farad": "F",
    "gram": "g", "gray": "Gy", "henry": "H", "hertz": "Hz", "item": "item",
    "joule": "J", "katal": "kat", "kelvin": "K", "kilogram": "kg", "liter": "L",
    "litre": "L", "lumen": "lm", "lux": "lx", "meter": "m", "metre": "m",
    "mole": "mol", "newton": "N", "ohm": "ohm", "pascal": "Pa", "radian": "rad",
    "second": "s", "siemens": "S", "sievert": "Sv", "steradian": "sr",
    "tesla": "T", "volt": "V", "watt": "W", "weber": "Wb",
}  # fmt: skip

_PREFIXES = {-15: "f", -12: "p", -9: "n", -6: "u", -3: "m", -2: "c", -1: "d", 0: "", 3: "k"}

#: Multiples of the second that have their own name.
_TIMES = {60.0: "min", 3600.0: "h", 86400.0: "d", 604800.0: "week"}


def _one_unit(unit: Any) -> tuple[str, float]:
    """(symbol, exponent) of one libsbml Unit."""
    import libsbml

    kind = libsbml.UnitKind_toString(unit.getKind())
    symbol = _SYMBOLS.get(kind, kind)
    scale = unit.getScale() if unit.isSetScale() else 0
    multiplier = unit.getMultiplier() if unit.isSetMultiplier() else 1.0
    exponent = unit.getExponent() if unit.isSetExponent() else 1.0
    if symbol == "s" and scale == 0 and multiplier in _TIMES:
        return _TIMES[multiplier], exponent
    if symbol == "s" and multiplier == 1.0 and scale == 0:
        return "s", exponent
    # a multiplier written as 10^k (e.g. 0.1 * 86400 s from tools that split factors)
    full = multiplier * 10.0**scale
    if symbol == "s" and any(abs(full - m) <= 1e-12 * m for m in _TIMES):
        return _TIMES[min(_TIMES, key=lambda m: abs(full - m))], exponent
    if abs(multiplier - 1.0) <= 1e-12 and scale in _PREFIXES and symbol not in ("1", "kg"):
        return _PREFIXES[scale] + symbol, exponent
    factor = f"{full:g}"
    return (f"({factor} {symbol})" if factor != "1" else symbol), exponent


def _power(symbol: str, exponent: float) -> str:
    e = int(exponent) if float(exponent).is_integer() else exponent
    return symbol if e == 1 else f"{symbol}^{e}"


def format_unit_definition(definition: Any) -> str:
    """A short string for a libsbml UnitDefinition, e.g. ``'nmol/mL'`` or ``'1/d'``."""
    numerator: list[str] = []
    denominator: list[str] = []
    for i in range(definition.getNumUnits()):
        symbol, exponent = _one_unit(definition.getUnit(i))
        if symbol == "1":
            continue
        if exponent > 0:
            numerator.append(_power(symbol, exponent))
        elif exponent < 0:
            denominator.append(_power(symbol, -exponent))
    top = "*".join(numerator) or "1"
    if not denominator:
        return top
    bottom = denominator[0] if len(denominator) == 1 else "(" + "*".join(denominator) + ")"
    return f"{top}/{bottom}"


def unit_terms(definition: Any) -> tuple[tuple[str, float, float], ...]:
    """A libsbml UnitDefinition as terms ``(kind, exponent, factor)``: the unit
    is the product of ``(factor * kind) ** exponent``, exactly as declared."""
    import libsbml

    terms = []
    for i in range(definition.getNumUnits()):
        unit = definition.getUnit(i)
        scale = unit.getScale() if unit.isSetScale() else 0
        multiplier = unit.getMultiplier() if unit.isSetMultiplier() else 1.0
        exponent = unit.getExponent() if unit.isSetExponent() else 1.0
        terms.append((libsbml.UnitKind_toString(unit.getKind()), float(exponent),
                      float(multiplier * 10.0**scale)))
    return tuple(terms)


def model_unit_terms(model: Any) -> dict[str, tuple[tuple[str, float, float], ...]]:
    """The declared model-wide time, substance and volume units as :func:`unit_terms`.

    Level 3: the model's ``timeUnits``, ``substanceUnits`` and
    ``volumeUnits``; Level 2: a redefinition of the built-in ``time``,
    ``substance`` or ``volume`` (the undeclared defaults are left out, as in
    :func:`level2_default`). A base unit kind (``second``) is one term.
    """
    import libsbml

    if model.getLevel() >= 3:
        ids = {"time": model.getTimeUnits(), "substance": model.getSubstanceUnits(),
               "volume": model.getVolumeUnits()}
    else:
        ids = {name: name for name in ("time", "substance", "volume")
               if model.getUnitDefinition(name) is not None}
    out = {}
    for name, unit_id in ids.items():
        definition = model.getUnitDefinition(unit_id) if unit_id else None
        if definition is not None:
            out[name] = unit_terms(definition)
        elif unit_id and libsbml.UnitKind_isValidUnitKindString(unit_id, model.getLevel(),
                                                                 model.getVersion()):
            out[name] = ((unit_id, 1.0, 1.0),)
    return out


def unit_string(model: Any, unit_id: str | None) -> str | None:
    """Readable form of a unit reference (a UnitDefinition id or a base unit kind).

    Returns ``None`` when `unit_id` is empty.
    """
    if not unit_id:
        return None
    definition = model.getUnitDefinition(unit_id)
    if definition is not None:
        return format_unit_definition(definition)
    return _SYMBOLS.get(unit_id, unit_id)


def level2_default(model: Any, builtin: str) -> str | None:
    """Level 2's built-in ``substance``, ``volume``, ``area``, ``length``, ``time``.

    A Level 2 model may redefine them by a UnitDefinition of that id; the
    undeclared defaults (mole, litre, m^2, m, second) are reported as ``None``
    because many published models leave them at the default while meaning
    something else.
    """
    definition = model.getUnitDefinition(builtin)
    return format_unit_definition(definition) if definition is not None else None
