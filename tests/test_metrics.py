"""summarise(): the one-pass curve statistics follow numpy, NaN rules included."""

from __future__ import annotations

import numpy as np

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
