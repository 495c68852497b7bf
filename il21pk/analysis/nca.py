"""Non-compartmental analysis of simulated or observed curves, PK and PD alike.

Per curve: Cmax, Tmax, Clast, Tlast, AUC0-last, AUC0-inf (linear-up/log-down
or linear trapezoid), the terminal slope lambda_z with the points it used
(chosen automatically by adjusted R^2 as PKNCA does, or given), t1/2, the
extrapolated share of AUC0-inf and, when a dose is given, CL and Vz
(``route="iv"``) or the apparent CL/F and Vz/F (``route="extravascular"``,
columns ``cl_f`` and ``vz_f``).

Values below the lower limit of quantification (LLOQ) follow PKNCA's default
rules (``conc.blq``: first "keep", middle "drop", last "keep"): BLQ values
before the first quantifiable value and after the last one count as 0, BLQ
values between quantifiable values are left out, each rule within a stretch
between doses where the doses are known (jumps, or ``tau``: below).
Tlast/Clast are the last quantifiable sample and lambda_z uses quantifiable
samples only, after the Tmax of the last dosing interval where the doses are
known. Without an assay LLOQ (``lloq="auto"``) values below
:data:`AUTO_LLOQ` x Cmax of the curve count as BLQ: simulated curves decay
into solver noise (1e-16 and below), which is not a terminal phase.

With a dosing interval ``tau`` the table adds the interval statistics of
multiple dosing: AUC over ``[start, start + tau]``, Cmax/Cmin/Cavg in it,
the AUC over the first interval and the accumulation ratio, the fluctuation,
and the clearance and volume at steady state (``dose / auc_tau`` and
``dose / (lambda_z auc_tau)``). CL and Vz of a single dose (``dose /
auc_inf``) are then NaN: the curve's AUC0-inf holds every dose given.

A frame is analysed as samples: between two samples the curve is the AUC rule's
interpolation, so a dose given after the first sample is a ramp from the sample
before it. With ``tau``, the doses are taken at ``start + j tau`` (``j tau``
without `start`: time 0 is the first dose) and the BLQ rules apply to each
stretch between them, for every statistic: a sample at a dose time is the
trough before that dose and the value the next interval starts from, so a BLQ
trough counts as 0 at both (trailing and leading) instead of being left out,
which would ramp the curve across the trough from the last quantifiable sample
to the first after the dose (AUC0-last and AUC0-inf too, unlike PKNCA's
whole-curve rules). A :class:`~il21pk.analysis.results.SimulationResult` is analysed on the
full curve its metrics use (the output grid plus the points :func:`il21pk.simulate`
adds around bolus doses, :class:`~il21pk.analysis.metrics.FullCurves`): each bolus is
a jump, two points at one time, the value just before the dose then the one after
it. An interval starting at a dose starts on the value after it, one ending at a
dose ends on the trough before it, and the BLQ rules apply to each stretch
between two jumps (a BLQ trough before a dose is trailing, so 0).

AUCs start at a curve's first sample. Time 0 is taken as the first dose: a curve
whose first sample is later gets no assumed concentration at 0 (no C0
back-extrapolated for an IV bolus, no 0 for extravascular doses or PD data with a
baseline), and :func:`nca` warns that its AUCs miss that first stretch (with a
dosing interval, that its first interval is taken to start at the first sample).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, InputTypeError, OptionError
from ..units import (
    SAME_TIME,
    as_floats,
    check_plain_numbers,
    same_time_tolerance,
    show,
    time_unit_label,
)
from .metrics import trapezoid_auc
from .results import SimulationResult, frame_time_unit, tidy_frame, with_time_unit

METHODS = ("linear-up-log-down", "linear")
ROUTES = ("iv", "extravascular")
#: PKNCA's tolerance: points within this adjusted R^2 of the best count as
#: equally good, and then the fit with the most points wins.
ADJ_R2_FACTOR = 1e-4
#: ``lloq="auto"``: values below this fraction of the curve's Cmax are BLQ.
AUTO_LLOQ = 1e-6
#: Round-off of a log-value, in units of ``eps * max(1, |log c|)``: half an ulp
#: from rounding c itself, half an ulp of |log c| from the logarithm and a few
#: from subtracting the mean in the regression. A terminal fit must decline by
#: more than this round-off can fake (:func:`terminal_slope`), else the curve is flat.
LOG_ROUND_OFF = 4.0

_BASE = ["cmax", "tmax", "clast", "tlast", "auc_last", "auc_inf", "auc_pct_extrap",
         "lambda_z", "half_life", "r2_adj", "lambda_z_n", "lambda_z_t_first",
         "lambda_z_t_last"]
#: Output columns for ``route="iv"`` (without and with a dosing interval).
COLUMNS = [*_BASE, "cl", "vz", "lloq", "n_blq"]
TAU_COLUMNS = ["tau", "interval_start", "auc_tau", "cmax_tau", "cmin_tau", "cavg_tau",
               "fluctuation_pct", "auc_tau_first", "accumulation_ratio"]


def columns_for(route: str, tau: bool = False) -> list[str]:
    """The NCA columns for `route`: ``cl, vz`` (IV) or ``cl_f, vz_f`` (extravascular)."""
    clearance = ["cl", "vz"] if route == "iv" else ["cl_f", "vz_f"]
    out = [*_BASE, *clearance, "lloq", "n_blq"]
    if tau:
        out += [*TAU_COLUMNS, *_steady_state_columns(route)]
    return out


def _log_down(dt: np.ndarray, c1: np.ndarray, c2: np.ndarray) -> np.ndarray:
    r"""Log-trapezoid areas :math:`\Delta t\,(c_1 - c_2)/\ln(c_1/c_2)` for ``c1 > c2 > 0``.

    For :math:`x = (c_1 - c_2)/c_2 < 1` the logarithm is :math:`\mathrm{log1p}(x)`:
    ``log(c1/c2)`` of two nearly equal values loses every digit (one ulp
    apart it is 0 or 2^-52, off by 2x), while ``c1 - c2`` is exact there and
    ``log1p`` keeps full precision. For larger ratios it is
    :math:`\log c_1 - \log c_2`, which cannot overflow even when ``c1/c2``
    does (a subnormal ``c2``).
    """
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        x = (c1 - c2) / c2
        near = x < 1.0
        log_ratio = np.where(near, np.log1p(np.where(near, x, 0.0)), np.log(c1) - np.log(c2))
        return dt * (c1 - c2) / log_ratio


def auc(time: np.ndarray, conc: np.ndarray, method: str = "linear-up-log-down") -> float:
    """Area under the curve from the first to the last point."""
    time = np.asarray(time, dtype=float)
    conc = np.asarray(conc, dtype=float)
    if time.shape[0] < 2:
        return 0.0
    if method == "linear":
        return float(trapezoid_auc(time, conc))
    dt = np.diff(time)
    c1, c2 = conc[:-1], conc[1:]
    linear = dt * (c1 + c2) / 2.0
    down = (c2 < c1) & (c2 > 0)
    log = np.where(down, _log_down(dt, np.where(down, c1, 2.0), np.where(down, c2, 1.0)), 0.0)
    return float(np.sum(np.where(down, log, linear)))


def _value_at(time: np.ndarray, conc: np.ndarray, at: float, method: str,
              side: str) -> float:
    """The curve at `at` (within the sampled range) by the AUC rule's interpolation.

    At a sampled time that holds a jump (two points at one time: a bolus), the
    value before it (``side="left"``) or after it (``side="right"``).
    """
    lo = int(np.searchsorted(time, at, side="left"))
    hi = int(np.searchsorted(time, at, side="right"))
    if hi > lo:
        return float(conc[lo] if side == "left" else conc[hi - 1])
    t1, t2, c1, c2 = time[lo - 1], time[lo], conc[lo - 1], conc[lo]
    w = (at - t1) / (t2 - t1)
    if method != "linear" and c2 < c1 and c2 > 0:
        return float(c1 * np.exp(w * np.log(c2 / c1)))
    return float(c1 + w * (c2 - c1))


def partial_auc(time: np.ndarray, conc: np.ndarray, start: float, end: float,
                method: str = "linear-up-log-down") -> float:
    """AUC over ``[start, end]`` within the sampled range, interpolating the ends."""
    inside = (time > start) & (time < end)
    t = np.concatenate([[start], time[inside], [end]])
    c = np.concatenate([[_value_at(time, conc, start, method, "right")], conc[inside],
                        [_value_at(time, conc, end, method, "left")]])
    return auc(t, c, method)


def terminal_slope(time: np.ndarray, conc: np.ndarray, *, points: Sequence[float] | None = None,
                   min_points: int = 3) -> dict[str, float]:
    """Terminal elimination rate lambda_z [1/time unit of `time`] by log-linear regression.

    Automatic choice (``points=None``): the last n >= `min_points` positive
    points after Tmax; the n with the best adjusted R^2 wins, and among fits
    within :data:`ADJ_R2_FACTOR` of it the one with the most points. Given
    ``points`` (times), exactly those are used; at a jump (two points at one
    time) a given time takes the value after it.

    A fit counts only if the curve declines over it by more than round-off
    could fake: the fitted decline ``-slope * (t_last - t_first)`` must exceed
    the largest decline that errors of :data:`LOG_ROUND_OFF` x ``eps *
    max(1, |log c|)`` in the log-values can give at these times. A flat curve
    has no terminal phase: lambda_z is NaN.
    """
    nan = {"lambda_z": np.nan, "r2_adj": np.nan, "lambda_z_n": 0,
           "lambda_z_t_first": np.nan, "lambda_z_t_last": np.nan}
    if time.shape[0] == 0:
        return nan
    if points is not None:
        last_at_time = np.append(np.diff(time) > 0, True)
        chosen = np.isin(time, np.asarray(points, dtype=float)) & last_at_time
        if chosen.sum() != len(points):
            raise DataError(f"lambda_z points {list(points)} are not all sampling times "
                            "(of quantifiable samples)")
        candidates = [np.flatnonzero(chosen & (conc > 0))]
    else:
        after = np.arange(int(np.argmax(conc)) + 1, time.shape[0])
        positive = after[conc[after] > 0]
        candidates = [positive[-n:] for n in range(min_points, positive.shape[0] + 1)]
    fits = []
    for idx in candidates:
        if idx.shape[0] < 2:
            continue
        t, y = time[idx], np.log(conc[idx])
        dt, dy = t - t.mean(), y - y.mean()  # centred: no round-off from large times
        slope = dt @ dy / (dt @ dt)
        span = t[-1] - t[0]
        # errors |e_i| <= noise in the log-values fake a decline of at most
        # span * |sum dt_i e_i| / sum dt_i^2 <= span * noise * sum |dt_i| / sum dt_i^2
        noise = LOG_ROUND_OFF * np.finfo(float).eps * max(1.0, float(np.max(np.abs(y))))
        if not -slope * span > span * noise * np.sum(np.abs(dt)) / (dt @ dt):
            continue  # flat (or rising): no terminal phase
        resid = dy - slope * dt
        n = idx.shape[0]
        r2 = 1.0 - resid @ resid / (dy @ dy)
        r2_adj = 1.0 - (1.0 - r2) * (n - 1) / (n - 2) if n > 2 else r2
        fits.append({"lambda_z": -slope, "r2_adj": r2_adj, "lambda_z_n": n,
                     "lambda_z_t_first": float(t[0]), "lambda_z_t_last": float(t[-1])})
    best = None
    if fits:
        # PKNCA: among fits within ADJ_R2_FACTOR of the best adjusted R^2, most points
        top = max(f["r2_adj"] for f in fits)
        best = max((f for f in fits if f["r2_adj"] >= top - ADJ_R2_FACTOR),
                   key=lambda f: f["lambda_z_n"])
    return best or nan


def apply_blq_rules(time: np.ndarray, conc: np.ndarray, lloq: float,
                    doses: Sequence[float] = ()) -> tuple[np.ndarray, np.ndarray, int]:
    """PKNCA's default BLQ rules: leading and trailing BLQ -> 0, BLQ in between dropped.

    A value is BLQ when it is below `lloq`, or <= 0 (zeros and the small
    negative values solvers produce count as not quantifiable). The rules apply
    per stretch between doses, as PKNCA's per dosing interval, so a BLQ trough
    before a dose is trailing (0), not dropped, which would ramp the curve up
    to the dose. A curve with jumps (two points at one time: boluses) is cut at
    each jump; a sampled curve at the `doses` given (times of no jump): a sample
    at a dose time is the trough before that dose and the value the interval
    after it starts from, so it ends one stretch and starts the next (and is
    returned once); a dose between two samples cuts between them.
    Returns the kept times, the kept values and the number of BLQ samples.
    """
    n = time.shape[0]
    # (end of one stretch, exclusive; start of the next)
    jumps = np.flatnonzero(np.diff(time) == 0) + 1
    cuts = {(int(i), int(i)) for i in jumps}
    d = np.asarray(doses, dtype=float)
    if d.size:
        # a sample at a dose time, up to the rounding of start + j tau
        tol = same_time_tolerance(d)
        right = np.searchsorted(time, d, side="right")  # the first sample after it
        below, above = np.clip(right - 1, 0, n - 1), np.clip(right, 0, n - 1)
        at = np.where(np.abs(time[below] - d) <= tol, below,
                      np.where((right < n) & (np.abs(time[above] - d) <= tol), above, -1))
        jump_times = time[jumps]
        for i, r in zip(at.tolist(), right.tolist(), strict=True):
            if i < 0:
                cuts.add((r, r))
            elif not np.any(jump_times == time[i]):  # a jump is cut already
                cuts.add((i + 1, i))
    parts, begin, shared = [], 0, False
    for end, next_begin in [*sorted(cuts), (n, n)]:
        t, c = _blq_stretch(time[begin:end], conc[begin:end], lloq)
        # a shared sample is first and last of a stretch, so kept, with one value
        # in both (0 if BLQ): it is returned once
        parts.append((t[1:], c[1:]) if shared else (t, c))
        begin, shared = next_begin, next_begin < end
    n_blq = int(np.sum(~(conc >= lloq) | ~(conc > 0)))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), n_blq


def _blq_stretch(time: np.ndarray, conc: np.ndarray, lloq: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`apply_blq_rules` on a stretch without jumps or doses."""
    blq = ~(conc >= lloq) | ~(conc > 0)
    quantifiable = np.flatnonzero(~blq)
    if quantifiable.size == 0:
        return time, np.zeros_like(conc)
    keep = ~blq
    keep[: quantifiable[0]] = True
    keep[quantifiable[-1] + 1:] = True
    values = np.where(blq, 0.0, conc)
    return time[keep], values[keep]


def nca_curve(time: np.ndarray, conc: np.ndarray, *, dose: float | None = None,
              method: str = "linear-up-log-down", points: Sequence[float] | None = None,
              route: str = "iv", lloq: float | str | None = "auto", tau: float | None = None,
              start: float | None = None, time_unit: str | None = "h") -> dict[str, float]:
    """NCA of one curve (arrays sorted by time, in `time_unit`; two points at one time
    are a jump, the value before it first); see :func:`nca`."""
    raw_t, raw_c = time, conc
    cmax_raw = float(np.max(conc)) if conc.size else np.nan
    limit = (AUTO_LLOQ * cmax_raw if cmax_raw > 0 else 0.0) if lloq == "auto" else \
        (0.0 if lloq is None else float(lloq))
    doses = _dose_cuts(time, tau, 0.0 if start is None else float(start)) \
        if tau is not None else ()
    time, conc, n_blq = apply_blq_rules(time, conc, limit, doses)
    imax = int(np.argmax(conc))
    positive = np.flatnonzero(conc > 0)
    last = int(positive[-1]) if positive.size else conc.shape[0] - 1
    auc_last = auc(time[: last + 1], conc[: last + 1], method)
    # the automatic terminal phase lies after the last dose (a jump, or of `tau`)
    last_dose = max(np.max(time[1:][np.diff(time) == 0], initial=-np.inf),
                    np.max(doses, initial=-np.inf))
    begin = 0
    if points is None and np.isfinite(last_dose):
        begin = int(np.searchsorted(time, last_dose - same_time_tolerance(last_dose)))
        if begin + 1 < time.shape[0] and time[begin + 1] == time[begin]:
            begin += 1  # a jump: from the value after the dose
    slope = terminal_slope(time[begin: last + 1], conc[begin: last + 1], points=points)
    lz = slope["lambda_z"]
    auc_inf = auc_last + conc[last] / lz if np.isfinite(lz) else np.nan
    out = {"cmax": float(conc[imax]), "tmax": float(time[imax]), "clast": float(conc[last]),
           "tlast": float(time[last]), "auc_last": auc_last, "auc_inf": auc_inf,
           "auc_pct_extrap": 100.0 * (auc_inf - auc_last) / auc_inf if auc_inf else np.nan,
           **slope, "half_life": np.log(2) / lz if lz else np.nan}
    cl, vz = ("cl", "vz") if route == "iv" else ("cl_f", "vz_f")
    # a single dose's CL and Vz: with a dosing interval the curve holds several doses
    single = dose is not None and tau is None
    out[cl] = dose / auc_inf if single else np.nan
    out[vz] = dose / (lz * auc_inf) if single else np.nan
    out["lloq"] = limit
    out["n_blq"] = n_blq
    if tau is not None:
        out.update(_interval(raw_t, raw_c, time, conc, tau, start, method, dose, route, lz,
                             time_unit_label(time_unit)))
    return out


def _dose_cuts(time: np.ndarray, tau: float, origin: float) -> np.ndarray:
    """The doses at ``origin + j tau`` that cut a curve sampled at `time`: those
    at an inner sample, and one per gap between samples that holds any (more
    cut it no further), so a small `tau` costs no more than the samples."""
    k = (time - origin) / tau
    whole = np.round(k)
    at = np.abs(k - whole) * tau <= same_time_tolerance(time)
    k = np.where(at, whole, k)
    inner = at.copy()
    inner[[0, -1]] = False
    first = np.floor(k[:-1]) + 1  # the first dose after each sample
    between = first < k[1:]
    return np.concatenate([time[inner], origin + first[between] * tau])


def _interval(raw_t, raw_c, time, conc, tau, start, method, dose, route, lz,
              unit: str) -> dict[str, float]:
    """Statistics over the dosing interval ``[start, start + tau]`` and the first one
    (times in `unit`, for messages)."""
    first = float(raw_t[0])
    start = first if start is None else float(start)
    end = start + tau
    if start < raw_t[0] or end > raw_t[-1]:
        raise DataError(f"nca: the dosing interval [{start:g}, {end:g}] {unit} (start, start + "
                        f"tau) must lie within the sampled times [{raw_t[0]:g}, "
                        f"{raw_t[-1]:g}] {unit}")
    if first + tau > raw_t[-1]:
        raise DataError(f"nca: the first interval [{first:g}, {first + tau:g}] {unit} is not "
                        "sampled to its end")
    if time.shape[0] < 2 or time[0] > start or time[-1] < end:
        nan = dict.fromkeys(["auc_tau", "cmax_tau", "cmin_tau", "cavg_tau", "fluctuation_pct",
                             "auc_tau_first", "accumulation_ratio"], np.nan)
        return {"tau": tau, "interval_start": start, **nan,
                **dict.fromkeys(_steady_state_columns(route), np.nan)}
    auc_tau = partial_auc(time, conc, start, end, method)
    auc_first = partial_auc(time, conc, first, first + tau, method)
    # from the value after a dose at `start` to the trough before one at `end`
    inside = (time > start) & (time < end)
    ends = [_value_at(time, conc, start, method, "right"),
            _value_at(time, conc, end, method, "left")]
    values = np.concatenate([conc[inside], ends])
    cmax_tau, cmin_tau = float(values.max()), float(values.min())
    cavg = auc_tau / tau
    return {"tau": tau, "interval_start": start, "auc_tau": auc_tau, "cmax_tau": cmax_tau,
            "cmin_tau": cmin_tau, "cavg_tau": cavg,
            "fluctuation_pct": 100.0 * (cmax_tau - cmin_tau) / cavg if cavg else np.nan,
            "auc_tau_first": auc_first,
            "accumulation_ratio": auc_tau / auc_first if auc_first > 0 else np.nan,
            **dict(zip(_steady_state_columns(route), (
                dose / auc_tau if dose is not None and auc_tau > 0 else np.nan,
                dose / (lz * auc_tau) if dose is not None and auc_tau > 0 else np.nan),
                strict=True))}


def _steady_state_columns(route: str) -> tuple[str, str]:
    return ("cl_ss", "vz_ss") if route == "iv" else ("cl_f_ss", "vz_f_ss")


def _positive_number(value: object, name: str, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputTypeError(f"`{name}` must be a number; got {type(value).__name__} {value!r}")
    try:
        value = float(value)
    except OverflowError:
        value = np.inf  # an integer too large for a float
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise OptionError(f"`{name}` must be a finite number {'>=' if allow_zero else '>'} 0; "
                          f"got {show(value)}")
    return value


def nca(data: pd.DataFrame | SimulationResult, *, time: str = "time_h", value: str = "value",
        by: Sequence[str] | str | None = None, dose: float | str | None = None,
        route: str = "iv", method: str = "linear-up-log-down",
        points: Sequence[float] | None = None, lloq: float | str | None = "auto",
        tau: float | None = None, start: float | None = None) -> pd.DataFrame:
    """Non-compartmental analysis, one row per curve.

    Parameters
    ----------
    data : pandas.DataFrame or SimulationResult
        Tidy data: a simulation frame, a sweep's trajectories or observations,
        analysed as samples (a dose after the first sample is a ramp from the
        sample before it). Or the result of :func:`il21pk.simulate`, analysed on
        the full curve of its :meth:`~SimulationResult.metrics`: its frame
        (``time_h, stage, variable, value, unit``) plus the points simulate adds
        around bolus doses, so that each bolus is a jump (the value just before
        the dose and the one after it at one time). See the module docstring.
    time, value : str, optional
        Column names of time and concentration/response. Times are in the
        data's time unit, ``data.attrs["time_unit"]`` (what simulations and
        sweeps record: hours for il21pk's models, an imported model's own),
        hours if it records none; tmax, tlast, lambda_z (per time), t1/2,
        the AUCs (value x time), CL, `tau` and `start` are in it too.
    by : str or sequence of str, optional
        Columns identifying a curve. Default: those of ``run``, ``subject``,
        ``variable`` present in `data`. Missing keys (NaN) form their own
        curve; they are never dropped.
    dose : float or str, optional
        Dose (a number, or the name of a column constant within each curve),
        in amount units matching concentration x volume (nmol with nM gives
        CL in L per time unit). Needed for CL and Vz. With `tau`, the dose given at the
        start of each interval, and CL and Vz are those at steady state (``cl_ss``,
        ``vz_ss``; ``cl``/``vz`` are NaN).
    route : {'iv', 'extravascular'}, optional
        For extravascular data clearance and volume are apparent: the columns
        are ``cl_f`` and ``vz_f`` (CL/F, Vz/F) instead of ``cl`` and ``vz``.
    method : {'linear-up-log-down', 'linear'}, optional
        AUC rule.
    points : sequence of float, optional
        Times to use for lambda_z instead of the automatic choice.
    lloq : float, str or None, optional
        Lower limit of quantification, in the unit of `value`: a number, the
        name of a column (constant within each curve), ``"auto"`` (default:
        :data:`AUTO_LLOQ` x Cmax, which keeps solver noise out of the
        terminal phase) or None (only values <= 0 are BLQ). See the module
        docstring for the BLQ rules.
    tau : float, optional
        Dosing interval for multiple-dose statistics (in the data's time unit).
        The doses are taken at ``start + j tau`` (``j tau`` without `start`),
        and the BLQ rules apply per interval between them, for every statistic
        (a BLQ trough sampled at a dose is 0).
    start : float, optional
        With `tau`: start of the interval analysed (e.g. the last dose, at
        steady state); default the first sampling time. The first interval starts
        at the first sampling time, taken as the first dose (a curve sampled only
        from a later time gets a warning: its first interval and accumulation
        ratio are not the first dose's).

    Returns
    -------
    pandas.DataFrame
        The `by` columns then :func:`columns_for` (`route`, `tau`), plus
        ``route`` and ``method``; ``attrs["time_unit"]`` is the data's.

    Raises
    ------
    DataError
        Missing or duplicate columns, NaN values, unsorted or duplicated
        times within a curve, a dose or LLOQ column that varies within a
        curve, an interval outside the sampled times.
    OptionError, InputTypeError
        An option out of range or of the wrong type.
    """
    jumps = isinstance(data, SimulationResult)
    if jumps:
        data = _full_curves(data)
    elif not isinstance(data, pd.DataFrame):
        raise InputTypeError(f"nca takes a pandas DataFrame or a SimulationResult; got "
                             f"{type(data).__name__}")
    if method not in METHODS:
        raise OptionError(f"`method` must be one of {list(METHODS)}; got {method!r}")
    if route not in ROUTES:
        raise OptionError(f"`route` must be 'iv' or 'extravascular'; got {route!r}")
    if data.empty:
        raise DataError("nca data hold no rows; give at least one sample per curve")
    names = [str(c) for c in data.columns]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataError(f"nca data have duplicate column(s) {dup}")
    if by is None:
        by = [c for c in ("run", "subject", "variable") if c in data.columns]
    elif isinstance(by, str):
        by = [by]
    elif isinstance(by, (list, tuple, pd.Index, np.ndarray)):
        by = list(by)
    else:
        raise InputTypeError(f"`by` must be a column name or a list of them; got {by!r}")
    if len(set(by)) != len(by):
        raise DataError(f"`by` names a column twice: {by}")
    if dose is not None and not isinstance(dose, str):
        dose = _positive_number(dose, "dose")
    if tau is not None:
        tau = _positive_number(tau, "tau")
        if tau <= SAME_TIME:
            raise OptionError(f"`tau` must be longer than the time resolution, {SAME_TIME:g} "
                              f"time units; got {show(tau)}")
    if start is not None:
        if tau is None:  # it places the doses of a dosing interval, which there is not
            raise OptionError(f"`start` ({start!r}) needs `tau`, the dosing interval it "
                              "starts")
        start = _positive_number(start, "start", allow_zero=True)
        if abs(math.remainder(start, tau)) > same_time_tolerance(start):
            warnings.warn(f"nca: `start` {start:g} is not a whole number of `tau` ({tau:g}) "
                          "after time 0, taken as the first dose: the doses are taken at start "
                          "+ j tau (where the BLQ rules restart), while the first interval "
                          "(auc_tau_first, accumulation_ratio) starts at the first sample",
                          UserWarning, stacklevel=2)
    if isinstance(lloq, str) and lloq != "auto" and lloq not in data.columns:
        raise DataError(f"`lloq` {lloq!r} is neither 'auto' nor a column; got columns "
                        f"{list(data.columns)}")
    if lloq is not None and not isinstance(lloq, str):
        lloq = _positive_number(lloq, "lloq", allow_zero=True)
    if points is not None:
        try:
            if isinstance(points, (str, bytes)):
                raise TypeError
            points = [float(p) for p in points]
        except (TypeError, ValueError):
            raise InputTypeError(f"`points` must be a sequence of times [h]; got {points!r}"
                                 ) from None
        if len(points) < 2 or len(set(points)) != len(points):
            raise OptionError(f"`points` must be two or more different times to fit lambda_z "
                              f"on; got {points}")
    per_curve = [c for c in (dose, lloq) if isinstance(c, str) and c != "auto"]
    needed = [time, value, *by, *per_curve]
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise DataError(f"nca data are missing column(s) {missing}; got {list(data.columns)}")
    for col in (time, value):
        check_plain_numbers(data[col], f"nca column {col!r}", DataError, column=col)
        numbers = as_floats(data[col])
        for kind, bad in (("numeric without NaN", np.flatnonzero(np.isnan(numbers))),
                          ("finite", np.flatnonzero(np.isinf(numbers)))):
            if bad.size:
                raise DataError(f"nca column {col!r} must be {kind}; row {bad[0]} has "
                                f"{show(data[col].iloc[bad[0]])}")
    rows, late, ramps = [], [], set()
    boluses = np.asarray(() if jumps else data.attrs.get("bolus_times", ()), dtype=float)
    groups = data.groupby(by, sort=False, observed=True, dropna=False) if by else \
        [((), data)]
    for key, curve in groups:
        key = key if isinstance(key, tuple) else (key,)
        where = dict(zip(by, key, strict=True))
        t = as_floats(curve[time])
        c = as_floats(curve[value])
        # a simulation's curve holds each bolus as two points at one time
        back = np.diff(t) < 0 if jumps else np.diff(t) <= 0
        if np.any(back):
            i = int(np.flatnonzero(back)[0])
            raise DataError(f"nca: times must increase within each curve; {where} has "
                            f"{t[i]:g} then {t[i + 1]:g} (row {curve.index[i + 1]})")
        if jumps:  # a variable the dose does not move: two equal points are one
            same = np.flatnonzero((np.diff(t) == 0) & (np.diff(c) == 0))
            t, c = np.delete(t, same), np.delete(c, same)
        settings = {}
        for name, spec in (("dose", dose), ("lloq", lloq)):
            if isinstance(spec, str) and spec != "auto":
                settings[name] = _curve_constant(curve[spec], spec, where, name)
            else:
                settings[name] = spec
        result = nca_curve(t, c, dose=settings["dose"], method=method, points=points,
                           route=route, lloq=settings["lloq"], tau=tau, start=start,
                           time_unit=frame_time_unit(data))
        rows.append({**where, **result})
        if t[0] > 0:
            late.append((where, t[0]))
        ramps.update(boluses[(boluses > t[0]) & (boluses <= t[-1])].tolist())
    if late:
        where, first = late[0]
        interval = ("; with `tau` the first interval (auc_tau_first, accumulation_ratio) "
                    "starts there too, as if it were the first dose") if tau is not None else ""
        warnings.warn(f"nca: {len(late)} curve(s) start after time 0 ({where or 'the curve'} "
                      f"at {first:g} {time_unit_label(frame_time_unit(data))}): their AUCs "
                      f"start at the first sample, not at the dose{interval}; add a row at time "
                      "0 (0 for extravascular doses, C0 for an IV bolus, the baseline for PD "
                      "data) for AUCs from the dose", UserWarning, stacklevel=2)
    if ramps:
        shown = ", ".join(f"{x:g}" for x in sorted(ramps)[:5]) + (", ..." if len(ramps) > 5
                                                                  else "")
        warnings.warn(f"nca: this simulation frame holds, at the IV bolus times after its "
                      f"first sample ({shown}), only the value after each dose, so an AUC "
                      f"or interval there ramps up to the dose from the sample before it; "
                      f"pass the SimulationResult itself (ip.nca(result)) for exact jumps",
                      UserWarning, stacklevel=2)
    out = pd.DataFrame(rows, columns=[*by, *columns_for(route, tau is not None)])
    out["route"] = route
    out["method"] = method
    return with_time_unit(out, frame_time_unit(data))


def _full_curves(result: SimulationResult) -> pd.DataFrame:
    """The tidy frame of `result` on the full curve its metrics use: the output grid plus
    the points around each bolus (:class:`~il21pk.analysis.metrics.FullCurves`: the value
    just before each bolus, a row before the one after it at the same time, and the
    points after a bolus)."""
    if result._batch.full_curves is None:
        return result.frame
    return tidy_frame(*result._batch.curves(), result.model)


def _curve_constant(column: pd.Series, name: str, where: dict, what: str) -> float:
    """The single value of a per-curve column (dose > 0 or LLOQ >= 0), checked."""
    values = as_floats(column)
    low, allowed = (values <= 0, "> 0") if what == "dose" else (values < 0, ">= 0")
    if not np.all(np.isfinite(values)) or np.any(low):
        raise DataError(f"nca: {what} column {name!r} must hold finite numbers {allowed}; "
                        f"{where} has {column.tolist()[:5]}")
    if np.ptp(values) > 0:
        raise DataError(f"nca: {what} column {name!r} must be constant within a curve; {where} "
                        f"has {sorted(set(values.tolist()))[:5]}")
    return float(values[0])
