"""PopulationFitResult: estimates, likelihoods, individual parameters, diagnostics."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...errors import OptionError
from ..results import with_time_unit
from ..sampling import as_generator
from . import diagnostics
from .problem import PopulationProblem
from .saem import SaemState
from .uncertainty import (
    condition_number,
    least_determined,
    parameter_table,
    rho_names,
    to_rho,
)

#: A fit has not found the data of a variable whose individual predictions leave more
#: than this many times the squared deviations of its observations about their mean (a
#: good fit of a flat variable leaves about 1 time: the mean is the best constant; a
#: prediction off by more than one SD of the data leaves more than 2).
FAR_FROM_THE_DATA = 2.0
#: A correlation matrix of the estimates with a larger condition number flags
#: estimates the data do not determine separately (the usual rule of thumb in
#: pharmacometrics; the population how-to says the same).
ILL_CONDITIONED = 1000.0
SE_METHODS = {
    "saem": "linearisation of the model around the conditional modes (expected Fisher "
            "information, as saemix)",
    "sandwich": "sandwich R^-1 S R^-1 of the FOCEi objective (finite differences)",
    "r": "R^-1, the inverse Hessian of the FOCEi objective / 2 (finite differences)",
    "s": "S^-1, the inverse of the summed per-subject gradient products (FOCEi)",
}


@dataclass
class PopulationFitResult:
    """The result of :func:`il21pk.fit_population`.

    Attributes
    ----------
    method : str
        ``"saem"`` or ``"focei"``.
    table : pandas.DataFrame
        One row per fixed effect (``theta``, covariate ``beta``), omega (SD of
        eta, with ``cv_percent`` and eta ``shrinkage_percent``), correlation
        and sigma (with epsilon shrinkage): estimate, stderr, rse_percent,
        ci_low, ci_high (95 %, Wald; log scale for positive quantities), unit,
        initial, fixed.
    m2ll : float
        -2 log-likelihood by importance sampling (includes n log 2 pi).
    m2ll_se : float
        Its Monte Carlo standard error.
    is_draws : int
        Importance-sampling draws per subject.
    objective : float
        The method's own objective: -2 log L by importance sampling for SAEM,
        the FOCEi objective (same constant) for FOCEi.
    individual : pandas.DataFrame
        Per subject: the EBEs (conditional modes) ``eta_<p>`` and the
        individual parameters ``<p>`` (natural scale).
    predictions : pandas.DataFrame
        Per observation: subject, time_h, variable, observed, blq, pred
        (population, eta = 0), ipred (EBEs), iwres, cwres. ``time_h`` is in
        the model's time unit, recorded in ``attrs["time_unit"]`` (as in every
        frame of this result: :meth:`simulate`, :meth:`vpc`, :meth:`npde`).
    convergence : pandas.DataFrame
        Parameter values per iteration (SAEM) or BFGS iteration (FOCEi).
    covariance : pandas.DataFrame
        Covariance of the estimates in the reporting parameterisation (log
        typical values, covariate coefficients, Omega elements, sigmas).
    standard_errors : str
        How the standard errors were computed.
    shrinkage : dict
        ``omega_<p>`` (eta) and ``epsilon_<variable>`` shrinkage [%].
    condition_number : float
        Largest over smallest eigenvalue of the correlation matrix of the
        estimates. Above :data:`ILL_CONDITIONED` (1000) a warning and
        `message` name the estimates the data do not determine separately
        (those that make up the matrix's least determined direction).
    covariance_ok : bool
        Whether the covariance step gave a covariance matrix with positive
        variances (if not, standard errors and intervals are NaN, with a
        warning; also False when FOCEi's covariance step was switched off).
    success : bool
        False when BFGS failed (FOCEi), when SAEM had no smoothing iterations
        (``k2 = 0``), or when the individual predictions of a variable leave
        more than :data:`FAR_FROM_THE_DATA` (2) times the squared deviations
        of its quantified observations about their mean (the fit has not
        found the data: most often a local optimum from starting values far
        from them); `message` says which, with a warning.
    r_matrix, s_matrix : pandas.DataFrame or None
        FOCEi only: R (half the Hessian of the OFV) and S (sum of outer
        products of the per-subject half-gradients) on the outer parameters
        (log typical values, covariate coefficients, Cholesky factors of
        Omega with log diagonal, log sigmas).
    details : dict
        Diagnostics of the run: SAEM chains and acceptance, conditional
        means and variances, importance-sampling effective sample sizes,
        batched calls and simulations.
    elapsed : dict
        Seconds per stage.
    settings : SaemSettings or FoceiSettings
    starts : pandas.DataFrame
        -2 log L and objective of every start.
    """

    method: str
    table: pd.DataFrame
    m2ll: float
    m2ll_se: float
    is_draws: int
    objective: float
    individual: pd.DataFrame
    predictions: pd.DataFrame
    convergence: pd.DataFrame
    covariance: pd.DataFrame
    standard_errors: str
    shrinkage: dict
    condition_number: float
    elapsed: dict
    settings: object
    starts: pd.DataFrame
    n_obs: int
    n_subjects: int
    success: bool = True
    message: str = ""
    covariance_ok: bool = True
    r_matrix: pd.DataFrame | None = None
    s_matrix: pd.DataFrame | None = None
    details: dict = field(default_factory=dict)
    _problem: PopulationProblem | None = field(default=None, repr=False)
    _state: SaemState | None = field(default=None, repr=False)
    _eta: np.ndarray | None = field(default=None, repr=False)

    # -- summary numbers ------------------------------------------------------------
    @property
    def n_parameters(self) -> int:
        """Number of estimated quantities (fixed effects, Omega elements, sigmas)."""
        return int(self.covariance.shape[0])

    @property
    def aic(self) -> float:
        """AIC from :attr:`m2ll`."""
        return self.m2ll + 2 * self.n_parameters

    @property
    def bic(self) -> float:
        """BIC from :attr:`m2ll` with log(number of observations)."""
        return self.m2ll + self.n_parameters * float(np.log(self.n_obs))

    def __repr__(self) -> str:
        return (f"PopulationFitResult(method={self.method!r}, {self.n_subjects} subjects, "
                f"{self.n_obs} observations, -2LL={self.m2ll:.6g} +/- {self.m2ll_se:.2g})")

    def to_frame(self) -> pd.DataFrame:
        """The parameter table with the method as a column."""
        return self.table.assign(method=self.method)

    def table_with(self, standard_errors: str) -> pd.DataFrame:
        """The parameter table with another FOCEi covariance: 'sandwich', 'r' or 's'."""
        key = f"covariance_{standard_errors}"
        if key not in self.details:
            known = [k.split("_", 1)[1] for k in self.details if k.startswith("covariance_")]
            if not known:
                raise OptionError(f"table_with is for FOCEi fits with their covariance step "
                                  f"('sandwich', 'r' or 's'); this {self.method} fit has only "
                                  f"its own standard errors ({self.standard_errors}), in "
                                  "result.table")
            raise OptionError(f"standard_errors must be one of {known} for this {self.method} "
                              f"fit; got {standard_errors!r}")
        state = self._state
        return parameter_table(self._problem, state.coef, state.omega, state.sigma,
                               self.details[key].to_numpy(), self.details["initial"],
                               self.shrinkage, self.details["units"])

    def typical_values(self) -> dict[str, float]:
        """Estimated typical values by parameter name."""
        rows = self.table[self.table["kind"] == "theta"]
        return dict(zip(rows["name"], rows["estimate"], strict=True))

    def sigma(self) -> dict[str, float]:
        """Residual error parameters (estimated and fixed)."""
        rows = self.table[self.table["kind"] == "sigma"]
        return dict(zip(rows["name"], rows["estimate"], strict=True))

    def omega(self) -> pd.DataFrame:
        """The covariance matrix of the random effects."""
        names = self._problem.individual.iiv_names
        return pd.DataFrame(self._state.omega, index=names, columns=names)

    # -- report -----------------------------------------------------------------------
    def report(self) -> str:
        """An lmfit/NONMEM-like text summary."""
        lines = [f"[[Population fit: {self.method.upper()}]]",
                 f"    # subjects           = {self.n_subjects}",
                 f"    # observations       = {self.n_obs}"
                 f" ({int(self.predictions['blq'].sum())} BLQ, M3)",
                 f"    # estimated          = {self.n_parameters}",
                 f"    -2 log-likelihood    = {self.m2ll:.4f} +/- {self.m2ll_se:.3f} "
                 f"(importance sampling, {self.is_draws} draws/subject)",
                 f"    objective ({self.method:5s})    = {self.objective:.4f}",
                 f"    AIC                  = {self.aic:.4f}",
                 f"    BIC                  = {self.bic:.4f}",
                 f"    standard errors      : {self.standard_errors}",
                 f"    condition number     = {self.condition_number:.4g}",
                 f"    covariance           = "
                 f"{'ok' if self.covariance_ok else 'not available (standard errors NaN)'}",
                 f"    success              = {self.success} ({self.message})",
                 "    elapsed [s]          = " + ", ".join(
                     f"{k} {v:.2f}" for k, v in self.elapsed.items()),
                 "[[Fixed effects]] (estimate +/- SE, RSE %, 95% CI)"]

        def fmt(r):
            return (f"    {r.name:28s} = {r.estimate:<11.5g} +/- {r.stderr:<9.3g} "
                    f"({r.rse_percent:5.1f} %)  [{r.ci_low:.4g}, {r.ci_high:.4g}]")

        for r in self.table[self.table["kind"].isin(["theta", "beta"])].itertuples():
            lines.append(fmt(r) + (f"  [{r.unit}]" if r.unit else ""))
        lines.append("[[Between-subject variability]] (omega = SD of eta; CV %; shrinkage %)")
        for r in self.table[self.table["kind"].isin(["omega", "corr"])].itertuples():
            extra = f"  CV {r.cv_percent:.1f} %" if np.isfinite(r.cv_percent) else ""
            extra += f"  shrinkage {r.shrinkage_percent:.1f} %" \
                if np.isfinite(r.shrinkage_percent) else ""
            lines.append(fmt(r) + extra)
        lines.append("[[Residual error]] (epsilon shrinkage %)")
        for r in self.table[self.table["kind"] == "sigma"].itertuples():
            extra = " (fixed)" if r.fixed else ""
            extra += f"  shrinkage {r.shrinkage_percent:.1f} %" \
                if np.isfinite(r.shrinkage_percent) else ""
            lines.append(fmt(r) + extra)
        corr = self.covariance.to_numpy()
        if np.all(np.isfinite(corr)) and corr.size:
            sd = np.sqrt(np.diag(corr))
            corr = corr / np.outer(sd, sd)
            names = list(self.covariance.index)
            lines.append("[[Correlations of estimates]] (|r| > 0.5)")
            for i in range(len(names)):
                for j in range(i + 1, len(names)):
                    if abs(corr[i, j]) > 0.5:
                        lines.append(f"    C({names[i]}, {names[j]}) = {corr[i, j]:+.3f}")
        return "\n".join(lines)

    # -- diagnostics ------------------------------------------------------------------
    def simulate(self, n: int = 200, *, seed=None, censor: bool = True) -> pd.DataFrame:
        """Replicates of the dataset with between-subject variability and residual error.

        Each replicate draws new random effects for every subject (covariates
        and design as in the data) and residual errors; with `censor`, values
        below a row's LLOQ are reported as BLQ. Returns replicate, subject,
        time_h, variable, value, blq.
        """
        n = diagnostics.check_replicates(n)
        sims = diagnostics.simulate_replicates(self._problem, self._state, n,
                                               as_generator(seed))
        return diagnostics.replicates_frame(self._problem, sims, censor=censor)

    def vpc(self, variable: str | None = None, *, n: int = 200, bins: int | np.ndarray = 8,
            percentiles=(5, 50, 95), level: float = 0.95, seed=None) -> pd.DataFrame:
        """Visual predictive check table (binned, simulated with BSV and residual error).

        Returns one row per bin and percentile: bin, time_h (median time in
        the bin), percentile, observed, sim_median, sim_low, sim_high (the
        `level` interval of that percentile across replicates), n_obs.
        """
        return diagnostics.vpc_table(self, variable, n=n, bins=bins, percentiles=percentiles,
                                     level=level, seed=seed)

    def npde(self, n: int = 500, *, seed=None) -> pd.DataFrame:
        """Normalised prediction distribution errors per observation (BLQ rows NaN)."""
        return diagnostics.npde(self, n=n, seed=seed)

    def plot_convergence(self, **kwargs):
        """Convergence of every parameter (one small panel each); returns the Axes array."""
        return diagnostics.plot_convergence(self, **kwargs)

    def plot_gof(self, kind: str = "observed_vs_ipred", **kwargs):
        """One goodness-of-fit panel; see :func:`.diagnostics.plot_gof`."""
        return diagnostics.plot_gof(self, kind, **kwargs)

    def plot_individual(self, subject, **kwargs):
        """Observations, individual and population predictions of one subject."""
        return diagnostics.plot_individual(self, subject, **kwargs)

    def plot_vpc(self, variable: str | None = None, **kwargs):
        """Binned visual predictive check with percentile CI bands."""
        return diagnostics.plot_vpc(self, variable, **kwargs)


def finish(problem: PopulationProblem, method: str, run: dict, *, initial: dict, settings,
           starts: list, units: dict) -> PopulationFitResult:
    """Assemble the result of one estimation run."""
    state = run["state"]
    modes = run["modes"]
    isamp = run["is"]
    im = problem.individual
    mu = im.mean(state.coef)
    eta = modes.eta[0]
    phi = im.phi(mu, eta)
    psi = im.psi(phi)
    individual = pd.DataFrame({"subject": problem.subjects})
    for a, name in enumerate(im.iiv_names):
        individual[f"eta_{name}"] = eta[:, a]
    for name in im.names:
        individual[name] = psi[name]
    full_sigma = problem.all_sigma(state.sigma)
    obs = problem.observations
    pop_pred = problem.predict(mu[None])[0]
    ipred = modes.pred[0]
    iwres = obs.weighted_residuals(ipred[None], full_sigma)[0]
    cwres = diagnostics.cwres(problem, state, modes)
    frame = problem.dataset.observations
    predictions = with_time_unit(pd.DataFrame({
        "subject": frame["subject"].to_numpy(), "time_h": frame["time_h"].to_numpy(),
        "variable": frame["variable"].to_numpy(), "observed": frame["value"].to_numpy(),
        "blq": frame["blq"].to_numpy(), "pred": pop_pred, "ipred": ipred, "iwres": iwres,
        "cwres": cwres}), problem.time_unit)
    shrinkage = {}
    sd = np.sqrt(np.diag(state.omega))
    for a, name in enumerate(im.iiv_names):
        shrinkage[f"omega_{name}"] = float(100.0 * (1.0 - np.std(eta[:, a], ddof=1) / sd[a])) \
            if problem.n_subjects > 1 else float("nan")
    for var in obs.error:
        values = iwres[(obs.variable == var) & np.isfinite(iwres)]
        shrinkage[f"epsilon_{var}"] = float(100.0 * (1.0 - np.std(values, ddof=1))) \
            if values.size > 1 else float("nan")
    names = rho_names(problem)
    if method == "saem":
        cov = run["covariance"]
        out = run["saem"]
        convergence = out.history
        success, message = True, f"{out.iterations} iterations, {out.chains} chain(s)"
        if settings.k2 == 0:
            success = False
            message += ("; no smoothing iterations (k2 = 0): the estimates are one noisy "
                        "iterate of the exploration phase")
        r_mat = s_mat = None
        details = {"chains": out.chains, "acceptance": out.acceptance,
                   "conditional_mean": out.s1, "conditional_variance": out.s3 - out.s1 ** 2}
        condition = condition_number(cov)
    else:
        out = run["focei"]
        cov = out.cov_rho
        convergence = out.history
        success, message = out.success, f"{out.message} ({out.iterations} BFGS iterations)"
        r_mat = pd.DataFrame(out.r_matrix, index=out.x_names, columns=out.x_names)
        s_mat = pd.DataFrame(out.s_matrix, index=out.x_names, columns=out.x_names)
        names_rho = rho_names(problem)
        details = {f"covariance_{k}": pd.DataFrame(v, index=names_rho, columns=names_rho)
                   for k, v in out.covariances.items()}
        condition = out.condition_number
    details.update({"initial": initial, "units": units, "ess": isamp.ess,
                    "m2ll_per_subject": isamp.per_subject,
                    "converged_modes": modes.converged[0], "calls": run["calls"],
                    "members": run["members"], "rho": to_rho(problem, state.coef, state.omega,
                                                             state.sigma)})
    covariance_ok = bool(cov.size) and bool(np.all(np.isfinite(cov))) \
        and bool(np.all(np.diag(cov) > 0))
    if not covariance_ok and (method == "saem" or settings.covariance):
        how = SE_METHODS["saem" if method == "saem" else settings.standard_errors]
        message += "; no standard errors: the covariance step failed"
        warnings.warn(f"fit_population ({method}): the covariance step ({how}) gave no "
                      "covariance matrix with positive variances, so standard errors and "
                      "confidence intervals are NaN (result.covariance_ok is False); the "
                      "estimates stand. Most often a variance estimated near 0 or a parameter "
                      "the data do not determine: see result.table and result.convergence",
                      UserWarning, stacklevel=3)
    if covariance_ok and condition > ILL_CONDITIONED:
        involved = ", ".join(least_determined(cov, names))
        message += (f"; ill-conditioned (condition number {condition:.3g}): the data do not "
                    f"determine {involved} separately")
        warnings.warn(f"fit_population ({method}): the correlation matrix of the estimates "
                      f"has condition number {condition:.4g} (above {ILL_CONDITIONED:g}): the "
                      f"data do not determine {involved} separately, so their standard errors "
                      "and intervals say little; fix one of them or add data that separate "
                      "them (see result.table's rse_percent and result.covariance)",
                      UserWarning, stacklevel=3)
    for var, sse, sst in _far_from_the_data(frame, ipred):
        success = False
        message += (f"; the individual predictions of {var!r} are further from the data than "
                    "their mean")
        warnings.warn(f"fit_population ({method}): the individual predictions of {var!r} are "
                      f"further from its quantified observations than their mean is (sum of "
                      f"squared residuals {sse:.4g}, more than {FAR_FROM_THE_DATA:g} times the "
                      f"{sst:.4g} about the mean), so the fit has not found the data "
                      "(result.success is False). Most often a local optimum from starting "
                      "values far from the data: start nearer them, or try n_starts > 1",
                      UserWarning, stacklevel=3)
    with np.errstate(over="ignore"):  # an interval beyond the float range is inf
        table = parameter_table(problem, state.coef, state.omega, state.sigma, cov, initial,
                                shrinkage, units)
    return PopulationFitResult(
        method=method, table=table, m2ll=isamp.m2ll, m2ll_se=isamp.se, is_draws=isamp.draws,
        objective=float(run["objective"]), individual=individual, predictions=predictions,
        convergence=convergence, covariance=pd.DataFrame(cov, index=names, columns=names),
        standard_errors=SE_METHODS["saem" if method == "saem"
                                   else settings.standard_errors],
        shrinkage=shrinkage, condition_number=condition,
        elapsed=dict(run["timing"]), settings=settings, starts=pd.DataFrame(starts),
        n_obs=obs.n_obs, n_subjects=problem.n_subjects, success=success, message=message,
        covariance_ok=covariance_ok,
        r_matrix=r_mat, s_matrix=s_mat, details=details, _problem=problem, _state=state,
        _eta=eta)


def _far_from_the_data(observations: pd.DataFrame, ipred: np.ndarray) -> list:
    """(variable, squared residuals of `ipred`, squared deviations from the mean) for
    each variable whose individual predictions are further from its quantified
    observations (3 or more, not all equal) than their mean is, by more than
    :data:`FAR_FROM_THE_DATA` in the sums of squares."""
    out = []
    value = observations["value"].to_numpy(dtype=float)
    usable = ~observations["blq"].to_numpy(dtype=bool) & np.isfinite(ipred)
    variable = observations["variable"].to_numpy()
    for var in pd.unique(variable):
        rows = usable & (variable == var)
        if rows.sum() < 3:
            continue
        y = value[rows]
        sse = float(np.sum((y - ipred[rows]) ** 2))
        sst = float(np.sum((y - y.mean()) ** 2))
        if sst > 0 and sse > FAR_FROM_THE_DATA * sst:
            out.append((var, sse, sst))
    return out
