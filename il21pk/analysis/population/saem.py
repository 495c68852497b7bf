r"""SAEM: stochastic approximation EM (Kuhn & Lavielle 2005; the Monolix/saemix scheme).

Iteration :math:`k` has three steps.

**E-step (simulation).** Every chain of every subject moves its random
effects :math:`\eta_i` by Metropolis-Hastings with three kernels, run
``kernels = (n1, n2, n3)`` times each:

1. a draw from the prior :math:`N(0, \Omega)`, accepted with probability
   :math:`\min(1, p(y_i|\eta^*)/p(y_i|\eta))`;
2. a random walk on one component at a time, :math:`\eta^*_r = \eta_r +
   \delta_r z`, accepted on the full conditional density;
3. a random walk on a block of components whose size cycles with
   :math:`k` (2 .. R), the block chosen at random.

The random-walk scales :math:`\delta` adapt after every iteration,
:math:`\delta \leftarrow \delta (1 + a(\hat p_{acc} - p^*))`, towards the
target acceptance :math:`p^* = 0.4` (rate :math:`a = 0.4`).

**Stochastic approximation.** With step :math:`\gamma_k` (0 during the
burn-in, 1 for the next ``k1`` iterations, then :math:`1/(k - k_1)`), the
sufficient statistics, averaged over chains, are updated
:math:`S \leftarrow S + \gamma_k (\tilde S(\eta) - S)`:
:math:`S_1 = (\phi_i)_i`, :math:`S_2 = \sum_i \phi_i\phi_i^T`,
:math:`S_3 = (\phi_i^2)_i` and, for additive, proportional or log-normal
error without BLQ data, the sums of squared residuals per variable.

**M-step.** For parameters with variability the mean coefficients solve
the generalised least squares :math:`\min_\beta \sum_i (S_{1,i} - \mu_i(\beta))^T
\Omega^{-1} (S_{1,i} - \mu_i(\beta))` (closed form when the covariate model
is linear on the transformed scale), then
:math:`\Omega = \frac1N \left(S_2 - \sum_i (S_{1,i}\mu_i^T + \mu_i S_{1,i}^T) +
\sum_i \mu_i\mu_i^T\right)`, restricted to the estimated elements. During
the first ``annealing_iterations`` each variance is kept at least
``annealing`` times its previous value (simulated annealing), so the chains
explore before the variances shrink. Residual SDs come from the
statistics in closed form; otherwise (combined error, BLQ), and for fixed
effects without variability, the conditional -2 log L of the current
chains is minimised numerically and the estimate is stochastically
approximated (as saemix does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from ...checks import is_integer, is_real
from ...errors import OptionError
from .individual import to_psi
from .problem import PopulationProblem


@dataclass(frozen=True)
class SaemSettings:
    """Algorithm settings of SAEM (defaults as in saemix where it has one).

    Attributes
    ----------
    k1 : int
        Iterations with step size 1 (exploration). Default 300.
    k2 : int
        Iterations with decreasing step size 1/k (smoothing). Default 150.
    burn : int
        Burn-in iterations (E-step only). Default 5.
    chains : int or None
        Markov chains per subject; None: ``ceil(80 / N)`` (saemix uses 50; more
        chains damp the random walk of estimates along flat directions of
        the likelihood, e.g. correlated ka and V).
    kernels : tuple of int
        Iterations of kernels 1 (prior draw), 2 (componentwise random
        walk) and 3 (block random walk) per E-step. Default (2, 2, 2).
    acceptance : float
        Target acceptance rate of the random walks. Default 0.4.
    rw_rate : float
        Adaptation rate of the random-walk scales. Default 0.4.
    rw_init : float
        Initial random-walk scale as a fraction of each omega. Default 0.5.
    annealing : float
        Most a variance may shrink per iteration during annealing. Default 0.97.
    annealing_iterations : int or None
        Iterations with annealing; None: ``k1 // 2``.
    is_draws : int
        Importance-sampling draws per subject for -2 log L. Default 3000.
    is_df : float
        Degrees of freedom of the Student-t proposal. Default 5.
    """

    k1: int = 300
    k2: int = 150
    burn: int = 5
    chains: int | None = None
    kernels: tuple[int, int, int] = (2, 2, 2)
    acceptance: float = 0.4
    rw_rate: float = 0.4
    rw_init: float = 0.5
    annealing: float = 0.97
    annealing_iterations: int | None = None
    is_draws: int = 3000
    is_df: float = 5.0

    def __post_init__(self) -> None:
        for name in ("k1", "k2", "burn"):
            value = getattr(self, name)
            if not is_integer(value) or value < 0:
                raise OptionError(f"SaemSettings.{name} must be an integer >= 0; got {value!r}")
        if self.k1 + self.k2 < 1:
            raise OptionError("SaemSettings: k1 + k2 must be >= 1")
        if self.chains is not None and (not is_integer(self.chains) or self.chains < 1):
            raise OptionError(f"SaemSettings.chains must be an integer >= 1; got {self.chains!r}")
        if len(self.kernels) != 3 or any(int(k) < 0 for k in self.kernels):
            raise OptionError(f"SaemSettings.kernels must be three integers >= 0; got "
                              f"{self.kernels!r}")
        if not 0 < self.acceptance < 1:
            raise OptionError(f"SaemSettings.acceptance must be in (0, 1); got {self.acceptance}")
        if not 0 < self.annealing <= 1:
            raise OptionError(f"SaemSettings.annealing must be in (0, 1]; got {self.annealing}")
        if not is_integer(self.is_draws) or self.is_draws < 10:
            raise OptionError(f"SaemSettings.is_draws must be an integer >= 10; got "
                              f"{self.is_draws!r}")
        check_setting("SaemSettings.is_df", self.is_df)


def check_setting(field: str, value: object) -> None:
    """A numeric setting: a finite number > 0, else ValueError naming it."""
    if not is_real(value) or not 0 < value or not np.isfinite(value):
        raise OptionError(f"{field} must be a finite number > 0; got {value!r}")


@dataclass
class SaemState:
    """Population parameters during and after SAEM."""

    coef: np.ndarray
    omega: np.ndarray
    sigma: dict


@dataclass
class SaemOutput:
    """What SAEM returns to the fit: final state, statistics, chains and history."""

    state: SaemState
    s1: np.ndarray          # conditional means of phi (IIV parameters), (N, R)
    s3: np.ndarray          # conditional second moments, (N, R)
    eta: np.ndarray         # final chains, (C, N, R)
    history: pd.DataFrame   # iteration x quantity
    acceptance: np.ndarray  # final acceptance rates of kernels 2/3 per component
    chains: int
    iterations: int


def _closed_form_residual(problem: PopulationProblem) -> dict | None:
    """Per estimated sigma, (rows, kind) if every sigma has a closed-form update."""
    obs = problem.observations
    out = {}
    for name in problem.sigma_names:
        part, var = name.split("_", 2)[1:]
        kind = obs.error[var]
        rows = obs.variable == var
        if kind == "combined" or obs.blq[rows].any():
            return None
        out[name] = (rows, "relative" if part == "prop" else kind)
    return out


def _residual_statistic(problem: PopulationProblem, pred: np.ndarray, spec: dict) -> np.ndarray:
    """Mean over chains of the sum of squared residuals per sigma (closed-form case)."""
    y = problem.observations.y
    out = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for rows, kind in spec.values():
            f = pred[:, rows]
            if kind == "relative":
                r = (y[rows] - f) / f
            elif kind == "lognormal":
                r = np.log(y[rows]) - np.log(np.maximum(f, 1e-300))
            else:
                r = y[rows] - f
            out.append(np.mean(np.sum(r * r, axis=1)))
    return np.array(out)


def run_saem(problem: PopulationProblem, start: SaemState, settings: SaemSettings,
             rng: np.random.Generator) -> SaemOutput:
    """Run SAEM from `start`; see the module docstring for the algorithm."""
    im = problem.individual
    obs = problem.observations
    n, r = problem.n_subjects, im.n_random
    chains = settings.chains or max(1, math.ceil(80 / n))
    n1, n2, n3 = (int(k) for k in settings.kernels)
    k_total = settings.burn + settings.k1 + settings.k2
    k_sa = settings.annealing_iterations if settings.annealing_iterations is not None \
        else settings.k1 // 2
    coef = start.coef.copy()
    omega = start.omega.copy()
    sigma = dict(start.sigma)
    iiv = im.iiv
    idx_iiv_coef = im.coefficient_indices(iiv)
    idx_fixed_coef = im.coefficient_indices(im.no_iiv)
    closed = _closed_form_residual(problem)
    n_rows = {name: int(spec[0].sum()) for name, spec in (closed or {}).items()}
    designs = [im.linear_design(p) for p in iiv]
    linear_mean = all(d is not None for d in designs)

    mu = im.mean(coef)
    eta = np.zeros((chains, n, r))
    mu_c = np.broadcast_to(mu[None], (chains,) + mu.shape)
    pred = problem.predict_eta(mu_c, eta, sampling=True)
    full_sigma = problem.all_sigma(sigma)
    u_y = 0.5 * obs.subject_m2ll(pred, full_sigma)
    if not np.all(np.isfinite(u_y)):
        from ...errors import FitError

        raise FitError("the typical subject cannot be simulated to a finite likelihood at the "
                       "initial values; check the starting values and the data")
    scales = np.repeat((settings.rw_init * np.sqrt(np.diag(omega)))[:, None], max(r, 1), axis=1)
    s1 = np.zeros((n, r))
    s2 = np.zeros((r, r))
    s3 = np.zeros((n, r))
    s_res = np.zeros(len(problem.sigma_names))
    history = []
    acc_rate = np.full(r, np.nan)

    def accept(new, old):
        """Metropolis-Hastings: accept where new - old < -log(u); never into a failure."""
        with np.errstate(invalid="ignore"):
            return np.isfinite(new) & (new - old < -np.log(rng.random(new.shape)))

    for k in range(k_total):
        # -- E-step -------------------------------------------------------------------
        mu_c = np.broadcast_to(mu[None], (chains,) + mu.shape)
        full_sigma = problem.all_sigma(sigma)
        omega_inv = np.linalg.inv(omega) if r else np.zeros((0, 0))
        if r:
            chol = np.linalg.cholesky(omega)
            pred = problem.predict_eta(mu_c, eta, sampling=True)  # the M-step changed the means
            u_y = 0.5 * obs.subject_m2ll(pred, full_sigma)
            for _ in range(n1):
                eta_c = rng.standard_normal((chains, n, r)) @ chol.T
                pred_c = problem.predict_eta(mu_c, eta_c, sampling=True)
                u_c = 0.5 * obs.subject_m2ll(pred_c, full_sigma)
                ok = accept(u_c, u_y)
                eta, u_y, pred = _update(ok, eta, eta_c, u_y, u_c, pred, pred_c, obs.subject)
            u_eta = 0.5 * problem.eta_penalty(eta, omega_inv)
            accepted = np.zeros(r)
            tried = np.zeros(r)
            for _ in range(n2):
                for comp in range(r):
                    eta_c = eta.copy()
                    eta_c[..., comp] += rng.standard_normal((chains, n)) * scales[comp, 0]
                    pred_c = problem.predict_eta(mu_c, eta_c, sampling=True)
                    u_c = 0.5 * obs.subject_m2ll(pred_c, full_sigma)
                    ue_c = 0.5 * problem.eta_penalty(eta_c, omega_inv)
                    ok = accept(u_c + ue_c, u_y + u_eta)
                    u_eta = np.where(ok, ue_c, u_eta)
                    eta, u_y, pred = _update(ok, eta, eta_c, u_y, u_c, pred, pred_c,
                                             obs.subject)
                    accepted[comp] += ok.sum()
                    tried[comp] += ok.size
            if n2:
                rate = accepted / np.maximum(tried, 1)
                scales[:, 0] *= 1 + settings.rw_rate * (rate - settings.acceptance)
                acc_rate = rate
            if n3:
                size = (k % (r - 1)) + 2 if r > 1 else 1
                accepted = np.zeros(r)
                tried = np.zeros(r)
                for _ in range(n3):
                    if size < r:
                        offsets = np.concatenate([[0], rng.choice(np.arange(1, r), size - 1,
                                                                  replace=False)])
                        blocks = [(start_ + offsets) % r for start_ in range(r)]
                    else:
                        blocks = [np.arange(r)]
                    for block in blocks:
                        eta_c = eta.copy()
                        eta_c[..., block] += rng.standard_normal((chains, n, block.size)) \
                            * scales[block, size - 1]
                        pred_c = problem.predict_eta(mu_c, eta_c, sampling=True)
                        u_c = 0.5 * obs.subject_m2ll(pred_c, full_sigma)
                        ue_c = 0.5 * problem.eta_penalty(eta_c, omega_inv)
                        ok = accept(u_c + ue_c, u_y + u_eta)
                        u_eta = np.where(ok, ue_c, u_eta)
                        eta, u_y, pred = _update(ok, eta, eta_c, u_y, u_c, pred, pred_c,
                                                 obs.subject)
                        accepted[block] += ok.sum()
                        tried[block] += ok.size
                seen = tried > 0
                rate = accepted[seen] / tried[seen]
                scales[seen, size - 1] *= 1 + settings.rw_rate * (rate - settings.acceptance)
        else:
            pred = problem.predict_eta(mu_c, eta, sampling=True)
        # -- stochastic approximation ---------------------------------------------------
        if k < settings.burn:
            continue
        it = k - settings.burn
        gamma = 1.0 if it < settings.k1 else 1.0 / (it - settings.k1 + 1)
        if r:
            phi = mu[None, :, iiv] + eta  # (C, N, R)
            s1 += gamma * (phi.mean(axis=0) - s1)
            s2 += gamma * (np.einsum("cni,cnj->ij", phi, phi) / chains - s2)
            s3 += gamma * ((phi * phi).mean(axis=0) - s3)
        if closed is not None and closed:
            s_res += gamma * (_residual_statistic(problem, pred, closed) - s_res)
        # -- M-step ---------------------------------------------------------------------
        if r:
            omega_inv = np.linalg.inv(omega)
            coef = _update_means(im, coef, s1, omega_inv, designs, linear_mean, idx_iiv_coef)
            mu = im.mean(coef)
            m = mu[:, iiv]
            new = (s2 - s1.T @ m - m.T @ s1 + m.T @ m) / n
            new = im.omega_structure(0.5 * (new + new.T))
            if it < k_sa:
                floor = np.diag(omega) * settings.annealing
                d_new = np.maximum(np.diag(new), floor)
                scale = np.sqrt(d_new / np.maximum(np.diag(new), 1e-300))
                new = new * np.outer(scale, scale)
            omega = _positive_definite(new, omega)
        if idx_fixed_coef.size:
            target = _optimise_fixed(problem, coef, idx_fixed_coef, eta, full_sigma)
            coef[idx_fixed_coef] += gamma * (target - coef[idx_fixed_coef])
            mu = im.mean(coef)
        if problem.sigma_names:
            if closed is not None:
                for j, name in enumerate(problem.sigma_names):
                    sigma[name] = float(np.sqrt(max(s_res[j] / n_rows[name], 1e-300)))
            else:
                if idx_fixed_coef.size:
                    pred = problem.predict_eta(np.broadcast_to(mu[None], (chains,) + mu.shape),
                                               eta, sampling=True)
                target = _optimise_sigma(problem, pred, sigma)
                for name in problem.sigma_names:
                    if it < settings.k1:
                        sigma[name] = max(sigma[name] * settings.annealing, target[name])
                    else:
                        sigma[name] += gamma * (target[name] - sigma[name])
        history.append(_snapshot(im, it + 1, coef, omega, sigma, problem.sigma_names))
    return SaemOutput(SaemState(coef, omega, sigma), s1, s3, eta,
                      pd.DataFrame(history).set_index("iteration"), acc_rate, chains,
                      k_total)


def _update(ok, eta, eta_c, u_y, u_c, pred, pred_c, subject):
    """Keep accepted proposals (C, N) in the chains, their -log p(y|eta) and predictions."""
    eta = np.where(ok[..., None], eta_c, eta)
    u_y = np.where(ok, u_c, u_y)
    pred = np.where(ok[:, subject], pred_c, pred)
    return eta, u_y, pred


def _update_means(im, coef, s1, omega_inv, designs, linear, idx) -> np.ndarray:
    """GLS of the conditional means S1 on the mean model (IIV parameters)."""
    coef = coef.copy()
    iiv = im.iiv
    if linear:
        # sum_i X_i' W X_i beta = sum_i X_i' W (s1_i - offset_i), X_i block-diagonal over params
        sizes = [d[0].shape[1] for d in designs]
        pos = np.concatenate([[0], np.cumsum(sizes)])
        q = int(pos[-1])
        lhs = np.zeros((q, q))
        rhs = np.zeros(q)
        offsets = np.column_stack([im.fixed_offset(p, coef) for p in iiv])
        target = s1 - offsets
        for a, (xa, _) in enumerate(designs):
            for b, (xb, _) in enumerate(designs):
                w = omega_inv[a, b]
                if w == 0.0:
                    continue
                lhs[pos[a]:pos[a + 1], pos[b]:pos[b + 1]] += w * xa.T @ xb
                rhs[pos[a]:pos[a + 1]] += w * xa.T @ target[:, b]
        beta = np.linalg.lstsq(lhs, rhs, rcond=None)[0]
        for a, (_, ids) in enumerate(designs):
            coef[ids] = beta[pos[a]:pos[a + 1]]
        return coef
    chol = np.linalg.cholesky(omega_inv)

    def resid(b):
        c = coef.copy()
        c[idx] = b
        d = s1 - im.mean(c)[:, iiv]
        return (d @ chol).ravel()

    res = optimize.least_squares(resid, coef[idx], method="lm")
    coef[idx] = res.x
    return coef


def _positive_definite(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """`new` if positive definite, else its diagonal (floored), never worse than `old`."""
    try:
        np.linalg.cholesky(new)
        return new
    except np.linalg.LinAlgError:
        d = np.maximum(np.diag(new), 1e-8 * np.maximum(np.diag(old), 1e-12))
        return np.diag(d)


def _newton(values, x0: np.ndarray, *, h: float = 1e-4, max_iter: int = 20) -> np.ndarray:
    """Minimise a smooth function given as `values(points (M, k)) -> (M,)`.

    Newton steps with a central-difference gradient and Hessian evaluated in
    one batch per iteration, backtracking when a step does not lower the
    value; a Hessian that is not positive definite is replaced by the
    absolute values of its diagonal. For the small M-step problems of SAEM
    (a few residual SDs, fixed effects without variability).
    """
    x = np.array(x0, dtype=float)
    k = x.size
    eye = np.eye(k)
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    for _ in range(max_iter):
        points = [x]
        for i in range(k):
            points += [x + h * eye[i], x - h * eye[i]]
        for i, j in pairs:
            points += [x + h * (eye[i] + eye[j]), x + h * (eye[i] - eye[j]),
                       x - h * (eye[i] - eye[j]), x - h * (eye[i] + eye[j])]
        f = values(np.array(points))
        if not np.all(np.isfinite(f)):
            break
        grad = np.array([(f[1 + 2 * i] - f[2 + 2 * i]) / (2 * h) for i in range(k)])
        hess = np.diag([(f[1 + 2 * i] - 2 * f[0] + f[2 + 2 * i]) / h**2 for i in range(k)])
        base = 1 + 2 * k
        for n, (i, j) in enumerate(pairs):
            pp, pm, mp, mm = f[base + 4 * n: base + 4 * n + 4]
            hess[i, j] = hess[j, i] = (pp - pm - mp + mm) / (4 * h * h)
        try:
            np.linalg.cholesky(hess)
        except np.linalg.LinAlgError:
            hess = np.diag(np.maximum(np.abs(np.diag(hess)), 1e-8))
        step = -np.linalg.solve(hess, grad)
        step *= min(1.0, 2.0 / max(np.max(np.abs(step)), 1e-300))  # at most 2 units
        alpha = 1.0
        for _ in range(20):
            value = values((x + alpha * step)[None])[0]
            if np.isfinite(value) and value <= f[0]:
                break
            alpha *= 0.5
        else:
            break
        x = x + alpha * step
        if np.max(np.abs(alpha * step)) < 1e-8:
            break
    return x


def _optimise_fixed(problem: PopulationProblem, coef, idx, eta, sigma) -> np.ndarray:
    """Coefficients of parameters without variability minimising the chains' -2 log L."""
    im = problem.individual
    chains = eta.shape[0]

    def values(points):
        coefs = np.repeat(coef[None], points.shape[0], axis=0)
        coefs[:, idx] = points
        mus = np.repeat(im.mean_batch(coefs), chains, axis=0)  # (M*C, N, P)
        etas = np.tile(eta, (points.shape[0], 1, 1))
        pred = problem.predict_eta(mus, etas, sampling=True)
        total = problem.observations.subject_m2ll(pred, sigma).sum(axis=1)
        return total.reshape(points.shape[0], chains).mean(axis=1)

    return _newton(values, coef[idx], h=1e-4, max_iter=10)


def _optimise_sigma(problem: PopulationProblem, pred: np.ndarray, sigma: dict) -> dict:
    """Residual SDs minimising the chains' -2 log L at fixed predictions."""
    names = problem.sigma_names
    obs = problem.observations
    c = pred.shape[0]

    def values(points):
        m = points.shape[0]
        trial = problem.all_sigma({n: np.repeat(np.exp(points[:, j]), c)
                                   for j, n in enumerate(names)})
        trial = {k: (v if np.ndim(v) else np.full(m * c, v)) for k, v in trial.items()}
        total = obs.contributions(np.tile(pred, (m, 1)), trial).sum(axis=1)
        return total.reshape(m, c).mean(axis=1)

    x = _newton(values, np.log([sigma[n] for n in names]), h=1e-4)
    return dict(zip(names, np.exp(x), strict=True))


def _snapshot(im, iteration, coef, omega, sigma, sigma_names) -> dict:
    row = {"iteration": iteration}
    for j, name in enumerate(im.coef_names):
        p = im.coef_param[j]
        row[name] = float(to_psi(coef[j], im.transforms[p])) if j in set(im.intercepts) \
            else float(coef[j])
    sd = np.sqrt(np.diag(omega))
    for a, name in enumerate(im.iiv_names):
        row[f"omega_{name}"] = float(sd[a])
    names = im.iiv_names
    for a in range(len(names)):
        for b in range(a):
            if im.omega_mask[a, b]:
                row[f"corr_{names[b]}_{names[a]}"] = float(omega[a, b] / (sd[a] * sd[b]))
    for name in sigma_names:
        row[name] = float(sigma[name])
    return row
