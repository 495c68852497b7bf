"""Summary metrics of simulated curves: Cmax, Tmax, AUC, fold-changes, time above.

Pure functions on arrays of shape (N, T) so that one simulation and a sweep
of thousands share the same code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

#: Metric name -> unit template: {u} is the variable's unit, {t} the model's
#: time unit (``'h'`` for il21pk's models); :func:`metric_unit` fills it in.
METRICS = {
    "baseline": "{u}",
    "cmax": "{u}",
    "tmax": "{t}",
    "cmin": "{u}",
    "tmin": "{t}",
    "auc": "{u}*{t}",
    "peak_fold_change": "1",
    "nadir_fold_change": "1",
}


@dataclass(frozen=True)
class DosePoints:
    """Points a curve's metrics need beside the output grid: at each bolus time in
    ``(0, t_end]`` within the grid, the value just before the dose (and just after
    it, where the grid lacks the time). ``np.insert(grid, where, times)`` and
    ``np.insert(values, where, outputs[v], axis=1)`` give the full curve, each jump
    as two points at one time."""

    where: np.ndarray
    times: np.ndarray
    outputs: dict[str, np.ndarray]


def metric_unit(metric: str, unit: str, time_unit: str | None) -> str:
    """The unit of `metric` of a variable in `unit`, for a model whose time is in `time_unit`.

    ``""`` (undeclared) when the metric's unit needs a part that is
    undeclared: a time unit of None, or a variable unit of ``""``.

    Examples
    --------
    >>> metric_unit("auc", "nM", "h"), metric_unit("tmax", "nmol", "d")
    ('nM*h', 'd')
    >>> metric_unit("tmax", "nmol", None)
    ''
    """
    return fill_unit(METRICS[metric], unit, time_unit)


def fill_unit(template: str, unit: str, time_unit: str | None) -> str:
    """A unit template of :data:`METRICS` (``"{u}*{t}"``) filled in, ``""`` when
    a part it needs is undeclared (see :func:`metric_unit`)."""
    if ("{t}" in template and time_unit is None) or ("{u}" in template and unit == ""):
        return ""
    return template.format(u=unit, t=time_unit)


def trapezoid_auc(times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Linear-trapezoid AUC over the last axis of `values` (shape (..., T))."""
    return np.trapezoid(values, times, axis=-1)


def summarise(times: np.ndarray, outputs: Mapping[str, np.ndarray],
              exact_auc: Mapping[str, np.ndarray] | None = None,
              baseline: Mapping[str, np.ndarray] | None = None,
              dose_points: DosePoints | None = None,
              ) -> dict[str, dict[str, np.ndarray]]:
    """Metrics per variable, each an array of shape (N,).

    Parameters
    ----------
    times : numpy.ndarray, shape (T,)
        Output times (in the model's time unit).
    outputs : mapping of str to numpy.ndarray of shape (N, T)
    exact_auc : mapping of str to numpy.ndarray of shape (N,), optional
        AUCs integrated by the solver (used instead of the trapezoid rule).
    baseline : mapping of str to numpy.ndarray of shape (N,), optional
        Values before any dose (default: the first output value).
    dose_points : DosePoints, optional
        Values at bolus times beside the grid (:class:`DosePoints`):
        inserted, so that a dose is a jump at its time rather than a ramp over
        the grid step before it (trapezoid AUC, cmin/tmin at the troughs).

    Returns
    -------
    dict of variable -> dict of metric -> numpy.ndarray of shape (N,)
    """
    exact_auc = exact_auc or {}
    baseline = baseline or {}
    result = {}
    times = np.asarray(times, dtype=float)
    full = times if dose_points is None else \
        np.insert(times, dose_points.where, dose_points.times)
    # a point before a dose at a grid time that equals the grid's value there (a
    # variable the dose does not move) changes no metric: such curves skip the insert
    on_grid = dose_points is not None and bool(np.isin(dose_points.times, times).all())
    for name, v in outputs.items():
        v2 = np.asarray(v, dtype=float)
        v2 = v2 if v2.ndim == 2 else v2.reshape(-1, v2.shape[-1])
        grid = times
        if dose_points is not None:
            extra = dose_points.outputs[name].reshape(v2.shape[0], -1)
            if not (on_grid and np.array_equal(extra, v2[:, dose_points.where])):
                v2, grid = np.insert(v2, dose_points.where, extra, axis=1), full
        stats = _curve_statistics(grid, v2)
        cmax, imax, cmin, imin, auc = (x.reshape(v.shape[:-1]) for x in stats)
        base = baseline[name] if name in baseline else v[..., 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            peak = np.where(base != 0, cmax / base, np.nan)
            nadir = np.where(base != 0, cmin / base, np.nan)
        result[name] = {
            "baseline": base, "cmax": cmax, "tmax": grid[imax], "cmin": cmin,
            "tmin": grid[imin], "auc": exact_auc[name] if name in exact_auc else auc,
            "peak_fold_change": peak, "nadir_fold_change": nadir,
        }
    return result


@njit(cache=True, error_model="numpy")
def _curve_statistics(times, values):
    """Max, argmax, min, argmin and trapezoid AUC of each row of `values` (N, T) in
    one pass, with numpy's NaN rules: a NaN makes max, min and AUC NaN and is
    the first index returned by argmax/argmin."""
    n, t_len = values.shape
    cmax, cmin, auc = np.empty(n), np.empty(n), np.empty(n)
    imax, imin = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    for m in range(n):
        hi = lo = values[m, 0]
        i_hi = i_lo = 0
        area = 0.0
        first_nan = 0 if np.isnan(hi) else -1
        for j in range(1, t_len):
            x = values[m, j]
            if np.isnan(x):
                if first_nan < 0:
                    first_nan = j
            elif x > hi:
                hi, i_hi = x, j
            elif x < lo:
                lo, i_lo = x, j
            area += 0.5 * (times[j] - times[j - 1]) * (x + values[m, j - 1])
        if first_nan >= 0:
            hi = lo = area = np.nan
            i_hi = i_lo = first_nan
        cmax[m], imax[m], cmin[m], imin[m], auc[m] = hi, i_hi, lo, i_lo, area
    return cmax, imax, cmin, imin, auc


def to_frame(summary: Mapping[str, Mapping[str, np.ndarray]], units: Mapping[str, str],
             member: int = 0, time_unit: str | None = "h") -> pd.DataFrame:
    """Long frame ``variable, metric, value, unit`` for one member of a summary;
    time metrics are in `time_unit` (the model's)."""
    rows = [
        (name, metric, float(values[member]), metric_unit(metric, units[name], time_unit))
        for name, per_metric in summary.items()
        for metric, values in per_metric.items()
    ]
    return pd.DataFrame(rows, columns=["variable", "metric", "value", "unit"])


def time_above(times: np.ndarray, values: np.ndarray, threshold: float) -> np.ndarray:
    """Time (in the unit of `times`) a curve spends above `threshold`, with linear
    interpolation at crossings."""
    above = values - threshold
    dt = np.diff(times)
    a, b = above[..., :-1], above[..., 1:]
    both = (a > 0) & (b > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac_up = np.where((a <= 0) & (b > 0), b / (b - a), 0.0)
        frac_down = np.where((a > 0) & (b <= 0), a / (a - b), 0.0)
    return np.sum(dt * (both + frac_up + frac_down), axis=-1)
