"""Model-core items of issue 14, owned by the model rewrite: failing today, so marked
strict xfail (they turn into errors the day they pass, and the marker comes off)."""

from __future__ import annotations

import numpy as np
import pytest

import il21pk as ip

REG = ip.Regimen.single(ip.Dose(30.0))


@pytest.mark.xfail(strict=True, reason="model core rewrite: il21r_per_cell=0 (inside its "
                                       "bounds) gives a receptor occupancy of noise/noise "
                                       "(up to 0.9999 here, -14.7 to 16.1 in the issue)")
def test_occupancy_without_receptors_is_not_noise(human):
    res = ip.simulate(ip.Model.in_vitro(), ip.Dose(10.0, unit="ng"),
                      human.with_values(il21r_per_cell=0.0), t_end=24.0,
                      raise_on_failure=False)
    occupancy = res.frame.query("variable == 'receptor_occupancy'")["value"]
    # with no receptor there is nothing to occupy: 0 (or NaN), never a near-full fraction
    assert res.success and not (occupancy.abs() > 1e-6).any()


@pytest.mark.xfail(strict=True, reason="model core rewrite: receptor_cells=0 is 0/0 at t=0 "
                                       "(the failure message suggests another solver)")
def test_no_receptor_cells_simulates(model, human):
    res = ip.simulate(model, REG, human.with_values(receptor_cells=0.0), t_end=24.0,
                      raise_on_failure=False)
    assert res.success and np.isfinite(res.frame["value"]).all()


@pytest.mark.xfail(strict=True, reason="model core rewrite: a default run has negative "
                                       "concentrations (plasma IL-21 to -5.7e-14 nM)")
def test_default_run_has_no_negative_concentrations(model, human):
    frame = ip.simulate(model, REG, human, t_end=672.0).frame
    for name in ("il21_plasma", "pstat3"):
        assert frame.query("variable == @name")["value"].min() >= 0.0, name


@pytest.mark.xfail(strict=True, reason="model core rewrite: allometry does not scale "
                                       "receptor_cells, so the receptor concentration falls "
                                       "as 1/weight")
def test_receptor_concentration_does_not_depend_on_body_weight(model, human):
    pop = ip.virtual_population(human, 40, {}, body_weight={"median": 70.0, "cv": 0.4},
                                seed=2)
    ends = pop.iloc[[pop["body_weight"].idxmin(), pop["body_weight"].idxmax()]]
    base = ip.sweep(model, REG, human, samples=ends.reset_index(drop=True), t_end=1.0,
                    variables=["il21r_free"], metrics=["baseline"], executor="serial")
    light, heavy = base["value"].to_numpy()
    assert heavy == pytest.approx(light, rel=1e-6)
