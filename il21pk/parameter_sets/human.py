"""Human (default) IL-21 parameter set, for a 70 kg adult.

Human rIL-21 PK tables (CL, V, t1/2) were not found in the sources available
to us (see ``docs/parameters.md``), so the PK values are assumptions anchored
on the IL-2 human PK (Konrad 1990) and calibrated to the qualitative facts
that are known: dose-proportional serum concentrations over 3-100 ug/kg IV
(Thompson 2008) and a dose-dependent, reversible dip of circulating NK and
CD8 cells on the 5 on / 9 off schedule (Frederiksen 2008). The receptor
constants come from Zhang 2003 and the gamma-c model of Farhat 2021.
"""

from __future__ import annotations

_FARHAT_TURNOVER = (
    "derived: Farhat2021 IL-4/IL-7 fit (k_endo 0.0828/min, k_rec 0.113/min, k_deg "
    "0.0107/min, f_sort 0.113); net loss k_endo*k_deg*f_sort/(k_deg*f_sort + "
    "k_rec*(1-f_sort)) = 0.0592/h. IL-21R, like IL-4Ra and IL-7Ra, is a private chain "
    "pairing with gamma-c"
)

VALUES: dict[str, tuple[float, str]] = {
    # -- PK -------------------------------------------------------------------
    "mw": (15.4, "Quanterix: mature IL-21, 133 aa, 15.4 kDa"),
    "body_weight": (70.0, "assumed: reference adult"),
    "v_central": (2.8, "assumed: plasma volume 40 mL/kg x 70 kg; cytokine C0 ~ dose/plasma "
                       "volume as for IL-2 (Konrad1990)"),
    "cl": (5.0, "assumed: human IL-21 CL not published; of the order of IL-2 (7.2 L/h, "
                "Konrad1990) for a cytokine of similar size"),
    "q": (1.0, "assumed: slow distribution phase as for IL-2 (t1/2 alpha 13 min, beta 85 min, "
               "Konrad1990)"),
    "v_peripheral": (3.0, "assumed: interstitial space reached by a 15 kDa protein"),
    "ka": (0.25, "assumed: SC cytokine Tmax of about 4 h, as for N-803 (J Immunol 2022)"),
    "f_sc": (0.3, "assumed: SC/IM bioavailability of IL-2 about 30 % (Konrad1990)"),
    "tlag_sc": (0.0, "assumed: no lag reported"),
    # -- binding --------------------------------------------------------------
    "kon": (36.0, "Farhat2021: k_bnd 1e7 /M/s = 0.6 /nM/min, the gamma-c model's assumption"),
    "kd": (0.07, "Zhang2003: IL-21/IL-21R K_D 70 pM (SPR)"),
    "il21r_per_cell": (1500.0, "assumed: IL-21R counts not found; Il21r mRNA is 3-20x below "
                               "Il2rg (ImmGen via Farhat2021) and gamma-c is ~10,000/cell"),
    "gc_per_cell": (10000.0, "Farhat2021: gamma-c per cell, NK 7,643 and CD8 12,407 "
                             "(geometric means)"),
    "receptor_cells": (2e11, "assumed: NK, CD8 and B lymphocytes reached by plasma IL-21 in a "
                             "70 kg adult (total lymphocytes ~5e11)"),
    "k_fwd_gc": (0.17, "Farhat2021: k_fwd 0.00283 cell/#/min (IL-2/15 fit; the IL-4/7 fit is "
                       "50x higher, which only makes gamma-c recruitment stiffer)"),
    "koff_gc": (60.0, "assumed: Farhat2021 placeholder k35rev = 1/min, never fitted to IL-21 data"),
    "kdeg_receptor": (0.0592, _FARHAT_TURNOVER),
    "kdeg_gc": (0.0592, _FARHAT_TURNOVER),
    "kint_complex": (4.97, "Farhat2021: k_endo 0.0828/min (IL-4/7 fit)"),
    "kint_signalling": (61.6, "Farhat2021: k_endo + k_endo,a = 1.027/min (IL-4/7 fit); "
                              "active complexes are all degraded (f_sort = 1)"),
    # -- signalling -------------------------------------------------------------
    "ec50_pstat3": (5.0, "assumed: a few signalling complexes per cell suffice, as the ~20 pM "
                         "(0.3 K_D) activity of IL-21 on NK cells implies (Toomey 2003)"),
    "hill_pstat3": (1.0, "assumed: no cooperativity data"),
    "mtt_pstat3": (1.0, "assumed: pSTAT3 peaks within about an hour of cytokine exposure"),
    # -- cells ------------------------------------------------------------------
    "nk_blood_0": (200.0, "assumed: adult reference NK count (90-590 cells/uL)"),
    "cd8_blood_0": (500.0, "assumed: adult reference CD8 count (200-1200 cells/uL)"),
    "marginated_ratio": (1.0, "assumed: exchangeable marginated pool equal to the circulating one"),
    "k_return": (0.03, "assumed: marginated cells return over about a day, so counts recover in "
                       "the 9-day rest (Frederiksen2008)"),
    "emax_margination": (4.0, "assumed: calibrated to a clear, reversible dip of circulating "
                              "NK/CD8 during a 5-day block (Frederiksen2008)"),
    "kp_nk": (0.004, "assumed: calibrated to modest NK expansion with IL-21 alone"),
    "kp_cd8": (0.002, "assumed: CD8 respond less than NK to IL-21 alone"),
    "k_homeostasis": (0.01, "assumed: return to baseline over days (NK lifespan ~2 weeks)"),
    "il15_background": (2.0, "assumed: healthy serum IL-15 of a few pg/mL"),
    "il7_background": (10.0, "assumed: healthy serum IL-7 of about 10 pg/mL"),
    "ec50_il15": (5.0, "assumed: IL-15 acts at low pg/mL"),
    "ec50_il7": (50.0, "assumed: IL-7 synergy weaker and needs more cytokine (Zeng2005)"),
    "synergy_il15_nk": (5.0, "assumed: strong IL-21 x IL-15 synergy on NK (Toomey 2003)"),
    "synergy_il15_cd8": (5.0, "Zeng2005: IL-21 and IL-15 synergise on CD8 expansion (magnitude "
                              "assumed)"),
    "synergy_il7_cd8": (1.0, "Zeng2005: IL-21 cooperates more weakly with IL-7 (magnitude "
                             "assumed)"),
    "effector_fraction_0": (0.3, "assumed: granzyme B+/perforin+ fraction of resting NK/CD8"),
    "k_activation": (0.05, "assumed: granzyme B/perforin up within a day of pSTAT3 "
                           "(Frederiksen2008)"),
    "k_deactivation": (0.01, "assumed: activation marks last several days"),
    # -- IFN-gamma ---------------------------------------------------------------
    "ifng_0": (5.0, "assumed: healthy plasma IFN-gamma below 10 pg/mL"),
    "k_ifng": (0.5, "assumed: IFN-gamma plasma half-life of about 1.4 h"),
    "w_nk": (0.5, "assumed: NK and CD8 contribute equally (Strengell2003: both make IFN-gamma)"),
}
