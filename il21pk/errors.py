"""Exceptions raised by il21pk.

Every user mistake raises a subclass of :class:`Il21pkError`; the ones about
bad values also subclass :class:`ValueError`, and the ones about an argument
of the wrong Python type subclass :class:`TypeError`, so ``except
ValueError`` / ``except TypeError`` keep working. Numerical failures raise
:class:`SimulationError` or :class:`FitError` (both ``RuntimeError``) with the
cause. The written contract (which entry point raises what) is in
``docs/contract.md``.
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


class OptionError(Il21pkError, ValueError):
    """An option of a verb is unknown or out of range (``t_end``, ``rtol``, ``method``,
    ``executor``, a resource limit, ...)."""


class InputTypeError(Il21pkError, TypeError):
    """An argument has the wrong Python type (a number where a Dose is needed, ...)."""


class SimulationError(Il21pkError, RuntimeError):
    """The ODE solver failed; the message carries the solver's own words."""


class FitError(Il21pkError, RuntimeError):
    """Parameter estimation failed."""
