r"""IL-21 binding to IL-21R and recruitment of gamma-c; outputs occupancy and
signalling complexes per cell.

Receptor species are concentrations referred to the central volume [nM]:
free IL-21R :math:`R`, IL-21/IL-21R :math:`C_1`, the signalling complex
IL-21/IL-21R/gamma-c :math:`C_2`, free gamma-c :math:`G`; plus the IL-21
degraded after internalisation, :math:`D` [nmol]. :math:`L` is free plasma
IL-21 [nM] and :math:`f` the receptor-bearing cell number relative to
baseline (from the cells stage; 1 when cells are absent).

.. math::

    b_1 &= k_{on} L R - k_{off} C_1, \qquad
    b_2 = k_{fwd} G C_1 / f - k_{off,\gamma} C_2 \\
    \frac{dR}{dt} &= k_{deg,R} R_0 f - k_{deg,R} R - b_1 \\
    \frac{dC_1}{dt} &= b_1 - b_2 - k_{int,1} C_1 \\
    \frac{dC_2}{dt} &= b_2 - k_{int,2} C_2 \\
    \frac{dG}{dt} &= k_{deg,\gamma} G_0 f - k_{deg,\gamma} G - b_2 \\
    \frac{dD}{dt} &= (k_{int,1} C_1 + k_{int,2} C_2) V_c

with :math:`k_{off} = K_D k_{on}`. Receptor synthesis is proportional to the
number of receptor-bearing cells, so target-mediated clearance grows as NK
and CD8 cells expand (the cytokine sink). The uptake of free IL-21 returned
to the PK stage is :math:`U = b_1 V_c` [nmol/h]. Baselines are
:math:`R_0 = n_R N_{cells} / (N_A V_c)` and likewise :math:`G_0`; the
gamma-c recruitment rate is the 2-D rate per receptor per cell,
:math:`k_{fwd} = k_{fwd,2D} N_A V_c / N_{cells}` [1/(nM h)], which the
division by :math:`f` keeps per cell as cells expand. Outputs: receptor
occupancy :math:`(C_1 + C_2)/(R + C_1 + C_2)` and signalling complexes per
cell :math:`C_2 N_A V_c / (N_{cells} f)`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..parameters import ParameterSpec
from . import OutputSpec, StateSpec

AVOGADRO_PER_NMOL = 6.02214076e14  # molecules per nmol

STATES = (
    StateSpec("il21r_free", "nM", "free IL-21R (referred to the central volume)"),
    StateSpec("il21_il21r", "nM", "IL-21/IL-21R complex"),
    StateSpec("signalling_complex", "nM", "IL-21/IL-21R/gamma-c signalling complex"),
    StateSpec("gc_free", "nM", "free gamma-c"),
    StateSpec("il21_degraded", "nmol", "IL-21 degraded after receptor-mediated internalisation"),
)

OUTPUTS = (
    OutputSpec("receptor_occupancy", "1", "fraction of IL-21R bound by IL-21"),
    OutputSpec("complexes_per_cell", "1/cell", "signalling complexes per receptor-bearing cell"),
)

PARAMETERS = (
    ParameterSpec("kon", "1/(nM*h)", 0.0, 1e6, "IL-21/IL-21R association rate constant"),
    ParameterSpec("kd", "nM", 1e-9, 1e6, "IL-21/IL-21R equilibrium dissociation constant"),
    ParameterSpec("il21r_per_cell", "1/cell", 0.0, 1e7, "IL-21R per receptor-bearing cell"),
    ParameterSpec("gc_per_cell", "1/cell", 0.0, 1e7, "gamma-c per receptor-bearing cell"),
    ParameterSpec("receptor_cells", "cells", 0.0, 1e15,
                  "receptor-bearing cells reached by plasma IL-21 at baseline"),
    ParameterSpec("k_fwd_gc", "cell/h", 0.0, 1e6,
                  "2-D gamma-c recruitment rate per (receptor/cell)"),
    ParameterSpec("koff_gc", "1/h", 0.0, 1e6, "dissociation of gamma-c from the complex"),
    ParameterSpec("kdeg_receptor", "1/h", 0.0, 1e3, "net turnover of free IL-21R"),
    ParameterSpec("kdeg_gc", "1/h", 0.0, 1e3, "net turnover of free gamma-c"),
    ParameterSpec("kint_complex", "1/h", 0.0, 1e4, "internalisation of IL-21/IL-21R"),
    ParameterSpec("kint_signalling", "1/h", 0.0, 1e4,
                  "internalisation of the signalling complex"),
)

KERNEL_PARAMETERS = (
    "kon", "koff", "k_fwd", "koff_gc", "r0", "kdeg_r", "g0", "kdeg_gc",
    "kint_1", "kint_2", "per_cell",
)


def kernel_parameters(values: dict[str, np.ndarray], v_central: np.ndarray,
                      receptor_cells: np.ndarray) -> np.ndarray:
    """Internal-unit values in ``KERNEL_PARAMETERS`` order, shape (N, 11).

    `receptor_cells` [cells] and `v_central` [L] are passed explicitly because
    the in vitro model takes them from the culture rather than from the set.
    """
    molecules_per_nm = AVOGADRO_PER_NMOL * v_central  # molecules in V_c per nM
    cells = np.maximum(receptor_cells, 1e-300)
    r0 = values["il21r_per_cell"] * receptor_cells / molecules_per_nm
    g0 = values["gc_per_cell"] * receptor_cells / molecules_per_nm
    return np.column_stack([
        values["kon"], values["kd"] * values["kon"],
        values["k_fwd_gc"] * molecules_per_nm / cells, values["koff_gc"],
        r0, values["kdeg_receptor"], g0, values["kdeg_gc"],
        values["kint_complex"], values["kint_signalling"], molecules_per_nm / cells,
    ])


def initial_state(p: np.ndarray) -> np.ndarray:
    """Ligand-free steady state: R = R0, G = G0, no complexes; shape (N, 5)."""
    y = np.zeros((p.shape[0], len(STATES)))
    y[:, 0] = p[:, 4]
    y[:, 3] = p[:, 6]
    return y


def occupancy(r, c1, c2):
    """Fraction of IL-21R bound, (C1 + C2) / (R + C1 + C2); 0 without receptor."""
    total = r + c1 + c2
    return (c1 + c2) / (total + (total == 0.0))


def complexes_per_cell(c2, per_cell, cell_fold):
    """Signalling complexes per cell from C2 [nM]."""
    return c2 * per_cell / cell_fold


occupancy_jit = njit(cache=True, error_model="numpy")(occupancy)
complexes_per_cell_jit = njit(cache=True, error_model="numpy")(complexes_per_cell)


@njit(cache=True, error_model="numpy")
def rhs(y, dy, s, k, p, ligand, cell_fold, v_central):
    """Write the binding derivatives (states ``y[s:s+5]``, parameters from
    ``k[p]``) into `dy`; return IL-21 uptake [nmol/h]."""
    kon, koff, k_fwd, koff_gc = k[p], k[p + 1], k[p + 2], k[p + 3]
    r0, kdeg_r, g0, kdeg_gc = k[p + 4], k[p + 5], k[p + 6], k[p + 7]
    kint_1, kint_2 = k[p + 8], k[p + 9]
    r, c1, c2, g = y[s], y[s + 1], y[s + 2], y[s + 3]
    b1 = kon * ligand * r - koff * c1
    b2 = k_fwd * g * c1 / cell_fold - koff_gc * c2
    dy[s] = kdeg_r * (r0 * cell_fold - r) - b1
    dy[s + 1] = b1 - b2 - kint_1 * c1
    dy[s + 2] = b2 - kint_2 * c2
    dy[s + 3] = kdeg_gc * (g0 * cell_fold - g) - b2
    dy[s + 4] = (kint_1 * c1 + kint_2 * c2) * v_central
    return b1 * v_central
