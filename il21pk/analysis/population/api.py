"""fit_population(): nonlinear mixed-effects estimation by SAEM or FOCEi."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np

from ...checks import is_integer
from ...errors import FitError, InputTypeError, OptionError, ParameterError
from ...io.data import Dataset
from ...model import Model
from ...model.inputs import model_inputs, resolve_params
from ...parameters import ParameterSet
from .. import executors
from ..fitting import (
    _error_setup,
    check_argument_types,
    check_data,
    check_fd_step,
    check_free,
    check_zero_predictions,
)
from ..sampling import as_generator
from ..simulate import check_options
from .covariates import bind_terms
from .focei import FoceiSettings, run_focei
from .individual import IndividualModel, omega_mask
from .inner import conditional_modes
from .likelihood import ObservationModel
from .marginal import importance_sampling
from .predictors import make_predictor
from .problem import PopulationProblem
from .result import PopulationFitResult, finish
from .saem import SaemSettings, SaemState, run_saem
from .uncertainty import linearised_covariance

METHODS = ("saem", "focei")


def fit_population(model, dataset: Dataset, params: ParameterSet | None = None, *,
                   free: Sequence[str], iiv: Mapping[str, float], method: str = "saem",
                   covariance: str | Sequence[Sequence[str]] = "diagonal",
                   covariates: Mapping | None = None,
                   error_model: str | Mapping[str, str] = "proportional",
                   sigma: Mapping[str, float] | None = None, seed=None,
                   settings: SaemSettings | FoceiSettings | None = None, n_starts: int = 1,
                   executor=None, solver: str = "numba-bdf", rtol: float = 1e-8,
                   atol: float = 1e-12, sampling_rtol: float = 1e-6,
                   sampling_atol: float = 1e-9, fd_step: float = 1e-4) -> PopulationFitResult:
    r"""Fit a nonlinear mixed-effects (population) model.

    Individual parameters are :math:`\psi_i = h^{-1}(h(\theta) + \text{covariate
    terms} + \eta_i)`, :math:`\eta_i \sim N(0, \Omega)`, with :math:`h = \log`
    (logit for fractions such as ``f_sc``); observations follow the residual
    error models of :func:`il21pk.fit` (BLQ values by M3).

    Parameters
    ----------
    model : Model or closed-form model
        ``Model()``, ``Model.pk_only(...)``, or an object with ``bind(dataset,
        params)`` returning a prediction function (e.g.
        :class:`~il21pk.analysis.population.OneCompartmentOral`).
    dataset : Dataset
        Observations, per-subject regimens and covariates.
    params : ParameterSet, optional
        Initial typical values of `free`; values of everything else. Default
        for an il21pk Model as for :func:`il21pk.simulate` (an imported
        model's own values); a closed-form model needs it.
    free : sequence of str
        Typical values to estimate.
    iiv : mapping
        ``{parameter: initial omega}``: the initial SD of :math:`\eta` (about
        the CV for log-normal variability). Parameters must be in `free`.
    method : {'saem', 'focei'}, optional
        Estimation method (default SAEM).
    covariance : 'diagonal', 'full' or list of lists, optional
        Structure of :math:`\Omega`: independent random effects (default),
        all correlated, or blocks of correlated parameters.
    covariates : mapping, optional
        ``{parameter: effect or [effects]}`` with effects from
        :mod:`il21pk.analysis.population.covariates` (Power, Exponential,
        Linear, Categorical).
    error_model : str or mapping, optional
        ``additive, proportional, combined, lognormal`` for every observed
        variable or ``{variable: kind}``. Default proportional.
    sigma : mapping, optional
        Residual error parameters to fix (the others are estimated).
    seed : int or numpy.random.Generator, optional
        Seeds the chains, the importance sampling and the starts.
    settings : SaemSettings or FoceiSettings, optional
        Algorithm settings (defaults as documented there).
    n_starts : int, optional
        Independent runs from perturbed starts (SAEM: other seeds too); the
        one with the lowest -2 log L is returned. Starts run on `executor`.
    executor : optional
        With ``n_starts == 1`` and an il21pk Model: where batches of
        simulations run (see :mod:`il21pk.executors`; an int or
        ``"processes"`` starts one local pool for the whole fit); with
        ``n_starts > 1``: where the starts run.
    solver, rtol, atol : optional
        ODE solver and tolerances for everything differentiated (FOCEi,
        conditional modes, standard errors); ignored for closed forms.
    sampling_rtol, sampling_atol : optional
        Looser tolerances for the Monte Carlo steps (SAEM's MCMC, importance
        sampling, VPC/NPDE replicates), whose integration errors stay far
        below the Monte Carlo noise (at most `rtol`, `atol` apart).
    fd_step : float, optional
        Finite-difference step on the transformed parameter scale.

    Returns
    -------
    PopulationFitResult

    Raises
    ------
    DataError
        Among other data problems (the checks of :func:`il21pk.fit`): an
        observation that the typical subject's starting values predict to be
        0 under proportional or log-normal error, or that is 0 and predicted
        0 under combined error (see
        :func:`il21pk.analysis.fitting.check_zero_predictions`). During the
        estimation, parameter values that give an observation no density
        have -2 log L = +inf.
    """
    started = time.perf_counter()
    if method not in METHODS:
        raise OptionError(f"`method` must be one of {list(METHODS)}; got {method!r}")
    if not isinstance(dataset, Dataset):
        raise InputTypeError(f"`dataset` must be an il21pk Dataset; got {type(dataset).__name__}")
    if isinstance(model, Model):
        params = resolve_params(model, params)
        readable = model_inputs(model)
        check_options(t_end=1.0, t_eval=None, method=solver, rtol=rtol, atol=atol)
        check_options(t_end=1.0, t_eval=None, method=solver, rtol=sampling_rtol,
                      atol=sampling_atol)
    elif hasattr(model, "bind") and hasattr(model, "parameter_names"):
        if not isinstance(params, ParameterSet):
            raise InputTypeError("`params` must be an il21pk ParameterSet (a closed-form model "
                                 f"has no values of its own); got {type(params).__name__}")
        readable = set(model.parameter_names)
    else:
        raise InputTypeError("`model` must be an il21pk Model or a closed-form model with "
                             f"`bind` and `parameter_names`; got {type(model).__name__}")
    free = check_free(free, params, readable, model, dataset)
    transforms = []
    for name in free:
        p = params[name]
        logit = p.lower == 0.0 and p.upper == 1.0
        transforms.append("logit" if logit else "log")
        if logit and not 0 < p.value < 1:
            raise ParameterError(f"free parameter {name!r} is a fraction estimated on a logit "
                                 f"scale and must start in (0, 1); got {p.value:g}")
        if not logit and p.value <= 0:
            raise ParameterError(f"free parameter {name!r} is estimated on a log scale and must "
                                 f"start > 0; got {p.value:g}")
    if not isinstance(iiv, Mapping):
        raise InputTypeError("`iiv` must be a mapping {parameter: initial omega}")
    for name, value in iiv.items():
        if name not in free:
            raise ParameterError(f"iiv names {name!r}, which is not in `free`; between-subject "
                                 f"variability needs an estimated typical value: {list(free)}")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                              np.floating)) \
                or not value > 0 or not np.isfinite(value):
            raise ParameterError(f"iiv[{name!r}] (initial omega, the SD of eta) must be a "
                                 f"number > 0; got {value!r}")
    if isinstance(n_starts, bool) or not isinstance(n_starts, int) or n_starts < 1:
        raise OptionError(f"`n_starts` must be an integer >= 1; got {n_starts!r}")
    check_fd_step(fd_step, "`fd_step`")
    check_argument_types(error_model, sigma=sigma, covariates=covariates)
    if settings is None:
        settings = SaemSettings() if method == "saem" else FoceiSettings()
    expected = SaemSettings if method == "saem" else FoceiSettings
    if not isinstance(settings, expected):
        raise InputTypeError(f"`settings` for method {method!r} must be a {expected.__name__}; got "
                             f"{type(settings).__name__}")
    executors.check(executor)
    check_data(model, dataset, error_model, params, readable, unread_covariates=True)
    kinds, fixed_sigma, sigma_names = _error_setup(error_model, sigma, dataset.variables,
                                                   model)
    obs = dataset.observations
    subjects = [s for s in dataset.regimens if (obs["subject"] == s).any()]
    position = {s: j for j, s in enumerate(subjects)}
    cov_frame = dataset.covariates.set_index("subject").reindex(subjects).reset_index()
    terms = bind_terms(dict(covariates or {}), cov_frame, free)
    iiv_idx = np.array([free.index(n) for n in free if n in iiv], dtype=int)
    iiv_names = [free[i] for i in iiv_idx]
    mask = omega_mask(iiv_names, covariance)
    im = IndividualModel(free, tuple(transforms), iiv_idx, terms, len(subjects), mask)
    rng = as_generator(seed)
    options = {"method": solver, "rtol": rtol, "atol": atol}
    pred_executor = executor if n_starts == 1 and isinstance(model, Model) else None
    owned = None
    if pred_executor is not None and (pred_executor == "processes" or (
            is_integer(pred_executor) and pred_executor > 1)):
        # one pool for the whole fit: a pool per batch would start workers at every E-step
        workers = int(pred_executor) if is_integer(pred_executor) else executors.cpu_count()
        owned = pred_executor = executors.process_pool(workers)
    predictor = make_predictor(model, dataset, params, free, options, pred_executor)
    sampler = None
    if isinstance(model, Model) and (sampling_rtol, sampling_atol) != (rtol, atol):
        loose = {"method": solver, "rtol": max(rtol, sampling_rtol),
                 "atol": max(atol, sampling_atol)}
        sampler = make_predictor(model, dataset, params, free, loose, pred_executor)
    obs_model = ObservationModel(obs, kinds, np.array([position[s] for s in obs["subject"]]),
                                 len(subjects))
    problem = PopulationProblem(dataset, subjects, predictor, im, obs_model, tuple(sigma_names),
                                dict(fixed_sigma), fd_step, sampler,
                                time_unit=getattr(model, "time_unit", "h"))
    coef0 = im.initial_coefficients([params[n].value for n in free])
    omega0 = np.diag([float(iiv[n]) ** 2 for n in iiv_names])
    pred0 = problem.predict(im.mean(coef0)[None])[0]
    sigma0 = _initial_sigma(problem, pred0)
    check_zero_predictions(obs, kinds, obs_model.sigma_arrays(problem.all_sigma(sigma0), 1),
                           pred0, sigma_names, problem.time_unit)
    start = SaemState(coef0, omega0, sigma0)
    initial = _initial_values(problem, start)
    setup_time = time.perf_counter() - started
    seeds = rng.spawn(n_starts) if hasattr(rng, "spawn") else \
        [np.random.default_rng(rng.integers(2**63)) for _ in range(n_starts)]
    starts = [start] + [_perturbed(problem, start, seeds[i]) for i in range(1, n_starts)]
    tasks = [(problem, method, s, settings, seeds[i]) for i, s in enumerate(starts)]
    try:
        runs = list(executors.ordered_map(_run_one, tasks,
                                          executor if n_starts > 1 else "serial"))
        best = min(runs, key=lambda run: run["m2ll"] if np.isfinite(run["m2ll"]) else np.inf)
        if not np.isfinite(best["m2ll"]):
            raise FitError("no start reached a finite -2 log-likelihood; check the data, the "
                           "starting values and the error model")
        best["timing"]["setup"] = setup_time
        result = finish(problem, method, best, initial=initial, settings=settings,
                        starts=[{"start": i, "m2ll": run["m2ll"], "objective": run["objective"]}
                                for i, run in enumerate(runs)],
                        units=_units(problem, params, model))
    finally:
        if owned is not None:
            owned.shutdown()
            # later simulations from the result (VPC, NPDE) run in this process
            for fn in (problem.predictor, problem.sampler):
                if fn is not None:
                    fn.executor = None
    result.elapsed["total"] = time.perf_counter() - started
    return result


def _run_one(task) -> dict:
    """One estimation run (in a worker when starts run in parallel)."""
    problem, method, start, settings, rng = task
    timing = {}
    t0 = time.perf_counter()
    if method == "saem":
        out = run_saem(problem, start, settings, rng)
        state = out.state
        extra = {"saem": out}
        timing["estimation"] = time.perf_counter() - t0
        objective = None
    else:
        out = run_focei(problem, start, settings)
        state = out.state
        extra = {"focei": out}
        timing["estimation"] = out.timing["estimation"]
        timing["covariance"] = out.timing["covariance"]
        objective = out.objective
    im = problem.individual
    t1 = time.perf_counter()
    mu = im.mean(state.coef)
    full_sigma = problem.all_sigma(state.sigma)
    eta0 = None
    if method == "saem" and im.n_random:
        eta0 = (out.s1 - mu[:, im.iiv])[None]
    modes = conditional_modes(problem, mu[None], state.omega, full_sigma, eta0)
    timing["ebe"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    draws = settings.is_draws
    isamp = importance_sampling(problem, mu, state.omega, full_sigma, modes, draws=draws,
                                df=settings.is_df, rng=rng)
    timing["importance_sampling"] = time.perf_counter() - t2
    if method == "saem":
        t3 = time.perf_counter()
        cov = linearised_covariance(problem, state.coef, state.omega, state.sigma, modes.eta[0])
        timing["covariance"] = time.perf_counter() - t3
        extra["covariance"] = cov
        objective = isamp.m2ll
    return {"state": state, "modes": modes, "is": isamp, "m2ll": isamp.m2ll,
            "objective": objective, "timing": timing, **extra,
            "calls": problem.calls, "members": problem.members}


def _initial_sigma(problem: PopulationProblem, pred: np.ndarray) -> dict:
    """Residual SDs from the spread of the typical subject's residuals (`pred`: its
    predictions at the starting values).

    Robust (median absolute deviation, relative residuals on the log scale)
    and kept within [0.02, 1] for relative errors: a start far from the data
    must not start the residual error at a size that hides the model.
    """
    obs = problem.observations
    out = {}
    for name in problem.sigma_names:
        part, var = name.split("_", 2)[1:]
        rows = (obs.variable == var) & ~obs.blq & np.isfinite(pred)
        y, f = obs.y[rows], pred[rows]
        relative = part == "prop" or obs.error[var] == "lognormal"
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.log(y / f) if relative else y - f
        r = r[np.isfinite(r)]
        share = 0.5 if obs.error[var] == "combined" else 1.0
        spread = 1.4826 * float(np.median(np.abs(r - np.median(r)))) if r.size else np.nan
        if relative:
            value = float(np.clip(share * spread, 0.02, 1.0)) if np.isfinite(spread) else 0.1
        else:
            scale = float(np.median(np.abs(y))) if y.size else 1.0
            value = share * spread if np.isfinite(spread) and spread > 0 else 0.1 * scale
            value = float(np.clip(value, 1e-3 * scale, scale)) if scale > 0 else max(value,
                                                                                     1e-12)
        out[name] = value
    return out


def _initial_values(problem: PopulationProblem, start: SaemState) -> dict:
    im = problem.individual
    out = dict(zip(im.names, im.typical(start.coef), strict=True))
    for j, name in enumerate(im.coef_names):
        if j not in set(im.intercepts):
            out[name] = float(start.coef[j])
    for a, name in enumerate(im.iiv_names):
        out[f"omega_{name}"] = float(np.sqrt(start.omega[a, a]))
    out.update(start.sigma)
    return out


def _perturbed(problem: PopulationProblem, start: SaemState, rng) -> SaemState:
    """A start with typical values moved by up to a factor 1.5 and omegas doubled or halved."""
    coef = start.coef.copy()
    idx = problem.individual.intercepts
    coef[idx] += rng.uniform(-np.log(1.5), np.log(1.5), idx.size)
    scale = np.exp(rng.uniform(-np.log(2), np.log(2), problem.individual.n_random))
    omega = start.omega * np.outer(scale, scale)
    return SaemState(coef, omega, dict(start.sigma))


def _units(problem: PopulationProblem, params: ParameterSet, model) -> dict:
    out = {name: params[name].unit for name in problem.individual.names}
    variable_units = {v.name: v.unit for v in model.variables} if isinstance(model, Model) \
        else {"il21_plasma": "nM"}
    for name in list(problem.sigma_names) + list(problem.fixed_sigma):
        part, var = name.split("_", 2)[1:]
        lognormal = problem.observations.error[var] == "lognormal"
        out[name] = "1" if part == "prop" or lognormal else variable_units.get(var, "")
    return out

