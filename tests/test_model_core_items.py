"""Model-core items of issue 14 (fixed by the model-core rewrite): occupancy without
receptors, no receptor-bearing cells, negative concentrations in default runs, and
the receptor sink under allometric scaling."""

from __future__ import annotations

import numpy as np
import pytest

import il21pk as ip

REG = ip.Regimen.single(ip.Dose(30.0))


def test_occupancy_without_receptors_is_not_noise(human):
    res = ip.simulate(ip.Model.in_vitro_v1(), ip.Dose(10.0, unit="ng"),
                      human.with_values(il21r_per_cell=0.0), t_end=24.0,
                      raise_on_failure=False)
    occupancy = res.frame.query("variable == 'receptor_occupancy'")["value"]
    # with no receptor there is nothing to occupy: 0 (or NaN), never a near-full fraction
    assert res.success and not (occupancy.abs() > 1e-6).any()


def test_no_receptor_cells_simulates(model, human):
    res = ip.simulate(model, REG, human.with_values(receptor_cells=0.0), t_end=24.0,
                      raise_on_failure=False)
    assert res.success and np.isfinite(res.frame["value"]).all()


def test_default_run_has_no_negative_concentrations(model, human):
    frame = ip.simulate(model, REG, human, t_end=672.0).frame
    for name in ("il21_plasma", "pstat3"):
        assert frame.query("variable == @name")["value"].min() >= 0.0, name


def test_receptor_concentration_does_not_depend_on_body_weight(model, human):
    pop = ip.virtual_population(human, 40, {}, body_weight={"median": 70.0, "cv": 0.4},
                                seed=2)
    ends = pop.iloc[[pop["body_weight"].idxmin(), pop["body_weight"].idxmax()]]
    base = ip.sweep(model, REG, human, samples=ends.reset_index(drop=True), t_end=1.0,
                    variables=["il21r_free"], metrics=["baseline"], executor="serial")
    light, heavy = base["value"].to_numpy()
    assert heavy == pytest.approx(light, rel=1e-6)
