r"""Two-compartment PK with first-order absorption; outputs plasma IL-21 [nM].

States are amounts [nmol]: SC depot :math:`A_d`, central :math:`A_c`,
peripheral :math:`A_p`, plus the running plasma AUC [nM h].

.. math::

    C &= A_c / V_c \\
    \frac{dA_d}{dt} &= -k_a A_d \\
    \frac{dA_c}{dt} &= k_a A_d + R_{inf}(t) - CL\,C - Q\,C + Q\,A_p/V_p - U(t) \\
    \frac{dA_p}{dt} &= Q\,C - Q\,A_p/V_p \\
    \frac{d\,AUC}{dt} &= C

:math:`R_{inf}` is the IV infusion rate [nmol/h] and :math:`U` the uptake of
free IL-21 by receptors [nmol/h] from the binding stage (zero in the PK-only
model). Boluses are jumps: IV into :math:`A_c`, SC ``f_sc`` x dose into
:math:`A_d` at ``time + tlag_sc``. A one-compartment model has
:math:`Q = 0`. Since the linear elimination is :math:`CL\,C`, the amount
eliminated by that route up to time t is exactly :math:`CL \cdot AUC(t)`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..parameters import ParameterSpec
from . import StateSpec

INF = float("inf")

STATES = (
    StateSpec("il21_depot", "nmol", "IL-21 in the SC absorption depot"),
    StateSpec("il21_central", "nmol", "IL-21 amount in the central compartment", reported=False),
    StateSpec("il21_peripheral", "nmol", "IL-21 in the peripheral compartment"),
    StateSpec("il21_auc", "nM*h", "area under the plasma IL-21 curve from t=0"),
)

PARAMETERS = (
    ParameterSpec("mw", "kDa", 1e-3, 1e4, "molecular weight of the drug"),
    ParameterSpec("body_weight", "kg", 0.01, 500.0, "body weight used for per-kg doses"),
    ParameterSpec("v_central", "L", 1e-9, 1e4, "central volume of distribution"),
    ParameterSpec("cl", "L/h", 0.0, 1e4, "linear (renal) clearance from the central compartment"),
    ParameterSpec("q", "L/h", 0.0, 1e4, "inter-compartmental clearance"),
    ParameterSpec("v_peripheral", "L", 1e-9, 1e4, "peripheral volume of distribution"),
    ParameterSpec("ka", "1/h", 0.0, 1e3, "first-order SC absorption rate constant"),
    ParameterSpec("f_sc", "1", 0.0, 1.0, "SC bioavailability"),
    ParameterSpec("tlag_sc", "h", 0.0, 48.0, "SC absorption lag time"),
)

#: Parameters the PK-only model needs when it has one compartment.
ONE_COMPARTMENT_UNUSED = ("q", "v_peripheral")

KERNEL_PARAMETERS = ("ka", "cl", "v_central", "q", "v_peripheral")

DEPOT, CENTRAL = 0, 1


def kernel_parameters(values: dict[str, np.ndarray], *, compartments: int = 2) -> np.ndarray:
    """Internal-unit values in ``KERNEL_PARAMETERS`` order, shape (N, 5)."""
    q = values["q"] if compartments == 2 else np.zeros_like(values["cl"])
    vp = values["v_peripheral"] if compartments == 2 else np.ones_like(values["cl"])
    return np.column_stack([values["ka"], values["cl"], values["v_central"], q, vp])


def initial_state(n: int) -> np.ndarray:
    """No drug before the first dose: shape (n, 4) of zeros."""
    return np.zeros((n, len(STATES)))


def concentration(central, v_central):
    """Plasma concentration [nM] from the central amount [nmol] and volume [L]."""
    return central / v_central


concentration_jit = njit(cache=True, error_model="numpy")(concentration)


@njit(cache=True, error_model="numpy")
def rhs(y, dy, s, k, p, infusion_rate, uptake):
    """Write dA/dt of the PK states (``y[s:s+4]``, parameters ``k[p:p+5]``)
    into `dy`; return plasma IL-21 [nM]."""
    ka, cl, vc, q, vp = k[p], k[p + 1], k[p + 2], k[p + 3], k[p + 4]
    c = concentration_jit(y[s + 1], vc)
    absorbed = ka * y[s]
    distributed = q * c - q * y[s + 2] / vp
    dy[s] = -absorbed
    dy[s + 1] = absorbed + infusion_rate - cl * c - distributed - uptake
    dy[s + 2] = distributed
    dy[s + 3] = c
    return c
