"""NK and CD8+ T cells: redistribution, pSTAT3-driven expansion with IL-15/IL-7
synergy, homeostasis, and the activated (granzyme B/perforin) fraction.

For NK and CD8 cells, blood and marginated counts are in cells/uL of blood
(the marginated pool per uL of blood, so blood + marginated is the
exchangeable total). Growth is pSTAT3 times a maximal rate raised by the
background IL-15 and IL-7 levels (saturating synergy); a homeostatic term
returns the total to its baseline and bounds expansion; receptor occupancy
(binding stage) raises margination, so circulating counts dip while IL-21 is
present and recover in rest periods (Frederiksen 2008). The activated
fraction rises with pSTAT3 and relaxes to its baseline. Outputs: the
expanded pools (``nk_total``, ``cd8_total``), the ADCC potency index
(circulating NK times activated fraction, both relative to baseline) and the
receptor-bearing cell number relative to baseline (``cell_fold``) read by
the binding stage.
"""

from __future__ import annotations

import sympy as sp

from ...parameters import ParameterSpec
from ..definition import Quantity, Stage, State, symbols


def _pool(blood, marginated, b0, m0, growth, k_h, k_out, k_ret):
    """Rates of a blood/marginated pool: growth and homeostasis on the total,
    exchange between blood and the marginated pool."""
    t0 = b0 + m0
    total = sp.Max(blood + marginated, 1e-12 * t0)
    rate = growth + k_h * (t0 / total - total / t0)
    exchange = k_out * blood - k_ret * marginated
    return (sp.Piecewise((0.0, t0 <= 0), (rate * blood - exchange, True)),
            sp.Piecewise((0.0, t0 <= 0), (rate * marginated + exchange, True)))


def cells() -> Stage:
    """NK and CD8 pools, their activation, and the ADCC index."""
    nk_b, nk_m, cd8_b, cd8_m, f = symbols(
        "nk_blood nk_marginated cd8_blood cd8_marginated effector_fraction")
    occupancy, pstat3 = symbols("receptor_occupancy pstat3")
    (nk_b0, cd8_b0, ratio, k_ret, emax_m, kp_nk, kp_cd8, k_h, il15, il7, ec50_15, ec50_7,
     s15_nk, s15_cd8, s7_cd8, f0, k_act, k_deact) = symbols(
        "nk_blood_0 cd8_blood_0 marginated_ratio k_return emax_margination kp_nk kp_cd8 "
        "k_homeostasis il15_background il7_background ec50_il15 ec50_il7 synergy_il15_nk "
        "synergy_il15_cd8 synergy_il7_cd8 effector_fraction_0 k_activation k_deactivation")
    nk_m0, cd8_m0, g_nk, g_cd8, out_nk, out_cd8, nk_total, cd8_total = symbols(
        "nk_marginated_0 cd8_marginated_0 growth_nk growth_cd8 k_out_nk k_out_cd8 nk_total "
        "cd8_total")
    s15 = il15 / (il15 + ec50_15)
    s7 = il7 / (il7 + ec50_7)
    push = 1 + emax_m * occupancy
    nk_rates = _pool(nk_b, nk_m, nk_b0, nk_m0, g_nk * pstat3, k_h, out_nk * push, k_ret)
    cd8_rates = _pool(cd8_b, cd8_m, cd8_b0, cd8_m0, g_cd8 * pstat3, k_h, out_cd8 * push, k_ret)
    all0 = nk_b0 + nk_m0 + cd8_b0 + cd8_m0
    nk0, cd80 = nk_b0 + nk_m0, cd8_b0 + cd8_m0
    return Stage(
        name="cells",
        description=__doc__,
        states=(
            State("nk_blood", "cells/uL", "circulating NK cells", initial=nk_b0, nonnegative=True),
            State("nk_marginated", "cells/uL", "marginated NK cells, per uL of blood",
                  initial=nk_m0, nonnegative=True),
            State("cd8_blood", "cells/uL", "circulating CD8+ T cells", initial=cd8_b0,
                  nonnegative=True),
            State("cd8_marginated", "cells/uL", "marginated CD8+ T cells, per uL of blood",
                  initial=cd8_m0, nonnegative=True),
            State("effector_fraction", "1", "activated (granzyme B+/perforin+) fraction",
                  initial=f0, nonnegative=True),
        ),
        parameters=(
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
        ),
        quantities=(
            Quantity("nk_marginated_0", nk_b0 * ratio, "cells/uL", "baseline marginated NK"),
            Quantity("cd8_marginated_0", cd8_b0 * ratio, "cells/uL", "baseline marginated CD8"),
            Quantity("growth_nk", kp_nk * (1 + s15_nk * s15), "1/h",
                     "maximal NK growth rate with IL-15 synergy"),
            Quantity("growth_cd8", kp_cd8 * (1 + s15_cd8 * s15 + s7_cd8 * s7), "1/h",
                     "maximal CD8 growth rate with IL-15 and IL-7 synergy"),
            Quantity("k_out_nk", sp.Piecewise((k_ret * nk_m0 / nk_b0, nk_b0 > 0), (0.0, True)),
                     "1/h", "baseline margination rate of NK cells"),
            Quantity("k_out_cd8", sp.Piecewise((k_ret * cd8_m0 / cd8_b0, cd8_b0 > 0), (0.0, True)),
                     "1/h", "baseline margination rate of CD8 cells"),
            Quantity("nk_total", nk_b + nk_m, "cells/uL",
                     "circulating + marginated NK (expansion)", reported=True),
            Quantity("cd8_total", cd8_b + cd8_m, "cells/uL",
                     "circulating + marginated CD8+ T (expansion)", reported=True),
            Quantity("adcc_index",
                     sp.Piecewise(((nk_b / nk_b0) * (f / f0), nk_b0 > 0), (0.0, True)),
                     "1", "ADCC potency index, 1 at baseline", reported=True),
            Quantity("cell_fold", sp.Piecewise(((nk_total + cd8_total) / all0, all0 > 0),
                                               (1.0, True)),
                     "1", "receptor-bearing cells relative to baseline"),
            Quantity("nk_fold", sp.Piecewise((nk_total / nk0, nk0 > 0), (0.0, True)), "1",
                     "NK cells relative to baseline"),
            Quantity("cd8_fold", sp.Piecewise((cd8_total / cd80, cd80 > 0), (0.0, True)), "1",
                     "CD8+ T cells relative to baseline"),
            Quantity("activated_fold", f / f0, "1", "activated fraction relative to baseline"),
        ),
        rates={
            "nk_blood": nk_rates[0], "nk_marginated": nk_rates[1],
            "cd8_blood": cd8_rates[0], "cd8_marginated": cd8_rates[1],
            "effector_fraction": k_act * pstat3 * (1 - f) - k_deact * (f - f0),
        },
        inputs={"receptor_occupancy": 0.0, "pstat3": 0.0},
        report=("nk_blood", "nk_marginated", "cd8_blood", "cd8_marginated", "effector_fraction",
                "nk_total", "cd8_total", "adcc_index"),
        time_unit="h",
    )
