"""summarise(): the one-pass curve statistics follow numpy, NaN rules included; and
metrics see a peak between a dose and the next output time."""

from __future__ import annotations

import numpy as np
import pytest

import il21pk as ip
from il21pk.analysis.metrics import summarise


def test_curve_statistics_match_numpy_including_ties_and_nan():
    rng = np.random.default_rng(7)
    times = np.cumsum(rng.uniform(0.1, 2.0, 40))
    values = rng.normal(size=(6, 40))
    values[1, [5, 20]] = values[1].max() + 1.0  # tied maximum: the first index wins
    values[2, [3, 30]] = values[2].min() - 1.0  # tied minimum
    values[3, 12:] = np.nan  # a run that failed part-way
    values[4, 0] = np.nan  # NaN at the first point
    values[5] = 2.5  # flat
    stats = summarise(times, {"x": values})["x"]
    np.testing.assert_array_equal(stats["cmax"], np.max(values, axis=1))
    np.testing.assert_array_equal(stats["cmin"], np.min(values, axis=1))
    np.testing.assert_array_equal(stats["tmax"], times[np.argmax(values, axis=1)])
    np.testing.assert_array_equal(stats["tmin"], times[np.argmin(values, axis=1)])
    np.testing.assert_allclose(stats["auc"], np.trapezoid(values, times, axis=1), rtol=1e-13)


def test_curve_statistics_accept_strided_and_batched_curves():
    rng = np.random.default_rng(8)
    times = np.linspace(0.0, 10.0, 11)
    states = rng.normal(size=(3, 11, 4))  # (N, T, states): a state is a strided view
    stats = summarise(times, {"s": states[..., 2]})["s"]
    np.testing.assert_array_equal(stats["cmax"], states[..., 2].max(axis=1))
    batched = rng.normal(size=(2, 3, 11))  # leading dimensions are kept
    stats = summarise(times, {"b": batched})["b"]
    assert stats["auc"].shape == (2, 3)
    np.testing.assert_allclose(stats["auc"], np.trapezoid(batched, times, axis=-1), rtol=1e-13)


ABSORPTION = """
model absorption()
  depot' = -ka*depot
  c' = ka*depot - k*c
  depot = 0; c = 0; ka = 20; k = 0.1
end
"""


def test_metrics_see_a_peak_between_a_dose_and_the_next_output_time():
    # a fast absorption (ka = 20, k = 0.1) peaks at ln(ka/k)/(ka - k) = 0.266, between
    # the dose at 0 and the grid's next point, 1: the metrics read the grid only and
    # gave cmax 0.909 (c(1)) for 0.974 and an AUC 7 % low; they now also look at
    # points log-spaced after each bolus (AFTER_DOSE), and the frame keeps its grid
    model = ip.Model.from_antimony(ABSORPTION, drugs={"x": "depot"})
    regimen = ip.Regimen.single(ip.Dose(1.0, unit="nmol", drug="x"))
    result = ip.simulate(model, regimen, t_end=10.0, rtol=1e-10, atol=1e-12)
    assert np.array_equal(np.unique(result.frame["time_h"]), np.arange(11.0))
    m = result.metrics().set_index(["variable", "metric"])["value"]
    ka, k = 20.0, 0.1
    t_max = np.log(ka / k) / (ka - k)
    c_max = ka / (ka - k) * (np.exp(-k * t_max) - np.exp(-ka * t_max))
    auc = ka / (ka - k) * ((1 - np.exp(-k * 10)) / k - (1 - np.exp(-ka * 10)) / ka)
    assert m[("c", "cmax")] == pytest.approx(c_max, rel=1e-2)  # 8 points a decade
    assert m[("c", "tmax")] == pytest.approx(t_max, rel=0.15)
    assert m[("c", "auc")] == pytest.approx(auc, rel=2e-3)


def test_state_columns_are_summarised_in_one_pass_with_the_same_numbers():
    # a batch's states are columns of one (N, T, S) array; the one-pass kernel must give
    # exactly what the per-curve kernel gives on contiguous copies, NaN and inf included
    from il21pk.analysis.metrics import _statistics_of_state_columns, summarise

    rng = np.random.default_rng(0)
    states = rng.standard_normal((40, 30, 7))
    states[3, 7, 2] = states[4, 0, 1] = np.nan
    states[5, 2, 3], states[5, 3, 3], states[6, 9, 0] = np.inf, -np.inf, np.inf
    times = np.cumsum(rng.random(30))
    views = {f"s{c}": states[:, :, c] for c in range(7)}
    views["twice"] = 2 * states[:, :, 4]  # a quantity: its own array
    assert sorted(_statistics_of_state_columns(times, views)) == [f"s{c}" for c in range(7)]
    copies = {name: np.array(v, order="C") for name, v in views.items()}
    one_pass, per_curve = summarise(times, views), summarise(times, copies)
    for name in views:
        for metric, values in per_curve[name].items():
            np.testing.assert_array_equal(one_pass[name][metric], values, err_msg=name + metric)
