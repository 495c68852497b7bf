"""A population problem: data, prediction function, parameter and error models.

Everything an estimation method evaluates goes through
:meth:`PopulationProblem.predict`, which takes transformed individual
parameters of shape (C, N, P) (C replicates of N subjects) and returns
predictions (C, n_obs) in one call of the prediction function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ...io.data import Dataset
from .individual import IndividualModel
from .likelihood import ObservationModel


@dataclass
class PopulationProblem:
    """The pieces of a population fit.

    Attributes
    ----------
    dataset : Dataset
        The observations (only subjects with observations take part).
    subjects : list
        Subject identifiers in fitting order (position = index 0..N-1).
    predictor : callable
        ``values (C, N) by name -> predictions (C, n_obs)``.
    individual : IndividualModel
    observations : ObservationModel
    sigma_names : tuple of str
        Estimated residual error parameters.
    fixed_sigma : dict
        Residual error parameters fixed by the user.
    fd_step : float
        Finite-difference step on the transformed parameter scale.
    sampler : callable or None
        A cheaper prediction function (looser ODE tolerances) for the
        Monte Carlo steps (MCMC, importance sampling, simulation), whose
        errors are far below the Monte Carlo noise; None: `predictor`.
    time_unit : str or None
        Unit of the dataset's ``time_h`` column: the model's time unit
        (``Model.time_unit``, or a closed-form model's ``time_unit``
        attribute, hours without one; None: undeclared).
    """

    dataset: Dataset
    subjects: list
    predictor: Callable[[Mapping[str, np.ndarray]], np.ndarray]
    individual: IndividualModel
    observations: ObservationModel
    sigma_names: tuple[str, ...]
    fixed_sigma: dict
    fd_step: float = 1e-4
    sampler: Callable[[Mapping[str, np.ndarray]], np.ndarray] | None = None
    calls: int = 0
    members: int = 0
    time_unit: str | None = "h"

    @property
    def n_subjects(self) -> int:
        return len(self.subjects)

    def predict(self, phi: np.ndarray, *, sampling: bool = False) -> np.ndarray:
        """Predictions (C, n_obs) for transformed individual parameters (C, N, P).

        `sampling` selects the Monte Carlo prediction function (:attr:`sampler`).
        """
        finite = np.all(np.isfinite(phi), axis=(1, 2))
        if not finite.all():
            out = np.full((phi.shape[0], self.observations.n_obs), np.nan)
            if finite.any():
                out[finite] = self.predict(phi[finite], sampling=sampling)
            return out
        self.calls += 1
        self.members += phi.shape[0] * phi.shape[1]
        fn = self.sampler if sampling and self.sampler is not None else self.predictor
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return np.asarray(fn(self.individual.psi(phi)), dtype=float)

    def all_sigma(self, sigma: Mapping[str, float]) -> dict:
        """Estimated and fixed residual error parameters together."""
        out = dict(self.fixed_sigma)
        out.update(sigma)
        return out

    def predict_eta(self, mu: np.ndarray, eta: np.ndarray, *, sampling: bool = False
                    ) -> np.ndarray:
        """Predictions for means (C, N, P) and random effects (C, N, R)."""
        return self.predict(self.individual.phi(mu, eta), sampling=sampling)

    def jacobian(self, mu: np.ndarray, eta: np.ndarray, pred: np.ndarray | None = None,
                 step: float | None = None) -> np.ndarray:
        """Central-difference df/d eta, (C, n_obs, R), in one batch of 2 C R members.

        `pred` is unused (kept for a forward-difference variant)."""
        h = self.fd_step if step is None else step
        c, _, r = eta.shape
        shifted = np.repeat(eta[None], 2 * r, axis=0)  # (2R, C, N, R)
        for k in range(r):
            shifted[k, ..., k] += h
            shifted[r + k, ..., k] -= h
        mus = np.broadcast_to(mu[None], (2 * r,) + mu.shape).reshape((-1,) + mu.shape[1:])
        out = self.predict_eta(mus, shifted.reshape((-1,) + eta.shape[1:])).reshape(
            2 * r, c, -1)
        jac = (out[:r] - out[r:]) / (2 * h)
        return np.moveaxis(jac, 0, -1)

    def derivatives(self, mu: np.ndarray, eta: np.ndarray, pred: np.ndarray,
                    step: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """df/d eta (C, n_obs, R) and d2f/d eta2 (C, n_obs, R, R) by differences.

        One batch of 2R + R(R-1)/2 replicates: central differences for the
        gradient and the diagonal, f(eta + h e_i + h e_j) for the cross terms.
        """
        h = self.fd_step if step is None else step
        c, _, r = eta.shape
        pairs = [(i, j) for i in range(r) for j in range(i + 1, r)]
        shifted = np.repeat(eta[None], 2 * r + len(pairs), axis=0)
        for k in range(r):
            shifted[k, ..., k] += h
            shifted[r + k, ..., k] -= h
        for n, (i, j) in enumerate(pairs):
            shifted[2 * r + n, ..., i] += h
            shifted[2 * r + n, ..., j] += h
        m = shifted.shape[0]
        mus = np.broadcast_to(mu[None], (m,) + mu.shape).reshape((-1,) + mu.shape[1:])
        out = self.predict_eta(mus, shifted.reshape((-1,) + eta.shape[1:])).reshape(m, c, -1)
        up, down = out[:r], out[r:2 * r]
        jac = np.moveaxis((up - down) / (2 * h), 0, -1)
        hess = np.empty(pred.shape + (r, r))
        for k in range(r):
            hess[..., k, k] = (up[k] - 2 * pred + down[k]) / (h * h)
        for n, (i, j) in enumerate(pairs):
            hess[..., i, j] = hess[..., j, i] = (out[2 * r + n] - up[i] - up[j] + pred) / (h * h)
        return jac, hess

    def eta_penalty(self, eta: np.ndarray, omega_inv: np.ndarray) -> np.ndarray:
        """eta' Omega^-1 eta per subject, (C, N); `omega_inv` (R, R) or (C, R, R)."""
        if omega_inv.ndim == 2:
            return np.einsum("cni,ij,cnj->cn", eta, omega_inv, eta)
        return np.einsum("cni,cij,cnj->cn", eta, omega_inv, eta)
