"""Soluble CD25 (sIL-2R-alpha), the most consistent biomarker of every rIL-21 trial (model v2).

STAT3 and STAT5 signals induce CD25 on NK and CD8 cells (higher frequencies
of CD25+ NK and CD8 T cells, Davis 2009); activated cells shed it. The CD25
induction $a$ follows the STAT signals slowly (days), so a longer
exposure (a higher dose of a short-lived cytokine) gives a larger response,
and plasma sCD25 follows shedding by the effector cells with first-order
elimination:

$$
\\frac{da}{dt} = k_a (p_3 + w_5 p_5 - a), \\qquad
\\frac{d\\,sCD25}{dt} = k_s \\left( sCD25_0 \\, F (1 + g\\, a) - sCD25 \\right)
$$

with $F$ the NK + CD8 cells relative to baseline. sCD25 rose with dose
at every level studied, IV and SC (Davis 2007, Thompson 2008, Schmidt 2010,
Steele 2012). In culture sCD25 starts at 0, and $F$ is relative to the
cells seeded: the well makes sCD25 at the plasma baseline's rate whatever its
cell density, so its concentration does not scale with the number of cells
per mL (calibrate `scd25_0` to your assay for absolute levels).
"""

from __future__ import annotations

from ...parameters import ParameterSpec
from ..definition import Stage, State, symbols


def scd25() -> Stage:
    """CD25 induction and plasma soluble CD25."""
    a, s, p3, p5, fold = symbols("cd25_induction scd25_plasma pstat3 pstat5 cell_fold")
    s0, k_s, k_a, w5, gain = symbols("scd25_0 k_scd25 k_cd25 cd25_weight_il15 cd25_gain")
    return Stage(
        name="scd25",
        description=__doc__,
        states=(
            State("cd25_induction", "1", "STAT-driven CD25 induction on NK and CD8 cells",
                  nonnegative=True),
            State("scd25_plasma", "pg/mL", "plasma soluble CD25 (sIL-2R-alpha)", initial=s0,
                  nonnegative=True),
        ),
        parameters=(
            ParameterSpec("scd25_0", "pg/mL", 0.0, 1e6, "baseline plasma soluble CD25"),
            ParameterSpec("k_scd25", "1/h", 1e-9, 1e3, "first-order elimination of sCD25"),
            ParameterSpec("k_cd25", "1/h", 1e-9, 1e3, "rate of CD25 induction and its decay"),
            ParameterSpec("cd25_weight_il15", "1", 0.0, 1e3,
                          "CD25 induction by pSTAT5 relative to pSTAT3"),
            ParameterSpec("cd25_gain", "1", 0.0, 1e4,
                          "sCD25 shedding at full CD25 induction, over baseline"),
        ),
        rates={"cd25_induction": k_a * (p3 + w5 * p5 - a),
               "scd25_plasma": k_s * (s0 * fold * (1 + gain * a) - s)},
        inputs={"pstat3": None, "pstat5": 0.0, "cell_fold": 1.0},
        report=("scd25_plasma",),
        time_unit="h",
    )
