"""Shared pieces of the property-based fuzz tests (``tests/test_fuzz_*.py``).

Budget: CI runs a fixed, derandomised number of examples per entry point
(the ``n`` given to :func:`budget`; the whole fuzz suite takes about a minute
or two on a shared 2-core machine). A long, randomised campaign runs the same
properties with more examples, e.g. 20,000 per entry point::

    IL21PK_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest -q tests/test_fuzz_*.py

Add ``--hypothesis-seed=<int>`` to repeat a campaign. A campaign keeps
Hypothesis's example database (``.hypothesis/``), so a failure it finds is
replayed first on the next run; once fixed, pin it in the CI set with
``@example(...)``.

The contract every entry point must honour (``docs/contract.md``):

- bad input raises an :class:`il21pk.Il21pkError` that is a ``ValueError``
  or ``TypeError``; numerical failure raises ``SimulationError``/``FitError``;
  nothing else escapes (no KeyError, AttributeError, OverflowError, numpy or
  scipy errors, no RuntimeWarning);
- inputs are never mutated;
- results are finite and physical (each test checks its own).
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st

from il21pk.errors import FitError, Il21pkError, SimulationError

CAMPAIGN = int(os.environ.get("IL21PK_FUZZ_EXAMPLES", "0") or 0)


def budget(n: int, *, shrink: bool = True) -> settings:
    """Hypothesis settings: `n` derandomised examples in CI, or the campaign's number.

    ``shrink=False`` reports a failing example as found, without minimising it,
    in CI (for entry points whose examples are slow: shrinking a failing fit
    can take minutes); campaigns always shrink.
    """
    common = dict(deadline=None, print_blob=True,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                         HealthCheck.filter_too_much,
                                         HealthCheck.function_scoped_fixture])
    if CAMPAIGN:
        return settings(max_examples=CAMPAIGN, derandomize=False, **common)
    phases = [p for p in Phase if shrink or p not in (Phase.shrink, Phase.explain)]
    return settings(max_examples=n, derandomize=True, database=None, phases=phases, **common)


def snapshot(value: object) -> object:
    """A deep copy to compare against after the call (frames compared exactly)."""
    return value.copy(deep=True) if isinstance(value, pd.DataFrame) else copy.deepcopy(value)


def assert_unchanged(before: object, after: object) -> None:
    if isinstance(before, pd.DataFrame):
        pd.testing.assert_frame_equal(after, before, check_exact=True)
    elif isinstance(before, np.ndarray):
        np.testing.assert_array_equal(after, before)
    else:
        assert after == before or (after != after and before != before), (before, after)


def honours_contract(call: Callable[[], object], *inputs: object,
                     numerical_ok: bool = False) -> tuple[object | None, Exception | None]:
    """Run `call`; return (result, None) or (None, the il21pk error it raised).

    Fails the test if anything but an il21pk input error (ValueError/TypeError
    subclass) escapes, or a SimulationError/FitError when not `numerical_ok`,
    if a RuntimeWarning is emitted, or if any of `inputs` changed.
    """
    before = [snapshot(x) for x in inputs]
    result, error = None, None
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)  # legal-but-suspicious input
        try:
            result = call()
        except Il21pkError as exc:
            numerical = isinstance(exc, (SimulationError, FitError))
            assert isinstance(exc, (ValueError, TypeError)) or (numerical and numerical_ok), \
                f"{type(exc).__name__}: {exc}"
            assert str(exc).strip(), f"{type(exc).__name__} without a message"
            error = exc
        except Exception as exc:  # noqa: BLE001 - the property under test
            raise AssertionError(f"{type(exc).__name__} escaped the contract: {exc}") from exc
    for b, x in zip(before, inputs, strict=True):
        assert_unchanged(b, x)
    event("accepted" if error is None else f"rejected: {type(error).__name__}")
    return result, error


# -- strategies shared by several fuzz files ---------------------------------------------

def mostly(good: st.SearchStrategy, bad: st.SearchStrategy,
           share: float = 0.85) -> st.SearchStrategy:
    """`good` values with probability about `share`, else `bad` ones (so that most
    examples reach the success path and the rest probe the checks)."""
    cut = round(100 * share)
    return st.integers(0, 99).flatmap(lambda i: good if i < cut else bad)


#: Values that have broken parsers: missing markers, text, non-finite and huge numbers.
CELLS = [".", "", " ", "abc", "1,5", None, np.nan, np.inf, -np.inf, -1.0, -0.0, 0.0, 1e-320,
         1e300, 10**400, -(10**400), True, "nan", np.float16(2.0), np.int8(3)]
#: Junk for a table cell, and for an argument (which may also be a list or a dict).
CELL_JUNK = st.sampled_from(CELLS)
JUNK = st.sampled_from([*CELLS, [1.0], {"a": 1}])
FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64)
REAL = st.one_of(FLOATS, st.integers(min_value=-(10**400), max_value=10**400), JUNK)
