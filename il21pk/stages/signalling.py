r"""JAK1/JAK3-STAT3 signalling: pSTAT3 follows signalling complexes per cell
through a chain of transit compartments (the transduction delay).

With :math:`s` signalling complexes per cell (binding stage),

.. math::

    d(s) &= \frac{s^h}{EC_{50}^h + s^h} \\
    \frac{dT_1}{dt} &= k_{tr}\,(d(s) - T_1), \quad
    \frac{dT_i}{dt} = k_{tr}\,(T_{i-1} - T_i), \; i = 2, 3

with :math:`k_{tr} = 3 / MTT`. pSTAT3 is :math:`T_3`, the fraction of the
maximal response (0 at baseline, at most 1).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..parameters import ParameterSpec
from . import StateSpec

N_TRANSIT = 3

STATES = (
    StateSpec("pstat3_transit_1", "1", "first signal transit compartment", reported=False),
    StateSpec("pstat3_transit_2", "1", "second signal transit compartment", reported=False),
    StateSpec("pstat3", "1", "phospho-STAT3, fraction of the maximal response"),
)

PARAMETERS = (
    ParameterSpec("ec50_pstat3", "1/cell", 1e-9, 1e7,
                  "signalling complexes per cell giving half-maximal pSTAT3"),
    ParameterSpec("hill_pstat3", "1", 0.1, 10.0, "Hill coefficient of pSTAT3 activation"),
    ParameterSpec("mtt_pstat3", "h", 1e-6, 1e3, "mean transit time from receptor to pSTAT3"),
)

KERNEL_PARAMETERS = ("ec50", "hill", "ktr")


def kernel_parameters(values: dict[str, np.ndarray]) -> np.ndarray:
    """Internal-unit values in ``KERNEL_PARAMETERS`` order, shape (N, 3)."""
    return np.column_stack([values["ec50_pstat3"], values["hill_pstat3"],
                            N_TRANSIT / values["mtt_pstat3"]])


def initial_state(n: int) -> np.ndarray:
    """No signal at baseline: shape (n, 3) of zeros."""
    return np.zeros((n, len(STATES)))


@njit(cache=True, error_model="numpy")
def rhs(y, dy, s, k, p, complexes):
    """Write the transit derivatives (states ``y[s:s+3]``, parameters
    ``k[p:p+3]``) into `dy`; return pSTAT3 (fraction of max)."""
    ec50, hill, ktr = k[p], k[p + 1], k[p + 2]
    signal = max(complexes, 0.0)
    if hill == 1.0:  # the default; skips two pow() calls per evaluation
        drive = signal / (ec50 + signal)
    else:
        signal = signal**hill
        drive = signal / (ec50**hill + signal)
    dy[s] = ktr * (drive - y[s])
    dy[s + 1] = ktr * (y[s] - y[s + 1])
    dy[s + 2] = ktr * (y[s + 1] - y[s + 2])
    return y[s + 2]
