"""NCA against hand-computed values and closed forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import il21pk as ip


def _curve(t, c, **extra):
    return pd.DataFrame({"time_h": t, "value": c, **extra})


def test_hand_computed_small_curve():
    t = np.array([0.0, 1.0, 2.0, 4.0, 8.0])
    c = np.array([0.0, 10.0, 8.0, 4.0, 1.0])
    row = ip.nca(_curve(t, c), by=[]).iloc[0]
    # linear up (0->1), log down after: (c1-c2)*dt/ln(c1/c2)
    expected = 5.0 + 2 / np.log(10 / 8) + 8 / np.log(2) + 12 / np.log(4)
    assert row["auc_last"] == pytest.approx(expected, rel=1e-12)
    assert (row["cmax"], row["tmax"], row["clast"], row["tlast"]) == (10.0, 1.0, 1.0, 8.0)
    linear = ip.nca(_curve(t, c), by=[], method="linear").iloc[0]
    assert linear["auc_last"] == pytest.approx(5 + 9 + 12 + 10, rel=1e-12)
    # the last three points (2, 4, 8 h) lie on one exponential: lambda_z = ln 2 / 2
    assert row["lambda_z"] == pytest.approx(np.log(2) / 2, rel=1e-12)
    assert row["lambda_z_n"] == 3 and row["lambda_z_t_first"] == 2.0
    assert row["half_life"] == pytest.approx(2.0, rel=1e-12)
    assert row["auc_inf"] == pytest.approx(expected + 1.0 / (np.log(2) / 2), rel=1e-12)


def test_adjusted_r2_prefers_more_points_when_equally_good():
    t = np.arange(0.0, 13.0)
    c = 100 * np.exp(-0.3 * t)
    c[0] = 50.0  # rising first point so tmax is 1 h
    row = ip.nca(_curve(t, c), by=[]).iloc[0]
    assert row["lambda_z_n"] == 11  # all points after tmax are on the line
    assert row["lambda_z"] == pytest.approx(0.3, rel=1e-10)


def test_given_terminal_points_are_used():
    t = np.array([0.0, 1.0, 2.0, 4.0, 8.0, 12.0])
    c = np.array([0.0, 10.0, 8.0, 4.0, 1.0, 0.5])
    row = ip.nca(_curve(t, c), by=[], points=[8.0, 12.0]).iloc[0]
    assert row["lambda_z"] == pytest.approx(np.log(2) / 4) and row["lambda_z_n"] == 2


def test_simulated_one_compartment_auc_equals_dose_over_cl(drug):
    res = ip.simulate(ip.Model.pk_only(compartments=1), ip.Dose(50.0, unit="nmol"), drug,
                      t_end=72.0, t_eval=np.arange(0.0, 72.1, 0.5), rtol=1e-10, atol=1e-14)
    row = ip.nca(res.frame[res.frame["variable"] == "il21_plasma"], dose=50.0).iloc[0]
    assert row["auc_inf"] == pytest.approx(50.0 / 2.0, rel=1e-6)
    assert row["cl"] == pytest.approx(2.0, rel=1e-6)
    assert row["vz"] == pytest.approx(10.0, rel=1e-5)
    assert row["half_life"] == pytest.approx(np.log(2) / 0.2, rel=1e-6)


def test_pd_curves_and_groups(model, human):
    traj = ip.sweep(model, ip.Regimen.single(ip.Dose(30.0)), human, grid={"dose": [3, 30]},
                    t_end=72.0, output="trajectories", variables=["ifng_plasma", "pstat3"])
    table = ip.nca(traj)
    assert list(table[["run", "variable"]].astype(str).itertuples(index=False, name=None)) == [
        ("0", "ifng_plasma"), ("0", "pstat3"), ("1", "ifng_plasma"), ("1", "pstat3")]
    assert table.loc[2, "cmax"] > table.loc[0, "cmax"]


@pytest.mark.parametrize("frame,match", [
    (_curve([0, 1], [1, 2]).drop(columns="value"), r"missing column\(s\) \['value'\]"),
    (_curve([0, 1, 2], [1, np.nan, 2]), r"column 'value' must be numeric without NaN; row 1"),
    (_curve([0, 2, 1], [1, 2, 3]), r"times must increase within each curve"),
])
def test_bad_data_is_named(frame, match):
    with pytest.raises(ip.DataError, match=match):
        ip.nca(frame, by=[])
