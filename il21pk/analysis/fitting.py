r"""fit(): maximum-likelihood estimation with multistart, uncertainty and diagnostics.

The free parameters are estimated on a log scale, inside bounds, by
minimising :math:`-2\log L` with trust-region reflective least squares
(``scipy.optimize.least_squares``): -2 log L is written exactly as a sum of
squares plus a constant (see :meth:`_Problem.residuals`), and the Jacobian of
those residuals comes from batched finite differences (all perturbed
parameter sets simulated in one batch).
Residual error models per observed variable, with :math:`f` the prediction:

- additive: :math:`y = f + \epsilon`, :math:`sd = a`
- proportional: :math:`sd = b\,f`
- combined: :math:`sd = \sqrt{a^2 + (b f)^2}`
- log-normal: :math:`\log y = \log f + \epsilon`, :math:`sd = a` on the log scale

Each observation adds :math:`\log(2\pi\,sd^2) + (y - f)^2/sd^2` to
:math:`-2\log L`; a log-normal observation adds
:math:`\log(2\pi\,sd^2) + (\log y - \log f)^2/sd^2 + 2\log y`, the last
term being the Jacobian of :math:`y \mapsto \log y`, so that :math:`-2\log L`
is the density of :math:`y` under every error model and AIC/BIC compare
across them. Each BLQ observation adds :math:`-2\log\Phi((LLOQ - f)/sd)`
(Beal's M3 method; a probability, so no Jacobian).

A quantified observation predicted 0 has no density under proportional
error (:math:`sd = b f = 0`: -2 log L would go to :math:`-\infty` for
:math:`y = 0` and to :math:`+\infty` otherwise) nor under log-normal error
(:math:`\log 0`); an observed 0 predicted 0 under combined error drives the
additive SD to 0 (-2 log L to :math:`-\infty`). Such observations at the
starting values are refused with a :class:`~il21pk.errors.DataError` naming
them (:func:`check_zero_predictions`); a parameter vector reached during a
search that gives an observation no density gets :math:`-2\log L =
+\infty` (:func:`zero_density`), never a reward. BLQ observations are not
concerned: their M3 probability has a limit.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import log_ndtr

from ..checks import is_integer, is_real
from ..errors import (
    DataError,
    FitError,
    Il21pkError,
    InputTypeError,
    OptionError,
    ParameterError,
)
from ..io.data import Dataset
from ..model import Model
from ..model.inputs import check_regimen, model_inputs, parameter_columns, resolve_params
from ..nonmem import display_id
from ..parameters import ParameterSet, unknown_name_error
from ..regimen import Regimen
from . import executors
from .results import with_time_unit
from .sampling import as_generator
from .simulate import check_options, run_batch, simulate, trough_grid

ERROR_MODELS = ("additive", "proportional", "combined", "lognormal")
_SIGMA_PARTS = {"additive": ("add",), "proportional": ("prop",), "combined": ("add", "prop"),
                "lognormal": ("add",)}
_LOG_2PI = float(np.log(2 * np.pi))
#: Floor for predictions on a log scale and for residual SDs. A residual SD or a
#: log-normal prediction at or below it counts as 0 (see :func:`zero_density`); the
#: floor keeps the M3 terms of BLQ observations finite at a prediction of 0.
TINY = 1e-100
#: K in the residual sqrt(log sd^2 + K): positive for every sd >= TINY, so the
#: sum of squares equals -2 log L + const exactly for any parameter values.
LOG_SD_OFFSET = -2.0 * float(np.log(TINY)) + 1.0


def zero_density(pred: np.ndarray, sd: np.ndarray, log_scale: np.ndarray | bool
                 ) -> np.ndarray:
    """Where a quantified observation has no density: its residual SD is 0 or it has
    log-normal error and a prediction of 0.

    Parameters
    ----------
    pred : numpy.ndarray
        Predictions.
    sd : numpy.ndarray
        Residual SDs floored at :data:`TINY` (as :func:`observation_terms` returns
        them), broadcastable with `pred`.
    log_scale : numpy.ndarray or bool
        True for observations with log-normal error.

    Returns
    -------
    numpy.ndarray of bool
        True where the SD is at most :data:`TINY` (a proportional error model at a
        prediction of 0), or the error is log-normal and the prediction at most
        :data:`TINY`. There -2 log L is +inf: a zero SD would otherwise make it
        unbounded below (:math:`y = f`) and a search could chase it.
    """
    with np.errstate(invalid="ignore"):
        return (sd <= TINY) | (log_scale & (pred <= TINY))


def observation_terms(observations: pd.DataFrame, error: Mapping[str, str],
                      sigmas: Mapping[str, np.ndarray], pred: np.ndarray):
    """Per-observation -2 log L contributions, residuals and SDs, each (M, n_obs).

    Parameters
    ----------
    observations : pandas.DataFrame
        :attr:`Dataset.observations` (``variable``, ``value``, ``blq`` are read).
    error : mapping
        ``{variable: kind}`` with kind in :data:`ERROR_MODELS`.
    sigmas : mapping
        Residual error parameters by name (``sigma_add_<variable>``,
        ``sigma_prop_<variable>``), each an array (M,).
    pred : numpy.ndarray, shape (M, n_obs)
        Predictions in the model's units.

    Returns
    -------
    contrib, resid, sd : numpy.ndarray, shape (M, n_obs)
        -2 log L per observation (M3 for BLQ rows; +inf for a quantified
        observation without density, see :func:`zero_density`), residual (on
        the log scale for log-normal error) and residual SD (floored at
        :data:`TINY`).
    """
    obs = observations
    y = obs["value"].to_numpy()
    blq = obs["blq"].to_numpy()
    sig = sigmas
    contrib = np.empty_like(pred)
    resid = np.empty_like(pred)
    sd = np.empty_like(pred)
    for var, kind in error.items():
        cols = obs["variable"].to_numpy() == var
        f = pred[:, cols]
        a = sig.get(f"sigma_add_{var}", np.zeros(len(pred)))[:, None]
        b = sig.get(f"sigma_prop_{var}", np.zeros(len(pred)))[:, None]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            jacobian = 0.0
            if kind == "lognormal":
                r = np.log(y[cols]) - np.log(np.maximum(f, TINY))
                s = np.maximum(np.broadcast_to(a, f.shape), TINY)
                jacobian = 2.0 * np.log(y[cols])  # density of y, not of log y
            else:
                r = y[cols] - f
                s = np.maximum(np.sqrt(a * a + (b * f) ** 2), TINY)
            normal = np.where(zero_density(f, s, kind == "lognormal"), np.inf,
                              np.log(s * s) + _LOG_2PI + (r / s) ** 2 + jacobian)
            censored = -2.0 * log_ndtr(r / s)  # Phi((LLOQ - f)/sd): y holds LLOQ
        contrib[:, cols] = np.where(blq[cols], censored, normal)
        resid[:, cols] = r
        sd[:, cols] = s
    return contrib, resid, sd


#: Observations named in full by :func:`check_zero_predictions` (the others are counted).
_SHOWN = 5


def check_zero_predictions(observations: pd.DataFrame, error: Mapping[str, str],
                           sigmas: Mapping[str, np.ndarray], pred: np.ndarray,
                           estimated: Collection[str], time_unit: str | None = "h") -> None:
    r"""Refuse quantified observations predicted 0 that leave the likelihood without a
    maximum, before any search starts.

    Such an observation is refused when

    - its error model gives it no density (:func:`zero_density`): proportional
      error (residual SD :math:`b f = 0`: -2 log L is :math:`-\infty` for
      :math:`y = 0` and :math:`+\infty` otherwise) or log-normal error
      (:math:`\log 0`);
    - it is 0 itself under combined error with an estimated additive SD
      :math:`a`: its SD there is :math:`a` and its residual 0, so -2 log L
      falls without bound as :math:`a \to 0` (the estimate of :math:`a`
      ends at its lower bound).

    The prediction of a sample before the first dose or at the time of an SC
    dose is 0 whatever the parameters, so no search could leave these points.
    Shared by :func:`fit` and population fitting. BLQ observations are not
    concerned (M3 gives them a probability).

    Parameters
    ----------
    observations : pandas.DataFrame
        :attr:`Dataset.observations`; its index labels the rows named.
    error : mapping
        ``{variable: kind}``.
    sigmas : mapping
        Residual error parameters at the start, each an array (1,).
    pred : numpy.ndarray, shape (n_obs,)
        Predictions at the starting values.
    estimated : collection of str
        The residual error parameters that are estimated (not fixed).
    time_unit : str or None, optional
        Unit of ``time_h`` for the message.

    Raises
    ------
    DataError
        Naming the subject, time, variable, value, reason and row of each such
        observation, and what to do instead.
    """
    sd = observation_terms(observations, error, sigmas, pred[None])[2][0]
    variables = observations["variable"].to_numpy()
    kinds = observations["variable"].map(error).to_numpy()
    y = observations["value"].to_numpy()
    free_add = np.array([f"sigma_add_{v}" in estimated for v in variables], dtype=bool)
    with np.errstate(invalid="ignore"):
        exact_zero = (kinds == "combined") & free_add & (y == 0) & (np.abs(pred) <= TINY)
    bad = np.flatnonzero((zero_density(pred, sd, kinds == "lognormal") | exact_zero)
                         & ~observations["blq"].to_numpy(dtype=bool))
    if bad.size == 0:
        return
    reasons = {"proportional": "proportional error: residual SD 0",
               "lognormal": "log-normal error: log 0",
               "combined": "combined error: -2 log L unbounded as its additive SD goes to 0"}
    unit = f" {time_unit}" if time_unit else ""
    shown = [f"subject {display_id(observations['subject'].iloc[i])}, time "
             f"{observations['time_h'].iloc[i]:g}{unit}, {variables[i]} = {y[i]:g} (predicted "
             f"{pred[i]:g}; {reasons[kinds[i]]}; row {observations.index[i]})"
             for i in bad[:_SHOWN]]
    more = f"; and {bad.size - _SHOWN} more" if bad.size > _SHOWN else ""
    raise DataError(
        f"{bad.size} observation(s) are predicted 0 at the starting values, where their error "
        f"model leaves -2 log L without a finite minimum: {'; '.join(shown)}{more}. A sample "
        "before the first dose or at the time of an SC dose is predicted 0 whatever the "
        "parameters and tells nothing about them: drop these records or mark them as not "
        "observed (MDV=1), or mark a value below the LLOQ as BLQ (M3); a measured value other "
        "than 0 (assay noise) fits under a combined error model. Otherwise change the "
        "starting values")


def sampling_grid(times: np.ndarray, predose: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The output grid for samples at `times`, each before (`predose`) or after a
    dose given at its time: ``(grid, grid_predose, where)``, 0 and the sampling
    times (a time sampled both before and after a dose listed twice, the trough
    first) and the grid index of each sample (:func:`trough_grid` with t = 0).
    """
    grid, grid_predose, index = trough_grid(np.append(times, 0.0), np.append(predose, False))
    return grid, grid_predose, index[:-1]


def subject_plans(model: Model, dataset: Dataset, params: ParameterSet) -> list[dict]:
    """Per observed subject, what every simulation of its data reuses.

    Returns one dict per subject with observations, in data order:
    ``subject``, ``regimen``, ``columns`` (parameter values (1,), covariates
    included), ``grid`` (0 and the sampling times [h]), ``t_end``,
    ``predose`` (per grid point), ``rows`` (the subject's rows of
    ``dataset.observations``), ``where`` (grid index of each of those rows)
    and ``outputs`` (``(variable, rows, grid indices)`` per observed variable).
    Only covariates the model reads become columns.
    """
    obs = dataset.observations
    base = parameter_columns(model, params)
    cov = dataset.covariates.set_index("subject")
    readable = model_inputs(model)
    plans = []
    for subject, regimen in dataset.regimens.items():
        rows = np.flatnonzero(obs["subject"].to_numpy() == subject)
        if rows.size == 0:
            continue
        # as simulate checks it: a schedule in another time unit, a route the drug
        # lacks, a per-kg dose into a culture well
        regimen = check_regimen(model, regimen, f"the regimen of subject {display_id(subject)}")
        columns = dict(base)
        for name in cov.columns:
            if name in readable:
                columns[name] = np.atleast_1d(float(cov.loc[subject, name]))
        times = obs["time_h"].to_numpy()[rows]
        grid, predose, where = sampling_grid(times, obs["predose"].to_numpy(dtype=bool)[rows])
        variables = obs["variable"].to_numpy()[rows]
        outputs = [(var, rows[variables == var], where[variables == var])
                   for var in np.unique(variables)]
        plans.append({"subject": subject, "regimen": regimen, "columns": columns, "grid": grid,
                      "t_end": max(float(grid[-1]), 1e-9), "predose": predose, "rows": rows,
                      "where": where, "outputs": outputs})
    return plans


@dataclass(frozen=True)
class _Problem:
    """The data, the model and what is estimated; picklable for the executors."""

    model: Model
    dataset: Dataset
    params: ParameterSet
    free: tuple[str, ...]
    sigma_names: tuple[str, ...]  # estimated error parameters, e.g. "sigma_prop_il21_plasma"
    fixed_sigma: dict[str, float]
    error: dict[str, str]
    lower: np.ndarray  # log bounds of [free..., sigmas...]
    upper: np.ndarray
    options: dict = field(default_factory=dict)
    fd_step: float = 1e-4
    gradient: str = "central"

    @property
    def names(self) -> tuple[str, ...]:
        return self.free + self.sigma_names

    # -- predictions ---------------------------------------------------------------
    @cached_property
    def _plan(self) -> list[dict]:
        """Per subject, what every objective evaluation reuses: columns, grid, indices."""
        return subject_plans(self.model, self.dataset, self.params)

    def predict(self, theta: np.ndarray) -> np.ndarray:
        """Predictions (M, n_obs) for M rows of natural-scale free parameters; NaN on failure."""
        out = np.full((theta.shape[0], len(self.dataset.observations)), np.nan)
        for plan in self._plan:
            columns = dict(plan["columns"])
            for j, name in enumerate(self.free):
                columns[name] = theta[:, j]
            batch = run_batch(self.model, plan["regimen"], columns, t_eval=plan["grid"],
                              t_end=plan["t_end"], predose=plan["predose"], **self.options)
            for var, rows, where in plan["outputs"]:
                out[:, rows] = batch.outputs[var][:, where]
            out[~batch.success, :] = np.nan
        return out

    def sigmas(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Error parameters (M,) by name: estimated ones from `x`, fixed ones broadcast."""
        k = len(self.free)
        out = {name: np.exp(x[:, k + i]) for i, name in enumerate(self.sigma_names)}
        for name, value in self.fixed_sigma.items():
            out[name] = np.full(x.shape[0], value)
        return out

    def terms(self, pred: np.ndarray, x: np.ndarray):
        """Per-observation -2 log L contributions, residuals and sds, each (M, n_obs)."""
        return observation_terms(self.dataset.observations, self.error, self.sigmas(x), pred)

    def predict_rows(self, x: np.ndarray) -> np.ndarray:
        """Predictions for M rows of log-scale parameters; rows that differ only in
        error parameters share one simulation."""
        theta, inverse = np.unique(x[:, : len(self.free)], axis=0, return_inverse=True)
        return self.predict(np.exp(theta))[inverse.ravel()]

    def objective(self, x: np.ndarray, pred: np.ndarray | None = None) -> np.ndarray:
        """-2 log L for M rows of log-scale parameters (inf where simulation fails)."""
        pred = self.predict_rows(x) if pred is None else pred
        contrib = self.terms(pred, x)[0]
        value = contrib.sum(axis=1)
        return np.where(np.isfinite(value), value, np.inf)

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Residuals (M, 2 n_obs) whose sum of squares is -2 log L + a constant.

        Per observation: :math:`(y - f)/sd` and :math:`\\sqrt{\\log sd^2 + K}`, or
        for a BLQ observation :math:`\\sqrt{-2\\log\\Phi}` and 0; see
        :data:`LOG_SD_OFFSET` and :meth:`objective_from_residuals`. NaN where the
        model cannot be simulated, inf where an observation has no density
        (:func:`zero_density`): the search steps back from such points.
        """
        pred = self.predict_rows(x)
        contrib, resid, sd = self.terms(pred, x)
        blq = self.dataset.observations["blq"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            first = np.where(blq, np.sqrt(contrib), np.where(
                zero_density(pred, sd, self.log_scale), np.inf, resid / sd))
            second = np.where(blq, 0.0, np.sqrt(np.log(sd * sd) + LOG_SD_OFFSET))
        return np.concatenate([first, second], axis=1)

    @cached_property
    def log_scale(self) -> np.ndarray:
        """True for the observations with log-normal error."""
        return self.dataset.observations["variable"].map(self.error).to_numpy() == "lognormal"

    @cached_property
    def log_jacobian(self) -> float:
        r""":math:`2\sum\log y` over the quantified log-normal observations."""
        obs = self.dataset.observations
        rows = self.log_scale & ~obs["blq"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(2.0 * np.sum(np.log(obs["value"].to_numpy()[rows])))

    def objective_from_residuals(self, e: np.ndarray) -> float:
        """-2 log L from one row of :meth:`residuals`."""
        n_normal = int((~self.dataset.observations["blq"].to_numpy()).sum())
        value = float(e @ e) + n_normal * (_LOG_2PI - LOG_SD_OFFSET) + self.log_jacobian
        return value if np.isfinite(value) else np.inf

    def residual_jacobian(self, x: np.ndarray, e: np.ndarray, free_idx: Sequence[int]
                          ) -> np.ndarray:
        """Finite-difference Jacobian of :meth:`residuals` at `x` (residuals `e`)
        with respect to the quantities `free_idx`, all points in one batch.

        Forward differences when ``gradient="forward"``, else central.
        Derivatives that cannot be computed (a perturbed point fails to
        simulate) are 0.
        """
        h = self.fd_step
        steps = h * np.eye(x.shape[0])[list(free_idx)]
        if self.gradient == "forward":
            jac = (self.residuals(x[None, :] + steps) - e[None, :]) / h
        else:
            both = self.residuals(np.vstack([x[None, :] + steps, x[None, :] - steps]))
            jac = (both[: len(steps)] - both[len(steps):]) / (2 * h)
        return np.where(np.isfinite(jac), jac, 0.0).T

    def hessian(self, x: np.ndarray) -> np.ndarray:
        """Central-difference Hessian of -2 log L on the log scale (one batch)."""
        n = x.shape[0]
        h = 10 * self.fd_step
        stencil = [np.zeros(n)]
        for i in range(n):
            for sign in (1, -1):
                e = np.zeros(n)
                e[i] = sign * h
                stencil.append(e)
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        for i, j in pairs:
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                e = np.zeros(n)
                e[i], e[j] = si * h, sj * h
                stencil.append(e)
        points = x[None, :] + np.array(stencil)
        f = self.objective(points)
        hess = np.empty((n, n))
        for i in range(n):
            hess[i, i] = (f[1 + 2 * i] - 2 * f[0] + f[2 + 2 * i]) / h**2
        base = 1 + 2 * n
        for k, (i, j) in enumerate(pairs):
            pp, pm, mp, mm = f[base + 4 * k: base + 4 * k + 4]
            hess[i, j] = hess[j, i] = (pp - pm - mp + mm) / (4 * h * h)
        return hess


#: Smallest eigenvalue of the observed information, relative to the largest,
#: for the covariance to be reported (below it the matrix is singular in
#: double precision after finite differences).
CONDITION_LIMIT = 1e-10


def covariance_from_hessian(hess: np.ndarray) -> tuple[np.ndarray, str | None]:
    """Covariance :math:`2H^{-1}` of the log-scale estimates from the Hessian of -2 log L.

    Returns the covariance and None, or a NaN matrix and the reason when `hess`
    is not finite, not positive definite (an indefinite matrix has no
    covariance: its "correlations" leave [-1, 1]) or singular to within
    :data:`CONDITION_LIMIT`.
    """
    k = hess.shape[0]
    nan = np.full((k, k), np.nan)
    if not np.all(np.isfinite(hess)):
        return nan, "the Hessian of -2 log L is not finite at the estimate"
    sym = 0.5 * (hess + hess.T)
    eig = np.linalg.eigvalsh(sym)
    if eig[0] <= 0:
        return nan, (f"the Hessian of -2 log L is not positive definite at the estimate "
                     f"(smallest eigenvalue {eig[0]:.3g}; the optimum is a saddle or flat)")
    if eig[0] < CONDITION_LIMIT * eig[-1]:
        return nan, (f"the Fisher information is singular (eigenvalues {eig[0]:.3g} .. "
                     f"{eig[-1]:.3g})")
    return 2.0 * np.linalg.inv(sym), None


def _local_fit(task: tuple[_Problem, np.ndarray, Sequence[int]]) -> dict:
    """One local optimisation (run in a worker); `fixed` indices stay at x0.

    Trust-region reflective least squares (``scipy.optimize.least_squares``)
    on the residuals of :meth:`_Problem.residuals`, whose sum of squares is
    -2 log L up to a constant: Gauss-Newton steps inside the log bounds, with
    the Jacobian from batched finite differences.
    """
    problem, x0, fixed = task
    free_idx = [i for i in range(x0.shape[0]) if i not in set(fixed)]
    if not free_idx:
        return {"x": x0, "objective": float(problem.objective(x0[None, :])[0]), "success": True,
                "message": "nothing to estimate", "nfev": 1}
    calls = [0]
    last = {}

    def full(z):
        x = x0.copy()
        x[free_idx] = z
        return x

    def fun(z):
        calls[0] += 1
        e = problem.residuals(full(z)[None, :])[0]
        last["z"], last["e"] = z.copy(), e
        return e

    def jac(z):
        calls[0] += 1
        e = last["e"] if np.array_equal(last.get("z"), z) else fun(z)
        return problem.residual_jacobian(full(z), e, free_idx)

    lower, upper = problem.lower[free_idx], problem.upper[free_idx]
    z0 = np.clip(x0[free_idx], lower, upper)
    if not np.all(np.isfinite(fun(z0))):
        return {"x": x0, "objective": np.inf, "success": False,
                "message": "the start point cannot be simulated", "nfev": calls[0]}
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            res = optimize.least_squares(fun, z0, jac=jac, bounds=(lower, upper), method="trf",
                                         ftol=LSQ_FTOL, xtol=LSQ_XTOL, gtol=None,
                                         max_nfev=MAX_NFEV)
    except (ValueError, np.linalg.LinAlgError) as exc:  # inf/NaN residuals mid-search
        return {"x": x0, "objective": np.inf, "success": False, "nfev": calls[0],
                "message": f"the likelihood became infinite or NaN during the search "
                           f"({exc}); check for extreme observations or rescale the data"}
    x = full(res.x)
    value = problem.objective_from_residuals(res.fun)
    return {"x": x, "objective": value, "success": bool(res.success and np.isfinite(value)),
            "message": str(res.message), "nfev": calls[0]}


@dataclass(frozen=True)
class ProfileResult:
    """A likelihood profile of one parameter.

    Attributes
    ----------
    name : str
    frame : pandas.DataFrame
        value, objective (-2 log L), delta (vs the optimum), success.
    ci_low, ci_high : float
        Profile-likelihood confidence limits (NaN where the profile does not
        cross the threshold within the explored range).
    label : str
        ``"identifiable"``, ``"practically non-identifiable"`` or
        ``"structurally non-identifiable"`` (flat profile).
    threshold : float
        The chi-square cut-off on delta.
    """

    name: str
    frame: pd.DataFrame
    ci_low: float
    ci_high: float
    label: str
    threshold: float

    def to_frame(self) -> pd.DataFrame:
        """The profile points with the parameter name."""
        return self.frame.assign(name=self.name)


#: Stop a local search when a step changes -2 log L + const by less than this
#: fraction, or the log parameters by less than LSQ_XTOL (relative); both sit
#: at the noise floor of finite differences of ODE solutions.
LSQ_FTOL = 1e-10
LSQ_XTOL = 1e-8
#: Most residual evaluations (each a batch of simulations) in one local search.
MAX_NFEV = 400

#: Most multistart points of one fit.
MAX_STARTS = 10_000

#: A profile whose -2 log L varies less than this over the whole range is flat.
FLAT_TOLERANCE = 1e-2


class FitResult:
    """The result of :func:`fit`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per estimated quantity: name, initial, estimate, stderr,
        ci_low, ci_high (Wald, on the log scale), unit, fixed, source; then
        one row per residual error parameter fixed by the user (fixed=True).
    residuals : pandas.DataFrame
        subject, time_h, variable, observed, predicted, residual,
        weighted_residual (NaN for BLQ rows), blq, unit.
    parameters : ParameterSet
        The input set with the estimates.
    objective : float
        -2 log L at the estimate.
    aic, bic : float
    success : bool
    message : str
    nfev : int
        Residual and Jacobian evaluations (each one batch of simulations) over
        all starts.
    starts : pandas.DataFrame
        start, objective, success, nfev and the end point of every multistart run.
    covariance, correlation : pandas.DataFrame
        Of the log-scale estimates, from the observed Fisher information
        (NaN when it is not positive definite: see `covariance_ok`; NaN in
        the rows and columns of an estimate on one of its bounds, which a
        UserWarning and `message` name).
    covariance_ok : bool
        False when the observed information at the estimate is singular or
        indefinite, or there are fewer quantified observations than
        estimated quantities, or an estimate is on one of its bounds; a
        UserWarning says so, `message` gives the reason, and the standard
        errors and CIs concerned are NaN.
    """

    def __init__(self, problem: _Problem, best: dict, starts: pd.DataFrame, x0: np.ndarray):
        self._problem = problem
        self._x = best["x"]
        self.objective = best["objective"]
        self.success = best["success"]
        self.message = best["message"]
        self.nfev = int(starts["nfev"].sum())
        self.starts = starts
        n_obs = len(problem.dataset)
        k = len(problem.names)
        self.aic = self.objective + 2 * k
        self.bic = self.objective + k * np.log(n_obs)
        names = list(problem.names)
        with np.errstate(all="ignore"):
            cov, problem_text = covariance_from_hessian(problem.hessian(self._x))
        n_quantified = int((~problem.dataset.observations["blq"].to_numpy()).sum())
        if problem_text is None and n_quantified < k:
            cov = np.full((k, k), np.nan)
            problem_text = (f"{n_quantified} quantified observation(s) cannot determine {k} "
                            "estimated quantities")
        self.covariance_ok = problem_text is None
        # an estimate on its bound: the likelihood still falls beyond it, so the
        # Hessian there says nothing about identifiability, and a Wald interval
        # around it nothing about where the data put the quantity
        span = problem.upper - problem.lower
        at_bound = [j for j, (x, lo, hi, w) in enumerate(zip(
            self._x, problem.lower, problem.upper, span, strict=True))
            if min(x - lo, hi - x) <= 1e-6 * max(w, 1.0)]
        on_bound = [f"{names[j]} = {np.exp(self._x[j]):.4g}" for j in at_bound]
        if problem_text is None and on_bound:
            cov = cov.copy()
            cov[at_bound, :] = np.nan
            cov[:, at_bound] = np.nan
            self.covariance_ok = False  # not every standard error is known
            self.message += (f"; on a bound ({', '.join(on_bound)}): the optimum lies beyond "
                             "it (widen `bounds`), and their standard errors and CIs are NaN")
            warnings.warn(f"fit: estimates on a bound ({', '.join(on_bound)}): the likelihood "
                          "still improves beyond it; widen `bounds` (or fix the quantity); "
                          "their standard errors and CIs are NaN (see fit.profile)",
                          UserWarning, stacklevel=3)
        if problem_text is not None:
            cause = (f"the estimates are on a bound ({', '.join(on_bound)}): the optimum "
                     "lies beyond it; widen `bounds`" if on_bound else
                     "the estimates are not all identifiable")
            self.message += f"; no standard errors: {problem_text} ({cause}; see fit.profile)"
            warnings.warn(f"fit: {problem_text}; standard errors, CIs and correlations are "
                          f"NaN and {cause} (see fit.profile and fit.covariance_ok)",
                          UserWarning, stacklevel=3)
        self.covariance = pd.DataFrame(cov, index=names, columns=names)
        sd = np.sqrt(np.diag(cov))
        self.correlation = pd.DataFrame(cov / np.outer(sd, sd), index=names, columns=names)
        estimate = np.exp(self._x)
        z = stats.norm.ppf(0.975)
        units, sources = [], []
        for name in names:
            if name in problem.params:
                units.append(problem.params[name].unit)
                sources.append(problem.params[name].source)
            else:
                units.append(_sigma_unit(problem, name))
                sources.append("estimated residual error")
        with np.errstate(over="ignore"):  # a huge SE gives the interval (0, inf)
            self.table = pd.DataFrame({
                "name": names, "initial": np.exp(x0), "estimate": estimate,
                "stderr": estimate * sd, "ci_low": np.exp(self._x - z * sd),
                "ci_high": np.exp(self._x + z * sd), "unit": units, "fixed": False,
                "source": sources})
        fixed_rows = pd.DataFrame({
            "name": list(problem.fixed_sigma), "initial": list(problem.fixed_sigma.values()),
            "estimate": list(problem.fixed_sigma.values()), "stderr": np.nan, "ci_low": np.nan,
            "ci_high": np.nan, "unit": [_sigma_unit(problem, n) for n in problem.fixed_sigma],
            "fixed": True, "source": "fixed by the user"})
        if len(fixed_rows):
            self.table = pd.concat([self.table, fixed_rows], ignore_index=True)
        pred = problem.predict(estimate[None, : len(problem.free)])
        _, resid, sdev = problem.terms(pred, self._x[None, :])
        obs = problem.dataset.observations
        model_units = {v.name: v.unit for v in problem.model.variables}
        self.residuals = pd.DataFrame({
            "subject": obs["subject"].to_numpy(), "time_h": obs["time_h"].to_numpy(),
            "variable": obs["variable"].to_numpy(), "observed": obs["value"].to_numpy(),
            "predicted": pred[0], "residual": obs["value"].to_numpy() - pred[0],
            "weighted_residual": np.where(obs["blq"].to_numpy(), np.nan, resid[0] / sdev[0]),
            "blq": obs["blq"].to_numpy(),
            "unit": [model_units[v] for v in obs["variable"]]})
        with_time_unit(self.residuals, problem.model.time_unit)
        fitted = dict(zip(problem.free, estimate[: len(problem.free)], strict=True))
        self.parameters = problem.params.with_values(
            fitted, source=f"fit: -2LL {self.objective:.4g}, n={n_obs}") if fitted else \
            problem.params

    def __repr__(self) -> str:
        return (f"FitResult({len(self._problem.names)} estimated, -2LL={self.objective:.6g}, "
                f"success={self.success})")

    def sigma(self) -> dict[str, float]:
        """Residual error parameters, estimated and fixed."""
        return {k: float(v[0]) for k, v in self._problem.sigmas(self._x[None, :]).items()}

    def predict(self, regimen: Regimen | None = None, *, t_end: float, subject=None,
                **kwargs):
        """Simulate with the fitted parameters (a SimulationResult).

        Give a `regimen`, or a `subject` of the data to use its regimen and
        covariates (body weight).
        """
        params = self.parameters
        if subject is not None:
            data = self._problem.dataset
            if subject not in data.regimens:
                raise OptionError(f"`subject` must be one of {data.subjects}; got {subject!r}")
            regimen = data.regimens[subject] if regimen is None else regimen
            row = data.covariates.set_index("subject").loc[subject]
            if len(row):
                params = params.with_values(row.to_dict(), source="covariate")
        if regimen is None:
            raise OptionError("give a `regimen` or a `subject`")
        return simulate(self._problem.model, regimen, params, t_end=t_end, **kwargs)

    def simulate_observations(self, n: int = 200, *, seed=None) -> pd.DataFrame:
        """Replicates of the data set for a posterior predictive check.

        Parameters are drawn from the estimate's covariance (log scale) and
        residual errors from the error models; BLQ handling is not applied.
        An estimate on one of its bounds (no standard error) is held at its
        value. This is parameter uncertainty, not between-subject variability:
        a visual predictive check needs a population fit
        (:func:`il21pk.fit_population`).
        Returns replicate, subject, time_h, variable, value.
        """
        rng = as_generator(seed)
        problem = self._problem
        cov = self.covariance.to_numpy().copy()
        unknown = ~np.isfinite(np.diag(cov))
        held = unknown & np.all(~np.isfinite(cov), axis=1)  # the rows of estimates on a bound
        if unknown.all() or not np.all(np.isfinite(cov[np.ix_(~held, ~held)])):
            raise FitError("the covariance is not available (singular Fisher information): "
                           "no parameter uncertainty to draw")
        x = np.repeat(self._x[None], n, axis=0)
        x[:, ~held] = rng.multivariate_normal(self._x[~held], cov[np.ix_(~held, ~held)],
                                              size=n, method="cholesky")
        x = np.clip(x, problem.lower, problem.upper)
        pred = problem.predict(np.exp(x[:, : len(problem.free)]))
        _, _, sd = problem.terms(pred, x)
        obs = problem.dataset.observations
        noise = rng.standard_normal(pred.shape) * sd
        lognormal = obs["variable"].map(problem.error).to_numpy() == "lognormal"
        value = pred + noise  # exp only where log-normal: an additive sd can overflow it
        value[:, lognormal] = pred[:, lognormal] * np.exp(noise[:, lognormal])
        return pd.DataFrame({
            "replicate": np.repeat(np.arange(n), len(obs)),
            "subject": np.tile(obs["subject"].to_numpy(), n),
            "time_h": np.tile(obs["time_h"].to_numpy(), n),
            "variable": np.tile(obs["variable"].to_numpy(), n), "value": value.ravel()})

    # -- uncertainty ------------------------------------------------------------------
    def profile(self, name: str, *, n_points: int = 13, span: float = 10.0,
                level: float = 0.95) -> ProfileResult:
        """Profile likelihood of one estimated quantity over estimate /span .. x span.

        At each grid value the other quantities are re-optimised (warm-started
        from the neighbouring point). Each confidence limit is where -2 log L
        rises by the chi-square quantile of `level` (1 degree of freedom),
        found by root-finding between the grid points around it.

        Parameters
        ----------
        name : str
            An estimated quantity.
        n_points : int, optional
            Grid points (an integer >= 3; half on each side of the estimate).
        span : float, optional
            The grid's factor each way (a finite number > 1).
        level : float, optional
            Confidence level, in (0, 1).
        """
        names = list(self._problem.names)
        if name not in names:
            raise unknown_name_error(name, names, what="estimated parameter")
        if not is_integer(n_points) or n_points < 3:
            raise OptionError(f"`n_points` must be an integer >= 3; got {n_points!r}")
        if not is_real(span) or not 1 < span < np.inf:
            raise OptionError(f"`span` must be a finite number > 1; got {span!r}")
        if not is_real(level) or not 0 < level < 1:
            raise OptionError(f"`level` must be a number in (0, 1); got {level!r}")
        i = names.index(name)
        lo = max(self._x[i] - np.log(span), self._problem.lower[i])
        hi = min(self._x[i] + np.log(span), self._problem.upper[i])
        half = n_points // 2
        left = np.linspace(self._x[i], lo, half + 1)[1:]
        right = np.linspace(self._x[i], hi, half + 1)[1:]
        threshold = float(stats.chi2.ppf(level, 1))

        def profiled(value: float, start: np.ndarray) -> dict:
            x = start.copy()
            x[i] = value
            return _local_fit((self._problem, x, [i]))

        rows = [(self._x[i], self.objective, True)]
        ci = []
        for side in (left, right):
            x, inside = self._x.copy(), (self._x[i], self._x)
            limit = np.nan
            for value in side:
                res = profiled(value, x)
                x = res["x"]
                rows.append((value, res["objective"], res["success"]))
                if np.isnan(limit) and res["objective"] - self.objective > threshold:
                    limit = self._crossing(profiled, inside, value, threshold)
                if np.isnan(limit) and np.isfinite(res["objective"]):
                    inside = (value, x)
            ci.append(limit)
        frame = pd.DataFrame(rows, columns=["log_value", "objective", "success"])
        frame = frame.sort_values("log_value", ignore_index=True)
        frame.insert(0, "value", np.exp(frame.pop("log_value")))
        frame["delta"] = frame["objective"] - self.objective
        if frame["delta"].abs().max() < FLAT_TOLERANCE:
            label = "structurally non-identifiable"
        elif np.isfinite(ci).all():
            label = "identifiable"
        else:
            label = "practically non-identifiable"
        return ProfileResult(name, frame, ci[0], ci[1], label, threshold)

    def _covariance_state(self) -> str:
        """The report's word for the covariance: ok, partial (estimates on a bound) or not
        available."""
        if self.covariance_ok:
            return "ok"
        known = np.isfinite(np.diag(self.covariance.to_numpy()))
        return "partial (estimates on a bound have none)" if known.any() else "not available"

    def _crossing(self, profiled, inside: tuple[float, np.ndarray], outside: float,
                  threshold: float) -> float:
        """The value where the profile's rise crosses `threshold`, between the log value
        `inside` (below it, with its re-optimised point) and `outside` (above it)."""
        start = inside[1]

        def rise(value: float) -> float:
            return profiled(value, start)["objective"] - self.objective - threshold

        try:
            return float(np.exp(optimize.brentq(rise, *sorted((inside[0], outside)),
                                                xtol=1e-5)))
        except ValueError:  # no sign change on re-optimising: the grid value outside
            return float(np.exp(outside))

    def identifiability(self, **kwargs) -> pd.DataFrame:
        """Profile every estimated quantity: name, estimate, ci_low, ci_high, label."""
        rows = []
        estimated = self.table[~self.table["fixed"]]  # not the residual SDs the user fixed
        for name, est in zip(estimated["name"], estimated["estimate"], strict=True):
            prof = self.profile(name, **kwargs)
            rows.append((name, est, prof.ci_low, prof.ci_high, prof.label))
        return pd.DataFrame(rows, columns=["name", "estimate", "ci_low", "ci_high", "label"])

    def mcmc(self, n_steps: int = 1000, *, n_walkers: int | None = None, burn: int = 200,
             seed=None) -> pd.DataFrame:
        """Posterior samples with emcee (flat priors on the log scale within the bounds).

        Returns a tidy frame: step, walker, name, value (natural scale).
        """
        import emcee

        for name, value, low in (("burn", burn, 0), ("n_steps", n_steps, burn + 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or value < low:
                raise OptionError(f"`{name}` must be an integer >= {low}"
                                  + (" (more steps than the burn-in discards)"
                                     if name == "n_steps" else "") + f"; got {value!r}")
        problem = self._problem
        n = self._x.shape[0]
        walkers = n_walkers or max(2 * n + 2, 8)
        rng = as_generator(seed)
        spread = np.sqrt(np.clip(np.diag(self.covariance.to_numpy()), 1e-8, 1.0))
        spread = np.where(np.isfinite(spread), spread, 0.1)
        start = self._x + 0.1 * spread * rng.standard_normal((walkers, n))
        start = np.clip(start, problem.lower + 1e-9, problem.upper - 1e-9)

        def log_prob(x):
            inside = np.all((x >= problem.lower) & (x <= problem.upper), axis=1)
            out = np.full(x.shape[0], -np.inf)
            if inside.any():
                out[inside] = -0.5 * problem.objective(x[inside])
            return out

        sampler = emcee.EnsembleSampler(walkers, n, log_prob, vectorize=True)
        sampler.random_state = np.random.RandomState(rng.integers(2**32 - 1)).get_state()
        sampler.run_mcmc(start, n_steps, progress=False)
        chain = np.exp(sampler.get_chain(discard=burn))  # (steps, walkers, n)
        steps, nw, _ = chain.shape
        return pd.DataFrame({
            "step": np.repeat(np.arange(burn, burn + steps), nw * n),
            "walker": np.tile(np.repeat(np.arange(nw), n), steps),
            "name": np.tile(list(problem.names), steps * nw),
            "value": chain.ravel()})

    def report(self) -> str:
        """A plain-text report: fit statistics, estimates, correlations."""
        lines = ["[[Fit statistics]]",
                 f"    # observations     = {len(self._problem.dataset)}",
                 f"    # estimated        = {len(self._problem.names)}",
                 f"    -2 log-likelihood  = {self.objective:.6g}",
                 f"    AIC                = {self.aic:.6g}",
                 f"    BIC                = {self.bic:.6g}",
                 f"    objective calls    = {self.nfev} over {len(self.starts)} start(s)",
                 f"    success            = {self.success} ({self.message})",
                 f"    covariance         = {self._covariance_state()}",
                 "[[Parameters]] (estimate +/- SE, 95% CI)"]
        for r in self.table.itertuples():
            lines.append(f"    {r.name:24s} = {r.estimate:.5g} +/- {r.stderr:.3g} [{r.unit}]  "
                         f"({r.ci_low:.4g}, {r.ci_high:.4g})  initial {r.initial:.4g}")
        lines.append("[[Correlations]] (|r| > 0.3)")
        corr = self.correlation.to_numpy()
        names = list(self._problem.names)
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                if abs(corr[i, j]) > 0.3:
                    lines.append(f"    C({names[i]}, {names[j]}) = {corr[i, j]:+.3f}")
        return "\n".join(lines)


def _sigma_unit(problem: _Problem, name: str) -> str:
    """Unit of a residual error parameter: 1 for proportional/log-normal, else the variable's."""
    var = name.split("_", 2)[2]
    if name.startswith("sigma_prop") or problem.error[var] == "lognormal":
        return "1"
    return {v.name: v.unit for v in problem.model.variables}[var]


@dataclass(frozen=True)
class SubjectFits:
    """Per-subject fits from ``fit(..., by_subject=True)``.

    Attributes
    ----------
    results : dict
        subject -> FitResult.
    """

    results: dict

    @property
    def table(self) -> pd.DataFrame:
        """All parameter tables, with a leading ``subject`` column."""
        return pd.concat([r.table.assign(subject=s) for s, r in self.results.items()],
                         ignore_index=True)[["subject", *TABLE_COLUMNS]]

    def to_frame(self) -> pd.DataFrame:
        """Same as :attr:`table`."""
        return self.table


TABLE_COLUMNS = ["name", "initial", "estimate", "stderr", "ci_low", "ci_high", "unit", "fixed",
                 "source"]


def _error_setup(error_model, sigma, variables, model):
    kinds = {v: error_model for v in variables} if isinstance(error_model, str) \
        else dict(error_model)
    for var in variables:
        if var not in kinds:
            raise ParameterError(f"error_model gives no model for observed variable {var!r}")
    for var, kind in kinds.items():
        if var not in variables:
            raise ParameterError(f"error_model names {var!r}, which is not observed; observed: "
                                 f"{variables}")
        if kind not in ERROR_MODELS:
            raise ParameterError(f"error model for {var!r} must be one of {list(ERROR_MODELS)}; "
                                 f"got {kind!r}")
    fixed = {}
    for name, value in (sigma or {}).items():
        parts = name.split("_", 2)
        if len(parts) != 3 or parts[0] != "sigma" or parts[2] not in kinds or \
                parts[1] not in _SIGMA_PARTS[kinds[parts[2]]]:
            allowed = [f"sigma_{p}_{v}" for v, k in kinds.items() for p in _SIGMA_PARTS[k]]
            raise ParameterError(f"unknown residual error parameter {name!r}; allowed: {allowed}")
        if isinstance(value, bool) or not (isinstance(value, (int, float, np.integer,
                                                               np.floating))
                                           and value > 0 and np.isfinite(value)):
            raise ParameterError(f"{name} must be a number > 0; got {value!r}")
        fixed[name] = float(value)
    estimated = tuple(f"sigma_{p}_{v}" for v, k in kinds.items() for p in _SIGMA_PARTS[k]
                      if f"sigma_{p}_{v}" not in fixed)
    return kinds, fixed, estimated


def check_argument_types(error_model: object, **mappings: object) -> None:
    """`error_model` a name or a mapping, each of `mappings` None or a mapping; shared
    by :func:`fit` and population fitting."""
    if not isinstance(error_model, (str, Mapping)):
        raise InputTypeError(f"`error_model` must be a name or a mapping {{variable: name}}; "
                             f"got {type(error_model).__name__}")
    for name, given in mappings.items():
        if given is not None and not isinstance(given, Mapping):
            raise InputTypeError(f"`{name}` must be a mapping or None; got "
                                 f"{type(given).__name__}")


def check_fd_step(value: object, field: str) -> None:
    """A finite-difference step on the log (or logit) scale: a number in [1e-10, 0.1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 1e-10 <= value <= 0.1:
        raise OptionError(f"{field} must be a number in [1e-10, 0.1] (a step on the log "
                          f"scale); got {value!r}")


def check_free(free: object, params: ParameterSet, readable: set[str],
               model: object, dataset: Dataset) -> tuple[str, ...]:
    """`free` as a tuple of distinct names that `params` has and `model` reads
    (``readable``), none of them a covariate column of `dataset`; shared by
    :func:`fit` and population fitting."""
    free = tuple([free] if isinstance(free, str) else free) \
        if isinstance(free, (str, Sequence, np.ndarray)) else None
    if free is None or not all(isinstance(name, str) for name in free):
        raise InputTypeError(f"`free` must be a parameter name or a list of names; got "
                             f"{free!r}")
    if not free:
        raise ParameterError("`free` must name at least one parameter to estimate")
    if len(set(free)) != len(free):
        raise ParameterError(f"free lists a parameter twice: {list(free)}")
    for name in free:
        if name not in params:
            raise unknown_name_error(name, params)
        if name not in readable:
            raise ParameterError(f"{model!r} does not use parameter {name!r}; it cannot be "
                                 "estimated")
    clash = sorted(set(free) & set(dataset.covariates.columns))
    if clash:
        raise ParameterError(f"the dataset has covariate column(s) {clash} named like estimated "
                             "parameters, whose per-subject values would be ignored: rename "
                             "them (Dataset covariates={column: name}) or do not estimate them")
    return free


def fit(model: Model, dataset: Dataset, params: ParameterSet | None = None, *, free: Sequence[str],
        error_model: str | Mapping[str, str] = "proportional",
        sigma: Mapping[str, float] | None = None,
        bounds: Mapping[str, tuple[float, float]] | None = None, n_starts: int = 1,
        seed=None, executor=None, by_subject: bool = False, rtol: float = 1e-8,
        atol: float = 1e-12, method: str = "numba-bdf", fd_step: float = 1e-4,
        gradient: str = "central") -> FitResult | SubjectFits:
    """Estimate parameters by maximum likelihood.

    Parameters
    ----------
    model : Model
        ``Model()``, ``Model.pk_only()`` or ``Model.in_vitro()``.
    dataset : Dataset
        Observations, regimens and covariates (see :class:`il21pk.Dataset`).
    params : ParameterSet, optional
        Starting values of `free` and values of everything else (fixed);
        default the model's own values if it has them (an imported model's
        SBML values), else ``parameter_sets.load("human")``.
    free : sequence of str
        Parameters to estimate (log scale).
    error_model : str or mapping, optional
        One of ``additive, proportional, combined, lognormal`` for every
        observed variable, or ``{variable: kind}``. Default proportional.
    sigma : mapping, optional
        Fixed residual error parameters, e.g. ``{"sigma_prop_il21_plasma":
        0.1}``; the others are estimated.
    bounds : mapping, optional
        ``{name: (low, high)}`` for free parameters and error parameters;
        default value / 100 .. value x 100 within the hard bounds for free
        parameters, and start / 1000 .. start x 1000 for error parameters
        (start 0.1 for proportional and log-normal SDs, 0.1 x the median
        absolute observation for additive ones).
    n_starts : int, optional
        Multistart: the first start is `params`, the others Latin hypercube
        points in the bounds; starts that fail to simulate are redrawn.
    seed : int or numpy.random.Generator, optional
    executor : optional
        Where the starts run (see :func:`il21pk.sweep`).
    by_subject : bool, optional
        Fit each subject on its own (returns :class:`SubjectFits`). `error_model`,
        `sigma` and `bounds` are checked against all subjects' variables; each
        subject's fit takes the entries of the variables it observes.
    rtol, atol, method : optional
        Solver settings (tighter than for simulation: gradients are differences).
    fd_step : float, optional
        Finite-difference step on the log scale.
    gradient : {'central', 'forward'}, optional
        Finite differences for the gradient: central (default, more robust) or
        forward (half the simulations per gradient).

    Returns
    -------
    FitResult or SubjectFits

    Raises
    ------
    DataError
        Among other data problems: an observation that the starting values
        predict to be 0 under proportional or log-normal error, or that is 0
        and predicted 0 under combined error (see
        :func:`check_zero_predictions`); the message names each one and what
        to do. During the search, parameter values that give an observation
        no density (:func:`zero_density`) have -2 log L = +inf.
    """
    if not isinstance(model, Model):
        raise InputTypeError(f"`model` must be an il21pk Model; got {type(model).__name__}")
    if not isinstance(dataset, Dataset):
        raise InputTypeError(f"`dataset` must be an il21pk Dataset; got "
                             f"{type(dataset).__name__}")
    params = resolve_params(model, params)
    free = check_free(free, params, model_inputs(model), model, dataset)
    check_options(t_end=1.0, t_eval=None, method=method, rtol=rtol, atol=atol)
    for name in free:
        if params[name].value <= 0:
            raise ParameterError(f"free parameter {name!r} is estimated on a log scale and must "
                                 f"start > 0; got {params[name].value:g}")
    if isinstance(n_starts, bool) or not isinstance(n_starts, int) or not 1 <= n_starts \
            <= MAX_STARTS:
        raise OptionError(f"`n_starts` must be an integer in [1, {MAX_STARTS}]; got "
                          f"{n_starts!r}")
    executors.check(executor)
    if gradient not in ("central", "forward"):
        raise OptionError(f"`gradient` must be 'central' or 'forward'; got {gradient!r}")
    check_fd_step(fd_step, "`fd_step`")
    if not isinstance(by_subject, bool):
        raise InputTypeError(f"`by_subject` must be True or False; got {by_subject!r}")
    check_argument_types(error_model, sigma=sigma, bounds=bounds)
    as_generator(seed)  # checks it
    check_data(model, dataset, error_model, params, model_inputs(model))
    if by_subject:
        return _fit_by_subject(model, dataset, params, error_model, sigma, bounds, free=free,
                               n_starts=n_starts, seed=seed, executor=executor, rtol=rtol,
                               atol=atol, method=method, fd_step=fd_step, gradient=gradient)
    kinds, fixed, estimated = _error_setup(error_model, sigma, dataset.variables, model)
    x0, lower, upper = [], [], []
    bounds_given = dict(bounds or {})
    bounds = dict(bounds_given)
    for name in free + estimated:
        if name in params:
            p = params[name]
            start = p.value
            default = (max(start / 100, p.lower), min(start * 100, p.upper))
            low, high = _bound_pair(name, bounds.pop(name, default))
            if name not in dict(bounds_given) and low <= 0:
                low = start / 100  # a hard bound of 0 cannot be a log-scale bound
            if not (p.lower <= low and high <= p.upper):
                raise ParameterError(f"bounds for {name!r} ({low:g}, {high:g}) leave its hard "
                                     f"bounds [{p.lower:g}, {p.upper:g}] {p.unit}")
        else:
            start = 0.1 if "prop" in name or kinds[name.split("_", 2)[2]] == "lognormal" else \
                max(0.1 * float(np.nanmedian(np.abs(dataset.observations.loc[
                    dataset.observations["variable"] == name.split("_", 2)[2], "value"]))),
                    1e-12)
            low, high = _bound_pair(name, bounds.pop(name, (start / 1000, start * 1000)))
        if not (0 < low <= start <= high and low < high):
            raise ParameterError(f"bounds for {name!r} must satisfy 0 < low <= start <= high "
                                 f"with low < high; got ({low:g}, {high:g}) with start "
                                 f"{start:g}")
        x0.append(np.log(start))
        lower.append(np.log(low))
        upper.append(np.log(high))
    if bounds:
        raise unknown_name_error(next(iter(bounds)), free + estimated, what="estimated parameter")
    problem = _Problem(model, dataset, params, free, estimated, fixed, kinds,
                       np.array(lower), np.array(upper),
                       {"rtol": rtol, "atol": atol, "method": method}, fd_step, gradient)
    pred0 = problem.predict(np.exp(np.array(x0)[None, : len(free)]))[0]
    x0 = _initial_sigma(problem, np.array(x0), pred0)
    check_zero_predictions(dataset.observations, kinds, problem.sigmas(x0[None]), pred0,
                           estimated, model.time_unit)
    starts = _starting_points(problem, x0, n_starts, as_generator(seed))
    results = list(executors.ordered_map(_local_fit, [(problem, s, []) for s in starts],
                                         executor))
    table = pd.DataFrame({"start": range(len(results)),
                          "objective": [r["objective"] for r in results],
                          "success": [r["success"] for r in results],
                          "nfev": [r["nfev"] for r in results]})
    for i, name in enumerate(problem.names):
        table[name] = [float(np.exp(r["x"][i])) for r in results]
    best = min(results, key=lambda r: r["objective"])
    if not np.isfinite(best["objective"]):
        raise FitError("no start reached a finite likelihood; check the data, the bounds and "
                       f"the parameter values (first start: {results[0]['message']})")
    return FitResult(problem, best, table, x0)


def _fit_by_subject(model: Model, dataset: Dataset, params: ParameterSet,
                    error_model: str | Mapping[str, str], sigma: Mapping[str, float] | None,
                    bounds: Mapping[str, tuple[float, float]] | None, **options
                    ) -> SubjectFits:
    """:func:`fit` of each subject with observations on its own.

    `error_model`, `sigma` and `bounds` are checked against the variables of
    all subjects; each subject's fit gets the entries of the variables it
    observes (a subject without NK samples has no NK error model). Its
    observations keep their row labels, and an error names the subject.
    """
    kinds = _error_setup(error_model, sigma, dataset.variables, model)[0]
    obs = dataset.observations
    fits = {}
    for subject in dataset.subjects:
        rows = (obs["subject"] == subject).to_numpy()
        if not rows.any():
            continue
        seen = set(obs["variable"].to_numpy()[rows])
        unseen = {f"sigma_{part}_{var}" for var, kind in kinds.items() if var not in seen
                  for part in _SIGMA_PARTS[kind]}
        subset = dataset.subset([subject])
        own = replace(subset, observations=subset.observations.set_axis(obs.index[rows]))
        try:
            fits[subject] = fit(
                model, own, params,
                error_model=error_model if isinstance(error_model, str) else
                {var: kind for var, kind in error_model.items() if var in seen},
                sigma=None if sigma is None else
                {name: value for name, value in sigma.items() if name not in unseen},
                bounds=None if bounds is None else
                {name: pair for name, pair in bounds.items() if name not in unseen},
                **options)
        except Il21pkError as exc:
            raise type(exc)(f"subject {display_id(subject)}: {exc}") from exc
    return SubjectFits(fits)


def _bound_pair(name: str, pair: object) -> tuple[float, float]:
    """(low, high) of one estimated quantity, as finite floats."""
    try:
        low, high = (float(v) for v in pair)
    except (TypeError, ValueError, OverflowError):
        raise ParameterError(f"bounds for {name!r} must be a (low, high) pair of numbers; got "
                             f"{pair!r}") from None
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ParameterError(f"bounds for {name!r} must be finite; got {pair!r}")
    return low, high


def _initial_sigma(problem: _Problem, x0: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Start error parameters at the residual spread of the starting predictions `pred`.

    A residual error far from the truth makes the first optimiser steps
    wander (the likelihood is then dominated by a few residuals).
    """
    obs = problem.dataset.observations
    x = x0.copy()
    for i, name in enumerate(problem.sigma_names):
        part, var = name.split("_", 2)[1:]
        rows = (obs["variable"].to_numpy() == var) & ~obs["blq"].to_numpy()
        y, f = obs["value"].to_numpy()[rows], pred[rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            if problem.error[var] == "lognormal":
                r = np.log(y) - np.log(f)
            elif part == "prop":
                r = (y - f) / f
            else:
                r = y - f
        r = r[np.isfinite(r)]
        if r.size:
            share = 0.5 if problem.error[var] == "combined" else 1.0
            with np.errstate(over="ignore"):
                value = share * float(np.sqrt(np.mean(r * r)))
            k = len(problem.free) + i
            x[k] = np.clip(np.log(max(value, 1e-12)), problem.lower[k], problem.upper[k])
    return x


def check_data(model: object, dataset: Dataset, error_model: str | Mapping[str, str],
               params: ParameterSet, readable: set[str], *,
               unread_covariates: bool = False) -> None:
    """Data problems that would otherwise surface as a failed likelihood or a KeyError;
    shared by :func:`fit` and population fitting.

    Parameters
    ----------
    model : Model or closed-form model
        Its ``variables`` (Variable objects or names) are what it reports; a
        model without them is taken to report every observed variable.
    dataset : Dataset
    error_model : str or mapping
        As given to the fit (validated later).
    params : ParameterSet
        The hard bounds of covariates named like parameters.
    readable : set of str
        The parameters the model reads.
    unread_covariates : bool, optional
        Allow covariate columns the model does not read (the covariate effects
        of a population fit use them). Default False.

    Raises
    ------
    DataError
        No observations, an observed variable the model does not report, mass
        concentrations converted with a molecular weight other than the
        parameters', a covariate the model reads that is missing, <= 0 or
        outside its hard bounds, or an observation <= 0 with log-normal error.
    ParameterError
        A covariate column the model does not read (unless `unread_covariates`).
    """
    obs = dataset.observations
    if obs.empty:
        raise DataError("the dataset holds no observations to fit")
    reported = [getattr(v, "name", v) for v in getattr(model, "variables", dataset.variables)]
    foreign = [v for v in dataset.variables if v not in reported]
    if foreign:
        raise DataError(f"the data observe {foreign}, which {model!r} does not report; fit a "
                        f"model that does, or drop those rows (it reports {reported})")
    for var, (name, kda) in getattr(dataset, "molecular_weights", {}).items():
        if name in params and not np.isclose(params.value(name), kda, rtol=1e-12, atol=0.0):
            raise DataError(
                f"the observations of {var!r} were converted to nM with {name} = {kda:g} kDa, "
                f"but the parameters give {name} = {params.value(name):g} kDa; read the data "
                "with these parameters (mw=<the ParameterSet>) or in a molar unit")
    cov = dataset.covariates
    for name in cov.columns.drop("subject"):
        if name not in readable:
            if unread_covariates:
                continue
            raise ParameterError(f"covariate {name!r} is not a parameter {model!r} uses")
        # the parameter's own hard bounds (0 is allowed where they allow it: a lag of 0);
        # a parameter without a spec here must be > 0
        known = name in params
        low, high, unit = (params[name].lower, params[name].upper, params[name].unit) \
            if known else (0.0, np.inf, "")
        bad = cov[name].isna() | ~((cov[name] >= low) & (cov[name] <= high))
        if not known:
            bad |= cov[name] <= 0
        if bad.any():
            rule = f"[{low:g}, {high:g}] {unit}" if known else "(0, inf)"
            raise DataError(f"covariate {name!r} must be given and within its hard bounds "
                            f"{rule}; subject(s) "
                            f"{cov.loc[bad, 'subject'].tolist()} have "
                            f"{cov.loc[bad, name].tolist()}")
    kinds = {v: error_model for v in dataset.variables} if isinstance(error_model, str) \
        else dict(error_model)
    quantified = obs[~obs["blq"]]  # M3 reads only the LLOQ of a BLQ observation
    for var in dataset.variables:
        values = quantified["value"].where(quantified["variable"] == var)
        if kinds.get(var) == "lognormal" and (values <= 0).any():
            rows = quantified[values <= 0]
            raise DataError(f"log-normal error for {var!r} needs observations > 0 (mark "
                            f"values below the LLOQ as BLQ); row {rows.index[0]} has "
                            f"{rows['value'].iloc[0]:g}")
        if kinds.get(var) == "proportional" and (values == 0).any():
            # residual SD b f: a measured 0 scores 2 log f + 1/b^2, which falls without
            # bound as the prediction there goes to 0, so it pulls the fit towards f = 0
            rows = quantified[values == 0]
            raise DataError(
                f"proportional error for {var!r} cannot take a measured 0 (its -2 log L "
                f"falls without bound as the prediction there goes to 0); "
                f"{len(rows)} row(s), the first row {rows.index[0]} (subject "
                f"{rows['subject'].iloc[0]}, time {rows['time_h'].iloc[0]:g}): mark "
                f"values below the LLOQ as BLQ with their LLOQ, drop them (MDV=1), or use "
                f"the combined error model")


def _starting_points(problem: _Problem, x0: np.ndarray, n_starts: int,
                     rng: np.random.Generator) -> list[np.ndarray]:
    """x0, then Latin hypercube points in the log bounds; unsimulable points are redrawn."""
    points = [x0]
    if n_starts > 1:
        from scipy.stats import qmc

        for _ in range(20):
            need = n_starts - len(points)
            if need == 0:
                break
            u = qmc.LatinHypercube(d=x0.shape[0], rng=rng).random(need)
            cand = problem.lower + u * (problem.upper - problem.lower)
            ok = np.isfinite(problem.objective(cand))
            points.extend(cand[ok])
        if len(points) < n_starts:
            raise FitError(f"only {len(points)} of {n_starts} start points could be simulated")
    return points
