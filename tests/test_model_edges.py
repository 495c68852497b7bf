"""Edge values inside the hard bounds give physical answers (issue 14's
model-structure findings; see also test_model_core_items.py), and allometry
keeps the receptor sink per volume."""

from __future__ import annotations

import numpy as np
import pytest

import il21pk as ip


@pytest.mark.parametrize("edge", [{"receptor_cells": 0.0},
                                  {"nk_blood_0": 0.0, "cd8_blood_0": 0.0},
                                  {"il21r_per_cell": 0.0, "gc_per_cell": 0.0}])
def test_no_cells_or_no_receptors_simulate_to_finite_physical_values(human, edge):
    """These failed at t = 0 (0/0 in the per-cell scale and the cell fold)."""
    params = human.with_values(**edge, source="edge")
    res = ip.simulate(ip.Model.v1(), ip.Regimen.five_on_nine_off(ip.Dose(30.0)), params,
                      t_end=336)
    values = res.frame["value"].to_numpy()
    assert np.all(np.isfinite(values))
    assert values.min() >= -1e-9  # within the solver's absolute tolerance of 0
    wide = res.wide()
    if "receptor_cells" in edge or "il21r_per_cell" in edge:
        # no receptors: no uptake, the PK is linear (AUC = dose / CL exactly)
        assert wide["complexes_per_cell [1/cell]"].abs().max() == 0.0
        dose_nmol = 5 * 30.0 * human.value("body_weight") / human.value("mw")  # 5 doses
        eliminated = wide["il21_auc [nM*h]"].iloc[-1] * human.value("cl")
        assert eliminated == pytest.approx(dose_nmol, rel=1e-4)


def test_allometry_keeps_the_receptor_sink_concentration(human):
    pop = ip.virtual_population(human, 200, {}, body_weight={"median": 70.0, "cv": 0.3}, seed=1)
    ratio = pop["receptor_cells"] / pop["v_central"]
    np.testing.assert_allclose(ratio, human.value("receptor_cells") / human.value("v_central"),
                               rtol=1e-12)
    custom = ip.Model.pk_only().parameter_set(base=human)  # no receptor_cells: not scaled
    assert "receptor_cells" not in ip.virtual_population(
        custom, 5, {}, body_weight={"median": 70.0}, seed=1).columns
