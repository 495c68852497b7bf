"""Cynomolgus monkey IL-21 parameter set, for a 3 kg animal.

Starts from the human set and changes what is species-specific: body
weight, volumes, clearance (IV terminal half-life 0.4-0.8 h with no
accumulation on daily x5 dosing, Waggie 2012) and the number of
receptor-bearing cells (scaled by body weight).
"""

from __future__ import annotations

from .human import VALUES as _HUMAN

VALUES: dict[str, tuple[float, str]] = {
    **_HUMAN,
    "body_weight": (3.0, "assumed: typical young adult cynomolgus monkey"),
    "v_central": (0.135, "assumed: plasma volume 45 mL/kg x 3 kg"),
    "cl": (0.16, "Waggie2012: calibrated to the IV terminal half-life of 0.4-0.8 h"),
    "q": (0.0, "assumed: monoexponential IV decline, as the single terminal half-life of "
               "0.4-0.8 h implies (Waggie2012)"),
    "v_peripheral": (0.1, "assumed: unused while q = 0"),
    "receptor_cells": (2e11 * 3.0 / 70.0, "assumed: human value scaled by body weight"),
}

# -- model v2: allometric PK needs no PK overrides (the reference values scale with body
# weight); anti-drug antibodies are on in monkeys (a human protein in another species).
VALUES.update({
    "ada_sensitisation": (0.001, "Waggie2012: calibrated, anti-rIL-21 antibodies reduce the PD "
                                 "over cycles so that the cycle-4 NK nadir is clearly shallower "
                                 "than cycle 1 (100 ug/kg 5 on/9 off x 4, Waggie2012)"),
    "platelets_0": (350.0, "assumed: cynomolgus platelet count of about 300-400 x 10^9/L"),
    "b_cell_antigen_0": (50.0 * 3.0 / 70.0, "assumed: human value scaled by body weight"),
})
