"""Non-compartmental analysis of simulated or observed curves, PK and PD alike.

Per curve: Cmax, Tmax, Clast, Tlast, AUC0-last, AUC0-inf (linear-up/log-down
or linear trapezoid), the terminal slope lambda_z with the points it used
(chosen automatically by adjusted R^2 as PKNCA does, or given), t1/2, the
extrapolated share of AUC0-inf and, when a dose is given, CL and Vz
(``route="iv"``) or CL/F and Vz/F (``route="extravascular"``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .errors import DataError
from .metrics import trapezoid_auc

METHODS = ("linear-up-log-down", "linear")
#: PKNCA's tolerance: points within this adjusted R^2 of the best count as
#: equally good, and then the fit with the most points wins.
ADJ_R2_FACTOR = 1e-4

COLUMNS = ["cmax", "tmax", "clast", "tlast", "auc_last", "auc_inf", "auc_pct_extrap",
           "lambda_z", "half_life", "r2_adj", "lambda_z_n", "lambda_z_t_first",
           "lambda_z_t_last", "cl", "vz"]


def auc(time: np.ndarray, conc: np.ndarray, method: str = "linear-up-log-down") -> float:
    """Area under the curve from the first to the last point."""
    if method == "linear":
        return float(trapezoid_auc(time, conc))
    dt = np.diff(time)
    c1, c2 = conc[:-1], conc[1:]
    linear = dt * (c1 + c2) / 2.0
    down = (c2 < c1) & (c2 > 0) & (c1 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log = np.where(down, dt * (c1 - c2) / np.log(c1 / np.where(down, c2, 1.0)), 0.0)
    return float(np.sum(np.where(down, log, linear)))


def terminal_slope(time: np.ndarray, conc: np.ndarray, *, points: Sequence[float] | None = None,
                   min_points: int = 3) -> dict[str, float]:
    """Terminal elimination rate lambda_z [1/h] by log-linear regression.

    Automatic choice (``points=None``): the last n >= `min_points` positive
    points after Tmax; the n with the best adjusted R^2 wins, and among fits
    within :data:`ADJ_R2_FACTOR` of it the one with the most points. Given
    ``points`` (times), exactly those are used.
    """
    nan = {"lambda_z": np.nan, "r2_adj": np.nan, "lambda_z_n": 0,
           "lambda_z_t_first": np.nan, "lambda_z_t_last": np.nan}
    if points is not None:
        chosen = np.isin(time, np.asarray(points, dtype=float))
        if chosen.sum() != len(points):
            raise DataError(f"lambda_z points {list(points)} are not all sampling times")
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
        slope, intercept = np.polyfit(t, y, 1)
        if slope >= 0:
            continue
        resid = y - (slope * t + intercept)
        ss_tot = np.sum((y - y.mean()) ** 2)
        n = idx.shape[0]
        r2 = 1.0 - np.sum(resid**2) / ss_tot if ss_tot > 0 else 1.0
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


def nca_curve(time: np.ndarray, conc: np.ndarray, *, dose: float | None = None,
              method: str = "linear-up-log-down",
              points: Sequence[float] | None = None) -> dict[str, float]:
    """NCA of one curve (arrays sorted by time); see :func:`nca`."""
    imax = int(np.argmax(conc))
    positive = np.flatnonzero(conc > 0)
    last = int(positive[-1]) if positive.size else conc.shape[0] - 1
    auc_last = auc(time[: last + 1], conc[: last + 1], method)
    slope = terminal_slope(time, conc, points=points)
    lz = slope["lambda_z"]
    auc_inf = auc_last + conc[last] / lz if np.isfinite(lz) else np.nan
    out = {"cmax": float(conc[imax]), "tmax": float(time[imax]), "clast": float(conc[last]),
           "tlast": float(time[last]), "auc_last": auc_last, "auc_inf": auc_inf,
           "auc_pct_extrap": 100.0 * (auc_inf - auc_last) / auc_inf if auc_inf else np.nan,
           **slope, "half_life": np.log(2) / lz if lz else np.nan}
    out["cl"] = dose / auc_inf if dose is not None else np.nan
    out["vz"] = dose / (lz * auc_inf) if dose is not None else np.nan
    return out


def nca(data: pd.DataFrame, *, time: str = "time_h", value: str = "value",
        by: Sequence[str] | None = None, dose: float | str | None = None,
        route: str = "iv", method: str = "linear-up-log-down",
        points: Sequence[float] | None = None) -> pd.DataFrame:
    """Non-compartmental analysis, one row per curve.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy data: a simulation frame, a sweep's trajectories or observations.
    time, value : str, optional
        Column names of time [h] and concentration/response.
    by : sequence of str, optional
        Columns identifying a curve. Default: those of ``run``, ``subject``,
        ``variable`` present in `data`.
    dose : float or str, optional
        Dose (a number, or the name of a column constant within each curve),
        in amount units matching concentration x volume (nmol with nM gives
        CL in L/h). Needed for CL and Vz.
    route : {'iv', 'extravascular'}, optional
        For extravascular data CL and Vz are apparent (CL/F, Vz/F).
    method : {'linear-up-log-down', 'linear'}, optional
        AUC rule.
    points : sequence of float, optional
        Times to use for lambda_z instead of the automatic choice.

    Returns
    -------
    pandas.DataFrame
        The `by` columns then :data:`COLUMNS`, plus ``route`` and ``method``.

    Raises
    ------
    DataError
        Missing columns, NaN values, unsorted or duplicated times within a curve.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"nca takes a pandas DataFrame; got {type(data).__name__}")
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {list(METHODS)}; got {method!r}")
    if route not in ("iv", "extravascular"):
        raise ValueError(f"`route` must be 'iv' or 'extravascular'; got {route!r}")
    by = [c for c in ("run", "subject", "variable") if c in data.columns] if by is None \
        else list(by)
    needed = [time, value, *by] + ([dose] if isinstance(dose, str) else [])
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise DataError(f"nca data are missing column(s) {missing}; got {list(data.columns)}")
    for col in (time, value):
        bad = np.flatnonzero(pd.to_numeric(data[col], errors="coerce").isna().to_numpy())
        if bad.size:
            raise DataError(f"nca column {col!r} must be numeric without NaN; row {bad[0]} has "
                            f"{data[col].iloc[bad[0]]!r}")
    rows = []
    groups = data.groupby(by, sort=False, observed=True) if by else [((), data)]
    for key, curve in groups:
        key = key if isinstance(key, tuple) else (key,)
        t = curve[time].to_numpy(dtype=float)
        c = curve[value].to_numpy(dtype=float)
        if np.any(np.diff(t) <= 0):
            i = int(np.flatnonzero(np.diff(t) <= 0)[0])
            where = dict(zip(by, key, strict=True))
            raise DataError(f"nca: times must increase within each curve; {where} has "
                            f"{t[i]:g} then {t[i + 1]:g} (row {curve.index[i + 1]})")
        amount = curve[dose].iloc[0] if isinstance(dose, str) else dose
        result = nca_curve(t, c, dose=amount, method=method, points=points)
        rows.append({**dict(zip(by, key, strict=True)), **result})
    out = pd.DataFrame(rows, columns=[*by, *COLUMNS])
    out["route"] = route
    out["method"] = method
    return out
