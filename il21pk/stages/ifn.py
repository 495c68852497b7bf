r"""IFN-gamma made by activated NK and CD8 cells; outputs plasma IFN-gamma [pg/mL].

.. math::

    a &= \Big(w_{NK} \frac{T_{NK}}{T_{NK,0}} + (1 - w_{NK}) \frac{T_{CD8}}{T_{CD8,0}}\Big)
         \frac{F}{F_0} \\
    \frac{dI}{dt} &= k_{el}\,(I_0\,a - I), \qquad \frac{d\,AUC_I}{dt} = I

:math:`a` is the activated effector mass relative to baseline (cells
stage), :math:`I_0` the baseline plasma IFN-gamma [pg/mL] and
:math:`k_{el}` its first-order elimination rate. In vivo :math:`I(0) = I_0`
(steady state); in culture :math:`I(0) = 0` (fresh medium) and :math:`I_0`
is the level the unstimulated culture would approach.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..parameters import ParameterSpec
from . import StateSpec

STATES = (
    StateSpec("ifng_plasma", "pg/mL", "plasma (or supernatant) IFN-gamma"),
    StateSpec("ifng_auc", "pg*h/mL", "area under the IFN-gamma curve from t=0"),
)

PARAMETERS = (
    ParameterSpec("ifng_0", "pg/mL", 0.0, 1e6, "baseline plasma IFN-gamma"),
    ParameterSpec("k_ifng", "1/h", 1e-9, 1e3, "first-order elimination of IFN-gamma"),
    ParameterSpec("w_nk", "1", 0.0, 1.0, "share of IFN-gamma made by NK (rest: CD8) cells"),
)

KERNEL_PARAMETERS = ("ifng_0", "k_ifng", "w_nk")


def kernel_parameters(values: dict[str, np.ndarray]) -> np.ndarray:
    """Internal-unit values in ``KERNEL_PARAMETERS`` order, shape (N, 3)."""
    return np.column_stack(np.broadcast_arrays(values["ifng_0"], values["k_ifng"],
                                               values["w_nk"]))


def initial_state(p: np.ndarray, *, in_culture: bool = False) -> np.ndarray:
    """Baseline IFN-gamma (0 in fresh culture medium) and zero AUC; shape (N, 2)."""
    y = np.zeros((p.shape[0], len(STATES)))
    if not in_culture:
        y[:, 0] = p[:, 0]
    return y


@njit(cache=True, error_model="numpy")
def rhs(y, dy, s, k, p, nk_fold, cd8_fold, activated_fold):
    """Write the IFN-gamma derivatives (states ``y[s:s+2]``, parameters
    ``k[p:p+3]``) into `dy`."""
    ifng_0, k_el, w_nk = k[p], k[p + 1], k[p + 2]
    activity = (w_nk * nk_fold + (1.0 - w_nk) * cd8_fold) * activated_fold
    dy[s] = k_el * (ifng_0 * activity - y[s])
    dy[s + 1] = y[s]
