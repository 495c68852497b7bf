"""Tumour cells killed by activated NK and CD8 cells and by ADCC (model v2 oncology).

The structure of Cappuccio 2006 and Elishmereni 2011 (IL-21 immunotherapy of
mouse melanoma and renal carcinoma): tumour cells grow, and NK and CD8
effector cells kill them at a rate proportional to their activity. Here
growth is Gompertzian towards a carrying capacity, the kill already present
at baseline is part of the net growth rate, and treatment adds the kill of
the extra cytotoxic activity and the ADCC of antibody-coated tumour cells:

$$
\\frac{dT}{dt} = r \\ln\\frac{K}{T} \\, T - k_{kill} (I - 1) T - a \\kappa_{ADCC} T,
\\quad I = \\left(w \\frac{NK}{NK_0} + (1 - w) \\frac{CD8}{CD8_0}\\right)
\\frac{f}{f_0}
$$

with $f$ the activated (granzyme B/perforin) fraction and
$\\kappa_{ADCC}$ the antibody stage's ADCC kill rate of coated cells
(``tumour_adcc_kill_rate``: 0 without an antibody, or for an antigen-negative
tumour, ``tumour_antigen_per_cell = 0``), scaled by the tumour's accessibility
$a$ (nodal and bulky disease is reached by fewer effector cells than blood);
$a \\kappa_{ADCC}$ is ``tumour_adcc_loss``, the rate at which antibody bound to
tumour cells is lost with them. ``tumour_fraction`` is the
tumour relative to its size at the start.
"""

from __future__ import annotations

import sympy as sp

from ...parameters import ParameterSpec
from ..definition import Quantity, Stage, State, symbols


def tumour() -> Stage:
    """Gompertzian tumour, immune kill and ADCC."""
    t, nk_fold, cd8_fold, activated, adcc, loss = symbols(
        "tumour_cells nk_fold cd8_fold activated_fold tumour_adcc_kill_rate tumour_adcc_loss")
    t0, r, k_cap, k_kill, w, index, access = symbols(
        "tumour_cells_0 tumour_growth tumour_capacity tumour_kill w_kill_nk cytotoxic_index "
        "tumour_adcc_access")
    size = sp.Max(t, 1e-12 * t0)
    return Stage(
        name="tumour",
        description=__doc__,
        states=(State("tumour_cells", "cells", "tumour cells", initial=t0, nonnegative=True),),
        parameters=(
            ParameterSpec("tumour_cells_0", "cells", 0.0, 1e14, "tumour cells at the start"),
            ParameterSpec("tumour_growth", "1/h", 0.0, 10.0, "Gompertz growth rate constant"),
            ParameterSpec("tumour_capacity", "cells", 1.0, 1e15, "Gompertz carrying capacity"),
            ParameterSpec("tumour_kill", "1/h", 0.0, 10.0,
                          "kill rate per unit of extra cytotoxic activity"),
            ParameterSpec("w_kill_nk", "1", 0.0, 1.0, "share of the kill by NK (rest: CD8) cells"),
            ParameterSpec("tumour_adcc_access", "1", 0.0, 1.0,
                          "ADCC kill rate of coated tumour cells relative to circulating B cells"),
        ),
        quantities=(
            Quantity("cytotoxic_index", (w * nk_fold + (1 - w) * cd8_fold) * activated, "1",
                     "cytotoxic activity of NK and CD8 cells, 1 at baseline", reported=True),
            Quantity("tumour_fraction", sp.Piecewise((t / t0, t0 > 0), (0.0, True)), "1",
                     "tumour relative to its size at the start", reported=True),
            Quantity("tumour_adcc_loss", access * adcc, "1/h",
                     "ADCC kill rate of tumour cells (accessibility x their ADCC rate)"),
        ),
        rates={"tumour_cells": sp.Piecewise(
            (0.0, t0 <= 0),
            ((r * sp.log(k_cap / size) - k_kill * (index - 1) - loss) * t, True))},
        inputs={"nk_fold": None, "cd8_fold": None, "activated_fold": None,
                "tumour_adcc_kill_rate": 0.0},
        time_unit="h",
    )
