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
class FullCurves:
    """The curves a simulation's metrics read: the output grid plus the points the
    engine adds around each bolus in ``(0, t_end]`` within the grid (the value just
    before the dose, the value just after it where the grid lacks the time, and
    points between the dose and the next grid time), each jump as two points at one
    time.

    Attributes
    ----------
    times : numpy.ndarray, shape (F,)
        Sorted; at a bolus time, the point before the dose comes first.
    outputs : dict of str to numpy.ndarray of shape (N, F)
    grid : numpy.ndarray of int, shape (T,)
        Where the output grid's times are in `times`.
    """

    times: np.ndarray
    outputs: dict[str, np.ndarray]
    grid: np.ndarray

    def on_grid(self) -> Mapping[str, np.ndarray]:
        """The outputs at the output grid's times (each variable taken on first use:
        a summary sweep reads only the full curves)."""
        return _OnGrid(self)


class _OnGrid(Mapping):
    def __init__(self, curves: FullCurves) -> None:
        self._curves = curves
        self._taken: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._taken:
            taken = np.take(self._curves.outputs[name], self._curves.grid, axis=-1)
            taken.flags.writeable = False  # as the reported views: results are not edited
            self._taken[name] = taken
        return self._taken[name]

    def __contains__(self, name: object) -> bool:  # without taking the values
        return name in self._curves.outputs

    def __iter__(self):
        return iter(self._curves.outputs)

    def __len__(self) -> int:
        return len(self._curves.outputs)


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
              ) -> dict[str, dict[str, np.ndarray]]:
    """Metrics per variable, each an array of shape (N,).

    Parameters
    ----------
    times : numpy.ndarray, shape (T,)
        Times of the curves (in the model's time unit), sorted. A bolus is a jump
        where two points share its time (:class:`FullCurves`); otherwise the
        trapezoid ramps over the step before it.
    outputs : mapping of str to numpy.ndarray of shape (N, T)
    exact_auc : mapping of str to numpy.ndarray of shape (N,), optional
        AUCs integrated by the solver (used instead of the trapezoid rule).
    baseline : mapping of str to numpy.ndarray of shape (N,), optional
        Values before any dose (default: the first value).

    Returns
    -------
    dict of variable -> dict of metric -> numpy.ndarray of shape (N,)
    """
    exact_auc = exact_auc or {}
    baseline = baseline or {}
    result = {}
    times = np.asarray(times, dtype=float)
    statistics = _statistics_of_state_columns(times, outputs)
    for name, v in outputs.items():
        if name in statistics:
            stats = statistics[name]
        else:
            v2 = np.asarray(v, dtype=float)
            stats = _curve_statistics(times, v2 if v2.ndim == 2 else v2.reshape(-1, v2.shape[-1]))
        cmax, imax, cmin, imin, auc = (x.reshape(v.shape[:-1]) for x in stats)
        base = baseline[name] if name in baseline else v[..., 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            peak = np.where(base != 0, cmax / base, np.nan)
            nadir = np.where(base != 0, cmin / base, np.nan)
        result[name] = {
            "baseline": base, "cmax": cmax, "tmax": times[imax], "cmin": cmin,
            "tmin": times[imin], "auc": exact_auc[name] if name in exact_auc else auc,
            "peak_fold_change": peak, "nadir_fold_change": nadir,
        }
    return result


def _statistics_of_state_columns(times: np.ndarray, outputs: Mapping[str, np.ndarray]
                                 ) -> dict[str, tuple[np.ndarray, ...]]:
    """:func:`_curve_statistics` of the outputs that are columns ``states[:, :, i]``
    of one C-ordered (N, T, S) array (a batch's states), in one pass over it in
    memory order: read column by column, each value costs a cache line."""
    columns: dict[int, tuple[np.ndarray, list[tuple[str, int]]]] = {}
    for name, v in outputs.items():
        base = v.base if isinstance(v, np.ndarray) else None
        if not (isinstance(base, np.ndarray) and base.ndim == 3 and v.ndim == 2
                and base.dtype == v.dtype == np.float64 and base.flags.c_contiguous
                and v.shape == base.shape[:2] and v.strides == base.strides[:2]):
            continue
        offset = v.ctypes.data - base.ctypes.data
        if offset % base.itemsize or not 0 <= offset // base.itemsize < base.shape[2]:
            continue
        columns.setdefault(id(base), (base, []))[1].append((name, offset // base.itemsize))
    statistics = {}
    for base, members in columns.values():
        stats = _column_statistics(times, base, np.array([c for _, c in members]))
        for k, (name, _) in enumerate(members):
            statistics[name] = tuple(x[k] for x in stats)
    return statistics


@njit(cache=True, error_model="numpy")
def _column_statistics(times, states, columns):
    """Max, argmax, min, argmin and trapezoid AUC (numpy's NaN rules: see
    :func:`_curve_statistics`) of ``states[:, :, c]`` for each ``c`` in `columns`,
    each array (K, N), visiting `states` (N, T, S) once in memory order."""
    n, t_len, _ = states.shape
    k_len = columns.size
    cmax, cmin, auc = np.empty((k_len, n)), np.empty((k_len, n)), np.empty((k_len, n))
    imax, imin = np.empty((k_len, n), dtype=np.int64), np.empty((k_len, n), dtype=np.int64)
    hi, lo, area = np.empty(k_len), np.empty(k_len), np.empty(k_len)
    i_hi, i_lo = np.empty(k_len, dtype=np.int64), np.empty(k_len, dtype=np.int64)
    first_nan = np.empty(k_len, dtype=np.int64)
    for m in range(n):
        for k in range(k_len):
            x = states[m, 0, columns[k]]
            hi[k] = lo[k] = x
            i_hi[k] = i_lo[k] = 0
            area[k] = 0.0
            first_nan[k] = 0 if np.isnan(x) else -1
        for j in range(1, t_len):
            half = 0.5 * (times[j] - times[j - 1])
            for k in range(k_len):
                x = states[m, j, columns[k]]
                if np.isnan(x):
                    if first_nan[k] < 0:
                        first_nan[k] = j
                elif x > hi[k]:
                    hi[k], i_hi[k] = x, j
                elif x < lo[k]:
                    lo[k], i_lo[k] = x, j
                area[k] += half * (x + states[m, j - 1, columns[k]])
        for k in range(k_len):
            if first_nan[k] >= 0:
                cmax[k, m] = cmin[k, m] = auc[k, m] = np.nan
                imax[k, m] = imin[k, m] = first_nan[k]
            else:
                cmax[k, m], cmin[k, m], auc[k, m] = hi[k], lo[k], area[k]
                imax[k, m], imin[k, m] = i_hi[k], i_lo[k]
    return cmax, imax, cmin, imin, auc


def _curve_statistics(times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, ...]:
    """Max, argmax, min, argmin and trapezoid AUC of each row of `values` (N, T) in
    one pass, with numpy's NaN rules: a NaN makes max, min and AUC NaN and is
    the first index returned by argmax/argmin (:func:`_column_statistics` of
    `values` as the one column of an (N, T, 1) array)."""
    stats = _column_statistics(times, values[:, :, None], np.zeros(1, dtype=np.int64))
    return tuple(x[0] for x in stats)


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
