"""Sensitivity analysis: local normalised coefficients, and global Morris and Sobol indices.

Local: :math:`S = \\partial \\ln m / \\partial \\ln p` by central differences
(a 1 % step by default; one-sided, first order, where a step would leave a
parameter's bounds). Global: SALib's Morris elementary effects and Sobol
(Saltelli sampling) indices with bootstrap confidence intervals, on a log or
linear scale within the bounds. Every model evaluation goes through
:func:`il21pk.sweep`, so the batched engine and the executors are used.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..checks import is_integer, is_real
from ..errors import DataError, InputTypeError, OptionError, ParameterError, SimulationError
from ..model import Model
from ..model.inputs import resolve_params
from ..parameters import ParameterSet, unknown_name_error
from ..regimen import Dose, Regimen
from ..units import show
from .sampling import as_generator, check_bounds
from .sweep import sweep

METHODS = ("local", "morris", "sobol")
COLUMNS = ["parameter", "output", "metric", "index", "value", "conf"]
#: The options of :func:`il21pk.sweep` that `sensitivity` passes on (it sets the rest).
_SWEEP_OPTIONS = frozenset({"t_eval", "rtol", "atol", "max_steps", "chunk_size", "progress"})


def _problem(bounds: Mapping[str, tuple[float, float]], scale: str) -> dict:
    """SALib's problem dict (bounds on the sampling scale) from checked bounds."""
    if scale not in ("log", "linear"):
        raise OptionError(f"`scale` must be 'log' or 'linear'; got {scale!r}")
    names, lows, highs, logs = check_bounds(bounds, None, scale)
    edges = [[np.log(lo), np.log(hi)] if log else [lo, hi]
             for lo, hi, log in zip(lows, highs, logs, strict=True)]
    return {"num_vars": len(names), "names": names, "bounds": edges}


def global_indices(evaluate: Callable[[pd.DataFrame], np.ndarray],
                   bounds: Mapping[str, tuple[float, float]], *, method: str = "sobol",
                   n: int = 256, scale: str = "log", seed: object = 0,
                   num_levels: int = 4) -> pd.DataFrame:
    """Morris or Sobol indices of any vectorised function of named inputs.

    Parameters
    ----------
    evaluate : callable
        Takes a DataFrame (one column per input, one row per sample) and
        returns outputs of shape (n_samples,) or (n_samples, n_outputs).
    bounds : mapping of str to (float, float)
    method : {'morris', 'sobol'}
    n : int
        Morris trajectories, or the Sobol base sample size (a power of 2).
    scale : {'log', 'linear'}
        Sample the inputs uniformly on this scale.
    seed : int, numpy.random.Generator or None
        Seeds SALib's sampling and bootstrap: an integer >= 0 is SALib's seed;
        anything else :func:`numpy.random.default_rng` takes (a Generator, a
        SeedSequence, None for fresh entropy) draws it.
    num_levels : int, optional
        Grid levels of the Morris method (default 4).

    Returns
    -------
    pandas.DataFrame
        parameter, output (column number), index (``S1``, ``ST`` or ``mu_star``,
        ``sigma``), value, conf.

    Sobol indices of an output that is the same at every sample are NaN (with
    a warning): there is no variance to apportion.

    Raises
    ------
    DataError
        `evaluate` returned another shape, or a NaN or inf at any sample (the
        estimators would turn it into indices of 0).
    InputTypeError
        `evaluate` returned something other than numbers.
    OptionError
        `method`, `n`, `scale`, `seed` or `num_levels` out of range.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    if method not in ("morris", "sobol"):
        raise OptionError(f"`method` must be 'morris' or 'sobol'; got {method!r}")
    problem = _problem(bounds, scale)
    if not is_integer(n) or n < 2:
        raise OptionError(f"`n` must be an integer >= 2; got {n!r}")
    seed = _salib_seed(seed)
    if method == "sobol":
        if n & (n - 1):
            raise OptionError(f"Sobol needs n to be a power of 2; got {n}")
        x = sobol_sample.sample(problem, n, calc_second_order=False, seed=seed)
    else:
        if not is_integer(num_levels) or num_levels < 2:
            raise OptionError(f"`num_levels` (Morris grid levels) must be an integer >= 2; got "
                              f"{num_levels!r}")
        x = morris_sample.sample(problem, n, num_levels=int(num_levels), seed=seed)
    inputs = pd.DataFrame(np.exp(x) if scale == "log" else x, columns=problem["names"])
    returned = evaluate(inputs)
    try:
        y = np.asarray(returned, dtype=float)
    except (TypeError, ValueError):
        raise InputTypeError(f"`evaluate` must return real numbers; got "
                             f"{show(returned)}"[:300]) from None
    if y.ndim not in (1, 2) or y.shape[0] != len(inputs):
        raise DataError(f"`evaluate` must return one output (or one row of outputs) per "
                         f"sample: {len(inputs)} samples gave an array of shape {y.shape}")
    y = y[:, None] if y.ndim == 1 else y
    bad = ~np.isfinite(y)
    if bad.any():
        # SALib's estimators turn a single NaN into indices of 0
        i, j = (int(k[0]) for k in np.nonzero(bad))
        raise DataError(f"`evaluate` returned {int(bad.sum())} non-finite value(s) of "
                         f"{y.size} (first: output {j} at sample {i}, "
                         f"{inputs.iloc[i].to_dict()}); {method} indices need a finite output "
                         "at every sample: narrow `bounds`, or choose an output defined "
                         "over all of them")
    rows = []
    for j in range(y.shape[1]):
        if method == "sobol" and np.ptp(y[:, j]) == 0:
            # no variance to apportion: Sobol indices are 0/0 (SALib would report 0)
            warnings.warn(f"global_indices: output {j} is {y[0, j]:g} at every sample, so its "
                          "Sobol indices are undefined (NaN)", UserWarning, stacklevel=2)
            for name in problem["names"]:
                rows += [(name, j, "S1", np.nan, np.nan), (name, j, "ST", np.nan, np.nan)]
        elif method == "sobol":
            res = sobol_analyze.analyze(problem, y[:, j], calc_second_order=False, seed=seed)
            for k, name in enumerate(problem["names"]):
                rows.append((name, j, "S1", res["S1"][k], res["S1_conf"][k]))
                rows.append((name, j, "ST", res["ST"][k], res["ST_conf"][k]))
        else:
            res = morris_analyze.analyze(problem, x, y[:, j], num_levels=int(num_levels),
                                         seed=seed)
            for k, name in enumerate(problem["names"]):
                rows.append((name, j, "mu_star", res["mu_star"][k], res["mu_star_conf"][k]))
                rows.append((name, j, "sigma", res["sigma"][k], np.nan))
    return pd.DataFrame(rows, columns=["parameter", "output", "index", "value", "conf"])


def _salib_seed(seed: object) -> int:
    """SALib's integer seed: `seed` itself if an integer >= 0 (SALib refuses numpy's), else
    one drawn from :func:`~il21pk.analysis.sampling.as_generator` of it."""
    if is_integer(seed):
        if seed < 0:
            raise OptionError(f"`seed` must be an integer >= 0, a numpy Generator or None; "
                              f"got {seed!r}")
        return int(seed)
    return int(as_generator(seed).integers(2**31))


def _check_outputs(model: Model, outputs: str | Sequence[str]) -> list[str]:
    """`outputs` (one name or several) as a list, or an OptionError naming the
    argument, its value and the variables `model` reports."""
    outputs = [outputs] if isinstance(outputs, str) else list(outputs)
    reported = [v.name for v in model.variables]
    unknown = [o for o in outputs if o not in reported]
    if unknown:
        raise OptionError(f"`outputs` = {outputs!r} names {unknown}, which model "
                         f"{model.name!r} does not report; give outputs=[...] from its "
                         f"variables {reported}")
    return outputs


def sensitivity(model: Model, regimen: Regimen | Dose | None,
                params: ParameterSet | None = None, *,
                outputs: str | Sequence[str] = ("ifng_plasma",),
                metrics: Sequence[str] = ("auc",),
                method: str = "local", parameters: Sequence[str] | None = None,
                bounds: Mapping[str, tuple[float, float]] | None = None, span: float = 2.0,
                n: int = 64, step: float = 0.01, scale: str = "log", seed: object = 0,
                t_end: float, executor=None, **options) -> pd.DataFrame:
    """Sensitivity of output metrics to parameters.

    Parameters
    ----------
    model, regimen, params
        As for :func:`il21pk.simulate` (regimen None: no doses; params None:
        the model's own values).
    outputs, metrics : sequence of str
        Variables and metrics (see :data:`il21pk.analysis.metrics.METRICS`) to analyse
        (each may also be one name). ``cmax``, ``tmax``, ``cmin`` and ``tmin`` are read
        off the output grid (`t_eval` in `options`, hourly by default): the local
        method warns for them on the default grid, where a small step moves the
        extremum by less than a grid step. The default output, ``ifng_plasma``,
        is the end of il21pk's chain: a model that does not report it (an
        imported SBML model, a PK-only model) needs `outputs`, else a
        OptionError names the model's variables.
    method : {'local', 'morris', 'sobol'}
    parameters : sequence of str, optional
        Parameters to vary (default: the keys of `bounds`, else every
        parameter with a positive value); one name may be a string.
    bounds : mapping, optional
        Ranges for the global methods, each within the parameter's hard bounds
        (default: value / `span` .. value x `span`, within them).
    span : float, optional
        Factor of the default ranges of the global methods (default 2).
    n : int
        Morris trajectories or Sobol base samples (power of 2).
    step : float
        Relative step of the local method, in (0, 0.5]: central differences, or
        one-sided where the step up (or down) would leave a parameter's bounds.
    scale : {'log', 'linear'}, optional
        Scale on which the global methods sample the ranges (default log).
    seed : int, numpy.random.Generator or None
        Seeds the global methods' sampling and bootstrap (as for
        :func:`global_indices`).
    t_end : float
    executor, **options
        Passed to :func:`il21pk.sweep`: `options` may be `t_eval`, `rtol`,
        `atol`, `max_steps`, `chunk_size` and `progress`.

    Returns
    -------
    pandas.DataFrame
        ``parameter, output, metric, index, value, conf``; for the local
        method ``index = "normalised"`` and ``conf`` is NaN.

    Raises
    ------
    SimulationError
        A run failed (its metrics would be NaN).
    DataError
        A metric is NaN or inf at a sample of the global methods (a fold
        change of a variable with baseline 0); see :func:`global_indices`.
    OptionError, InputTypeError
        An option out of range, of the wrong type, or not one of
        :func:`il21pk.sweep`'s.
    """
    unknown = sorted(set(options) - _SWEEP_OPTIONS)
    if unknown:
        raise InputTypeError(f"sensitivity got unknown option(s) {unknown}; besides its own "
                             f"it passes these to il21pk.sweep: {sorted(_SWEEP_OPTIONS)}")
    if method not in METHODS:
        raise OptionError(f"`method` must be one of {list(METHODS)}; got {method!r}")
    if not isinstance(model, Model):
        raise InputTypeError(f"`model` must be an il21pk Model; got {type(model).__name__}")
    params = resolve_params(model, params)
    outputs = _check_outputs(model, outputs)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    parameters = [parameters] if isinstance(parameters, str) else parameters
    if not (is_real(step) and 0 < step <= 0.5):
        raise OptionError(f"`step` must be a relative step in (0, 0.5]; got {step!r}")
    if not (is_real(span) and 1 < span < math.inf):
        raise OptionError(f"`span` must be a finite number > 1 (ranges value / span .. value x "
                         f"span); got {span!r}")
    if parameters is not None and not parameters:
        raise OptionError("`parameters` must name at least one parameter; got an empty list")
    seed = _salib_seed(seed)
    if method == "local" and bounds:
        raise OptionError("`bounds` are the ranges of the global methods; the local method "
                          "steps each parameter by `step`: name them with `parameters`")
    if parameters is not None and bounds and set(parameters) != set(bounds):
        raise OptionError("give `parameters` or `bounds` (whose keys are the parameters), or "
                         f"the same names in both; got {sorted(parameters)} and {sorted(bounds)}")
    names = list(parameters) if parameters is not None else (
        list(bounds) if bounds else [k for k in model.parameter_names if params.value(k) > 0])
    for name in names:
        if name not in params:
            raise unknown_name_error(name, params)
    pairs = [(o, m) for o in outputs for m in metrics]

    def evaluate(samples: pd.DataFrame) -> np.ndarray:
        df = sweep(model, regimen, params, samples=samples, t_end=t_end, variables=outputs,
                   metrics=metrics, executor=executor, **options)
        failed = df.loc[~df["success"]].drop_duplicates("run")
        if len(failed):
            first = failed.iloc[0]
            raise SimulationError(
                f"sensitivity: {len(failed)} of {len(samples)} runs failed (first: "
                f"{ {k: float(first[k]) for k in samples.columns} }: {first['message']}); "
                "their metrics would be NaN, which no index can use: narrow `bounds` (or "
                "`span`), or raise `max_steps`")
        table = df.pivot_table(index="run", columns=["variable", "metric"], values="value",
                               observed=True, dropna=False)
        return np.column_stack([table[(o, m)].to_numpy() for o, m in pairs])

    if method == "local":
        base = np.array([params.value(k) for k in names])
        if np.any(base <= 0):
            bad = names[int(np.flatnonzero(base <= 0)[0])]
            raise ParameterError(f"local sensitivity to {bad!r} needs a value > 0 "
                                 "(normalised coefficients are on a log scale)")
        if "t_eval" not in options and set(metrics) & {"cmax", "tmax", "cmin", "tmin"}:
            warnings.warn("local sensitivities of cmax/tmax/cmin/tmin are read off the hourly "
                          f"output grid, which a {step:g} step moves by less than a grid step "
                          "(tmax coefficients 0); pass a finer t_eval", UserWarning,
                          stacklevel=2)
        # central differences, one-sided where a step would leave the parameter's bounds
        factors = []
        for name, value in zip(names, base, strict=True):
            spec = params[name]
            up, down = 1 + step, 1 - step
            up = up if value * up <= spec.upper else 1.0
            down = down if value * down >= spec.lower else 1.0
            if up == down:
                raise ParameterError(f"local sensitivity to {name!r}: a step of {step:g} "
                                     f"leaves its bounds [{spec.lower:g}, {spec.upper:g}] "
                                     "both ways; use a smaller `step`")
            factors.append((up, down))
        rows = [base]
        for i, pair in enumerate(factors):
            for factor in pair:
                x = base.copy()
                x[i] *= factor
                rows.append(x)
        y = evaluate(pd.DataFrame(rows, columns=names))
        up, down = y[1::2], y[2::2]
        width = np.array([np.log(u) - np.log(d) for u, d in factors])[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            coef = (np.log(up) - np.log(down)) / width
        out = [(name, o, m, "normalised", coef[i, j], np.nan)
               for i, name in enumerate(names) for j, (o, m) in enumerate(pairs)]
        return pd.DataFrame(out, columns=COLUMNS)
    if bounds:  # within the hard bounds, else a sweep error about a run the user never named
        check_bounds(bounds, params, scale)
    ranges = dict(bounds) if bounds else {
        k: (max(params.value(k) / span, params[k].lower), min(params.value(k) * span,
                                                               params[k].upper))
        for k in names}
    table = global_indices(evaluate, ranges, method=method, n=n, scale=scale, seed=seed)
    table.insert(1, "metric", [pairs[j][1] for j in table["output"]])
    table["output"] = [pairs[j][0] for j in table["output"]]
    return table[COLUMNS]
