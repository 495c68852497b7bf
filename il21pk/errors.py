"""Exceptions raised by il21pk.

Every user mistake raises a subclass of :class:`Il21pkError`; the ones about
bad values also subclass :class:`ValueError`, so ``except ValueError`` keeps
working. Plain ``ValueError``/``TypeError`` are still used where an argument
has the wrong Python type.
"""

from __future__ import annotations


class Il21pkError(Exception):
    """Base class of every il21pk error."""


class ParameterError(Il21pkError, ValueError):
    """A parameter name, value or unit is unknown, missing or out of bounds."""


class RegimenError(Il21pkError, ValueError):
    """A dose or schedule is impossible (negative amount, unknown route, ...)."""


class DataError(Il21pkError, ValueError):
    """Observed data are malformed (missing column, NaN, unsorted time, ...)."""


class SimulationError(Il21pkError, RuntimeError):
    """The ODE solver failed; the message carries the solver's own words."""


class FitError(Il21pkError, RuntimeError):
    """Parameter estimation failed."""
