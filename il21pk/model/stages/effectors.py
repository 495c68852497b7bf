"""NK and CD8+ T cells driven by pSTAT3 (IL-21) and pSTAT5 (IL-15): redistribution,
expansion, homeostasis and the activated fraction (model v2).

Blood and marginated counts are cells/uL of blood, as in model v1. Each
population grows at a rate set by the two STAT signals and contracts back
to its baseline total $T_0$ with a log-linear homeostatic term, so
expansion has no built-in ceiling (rhIL-15 expands NK cells 10- to 34-fold):

$$
\\frac{d N}{dt} = \\left(g - k_c \\ln \\frac{N_{tot}}{T_0}\\right) N \\mp
\\text{exchange}
$$

- The IL-15 proliferative signal is a steep function of pSTAT5,
  $\\sigma_5 = p_5^n / (p_5^n + p_{50}^n)$: NK cells divide once IL-15
  signalling complexes have crossed a threshold (Zhao and French 2013), so
  a daily bolus acts for the hours it keeps pSTAT5 above it.
- NK: $g = k_{15} \\sigma_5 (1 - r_{21} p_3) + k_{21} p_3$. IL-15 drives
  expansion on its own (Conlon 2015, Dubois 2021); IL-21 alone expands NK
  cells little (no rIL-21 trial reported a marked rise of blood NK counts)
  and restrains IL-15-driven expansion of resting NK cells while it is
  present (Kasaian 2002), while raising their cytotoxicity (the activated
  fraction below).
- CD8: $g = k_{15} \\sigma_5 + k_{21} p_3 (1 + s_7 \\, IL7/(IL7 + EC_{50})) +
  k_{syn} p_3 \\sigma_5$ (the same thresholded IL-15 signal as the NK
  cells'): the product term is the over-additive IL-21 x IL-15 synergy on
  CD8 expansion (Zeng 2005); IL-7 (a background level) cooperates more
  weakly.

Redistribution: cells leave the blood for the marginated pool at the
baseline rate times $1 + E_{21} m + E_{15} p_5$ and return at
``k_return``. $m$ follows the systemic IL-21 exposure,
$C/(C + EC_{50,m})$, with a lag of about a day: redistribution is
driven by the dose-dependent wave of serum chemokines and adhesion proteins
(Dodds 2009) rather than by the lymphocytes' own receptors, which any
clinical dose saturates. So circulating NK and CD8 cells fall with dose,
stay low through a 5-day block of daily IL-21 and return in the rest period
(Frederiksen 2008), and anti-drug antibodies that cut the exposure shrink the
fall (Waggie 2012). pSTAT5 acts within minutes (rhIL-15 efflux, Conlon
2015).
The activated (granzyme B+/perforin+) fraction rises with pSTAT3 and, less,
pSTAT5, and relaxes to its baseline.
"""

from __future__ import annotations

import sympy as sp

from ...parameters import ParameterSpec
from ..definition import Quantity, Stage, State, symbols


def _contraction(blood, marginated, b0, m0, k_c):
    """The homeostatic term of a pool, k_c ln(total / baseline total) [1/h]: a
    death rate above the baseline, a birth rate (its negative) below it."""
    t0 = b0 + m0
    total = sp.Max(blood + marginated, 1e-12 * t0)
    return sp.Piecewise((0.0, t0 <= 0), (k_c * sp.log(total / t0), True))


def _pool(blood, marginated, b0, m0, growth, contraction, k_out, k_ret):
    """Rates of a blood/marginated pool: growth and homeostasis on the total,
    exchange between blood and the marginated pool."""
    t0 = b0 + m0
    rate = growth - contraction
    exchange = k_out * blood - k_ret * marginated
    return (sp.Piecewise((0.0, t0 <= 0), (rate * blood - exchange, True)),
            sp.Piecewise((0.0, t0 <= 0), (rate * marginated + exchange, True)))


def effectors() -> Stage:
    """NK and CD8 pools driven by pSTAT3 and pSTAT5, and the activated fraction."""
    nk_b, nk_m, cd8_b, cd8_m, f, m = symbols(
        "nk_blood nk_marginated cd8_blood cd8_marginated effector_fraction margination_signal")
    p3, p5, c21, ec50_m = symbols("pstat3 pstat5 il21_plasma ec50_margination_il21")
    (nk_b0, cd8_b0, ratio, k_ret, e21, e15, k_m, kp15_nk, kp21_nk, r21, kp15_cd8, kp21_cd8,
     k_syn, il7, ec50_7, s7, k_c, f0, k_on, k_off, w5, p50, hill) = symbols(
        "nk_blood_0 cd8_blood_0 marginated_ratio k_return emax_margination_il21 "
        "emax_margination_il15 k_margination kp_nk_il15 kp_nk_il21 restraint_il21_nk "
        "kp_cd8_il15 kp_cd8_il21 synergy_il21_il15_cd8 il7_background ec50_il7 synergy_il7_cd8 "
        "k_contraction effector_fraction_0 k_effector_on k_effector_off effector_weight_il15 "
        "p50_proliferation_il15 hill_proliferation_il15")
    nk_m0, cd8_m0, out_nk, out_cd8, nk_total, cd8_total = symbols(
        "nk_marginated_0 cd8_marginated_0 k_out_nk k_out_cd8 nk_total cd8_total")
    s5 = sp.Symbol("proliferation_signal_il15")
    g_nk = kp15_nk * s5 * (1 - r21 * p3) + kp21_nk * p3
    g_cd8 = kp15_cd8 * s5 + kp21_cd8 * p3 * (1 + s7 * il7 / (il7 + ec50_7)) + k_syn * p3 * s5
    push = 1 + e21 * m + e15 * p5
    h_nk, h_cd8 = symbols("contraction_nk contraction_cd8")
    nk_rates = _pool(nk_b, nk_m, nk_b0, nk_m0, g_nk, h_nk, out_nk * push, k_ret)
    cd8_rates = _pool(cd8_b, cd8_m, cd8_b0, cd8_m0, g_cd8, h_cd8, out_cd8 * push, k_ret)
    all0 = nk_b0 + nk_m0 + cd8_b0 + cd8_m0
    nk0, cd80 = nk_b0 + nk_m0, cd8_b0 + cd8_m0
    # per-cell birth and death rates of all NK + CD8 cells: proliferation and
    # homeostatic births below baseline; homeostatic deaths above it (a pool with no
    # baseline does not change: no births)
    births = (sp.Piecewise((0.0, nk0 <= 0), ((g_nk + sp.Max(0, -h_nk)) * nk_total, True))
              + sp.Piecewise((0.0, cd80 <= 0),
                             ((g_cd8 + sp.Max(0, -h_cd8)) * cd8_total, True)))
    deaths = sp.Max(0, h_nk) * nk_total + sp.Max(0, h_cd8) * cd8_total
    all_cells = sp.Max(nk_total + cd8_total, 1e-12 * all0)
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
            State("margination_signal", "1",
                  "exposure-driven margination signal (endothelial activation, chemokines)",
                  nonnegative=True),
        ),
        parameters=(
            ParameterSpec("nk_blood_0", "cells/uL", 0.0, 1e5, "baseline circulating NK cells"),
            ParameterSpec("cd8_blood_0", "cells/uL", 0.0, 1e5, "baseline circulating CD8+ T cells"),
            ParameterSpec("marginated_ratio", "1", 0.0, 1e3,
                          "baseline marginated : circulating cells"),
            ParameterSpec("k_return", "1/h", 0.0, 1e3, "return of marginated cells to blood"),
            ParameterSpec("emax_margination_il21", "1", 0.0, 1e4,
                          "increase in margination at a full IL-21 margination signal"),
            ParameterSpec("emax_margination_il15", "1", 0.0, 1e5,
                          "increase in margination at full pSTAT5"),
            ParameterSpec("k_margination", "1/h", 0.0, 1e3,
                          "rate at which the margination signal follows the IL-21 exposure"),
            ParameterSpec("ec50_margination_il21", "nM", 1e-9, 1e6,
                          "plasma IL-21 giving half the maximal margination signal"),
            ParameterSpec("kp_nk_il15", "1/h", 0.0, 10.0, "maximal pSTAT5-driven NK proliferation"),
            ParameterSpec("p50_proliferation_il15", "1", 1e-6, 1.0,
                          "pSTAT5 giving half the maximal IL-15 proliferative signal"),
            ParameterSpec("hill_proliferation_il15", "1", 0.1, 20.0,
                          "steepness of the IL-15 proliferative signal in pSTAT5"),
            ParameterSpec("kp_nk_il21", "1/h", 0.0, 10.0, "maximal pSTAT3-driven NK proliferation"),
            ParameterSpec("restraint_il21_nk", "1", 0.0, 1.0,
                          "fraction of IL-15-driven NK proliferation IL-21 blocks at full pSTAT3"),
            ParameterSpec("kp_cd8_il15", "1/h", 0.0, 10.0,
                          "maximal pSTAT5-driven CD8 proliferation"),
            ParameterSpec("kp_cd8_il21", "1/h", 0.0, 10.0,
                          "maximal pSTAT3-driven CD8 proliferation"),
            ParameterSpec("synergy_il21_il15_cd8", "1/h", 0.0, 10.0,
                          "extra CD8 proliferation at full pSTAT3 and pSTAT5 together"),
            ParameterSpec("il7_background", "pg/mL", 0.0, 1e6, "background IL-7"),
            ParameterSpec("ec50_il7", "pg/mL", 1e-9, 1e6, "IL-7 giving half-maximal synergy"),
            ParameterSpec("synergy_il7_cd8", "1", 0.0, 1e3, "IL-7 synergy with IL-21 on CD8"),
            ParameterSpec("k_contraction", "1/h", 0.0, 10.0,
                          "homeostatic return of log(total/baseline) to 0"),
            ParameterSpec("effector_fraction_0", "1", 1e-6, 1.0, "baseline activated fraction"),
            ParameterSpec("k_effector_on", "1/h", 0.0, 1e3, "pSTAT-driven activation rate"),
            ParameterSpec("k_effector_off", "1/h", 0.0, 1e3,
                          "return of the activated fraction to baseline"),
            ParameterSpec("effector_weight_il15", "1", 0.0, 1e3,
                          "activation by pSTAT5 relative to pSTAT3"),
        ),
        quantities=(
            Quantity("proliferation_signal_il15", p5**hill / (p5**hill + p50**hill), "1",
                     "IL-15 proliferative signal: a steep function of pSTAT5 (a threshold)"),
            Quantity("nk_marginated_0", nk_b0 * ratio, "cells/uL", "baseline marginated NK"),
            Quantity("cd8_marginated_0", cd8_b0 * ratio, "cells/uL", "baseline marginated CD8"),
            Quantity("k_out_nk", sp.Piecewise((k_ret * nk_m0 / nk_b0, nk_b0 > 0), (0.0, True)),
                     "1/h", "baseline margination rate of NK cells"),
            Quantity("k_out_cd8", sp.Piecewise((k_ret * cd8_m0 / cd8_b0, cd8_b0 > 0), (0.0, True)),
                     "1/h", "baseline margination rate of CD8 cells"),
            Quantity("nk_total", nk_b + nk_m, "cells/uL",
                     "circulating + marginated NK (expansion)", reported=True),
            Quantity("cd8_total", cd8_b + cd8_m, "cells/uL",
                     "circulating + marginated CD8+ T (expansion)", reported=True),
            Quantity("adcc_index",
                     sp.Piecewise(((nk_total / nk0) * (f / f0), nk0 > 0), (0.0, True)),
                     "1", "ADCC potency index: NK cells x activated fraction, 1 at baseline",
                     reported=True),
            Quantity("cell_fold", sp.Piecewise(((nk_total + cd8_total) / all0, all0 > 0),
                                               (1.0, True)),
                     "1", "receptor-bearing cells relative to baseline"),
            Quantity("nk_fold", sp.Piecewise((nk_total / nk0, nk0 > 0), (0.0, True)), "1",
                     "NK cells relative to baseline"),
            Quantity("cd8_fold", sp.Piecewise((cd8_total / cd80, cd80 > 0), (0.0, True)), "1",
                     "CD8+ T cells relative to baseline"),
            Quantity("activated_fold", f / f0, "1", "activated fraction relative to baseline"),
            Quantity("contraction_nk", _contraction(nk_b, nk_m, nk_b0, nk_m0, k_c), "1/h",
                     "homeostatic term of the NK pool (deaths above baseline)"),
            Quantity("contraction_cd8", _contraction(cd8_b, cd8_m, cd8_b0, cd8_m0, k_c), "1/h",
                     "homeostatic term of the CD8 pool (deaths above baseline)"),
            Quantity("cell_growth_rate",
                     sp.Piecewise((0.0, all0 <= 0), (births / all_cells, True)),
                     "1/h", "birth rate of NK + CD8 cells per cell (proliferation, and the "
                            "homeostatic term below baseline)"),
            Quantity("cell_death_rate",
                     sp.Piecewise((0.0, all0 <= 0), (deaths / all_cells, True)),
                     "1/h", "death rate of NK + CD8 cells per cell (the homeostatic term "
                            "above baseline)"),
        ),
        rates={
            "nk_blood": nk_rates[0], "nk_marginated": nk_rates[1],
            "cd8_blood": cd8_rates[0], "cd8_marginated": cd8_rates[1],
            "effector_fraction": k_on * (p3 + w5 * p5) * (1 - f) - k_off * (f - f0),
            "margination_signal": k_m * (c21 / (c21 + ec50_m) - m),
        },
        inputs={"pstat3": 0.0, "pstat5": 0.0, "il21_plasma": 0.0},
        report=("nk_blood", "nk_marginated", "cd8_blood", "cd8_marginated", "effector_fraction",
                "nk_total", "cd8_total", "adcc_index"),
        time_unit="h",
    )
