r"""The marginal likelihood: importance sampling and the FOCEi (Laplace) approximation.

Subject :math:`i` contributes
:math:`L_i = \int p(y_i \mid \eta)\, N(\eta; 0, \Omega)\, d\eta`.

**Importance sampling.** Draws :math:`\eta^{(m)}` from a multivariate
Student-t proposal :math:`q_i` (``df`` degrees of freedom) centred on the
conditional mode :math:`\hat\eta_i` with scale
:math:`(I_i + \Omega^{-1})^{-1}` (the Laplace posterior covariance) give
:math:`\hat L_i = \frac1M \sum_m p(y_i|\eta^{(m)}) N(\eta^{(m)};0,\Omega) /
q_i(\eta^{(m)})`, and :math:`-2\log L = -2 \sum_i \log \hat L_i`. Its Monte
Carlo standard error is :math:`2 \sqrt{\sum_i \widehat{\mathrm{Var}}(w_i) /
(M \bar w_i^2)}` (delta method on each :math:`\log \hat L_i`).

**FOCEi.** With the expected information :math:`I_i` at the mode,

.. math::
    -2\log L_i \approx -2\log p(y_i|\hat\eta_i) + \hat\eta_i^T\Omega^{-1}\hat\eta_i
    + \log\det\Omega + \log\det(I_i + \Omega^{-1}).

Both include the :math:`n \log 2\pi` constant of the observations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, logsumexp

from .inner import Modes, _inverse
from .problem import PopulationProblem

_LOG_2PI = float(np.log(2 * np.pi))


def laplace_terms(modes: Modes, omega: np.ndarray) -> np.ndarray:
    """FOCEi -2 log L_i per subject, (C, N); `omega` (R, R) or (C, R, R)."""
    c, n, r = modes.eta.shape
    if r == 0:
        return modes.m2ll
    omega = np.broadcast_to(omega, (c, r, r)) if omega.ndim == 2 else omega
    omega_inv = _inverse(omega)
    with np.errstate(invalid="ignore"):
        sign_o, logdet_omega = np.linalg.slogdet(np.where(np.isfinite(omega), omega, 0.0))
        post = modes.info + omega_inv[:, None]
        finite = np.all(np.isfinite(post), axis=(-2, -1))
        sign, logdet_post = np.linalg.slogdet(np.where(finite[..., None, None], post,
                                                       np.eye(r)))
    logdet_post = np.where((sign > 0) & finite, logdet_post, np.inf)
    logdet_omega = np.where(sign_o > 0, logdet_omega, np.inf)
    return modes.objective + logdet_omega[:, None] + logdet_post


@dataclass(frozen=True)
class ImportanceSample:
    """-2 log L by importance sampling.

    Attributes
    ----------
    m2ll : float
    se : float
        Monte Carlo standard error of `m2ll`.
    draws : int
        Draws per subject.
    per_subject : numpy.ndarray, shape (N,)
        -2 log L_i.
    ess : numpy.ndarray, shape (N,)
        Effective sample size of the weights per subject.
    """

    m2ll: float
    se: float
    draws: int
    per_subject: np.ndarray
    ess: np.ndarray


def importance_sampling(problem: PopulationProblem, mu: np.ndarray, omega: np.ndarray,
                        sigma: dict, modes: Modes, *, draws: int = 2000, df: float = 5.0,
                        batch: int = 250, rng: np.random.Generator) -> ImportanceSample:
    """-2 log L at (mu (N, P), Omega, sigma) by importance sampling around `modes` (C=1)."""
    n, _ = mu.shape
    r = problem.individual.n_random
    obs = problem.observations
    if r == 0:
        pred = problem.predict(mu[None])
        per = obs.subject_m2ll(pred, sigma)[0]
        return ImportanceSample(float(per.sum()), 0.0, 1, per, np.ones(n))
    omega_inv = np.linalg.inv(omega)
    _, logdet_omega = np.linalg.slogdet(omega)
    center = modes.eta[0]  # (N, R)
    cov = np.linalg.inv(modes.info[0] + omega_inv[None])  # (N, R, R)
    cov = 0.5 * (cov + np.swapaxes(cov, -1, -2))
    chol = np.linalg.cholesky(cov)
    logdet_cov = 2.0 * np.sum(np.log(np.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)
    log_t_const = (gammaln((df + r) / 2) - gammaln(df / 2) - 0.5 * r * np.log(df * np.pi)
                   - 0.5 * logdet_cov)  # (N,)
    logw = np.empty((draws, n))
    done = 0
    mu_b = None
    while done < draws:
        b = min(batch, draws - done)
        z = rng.standard_normal((b, n, r))
        g = rng.chisquare(df, size=(b, n)) / df
        u = z / np.sqrt(g)[..., None]  # standard t draws
        eta = center[None] + np.einsum("nij,bnj->bni", chol, u)
        if mu_b is None or mu_b.shape[0] != b:
            mu_b = np.broadcast_to(mu[None], (b,) + mu.shape)
        pred = problem.predict_eta(mu_b, eta, sampling=True)
        m2ll = obs.subject_m2ll(pred, sigma)  # (b, N)
        quad = np.einsum("bni,ij,bnj->bn", eta, omega_inv, eta)
        log_prior = -0.5 * (quad + logdet_omega + r * _LOG_2PI)
        t2 = np.einsum("bni,bni->bn", u, u)
        log_q = log_t_const[None] - 0.5 * (df + r) * np.log1p(t2 / df)
        logw[done:done + b] = -0.5 * m2ll + log_prior - log_q
        done += b
    logw = np.where(np.isfinite(logw), logw, -np.inf)
    log_mean = logsumexp(logw, axis=0) - np.log(draws)  # (N,)
    w = np.exp(logw - log_mean[None])  # weights relative to their mean
    var_rel = np.mean((w - 1.0) ** 2, axis=0)  # Var(w)/mean(w)^2
    se = 2.0 * float(np.sqrt(np.sum(var_rel / draws)))
    ess = draws / (1.0 + var_rel)
    per = -2.0 * log_mean
    return ImportanceSample(float(per.sum()), se, draws, per, ess)
