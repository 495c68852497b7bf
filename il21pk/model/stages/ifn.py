"""IFN-gamma made by activated NK and CD8 cells; plasma IFN-gamma [pg/mL].

Production is proportional to the activated effector mass relative to
baseline: the NK and CD8 totals relative to baseline, weighted by the NK
share, times the activated fraction relative to baseline (cells stage).
Elimination is first order. In vivo IFN-gamma starts at its baseline
(steady state); in culture at 0 (fresh medium), and the baseline is the
level the unstimulated culture would approach.
"""

from __future__ import annotations

from ...parameters import ParameterSpec
from ..definition import Stage, State, symbols

#: Plasma IFN-gamma and its AUC, shared with model v2's IFN-gamma stage.
IFNG_STATES = (
    State("ifng_plasma", "pg/mL", "plasma (or supernatant) IFN-gamma",
          initial=symbols("ifng_0")[0], nonnegative=True),
    State("ifng_auc", "pg*h/mL", "area under the IFN-gamma curve from t=0", nonnegative=True),
)

#: Baseline, elimination and NK share of IFN-gamma, shared with model v2.
IFNG_PARAMETERS = (
    ParameterSpec("ifng_0", "pg/mL", 0.0, 1e6, "baseline plasma IFN-gamma"),
    ParameterSpec("k_ifng", "1/h", 1e-9, 1e3, "first-order elimination of IFN-gamma"),
    ParameterSpec("w_nk", "1", 0.0, 1.0, "share of IFN-gamma made by NK (rest: CD8) cells"),
)


def ifn() -> Stage:
    """Plasma IFN-gamma and its AUC."""
    ifng, ifng_0, k_el, w_nk, nk_fold, cd8_fold, activated = symbols(
        "ifng_plasma ifng_0 k_ifng w_nk nk_fold cd8_fold activated_fold")
    activity = (w_nk * nk_fold + (1 - w_nk) * cd8_fold) * activated
    return Stage(
        name="ifn",
        description=__doc__,
        states=IFNG_STATES,
        parameters=IFNG_PARAMETERS,
        rates={"ifng_plasma": k_el * (ifng_0 * activity - ifng), "ifng_auc": ifng},
        inputs={"nk_fold": None, "cd8_fold": None, "activated_fold": None},
        time_unit="h",
    )
