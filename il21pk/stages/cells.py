r"""NK and CD8+ T cells: redistribution, pSTAT3-driven expansion with IL-15/IL-7
synergy, homeostasis, and the activated (granzyme B/perforin) fraction.

For each cell type x in {NK, CD8}, blood :math:`B` and marginated :math:`M`
counts are in cells/uL of blood (the marginated pool expressed per uL of
blood, so :math:`T = B + M` is the exchangeable total). With receptor
occupancy :math:`o` (binding stage) and pSTAT3 :math:`P` (signalling stage):

.. math::

    g_x &= k_{p,x}\,P\,(1 + \sum_c S_{c,x} \frac{I_c}{I_c + EC_{50,c}})
          \quad (c \in \{IL\text{-}15, IL\text{-}7\}) \\
    h_x &= k_{h}\,(T_0 / T - T / T_0) \\
    k_{out} &= k_{ret}\,\frac{M_0}{B_0}\,(1 + E_{m}\,o) \\
    \frac{dB}{dt} &= (g_x + h_x) B - k_{out} B + k_{ret} M \\
    \frac{dM}{dt} &= (g_x + h_x) M + k_{out} B - k_{ret} M \\
    \frac{dF}{dt} &= k_{act} P (1 - F) - k_{deact} (F - F_0)

:math:`I_c` are background IL-15/IL-7 levels [pg/mL], :math:`S_{c,x}` their
synergy with IL-21. The homeostatic term returns :math:`T` to :math:`T_0`
and bounds expansion for any :math:`g_x`. Occupancy drives margination, so
circulating counts dip while IL-21 is present and recover in rest periods
(Frederiksen 2008). :math:`F` is the activated (granzyme B+/perforin+)
fraction of NK and CD8 cells. Outputs: the ADCC potency index
:math:`(B_{NK}/B_{NK,0})(F/F_0)`, the expanded pools :math:`T_{NK}` and
:math:`T_{CD8}` (``nk_total``, ``cd8_total``), and the relative receptor-bearing cell
number :math:`f = (T_{NK} + T_{CD8}) / (T_{NK,0} + T_{CD8,0})` used by the
binding stage.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..parameters import ParameterSpec
from . import OutputSpec, StateSpec

STATES = (
    StateSpec("nk_blood", "cells/uL", "circulating NK cells"),
    StateSpec("nk_marginated", "cells/uL", "marginated NK cells, per uL of blood"),
    StateSpec("cd8_blood", "cells/uL", "circulating CD8+ T cells"),
    StateSpec("cd8_marginated", "cells/uL", "marginated CD8+ T cells, per uL of blood"),
    StateSpec("effector_fraction", "1", "activated (granzyme B+/perforin+) fraction"),
)

OUTPUTS = (
    OutputSpec("nk_total", "cells/uL", "circulating + marginated NK (expansion)"),
    OutputSpec("cd8_total", "cells/uL", "circulating + marginated CD8+ T (expansion)"),
    OutputSpec("adcc_index", "1", "ADCC potency index, 1 at baseline"),
)

PARAMETERS = (
    ParameterSpec("nk_blood_0", "cells/uL", 0.0, 1e5, "baseline circulating NK cells"),
    ParameterSpec("cd8_blood_0", "cells/uL", 0.0, 1e5, "baseline circulating CD8+ T cells"),
    ParameterSpec("marginated_ratio", "1", 0.0, 1e3,
                  "baseline marginated : circulating cells"),
    ParameterSpec("k_return", "1/h", 0.0, 1e3, "return of marginated cells to blood"),
    ParameterSpec("emax_margination", "1", 0.0, 1e4,
                  "maximal increase in margination at full receptor occupancy"),
    ParameterSpec("kp_nk", "1/h", 0.0, 10.0, "maximal pSTAT3-driven NK proliferation"),
    ParameterSpec("kp_cd8", "1/h", 0.0, 10.0, "maximal pSTAT3-driven CD8 proliferation"),
    ParameterSpec("k_homeostasis", "1/h", 0.0, 10.0, "homeostatic return to baseline"),
    ParameterSpec("il15_background", "pg/mL", 0.0, 1e6, "background IL-15"),
    ParameterSpec("il7_background", "pg/mL", 0.0, 1e6, "background IL-7"),
    ParameterSpec("ec50_il15", "pg/mL", 1e-9, 1e6, "IL-15 giving half-maximal synergy"),
    ParameterSpec("ec50_il7", "pg/mL", 1e-9, 1e6, "IL-7 giving half-maximal synergy"),
    ParameterSpec("synergy_il15_nk", "1", 0.0, 1e3, "IL-15 synergy with IL-21 on NK"),
    ParameterSpec("synergy_il15_cd8", "1", 0.0, 1e3, "IL-15 synergy with IL-21 on CD8"),
    ParameterSpec("synergy_il7_cd8", "1", 0.0, 1e3, "IL-7 synergy with IL-21 on CD8"),
    ParameterSpec("effector_fraction_0", "1", 1e-6, 1.0, "baseline activated fraction"),
    ParameterSpec("k_activation", "1/h", 0.0, 1e3, "pSTAT3-driven activation rate"),
    ParameterSpec("k_deactivation", "1/h", 0.0, 1e3, "return of the activated fraction"),
)

KERNEL_PARAMETERS = (
    "nk_b0", "nk_m0", "cd8_b0", "cd8_m0", "k_return", "emax_margination",
    "g_nk", "g_cd8", "k_homeostasis", "f0", "k_activation", "k_deactivation",
)


def synergy(level: np.ndarray, ec50: np.ndarray) -> np.ndarray:
    """Saturating effect of a background cytokine level, level / (level + ec50)."""
    return level / (level + ec50)


def kernel_parameters(values: dict[str, np.ndarray]) -> np.ndarray:
    """Internal-unit values in ``KERNEL_PARAMETERS`` order, shape (N, 12)."""
    ratio = values["marginated_ratio"]
    s15 = synergy(values["il15_background"], values["ec50_il15"])
    s7 = synergy(values["il7_background"], values["ec50_il7"])
    g_nk = values["kp_nk"] * (1.0 + values["synergy_il15_nk"] * s15)
    g_cd8 = values["kp_cd8"] * (1.0 + values["synergy_il15_cd8"] * s15
                                + values["synergy_il7_cd8"] * s7)
    nk_b0, cd8_b0 = values["nk_blood_0"], values["cd8_blood_0"]
    return np.column_stack(np.broadcast_arrays(
        nk_b0, nk_b0 * ratio, cd8_b0, cd8_b0 * ratio, values["k_return"],
        values["emax_margination"], g_nk, g_cd8, values["k_homeostasis"],
        values["effector_fraction_0"], values["k_activation"], values["k_deactivation"],
    ))


def initial_state(p: np.ndarray) -> np.ndarray:
    """Baseline counts and activated fraction; shape (N, 5)."""
    return np.column_stack([p[:, 0], p[:, 1], p[:, 2], p[:, 3], p[:, 9]])


def cell_fold(nk_b, nk_m, cd8_b, cd8_m, nk_b0, nk_m0, cd8_b0, cd8_m0):
    """Receptor-bearing cells relative to baseline, (T_NK + T_CD8) / (T_NK,0 + T_CD8,0)."""
    return (nk_b + nk_m + cd8_b + cd8_m) / (nk_b0 + nk_m0 + cd8_b0 + cd8_m0)


def adcc_index(nk_b, fraction, nk_b0, f0):
    """ADCC potency index: circulating NK and their activated fraction, both vs baseline."""
    return (nk_b / nk_b0) * (fraction / f0)


cell_fold_jit = njit(cache=True, error_model="numpy")(cell_fold)


@njit(cache=True, error_model="numpy")
def _pool(b, m, b0, m0, growth, k_h, k_out, k_ret):
    t0 = b0 + m0
    if t0 <= 0.0:
        return 0.0, 0.0
    total = max(b + m, 1e-12 * t0)
    rate = growth + k_h * (t0 / total - total / t0)
    exchange = k_out * b - k_ret * m
    return rate * b - exchange, rate * m + exchange


@njit(cache=True, error_model="numpy")
def rhs(y, dy, s, k, p, occupancy, pstat3):
    """Write the cell derivatives (states ``y[s:s+5]``, parameters from
    ``k[p]``) into `dy`."""
    nk_b0, nk_m0, cd8_b0, cd8_m0 = k[p], k[p + 1], k[p + 2], k[p + 3]
    k_ret, emax_m, g_nk, g_cd8, k_h = k[p + 4], k[p + 5], k[p + 6], k[p + 7], k[p + 8]
    f0, k_act, k_deact = k[p + 9], k[p + 10], k[p + 11]
    push = 1.0 + emax_m * occupancy
    k_out_nk = k_ret * nk_m0 / nk_b0 * push if nk_b0 > 0 else 0.0
    k_out_cd8 = k_ret * cd8_m0 / cd8_b0 * push if cd8_b0 > 0 else 0.0
    dy[s], dy[s + 1] = _pool(y[s], y[s + 1], nk_b0, nk_m0, g_nk * pstat3, k_h, k_out_nk,
                             k_ret)
    dy[s + 2], dy[s + 3] = _pool(y[s + 2], y[s + 3], cd8_b0, cd8_m0, g_cd8 * pstat3, k_h,
                                 k_out_cd8, k_ret)
    fraction = y[s + 4]
    dy[s + 4] = k_act * pstat3 * (1.0 - fraction) - k_deact * (fraction - f0)
