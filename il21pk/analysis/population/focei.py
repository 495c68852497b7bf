r"""FOCEi: first-order conditional estimation with interaction.

**Inner problem.** For every subject the conditional mode
:math:`\hat\eta_i` of :math:`-2\log p(y_i|\eta) + \eta^T\Omega^{-1}\eta` (see
:mod:`.inner`); the residual SDs are evaluated at :math:`\hat\eta_i` (the
interaction), and the information :math:`I_i` includes their dependence on
:math:`\eta`.

**Objective.** The Laplace approximation with the expected (first-order)
information,

.. math::
    \mathrm{OFV} = \sum_i \left[-2\log p(y_i|\hat\eta_i) + \hat\eta_i^T\Omega^{-1}\hat\eta_i
    + \log\det\Omega + \log\det(I_i + \Omega^{-1})\right],

which includes the :math:`n\log 2\pi` of the observations (NONMEM drops it).

**Outer problem.** BFGS on :math:`x` = (estimated mean coefficients on the
transformed scale, the Cholesky factor of each block of :math:`\Omega` with
log diagonal, log residual SDs). Gradients are central differences of the
OFV; every perturbed :math:`x` re-solves the inner problems (warm-started),
all in one batch of simulations.

**Covariance step.** :math:`R = \tfrac12 \nabla^2 \mathrm{OFV}` (central
differences), :math:`S = \sum_i s_i s_i^T` with
:math:`s_i = \tfrac12 \nabla \mathrm{OFV}_i`, and the sandwich
:math:`R^{-1} S R^{-1}` (or :math:`R^{-1}`, :math:`S^{-1}`), mapped to the
reporting parameters by the delta method. The condition number is the
ratio of the largest to the smallest eigenvalue of the correlation matrix
of the estimates.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from ...errors import OptionError
from ..fitting import check_fd_step
from .inner import conditional_modes
from .marginal import laplace_terms
from .problem import PopulationProblem
from .saem import SaemState, _snapshot, check_setting
from .uncertainty import condition_number, to_rho


@dataclass(frozen=True)
class FoceiSettings:
    """Algorithm settings of FOCEi.

    Attributes
    ----------
    max_iter : int
        Most BFGS iterations of the outer problem. Default 300.
    gtol : float
        Stop when every gradient component of the OFV is below this (the OFV
        is -2 log L, so 1e-2 is far inside any confidence interval). Default 1e-2.
    fd_step : float
        Central-difference step on x for the gradient. Default 1e-3.
    hessian_step : float
        Step for the R matrix. Default 1e-3.
    covariance : bool
        Run the covariance step. Default True.
    standard_errors : {'r', 'sandwich', 's'}
        Covariance of the estimates reported in the table: :math:`R^{-1}`
        (default: the inverse observed information), the sandwich
        :math:`R^{-1}SR^{-1}` (NONMEM's default) or :math:`S^{-1}`. All three
        are kept in ``result.details``. The sandwich estimates S from N
        subject gradients: over 50 simulated populations of 12 and 24
        subjects its 95 % intervals for the omegas held the truth only 70-86 %
        of the time, against 84-94 % for :math:`R^{-1}`
        (``benchmarks/bench_population.py``).
    inner_tol : float
        Convergence of the conditional modes: the decrease of the inner
        objective their last step predicts. Default 1e-12 (the outer
        differences need modes far more precise than the step).
    is_draws : int
        Importance-sampling draws per subject for ``m2ll``. Default 3000.
    is_df : float
        Degrees of freedom of the Student-t proposal. Default 5.
    """

    max_iter: int = 300
    gtol: float = 1e-2
    fd_step: float = 1e-3
    hessian_step: float = 1e-3
    covariance: bool = True
    standard_errors: str = "r"
    inner_tol: float = 1e-12
    is_draws: int = 3000
    is_df: float = 5.0

    def __post_init__(self) -> None:
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, int) \
                or self.max_iter < 1:
            raise OptionError(f"FoceiSettings.max_iter must be an integer >= 1; got "
                              f"{self.max_iter!r}")
        for name in ("gtol", "inner_tol", "is_df"):
            check_setting(f"FoceiSettings.{name}", getattr(self, name))
        for name in ("fd_step", "hessian_step"):  # steps on the log (logit) scale
            check_fd_step(getattr(self, name), f"FoceiSettings.{name}")
        if self.standard_errors not in ("sandwich", "r", "s"):
            raise OptionError("FoceiSettings.standard_errors must be 'sandwich', 'r' or 's'; got "
                              f"{self.standard_errors!r}")
        if isinstance(self.is_draws, bool) or not isinstance(self.is_draws, int) \
                or self.is_draws < 10:
            raise OptionError(f"FoceiSettings.is_draws must be an integer >= 10; got "
                              f"{self.is_draws!r}")


@dataclass
class FoceiOutput:
    """What FOCEi returns to the fit."""

    state: SaemState
    objective: float
    success: bool
    message: str
    iterations: int
    history: pd.DataFrame
    cov_rho: np.ndarray
    r_matrix: np.ndarray
    s_matrix: np.ndarray
    x_names: list
    condition_number: float
    timing: dict
    covariances: dict


def omega_blocks(mask: np.ndarray) -> list[np.ndarray]:
    """Connected groups of correlated random effects (each sorted)."""
    r = mask.shape[0]
    label = list(range(r))

    def root(a):
        while label[a] != a:
            a = label[a]
        return a

    for a in range(r):
        for b in range(a):
            if mask[a, b] or mask[b, a]:
                label[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for a in range(r):
        groups.setdefault(root(a), []).append(a)
    return [np.array(sorted(g)) for g in groups.values()]


class _Layout:
    """x <-> (coef, Omega, sigma) for the outer problem."""

    def __init__(self, problem: PopulationProblem, start: SaemState) -> None:
        im = problem.individual
        self.problem = problem
        self.base_coef = start.coef.copy()
        self.coef_idx = np.flatnonzero(im.coef_estimated)
        self.blocks = omega_blocks(im.omega_mask)
        self.r = im.n_random
        self.sigma_names = problem.sigma_names
        names = [im.coef_names[j] for j in self.coef_idx]
        iiv = im.iiv_names
        for block in self.blocks:
            for a_pos, a in enumerate(block):
                for b in block[:a_pos + 1]:
                    names.append(f"log_chol_{iiv[a]}" if a == b else f"chol_{iiv[a]}_{iiv[b]}")
        names += [f"log_{n}" for n in self.sigma_names]
        self.names = names

    def to_x(self, coef, omega, sigma) -> np.ndarray:
        parts = [coef[self.coef_idx]]
        for block in self.blocks:
            chol = np.linalg.cholesky(omega[np.ix_(block, block)])
            for a_pos in range(block.size):
                for b_pos in range(a_pos + 1):
                    value = chol[a_pos, b_pos]
                    parts.append([np.log(value) if a_pos == b_pos else value])
        parts.append(np.log([sigma[n] for n in self.sigma_names]))
        return np.concatenate([np.atleast_1d(np.asarray(p, dtype=float)) for p in parts])

    def from_x(self, x: np.ndarray):
        """Batch: x (M, K) -> coef (M, Q), omega (M, R, R), sigma dict of (M,)."""
        m = x.shape[0]
        k = self.coef_idx.size
        coef = np.repeat(self.base_coef[None], m, axis=0)
        coef[:, self.coef_idx] = x[:, :k]
        omega = np.zeros((m, self.r, self.r))
        pos = k
        for block in self.blocks:
            size = block.size
            chol = np.zeros((m, size, size))
            for a_pos in range(size):
                for b_pos in range(a_pos + 1):
                    value = x[:, pos]
                    chol[:, a_pos, b_pos] = np.exp(value) if a_pos == b_pos else value
                    pos += 1
            omega[:, block[:, None], block[None, :]] = chol @ np.swapaxes(chol, 1, 2)
        sigma = {n: np.exp(x[:, pos + j]) for j, n in enumerate(self.sigma_names)}
        return coef, omega, sigma


class _Objective:
    """Batched OFV with warm-started inner problems."""

    def __init__(self, problem: PopulationProblem, layout: _Layout, tol: float) -> None:
        self.problem = problem
        self.layout = layout
        self.tol = tol
        self.eta = np.zeros((problem.n_subjects, problem.individual.n_random))
        self.evaluations = 0

    def __call__(self, x: np.ndarray, *, remember: bool = False):
        """OFV (M,) and its per-subject terms (M, N) for M points x (M, K).

        With `remember`, the first point's inner problems are also solved
        from eta = 0 and the better mode of each subject is kept as the warm
        start of every point: a conditional density can have a second mode
        (e.g. flip-flop of absorption and elimination) that a warm start
        alone would follow.
        """
        problem = self.problem
        im = problem.individual
        coef, omega, sigma = self.layout.from_x(x)
        mu = im.mean_batch(coef)
        full_sigma = problem.all_sigma(sigma)
        if remember and im.n_random:
            both = conditional_modes(
                problem, np.repeat(mu[:1], 2, axis=0), np.repeat(omega[:1], 2, axis=0),
                {k: np.repeat(np.atleast_1d(v)[:1], 2) for k, v in full_sigma.items()},
                np.stack([self.eta, np.zeros_like(self.eta)]), tol=self.tol)
            best = np.argmin(np.where(np.isfinite(both.objective), both.objective, np.inf),
                             axis=0)
            candidate = both.eta[best, np.arange(self.eta.shape[0])]
            if np.all(np.isfinite(both.objective.min(axis=0))):
                self.eta = candidate
        eta0 = np.broadcast_to(self.eta[None], (x.shape[0],) + self.eta.shape)
        modes = conditional_modes(problem, mu, omega, full_sigma, eta0, tol=self.tol)
        per = laplace_terms(modes, omega)
        per = np.where(np.isfinite(per), per, np.inf)
        self.evaluations += x.shape[0]
        if remember and np.isfinite(per[0]).all():
            self.eta = modes.eta[0].copy()
        return per.sum(axis=1), per


def run_focei(problem: PopulationProblem, start: SaemState, settings: FoceiSettings
              ) -> FoceiOutput:
    """Minimise the FOCEi objective from `start`, then run the covariance step."""
    t0 = time.perf_counter()
    layout = _Layout(problem, start)
    ofv = _Objective(problem, layout, settings.inner_tol)
    x0 = layout.to_x(start.coef, start.omega, start.sigma)
    k = x0.size
    h = settings.fd_step
    history = []
    im = problem.individual

    def objective_and_gradient(x):
        """The OFV and its finite-difference gradient (None where the OFV is not finite)."""
        points = np.vstack([x, x + h * np.eye(k), x - h * np.eye(k)])
        total, _ = ofv(points, remember=True)
        f = total[0]
        if not np.isfinite(f):
            return 1e300, None
        return float(f), fd_gradient(f, total[1:k + 1], total[k + 1:], h)

    def fun_and_grad(x):  # for BFGS: a component without a difference is 0
        f, grad = objective_and_gradient(x)
        return f, np.zeros(k) if grad is None else np.where(np.isfinite(grad), grad, 0.0)

    def record(x):
        coef, omega, sigma = layout.from_x(x[None])
        row = _snapshot(im, len(history) + 1, coef[0], omega[0],
                        {n: float(v[0]) for n, v in sigma.items()}, problem.sigma_names)
        row["objective"] = float(ofv(x[None])[0][0])
        history.append(row)

    f0, _ = fun_and_grad(x0)
    if not np.isfinite(f0) or f0 >= 1e300:
        from ...errors import FitError

        raise FitError("the FOCEi objective is not finite at the initial values; check the "
                       "starting values and the data")
    res = optimize.minimize(fun_and_grad, x0, jac=True, method="BFGS", callback=record,
                            options={"maxiter": settings.max_iter, "gtol": settings.gtol})
    x = res.x
    objective, grad = objective_and_gradient(x)
    # BFGS reports "precision loss" when differences of the OFV reach their
    # noise floor; the fit is still at the optimum if the gradient is small
    # (every component of it: one the objective gives no difference for is unknown)
    known = grad is not None and bool(np.isfinite(grad).all())
    success = known and (bool(res.success) or bool(np.max(np.abs(grad)) < 10 * settings.gtol))
    message = str(res.message)
    if grad is None:
        message += "; the objective is not finite at the final point"
    elif not known:
        unknown = [n for n, ok in zip(layout.names, np.isfinite(grad), strict=True) if not ok]
        message += (f"; the objective is not finite on either side of the final point in "
                    f"{unknown}, so its gradient there is unknown")
    coef, omega, sigma = layout.from_x(x[None])
    state = SaemState(coef[0], omega[0], {n: float(v[0]) for n, v in sigma.items()})
    t1 = time.perf_counter()
    r_matrix = s_matrix = np.full((k, k), np.nan)
    rho0 = to_rho(problem, state.coef, state.omega, state.sigma)
    cov_rho = np.full((rho0.size, rho0.size), np.nan)
    condition = float("nan")
    covariances = {}
    if settings.covariance:
        r_matrix, s_matrix = _covariance_matrices(ofv, x, settings.hessian_step)
        jac = _rho_jacobian(problem, layout, x)
        for kind in ("sandwich", "r", "s"):
            try:
                if kind == "s":
                    cov_x = np.linalg.inv(s_matrix)
                else:
                    r_inv = np.linalg.inv(r_matrix)
                    cov_x = r_inv @ s_matrix @ r_inv if kind == "sandwich" else r_inv
                cov_x = 0.5 * (cov_x + cov_x.T)
                cov = jac @ cov_x @ jac.T
                if np.any(np.diag(cov) <= 0) or not np.all(np.isfinite(cov)):
                    cov = np.full_like(cov_rho, np.nan)
                covariances[kind] = cov
                if kind == settings.standard_errors:
                    cov_rho = cov
                    condition = condition_number(cov_x) if np.all(np.isfinite(cov)) \
                        else float("nan")
            except (np.linalg.LinAlgError, FloatingPointError):
                covariances[kind] = np.full_like(cov_rho, np.nan)
    t2 = time.perf_counter()
    frame = pd.DataFrame(history).set_index("iteration") if history else pd.DataFrame()
    return FoceiOutput(state, objective, success, message, int(res.nit),
                       frame, cov_rho, r_matrix, s_matrix, layout.names, condition,
                       {"estimation": t1 - t0, "covariance": t2 - t1}, covariances)


def fd_gradient(f: float, plus: np.ndarray, minus: np.ndarray, h: float) -> np.ndarray:
    """Central differences of the objective; one-sided where one side is not finite
    (a step that leaves where the model can be evaluated), NaN where neither is."""
    with np.errstate(invalid="ignore"):
        central = (plus - minus) / (2 * h)
        forward = (plus - f) / h
        backward = (f - minus) / h
    return np.where(np.isfinite(central), central,
                    np.where(np.isfinite(forward), forward,
                             np.where(np.isfinite(backward), backward, np.nan)))


def _covariance_matrices(ofv: _Objective, x: np.ndarray, h: float):
    """R = Hessian/2 of the OFV and S = sum_i s_i s_i' with s_i = grad OFV_i / 2."""
    k = x.size
    eye = np.eye(k)
    points = [x]
    for i in range(k):
        points += [x + h * eye[i], x - h * eye[i]]
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    for i, j in pairs:
        for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
            points.append(x + h * (si * eye[i] + sj * eye[j]))
    total, per = ofv(np.array(points))
    f0 = total[0]
    hess = np.empty((k, k))
    grad_i = np.empty((per.shape[1], k))
    for i in range(k):
        fp, fm = total[1 + 2 * i], total[2 + 2 * i]
        hess[i, i] = (fp - 2 * f0 + fm) / h**2
        grad_i[:, i] = (per[1 + 2 * i] - per[2 + 2 * i]) / (2 * h)
    base = 1 + 2 * k
    for n, (i, j) in enumerate(pairs):
        pp, pm, mp, mm = total[base + 4 * n: base + 4 * n + 4]
        hess[i, j] = hess[j, i] = (pp - pm - mp + mm) / (4 * h * h)
    r_matrix = 0.5 * hess
    s = 0.5 * grad_i
    s_matrix = s.T @ s
    return r_matrix, s_matrix


def _rho_jacobian(problem: PopulationProblem, layout: _Layout, x: np.ndarray) -> np.ndarray:
    """d rho / d x by central differences (no simulation)."""
    h = 1e-6
    k = x.size
    cols = []
    for i in range(k):
        out = []
        for sign in (1, -1):
            xx = x.copy()
            xx[i] += sign * h
            coef, omega, sigma = layout.from_x(xx[None])
            out.append(to_rho(problem, coef[0], omega[0], {n: v[0] for n, v in sigma.items()}))
        cols.append((out[0] - out[1]) / (2 * h))
    return np.column_stack(cols)
