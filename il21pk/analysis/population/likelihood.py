r"""Individual likelihoods: residual error models, BLQ (M3), derivatives, importance sampling.

The -2 log-likelihood of one observation is the one of :func:`il21pk.fit`
(:func:`il21pk.fitting.observation_terms`): with prediction :math:`f`,
transformed prediction :math:`m` (:math:`f`, or :math:`\log f` for
log-normal error) and residual SD :math:`s`,

.. math::
    c = \log(2\pi s^2) + (y - m)^2 / s^2 \quad\text{or, below the LLOQ,}\quad
    c = -2 \log\Phi\left((LLOQ - m)/s\right)  \;\; \text{(M3)}.

A quantified observation whose SD is 0 (proportional error at a prediction of
0) or whose log-normal prediction is 0 has :math:`c = +\infty`
(:func:`il21pk.analysis.fitting.zero_density`): such parameter values are rejected,
never rewarded; fits refuse data predicted 0 at their starting values.
A subject's -2 log L given its random effects is the sum over its
observations. For the conditional-mode searches (EBEs, FOCEi) this module
also returns the gradient of that sum with respect to the random effects
and its expected information (Gauss-Newton with the variance term, the
"interaction" of FOCEi):

.. math::
    I = J_m^T S^{-2} J_m + 2 J_{\log s}^T J_{\log s}

for observed values, and :math:`\lambda(z)(\lambda(z) + z)\, \nabla z \nabla z^T`
with :math:`\lambda = \varphi/\Phi` for censored ones.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.special import log_ndtr

from ..fitting import TINY, observation_terms, zero_density

_LOG_2PI = float(np.log(2 * np.pi))


class ObservationModel:
    """Residual error models of a dataset and per-subject sums of -2 log L.

    Parameters
    ----------
    observations : pandas.DataFrame
        :attr:`il21pk.Dataset.observations`.
    error : mapping
        ``{variable: kind}``.
    subject : numpy.ndarray of int, shape (n_obs,)
        Subject position (0..N-1) of every observation.
    n_subjects : int
    """

    def __init__(self, observations: pd.DataFrame, error: Mapping[str, str],
                 subject: np.ndarray, n_subjects: int) -> None:
        self.observations = observations
        self.error = dict(error)
        self.subject = np.asarray(subject, dtype=int)
        self.n_subjects = int(n_subjects)
        self.n_obs = len(observations)
        self.y = observations["value"].to_numpy(dtype=float)
        self.blq = observations["blq"].to_numpy(dtype=bool)
        self.variable = observations["variable"].to_numpy()
        kinds = np.array([self.error[v] for v in self.variable])
        self.log_scale = kinds == "lognormal"
        self.order = np.argsort(self.subject, kind="stable")
        counts = np.bincount(self.subject, minlength=self.n_subjects)
        self.starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.counts = counts
        self.n_observed = int((~self.blq).sum())
        self.any_blq = bool(self.blq.any())
        self.var_masks = {var: self.variable == var for var in self.error}
        with np.errstate(divide="ignore", invalid="ignore"):
            self.y_t = np.where(self.log_scale, np.log(np.maximum(self.y, TINY)), self.y)
        # log-normal error: the density of y, not of log y (2 log y per observed value)
        self.jacobian = np.where(self.log_scale & ~self.blq, 2.0 * self.y_t, 0.0)

    # -- residual error parameters ------------------------------------------------
    def sigma_arrays(self, sigma: Mapping[str, float], c: int) -> dict[str, np.ndarray]:
        """Scalars -> arrays (c,) as :func:`observation_terms` expects."""
        return {k: np.full(c, float(v)) if np.ndim(v) == 0 else np.asarray(v, dtype=float)
                for k, v in sigma.items()}

    def sd_parts(self, sigma: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """Additive and proportional SD per observation.

        Scalars give arrays (n_obs,); arrays (C,) give (C, n_obs).
        """
        shape = np.broadcast(*[np.asarray(v) for v in sigma.values()]).shape if sigma else ()
        a = np.zeros(shape + (self.n_obs,))
        b = np.zeros(shape + (self.n_obs,))
        for var, cols in self.var_masks.items():
            if f"sigma_add_{var}" in sigma:
                a[..., cols] = np.asarray(sigma[f"sigma_add_{var}"], dtype=float)[..., None]
            if f"sigma_prop_{var}" in sigma:
                b[..., cols] = np.asarray(sigma[f"sigma_prop_{var}"], dtype=float)[..., None]
        return a, b

    # -- likelihood ------------------------------------------------------------------
    def contributions(self, pred: np.ndarray, sigma: Mapping[str, float]) -> np.ndarray:
        """-2 log L per observation, (C, n_obs); inf where the prediction failed or
        a quantified observation has no density (:func:`il21pk.analysis.fitting.zero_density`).

        The terms of :func:`il21pk.fitting.observation_terms` (the single-fit
        likelihood), evaluated on arrays prepared once; a test checks that
        both agree.
        """
        m, s, _, _ = self.transformed(pred, sigma)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            z = (self.y_t - m) / s
            normal = np.where(zero_density(pred, s, self.log_scale), np.inf,
                              2.0 * np.log(s) + _LOG_2PI + z * z + self.jacobian)
            contrib = normal if not self.any_blq else \
                np.where(self.blq, -2.0 * log_ndtr(z), normal)
        return np.where(np.isfinite(contrib) & np.isfinite(pred), contrib, np.inf)

    def reference_contributions(self, pred: np.ndarray, sigma: Mapping[str, float]
                                ) -> np.ndarray:
        """The same terms through :func:`il21pk.fitting.observation_terms` (slower)."""
        contrib = observation_terms(self.observations, self.error,
                                    self.sigma_arrays(sigma, pred.shape[0]), pred)[0]
        return np.where(np.isfinite(contrib), contrib, np.inf)

    def by_subject(self, values: np.ndarray) -> np.ndarray:
        """Sum per subject over the last axis: (..., n_obs) -> (..., N)."""
        ordered = np.take(values, self.order, axis=-1)
        out = np.add.reduceat(ordered, self.starts, axis=-1)
        return np.where(self.counts > 0, out, 0.0)

    def subject_m2ll(self, pred: np.ndarray, sigma: Mapping[str, float]) -> np.ndarray:
        """-2 log p(y_i | individual parameters), (C, N)."""
        return self.by_subject(self.contributions(pred, sigma))

    # -- derivatives -----------------------------------------------------------------
    def transformed(self, pred: np.ndarray, sigma: Mapping[str, float]):
        """m, s, dm/df and d log s/df per observation (each shaped like `pred`)."""
        a, b = self.sd_parts(sigma)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if not self.log_scale.any():
                s = np.maximum(np.sqrt(a * a + (b * pred) ** 2), TINY)
                return pred, s, np.ones_like(pred), b * b * pred / (s * s)
            f = np.maximum(pred, TINY)
            m = np.where(self.log_scale, np.log(f), pred)
            dm = np.where(self.log_scale, 1.0 / f, 1.0)
            var = np.where(self.log_scale, a * a, a * a + (b * pred) ** 2)
            s = np.maximum(np.sqrt(var), TINY)
            dls = np.where(self.log_scale, 0.0, b * b * pred / (s * s))
        return m, s, dm, dls

    def y_transformed(self) -> np.ndarray:
        """Observations on the scale of m (log for log-normal error)."""
        return self.y_t

    def gradient_information(self, pred: np.ndarray, jac: np.ndarray,
                             sigma: Mapping[str, float]):
        """Per-subject gradient and expected information of -2 log p(y|eta).

        Parameters
        ----------
        pred : numpy.ndarray, shape (C, n_obs)
        jac : numpy.ndarray, shape (C, n_obs, R)
            df/d eta.

        Returns
        -------
        grad : numpy.ndarray, shape (C, N, R)
            Gradient of the subject's -2 log L.
        info : numpy.ndarray, shape (C, N, R, R)
            Expected information of -log L (half the Hessian of -2 log L).
        """
        m, s, dm, dls = self.transformed(pred, sigma)
        jm = jac * dm[..., None]
        jls = jac * dls[..., None]
        yt = self.y_transformed()
        z = (yt - m) / s
        # observed rows
        g_obs = 2.0 * jls * (1.0 - z * z)[..., None] - 2.0 * (z / s)[..., None] * jm
        # censored rows (y holds the LLOQ): c = -2 log Phi(z)
        lam = np.exp(-0.5 * z * z - 0.5 * _LOG_2PI - log_ndtr(z))
        dz = -jm / s[..., None] - z[..., None] * jls
        g_blq = -2.0 * lam[..., None] * dz
        grad_rows = np.where(self.blq[:, None], g_blq, g_obs)
        grad_rows = np.where(np.isfinite(grad_rows), grad_rows, 0.0)
        w_blq = lam * (lam + z)
        info_rows = np.where(
            self.blq[:, None, None],
            w_blq[..., None, None] * dz[..., :, None] * dz[..., None, :],
            jm[..., :, None] * jm[..., None, :] / (s * s)[..., None, None]
            + 2.0 * jls[..., :, None] * jls[..., None, :])
        info_rows = np.where(np.isfinite(info_rows), info_rows, 0.0)
        grad = self.by_subject(np.moveaxis(grad_rows, -2, -1))
        info = self.by_subject(np.moveaxis(info_rows, -3, -1))
        return np.moveaxis(grad, -1, -2), np.moveaxis(info, -1, -3)

    def contribution_derivatives(self, pred: np.ndarray, sigma: Mapping[str, float]):
        """First and second derivatives of each observation's -2 log L term in f.

        Central differences in the prediction itself (no simulation), so every
        error model and the M3 term are covered by one formula.
        """
        f = pred
        delta = 1e-4 * np.maximum(np.abs(f), 1e-8)
        c0 = self.contributions(f, sigma)
        cp = self.contributions(f + delta, sigma)
        cm = self.contributions(np.maximum(f - delta, 0.0) if self.log_scale.any() else
                                f - delta, sigma)
        d1 = (cp - cm) / (2 * delta)
        d2 = (cp - 2 * c0 + cm) / (delta * delta)
        ok = np.isfinite(d1) & np.isfinite(d2)
        return np.where(ok, d1, 0.0), np.where(ok, d2, 0.0)

    # -- simulation ------------------------------------------------------------------
    def simulate(self, pred: np.ndarray, sigma: Mapping[str, float],
                 rng: np.random.Generator) -> np.ndarray:
        """Observations drawn from the residual error models around `pred` (C, n_obs)."""
        a, b = self.sd_parts(sigma)
        e = rng.standard_normal(pred.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            normal = pred + np.sqrt(a * a + (b * pred) ** 2) * e
            lognormal = pred * np.exp(a * e)
        return np.where(self.log_scale, lognormal, normal)

    def weighted_residuals(self, pred: np.ndarray, sigma: Mapping[str, float]) -> np.ndarray:
        """(y - m) / s per observation; NaN for BLQ rows."""
        m, s, _, _ = self.transformed(pred, sigma)
        with np.errstate(invalid="ignore"):
            return np.where(self.blq, np.nan, (self.y_transformed() - m) / s)
