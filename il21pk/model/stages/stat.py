"""STAT3 and STAT5 phosphorylation from IL-21 and IL-15 signalling complexes (model v2).

IL-21 signals through JAK1/JAK3 mainly to STAT3 (in NK cells to STAT1, 3 and
4 but not STAT5; Reactome, Strengell 2003); IL-15 through IL-2R-beta/gamma-c
to STAT5. Each phospho-STAT is a fraction of its maximal response that
follows a saturating function of its cytokine's signalling complexes per
cell (receptors stage) with first-order kinetics:

$$
\\frac{dp}{dt} = k_{pSTAT} \\left( \\frac{s}{EC_{50} + s} - p \\right)
$$

with $s$ the complexes per cell (surface plus weighted endosomal).
The half-maximal numbers of complexes are a small fraction of the receptors
a cell carries (spare receptors), so pSTAT3 saturates while IL-21R is
downregulated. ``pstat5`` is the IL-15 signal of NK and CD8 cells alike (in
PBMC, IL-15 pSTAT5 half-maximal concentrations of NK and CD8 cells differ
by less than 2-fold, Meyer lab data); cell-type differences in response
are in the cells stage's proliferation rates.
"""

from __future__ import annotations

import sympy as sp

from ...parameters import ParameterSpec
from ..definition import Quantity, Stage, State, symbols


def _drive(signal: sp.Expr, ec50: sp.Symbol) -> sp.Expr:
    s = sp.Max(signal, 0)
    return s / (ec50 + s)


def stat() -> Stage:
    """pSTAT3 (IL-21) and pSTAT5 (IL-15), first order towards their drive."""
    p3, p5, c21, c15 = symbols("pstat3 pstat5 complexes_per_cell il15_complexes_per_cell")
    ec3, ec5, k = symbols("ec50_complexes_pstat3 ec50_complexes_pstat5 k_pstat")
    return Stage(
        name="signalling",
        description=__doc__,
        states=(
            State("pstat3", "1", "phospho-STAT3, fraction of the maximal response",
                  nonnegative=True),
            State("pstat5", "1", "phospho-STAT5, fraction of the maximal response",
                  nonnegative=True),
        ),
        parameters=(
            ParameterSpec("ec50_complexes_pstat3", "1/cell", 1e-9, 1e7,
                          "IL-21 signalling complexes per cell giving half-maximal pSTAT3"),
            ParameterSpec("ec50_complexes_pstat5", "1/cell", 1e-9, 1e7,
                          "IL-15 signalling complexes per cell giving half-maximal pSTAT5"),
            ParameterSpec("k_pstat", "1/h", 1e-6, 1e4,
                          "rate of STAT phosphorylation/dephosphorylation equilibration"),
        ),
        quantities=(
            Quantity("pstat3_drive", _drive(c21, ec3), "1",
            "steady pSTAT3 at the current complexes"),
            Quantity("pstat5_drive", _drive(c15, ec5), "1",
            "steady pSTAT5 at the current complexes"),
        ),
        rates={"pstat3": k * (sp.Symbol("pstat3_drive") - p3),
               "pstat5": k * (sp.Symbol("pstat5_drive") - p5)},
        inputs={"complexes_per_cell": None, "il15_complexes_per_cell": 0.0},
        time_unit="h",
    )
