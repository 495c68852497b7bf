"""Type tests every input check shares: a real number or an integer, never a bool.

``True`` is an ``int`` to Python, so ``isinstance(value, int)`` alone would let
``seed=True`` or ``n=True`` through as 1; numpy's scalars (``np.float64``,
``np.int64``, what a frame or an array hands out) are accepted as numbers.
"""

from __future__ import annotations

import numpy as np


def is_real(value: object) -> bool:
    """An int or float (numpy's too), not a bool (finite or not)."""
    return not isinstance(value, bool) and isinstance(value, (int, float, np.integer,
                                                               np.floating))


def is_integer(value: object) -> bool:
    """An int (numpy's too), not a bool."""
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def booleans(values: np.ndarray) -> np.ndarray:
    """Which of `values` (an object or bool array, as a column hands it out) are
    booleans, Python's or numpy's, which a conversion to float reads as 1 and 0."""
    return np.array([isinstance(v, (bool, np.bool_)) for v in values], dtype=bool)
