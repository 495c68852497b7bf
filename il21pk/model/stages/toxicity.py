"""Exposure-driven toxicity readouts: liver transaminase and platelets (model v2).

Every rIL-21 trial was dose-limited by toxicity (transaminase rises,
thrombocytopenia, neutropenia, fatigue; Davis 2007, Thompson 2008, Schmidt
2010), and in cynomolgus monkeys transaminases rose and platelets fell,
reversibly (Waggie 2012). Both readouts here are driven by the IL-21
exposure $X$ [nM], the plasma concentration averaged over about a day,
so that their peaks track the exposure (AUC) of recent days rather than
Cmax:

$$
\\frac{dX}{dt} = k_X (C - X), \\qquad
\\frac{d\\,ALT}{dt} = k_{ALT} (1 + s_{ALT} X - ALT)
$$

with ALT as fold over baseline (``alt_fold``) and $k_{ALT}$ the
turnover of the enzyme in plasma. Platelets follow the myelosuppression
model of Friberg 2002 with the drug raising the removal of circulating
platelets (as IL-21 removes red cells rather than suppressing their
production, Overgaard 2007): progenitors proliferate with feedback
$(PLT_0/PLT)^\\gamma$, mature through a transit compartment, and
circulating platelets are removed at $k_{PLT}(1 + s_{PLT} X)$. The
nadir is delayed by days and recovers, with a rebound, after dosing stops.
"""

from __future__ import annotations

import sympy as sp

from ...parameters import ParameterSpec
from ..definition import Quantity, Stage, State, symbols


def toxicity(drug: str = "il21") -> Stage:
    """Exposure signal, ALT fold and platelets (Friberg-type)."""
    x, alt, prol, tr, plt, conc = symbols(
        f"tox_exposure alt_fold platelet_progenitors platelet_transit platelets {drug}_plasma")
    k_x, k_alt, s_alt, plt0, mtt, k_plt, s_plt, gamma = symbols(
        "k_tox_exposure k_alt alt_slope platelets_0 mtt_platelets k_platelets platelet_slope "
        "platelet_feedback")
    k_tr, prol0 = symbols("k_transit_platelets platelet_progenitors_0")
    return Stage(
        name="toxicity",
        description=__doc__,
        states=(
            State("tox_exposure", "nM", "IL-21 exposure averaged over about a day",
                  reported=False, nonnegative=True),
            State("alt_fold", "1", "plasma ALT relative to baseline", initial=1.0,
                  nonnegative=True),
            State("platelet_progenitors", "10^9/L", "proliferating platelet progenitors",
                  initial=prol0, reported=False, nonnegative=True),
            State("platelet_transit", "10^9/L", "maturing platelet progenitors",
                  initial=prol0, reported=False, nonnegative=True),
            State("platelets", "10^9/L", "circulating platelets", initial=plt0, nonnegative=True),
        ),
        parameters=(
            ParameterSpec("k_tox_exposure", "1/h", 1e-9, 1e3,
                          "rate at which the exposure signal follows the plasma concentration"),
            ParameterSpec("k_alt", "1/h", 1e-9, 1e3, "turnover of plasma ALT"),
            ParameterSpec("alt_slope", "1/nM", 0.0, 1e6, "ALT rise per nM of exposure"),
            ParameterSpec("platelets_0", "10^9/L", 1e-6, 1e4, "baseline platelet count"),
            ParameterSpec("mtt_platelets", "h", 1e-3, 1e4,
                          "mean maturation time of platelet progenitors"),
            ParameterSpec("k_platelets", "1/h", 1e-9, 1e3, "removal of circulating platelets"),
            ParameterSpec("platelet_slope", "1/nM", 0.0, 1e6,
                          "relative rise of platelet removal per nM of exposure"),
            ParameterSpec("platelet_feedback", "1", 0.0, 10.0,
                          "feedback exponent of platelets on progenitor proliferation"),
        ),
        quantities=(
            Quantity("k_transit_platelets", 2.0 / mtt, "1/h",
                     "progenitor transit rate (two compartments)"),
            Quantity("platelet_progenitors_0", plt0 * k_plt * mtt / 2.0, "10^9/L",
                     "baseline progenitors (production = removal)"),
        ),
        rates={
            "tox_exposure": k_x * (conc - x),
            "alt_fold": k_alt * (1 + s_alt * x - alt),
            "platelet_progenitors": k_tr * prol * ((plt0 / sp.Max(plt, 1e-9 * plt0)) ** gamma - 1),
            "platelet_transit": k_tr * (prol - tr),
            "platelets": k_tr * tr - k_plt * (1 + s_plt * x) * plt,
        },
        inputs={f"{drug}_plasma": None},
        time_unit="h",
    )
