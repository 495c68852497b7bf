r"""Standard errors: the reporting parameterisation, linearised Fisher information, tables.

Estimates are reported in one parameterisation :math:`\rho`: the estimated
mean coefficients on the transformed scale (log typical values, covariate
coefficients), the estimated elements of :math:`\Omega` (variances and
covariances of the random effects) and the estimated residual SDs.

**SAEM (linearisation, as saemix).** Around each subject's conditional mode
:math:`\hat\phi_i` the model is linearised,
:math:`f_i(\phi) \approx f_i(\hat\phi_i) + D_i (\phi - \hat\phi_i)`, so
:math:`y_i \sim N(E_i, V_i)` with :math:`E_i = f_i(\hat\phi_i) + D_i(\mu_i -
\hat\phi_i)` and :math:`V_i = D_i \Omega D_i^T + \mathrm{diag}(s_i^2)`. The
expected Fisher information of this Gaussian model,

.. math::
    F_{jk} = \sum_i \partial_j E_i^T V_i^{-1} \partial_k E_i
    + \tfrac12 \mathrm{tr}(V_i^{-1}\partial_j V_i V_i^{-1}\partial_k V_i),

is inverted for the covariance of :math:`\hat\rho`. Observations below the
LLOQ are left out of this approximation (log-normal error works on the log
scale).

Tables give Wald intervals on the log scale for typical values (logit for
fractions), omegas and sigmas, and on the natural scale for covariate
coefficients and correlations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .individual import IndividualModel, to_psi
from .problem import PopulationProblem


def omega_elements(im: IndividualModel) -> list[tuple[int, int]]:
    """Estimated (a, b) elements of Omega, a >= b: the variances, then covariances."""
    r = im.n_random
    diag = [(a, a) for a in range(r)]
    off = [(a, b) for a in range(r) for b in range(a) if im.omega_mask[a, b]]
    return diag + off


def rho_names(problem: PopulationProblem) -> list[str]:
    """Names of the reporting parameters."""
    im = problem.individual
    coef = [im.coef_names[j] for j in np.flatnonzero(im.coef_estimated)]
    names = im.iiv_names
    om = [f"omega2_{names[a]}" if a == b else f"cov_{names[b]}_{names[a]}"
          for a, b in omega_elements(im)]
    return coef + om + list(problem.sigma_names)


def to_rho(problem: PopulationProblem, coef, omega, sigma) -> np.ndarray:
    """The reporting vector from a state."""
    im = problem.individual
    parts = [coef[im.coef_estimated]]
    parts.append(np.array([omega[a, b] for a, b in omega_elements(im)]))
    parts.append(np.array([sigma[n] for n in problem.sigma_names]))
    return np.concatenate(parts)


def linearised_covariance(problem: PopulationProblem, coef, omega, sigma, eta_hat
                          ) -> np.ndarray:
    """Covariance of the reporting vector from the linearised Fisher information."""
    im = problem.individual
    obs = problem.observations
    n, p = problem.n_subjects, im.n_parameters
    mu = im.mean(coef)
    phi_hat = im.phi(mu, eta_hat)  # (N, P)
    h = problem.fd_step
    points = np.repeat(phi_hat[None], p + 1, axis=0)
    for j in range(p):
        points[j + 1, :, j] += h
    pred = problem.predict(points)
    full_sigma = problem.all_sigma(sigma)
    f0 = pred[0]
    _, s0, dm, _ = obs.transformed(f0[None], full_sigma)
    s0, dm = s0[0], dm[0]
    d = (pred[1:] - f0[None]).T / h * dm[:, None]  # (n_obs, P) on the m scale
    # derivatives of mu (N, P) with respect to estimated coefficients (FD; cheap)
    est = np.flatnonzero(im.coef_estimated)
    dmu = np.empty((est.size, n, p))
    for k, j in enumerate(est):
        c2 = coef.copy()
        c2[j] += h
        dmu[k] = (im.mean(c2) - mu) / h
    elements = omega_elements(im)
    k_coef, k_om, k_sig = est.size, len(elements), len(problem.sigma_names)
    k_all = k_coef + k_om + k_sig
    fim = np.zeros((k_all, k_all))
    for i in range(n):
        rows = np.flatnonzero((obs.subject == i) & ~obs.blq)
        if rows.size == 0:
            continue
        di = d[rows]
        dr = di[:, im.iiv]
        v = dr @ omega @ dr.T + np.diag(s0[rows] ** 2)
        vinv = np.linalg.inv(v)
        de = np.stack([di @ dmu[k, i] for k in range(k_coef)], axis=1) if k_coef else \
            np.zeros((rows.size, 0))
        fim[:k_coef, :k_coef] += de.T @ vinv @ de
        dvs = []
        for a, b in elements:
            if a == b:
                dvs.append(np.outer(dr[:, a], dr[:, a]))
            else:
                dvs.append(np.outer(dr[:, a], dr[:, b]) + np.outer(dr[:, b], dr[:, a]))
        f_rows = f0[rows]
        for name in problem.sigma_names:
            part, var = name.split("_", 2)[1:]
            on = obs.variable[rows] == var
            value = float(full_sigma[name])
            if part == "add":
                diag = 2.0 * value * on
            else:
                diag = 2.0 * value * f_rows ** 2 * on
            dvs.append(np.diag(diag.astype(float)))
        wv = [vinv @ dv for dv in dvs]
        for x in range(len(dvs)):
            for y in range(x, len(dvs)):
                value = 0.5 * np.trace(wv[x] @ wv[y])
                fim[k_coef + x, k_coef + y] += value
                if y != x:
                    fim[k_coef + y, k_coef + x] += value
    try:
        cov = np.linalg.inv(fim)
    except np.linalg.LinAlgError:
        return np.full((k_all, k_all), np.nan)
    if np.any(np.diag(cov) <= 0) or not np.all(np.isfinite(cov)):
        return np.full((k_all, k_all), np.nan)
    return 0.5 * (cov + cov.T)


def cv_percent(omega_sd: float, transform: str) -> float:
    """Coefficient of variation [%] of a log-normal parameter with eta SD `omega_sd`."""
    if transform != "log":
        return float("nan")
    return float(100.0 * np.sqrt(np.expm1(omega_sd ** 2)))


def condition_number(cov: np.ndarray) -> float:
    """Largest over smallest eigenvalue of the correlation matrix of `cov`; NaN when
    `cov` is empty, not finite or has a variance <= 0, inf when it is singular."""
    cov = np.asarray(cov, dtype=float)
    if cov.size == 0 or not np.all(np.isfinite(cov)) or np.any(np.diag(cov) <= 0):
        return float("nan")
    sd = np.sqrt(np.diag(cov))
    eig = np.linalg.eigvalsh(cov / np.outer(sd, sd))
    return float(eig[-1] / eig[0]) if eig[0] > 0 else float("inf")


def least_determined(cov: np.ndarray, names: list[str], share: float = 0.05) -> list[str]:
    """Names of the estimates that make up the least determined direction of `cov`:
    those whose squared loading on the eigenvector of the smallest eigenvalue of
    its correlation matrix is at least `share` (the loadings' squares sum to 1), or
    the three with the largest loadings when none reaches it."""
    sd = np.sqrt(np.diag(cov))
    _, vectors = np.linalg.eigh(cov / np.outer(sd, sd))
    weakest = vectors[:, 0] ** 2
    chosen = [name for name, w in zip(names, weakest, strict=True) if w >= share]
    # spread over many estimates: the three that weigh most
    return chosen or [names[j] for j in sorted(np.argsort(weakest)[-3:])]


def parameter_table(problem: PopulationProblem, coef, omega, sigma, cov_rho: np.ndarray,
                    initial: dict, shrinkage: dict, units: dict, level: float = 0.95
                    ) -> pd.DataFrame:
    """One row per estimated quantity: estimate, SE, RSE %, CI, CV % and shrinkage.

    Columns: name, kind (``theta``, ``beta``, ``omega``, ``corr``, ``sigma``),
    parameter, estimate, stderr, rse_percent, ci_low, ci_high, cv_percent,
    shrinkage_percent, unit, initial.
    """
    im = problem.individual
    z = float(stats.norm.ppf(0.5 + level / 2))
    se_rho = np.sqrt(np.diag(cov_rho)) if cov_rho.size else np.zeros(0)
    rows = []
    k = 0
    for j in np.flatnonzero(im.coef_estimated):
        name = im.coef_names[j]
        p = im.coef_param[j]
        se = se_rho[k]
        if j in set(im.intercepts):
            t = im.transforms[p]
            est = float(to_psi(coef[j], t))
            lo, hi = float(to_psi(coef[j] - z * se, t)), float(to_psi(coef[j] + z * se, t))
            deriv = est * (1 - est) if t == "logit" else est
            rows.append(dict(name=name, kind="theta", parameter=name, estimate=est,
                             stderr=deriv * se, ci_low=lo, ci_high=hi, unit=units.get(name, ""),
                             initial=initial.get(name, np.nan)))
        else:
            est = float(coef[j])
            rows.append(dict(name=name, kind="beta", parameter=im.names[p], estimate=est,
                             stderr=se, ci_low=est - z * se, ci_high=est + z * se, unit="1",
                             initial=initial.get(name, np.nan)))
        k += 1
    names = im.iiv_names
    elements = omega_elements(im)
    sd = np.sqrt(np.diag(omega))
    for e, (a, b) in enumerate(elements):
        idx = k + e
        if a == b:
            var_se = se_rho[idx]
            est = float(sd[a])
            se = var_se / (2.0 * est)
            log_se = se / est
            t = im.transforms[im.iiv[a]]
            rows.append(dict(name=f"omega_{names[a]}", kind="omega", parameter=names[a],
                             estimate=est, stderr=se, ci_low=est * np.exp(-z * log_se),
                             ci_high=est * np.exp(z * log_se), unit="1",
                             cv_percent=cv_percent(est, t),
                             shrinkage_percent=shrinkage.get(f"omega_{names[a]}", np.nan),
                             initial=initial.get(f"omega_{names[a]}", np.nan)))
        else:
            ia = elements.index((a, a)) + k
            ib = elements.index((b, b)) + k
            corr = float(omega[a, b] / (sd[a] * sd[b]))
            grad = np.zeros(se_rho.size)
            grad[idx] = 1.0 / (sd[a] * sd[b])
            grad[ia] = -0.5 * corr / omega[a, a]
            grad[ib] = -0.5 * corr / omega[b, b]
            se = float(np.sqrt(grad @ cov_rho @ grad)) if np.all(np.isfinite(cov_rho)) \
                else np.nan
            rows.append(dict(name=f"corr_{names[b]}_{names[a]}", kind="corr",
                             parameter=f"{names[b]},{names[a]}", estimate=corr, stderr=se,
                             ci_low=max(corr - z * se, -1.0), ci_high=min(corr + z * se, 1.0),
                             unit="1", initial=initial.get(f"corr_{names[b]}_{names[a]}", 0.0)))
    k += len(elements)
    for e, name in enumerate(problem.sigma_names):
        est = float(sigma[name])
        se = se_rho[k + e]
        log_se = se / est
        var = name.split("_", 2)[2]
        rows.append(dict(name=name, kind="sigma", parameter=var, estimate=est, stderr=se,
                         ci_low=est * np.exp(-z * log_se), ci_high=est * np.exp(z * log_se),
                         unit=units.get(name, ""),
                         shrinkage_percent=shrinkage.get(f"epsilon_{var}", np.nan),
                         initial=initial.get(name, np.nan)))
    for name, value in problem.fixed_sigma.items():
        var = name.split("_", 2)[2]
        rows.append(dict(name=name, kind="sigma", parameter=var, estimate=float(value),
                         stderr=np.nan, ci_low=np.nan, ci_high=np.nan, unit=units.get(name, ""),
                         shrinkage_percent=shrinkage.get(f"epsilon_{var}", np.nan),
                         initial=float(value), fixed=True))
    table = pd.DataFrame(rows)
    for col in ("cv_percent", "shrinkage_percent"):
        if col not in table:
            table[col] = np.nan
    table["fixed"] = table.get("fixed", pd.Series(False, index=table.index)).fillna(False) \
        .astype(bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["rse_percent"] = 100.0 * table["stderr"] / table["estimate"].abs()
    return table[["name", "kind", "parameter", "estimate", "stderr", "rse_percent", "ci_low",
                  "ci_high", "cv_percent", "shrinkage_percent", "unit", "initial", "fixed"]]
