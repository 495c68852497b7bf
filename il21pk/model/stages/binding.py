"""IL-21 binding to IL-21R and recruitment of gamma-c (target-mediated disposition).

Receptor species are concentrations referred to the central volume [nM]:
free IL-21R, IL-21/IL-21R, the signalling complex IL-21/IL-21R/gamma-c and
free gamma-c; plus the IL-21 degraded after internalisation [nmol]. Free
plasma IL-21 binds IL-21R (K_D = koff/kon); the complex recruits gamma-c at
the 2-D rate per receptor per cell; both complexes are internalised and
their IL-21 degraded; free receptor and gamma-c turn over towards baselines
proportional to the number of receptor-bearing cells relative to baseline
(`cell_fold`, from the cells stage; 1 when there is none), so
target-mediated clearance grows as NK and CD8 cells expand (the cytokine
sink). The uptake of free IL-21 returned to the PK stage is the net binding
flux times the central volume [nmol/h]. Baselines are the receptor counts
per cell times the cells, per central volume (ligand-free steady state).
"""

from __future__ import annotations

import sympy as sp

from ...parameters import ParameterSpec
from ..definition import Quantity, Stage, State, symbols

#: Molecules per nmol (Avogadro's number x 1e-9).
AVOGADRO_PER_NMOL = 6.02214076e14


def binding() -> Stage:
    """IL-21/IL-21R/gamma-c binding, internalisation and receptor turnover."""
    r, c1, c2, g = symbols("il21r_free il21_il21r signalling_complex gc_free")
    ligand, fold, vc = symbols("il21_plasma cell_fold v_central")
    kon, kd, per_r, per_g, n_cells, k_fwd_2d, koff_gc, kdeg_r, kdeg_gc, kint1, kint2 = symbols(
        "kon kd il21r_per_cell gc_per_cell receptor_cells k_fwd_gc koff_gc kdeg_receptor "
        "kdeg_gc kint_complex kint_signalling")
    molecules, r0, g0, k_fwd, per_cell = symbols(
        "molecules_per_nm il21r_0 gc_0 k_fwd_binding molecules_per_cell")
    b1 = kon * ligand * r - kd * kon * c1
    b2 = k_fwd * g * c1 / fold - koff_gc * c2
    total = r + c1 + c2
    return Stage(
        name="binding",
        description=__doc__,
        states=(
            State("il21r_free", "nM", "free IL-21R (referred to the central volume)", initial=r0,
                  nonnegative=True),
            State("il21_il21r", "nM", "IL-21/IL-21R complex", nonnegative=True),
            State("signalling_complex", "nM", "IL-21/IL-21R/gamma-c signalling complex",
                  nonnegative=True),
            State("gc_free", "nM", "free gamma-c", initial=g0, nonnegative=True),
            State("il21_degraded", "nmol",
                  "IL-21 degraded after receptor-mediated internalisation", nonnegative=True),
        ),
        parameters=(
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
        ),
        quantities=(
            Quantity("molecules_per_nm", AVOGADRO_PER_NMOL * vc, "1/nM",
                     "molecules in the central volume per nM"),
            Quantity("molecules_per_cell",
                     sp.Piecewise((molecules / n_cells, n_cells > 0), (0.0, True)), "1/(nM*cell)",
                     "molecules per nM per receptor-bearing cell (0 without cells)"),
            Quantity("il21r_0", per_r * n_cells / molecules, "nM", "baseline free IL-21R"),
            Quantity("gc_0", per_g * n_cells / molecules, "nM", "baseline free gamma-c"),
            Quantity("k_fwd_binding", k_fwd_2d * per_cell, "1/(nM*h)",
                     "gamma-c recruitment rate constant in the central volume"),
            Quantity("il21_uptake", b1 * vc, "nmol/h", "net IL-21 bound by IL-21R"),
            # without receptors (a zero baseline pool) occupancy is 0, whatever round-off
            # another solver leaves in the empty receptor states
            Quantity("receptor_occupancy",
                     sp.Piecewise((0.0, sp.Eq(r0, 0)), ((c1 + c2) / total, True)), "1",
                     "fraction of IL-21R bound by IL-21", reported=True),
            Quantity("complexes_per_cell", c2 * per_cell / fold, "1/cell",
                     "signalling complexes per receptor-bearing cell", reported=True),
        ),
        rates={
            "il21r_free": kdeg_r * (r0 * fold - r) - b1,
            "il21_il21r": b1 - b2 - kint1 * c1,
            "signalling_complex": b2 - kint2 * c2,
            "gc_free": kdeg_gc * (g0 * fold - g) - b2,
            "il21_degraded": (kint1 * c1 + kint2 * c2) * vc,
        },
        inputs={"il21_plasma": None, "v_central": None, "cell_fold": 1.0},
        time_unit="h",
    )
