"""Numba functions the generated model modules call (one copy for every model)."""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True, error_model="numpy", inline="always")
def power(x, p):
    """``x**p`` for an exponent known only at run time (a Hill coefficient).

    The base is taken as a float: an integer base (a literal) would wrap in
    int64 and give 0 for a negative integer exponent. A whole exponent from 1
    to 8 (Hill coefficients mostly are) is taken by multiplication: libm's
    ``pow`` costs about 20 ns a call, which in model v2 was a tenth of the
    engine's time. Any other exponent goes to ``pow``. Within a few ulp of
    ``pow``.
    """
    base = x * 1.0
    if 1.0 <= p <= 8.0 and p == math.floor(p):
        r = base
        for _ in range(int(p) - 1):
            r *= base
        return r
    return base**p
