"""Model v2: the stage chains of ``Model.v2()``, ``Model.oncology()`` and
``Model.in_vitro_v2()``.

Model v2 tells the published IL-21 story with two dosed cytokines:

    IL-21 and IL-15 doses -> PK (allometric) -> IL-21R / IL-2R-beta / gamma-c
    binding and trafficking -> pSTAT3 / pSTAT5 -> NK and CD8 cells
    (redistribution, expansion, activation) -> IFN-gamma, sCD25
    + anti-drug antibodies, toxicity (ALT, platelets)
    [+ tumour cells and a therapeutic antibody with ADCC: ``Model.oncology()``]

It is built from its own stages (``il21pk/model/stages/``), so the v1 model that
``Model.v1()`` builds is unchanged. Model v2 is the default, ``Model()``.
"""

from __future__ import annotations

from .definition import Stage
from .stages.ada import ada
from .stages.allometric_pk import allometric_pk
from .stages.antibody import antibody
from .stages.effectors import effectors
from .stages.interferon import interferon
from .stages.scd25 import scd25
from .stages.stat import stat
from .stages.toxicity import toxicity
from .stages.trafficking import trafficking
from .stages.tumour import tumour

#: The IL-21 parameters v2 shares with v1 (same meaning, unit and value).
IL21_SHARED = {"mw": "mw", "ka": "ka", "f_sc": "f_sc", "tlag_sc": "tlag_sc"}


def v2_chain(*, safety: bool = True) -> list[Stage]:
    """The v2 stages in data-flow order.

    Parameters
    ----------
    safety : bool
        Include the anti-drug antibody and toxicity stages (the in vitro
        variant leaves them out).
    """
    stages = [
        allometric_pk("il21", prefix="il21_", description="IL-21", shared=IL21_SHARED,
                      cmt={1: "il21_depot", 2: "il21_central"}),
        allometric_pk("il15", prefix="il15_", description="IL-15", owns_scaling=False,
                      cmt={3: "il15_depot", 4: "il15_central"}),
        trafficking(), stat(), effectors(), interferon(), scd25(),
    ]
    if safety:
        stages += [ada("il21"), toxicity("il21")]
    return stages


def oncology_chain() -> list[Stage]:
    """The v2 stages plus the therapeutic antibody and the tumour."""
    chain = v2_chain()
    at = [s.name for s in chain].index("receptors")
    return [*chain[:at], antibody(), *chain[at:], tumour()]


def culture_fixed(volume_ml: float, nk_cells: float, cd8_cells: float) -> dict[str, float]:
    """Parameters a v2 culture well fixes: its volume, its cells, no PK, no body.

    The well's volume is both cytokines' central volume (at the 70 kg
    reference weight, so no allometric scaling applies), nothing is cleared
    but by the cells' receptors, cells neither marginate nor contract back to
    a baseline, and the receptor-bearing cells are the NK and CD8 cells seeded.
    """
    per_ul = 1.0 / (volume_ml * 1e3)
    litres = volume_ml * 1e-3
    fixed = {"body_weight": 70.0, "nk_blood_0": nk_cells * per_ul,
             "cd8_blood_0": cd8_cells * per_ul, "marginated_ratio": 0.0, "k_return": 0.0,
             "emax_margination_il21": 0.0, "emax_margination_il15": 0.0,
             "receptor_cells": nk_cells + cd8_cells, "k_contraction": 0.0,
             "ka": 0.0, "f_sc": 1.0, "tlag_sc": 0.0}
    for drug in ("il21", "il15"):
        fixed.update({f"{drug}_v_central_ref": litres, f"{drug}_cl_ref": 0.0,
                      f"{drug}_q_ref": 0.0, f"{drug}_v_peripheral_ref": 1.0})
    fixed.update({"il15_ka": 0.0, "il15_f_sc": 1.0, "il15_tlag_sc": 0.0})
    return fixed
