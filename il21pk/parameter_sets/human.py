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

# -- model v2 (Model.v2(), Model.oncology(), Model.in_vitro_v2()) ---------------------------
# Parameters v2 shares with v1 keep their v1 values above (kd, receptor counts, cell counts,
# IFN-gamma baseline and turnover, ...). Values marked "calibrated" were chosen so the model
# reproduces the fact named; docs/validation.md lists every fact with its role.

_FARHAT_IL47 = "Farhat2021: IL-4/IL-7 posterior median (private chains pairing with gamma-c)"

VALUES.update({
    # -- PK: allometric, one reference for every species ------------------------------------------
    "allometric_exponent_cl": (0.75, "assumed: standard allometric exponent of clearances for "
                                     "therapeutic proteins"),
    "allometric_exponent_v": (1.0, "assumed: standard allometric exponent of volumes"),
    "il21_cl_ref": (1.5, "Waggie2012: calibrated to the cynomolgus IV t1/2 of 0.4-0.8 h (0.12 "
                         "L/h at 3 kg) and scaled to 70 kg with exponent 0.75; replaces v1's 5 "
                         "L/h, borrowed from IL-2, that was 3x the scaled monkey value"),
    "il21_v_central_ref": (2.8, "assumed: plasma volume 40 mL/kg; cytokine C0 ~ dose/plasma "
                                "volume (Konrad1990)"),
    "il21_q_ref": (0.0, "Waggie2012: monoexponential IV decline (a single terminal t1/2)"),
    "il21_v_peripheral_ref": (1.0, "assumed: unused while il21_q_ref = 0"),
    "il15_mw": (12.9, "assumed: mature human IL-15, 114 amino acids, about 12.9 kDa"),
    "il15_cl_ref": (0.9, "Waldmann2011: calibrated to the rhesus IV t1/2 of 1.1 h at 10-20 ug/kg "
                         "(5 kg animal), scaled with exponent 0.75"),
    "il15_v_central_ref": (2.8, "assumed: plasma volume 40 mL/kg, as for IL-21"),
    "il15_q_ref": (0.0, "Waldmann2011: a single terminal t1/2 reported"),
    "il15_v_peripheral_ref": (1.0, "assumed: unused while il15_q_ref = 0"),
    "il15_ka": (0.25, "assumed: as IL-21 (SC cytokine absorption over hours; SC rhIL-15 gives "
                      "prolonged exposure, Miller2018)"),
    "il15_f_sc": (0.3, "assumed: as IL-21 and IL-2 (Konrad1990)"),
    "il15_tlag_sc": (0.0, "assumed: no lag reported"),
    # -- receptors: binding and trafficking -------------------------------------------------------
    "kon_il21": (1.8, "Zhang2003: calibrated, 5e5 /M/s puts the 30-min pSTAT3 EC50 in vitro near "
                      "the K_D (7-700 pM); within the 1e5-1e7 /M/s of cytokine-receptor "
                      "association"),
    "kon_il15": (36.0, "Farhat2021: k_bnd 1e7 /M/s = 0.6 /nM/min, the gamma-c model's value"),
    "kd_il15": (438.0, "Farhat2021: IL-15/IL-2R-beta affinity fixed in the gamma-c model"),
    "il2rb_nk": (8503.0, "Farhat2021: IL-2R-beta per NK cell (geometric mean)"),
    "il2rb_cd8": (511.0, "Farhat2021: IL-2R-beta per CD8+ T cell (geometric mean)"),
    "koff_gc_il15": (15000.0, "MeyerPBMC: calibrated, 1-h pSTAT5 EC50 of IL-15 on PBMC NK (0.66 "
                              "nM) and CD8 (1.2 nM) cells (MeyerPBMC)"),
    "k_endo": (4.97, _FARHAT_IL47 + ", k_endo 0.0828/min"),
    "k_endo_active_il21": (56.6, _FARHAT_IL47 + ", k_endo,a 0.944/min"),
    "k_endo_active_il15": (153.0, "Farhat2021: IL-2/IL-15 posterior median, k_endo,a 2.55/min"),
    "k_recycle": (6.78, _FARHAT_IL47 + ", k_rec 0.113/min"),
    "k_lysosome": (0.642, _FARHAT_IL47 + ", k_deg 0.0107/min"),
    "f_sort": (0.113, _FARHAT_IL47 + ", f_sort"),
    "endosome_signal_weight": (0.5, "Farhat2021: endosomal complexes signal at half the surface "
                                    "weight (internalStrength)"),
    # -- signalling -------------------------------------------------------------------------------
    "ec50_complexes_pstat3": (10.0, "ATR107: calibrated, in vitro pSTAT3 >= 0.8 of its maximum "
                                    "at saturating IL-21 after 24 h (spare receptors: 0.7 % of "
                                    "IL-21R)"),
    "ec50_complexes_pstat5": (30.0, "assumed: 1 % of the IL-2R-beta of a lymphocyte, as for "
                                    "pSTAT3"),
    "k_pstat": (4.0, "assumed: pSTAT peaks within 15-30 min of cytokine in phospho-flow assays "
                     "(MeyerPBMC: IL-15 pSTAT5 at its plateau by 30 min)"),
    # -- cells ------------------------------------------------------------------------------------
    "emax_margination_il21": (5.0, "Frederiksen2008: calibrated, dose-dependent fall of "
                                   "circulating NK/CD8 through each 5-day block "
                                   "(Frederiksen2008)"),
    "emax_margination_il15": (800.0, "Conlon2015: calibrated, NK efflux from the blood within "
                                     "minutes of rhIL-15 (Conlon2015)"),
    "k_margination": (0.03, "Frederiksen2008: calibrated, the dip lasts through the 5-day block "
                            "and resolves in the 9-day rest (Frederiksen2008)"),
    "ec50_margination_il21": (2.0, "Frederiksen2008: calibrated, the fall of circulating NK/CD8 "
                                   "cells is dose-dependent over 3-30 ug/kg (Frederiksen2008), "
                                   "as the serum chemokines and adhesion proteins are "
                                   "(Dodds2009)"),
    "kp_nk_il15": (0.038, "Dubois2021: calibrated, NK 34-fold after 4 ug/kg/day rhIL-15 CIV x 5 "
                          "days (Dubois2021)"),
    "p50_proliferation_il15": (0.1, "ZhaoFrench2013: calibrated, with the threshold "
                                    "(ZhaoFrench2013), 12 daily 0.3 ug/kg boluses give NK "
                                    "~10-fold (Conlon2015) while the CIV gives 34-fold "
                                    "(Dubois2021)"),
    "hill_proliferation_il15": (4.0, "assumed: a steep threshold of IL-15 complexes before NK "
                                     "division (ZhaoFrench2013)"),
    "kp_nk_il21": (0.001, "Davis2007: calibrated, no rIL-21 trial reported a marked expansion of "
                          "blood NK counts (Davis2007, Thompson2008, Frederiksen2008)"),
    "restraint_il21_nk": (0.6, "Kasaian2002: calibrated, IL-21 blocks IL-15-driven expansion of "
                               "resting NK cells (Kasaian2002)"),
    "kp_cd8_il15": (0.014, "Dubois2021: calibrated, CD8 3.4-fold after 4 ug/kg/day rhIL-15 CIV x "
                           "5 days (Dubois2021)"),
    "kp_cd8_il21": (0.002, "assumed: CD8 respond little to IL-21 alone (as v1 kp_cd8)"),
    "synergy_il21_il15_cd8": (0.006, "Zeng2005: calibrated, marked over-additive CD8 expansion "
                                     "with IL-21 and IL-15 in vitro (Zeng2005)"),
    "k_contraction": (0.003, "assumed: expanded NK return towards baseline over 2-3 weeks after "
                             "rhIL-15 (Conlon2015, Dubois2021)"),
    "k_effector_on": (0.05, "assumed: as v1 k_activation; granzyme B/perforin up within a day "
                            "(Frederiksen2008)"),
    "k_effector_off": (0.01, "assumed: as v1 k_deactivation; activation lasts several days"),
    "effector_weight_il15": (0.5, "assumed: IL-15 activates NK/CD8 cytotoxicity, less per unit "
                                  "signal than IL-21 (Kasaian2002: IL-21 raises cytotoxicity)"),
    # -- IFN-gamma, sCD25 -------------------------------------------------------------------------
    "ifng_gain_il21": (1.0, "Strengell2003: calibrated, IL-21 alone gives modest IFN-gamma "
                            "(Strengell2003)"),
    "ifng_gain_il15": (4.0, "Strengell2003: calibrated, IL-15 activates IFN-gamma "
                            "(Strengell2003)"),
    "ifng_synergy": (20.0, "Strengell2003: calibrated, IL-21 enhances IL-15-induced IFN-gamma, "
                           "over-additive (Strengell2003)"),
    "ifng_gain_adcc": (10.0, "assumed: NK engaging antibody-coated targets make large amounts of "
                             "IFN-gamma, more with IL-21 (Roda2006)"),
    "scd25_0": (1500.0, "assumed: healthy serum sIL-2R-alpha of about 1-2 ng/mL"),
    "k_scd25": (0.05, "assumed: sCD25 plasma half-life of about 14 h"),
    "k_cd25": (0.02, "assumed: CD25 induction builds and fades over days (CD25+ NK/CD8 cells "
                     "raised during treatment, Davis2009)"),
    "cd25_weight_il15": (1.0, "assumed: STAT5 induces CD25 as strongly as STAT3"),
    "cd25_gain": (2.0, "assumed: activated cells shed about 3x as much CD25 as resting ones"),
    # -- anti-drug antibodies (off in humans) -----------------------------------------------------
    "ada_sensitisation": (0.0, "assumed: ADA off in humans by default; no loss of PD over cycles "
                               "was reported in the rIL-21 trials (Davis2007, Davis2009); set > "
                               "0 (e.g. the cynomolgus value) to study them"),
    "ada_ec50": (1.0, "assumed: sensitisation saturates at nM drug"),
    "ada_synthesis": (0.01, "assumed: ADA reach nM binding capacities within weeks"),
    "ada_elimination": (0.0041, "assumed: IgG half-life of about 7 days"),
    "ada_kon": (36.0, "assumed: antibody-antigen association of about 1e7 /M/s"),
    # -- toxicity ---------------------------------------------------------------------------------
    "k_tox_exposure": (0.05, "assumed: toxicity follows the exposure of about the last day"),
    "k_alt": (0.0147, "assumed: plasma ALT half-life of about 47 h"),
    "alt_slope": (0.5, "Davis2007: calibrated, ALT peaks at about 2.5x (grade 1) at the MTD, 30 "
                       "ug/kg IV 5 on/9 off (Davis2007)"),
    "platelets_0": (250.0, "assumed: adult reference platelet count (150-400 x 10^9/L)"),
    "mtt_platelets": (120.0, "assumed: megakaryocyte maturation of about 5 days (Friberg2002 "
                             "structure)"),
    "k_platelets": (0.0046, "assumed: platelet lifespan of about 9 days"),
    "platelet_slope": (0.2, "Davis2007: calibrated, platelets fall by about a quarter at the MTD "
                            "(grade 1), thrombocytopenia being dose-limiting above it "
                            "(Davis2007)"),
    "platelet_feedback": (0.17, "Friberg2002: typical feedback exponent"),
    # -- oncology: therapeutic antibody (rituximab-like) ------------------------------------------
    "mab_mw": (145.0, "assumed: IgG1, about 145 kDa"),
    "mab_cl_ref": (0.0083, "assumed: typical IgG1 linear clearance of about 0.2 L/day"),
    "mab_v_central_ref": (3.0, "assumed: typical IgG1 central volume of about 3 L"),
    "mab_q_ref": (0.03, "assumed: typical IgG1 distribution clearance of about 0.7 L/day"),
    "mab_v_peripheral_ref": (3.0, "assumed: typical IgG1 peripheral volume of about 3 L"),
    "mab_kd": (5.0, "assumed: rituximab/CD20 affinity of a few nM"),
    "mab_k_internalisation": (0.01, "assumed: slow loss of CD20-bound antibody (CD20 is not "
                                    "internalised much)"),
    "b_cells_0": (200.0, "assumed: adult reference B-cell count (100-500 cells/uL)"),
    "k_b_cells": (0.002, "assumed: B cells recover over weeks to months after depletion"),
    "k_adcc": (0.02, "assumed: coated B cells cleared from blood within days by ADCC"),
    "b_cell_antigen_0": (50.0, "assumed: about 3e11 B cells in the body x 1e5 CD20 each "
                               "(3e16 molecules, 50 nmol)"),
    "tumour_antigen_per_cell": (0.0, "assumed: antigen-negative tumour by default (melanoma); "
                                     "about 1e5 for a CD20+ lymphoma"),
    # -- oncology: tumour -------------------------------------------------------------------------
    "tumour_cells_0": (1e10, "assumed: about 10 g of tumour"),
    "tumour_growth": (1e-4, "assumed: Gompertz rate giving a doubling time of about two months "
                            "at 1e10 cells"),
    "tumour_capacity": (1e12, "assumed: about 1 kg of tumour"),
    "tumour_kill": (0.00047, "Petrella2012: calibrated, ORR 22.5 % with 30 ug/kg IV in "
                             "metastatic melanoma (Petrella2012), median of a virtual population "
                             "(docs/validation.md)"),
    "tumour_adcc_access": (0.05, "McLaughlin1998: calibrated, rituximab alone, 375 mg/m2 weekly "
                                 "x 4, gives ORR 48 % in relapsed indolent lymphoma "
                                 "(McLaughlin1998)"),
    "w_kill_nk": (0.5, "assumed: NK and CD8 cells kill equally (Cappuccio2006 kill terms k1 = "
                       "0.05, k2 = 0.0485)"),
})
