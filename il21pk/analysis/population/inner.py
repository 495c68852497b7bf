r"""Conditional modes of the random effects (EBEs), for many subjects at once.

For each subject (and each of C parameter replicates) minimise

.. math::
    G(\eta) = -2\log p(y_i \mid \eta) + \eta^T \Omega^{-1} \eta

by damped Newton steps :math:`\Delta = -H^{-1}\nabla G` with
:math:`H = \sum_j [c_j'' \nabla f_j \nabla f_j^T + c_j' \nabla^2 f_j] +
2\Omega^{-1}` (:math:`c_j(f)` the -2 log L term of observation j; first and
second derivatives of the predictions by differences); where that matrix is
not positive definite (far from the mode) the expected information of
:mod:`.likelihood` replaces it (Fisher scoring). All C x N problems advance
together: one iteration costs one batch of C N (2R + R(R-1)/2) simulations. A problem has converged
when the decrease its step predicts, :math:`-\nabla G^T\Delta/2`, is below
`tol` (or its step is below 1e-10); a step that does not lower G is halved
(up to 12 times), and a problem whose step cannot be made to lower G is at
its mode to the accuracy of the differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .problem import PopulationProblem


@dataclass
class Modes:
    """Conditional modes and what was computed at them.

    Attributes
    ----------
    eta : numpy.ndarray, shape (C, N, R)
    objective : numpy.ndarray, shape (C, N)
        G at the mode (-2 log p(y|eta) + eta' Omega^-1 eta).
    m2ll : numpy.ndarray, shape (C, N)
        -2 log p(y | eta) at the mode.
    pred : numpy.ndarray, shape (C, n_obs)
    jac : numpy.ndarray, shape (C, n_obs, R)
    info : numpy.ndarray, shape (C, N, R, R)
        Expected information of -log p(y|eta) at the mode.
    converged : numpy.ndarray of bool, shape (C, N)
    iterations : int
    """

    eta: np.ndarray
    objective: np.ndarray
    m2ll: np.ndarray
    pred: np.ndarray
    jac: np.ndarray
    info: np.ndarray
    converged: np.ndarray
    iterations: int


def conditional_modes(problem: PopulationProblem, mu: np.ndarray, omega: np.ndarray,
                      sigma: dict, eta0: np.ndarray | None = None, *, tol: float = 1e-9,
                      max_iter: int = 100) -> Modes:
    """Conditional modes for means `mu` (C, N, P), Omega (R, R) or (C, R, R), `sigma`.

    `sigma` values are scalars or arrays (C,). `tol` bounds the predicted
    decrease of G at convergence.
    """
    c, n, _ = mu.shape
    r = problem.individual.n_random
    obs = problem.observations
    omega = np.broadcast_to(omega, (c, r, r)) if omega.ndim == 2 else omega
    omega_inv = _inverse(omega)
    eta = np.zeros((c, n, r)) if eta0 is None else np.array(eta0, dtype=float, copy=True)
    if r == 0:
        pred = problem.predict(mu)
        m2ll = obs.subject_m2ll(pred, sigma)
        return Modes(eta, m2ll, m2ll, pred, np.zeros(pred.shape + (0,)),
                     np.zeros((c, n, 0, 0)), np.ones((c, n), bool), 0)

    def evaluate(e):
        p = problem.predict_eta(mu, e)
        m = obs.subject_m2ll(p, sigma)
        return p, m, m + problem.eta_penalty(e, omega_inv)

    pred, m2ll, g = evaluate(eta)
    bad = ~np.isfinite(g)
    if bad.any():  # start from the typical subject where the start cannot be simulated
        eta[bad] = 0.0
        pred, m2ll, g = evaluate(eta)
    converged = np.zeros((c, n), dtype=bool)
    eye = np.eye(r)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        jac, fhess = problem.derivatives(mu, eta, pred)
        with np.errstate(invalid="ignore"):  # NaN predictions: NaN derivatives, no steps
            d1, d2 = obs.contribution_derivatives(pred, sigma)
        grad = obs.by_subject(np.moveaxis(d1[..., None] * jac, -2, -1))
        grad = np.moveaxis(grad, -1, -2) + 2.0 * np.einsum("cij,cnj->cni", omega_inv, eta)
        rows = d2[..., None, None] * jac[..., :, None] * jac[..., None, :] \
            + d1[..., None, None] * fhess
        newton = 0.5 * np.moveaxis(obs.by_subject(np.moveaxis(rows, -3, -1)), -1, -3)
        hess = newton + omega_inv[:, None] + 1e-12 * eye
        # a subject whose predictions are NaN (a covariate term outside its domain, a
        # failed simulation) has a NaN Hessian, which eigvalsh cannot take: it is not
        # definite, and _solve gives it no step (its G stays non-finite: OFV inf)
        finite = np.all(np.isfinite(hess), axis=(-2, -1))
        definite = finite & np.all(
            np.linalg.eigvalsh(np.where(finite[..., None, None], hess, eye)) > 0, axis=-1)
        if not definite.all():
            _, info = obs.gradient_information(pred, jac, sigma)
            hess = np.where(definite[..., None, None], hess,
                            info + omega_inv[:, None] + 1e-12 * eye)
        step = _solve(hess, grad)
        decrease = -0.5 * np.einsum("cni,cni->cn", grad, step)
        converged |= (decrease < tol) | (np.max(np.abs(step), axis=-1) < 1e-10)
        if converged.all():
            break
        step = np.where(converged[..., None], 0.0, step)
        big = np.max(np.abs(step), axis=-1) > 5.0  # no jump beyond 5 units of eta at once
        step[big] *= (5.0 / np.max(np.abs(step[big]), axis=-1))[:, None]
        alpha = np.ones((c, n))
        todo = ~converged
        new_eta, new_pred, new_m2ll, new_g = eta.copy(), pred.copy(), m2ll.copy(), g.copy()
        for _ in range(12):
            trial = eta + alpha[..., None] * step
            p, m, gt = evaluate(trial)
            ok = todo & np.isfinite(gt) & (gt <= g)
            rows = ok[np.arange(c)[:, None], obs.subject[None, :]]
            new_eta[ok] = trial[ok]
            new_m2ll[ok] = m[ok]
            new_g[ok] = gt[ok]
            new_pred = np.where(rows, p, new_pred)
            todo &= ~ok
            if not todo.any():
                break
            alpha = np.where(todo, alpha * 0.5, alpha)
        converged |= todo  # no step lowers G: at the mode within the differences' accuracy
        eta, pred, m2ll, g = new_eta, new_pred, new_m2ll, new_g
    jac = problem.jacobian(mu, eta, pred)
    _, info = obs.gradient_information(pred, jac, sigma)
    return Modes(eta, g, m2ll, pred, jac, info, converged, it)


def _inverse(a: np.ndarray) -> np.ndarray:
    """Batched inverse; NaN for matrices that are singular or not finite."""
    out = np.full_like(a, np.nan, dtype=float)
    good = np.all(np.isfinite(a), axis=(-2, -1))
    if good.any():
        det = np.linalg.det(a[good])
        ok = np.isfinite(det) & (np.abs(det) > 0)
        idx = np.flatnonzero(good)[ok]
        out[idx] = np.linalg.inv(a[idx])
    return out


def _solve(hess: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """Newton steps -H^-1 g / 2 per problem; 0 where H is not usable."""
    good = np.all(np.isfinite(hess), axis=(-2, -1)) & np.all(np.isfinite(grad), axis=-1)
    safe = np.where(good[..., None, None], hess, np.eye(hess.shape[-1]))
    try:
        step = -0.5 * np.linalg.solve(safe, np.where(good[..., None], grad, 0.0)[..., None])
    except np.linalg.LinAlgError:
        step = np.zeros(grad.shape + (1,))
        for idx in zip(*np.nonzero(good), strict=True):
            try:
                step[idx] = -0.5 * np.linalg.solve(safe[idx], grad[idx][:, None])
            except np.linalg.LinAlgError:
                pass
    return np.where(good[..., None], step[..., 0], 0.0)
