"""il21pk's unit strings (``'nM*h'``, ``'cells/uL'``, ``'1/(nM*h)'``) as SBML unit terms.

The inverse of :mod:`il21pk.io.sbml_units`, for the export: a string is read
as a product and quotient of factors, each an optional SI prefix on a base
symbol (``mol``, ``M``, ``g``, ``Da``, ``L``, ``s``), a time (``min``, ``h``,
``d``, ``week``), a count (``cell``, ``cells``, ``item``), ``1`` or a number
(``10^9``), with ``^`` powers and parentheses. A string with any other word
(``'fold'``, ``'U'``) has no terms: the export then declares no unit rather
than a wrong one.
"""

from __future__ import annotations

import re

from ..model.compose import UnitTerms

#: Base symbols: (SBML kind, multiplier, other kinds the symbol carries).
_BASES: dict[str, tuple[str, float, tuple[tuple[str, float], ...]]] = {
    "mol": ("mole", 1.0, ()), "M": ("mole", 1.0, (("litre", -1.0),)),
    "g": ("gram", 1.0, ()), "Da": ("gram", 1.0, (("mole", -1.0),)),
    "L": ("litre", 1.0, ()), "l": ("litre", 1.0, ()), "s": ("second", 1.0, ()),
    "min": ("second", 60.0, ()), "h": ("second", 3600.0, ()), "hr": ("second", 3600.0, ()),
    "d": ("second", 86400.0, ()), "day": ("second", 86400.0, ()),
    "week": ("second", 604800.0, ()), "cell": ("item", 1.0, ()),
    "cells": ("item", 1.0, ()), "item": ("item", 1.0, ()), "items": ("item", 1.0, ()),
}
_PREFIXED = ("mol", "M", "g", "Da", "L", "l", "s")
_PREFIXES = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "µ": 1e-6, "m": 1e-3, "c": 1e-2,
             "d": 1e-1, "k": 1e3}
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|([A-Za-zµ]+)|(\S))")

#: A unit as a scalar factor and SBML kinds -> (exponent, multiplier) terms.
_Product = tuple[float, list[tuple[str, float, float]]]


class _Unparsed(ValueError):
    """A unit string outside the grammar above."""


def _symbol(word: str) -> list[tuple[str, float, float]]:
    if word in _BASES:
        kind, multiplier, more = _BASES[word]
    elif word[:1] in _PREFIXES and word[1:] in _PREFIXED:
        kind, multiplier, more = _BASES[word[1:]]
        multiplier *= _PREFIXES[word[:1]]
    else:
        raise _Unparsed(word)
    return [(kind, 1.0, multiplier), *((k, e, 1.0) for k, e in more)]


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = [m.groups() for m in _TOKEN.finditer(text)]
        self.at = 0

    def _peek(self) -> str | None:
        return self.tokens[self.at][2] if self.at < len(self.tokens) else None

    def product(self) -> _Product:
        factor, terms = self.power()
        while self._peek() in ("*", "/"):
            divide = self.tokens[self.at][2] == "/"
            self.at += 1
            f, t = self.power()
            if divide:
                f, t = 1.0 / f, [(k, -e, m) for k, e, m in t]
            factor, terms = factor * f, terms + t
        return factor, terms

    def power(self) -> _Product:
        if self.at >= len(self.tokens):
            raise _Unparsed("end")
        number, word, sign = self.tokens[self.at]
        self.at += 1
        if sign == "(":
            factor, terms = self.product()
            if self._peek() != ")":
                raise _Unparsed("(")
            self.at += 1
        elif number is not None:
            factor, terms = float(number), []
        elif word is not None:
            factor, terms = 1.0, _symbol(word)
        else:
            raise _Unparsed(sign)
        if self._peek() == "^":
            self.at += 1
            exponent = self._exponent()
            factor, terms = factor**exponent, [(k, e * exponent, m) for k, e, m in terms]
        return factor, terms

    def _exponent(self) -> float:
        sign = 1.0
        if self._peek() == "-":
            sign, self.at = -1.0, self.at + 1
        if self.at >= len(self.tokens) or self.tokens[self.at][0] is None:
            raise _Unparsed("^")
        self.at += 1
        return sign * float(self.tokens[self.at - 1][0])


def unit_terms(text: str | None) -> UnitTerms | None:
    """SBML terms ``((kind, exponent, multiplier), ...)`` of an il21pk unit string, or None.

    Each term means ``(multiplier kind)^exponent``, as in SBML; a kind that
    appears twice is merged, and a numeric factor joins the first term's
    multiplier (``'10^9/L'`` -> ``(('litre', -1.0, 1e-9),)``, one per nL).
    A dimensionless unit is ``(('dimensionless', 1.0, factor),)``.
    """
    if not text or not text.strip():
        return None
    parser = _Parser(text)
    try:
        factor, terms = parser.product()
        if parser.at != len(parser.tokens):
            raise _Unparsed(text)
    except _Unparsed:
        return None
    merged: dict[str, list[float]] = {}
    for kind, exponent, multiplier in terms:
        if kind in merged:  # (m1 k)^e1 (m2 k)^e2 = m1^e1 m2^e2 k^(e1 + e2)
            e0, m0 = merged[kind]
            factor *= m0**e0 * multiplier**exponent
            merged[kind] = [e0 + exponent, 1.0]
        else:
            merged[kind] = [exponent, multiplier]
    kept = [(k, e, m) for k, (e, m) in merged.items() if e != 0]
    if not kept:
        return (("dimensionless", 1.0, _round(factor)),)
    kind, exponent, multiplier = kept[0]
    kept[0] = (kind, exponent, _round(multiplier * factor ** (1.0 / exponent)))
    return tuple(kept)


def _round(value: float) -> float:
    """`value` to 12 significant digits: (1e-9)(1e-9)^-1 is 1, not 0.9999999999999999."""
    return float(f"{value:.12g}")
