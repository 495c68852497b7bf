"""Plots refuse frames they would draw wrongly and label what they draw (review fixes)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

import il21pk as ip
from il21pk.analysis.dose_response import fit_emax
from il21pk.errors import DataError, InputTypeError, OptionError

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _summary(values: dict[tuple[float, float, float], float]) -> pd.DataFrame:
    """A sweep summary over dose x il21_cl_ref x kp_nk_il21 with the given values."""
    rows = [{"run": i, "dose": d, "il21_cl_ref": c, "kp_nk_il21": k, "variable": "nk_blood",
             "metric": "cmax", "value": v, "unit": "cells/uL", "success": True, "message": ""}
            for i, ((d, c, k), v) in enumerate(values.items())]
    return pd.DataFrame(rows)


def _trajectories(column: str) -> pd.DataFrame:
    """Two curves of one variable told apart by `column` (``run`` or ``subject``)."""
    t = np.arange(0.0, 25.0, 6.0)
    curve = np.exp(-t / 5)
    return pd.DataFrame({column: np.repeat([1, 2], len(t)), "time_h": np.tile(t, 2),
                         "variable": "il21_plasma", "value": np.r_[curve, 2 * curve],
                         "unit": "nM"})


@pytest.fixture(scope="module")
def pk_curve(drug) -> tuple[pd.DataFrame, pd.Series]:
    """A one-compartment simulation's whole tidy frame and the NCA row of its plasma curve."""
    res = ip.simulate(ip.Model.pk_only(compartments=1), ip.Dose(50.0, unit="nmol"), drug,
                      t_end=24.0, t_eval=np.arange(0.0, 24.1, 2.0))
    row = ip.nca(res.frame[res.frame["variable"] == "il21_plasma"], dose=50.0).iloc[0]
    return res.frame, row


def test_sweep_heatmap_refuses_a_third_varying_column():
    grid = [(d, c, k) for d in (1.0, 100.0) for c in (1.0, 3.0) for k in (0.1, 10.0)]
    frame = _summary({key: 10.0 + i for i, key in enumerate(grid)})
    before = frame.copy()
    with pytest.raises(DataError, match=r"several rows.*\['kp_nk_il21'\].*filter the frame"):
        ip.plotting.sweep_heatmap(frame, "dose", "il21_cl_ref", variable="nk_blood",
                                  metric="cmax")
    pd.testing.assert_frame_equal(frame, before)
    one = frame[frame["kp_nk_il21"] == 0.1]
    ax = ip.plotting.sweep_heatmap(one, "dose", "il21_cl_ref", variable="nk_blood",
                                   metric="cmax")
    np.testing.assert_allclose(ax.collections[0].get_array().ravel(), [10.0, 14.0, 12.0, 16.0])


def test_sweep_heatmap_log_colour_scale():
    frame = _summary({(1.0, 1.0, 1.0): 1.0, (2.0, 1.0, 1.0): 10.0,
                      (1.0, 3.0, 1.0): 100.0, (2.0, 3.0, 1.0): 1e4})
    ax = ip.plotting.sweep_heatmap(frame, "dose", "il21_cl_ref", variable="nk_blood",
                                   metric="cmax")
    assert isinstance(ax.collections[0].norm, LogNorm)
    ax = ip.plotting.sweep_heatmap(frame, "dose", "il21_cl_ref", variable="nk_blood",
                                   metric="cmax", log=False)
    assert not isinstance(ax.collections[0].norm, LogNorm)
    frame.loc[0, "value"] = 0.0
    with pytest.raises(DataError, match=r"log=True.*> 0.*smallest is 0.*log=False"):
        ip.plotting.sweep_heatmap(frame, "dose", "il21_cl_ref", variable="nk_blood",
                                  metric="cmax")


def test_nca_profile_needs_one_known_variable(pk_curve):
    frame, row = pk_curve
    with pytest.raises(DataError, match=r"several variables.*'il21_plasma'.*variable="):
        ip.plotting.nca_profile(frame, row)
    with pytest.raises(DataError, match=r"'il21_plasm' is not in the frame.*'il21_plasma'"):
        ip.plotting.nca_profile(frame, row, variable="il21_plasm")
    ax = ip.plotting.nca_profile(frame[frame["variable"] == "il21_plasma"], row)
    assert len(ax.get_lines()[1].get_xdata()) == row["lambda_z_n"]
    assert ax.get_ylabel() == "il21_plasma [nM]"


def test_nca_profile_refuses_a_row_of_another_curve(pk_curve):
    """A row whose terminal phase lies outside the frame's times raised IndexError from
    deep inside (c[used][0]); a Series without the NCA columns raised KeyError."""
    frame, row = pk_curve
    curve = frame[frame["variable"] == "il21_plasma"]
    early = curve[curve["time_h"] < row["lambda_z_t_first"]]
    with pytest.raises(DataError, match=r"no value > 0 in nca_row's terminal phase \[.*\]"):
        ip.plotting.nca_profile(early, row)
    with pytest.raises(DataError, match=r"nca_row lacks \['lambda_z', "):
        ip.plotting.nca_profile(curve, pd.Series({"auc_last": 1.0}))


@pytest.mark.parametrize("column", ["run", "subject"])
def test_one_curve_plots_refuse_several_runs(column):
    frame = _trajectories(column)
    with pytest.raises(DataError, match=rf"time_course draws one curve.*2 values of '{column}'"):
        ip.plotting.time_course(frame, "il21_plasma")
    with pytest.raises(DataError, match=rf"2 values of '{column}'"):
        ip.plotting.overview(frame, ["il21_plasma"])
    row = pd.Series({"lambda_z_t_first": 6.0, "lambda_z_t_last": 24.0, "lambda_z_n": 4,
                     "lambda_z": 0.2, "half_life": np.log(2) / 0.2})
    with pytest.raises(DataError, match=rf"nca_profile draws one curve.*'{column}'"):
        ip.plotting.nca_profile(frame, row, variable="il21_plasma")
    ax = ip.plotting.time_course(frame[frame[column] == 2], "il21_plasma")
    assert np.all(np.diff(ax.get_lines()[0].get_xdata()) > 0)


def test_dose_response_band_level_and_control():
    doses = np.array([0.0, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0])
    noise = np.array([0.02, -0.03, 0.01, 0.04, -0.02, 0.01, -0.01])
    values = 1.0 + 9.0 * doses / (5.0 + doses) + noise
    fit = fit_emax(doses, values, hill_fixed=1.0, level=0.8)
    frame = pd.DataFrame({"dose": doses, "unit": "ug/kg", "response": "nk_blood",
                          "endpoint": "cmax", "value": values, "value_unit": "cells/uL",
                          "success": True, "message": ""})
    result = ip.DoseResponseResult(frame, fit, "nk_blood", "cmax", "ug/kg", "cells/uL")
    ax = ip.plotting.dose_response(result)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "80 % CI" in labels and "95 % CI" not in labels
    (control,) = [line for line in ax.get_lines() if "control" in line.get_label()]
    np.testing.assert_allclose(control.get_ydata(), [values[0]])
    (points,) = [line for line in ax.get_lines() if line.get_label() == "simulated"]
    np.testing.assert_allclose(points.get_xdata(), doses[1:])


@pytest.mark.parametrize("percentiles", [(5,), (5, 150), (95, 5), (-1, 50), (5, 50, 95)])
def test_population_percentiles_out_of_range(percentiles):
    with pytest.raises(OptionError, match=r"`percentiles` must be two numbers.*0 <= low < high"):
        ip.plotting.population(_trajectories("run"), "il21_plasma", percentiles=percentiles)


@pytest.mark.parametrize("percentiles", [5, ("a", "b"), (True, 95)])
def test_population_percentiles_wrong_type(percentiles):
    with pytest.raises(InputTypeError, match="`percentiles` must be two numbers"):
        ip.plotting.population(_trajectories("run"), "il21_plasma", percentiles=percentiles)


def test_population_band_may_start_at_the_median():
    frame = _trajectories("run")
    ax = ip.plotting.population(frame, "il21_plasma", percentiles=(50, 95))
    (median,) = ax.get_lines()
    expected = frame.groupby("time_h")["value"].median().to_numpy()
    np.testing.assert_allclose(median.get_ydata(), expected)
    assert [t.get_text() for t in ax.get_legend().get_texts()][0] == "50-95th percentile"


def test_sensitivity_plots_refuse_frames_without_their_indices():
    empty = pd.DataFrame(columns=["parameter", "output", "metric", "index", "value", "conf"])
    with pytest.raises(DataError, match="no local normalised sensitivities"):
        ip.plotting.tornado(empty)
    with pytest.raises(DataError, match="no Sobol indices"):
        ip.plotting.sobol_bars(empty)


def test_overview_draws_every_variable_or_says_why_not():
    # three variables on two axes drew two, without a word; one name was read letter by
    # letter ("variable 'i' is not in the frame")
    model = ip.Model.pk_only(compartments=1)
    frame = ip.simulate(model, ip.Dose(10.0, unit="nmol"), None, t_end=4.0).frame
    axes = ip.plotting.overview(frame, "il21_plasma")
    assert axes[0].get_lines() and axes[0].get_visible()
    _, two = plt.subplots(1, 2)
    with pytest.raises(OptionError, match="3 variables need 3 axes; got 2"):
        ip.plotting.overview(frame, ["il21_plasma", "il21_depot", "il21_auc"], axes=two)


def test_sweep_heatmap_labels_text_columns_and_refuses_nothing_to_draw():
    frame = _summary({(d, c, 1.0): d * c for d in (1.0, 10.0) for c in (1.0, 2.0)})
    frame["regimen"] = frame["dose"].map({1.0: "weekly", 10.0: "daily"})
    ax = ip.plotting.sweep_heatmap(frame, "regimen", "il21_cl_ref", variable="nk_blood",
                                   metric="cmax")  # a format error on the text labels
    assert sorted(t.get_text() for t in ax.get_xticklabels()) == ["daily", "weekly"]
    frame["value"] = np.nan  # every run failed: matplotlib's "Invalid vmin or vmax"
    with pytest.raises(DataError, match="every cmax of nk_blood is NaN or inf"):
        ip.plotting.sweep_heatmap(frame, "dose", "il21_cl_ref", variable="nk_blood",
                                  metric="cmax")


def test_population_says_when_runs_failed():
    # the band of the successful runs was drawn under the usual label, and a frame of
    # failed runs only gave empty axes, both without a word
    frame = _trajectories("run").assign(success=True)
    frame.loc[frame["run"] == 2, ["value", "success"]] = [np.nan, False]
    with pytest.warns(UserWarning, match="1 of 2 runs failed"):
        ip.plotting.population(frame, "il21_plasma")
    frame["value"] = np.nan
    with pytest.raises(DataError, match="every value of il21_plasma is NaN"):
        ip.plotting.population(frame, "il21_plasma")


def test_time_course_draws_rows_in_time_order_and_a_single_point():
    frame = _trajectories("run")
    one = frame[frame["run"] == 1]
    shuffled = one.sample(frac=1.0, random_state=0)
    ax = ip.plotting.time_course(shuffled, "il21_plasma")
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(),
                                  np.sort(one["time_h"].to_numpy()) / 24.0)  # was a zig-zag
    single = ip.plotting.time_course(one.iloc[:1], "il21_plasma")
    assert single.get_lines()[0].get_marker() == "o"  # a line of one point was invisible
