r"""Diagnostics of a population fit: CWRES, NPDE, a real VPC, and their plots.

**CWRES** (conditional weighted residuals, Hooker et al. 2007): the model is
linearised around each subject's conditional mode :math:`\hat\eta_i`,
:math:`E_i = m_i(\hat\eta_i) - J_i\hat\eta_i`,
:math:`V_i = J_i\Omega J_i^T + \mathrm{diag}(s_i^2)`, and
:math:`\mathrm{CWRES}_i = V_i^{-1/2}(y_i - E_i)` (Cholesky root; on the log
scale for log-normal error; BLQ rows are left out).

**Replicates** draw new random effects :math:`\eta \sim N(0, \Omega)` for
every subject (its covariates and sampling design kept) and residual errors
from the error models: a *real* VPC, with between-subject variability.

**NPDE** (Brendel et al. 2006): each subject's observations and replicates
are decorrelated with the replicates' mean and covariance; the prediction
discrepancy is the fraction of decorrelated replicates below the
decorrelated observation (kept inside :math:`[1/2K, 1 - 1/2K]`), and
:math:`\mathrm{npde} = \Phi^{-1}(\mathrm{pde})`, N(0, 1) if the model is right.

**VPC**: observations are binned by time (quantiles of the sampling times,
or given edges); in each bin the observed percentiles are compared with the
distribution of the same percentiles across replicates (median and a
``level`` interval). BLQ observations count as values below the LLOQ when
percentiles are taken (censored replicates likewise), so a low percentile
below the LLOQ is reported as NaN.

Plots take ``ax=None`` and return the Axes (matplotlib is imported inside
each function).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ...checks import is_integer, is_real
from ...errors import OptionError
from ..results import time_axis_label, with_time_unit
from ..sampling import as_generator
from .problem import PopulationProblem


def cwres(problem: PopulationProblem, state, modes) -> np.ndarray:
    """Conditional weighted residuals per observation (NaN for BLQ rows)."""
    obs = problem.observations
    im = problem.individual
    full_sigma = problem.all_sigma(state.sigma)
    pred = modes.pred[0]
    m, s, dm, _ = obs.transformed(pred[None], full_sigma)
    m, s, dm = m[0], s[0], dm[0]
    jac = modes.jac[0] * dm[:, None]  # (n_obs, R) on the m scale
    y = obs.y_transformed()
    out = np.full(obs.n_obs, np.nan)
    eta = modes.eta[0]
    for i in range(problem.n_subjects):
        rows = np.flatnonzero((obs.subject == i) & ~obs.blq)
        if rows.size == 0:
            continue
        j = jac[rows]
        e = m[rows] - (j @ eta[i] if im.n_random else 0.0)
        v = (j @ state.omega @ j.T if im.n_random else 0.0) + np.diag(s[rows] ** 2)
        try:
            chol = np.linalg.cholesky(v)
            out[rows] = np.linalg.solve(chol, y[rows] - e)
        except np.linalg.LinAlgError:
            continue
    return out


def check_replicates(n: object, minimum: int = 1) -> int:
    """`n` simulated replicates: an integer >= `minimum`, else an OptionError."""
    if not is_integer(n) or n < minimum:
        raise OptionError(f"`n` (simulated replicates) must be an integer >= {minimum}; got "
                          f"{n!r}")
    return int(n)


def default_variable(result, variable: str | None) -> str:
    """The variable a diagnostic shows: `variable`, or that of the first observation."""
    return variable or str(result.predictions["variable"].iloc[0])


def simulate_replicates(problem: PopulationProblem, state, n: int,
                        rng: np.random.Generator, batch: int = 200) -> np.ndarray:
    """Simulated observations (n, n_obs) with new etas and residual errors."""
    im = problem.individual
    mu = im.mean(state.coef)
    r = im.n_random
    chol = np.linalg.cholesky(state.omega) if r else np.zeros((0, 0))
    full_sigma = problem.all_sigma(state.sigma)
    out = np.empty((n, problem.observations.n_obs))
    done = 0
    while done < n:
        b = min(batch, n - done)
        eta = rng.standard_normal((b, problem.n_subjects, r)) @ chol.T
        pred = problem.predict_eta(np.broadcast_to(mu[None], (b,) + mu.shape), eta,
                                   sampling=True)
        out[done:done + b] = problem.observations.simulate(pred, full_sigma, rng)
        done += b
    return out


def replicates_frame(problem: PopulationProblem, sims: np.ndarray, *, censor: bool = True
                     ) -> pd.DataFrame:
    """Tidy frame of replicates: replicate, subject, time_h, variable, value, blq."""
    frame = problem.dataset.observations
    n = sims.shape[0]
    lloq = frame["lloq"].to_numpy(dtype=float)
    blq = np.zeros_like(sims, dtype=bool)
    if censor:
        with np.errstate(invalid="ignore"):
            blq = np.isfinite(lloq)[None] & (sims < lloq[None])
    return with_time_unit(pd.DataFrame({
        "replicate": np.repeat(np.arange(n), len(frame)),
        "subject": np.tile(frame["subject"].to_numpy(), n),
        "time_h": np.tile(frame["time_h"].to_numpy(), n),
        "variable": np.tile(frame["variable"].to_numpy(), n),
        "value": sims.ravel(), "blq": blq.ravel()}), problem.time_unit)


def _censored_percentile(values: np.ndarray, below: np.ndarray, lloq: float, q: float) -> float:
    """Percentile q of values where BLQ ones are known only to lie below `lloq`.

    NaN when the percentile falls among the censored values.
    """
    if values.size == 0:
        return float("nan")
    floor = -1e300  # BLQ values rank below every measured one
    value = float(np.percentile(np.where(below, floor, values), q, method="linear"))
    if value < -1e299 or (below.any() and np.isfinite(lloq) and value < lloq):
        return float("nan")
    return value


def vpc_table(result, variable: str | None = None, *, n: int = 200, bins=8,
              percentiles=(5, 50, 95), level: float = 0.95, seed=None) -> pd.DataFrame:
    """See :meth:`PopulationFitResult.vpc`."""
    problem = result._problem
    obs = problem.observations
    variable = default_variable(result, variable)
    if variable not in obs.error:
        raise OptionError(f"variable {variable!r} was not observed; observed: {list(obs.error)}")
    rows = np.flatnonzero(obs.variable == variable)
    times = problem.dataset.observations["time_h"].to_numpy()[rows]
    n = check_replicates(n)
    if np.ndim(bins) == 0:
        whole = is_integer(bins) or \
            isinstance(bins, (float, np.floating)) and float(bins).is_integer()
        if not whole or bins < 1:
            raise OptionError(f"`bins` must be a whole number of bins >= 1 or a sequence of "
                             f"increasing time edges; got {bins!r}")
        edges = np.unique(np.quantile(times, np.linspace(0, 1, int(bins) + 1)))
    else:
        try:
            edges = np.asarray(bins, dtype=float)
        except (TypeError, ValueError):
            edges = np.array([np.nan])
        if edges.ndim != 1 or edges.size < 2 or not np.all(np.isfinite(edges)) \
                or np.any(np.diff(edges) <= 0) or edges[0] > times.min() \
                or edges[-1] < times.max():
            raise OptionError(f"`bins` as edges must be at least two increasing times that "
                             f"span the observations of {variable!r} "
                             f"({times.min():g}-{times.max():g}); got {bins!r}"[:300])
    try:
        checked = np.asarray(percentiles, dtype=float)
    except (TypeError, ValueError):
        checked = np.array([np.nan])
    if checked.ndim != 1 or checked.size == 0 or not np.all((checked > 0) & (checked < 100)):
        raise OptionError(f"`percentiles` must be a sequence of numbers in (0, 100); got "
                         f"{percentiles!r}")
    if not is_real(level) or not 0 < level < 1:
        raise OptionError(f"`level` must be a number in (0, 1); got {level!r}")
    which = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, len(edges) - 2)
    rng = as_generator(seed)
    sims = simulate_replicates(problem, result._state, n, rng)[:, rows]
    lloq = problem.dataset.observations["lloq"].to_numpy(dtype=float)[rows]
    y = obs.y[rows]
    y_blq = obs.blq[rows]
    with np.errstate(invalid="ignore"):
        s_blq = np.isfinite(lloq)[None] & (sims < lloq[None])
    alpha = (1 - level) / 2
    out = []
    for b in range(len(edges) - 1):
        in_bin = which == b
        if not in_bin.any():
            continue
        limit = float(np.nanmax(lloq[in_bin])) if np.isfinite(lloq[in_bin]).any() \
            else float("nan")
        for q in percentiles:
            observed = _censored_percentile(y[in_bin], y_blq[in_bin], limit, q)
            simulated = np.array([_censored_percentile(sims[k, in_bin], s_blq[k, in_bin],
                                                       limit, q) for k in range(n)])
            ok = simulated[np.isfinite(simulated)]
            # a percentile censored in most replicates is below the LLOQ: not shown
            lo, med, hi = (np.quantile(ok, [alpha, 0.5, 1 - alpha]) if ok.size > n / 2
                           else (np.nan, np.nan, np.nan))
            out.append({"bin": b, "time_h": float(np.median(times[in_bin])),
                        "time_low": edges[b], "time_high": edges[b + 1], "percentile": q,
                        "observed": observed, "sim_median": med, "sim_low": lo,
                        "sim_high": hi, "n_obs": int(in_bin.sum())})
    return with_time_unit(pd.DataFrame(out), problem.time_unit)


def npde(result, *, n: int = 500, seed=None) -> pd.DataFrame:
    """See :meth:`PopulationFitResult.npde`."""
    problem = result._problem
    obs = problem.observations
    n = check_replicates(n, 2)  # the replicates' covariance decorrelates each subject
    sims = simulate_replicates(problem, result._state, n, as_generator(seed))
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(obs.log_scale, np.log(obs.y), obs.y)
        sims = np.where(obs.log_scale[None], np.log(np.maximum(sims, 1e-300)), sims)
    pde = np.full(obs.n_obs, np.nan)
    for i in range(problem.n_subjects):
        rows = np.flatnonzero((obs.subject == i) & ~obs.blq)
        if rows.size == 0:
            continue
        s = sims[:, rows]
        mean = s.mean(axis=0)
        cov = np.atleast_2d(np.cov(s, rowvar=False))
        try:
            chol = np.linalg.cholesky(cov + 1e-12 * np.eye(rows.size) * np.trace(cov))
        except np.linalg.LinAlgError:
            continue
        ys = np.linalg.solve(chol, y[rows] - mean)
        ss = np.linalg.solve(chol, (s - mean).T).T
        pde[rows] = np.mean(ss < ys[None], axis=0)
    pde = np.clip(pde, 1 / (2 * n), 1 - 1 / (2 * n))
    frame = problem.dataset.observations
    return with_time_unit(pd.DataFrame({"subject": frame["subject"].to_numpy(),
                                        "time_h": frame["time_h"].to_numpy(),
                                        "variable": frame["variable"].to_numpy(),
                                        "pde": pde, "npde": stats.norm.ppf(pde)}),
                          problem.time_unit)


# -- plots ---------------------------------------------------------------------------

def plot_convergence(result, *, axes=None, ncols: int = 4):
    """One panel per parameter of :attr:`PopulationFitResult.convergence`.

    SAEM: the end of the step-1 phase (``k1``) is marked. Returns the Axes array.
    """
    import matplotlib.pyplot as plt

    hist = result.convergence
    cols = list(hist.columns)
    if axes is None:
        nrows = int(np.ceil(len(cols) / ncols))
        _, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 2.2 * nrows),
                               layout="constrained", squeeze=False)
    flat = np.ravel(axes)
    for ax, col in zip(flat, cols, strict=False):
        ax.plot(hist.index, hist[col], lw=1)
        ax.set_title(col, fontsize=8)
        ax.tick_params(labelsize=7)
        if result.method == "saem":
            ax.axvline(result.settings.k1, color="grey", lw=0.6, ls=":")
    for ax in flat[len(cols):]:
        ax.set_visible(False)
    flat[0].figure.supxlabel("iteration", fontsize=8)
    return axes


GOF_KINDS = ("observed_vs_pred", "observed_vs_ipred", "cwres_vs_time", "cwres_vs_pred",
             "npde_vs_time", "npde_vs_pred", "iwres_vs_ipred")


def plot_gof(result, kind: str = "observed_vs_ipred", *, variable: str | None = None,
             ax=None, log: bool = False, n: int = 300, seed=None):
    """A goodness-of-fit panel.

    Parameters
    ----------
    kind : str
        One of :data:`GOF_KINDS`.
    variable : str, optional
        Observed variable (default the first).
    log : bool
        Log axes for observed-vs-predicted panels.
    n, seed :
        Replicates for NPDE panels.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if kind not in GOF_KINDS:
        raise OptionError(f"kind must be one of {list(GOF_KINDS)}; got {kind!r}")
    pred = result.predictions
    variable = default_variable(result, variable)
    rows = pred[(pred["variable"] == variable) & ~pred["blq"]]
    if ax is None:
        _, ax = plt.subplots()
    if kind.startswith("observed"):
        x = rows["pred" if kind == "observed_vs_pred" else "ipred"]
        ax.plot(x, rows["observed"], "o", ms=3, alpha=0.7)
        lo = float(np.nanmin([x.min(), rows["observed"].min()]))
        hi = float(np.nanmax([x.max(), rows["observed"].max()]))
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
        ax.set_xlabel("population prediction" if kind == "observed_vs_pred"
                      else "individual prediction")
        ax.set_ylabel(f"observed {variable}")
        if log:
            ax.set_xscale("log")
            ax.set_yscale("log")
        return ax
    if kind.startswith("npde"):
        table = result.npde(n=n, seed=seed)
        values = table.loc[rows.index, "npde"]
        label = "NPDE"
    elif kind.startswith("iwres"):
        values = rows["iwres"]
        label = "IWRES"
    else:
        values = rows["cwres"]
        label = "CWRES"
    x = rows["time_h"] if kind.endswith("time") else rows["ipred" if label == "IWRES" else "pred"]
    ax.plot(x, values, "o", ms=3, alpha=0.7)
    ax.axhline(0, color="k", lw=0.8)
    for level in (-1.96, 1.96):
        ax.axhline(level, color="grey", lw=0.6, ls="--")
    ax.set_xlabel(time_axis_label(rows) if kind.endswith("time") else "prediction")
    ax.set_ylabel(label)
    return ax


def plot_individual(result, subject, *, variable: str | None = None, ax=None):
    """Observed values with population (eta = 0) and individual predictions of a subject.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    pred = result.predictions
    variable = default_variable(result, variable)
    rows = pred[(pred["subject"] == subject) & (pred["variable"] == variable)]
    if rows.empty:
        raise OptionError(f"no observations of {variable!r} for subject {subject!r}")
    if ax is None:
        _, ax = plt.subplots()
    rows = rows.sort_values("time_h")
    ax.plot(rows["time_h"], rows["ipred"], "-", color="C1", label="individual")
    ax.plot(rows["time_h"], rows["pred"], "--", color="C2", label="population")
    ok = ~rows["blq"]
    ax.plot(rows["time_h"][ok], rows["observed"][ok], "o", color="C0", label="observed")
    if (~ok).any():
        ax.plot(rows["time_h"][~ok], rows["observed"][~ok], "v", color="grey", label="BLQ")
    ax.set_xlabel(time_axis_label(rows))
    ax.set_ylabel(variable)
    ax.set_title(f"subject {subject}", fontsize=9)
    ax.legend(frameon=False, fontsize=7)
    return ax


def plot_vpc(result, variable: str | None = None, *, ax=None, n: int = 200, bins=8,
             percentiles=(5, 50, 95), level: float = 0.95, seed=None, log: bool = False):
    """Binned VPC: observed percentiles over the `level` intervals of simulated ones.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    table = vpc_table(result, variable, n=n, bins=bins, percentiles=percentiles, level=level,
                      seed=seed)
    pred = result.predictions
    variable = default_variable(result, variable)
    if ax is None:
        _, ax = plt.subplots()
    for k, q in enumerate(percentiles):
        part = table[table["percentile"] == q]
        color = "C0" if q == 50 else "C1"
        ax.fill_between(part["time_h"], part["sim_low"], part["sim_high"], color=color,
                        alpha=0.25, lw=0, label=f"sim. {q:g}th pct, {level:.0%} CI"
                        if k < 2 else None)
        ax.plot(part["time_h"], part["observed"], "-", color="k" if q == 50 else "0.3",
                lw=1.5 if q == 50 else 1.0, label=f"obs. {q:g}th pct")
    rows = pred[(pred["variable"] == variable) & ~pred["blq"]]
    ax.plot(rows["time_h"], rows["observed"], "o", color="0.5", ms=2, alpha=0.6)
    ax.set_xlabel(time_axis_label(table))
    ax.set_ylabel(variable)
    if log:
        ax.set_yscale("log")
    ax.legend(frameon=False, fontsize=7)
    return ax
