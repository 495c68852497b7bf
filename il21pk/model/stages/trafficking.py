"""IL-21R, IL-2R-beta and the shared gamma-c: binding, trafficking, synthesis (model v2).

The gamma-c cytokine trafficking scheme of Farhat et al. 2021 (the Meyer lab
model; ``reference/il21_literature.md`` section 4.2), reduced to the two
cytokines the model doses. Receptor species are counted per
receptor-bearing cell [#/cell]; the cytokines are the plasma (or culture)
concentrations [nM] of the PK stages.

On the surface, IL-21 binds its private chain IL-21R ($K_D$ 70 pM) and
the complex recruits gamma-c into the signalling complex; IL-15 binds
IL-2R-beta and recruits the same gamma-c, so the two cytokines compete for
it. Every surface species is endocytosed at $k_{endo}$, signalling
complexes faster ($k_{endo} + k_{endo,a}$). In the endosome, free
chains are recycled to the surface at $k_{rec}(1 - f_{sort})$ or
degraded at $k_{deg} f_{sort}$; a ligand internalised with an inactive
(one-chain) complex is degraded and its chain joins the endosomal free pool;
signalling complexes keep signalling from the endosome (weight
``endosome_signal_weight``, 0.5 in Farhat 2021) until they are degraded at
$k_{deg}$, ligand and chains together. Each chain is synthesised at the
constant rate that holds its measured surface count without ligand:

$$
S_X = X_0 \\, k_{endo} \\frac{k_{deg} f_{sort}}{k_{deg} f_{sort} + k_{rec}(1 - f_{sort})}
$$

(Farhat 2021, ``receptor_expression``). Because synthesis is constant and
every chain bound into a signalling complex is eventually degraded, the
steady number of signalling complexes rises monotonically with the
cytokine: at saturation it is the synthesis rate times the complexes'
lifetime (surface plus endosome), not zero. That is why in vitro pSTAT3 no
longer falls at high IL-21 (model v1 resupplied IL-21R at 0.059/h while
internalising it at 5/h and had no endosomal signalling).

The number of receptor-bearing cells is ``receptor_cells`` times
``cell_fold`` (cells stage), so the receptor-mediated uptake of each
cytokine [nmol/h] returned to its PK stage grows as NK and CD8 cells expand
(the cytokine sink). Cells born at the relative rate $\\mu$
(``cell_growth_rate``) arrive with the ligand-free receptor complement, so
each per-cell species $X$ also changes by $\\mu (X_0 - X)$ ($X_0 = 0$ for
complexes), while cells that die (``cell_death_rate`` $\\delta$) take their
complexes with them: the cytokine bound in them, $\\delta$ times the bound
amount, is degraded with the cells. So cytokine is conserved however the
cells grow and contract: dosed = in the PK stage + cleared + bound +
degraded (cleared: $CL$ times the AUC, and with anti-drug antibodies on, the
drug they clear, which no state keeps).
Complexes per cell are the reported signals read by the signalling stage.
"""

from __future__ import annotations

import sympy as sp

from ...parameters import ParameterSpec
from ..definition import Quantity, Stage, State, symbols

#: Molecules per nmol (Avogadro's number x 1e-9).
AVOGADRO_PER_NMOL = 6.02214076e14


def _chain_states(key: str, ligand: str, chain: str, baseline: sp.Symbol,
                  endosome_baseline: sp.Symbol) -> tuple[State, ...]:
    return (
        State(f"{key}_surface", "1/cell", f"free surface {chain} per cell", initial=baseline,
              nonnegative=True),
        State(f"{ligand}_{key}", "1/cell", f"surface {ligand.upper()}/{chain} complexes per cell",
              nonnegative=True),
        State(f"{ligand}_signalling", "1/cell",
              f"surface {ligand.upper()}/{chain}/gamma-c signalling complexes per cell",
              nonnegative=True),
        State(f"{key}_endosome", "1/cell", f"free {chain} in endosomes per cell",
              initial=endosome_baseline, nonnegative=True),
        State(f"{ligand}_signalling_endosome", "1/cell",
              f"endosomal {ligand.upper()} signalling complexes per cell", nonnegative=True),
    )


def trafficking() -> Stage:
    """IL-21R and IL-2R-beta with the shared gamma-c: binding, trafficking, synthesis."""
    (r, c, a, re, ae, b, c15, a15, be, ae15, g, ge) = symbols(
        "il21r_surface il21_il21r il21_signalling il21r_endosome il21_signalling_endosome "
        "il2rb_surface il15_il2rb il15_signalling il2rb_endosome il15_signalling_endosome "
        "gc_surface gc_endosome")
    l21, l15, fold, nk0, cd80, mu, death = symbols(
        "il21_plasma il15_plasma cell_fold nk_blood_0 cd8_blood_0 cell_growth_rate "
        "cell_death_rate")
    (kon21, kd21, kon15, kd15, r0, g0, b_nk, b_cd8, n0, kfwd, koff_g, koff_g15, k_endo, k_a21,
     k_a15, k_rec, k_deg, f_sort, w_endo) = symbols(
        "kon_il21 kd kon_il15 kd_il15 il21r_per_cell gc_per_cell il2rb_nk il2rb_cd8 "
        "receptor_cells k_fwd_gc koff_gc koff_gc_il15 k_endo k_endo_active_il21 "
        "k_endo_active_il15 "
        "k_recycle k_lysosome f_sort endosome_signal_weight")
    (b0, re0, be0, ge0, synth, cells, recycle, out) = symbols(
        "il2rb_per_cell il21r_endosome_0 il2rb_endosome_0 gc_endosome_0 synthesis_fraction "
        "receptor_bearing_cells recycling_rate endosome_exit")
    # fluxes per cell [#/(cell h)]
    bind21 = kon21 * l21 * r - kon21 * kd21 * c
    bind15 = kon15 * l15 * b - kon15 * kd15 * c15
    recruit21 = kfwd * g * c - koff_g * a
    recruit15 = kfwd * g * c15 - koff_g15 * a15
    per_nmol = cells / AVOGADRO_PER_NMOL
    signal21 = a + w_endo * ae
    signal15 = a15 + w_endo * ae15
    surface21 = r + c + a
    born = mu  # cells born arrive with the ligand-free receptor complement
    return Stage(
        name="receptors",
        description=__doc__,
        states=(
            *_chain_states("il21r", "il21", "IL-21R", r0, re0),
            *_chain_states("il2rb", "il15", "IL-2R-beta", b0, be0),
            State("gc_surface", "1/cell", "free surface gamma-c per cell", initial=g0,
                  nonnegative=True),
            State("gc_endosome", "1/cell", "free gamma-c in endosomes per cell", initial=ge0,
                  nonnegative=True),
            State("il21_degraded", "nmol",
                  "IL-21 degraded after receptor-mediated uptake or with dying cells",
                  nonnegative=True),
            State("il15_degraded", "nmol",
                  "IL-15 degraded after receptor-mediated uptake or with dying cells",
                  nonnegative=True),
        ),
        parameters=(
            ParameterSpec("kon_il21", "1/(nM*h)", 0.0, 1e6,
                          "IL-21/IL-21R association rate constant (v2)"),
            ParameterSpec("kd", "nM", 1e-9, 1e6, "IL-21/IL-21R equilibrium dissociation constant"),
            ParameterSpec("kon_il15", "1/(nM*h)", 0.0, 1e6,
                          "IL-15/IL-2R-beta association rate constant"),
            ParameterSpec("kd_il15", "nM", 1e-9, 1e6,
                          "IL-15/IL-2R-beta equilibrium dissociation constant"),
            ParameterSpec("il21r_per_cell", "1/cell", 0.0, 1e7, "IL-21R per receptor-bearing cell"),
            ParameterSpec("gc_per_cell", "1/cell", 0.0, 1e7, "gamma-c per receptor-bearing cell"),
            ParameterSpec("il2rb_nk", "1/cell", 0.0, 1e7, "IL-2R-beta per NK cell"),
            ParameterSpec("il2rb_cd8", "1/cell", 0.0, 1e7, "IL-2R-beta per CD8+ T cell"),
            ParameterSpec("receptor_cells", "cells", 0.0, 1e15,
                          "receptor-bearing cells reached by plasma IL-21 at baseline"),
            ParameterSpec("k_fwd_gc", "cell/h", 0.0, 1e6,
                          "2-D gamma-c recruitment rate per (receptor/cell)"),
            ParameterSpec("koff_gc", "1/h", 0.0, 1e6, "dissociation of gamma-c from the complex"),
            ParameterSpec("koff_gc_il15", "1/h", 0.0, 1e7,
                          "dissociation of gamma-c from the IL-15/IL-2R-beta/gamma-c complex"),
            ParameterSpec("k_endo", "1/h", 0.0, 1e4, "endocytosis of surface receptor species"),
            ParameterSpec("k_endo_active_il21", "1/h", 0.0, 1e5,
                          "extra endocytosis of IL-21 signalling complexes"),
            ParameterSpec("k_endo_active_il15", "1/h", 0.0, 1e5,
                          "extra endocytosis of IL-15 signalling complexes"),
            ParameterSpec("k_recycle", "1/h", 0.0, 1e4, "recycling of endosomal free chains"),
            ParameterSpec("k_lysosome", "1/h", 0.0, 1e4,
                          "lysosomal degradation of endosomal species"),
            ParameterSpec("f_sort", "1", 1e-6, 1.0,
                          "fraction of endosomal free chains sorted to the lysosome"),
            ParameterSpec("endosome_signal_weight", "1", 0.0, 1.0,
                          "signalling weight of endosomal complexes relative to surface ones"),
        ),
        quantities=(
            Quantity("il2rb_per_cell",
                     sp.Piecewise(((nk0 * b_nk + cd80 * b_cd8) / (nk0 + cd80), nk0 + cd80 > 0),
                                  (0.0, True)), "1/cell",
                     "IL-2R-beta per receptor-bearing cell: NK and CD8 counts weighted"),
            Quantity("recycling_rate", k_rec * (1 - f_sort), "1/h",
                     "return of endosomal free chains to the surface"),
            Quantity("endosome_exit", k_rec * (1 - f_sort) + k_deg * f_sort, "1/h",
                     "loss of endosomal free chains (recycling + degradation)"),
            Quantity("synthesis_fraction", k_endo * (1 - recycle / out), "1/h",
                     "synthesis per surface chain at the ligand-free steady state"),
            Quantity("il21r_endosome_0", k_endo * r0 / out, "1/cell",
                     "baseline endosomal free IL-21R"),
            Quantity("il2rb_endosome_0", k_endo * b0 / out, "1/cell",
                     "baseline endosomal free IL-2R-beta"),
            Quantity("gc_endosome_0", k_endo * g0 / out, "1/cell",
            "baseline endosomal free gamma-c"),
            Quantity("receptor_bearing_cells", n0 * fold, "cells",
                     "receptor-bearing cells now (expanding with NK/CD8)"),
            Quantity("il21_uptake", bind21 * per_nmol, "nmol/h", "net IL-21 bound by IL-21R"),
            Quantity("il15_uptake", bind15 * per_nmol, "nmol/h",
                     "net IL-15 bound by IL-2R-beta"),
            Quantity("il21_bound", (c + a + ae) * per_nmol, "nmol",
                     "IL-21 bound to cells (surface and endosomal complexes)", reported=True),
            Quantity("il15_bound", (c15 + a15 + ae15) * per_nmol, "nmol",
                     "IL-15 bound to cells (surface and endosomal complexes)", reported=True),
            Quantity("receptor_occupancy",
                     sp.Piecewise((0.0, sp.Eq(r0, 0)), ((c + a) / sp.Max(surface21, 1e-12), True)),
                     "1", "fraction of surface IL-21R bound by IL-21", reported=True),
            Quantity("complexes_per_cell", signal21, "1/cell",
                     "IL-21 signalling complexes per cell (surface + weighted endosomal)",
                     reported=True),
            Quantity("il15_complexes_per_cell", signal15, "1/cell",
                     "IL-15 signalling complexes per cell (surface + weighted endosomal)",
                     reported=True),
            Quantity("il21r_fraction", sp.Piecewise((0.0, sp.Eq(r0, 0)),
                                                    ((r + c + a) / r0, True)), "1",
                     "surface IL-21R (free and bound) relative to baseline", reported=True),
        ),
        rates={
            "il21r_surface": synth * r0 - k_endo * r + recycle * re - bind21 + born * (r0 - r),
            "il21_il21r": bind21 - recruit21 - k_endo * c - born * c,
            "il21_signalling": recruit21 - (k_endo + k_a21) * a - born * a,
            "il21r_endosome": k_endo * (r + c) - out * re + born * (re0 - re),
            "il21_signalling_endosome": (k_endo + k_a21) * a - k_deg * ae - born * ae,
            "il2rb_surface": synth * b0 - k_endo * b + recycle * be - bind15 + born * (b0 - b),
            "il15_il2rb": bind15 - recruit15 - k_endo * c15 - born * c15,
            "il15_signalling": recruit15 - (k_endo + k_a15) * a15 - born * a15,
            "il2rb_endosome": k_endo * (b + c15) - out * be + born * (be0 - be),
            "il15_signalling_endosome": (k_endo + k_a15) * a15 - k_deg * ae15 - born * ae15,
            "gc_surface": synth * g0 - k_endo * g + recycle * ge - recruit21 - recruit15
            + born * (g0 - g),
            "gc_endosome": k_endo * g - out * ge + born * (ge0 - ge),
            "il21_degraded": (k_endo * c + k_deg * ae + death * (c + a + ae)) * per_nmol,
            "il15_degraded": (k_endo * c15 + k_deg * ae15 + death * (c15 + a15 + ae15))
            * per_nmol,
        },
        inputs={"il21_plasma": None, "il15_plasma": 0.0, "cell_fold": 1.0,
                "cell_growth_rate": 0.0, "cell_death_rate": 0.0,
                "nk_blood_0": None, "cd8_blood_0": None},
        report=("receptor_occupancy", "complexes_per_cell", "il15_complexes_per_cell",
                "il21r_fraction", "il21_bound", "il15_bound", "il21_degraded",
                "il15_degraded"),
        time_unit="h",
    )

