"""dose_response(): sweep the dose, summarise an endpoint, fit Emax/Hill with CIs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .errors import FitError
from .metrics import METRICS, time_above
from .model import Model
from .parameters import ParameterSet
from .regimen import Regimen
from .sweep import sweep

ENDPOINTS = (*METRICS, "time_above", "value_at")


def hill(dose: np.ndarray, e0: float, emax: float, ed50: float, hill_n: float) -> np.ndarray:
    r"""Sigmoid Emax model :math:`E = E_0 + E_{max} d^n / (ED_{50}^n + d^n)`."""
    d = np.asarray(dose, dtype=float)
    dn = np.power(d, hill_n)
    return e0 + emax * dn / (np.power(ed50, hill_n) + dn)


@dataclass(frozen=True)
class EmaxFit:
    """Estimates of E0, Emax, ED50 and Hill with standard errors and CIs.

    Attributes
    ----------
    table : pandas.DataFrame
        name, estimate, stderr, ci_low, ci_high (``ed50`` in the dose unit).
    covariance : numpy.ndarray
        Covariance of (e0, emax, ed50, hill) from the Gauss-Newton Hessian.
    rss : float
        Residual sum of squares.
    """

    table: pd.DataFrame
    covariance: np.ndarray
    rss: float

    def predict(self, dose) -> np.ndarray:
        """The fitted curve at `dose`."""
        return hill(dose, *self.table["estimate"].to_numpy())

    def band(self, dose, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise confidence band of the curve (delta method)."""
        theta = self.table["estimate"].to_numpy()
        d = np.asarray(dose, dtype=float)
        grad = np.empty((d.shape[0], 4))
        for j in range(4):
            h = 1e-6 * max(abs(theta[j]), 1e-12)
            up, down = theta.copy(), theta.copy()
            up[j] += h
            down[j] -= h
            grad[:, j] = (hill(d, *up) - hill(d, *down)) / (2 * h)
        se = np.sqrt(np.einsum("ij,jk,ik->i", grad, self.covariance, grad))
        z = stats.norm.ppf(0.5 + level / 2)
        mid = hill(d, *theta)
        return mid - z * se, mid + z * se


def fit_emax(dose: np.ndarray, response: np.ndarray, *, hill_fixed: float | None = None,
             level: float = 0.95) -> EmaxFit:
    """Least-squares fit of :func:`hill` with ED50 and Hill on a log scale.

    With ``hill_fixed=1`` this is the hyperbolic Emax model (Hill not estimated).
    """
    dose = np.asarray(dose, dtype=float)
    response = np.asarray(response, dtype=float)
    keep = np.isfinite(response)
    dose, response = dose[keep], response[keep]
    n_par = 3 if hill_fixed is not None else 4
    if dose.shape[0] <= n_par:
        raise FitError(f"Emax fit needs more than {n_par} successful doses; got {dose.shape[0]}")
    positive = dose[dose > 0]
    e0 = float(response[np.argmin(dose)])
    span = float(response[np.argmax(dose)] - e0) or float(np.ptp(response)) or 1.0
    start = [e0, span, np.log(np.median(positive)), 0.0][:n_par]

    def unpack(x):
        return x[0], x[1], np.exp(x[2]), (hill_fixed if hill_fixed is not None else np.exp(x[3]))

    scale = max(float(np.abs(response).max()), 1e-300)
    sol = optimize.least_squares(lambda x: (hill(dose, *unpack(x)) - response) / scale, start,
                                 method="lm", xtol=1e-12, ftol=1e-12, max_nfev=20_000)
    if not sol.success:
        raise FitError(f"Emax fit did not converge: {sol.message}")
    e0, emax, ed50, n_h = unpack(sol.x)
    rss = float(np.sum((sol.fun * scale) ** 2))
    dof = max(dose.shape[0] - n_par, 1)
    # Jacobian in natural parameters (e0, emax, ed50, hill) by the chain rule
    jac = sol.jac * scale
    chain = np.diag([1.0, 1.0, ed50, n_h][:n_par])
    jac_nat = jac @ np.linalg.inv(chain)
    sigma2 = rss / dof
    cov_small = sigma2 * np.linalg.pinv(jac_nat.T @ jac_nat)
    cov = np.zeros((4, 4))
    cov[:n_par, :n_par] = cov_small
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    t = stats.t.ppf(0.5 + level / 2, dof)
    est = np.array([e0, emax, ed50, n_h])
    table = pd.DataFrame({"name": ["e0", "emax", "ed50", "hill"], "estimate": est,
                          "stderr": se, "ci_low": est - t * se, "ci_high": est + t * se})
    if hill_fixed is not None:
        table.loc[3, ["stderr", "ci_low", "ci_high"]] = [0.0, hill_fixed, hill_fixed]
    return EmaxFit(table, cov, rss)


@dataclass(frozen=True)
class DoseResponseResult:
    """Result of :func:`dose_response`.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per dose: dose, unit, response, endpoint, value, value_unit,
        success, message.
    fit : EmaxFit or None
        The Emax/Hill fit (None if ``fit=None``).
    response, endpoint, unit : str
    """

    frame: pd.DataFrame
    fit: EmaxFit | None
    response: str
    endpoint: str
    unit: str
    value_unit: str = field(default="")

    @property
    def summary(self) -> pd.DataFrame:
        """The Emax/Hill table (name, estimate, stderr, ci_low, ci_high, unit)."""
        if self.fit is None:
            raise FitError("no Emax fit was requested (fit=None)")
        table = self.fit.table.copy()
        table["unit"] = [self.value_unit, self.value_unit, self.unit, "1"]
        return table

    def plot(self, ax=None, *, band: bool = True):
        """Points, fitted curve and its 95 % band on a log dose axis; returns the Axes."""
        from .plotting import dose_response as plot_dose_response

        return plot_dose_response(self, ax=ax, band=band)


def dose_response(model: Model, regimen: Regimen, params: ParameterSet | None = None, *,
                  doses: Sequence[float], unit: str | None = None, response: str,
                  metric: str = "auc", threshold: float | None = None,
                  at: float | None = None, t_end: float, fit: str | None = "hill",
                  executor=None, **options) -> DoseResponseResult:
    """Sweep the dose of a regimen, summarise one output, fit Emax/Hill.

    Parameters
    ----------
    model, regimen, params
        As for :func:`il21pk.simulate`; every dose of `regimen` is set to each
        value of `doses`.
    doses : sequence of float
        Dose amounts (> 0 for the fit's log scale; 0 is allowed as a control).
    unit : str, optional
        Dose unit (default: the regimen's first dose unit).
    response : str
        Output variable, e.g. ``"ifng_plasma"`` or ``"nk_blood"``.
    metric : str, optional
        ``"auc"`` (default), ``"cmax"``, ``"peak_fold_change"``, any metric of
        :data:`il21pk.metrics.METRICS`, ``"time_above"`` (needs `threshold`,
        in the output's unit) or ``"value_at"`` (needs `at`, hours).
    t_end : float
        Simulation end [h].
    fit : {'hill', 'emax', None}, optional
        Sigmoid Emax (Hill estimated), hyperbolic Emax (Hill = 1) or no fit.
    executor : optional
        As for :func:`il21pk.sweep`.
    **options
        Passed to :func:`il21pk.sweep` (``rtol``, ``atol``, ``method`` ...).

    Returns
    -------
    DoseResponseResult
    """
    if metric not in ENDPOINTS:
        raise ValueError(f"`metric` must be one of {list(ENDPOINTS)}; got {metric!r}")
    if metric == "time_above" and threshold is None:
        raise ValueError("metric 'time_above' needs `threshold` (in the response's unit)")
    if metric == "value_at" and at is None:
        raise ValueError("metric 'value_at' needs `at` (a time in hours)")
    if fit not in ("hill", "emax", None):
        raise ValueError(f"`fit` must be 'hill', 'emax' or None; got {fit!r}")
    if not isinstance(regimen, Regimen) or not regimen.doses:
        raise ValueError("`regimen` must be a Regimen with at least one dose to scale")
    for name, value in (("threshold", threshold), ("at", at)):
        if value is not None and (isinstance(value, bool) or not isinstance(
                value, (int, float, np.integer, np.floating)) or not np.isfinite(value)):
            raise ValueError(f"`{name}` must be a finite number; got {value!r}")
    if at is not None and not 0 <= at <= t_end:
        raise ValueError(f"`at` must lie within [0, t_end={t_end:g}] h; got {at:g}")
    unit = unit or regimen.doses[0].unit
    scaled = regimen.scaled_to(regimen.doses[0].amount, unit)
    try:
        doses = np.asarray(doses, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"`doses` must be numbers; got {doses!r}") from None
    if doses.ndim != 1 or doses.size < 1 or np.any(~np.isfinite(doses)) or np.any(doses < 0):
        raise ValueError(f"`doses` must be finite numbers >= 0; got {doses.tolist()}")
    t_eval = options.pop("t_eval", None)
    if metric == "value_at":
        base = np.arange(0.0, t_end + 1e-9, 1.0) if t_eval is None else np.asarray(t_eval)
        t_eval = np.union1d(base, [at])
    common = dict(grid={"dose": doses}, t_end=t_end, t_eval=t_eval, variables=[response],
                  executor=executor, **options)
    if metric in METRICS:
        df = sweep(model, scaled, params, metrics=[metric], **common)
        values = df["value"].to_numpy()
        value_unit = str(df["unit"].iloc[0])
    else:
        df = sweep(model, scaled, params, output="trajectories", **common)
        values, value_unit = [], ""
        for _, run in df.groupby("run", sort=True):
            t, v = run["time_h"].to_numpy(), run["value"].to_numpy()
            values.append(time_above(t, v, threshold) if metric == "time_above"
                          else v[np.searchsorted(t, at)])
            value_unit = "h" if metric == "time_above" else str(run["unit"].iloc[0])
        df = df.drop_duplicates("run")
        values = np.where(df["success"].to_numpy(), values, np.nan)  # failed runs: no value
    frame = pd.DataFrame({"dose": doses, "unit": unit, "response": response, "endpoint": metric,
                          "value": values, "value_unit": value_unit,
                          "success": df["success"].to_numpy(),
                          "message": df["message"].to_numpy()})
    fitted = None
    if fit is not None:
        fitted = fit_emax(doses, values, hill_fixed=1.0 if fit == "emax" else None)
    return DoseResponseResult(frame, fitted, response, metric, unit, value_unit)
