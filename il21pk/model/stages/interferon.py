"""IFN-gamma made by NK and CD8 cells in proportion to their number and their
STAT3/STAT5 stimulus, without a ceiling (model v2).

$$
\\frac{d\\,IFN}{dt} = k_{IFN} \\left( IFN_0 \\, N \\, S - IFN \\right), \\quad
N = w_{NK} \\frac{NK}{NK_0} + (1 - w_{NK}) \\frac{CD8}{CD8_0}, \\quad
S = 1 + a_{21} p_3 + a_{15} p_5 + a_{21 \\times 15} p_3 p_5 + a_{ADCC} E
$$

IL-21 alone is a modest stimulus of IFN-gamma; IL-15 activates it and IL-21
enhances IL-15-induced IFN-gamma (Strengell 2003), hence the product term;
$E$ is NK engagement of antibody-coated targets (the antibody stage;
0 without it), which IL-21 raises further (Roda 2006). Production grows
with the number of effector cells, so expansion raises IFN-gamma without
bound. In culture IFN-gamma starts at 0 (fresh medium), and $N$ is relative
to the cells seeded: the well makes IFN-gamma at the plasma baseline's rate
whatever its cell density, so its concentration follows the cells'
expansion and stimulus but does not scale with the number of cells per mL
(calibrate `ifng_0` to your assay for absolute levels).
"""

from __future__ import annotations

from ...parameters import ParameterSpec
from ..definition import Quantity, Stage, symbols
from .ifn import IFNG_PARAMETERS, IFNG_STATES


def interferon() -> Stage:
    """Plasma IFN-gamma and its AUC."""
    ifng, ifng_0, k_el, w_nk, nk_fold, cd8_fold, p3, p5, engaged = symbols(
        "ifng_plasma ifng_0 k_ifng w_nk nk_fold cd8_fold pstat3 pstat5 adcc_engagement")
    a21, a15, a2115, a_adcc, stimulus = symbols(
        "ifng_gain_il21 ifng_gain_il15 ifng_synergy ifng_gain_adcc ifng_stimulus")
    cells = w_nk * nk_fold + (1 - w_nk) * cd8_fold
    return Stage(
        name="ifn",
        description=__doc__,
        states=IFNG_STATES,
        parameters=(
            *IFNG_PARAMETERS,
            ParameterSpec("ifng_gain_il21", "1", 0.0, 1e4,
                          "IFN-gamma production per cell at full pSTAT3, over baseline"),
            ParameterSpec("ifng_gain_il15", "1", 0.0, 1e4,
                          "IFN-gamma production per cell at full pSTAT5, over baseline"),
            ParameterSpec("ifng_synergy", "1", 0.0, 1e5,
                          "extra IFN-gamma production per cell at full pSTAT3 and pSTAT5"),
            ParameterSpec("ifng_gain_adcc", "1", 0.0, 1e5,
                          "IFN-gamma production per cell at full engagement of coated targets"),
        ),
        quantities=(
            Quantity("ifng_stimulus", 1 + a21 * p3 + a15 * p5 + a2115 * p3 * p5
                     + a_adcc * engaged, "1", "IFN-gamma production per effector cell, "
                     "relative to baseline", reported=False),
        ),
        rates={"ifng_plasma": k_el * (ifng_0 * cells * stimulus - ifng), "ifng_auc": ifng},
        inputs={"nk_fold": None, "cd8_fold": None, "pstat3": 0.0, "pstat5": 0.0,
                "adcc_engagement": 0.0},
        time_unit="h",
    )
