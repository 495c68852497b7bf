"""simulate(): invariants, cross-solver agreement, result schema, option checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import series

import il21pk as ip

REGIMEN = ip.Regimen.five_on_nine_off(ip.Dose(30.0, unit="ug/kg"), cycles=2)


@pytest.fixture(scope="module")
def default_run(model, human):
    return ip.simulate(model, REGIMEN, human, t_end=28 * 24)


def test_no_dose_leaves_every_variable_at_baseline(model, human):
    res = ip.simulate(model, ip.Regimen.none(), human, t_end=240.0)
    wide = res.wide().drop(columns=["time_h", "il21_auc [nM*h]", "ifng_auc [pg*h/mL]"])
    np.testing.assert_allclose(wide.to_numpy(), np.broadcast_to(wide.iloc[0], wide.shape),
                               rtol=1e-12, atol=1e-15)


def test_states_stay_non_negative(default_run):
    # undershoots of zero within the absolute tolerance are reported as 0 (the
    # built-in states are amounts, concentrations, counts, fractions)
    assert default_run.frame["value"].min() >= 0.0


def test_only_undershoots_within_atol_are_clipped(model):
    from il21pk.engine.kernels import clip_undershoot

    states = np.full((1, 3, model.n_states), -5e-10)
    states[0, 1] = -2e-9  # beyond atol: a real error, kept
    states[0, 2] = 0.5
    clip_undershoot(model, states, atol=1e-9)
    assert (states[0, 0] == 0).all() and (states[0, 1] == -2e-9).all()
    assert (states[0, 2] == 0.5).all()


def test_compiled_bdf_agrees_with_scipy_radau(model, human):
    grid = np.arange(0.0, 14 * 24 + 1.0, 2.0)
    reg = ip.Regimen.repeat(ip.Dose(30.0), every=24, count=5)
    ours = ip.simulate(model, reg, human, t_end=14 * 24, t_eval=grid, rtol=1e-8, atol=1e-12)
    radau = ip.simulate(model, reg, human, t_end=14 * 24, t_eval=grid, method="Radau",
                        rtol=1e-10, atol=1e-14)
    for var in ("il21_plasma", "receptor_occupancy", "pstat3", "nk_blood", "ifng_plasma"):
        a, b = series(ours, var)[1], series(radau, var)[1]
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6 * np.abs(b).max(), err_msg=var)


def test_tight_tolerances_hold_after_a_late_dose(model, human):
    # a fast binding transient after the day-15 dose needs steps far below the
    # float spacing at t = 336 h; each interval is integrated in time since its start
    params = human.with_values(kon=360.0, cl=2.9)
    reg = ip.Regimen.days(ip.Dose(60.0, unit="ug/kg"), [1, 15])
    tight = ip.simulate(model, reg, params, t_end=400.0, rtol=1e-10, atol=1e-13)
    loose = ip.simulate(model, reg, params, t_end=400.0)
    for var in ("il21_plasma", "receptor_occupancy", "nk_blood", "ifng_plasma"):
        a, b = series(loose, var)[1], series(tight, var)[1]
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-4 * np.abs(b).max(), err_msg=var)


def test_default_tolerances_are_accurate_to_1e5_on_metrics(model, human, default_run):
    ref = ip.simulate(model, REGIMEN, human, t_end=28 * 24, method="LSODA", rtol=1e-11,
                      atol=1e-15)
    a = default_run.metrics().set_index(["variable", "metric"])["value"]
    b = ref.metrics().set_index(["variable", "metric"])["value"]
    for var in ("il21_plasma", "nk_blood", "cd8_blood", "ifng_plasma", "pstat3"):
        for metric in ("cmax", "auc"):
            assert a[var, metric] == pytest.approx(b[var, metric], rel=1e-5), (var, metric)


def test_frame_is_tidy(default_run, model):
    f = default_run.frame
    assert list(f.columns) == ["time_h", "stage", "variable", "value", "unit"]
    assert isinstance(f.index, pd.RangeIndex)
    assert f["value"].dtype == np.float64 and not f["value"].isna().any()
    assert list(f["variable"].unique()) == [v.name for v in model.variables]
    assert set(f["stage"].unique()) == {"pk", "binding", "signalling", "cells", "ifn"}
    grid = f.loc[f["variable"] == "il21_plasma", "time_h"].to_numpy()
    assert grid[0] == 0.0 and grid[-1] == 28 * 24 and np.all(np.diff(grid) > 0)
    assert f.loc[f["variable"] == "ifng_plasma", "unit"].unique().tolist() == ["pg/mL"]


def test_wide_has_one_labelled_column_per_variable(default_run, model):
    w = default_run.wide()
    assert list(w.columns) == ["time_h"] + [f"{v.name} [{v.unit}]" for v in model.variables]
    assert len(w) == len(default_run.frame) // len(model.variables)


def test_metrics_are_consistent_with_the_curve(default_run):
    m = default_run.metrics()
    assert list(m.columns) == ["variable", "metric", "value", "unit"]
    m = m.set_index(["variable", "metric"])
    t, nk = series(default_run, "nk_blood")
    assert m.loc[("nk_blood", "cmin"), "value"] == nk.min()
    assert m.loc[("nk_blood", "nadir_fold_change"), "value"] == pytest.approx(nk.min() / nk[0])
    assert m.loc[("il21_plasma", "tmax"), "value"] in REGIMEN.to_frame()["time_h"].tolist()
    assert m.loc[("il21_plasma", "auc"), "unit"] == "nM*h"


def test_bolus_value_reported_at_dose_time_is_post_dose(model, human):
    res = ip.simulate(model, ip.Dose(30.0, time=5.0), human, t_end=10.0)
    t, c = series(res, "il21_plasma")
    assert c[t == 4.0].item() == 0.0
    expected = 30.0 * human.value("body_weight") / human.value("mw") / human.value("v_central")
    assert c[t == 5.0].item() == pytest.approx(expected, rel=1e-12)


def test_inputs_are_not_mutated(model, human):
    before = human.to_frame().copy()
    regimen_before = REGIMEN.to_frame().copy()
    grid = np.array([0.0, 1.0, 2.0])
    ip.simulate(model, REGIMEN, human, t_end=2.0, t_eval=grid)
    pd.testing.assert_frame_equal(human.to_frame(), before)
    pd.testing.assert_frame_equal(REGIMEN.to_frame(), regimen_before)
    np.testing.assert_array_equal(grid, [0.0, 1.0, 2.0])


def test_solver_failure_raises_simulation_error_with_a_suggestion(model, human):
    pattern = r"integration failed at t=[0-9.e-]+ h \(numba-bdf\): too many steps .*max_steps"
    with pytest.raises(ip.SimulationError, match=pattern):
        ip.simulate(model, REGIMEN, human, t_end=100.0, max_steps=5)


def test_solver_failure_can_be_returned(model, human):
    res = ip.simulate(model, REGIMEN, human, t_end=100.0, max_steps=5, raise_on_failure=False)
    assert not res.success and "too many steps" in res.message


def test_result_knows_what_produced_it(default_run, human):
    assert default_run.params is human and default_run.regimen == REGIMEN
    assert default_run.options["method"] == "numba-bdf"
    assert "Zhang2003" in default_run.references()


@pytest.mark.parametrize("kwargs,match", [
    ({"t_end": 0.0}, r"`t_end` must be a finite number > 0 h; got 0.0"),
    ({"t_end": -5.0}, r"`t_end` must be .* got -5.0"),
    ({"t_end": float("nan")}, r"`t_end` must be .* got nan"),
    ({"t_end": 10.0, "t_eval": [0.0, 2.0, 1.0]}, r"`t_eval` must be strictly increasing"),
    ({"t_end": 10.0, "t_eval": [0.0, 11.0]}, r"`t_eval` must lie within \[0, t_end=10\]"),
    ({"t_end": 10.0, "t_eval": [-1.0, 1.0]}, r"`t_eval` must lie within"),
    ({"t_end": 10.0, "t_eval": [0.0, np.nan]}, r"`t_eval` must not contain NaN"),
    ({"t_end": 10.0, "method": "euler"}, r"`method` must be one of .*got 'euler'"),
    ({"t_end": 10.0, "rtol": 0.0}, r"`rtol` must be a number in \(0, 1\); got 0.0"),
    ({"t_end": 10.0, "max_steps": 0}, r"`max_steps` must be an integer >= 1; got 0"),
])
def test_bad_options_are_named(model, human, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ip.simulate(model, ip.Dose(1.0), human, **kwargs)


def test_doses_after_t_end_do_not_change_the_window(model, human):
    one_cycle = ip.Regimen.five_on_nine_off(ip.Dose(30.0))
    a = ip.simulate(model, REGIMEN, human, t_end=100.0).frame
    b = ip.simulate(model, one_cycle, human, t_end=100.0).frame
    pd.testing.assert_frame_equal(a, b)


def test_wrong_argument_types_are_named(model, human):
    with pytest.raises(TypeError, match="`regimen` must be an il21pk Regimen or Dose"):
        ip.simulate(model, 30.0, human, t_end=10.0)
    with pytest.raises(TypeError, match="`params` must be an il21pk ParameterSet"):
        ip.simulate(model, ip.Dose(1.0), {"cl": 1.0}, t_end=10.0)
    with pytest.raises(TypeError, match="`model` must be an il21pk Model"):
        ip.simulate("full", ip.Dose(1.0), human, t_end=10.0)
