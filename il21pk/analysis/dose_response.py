"""dose_response(): sweep the dose, summarise an endpoint, fit Emax/Hill.

The endpoint of a simulation is deterministic: refitting the same doses gives
the same numbers, so the spread of its residuals around an Emax curve is lack
of fit, not uncertainty, and Wald intervals built from it would mean nothing.
:func:`dose_response` therefore reports the Emax/Hill parameters as a summary
of the curve, and confidence intervals only from real uncertainty: pass
``uncertainty=`` a frame of parameter draws (from a fit's posterior or
covariance, or a virtual population) and every draw's dose-response curve is
simulated and fitted; intervals are percentiles over the draws.
:func:`fit_emax` on noisy measured data keeps Wald intervals, built on the
scale the parameters are fitted on (log ED50, log Hill), so they stay
positive.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..checks import is_real
from ..errors import FitError, InputTypeError, OptionError, ParameterError, RegimenError
from ..model import Model
from ..model.inputs import check_regimen, resolve_params
from ..parameters import ParameterSet
from ..regimen import Dose, Regimen
from .metrics import METRICS, fill_unit, time_above
from .simulate import MAX_TIME_POINTS, check_options, default_grid
from .sweep import sweep

ENDPOINTS = (*METRICS, "time_above", "value_at")
NAMES = ["e0", "emax", "ed50", "hill"]
#: Default dose grid: 0 (the no-drug control) and this many doses per decade...
GRID_PER_DECADE = 2
#: ... from 1e-3 to 1e2 times the regimen's dose, then extended a decade at a
#: time (at most :data:`GRID_EXTENSIONS` times per side) until the fitted curve
#: covers :data:`GRID_COVERAGE` of Emax at both ends.
GRID_DECADES = (-3.0, 2.0)
GRID_EXTENSIONS = 4
GRID_COVERAGE = (0.1, 0.9)
#: The data do not determine the ED50 when one this many times larger or smaller (the
#: other parameters refitted) fits them as well: a residual sum of squares within
#: :data:`SAME_FIT` of the fit's, relative (or 1e-12 of the response's sum of squares
#: about its mean, for a fit with no residual).
ED50_PROFILE_FACTOR = 10.0
SAME_FIT = 1e-4
#: Options passed on to :func:`il21pk.sweep`.
SWEEP_OPTIONS = ("method", "rtol", "atol", "max_steps", "t_eval", "chunk_size", "progress")


class UndeterminedED50(FitError):
    """An Emax fit whose ED50 the data do not determine (see :func:`fit_emax`).

    Attributes
    ----------
    towards : {'larger', 'smaller'}
        Which way an ED50 fits the data as well: where the doses would have to
        go to show it.
    """

    def __init__(self, message: str, *, towards: str) -> None:
        super().__init__(message)
        self.towards = towards


def hill(dose: np.ndarray, e0: float, emax: float, ed50: float, hill_n: float) -> np.ndarray:
    r"""Sigmoid Emax model :math:`E = E_0 + E_{max} d^n / (ED_{50}^n + d^n)`."""
    d = np.asarray(dose, dtype=float)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        dn = np.power(d, hill_n)
        return e0 + emax * dn / (np.power(ed50, hill_n) + dn)


def fraction_of_emax(dose: np.ndarray, ed50: float, hill_n: float) -> np.ndarray:
    """Share of Emax reached at `dose`: :math:`d^n / (ED_{50}^n + d^n)`."""
    d = np.asarray(dose, dtype=float)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return 1.0 / (1.0 + np.power(ed50 / d, hill_n))


@dataclass(frozen=True)
class EmaxFit:
    """Estimates of E0, Emax, ED50 and Hill, with intervals where they mean something.

    Attributes
    ----------
    table : pandas.DataFrame
        name, estimate, stderr, ci_low, ci_high (``ed50`` in the dose unit).
        NaN stderr and CIs when `interval` is ``"none"``.
    covariance : numpy.ndarray
        Wald covariance of (e0, emax, log ed50, log hill) (``interval="wald"``),
        else NaN.
    rss : float
        Residual sum of squares of the fit.
    interval : {'wald', 'propagated', 'none'}
        Where the intervals come from: the curvature of a least-squares fit
        to noisy data, percentiles over parameter draws, or nowhere
        (deterministic model output).
    draws : pandas.DataFrame or None
        With ``interval="propagated"``: one row per draw, columns e0, emax,
        ed50, hill (NaN where that draw's curve could not be fitted).
    level : float
        Confidence level of the intervals.
    dof : int
        Residual degrees of freedom of a Wald fit (observations - parameters):
        its intervals and band use Student's t with them.
    """

    table: pd.DataFrame
    covariance: np.ndarray
    rss: float
    interval: str = "wald"
    draws: pd.DataFrame | None = None
    level: float = 0.95
    dof: int = 1

    @property
    def has_uncertainty(self) -> bool:
        """True when the intervals come from data noise or parameter draws."""
        return self.interval != "none"

    def predict(self, dose) -> np.ndarray:
        """The fitted curve at `dose`."""
        return hill(dose, *self.table["estimate"].to_numpy())

    def band(self, dose, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise interval of the curve at `dose`.

        Percentiles of the draws' curves (``interval="propagated"``) or the
        delta method on the Wald covariance (``interval="wald"``).

        Raises
        ------
        FitError
            If the fit has no uncertainty (deterministic model output).
        """
        level = self.level if level is None else _check_level(level)
        d = np.asarray(dose, dtype=float)
        if self.interval == "none":
            raise FitError("this Emax fit summarises deterministic model output and has no "
                           "uncertainty, so it has no confidence band; pass uncertainty=<draws> "
                           "to dose_response, or plot with band=False")
        if self.interval == "propagated":
            ok = self.draws.dropna().to_numpy()
            curves = np.array([hill(d, *theta) for theta in ok])
            tail = 100 * (1 - level) / 2
            return (np.percentile(curves, tail, axis=0),
                    np.percentile(curves, 100 - tail, axis=0))
        theta = self.table["estimate"].to_numpy()
        log_theta = np.array([theta[0], theta[1], np.log(theta[2]), np.log(theta[3])])
        grad = np.empty((d.shape[0], 4))
        for j in range(4):
            h = 1e-6 * max(abs(log_theta[j]), 1.0)
            up, down = log_theta.copy(), log_theta.copy()
            up[j] += h
            down[j] -= h
            grad[:, j] = (hill(d, *_natural(up)) - hill(d, *_natural(down))) / (2 * h)
        cov = self.covariance.copy()
        if np.isnan(cov[3, 3]) and np.isfinite(cov[:3, :3]).all():
            cov[3, :] = cov[:, 3] = 0.0  # a fixed Hill coefficient does not vary
        se = np.sqrt(np.einsum("ij,jk,ik->i", grad, cov, grad))  # NaN where undetermined
        t = stats.t.ppf(0.5 + level / 2, self.dof)  # as the parameter intervals
        mid = hill(d, *theta)
        return mid - t * se, mid + t * se


def _natural(x: np.ndarray) -> tuple[float, float, float, float]:
    return x[0], x[1], float(np.exp(x[2])), float(np.exp(x[3]))


def _check_level(level: object) -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)) \
            or not 0 < level < 1:
        raise OptionError(f"`level` must be a number in (0, 1); got {level!r}")
    return float(level)


def fit_emax(dose: np.ndarray, response: np.ndarray, *, hill_fixed: float | None = None,
             level: float = 0.95, wald: bool = True) -> EmaxFit:
    """Least-squares fit of :func:`hill` with ED50 and Hill on a log scale.

    With ``hill_fixed=1`` this is the hyperbolic Emax model (Hill not estimated).
    With ``wald=True`` (for noisy measured responses) standard errors come from
    the Gauss-Newton covariance :math:`s^2 (J^T J)^{-1}` on the fitted scale,
    and the ED50 and Hill intervals are exp(log estimate +/- t SE), so they are
    positive and asymmetric; ``stderr`` of ED50 and Hill is the delta-method
    SE on the natural scale. With ``wald=False`` no intervals are reported.

    Raises
    ------
    FitError
        Fewer distinct doses than the curve has parameters, fewer than two
        doses > 0, a response that does not change with dose, no
        convergence, or (:class:`UndeterminedED50`) an ED50 the data do not
        determine: one :data:`ED50_PROFILE_FACTOR` times larger or smaller
        fits them as well. A response that still changes as a power of the
        dose at the highest dose ran ED50 and Emax off together, up to the
        largest float (ED50 1.8e308); one already at its plateau at the
        lowest dose > 0 ran ED50 towards 0.
    """
    level = _check_level(level)
    dose = np.asarray(dose, dtype=float)
    response = np.asarray(response, dtype=float)
    if dose.shape != response.shape or dose.ndim != 1:
        raise FitError(f"Emax fit needs matching 1-D doses and responses; got shapes "
                       f"{dose.shape} and {response.shape}")
    if np.any(dose < 0) or not np.all(np.isfinite(dose)):
        raise FitError(f"Emax fit needs finite doses >= 0; got {dose.tolist()}"[:300])
    if hill_fixed is not None and not (is_real(hill_fixed) and 0 < hill_fixed < np.inf):
        raise FitError(f"`hill_fixed` must be a finite number > 0; got {hill_fixed!r}")
    if np.any(np.isinf(response)):
        raise FitError(f"Emax fit needs finite responses (NaN marks a missing one); got "
                       f"{response.tolist()}"[:300])
    keep = np.isfinite(response) & np.isfinite(dose)
    dose, response = dose[keep], response[keep]
    n_par = 3 if hill_fixed is not None else 4
    levels = np.unique(dose)
    positive = levels[levels > 0]
    if levels.shape[0] <= n_par - 1 or dose.shape[0] <= n_par or positive.shape[0] < 2:
        raise FitError(f"an Emax fit with {n_par} parameters needs at least {n_par + 1} "
                       f"successful doses at {n_par} or more distinct levels, two of them > 0; "
                       f"got doses {dose.tolist()}")
    span = float(np.ptp(response))
    if not span > 0:
        raise FitError(f"the response does not change with dose (every value is "
                       f"{response[0]:g}); there is no Emax curve to fit")
    order = np.argsort(dose)
    e0 = float(response[order[0]])
    emax0 = float(response[order[-1]] - e0) or span
    start = [e0, emax0, np.log(np.median(positive)), 0.0][:n_par]

    def unpack(x):
        return x[0], x[1], np.exp(x[2]), (hill_fixed if hill_fixed is not None else np.exp(x[3]))

    scale = max(float(np.abs(response).max()), 1e-300)

    def least_squares(start, log_ed50=None):
        """The fit from `start`, or with log ED50 fixed at `log_ed50` (then `start`
        lacks it)."""
        def residuals(x):
            x = x if log_ed50 is None else np.insert(x, 2, log_ed50)
            return np.nan_to_num((hill(dose, *unpack(x)) - response) / scale, nan=1e10,
                                 posinf=1e10, neginf=-1e10)
        return optimize.least_squares(residuals, start, method="lm", xtol=1e-12, ftol=1e-12,
                                      max_nfev=20_000)

    try:
        with np.errstate(all="ignore"):
            sol = least_squares(start)
            # the rank test below misses a fit that ran off along a direction flat only in
            # the limit (ED50 -> inf with Emax): refit with ED50 a factor larger and smaller
            profile = [least_squares(np.delete(sol.x, 2), sol.x[2] + step).cost
                       for step in np.log(ED50_PROFILE_FACTOR) * np.array([1.0, -1.0])]
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise FitError(f"Emax fit failed: {exc}") from None
    if not sol.success:
        raise FitError(f"Emax fit did not converge: {sol.message}")
    e0, emax, ed50, n_h = unpack(sol.x)
    rss = float(np.sum((sol.fun * scale) ** 2))
    same = sol.cost * (1.0 + SAME_FIT) + 0.5e-12 * np.sum((response - response.mean()) ** 2) \
        / scale ** 2
    if min(profile) <= same:
        towards = "larger" if profile[0] <= same else "smaller"
        raise UndeterminedED50(
            f"the data do not determine the ED50: the fit ended at ED50 = {ed50:.4g} (E0 "
            f"{e0:.4g}, Emax {emax:.4g}, Hill {n_h:.4g}; doses > 0 from {positive.min():g} to "
            f"{positive.max():g}), and an ED50 {ED50_PROFILE_FACTOR:g} times {towards} fits "
            "them as well: the doses do not show where the response turns from its baseline "
            "to its plateau. Give doses that do, or report the values without an Emax fit",
            towards=towards)
    est = np.array([e0, emax, ed50, n_h])
    table = pd.DataFrame({"name": NAMES, "estimate": est, "stderr": np.nan,
                          "ci_low": np.nan, "ci_high": np.nan})
    cov = np.full((4, 4), np.nan)
    dof = max(dose.shape[0] - n_par, 1)
    if wald:
        jac = sol.jac * scale  # in (e0, emax, log ed50[, log hill])
        # columns scaled to norm 1: e0's column is 1 and ED50's scales with Emax, so
        # the raw singular values would call a fit in small units undetermined
        norms = np.linalg.norm(jac, axis=0)
        norms = np.where(norms > 0, norms, 1.0)
        scaled = jac / norms
        singular = np.linalg.svd(scaled, compute_uv=False)
        if singular[-1] <= np.sqrt(np.finfo(float).eps) * singular[0]:
            # a direction the data do not determine (a step between two doses: ED50
            # and Hill move nothing); pinv gave it variance 0, so zero-width intervals
            warnings.warn("fit_emax: the data do not determine every parameter (the fitted "
                          "curve is flat in some direction, e.g. a step between two doses); "
                          "no Wald intervals", UserWarning, stacklevel=2)
        else:
            cov[:n_par, :n_par] = rss / dof * np.linalg.inv(scaled.T @ scaled) \
                / np.outer(norms, norms)
        se = np.sqrt(np.clip(np.diag(cov), 0.0, None))  # NaN for a fixed Hill
        t = stats.t.ppf(0.5 + level / 2, dof)
        fitted = np.array([e0, emax, np.log(ed50), np.log(n_h)])
        low, high = fitted - t * se, fitted + t * se
        with np.errstate(over="ignore"):  # an interval unbounded in float: up to inf
            low[2:], high[2:] = np.exp(low[2:]), np.exp(high[2:])
        table["stderr"] = se * np.array([1.0, 1.0, ed50, n_h])
        table["ci_low"], table["ci_high"] = low, high
    if hill_fixed is not None:
        table.loc[3, ["stderr", "ci_low", "ci_high"]] = [0.0, hill_fixed, hill_fixed]
    return EmaxFit(table, cov, rss, "wald" if wald else "none", None, level, dof)


@dataclass(frozen=True)
class DoseResponseResult:
    """Result of :func:`dose_response`.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per dose: dose, unit, response, endpoint, value, value_unit,
        success, message; with ``uncertainty=`` also ci_low and ci_high, the
        percentile interval of the endpoint over the parameter draws, and
        draws_ok, the draws that gave a value there (a warning says when some
        did not).
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
        """The Emax/Hill table: name, estimate, stderr, ci_low, ci_high, unit, interval.

        ``interval`` says where the CI comes from: ``"propagated"`` (parameter
        draws) or ``"none"`` (deterministic output: no CI).
        """
        if self.fit is None:
            raise FitError("no Emax fit was requested (fit=None)")
        table = self.fit.table.copy()
        table["unit"] = [self.value_unit, self.value_unit, self.unit, "1"]
        table["interval"] = self.fit.interval
        return table

    def plot(self, ax=None, *, band: bool = True):
        """Points, fitted curve and, with uncertainty draws, its band on a log dose axis."""
        from ..plotting import dose_response as plot_dose_response

        band = band and self.fit is not None and self.fit.has_uncertainty
        return plot_dose_response(self, ax=ax, band=band)


def dose_response(model: Model, regimen: Regimen | Dose, params: ParameterSet | None = None, *,
                  doses: Sequence[float] | None = None, unit: str | None = None,
                  response: str, metric: str = "auc", threshold: float | None = None,
                  at: float | None = None, t_end: float, fit: str | None = "hill",
                  uncertainty: pd.DataFrame | None = None, level: float = 0.95,
                  drug: str | None = None, executor=None, **options) -> DoseResponseResult:
    """Sweep the dose of a regimen, summarise one output, fit Emax/Hill.

    Parameters
    ----------
    model, regimen, params
        As for :func:`il21pk.simulate` (params None: the model's own values);
        every dose of `regimen` is set to each value of `doses`, so it needs
        at least one dose.
    doses : sequence of float, optional
        Dose amounts (> 0 for the fit's log scale; 0 is allowed as a control).
        Default: 0 plus a log grid from 1e-3 to 1e2 times the regimen's dose,
        widened a decade at a time until the fitted curve goes from below
        10 % to above 90 % of Emax (see :data:`GRID_COVERAGE`), or towards
        the side where the ED50 lies when the doses do not determine it. Doses
        that do not bracket the fitted ED50 give a UserWarning.
    unit : str, optional
        Dose unit, in which every scaled dose is given (default: the unit of
        the doses scaled, which must then be one).
    response : str
        Output variable, e.g. ``"ifng_plasma"`` or ``"nk_blood"``.
    metric : str, optional
        ``"auc"`` (default), ``"cmax"``, ``"peak_fold_change"``, any metric of
        :data:`il21pk.analysis.metrics.METRICS`, ``"time_above"`` (needs `threshold`,
        in the output's unit; the value is a time in the model's time unit)
        or ``"value_at"`` (needs `at`, a time).
    threshold : float, optional
        For ``metric="time_above"``: the level, in the response's unit. The
        time is interpolated linearly between the output times (`t_eval`,
        default hourly) and a bolus is a jump at its time.
    at : float, optional
        For ``metric="value_at"``: the time, in the model's time unit.
    t_end : float
        Simulation end, in the model's time unit (hours for il21pk's models).
    fit : {'hill', 'emax', None}, optional
        Sigmoid Emax (Hill estimated), hyperbolic Emax (Hill = 1) or no fit.
    uncertainty : pandas.DataFrame, optional
        Parameter draws, one row per draw and one column per parameter (e.g.
        ``fit.mcmc(...)`` pivoted to wide, draws from a fit's covariance, or
        :func:`il21pk.virtual_population`; a ``subject`` column is ignored).
        Every draw's dose-response is simulated and fitted; the Emax/Hill
        intervals and the per-dose ``ci_low``/``ci_high`` are percentiles over
        the draws. Without it the model output is deterministic and no
        interval is reported.
    level : float, optional
        Confidence level of the intervals (default 0.95).
    drug : str, optional
        Scale only the doses of this drug (the others stay as given: the
        dose-response of one drug on top of another's regimen). Default: every
        dose, which must then be of one drug (an OptionError otherwise: the
        doses of two drugs would be given one amount in one unit). For a
        surface over two drugs' doses use :func:`il21pk.sweep` with
        ``grid={"dose_<a>": [...], "dose_<b>": [...]}``.
    executor : optional
        As for :func:`il21pk.sweep`.
    **options
        Passed to :func:`il21pk.sweep` (``rtol``, ``atol``, ``method`` ...).

    Returns
    -------
    DoseResponseResult

    Raises
    ------
    FitError
        With `fit`: a dose whose run failed (the frame's ``success``; the
        curve would be fitted to the others), a response that does not
        change with dose, or an ED50 the doses do not determine (see
        :func:`fit_emax`).
    """
    if not isinstance(metric, str) or metric not in ENDPOINTS:
        raise OptionError(f"`metric` must be one of {list(ENDPOINTS)}; got {metric!r}")
    if metric == "time_above" and threshold is None:
        raise OptionError("metric 'time_above' needs `threshold` (in the response's unit)")
    if metric == "value_at" and at is None:
        raise OptionError("metric 'value_at' needs `at` (a time in the model's time unit)")
    for name, value, needs in (("threshold", threshold, "time_above"), ("at", at, "value_at")):
        if value is not None and metric != needs:
            raise OptionError(f"`{name}` applies to metric {needs!r} only; got {name}={value!r} "
                              f"with metric {metric!r}")
    if fit not in ("hill", "emax", None):
        raise OptionError(f"`fit` must be 'hill', 'emax' or None; got {fit!r}")
    level = _check_level(level)
    unknown = sorted(set(options) - set(SWEEP_OPTIONS))
    if unknown:
        raise OptionError(f"unknown option(s) {unknown} for dose_response; allowed: "
                          f"{list(SWEEP_OPTIONS)}")
    if not isinstance(model, Model):
        raise InputTypeError(f"`model` must be an il21pk Model; got {type(model).__name__}")
    params = resolve_params(model, params)
    if regimen is None:
        raise OptionError("`regimen` must be a Dose or a Regimen with at least one dose: "
                          "dose_response scales its doses; got None (no doses)")
    regimen = check_regimen(model, regimen)
    if not regimen.doses:
        raise OptionError("`regimen` must hold at least one dose to scale; got "
                          "Regimen.none() (no doses)")
    t_end, _ = check_options(t_end=t_end, t_eval=None if metric == "value_at" else
                             options.get("t_eval"), method=options.get("method", "numba-bdf"),
                             rtol=options.get("rtol", 1e-6), atol=options.get("atol", 1e-9),
                             time_unit=model.time_unit)
    for name, value in (("threshold", threshold), ("at", at)):
        if value is not None and (isinstance(value, bool) or not isinstance(
                value, (int, float, np.integer, np.floating)) or not np.isfinite(value)):
            raise OptionError(f"`{name}` must be a finite number; got {value!r}")
    if at is not None and not 0 <= at <= t_end:
        raise OptionError(f"`at` must lie within [0, t_end={t_end:g}] h; got {at:g}")
    chosen = [d for d in regimen.doses if drug is None or model.drug(d.drug).name ==
              model.drug(drug).name]
    if not chosen:
        raise RegimenError(f"`regimen` holds no dose of drug {drug!r} to scale")
    drugs = sorted({model.drug(d.drug).name for d in chosen})
    if len(drugs) > 1:
        raise OptionError(f"`regimen` holds doses of the drugs {drugs}: name the one to scale "
                          "with `drug=` (the others stay as given), or sweep a surface over "
                          "both with il21pk.sweep(grid={'dose_<a>': [...], 'dose_<b>': "
                          "[...]})")
    units = sorted({d.unit for d in chosen})
    if unit is None and len(units) > 1:
        raise OptionError(f"the doses to scale are in {units}: give the unit of `doses` "
                          "with `unit=` (every scaled dose is given in it)")
    unit = unit or chosen[0].unit
    scaled = replace(regimen, doses=tuple(replace(d, amount=chosen[0].amount, unit=unit)
                                          if d in chosen else d for d in regimen.doses))
    draws = _check_draws(uncertainty)
    run = _Runner(model, scaled, params, response, metric, threshold, at, t_end, executor,
                  options, key="dose" if drug is None else f"dose_{model.drug(drug).name}")
    if doses is None:
        values, frame_parts, doses = _spanning_grid(run, chosen[0].amount, fit)
    else:
        doses = _check_doses(doses)
        values, frame_parts = run(doses)
    frame = pd.DataFrame({"dose": doses, "unit": unit, "response": response, "endpoint": metric,
                          "value": values, "value_unit": run.value_unit,
                          "success": frame_parts["success"],
                          "message": frame_parts["message"]})
    fitted = None
    if fit is not None:
        hill_fixed = 1.0 if fit == "emax" else None
        _check_succeeded(frame, unit)
        _check_resolved(values, options.get("atol", 1e-9), response, metric)
        fitted = fit_emax(doses, values, hill_fixed=hill_fixed, wald=False, level=level)
        _warn_if_not_spanned(fitted, doses, unit)
    if draws is not None:
        per_draw = run.draws(doses, draws)
        frame["draws_ok"] = np.isfinite(per_draw).sum(axis=0)
        lost = int(len(draws) - frame["draws_ok"].min())
        if lost:
            warnings.warn(f"dose_response: up to {lost} of {len(draws)} draws failed at a dose "
                          "(column draws_ok): the intervals there are over the other draws "
                          "only and narrower than they should be; raise `max_steps`",
                          UserWarning, stacklevel=2)
        tail = 100 * (1 - level) / 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN doses stay NaN
            frame["ci_low"] = np.nanpercentile(per_draw, tail, axis=0)
            frame["ci_high"] = np.nanpercentile(per_draw, 100 - tail, axis=0)
        if fitted is not None:
            fitted = _propagate(fitted, doses, per_draw, hill_fixed, level)
    return DoseResponseResult(frame, fitted, response, metric, unit, run.value_unit)


def _check_succeeded(frame: pd.DataFrame, unit: str) -> None:
    """A FitError naming the doses whose runs failed: a curve fitted to the others
    would look like a result (doses 100-10,000 ug/kg failing took ED50 from 5.7 to
    0.15)."""
    failed = frame[~frame["success"]]
    if len(failed):
        shown = ", ".join(f"{d:g}" for d in failed["dose"].iloc[:8]) + (
            ", ..." if len(failed) > 8 else "")
        raise FitError(f"dose_response: the runs at {len(failed)} dose(s) failed ({shown} "
                       f"{unit}; first: {failed['message'].iloc[0]}); a curve fitted to the "
                       "other doses would be biased: raise `max_steps`, leave those doses "
                       "out, or pass fit=None for the values")


def _check_resolved(values: np.ndarray, atol: float, response: str, metric: str) -> None:
    """A FitError when the response changes across doses by no more than the solver's
    absolute tolerance: such a change is integration noise, not a dose effect (an
    IL-15 AUC under IL-21 doses: 7.7e-48 at dose 0 and 0 elsewhere, fitted as a curve)."""
    finite = values[np.isfinite(values)]
    if finite.size and np.ptp(finite) <= atol:
        raise FitError(f"the {metric} of {response} changes across doses by "
                       f"{np.ptp(finite):.3g}, no more than the solver's absolute tolerance "
                       f"atol={atol:g}: it does not change with dose, and there is no curve "
                       "to fit (fit=None gives the values)")


def _check_doses(doses: object) -> np.ndarray:
    if isinstance(doses, (str, bytes)):
        raise InputTypeError(f"`doses` must be a sequence of numbers; got {doses!r}")
    try:
        out = np.asarray(doses, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise OptionError(f"`doses` must be numbers; got {doses!r}"[:200]) from None
    if out.ndim != 1 or out.size < 1 or np.any(~np.isfinite(out)) or np.any(out < 0):
        raise OptionError(f"`doses` must be finite numbers >= 0; got {out.tolist()}"[:300])
    return out


def _check_draws(uncertainty: object) -> pd.DataFrame | None:
    if uncertainty is None:
        return None
    if not isinstance(uncertainty, pd.DataFrame) or uncertainty.empty:
        raise InputTypeError("`uncertainty` must be a non-empty DataFrame of parameter draws "
                             "(one row per draw, one column per parameter)")
    named = [c for c in uncertainty.columns if not isinstance(c, str)]
    if named:
        raise InputTypeError("`uncertainty` columns must be parameter names (str); got "
                             f"{named[0]!r}")
    draws = uncertainty.drop(columns=[c for c in ("subject",) if c in uncertainty.columns])
    if any(c == "dose" or c.startswith("dose_") for c in draws.columns):
        raise ParameterError("`uncertainty` cannot vary 'dose': the doses are the dose-response "
                             "grid")
    if draws.shape[1] == 0:
        raise ParameterError("`uncertainty` holds no parameter columns")
    if len(draws) < 2:
        raise ParameterError("`uncertainty` needs at least 2 draws to give an interval")
    return draws.reset_index(drop=True)


#: How long before a bolus the time-above endpoint samples the curve [model time unit].
_BEFORE_DOSE = 1e-6


class _Runner:
    """Simulates the endpoint for a dose grid (and for parameter draws x doses)."""

    def __init__(self, model, regimen, params, response, metric, threshold, at, t_end,
                 executor, options, key="dose"):
        self.model, self.regimen, self.params = model, regimen, params
        self.response, self.metric = response, metric
        self.threshold, self.at, self.t_end = threshold, at, t_end
        self.executor, self.options = executor, dict(options)
        self.key = key  # the swept dose column: "dose" or "dose_<drug>"
        self.value_unit = ""
        t_eval = self.options.pop("t_eval", None)
        if metric == "value_at":
            base = np.arange(0.0, t_end + 1e-9, 1.0) if t_eval is None else np.asarray(t_eval)
            t_eval = np.union1d(base, [at])
        if metric == "time_above":
            # points on both sides of each bolus (the value just before it, and just
            # after it where the grid lacks the time): otherwise a grid step across a
            # dose is a ramp, part of which counts as above or below the threshold (up
            # to a whole step per dose); so a jump costs at most _BEFORE_DOSE
            base = default_grid(regimen, t_end) if t_eval is None else np.asarray(t_eval)
            jumps = np.array([d.time for d in regimen.doses if not d.is_infusion
                              and base[0] < d.time <= base[-1]])
            t_eval = np.union1d(base, np.concatenate([jumps[jumps - _BEFORE_DOSE > base[0]]
                                                      - _BEFORE_DOSE, jumps]))
            if t_eval.size > MAX_TIME_POINTS:
                raise OptionError(
                    f"`t_eval` holds {base.size:,} times and metric 'time_above' adds "
                    f"{t_eval.size - base.size:,} beside the doses: more than "
                    f"MAX_TIME_POINTS = {MAX_TIME_POINTS:,}; pass fewer times")
        self.t_eval = t_eval

    def _sweep(self, **where):
        common = dict(t_end=self.t_end, t_eval=self.t_eval, variables=[self.response],
                      executor=self.executor, **self.options, **where)
        if self.metric in METRICS:
            df = sweep(self.model, self.regimen, self.params, metrics=[self.metric], **common)
            self.value_unit = str(df["unit"].iloc[0])
            values = df["value"].to_numpy(dtype=float)
            return values, df
        df = sweep(self.model, self.regimen, self.params, output="trajectories", **common)
        values = []
        for _, run in df.groupby("run", sort=True):
            t, v = run["time_h"].to_numpy(), run["value"].to_numpy()
            values.append(time_above(t, v, self.threshold) if self.metric == "time_above"
                          else v[np.searchsorted(t, self.at)])
            self.value_unit = str(run["unit"].iloc[0]) if self.metric == "value_at" else \
                fill_unit("{t}", "", self.model.time_unit)
        df = df.drop_duplicates("run")
        values = np.where(df["success"].to_numpy(), values, np.nan)  # failed runs: no value
        return values, df

    def __call__(self, doses: np.ndarray):
        values, df = self._sweep(grid={self.key: doses})
        return values, {"success": df["success"].to_numpy(), "message": df["message"].to_numpy()}

    def draws(self, doses: np.ndarray, draws: pd.DataFrame) -> np.ndarray:
        """Endpoint values (n_draws, n_doses) over the draws x doses."""
        samples = draws.loc[draws.index.repeat(doses.shape[0])].reset_index(drop=True)
        samples[self.key] = np.tile(doses, len(draws))
        values, _ = self._sweep(samples=samples)
        return values.reshape(len(draws), doses.shape[0])


def _spanning_grid(run: _Runner, reference: float, fit: str | None):
    """0 plus a log grid around `reference`, widened until the fit spans the response."""
    reference = reference if reference > 0 else 1.0
    low, high = GRID_DECADES
    step = 1.0 / GRID_PER_DECADE

    def grid(lo, hi):
        return reference * 10.0 ** np.arange(lo, hi + step / 2, step)

    doses = np.concatenate([[0.0], grid(low, high)])
    values, parts = run(doses)
    if fit is None:
        return values, parts, doses
    for _ in range(GRID_EXTENSIONS):
        try:
            fitted = fit_emax(doses, values, hill_fixed=1.0 if fit == "emax" else None,
                              wald=False)
        except UndeterminedED50 as exc:  # the response turns beyond the doses: go there
            below, above = exc.towards == "smaller", exc.towards == "larger"
        except FitError:
            break
        else:
            _, _, ed50, n_h = fitted.table["estimate"].to_numpy()
            positive = doses[doses > 0]
            below = fraction_of_emax(positive.min(), ed50, n_h) > GRID_COVERAGE[0]
            above = fraction_of_emax(positive.max(), ed50, n_h) < GRID_COVERAGE[1]
            if not (below or above):
                break
        extra = np.concatenate([grid(low - 1, low - step) if below else [],
                                grid(high + step, high + 1) if above else []])
        low, high = low - below, high + above
        more, more_parts = run(extra)
        doses = np.concatenate([doses, extra])
        values = np.concatenate([values, more])
        parts = {k: np.concatenate([parts[k], more_parts[k]]) for k in parts}
        order = np.argsort(doses, kind="stable")
        doses, values = doses[order], values[order]
        parts = {k: v[order] for k, v in parts.items()}
    return values, parts, doses


def _warn_if_not_spanned(fitted: EmaxFit, doses: np.ndarray, unit: str) -> None:
    ed50 = float(fitted.table["estimate"].iloc[2])
    positive = doses[doses > 0]
    if not positive.min() <= ed50 <= positive.max():
        warnings.warn(f"dose_response: the fitted ED50 = {ed50:.3g} {unit} lies outside the "
                      f"doses given [{positive.min():g}, {positive.max():g}] {unit}: it is an "
                      "extrapolation. Widen `doses`, or leave it out for a grid that spans the "
                      "response", UserWarning, stacklevel=3)


def _propagate(fitted: EmaxFit, doses: np.ndarray, per_draw: np.ndarray,
               hill_fixed: float | None, level: float) -> EmaxFit:
    """Percentile intervals of the Emax/Hill parameters over the draws' curves."""
    rows = []
    for values in per_draw:
        try:
            rows.append(fit_emax(doses, values, hill_fixed=hill_fixed, wald=False)
                        .table["estimate"].to_numpy())
        except FitError:
            rows.append(np.full(4, np.nan))
    draws = pd.DataFrame(rows, columns=NAMES)
    if draws.dropna().shape[0] < 2:
        raise FitError("fewer than 2 parameter draws gave a dose-response curve that could be "
                       "fitted; no interval can be formed")
    tail = 100 * (1 - level) / 2
    ok = draws.dropna()
    table = fitted.table.copy()
    table["stderr"] = ok.std(ddof=1).to_numpy()
    table["ci_low"] = np.percentile(ok.to_numpy(), tail, axis=0)
    table["ci_high"] = np.percentile(ok.to_numpy(), 100 - tail, axis=0)
    return EmaxFit(table, fitted.covariance, fitted.rss, "propagated", draws, level)
