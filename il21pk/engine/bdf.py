"""A compiled variable-order BDF integrator for the model's stiff ODEs.

The algorithm is the quasi-constant step-size numerical differentiation
formula (NDF) of Shampine & Reichelt (1997), "The MATLAB ODE Suite", SIAM J
Sci Comput 18:1-22 -- the same method as ``scipy.integrate.solve_ivp(method=
"BDF")`` -- compiled with numba so that the step loop, the Newton
iterations, the dense LU and the right-hand side all run without the Python
interpreter. Each member of a batch is integrated with its own step sizes
and error control.

Error control per step: RMS norm of ``error / (atol + rtol * |y|)`` <= 1.
The Jacobian is the model's analytic one (grouped differences once Newton
fails with a fresh analytic one), refreshed only when Newton fails to
converge; the iteration matrix is refactorised when ``h / alpha`` has
drifted by more than 30 %. Its LU is the model's written-out sparse one,
with a pivoted dense LU whenever that fixed pivot order would be unstable.

The engine knows no model. The functions that call model code
(:func:`integrate_member`, :func:`solve_batch`) are plain Python here and are
compiled per model by :func:`specialise`, against the generated module's
``rhs``, ``jacobian``, ``sparse_factor``, ``sparse_solve``, ``NNZ`` and its
Jacobian pattern grouped into columns for differences
(:mod:`il21pk.codegen.kernel`), so the model code is inlined into the
integrator where it is hot (``rhs_inline`` in the Newton loop, as
``newton_rhs``) and called elsewhere, and the machine code is cached beside
the generated module.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
import warnings

import numpy as np
from numba import njit

MAX_ORDER = 5
NEWTON_MAXITER = 4
# Newton stops when its estimated remaining error (scaled norm) is below
# max(10 eps / rtol, min(NEWTON_SHARE / ERROR_CONST[order],
# max(sqrt(rtol), NEWTON_RTOL_FACTOR * rtol))): at most 1 % of the local
# error budget (CVODE allows 10 %: Hindmarsh et al. 2005, ACM TOMS 31:363),
# at rtol 1e-6 30 times scipy's sqrt(rtol), and scipy's own from rtol 1e-9
# down, where the iteration's error would otherwise show in the solution.
# Against sqrt(rtol) alone, model v2 at rtol 1e-6 takes 13 % fewer Newton
# iterations and 46 % fewer Jacobians, with the same error against an
# rtol 1e-11 solution (docs/engine.md).
NEWTON_SHARE = 0.01
NEWTON_RTOL_FACTOR = 3e4
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0

# NDF coefficients as tuples: numba freezes them as constants (arrays would
# stop the compiled functions from being cached on disk).
_kappa = np.array([0.0, -0.1850, -1.0 / 9.0, -0.0823, -0.0415, 0.0])
_gamma = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, MAX_ORDER + 1))])
_GAMMA = tuple(float(x) for x in _gamma)
_ALPHA = tuple(float(x) for x in (1.0 - _kappa) * _gamma)
_ERROR_CONST = tuple(float(x) for x in _kappa * _gamma + 1.0 / np.arange(1, MAX_ORDER + 2))
#: NEWTON_SHARE of the local error budget per order, in the weighted norm of corr
_NEWTON_SHARE_TOL = tuple(NEWTON_SHARE / c for c in _ERROR_CONST)

#: Status codes returned per member (EVENT only between the engine's own functions).
OK, STEP_TOO_SMALL, NOT_FINITE, TOO_MANY_STEPS, EVENT, TOO_MANY_EVENTS = 0, 1, 2, 3, 4, 5
#: TOO_MANY_STEPS where a quarter or more of the steps were refused (at least
#: once) for taking a non-negative state below 0
PUSHED_BELOW_ZERO = 6
_EPS = float(np.finfo(np.float64).eps)
#: An output time within this fraction of an event time (at least absolute) is
#: reported after the event.
_TIME_MATCH = 1e-12
#: Most event executions at one instant, and most event stops of one member.
MAX_CASCADE = 10_000
MAX_EVENT_STOPS = 100_000


@njit(cache=True, error_model="numpy")
def _rms(x, scale):
    total = 0.0
    for i in range(x.shape[0]):
        v = x[i] / scale[i]
        total += v * v
    return np.sqrt(total / x.shape[0])


@njit(cache=True, error_model="numpy")
def _weighted_rms(x, weight):
    """RMS norm of ``x * weight`` (weights are inverse scales: no division)."""
    total = 0.0
    for i in range(x.shape[0]):
        v = x[i] * weight[i]
        total += v * v
    return np.sqrt(total / x.shape[0])


@njit(cache=True, error_model="numpy")
def _lu_factor(a, piv):
    """In-place LU with partial pivoting; returns False if singular."""
    n = a.shape[0]
    for j in range(n):
        p = j
        best = abs(a[j, j])
        for i in range(j + 1, n):
            if abs(a[i, j]) > best:
                best = abs(a[i, j])
                p = i
        piv[j] = p
        if best == 0.0:
            return False
        if p != j:
            for c in range(n):
                tmp = a[j, c]
                a[j, c] = a[p, c]
                a[p, c] = tmp
        inv = 1.0 / a[j, j]
        for i in range(j + 1, n):
            a[i, j] *= inv
            f = a[i, j]
            if f != 0.0:
                for c in range(j + 1, n):
                    a[i, c] -= f * a[j, c]
    return True


@njit(cache=True, error_model="numpy")
def _lu_compress(lu, ptr, idx, val, inv_diag):
    """Store the non-zeros of L (row-wise, below the diagonal) then U (above it).

    The model's Jacobian is sparse, and so are its factors; solving with the
    compressed rows costs a fraction of a dense triangular solve.
    Row i of L is ``ptr[i]:ptr[i+1]``, row i of U ``ptr[n+i]:ptr[n+i+1]``.
    """
    n = lu.shape[0]
    pos = 0
    for i in range(n):
        ptr[i] = pos
        for c in range(i):
            if lu[i, c] != 0.0:
                idx[pos] = c
                val[pos] = lu[i, c]
                pos += 1
    for i in range(n):
        ptr[n + i] = pos
        for c in range(i + 1, n):
            if lu[i, c] != 0.0:
                idx[pos] = c
                val[pos] = lu[i, c]
                pos += 1
    ptr[2 * n] = pos
    for i in range(n):
        inv_diag[i] = 1.0 / lu[i, i]


@njit(cache=True, error_model="numpy")
def _lu_solve(inv_diag, piv, ptr, idx, val, b):
    """Solve (LU) x = P b in place with the compressed factors."""
    n = inv_diag.shape[0]
    for j in range(n):
        p = piv[j]
        if p != j:
            tmp = b[j]
            b[j] = b[p]
            b[p] = tmp
    for i in range(n):
        s = b[i]
        for q in range(ptr[i], ptr[i + 1]):
            s -= val[q] * b[idx[q]]
        b[i] = s
    for i in range(n - 1, -1, -1):
        s = b[i]
        for q in range(ptr[n + i], ptr[n + i + 1]):
            s -= val[q] * b[idx[q]]
        b[i] = s * inv_diag[i]


@njit(cache=True, error_model="numpy")
def _compute_r(order, factor, m):
    """The (order+1) x (order+1) matrix R of Shampine & Reichelt, written into `m`."""
    for j in range(order + 1):
        m[0, j] = 1.0
    for i in range(1, order + 1):
        m[i, 0] = 0.0
        for j in range(1, order + 1):
            m[i, j] = m[i - 1, j] * (i - 1 - factor * j) / i


@njit(cache=True, error_model="numpy")
def _change_d(d, order, factor, u, r, m):
    """Rescale the difference array in place for a step-size change by `factor`.

    ``D_new[j] = sum_i (R U)[i, j] D[i]`` (Shampine & Reichelt 1997), with
    U = R(1) (upper triangular). R's entries do not depend on the order, so
    `u` is R(1) of MAX_ORDER, computed once. Row 0 is unchanged, since
    ``R[i, 0] = U[i, 0] = 0`` for i > 0. `r` and `m` are (MAX_ORDER+1) x
    (MAX_ORDER+1) scratch.

    ``m`` is R U padded to MAX_ORDER with the identity, so one fixed,
    loop-free update per state serves every order (rows above `order` are
    rewritten with their own values); short loops over the 19 states per
    (i, j) pair cost several times more in loop set-up than in arithmetic.
    """
    _compute_r(order, factor, r)
    for i in range(MAX_ORDER + 1):
        for j in range(1, MAX_ORDER + 1):
            if i <= order and j <= order:
                s = 0.0
                for q in range(j + 1):  # U is upper triangular
                    s += r[i, q] * u[q, j]
                m[i, j] = s
            else:
                m[i, j] = 1.0 if i == j else 0.0
    # in locals: stores into d could alias m, forcing a reload of m per state
    m01, m11, m21, m31, m41, m51 = m[0, 1], m[1, 1], m[2, 1], m[3, 1], m[4, 1], m[5, 1]
    m02, m12, m22, m32, m42, m52 = m[0, 2], m[1, 2], m[2, 2], m[3, 2], m[4, 2], m[5, 2]
    m03, m13, m23, m33, m43, m53 = m[0, 3], m[1, 3], m[2, 3], m[3, 3], m[4, 3], m[5, 3]
    m04, m14, m24, m34, m44, m54 = m[0, 4], m[1, 4], m[2, 4], m[3, 4], m[4, 4], m[5, 4]
    m05, m15, m25, m35, m45, m55 = m[0, 5], m[1, 5], m[2, 5], m[3, 5], m[4, 5], m[5, 5]
    for c in range(d.shape[1]):
        x0, x1, x2, x3, x4, x5 = d[0, c], d[1, c], d[2, c], d[3, c], d[4, c], d[5, c]
        d[1, c] = m01 * x0 + m11 * x1 + m21 * x2 + m31 * x3 + m41 * x4 + m51 * x5
        d[2, c] = m02 * x0 + m12 * x1 + m22 * x2 + m32 * x3 + m42 * x4 + m52 * x5
        d[3, c] = m03 * x0 + m13 * x1 + m23 * x2 + m33 * x3 + m43 * x4 + m53 * x5
        d[4, c] = m04 * x0 + m14 * x1 + m24 * x2 + m34 * x3 + m44 * x4 + m54 * x5
        d[5, c] = m05 * x0 + m15 * x1 + m25 * x2 + m35 * x3 + m45 * x4 + m55 * x5


@njit(cache=True, error_model="numpy")
def _all_finite(x):
    for i in range(x.shape[0]):
        if not np.isfinite(x[i]):
            return False
    return True


def evaluate_jacobian(t, y, k, u, jac, f_work, y_work, rtol, atol, differences):
    """The Jacobian d(dy/dt)/dy at (t, y) into `jac` (structural non-zeros only).

    Analytic (the model's generated ``jacobian``) unless `differences` is
    True or an analytic entry is not finite; then grouped forward differences:
    columns whose row patterns do not overlap are perturbed together, one
    right-hand side call per group (Curtis, Powell & Reid 1974). Differences
    are secants, which keep Newton converging where a rate is not Lipschitz
    (``s**h`` near s = 0 with h < 1), so the integrator switches to them when
    Newton fails with a fresh analytic Jacobian.
    """
    if not differences:
        jacobian(t, y, k, u, jac)
        finite = True
        for e in range(len(JAC_ROWS)):
            if not np.isfinite(jac[JAC_ROWS[e], JAC_COLS[e]]):
                finite = False
                break
        if finite:
            return
    n = y.shape[0]
    f0 = np.empty(n)
    rhs(t, y, f0, k, u)
    steps = np.empty(n)
    for j in range(n):
        y_work[j] = y[j]
        step = 1.4901161193847656e-08 * max(abs(y[j]), atol / rtol)
        steps[j] = (y[j] + step) - y[j]  # the step as represented
    for g in range(len(GROUP_START) - 1):
        for c in range(GROUP_START[g], GROUP_START[g + 1]):
            j = GROUP_COLUMNS[c]
            y_work[j] = y[j] + steps[j]
        rhs(t, y_work, f_work, k, u)
        for e in range(ENTRY_START[g], ENTRY_START[g + 1]):
            i = JAC_ROWS[e]
            j = JAC_COLS[e]
            jac[i, j] = (f_work[i] - f0[i]) / steps[j]
        for c in range(GROUP_START[g], GROUP_START[g + 1]):
            j = GROUP_COLUMNS[c]
            y_work[j] = y[j]


def integrate_member(t0, t1, y, k, u, t_out, out, rtol, atol, max_step, max_steps, counts,
                     truth, found, nonnegative):
    """Integrate one member from `t0` to `t1`, overwriting `y` with y(t1).

    The model's ``rhs(t, y, dy, k, u)`` writes dy/dt (`u`: the infusion rates,
    constant between events). The step loop runs in time since `t0`; the
    model is called with absolute time. Values at the
    times in `t_out` (all within ``(t0, t1]``) are written to the rows of `out`.
    At most `max_steps` steps are taken. `counts` accumulates [steps,
    right-hand side calls, Jacobians, LU factorisations, error-test failures,
    Newton failures]. Returns (status, time reached).

    A state marked in `nonnegative` (kinetics: an amount, a concentration, a
    count) that ends a step below 0 by less than its error tolerance is set
    to 0 and its higher differences to 0 before the next step; by more, the
    step fails as if its error were that large (Shampine, Thompson, Kierzenka
    & Byrne 2005, Appl. Math. Comput. 170:556, as MATLAB's ``NonNegative``
    in ode15s). A solution of kinetics thus stays where its exact one does,
    instead of wandering below 0 where the kinetics can be unstable. Values
    interpolated inside a step can still undershoot 0 slightly. A state whose
    rate is below 0 when it is 0 (a zero-order loss) keeps failing that test,
    and the steps shrink to its tolerance over its rate: when the member
    runs out of steps with a quarter or more of its steps refused so at
    least once, the status is :data:`PUSHED_BELOW_ZERO`.

    A model with events (``N_ATOMS > 0``): `truth` holds the truth of each
    relational of the triggers. After every accepted step the relationals are
    evaluated; at the first one that changes (beyond a band of ten times the
    error tolerance for those that read states, so that solver noise of a
    state resting on a threshold is no crossing, or when it reaches its
    threshold exactly) the crossing (of the relational itself when it lies in
    the same step, or where it crossed in an earlier step of this call if it
    moved on past its threshold at every step since (:func:`_note_crossing`),
    else of the band's edge) is located on the step's interpolant by the
    Illinois method to the time resolution, the first point where it holds (an
    equality left from its value: by bisection),
    outputs before it are written, `y` is set to the state there and
    ``found = [time, relational, outputs written]``; the status is
    :data:`EVENT`. Without events none of this is compiled.
    """
    n = y.shape[0]
    newton_floor = 10.0 * _EPS / rtol  # convergence below rounding is not asked for
    newton_cap = max(rtol**0.5, NEWTON_RTOL_FACTOR * rtol)
    f0 = np.empty(n)
    rhs(t0, y, f0, k, u)
    if not _all_finite(f0):
        return NOT_FINITE, t0
    if N_ATOMS > 0:
        ev_lhs = np.empty(N_ATOMS)
        ev_rhs = np.empty(N_ATOMS)
        ev_shift = np.empty(N_ATOMS)
        ev_old = np.empty(N_ATOMS)
        ev_new = np.empty(N_ATOMS)
        ev_y = np.empty(n)
        # a banded relational that crossed in an earlier step, its band not yet passed:
        # where (time since `offset`, NaN if none), the state there, outputs before it
        pending_t = np.full(N_ATOMS, np.nan)
        pending_y = np.empty((N_ATOMS, n))
        pending_out = np.zeros(N_ATOMS, dtype=np.int64)
        event_atoms(t0, y, k, u, ev_lhs, ev_rhs)
        for i in range(N_ATOMS):
            band = 0.0
            if ATOM_READS_STATE[i] != 0 and ATOM_OP[i] <= 1:
                band = 10.0 * (rtol * (abs(ev_lhs[i]) + abs(ev_rhs[i])) + atol)
            ev_shift[i] = -band if truth[i] else band
            ev_old[i] = ev_lhs[i] - ev_rhs[i] - ev_shift[i]
    # integrate in time since t0: near a restart late in a long simulation the
    # spacing of floats at t0 would otherwise bound the smallest step
    offset = t0
    t0 = 0.0
    t1 = t1 - offset
    span = t1
    # initial step (Hairer, Norsett & Wanner 1993, section II.4)
    # (loops rather than array expressions: the same numbers, less to compile)
    scale = np.empty(n)
    for i in range(n):
        scale[i] = atol + rtol * abs(y[i])
    d0 = _rms(y, scale)
    d1 = _rms(f0, scale)
    h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    h0 = min(h0, span)
    y1 = np.empty(n)
    for i in range(n):
        y1[i] = y[i] + h0 * f0[i]
    f1 = np.empty(n)
    rhs(offset + h0, y1, f1, k, u)
    for i in range(n):
        y1[i] = f1[i] - f0[i]
    d2 = _rms(y1, scale) / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** 0.5
    h_abs = min(100.0 * h0, h1, span)
    if max_step > 0.0:
        h_abs = min(h_abs, max_step)

    jac = np.zeros((n, n))  # the sparse Jacobian writes its pattern only
    lu = np.empty((n, n))
    piv = np.empty(n, dtype=np.int64)
    ptr = np.empty(2 * n + 1, dtype=np.int64)
    idx = np.empty(n * n, dtype=np.int64)
    val = np.empty(n * n)
    inv_diag = np.empty(n)
    lu_sparse = np.empty(NNZ)
    fixed_order = False
    inv_scale = np.empty(n)
    fy = np.empty(n)
    dyv = np.empty(n)
    differences = ANALYTIC_JACOBIAN == 0  # (a model may come without one)
    evaluate_jacobian(offset, y, k, u, jac, f1, y1, rtol, atol, differences)
    lu_ok = False
    c_lu = 0.0
    d = np.zeros((MAX_ORDER + 3, n))
    u_work = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    # np.int64: a literal argument would have numba compile the callee for it too
    _compute_r(np.int64(MAX_ORDER), 1.0, u_work)
    r_work = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    ru_work = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    for i in range(n):
        d[0, i] = y[i]
        d[1, i] = f0[i] * h_abs
    order = np.int64(1)  # not a literal (see above)
    n_equal = 0
    t = t0
    next_out = 0
    n_out = t_out.shape[0]
    y_new = np.empty(n)
    y_pred = np.empty(n)
    psi = np.empty(n)
    corr = np.empty(n)
    n_steps = 0
    below_zero = 0  # steps refused at least once by the non-negativity test
    projected = np.zeros(n, dtype=np.bool_)
    any_projected = False
    while t < t1:
        if n_steps >= max_steps:
            return (PUSHED_BELOW_ZERO if 4 * below_zero >= n_steps else TOO_MANY_STEPS), \
                t + offset
        n_steps += 1
        if any_projected:
            # a state projected to 0 moves along 0: its higher differences
            # (the slope that took it below) go, once the last step's order
            # choice, events and outputs have used them (as ode15s does)
            for i in range(n):
                if projected[i]:
                    for j in range(1, MAX_ORDER + 3):
                        d[j, i] = 0.0
                    projected[i] = False
            any_projected = False
        min_step = 10.0 * (np.nextafter(t, np.inf) - t)
        if max_step > 0.0 and h_abs > max_step:
            _change_d(d, order, max_step / h_abs, u_work, r_work, ru_work)
            h_abs = max_step
            n_equal = 0
        elif h_abs < min_step:
            _change_d(d, order, min_step / h_abs, u_work, r_work, ru_work)
            h_abs = min_step
            n_equal = 0
        current_jac = False
        accepted = False
        refused_below_zero = False
        safety = 0.0
        error_norm = 0.0
        while not accepted:
            if h_abs < min_step:
                return STEP_TOO_SMALL, t + offset
            t_new = t + h_abs
            if t_new >= t1:
                t_new = t1
                _change_d(d, order, (t_new - t) / h_abs, u_work, r_work, ru_work)
                n_equal = 0
            h = t_new - t
            h_abs = h
            # predictor and psi in one pass over the states: weights of the
            # rows above the order are 0 (MAX_ORDER = 5), the sums are in row order
            inv_alpha = 1.0 / _ALPHA[order]
            w1 = 1.0
            w2 = 1.0 if order >= 2 else 0.0
            w3 = 1.0 if order >= 3 else 0.0
            w4 = 1.0 if order >= 4 else 0.0
            w5 = 1.0 if order >= 5 else 0.0
            g1, g2, g3 = w1 * _GAMMA[1] * inv_alpha, w2 * _GAMMA[2] * inv_alpha, \
                w3 * _GAMMA[3] * inv_alpha
            g4, g5 = w4 * _GAMMA[4] * inv_alpha, w5 * _GAMMA[5] * inv_alpha
            for i in range(n):
                x1, x2, x3, x4, x5 = d[1, i], d[2, i], d[3, i], d[4, i], d[5, i]
                pred = d[0, i] + w1 * x1 + w2 * x2 + w3 * x3 + w4 * x4 + w5 * x5
                y_pred[i] = pred
                psi[i] = 0.0 + g1 * x1 + g2 * x2 + g3 * x3 + g4 * x4 + g5 * x5
                inv_scale[i] = 1.0 / (atol + rtol * abs(pred))
            c = h / _ALPHA[order]
            converged = False
            n_iter = 0
            while not converged:
                # refactorise only when c has drifted by > 30 % (as CVODE does);
                # a slightly stale iteration matrix still gives Newton convergence
                if not lu_ok or abs(c - c_lu) > 0.3 * c_lu:
                    c_lu = c
                    counts[3] += 1
                    # the written-out sparse LU, unless its fixed pivots are unstable here
                    fixed_order = sparse_factor(jac, c, lu_sparse)
                    if not fixed_order:
                        for i in range(n):
                            for j in range(n):
                                lu[i, j] = -c * jac[i, j]
                            lu[i, i] += 1.0
                        lu_ok = _lu_factor(lu, piv)
                        if not lu_ok:
                            break
                        _lu_compress(lu, ptr, idx, val, inv_diag)
                    lu_ok = True
                # simplified Newton iteration on the NDF system
                for i in range(n):
                    y_new[i] = y_pred[i]
                    corr[i] = 0.0
                dy_norm_old = -1.0
                converged = False
                newton_tol = max(newton_floor, min(_NEWTON_SHARE_TOL[order], newton_cap))
                for it in range(NEWTON_MAXITER):
                    n_iter = it + 1
                    newton_rhs(offset + t_new, y_new, fy, k, u)
                    counts[1] += 1
                    for i in range(n):
                        dyv[i] = c * fy[i] - psi[i] - corr[i]
                    if fixed_order:
                        sparse_solve(lu_sparse, dyv)
                    else:
                        _lu_solve(inv_diag, piv, ptr, idx, val, dyv)
                    dy_norm = _weighted_rms(dyv, inv_scale)
                    if not np.isfinite(dy_norm):  # NaN or inf from the RHS propagates here
                        break
                    rate = -1.0
                    if dy_norm_old > 0.0:
                        rate = dy_norm / dy_norm_old
                    if rate >= 0.0 and (rate >= 1.0 or rate ** (NEWTON_MAXITER - it)
                                        / (1.0 - rate) * dy_norm > newton_tol):
                        break
                    for i in range(n):
                        y_new[i] += dyv[i]
                        corr[i] += dyv[i]
                    if dy_norm == 0.0 or (rate >= 0.0 and rate / (1.0 - rate) * dy_norm
                                          < newton_tol):
                        converged = True
                        break
                    dy_norm_old = dy_norm
                if not converged:
                    if current_jac and differences:
                        break
                    if current_jac:  # a fresh analytic Jacobian failed: use secants from now
                        differences = True
                    evaluate_jacobian(offset + t_new, y_pred, k, u, jac, f1, y1, rtol, atol,
                                      differences)
                    counts[2] += 1
                    lu_ok = False
                    current_jac = True
            if not converged:
                counts[5] += 1
                h_abs *= 0.5
                _change_d(d, order, 0.5, u_work, r_work, ru_work)
                n_equal = 0
                continue
            safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
            for i in range(n):
                inv_scale[i] = 1.0 / (atol + rtol * abs(y_new[i]))
            error_norm = 0.0
            ec = _ERROR_CONST[order]
            for i in range(n):
                v = ec * corr[i] * inv_scale[i]
                error_norm += v * v
            error_norm = np.sqrt(error_norm / n)
            # a non-negative state below 0 by more than its tolerance fails the
            # step as an error that large would
            failure = error_norm
            for i in range(n):
                if nonnegative[i] and y_new[i] < 0.0:
                    failure = max(failure, -y_new[i] * inv_scale[i])
            if failure > 1.0:
                counts[4] += 1
                if failure > error_norm:
                    refused_below_zero = True
                factor = max(MIN_FACTOR, safety * failure ** (-1.0 / (order + 1)))
                h_abs *= factor
                _change_d(d, order, factor, u_work, r_work, ru_work)
                n_equal = 0
            else:
                accepted = True
        n_equal += 1
        counts[0] += 1
        if refused_below_zero:
            below_zero += 1
        t_old = t
        t = t_new
        _add_correction(d, order, corr)
        for i in range(n):  # within its tolerance below 0: projected to 0
            if nonnegative[i] and d[0, i] < 0.0:
                d[0, i] = 0.0
                projected[i] = True
                any_projected = True
        if N_ATOMS > 0:
            # did a relational of the triggers change in (t_old, t]?
            event_atoms(offset + t, d[0], k, u, ev_lhs, ev_rhs)
            first = -1
            t_first = t
            for i in range(N_ATOMS):
                ev_new[i] = ev_lhs[i] - ev_rhs[i] - ev_shift[i]
                direction = _crossing(ATOM_OP[i], truth[i], ev_old[i], ev_new[i])
                if direction == 0 and ev_shift[i] != 0.0 and ev_lhs[i] - ev_rhs[i] == 0.0 \
                        and _exact_truth(ATOM_OP[i], 0.0) != truth[i]:
                    # at its threshold exactly (a clamp: min(x, 2) >= 2), which solver
                    # noise does not reach: a crossing, though the band is not passed
                    direction = -1 if truth[i] else 1
                if direction != 0:
                    # passing the band detects the crossing; the event is where the
                    # relational itself crosses, if that is in this step too
                    g_old = ev_old[i] + ev_shift[i]
                    g_new = ev_new[i] + ev_shift[i]
                    if ev_shift[i] != 0.0 and \
                            _crossing(ATOM_OP[i], truth[i], g_old, g_new) == direction:
                        root = _locate(i, direction, t_old, t, g_old, g_new, 0.0, d, order, h,
                                       offset, k, u, ev_y, ev_lhs, ev_rhs)
                    elif pending_t[i] == pending_t[i]:
                        # the relational crossed in an earlier step: the event is there
                        root = pending_t[i]
                    else:
                        root = _locate(i, direction, t_old, t, ev_old[i], ev_new[i],
                                       ev_shift[i], d, order, h, offset, k, u, ev_y, ev_lhs,
                                       ev_rhs)
                    if first < 0 or root < t_first:
                        first = i
                        t_first = root
                elif ev_shift[i] != 0.0:
                    _note_crossing(i, truth[i], ev_old[i] + ev_shift[i],
                                   ev_new[i] + ev_shift[i], t_old, t, d, order, h, offset, k,
                                   u, ev_y, ev_lhs, ev_rhs, t_out, next_out, pending_t,
                                   pending_y, pending_out)
            if first >= 0:
                when = offset + t_first
                if t_first < t_old:  # a pending crossing: later outputs are written again
                    for i in range(n):
                        y[i] = pending_y[first, i]
                    next_out = pending_out[first]
                else:
                    match = _TIME_MATCH * max(1.0, abs(when))
                    while next_out < n_out and t_out[next_out] <= when - match:
                        _dense(d, order, t, h, t_out[next_out] - offset, out[next_out])
                        next_out += 1
                    _dense(d, order, t, h, t_first, y)
                found[0] = when
                found[1] = first
                found[2] = next_out
                return EVENT, when
            for i in range(N_ATOMS):
                ev_old[i] = ev_new[i]
        # dense output for requested times in (t_old, t]
        while next_out < n_out and t_out[next_out] - offset <= t:
            _dense(d, order, t, h, t_out[next_out] - offset, out[next_out])
            next_out += 1
        if n_equal < order + 1:
            continue
        em = np.inf
        ep = np.inf
        if order > 1:
            em = 0.0
            ec = _ERROR_CONST[order - 1]
            for i in range(n):
                v = ec * d[order, i] * inv_scale[i]
                em += v * v
            em = np.sqrt(em / n)
        if order < MAX_ORDER:
            ep = 0.0
            ec = _ERROR_CONST[order + 1]
            for i in range(n):
                v = ec * d[order + 2, i] * inv_scale[i]
                ep += v * v
            ep = np.sqrt(ep / n)
        best = -1.0
        delta = 0
        for j in range(3):
            e = em if j == 0 else (error_norm if j == 1 else ep)
            if e == np.inf:
                fac = 0.0
            elif e == 0.0:
                fac = np.inf
            else:
                fac = e ** (-1.0 / (order + j))
            if fac > best:
                best = fac
                delta = j - 1
        order += delta
        factor = min(MAX_FACTOR, safety * best)
        h_abs *= factor
        _change_d(d, order, factor, u_work, r_work, ru_work)
        n_equal = 0
    for i in range(n):
        y[i] = d[0, i]
    return OK, t1 + offset


@njit(cache=True, error_model="numpy")
def _add_correction(d, order, corr):
    """Update the differences after an accepted step: ``D[order+2] = corr -
    D[order+1]``, ``D[order+1] = corr``, then ``D[j] += D[j+1]`` for j = order
    down to 0.

    Written out per order (MAX_ORDER = 5), one pass over the states with fixed
    rows: a short loop over the states per row costs more in loop set-up than
    in additions, and a loop over rows per state in 2-D indexing.
    """
    if order == 1:
        for i in range(d.shape[1]):
            c = corr[i]
            d[3, i] = c - d[2, i]
            d[2, i] = c
            d[1, i] += c
            d[0, i] += d[1, i]
    elif order == 2:
        for i in range(d.shape[1]):
            c = corr[i]
            d[4, i] = c - d[3, i]
            d[3, i] = c
            d[2, i] += c
            d[1, i] += d[2, i]
            d[0, i] += d[1, i]
    elif order == 3:
        for i in range(d.shape[1]):
            c = corr[i]
            d[5, i] = c - d[4, i]
            d[4, i] = c
            d[3, i] += c
            d[2, i] += d[3, i]
            d[1, i] += d[2, i]
            d[0, i] += d[1, i]
    elif order == 4:
        for i in range(d.shape[1]):
            c = corr[i]
            d[6, i] = c - d[5, i]
            d[5, i] = c
            d[4, i] += c
            d[3, i] += d[4, i]
            d[2, i] += d[3, i]
            d[1, i] += d[2, i]
            d[0, i] += d[1, i]
    else:
        for i in range(d.shape[1]):
            c = corr[i]
            d[7, i] = c - d[6, i]
            d[6, i] = c
            d[5, i] += c
            d[4, i] += d[5, i]
            d[3, i] += d[4, i]
            d[2, i] += d[3, i]
            d[1, i] += d[2, i]
            d[0, i] += d[1, i]


@njit(cache=True, error_model="numpy")
def _dense(d, order, t, h, when, target):
    """Evaluate the NDF interpolating polynomial at `when` into `target`."""
    n = d.shape[1]
    for i in range(n):
        target[i] = d[0, i]
    p = 1.0
    for j in range(order):
        p *= (when - (t - h * j)) / (h * (1 + j))
        for i in range(n):
            target[i] += d[j + 1, i] * p


@njit(cache=True, error_model="numpy")
def _exact_truth(op, g):
    """Truth of a trigger relational from ``g = lhs - rhs`` (op: 0 >, 1 >=, 2 ==, 3 !=)."""
    if op == 0:
        return g > 0.0
    if op == 1:
        return g >= 0.0
    if op == 2:
        return g == 0.0
    return g != 0.0


@njit(cache=True, error_model="numpy")
def _crossing(op, truth, old, new):
    """Whether a relational changed over a step, from its shifted values at the ends.

    Returns 1 (rose through 0: a false inequality turns true), -1 (fell: a true
    one turns false), 2 (an equality's sign changed) or 0. Both ends at 0 is
    no crossing.
    """
    if op >= 2:
        if (old < 0.0 and new >= 0.0) or (old > 0.0 and new <= 0.0):
            return 2
        if old == 0.0 and new != 0.0 and truth == (op == 2):  # leaves the value it was at
            return 2
        return 0
    if old == 0.0 and new == 0.0:
        return 0
    if not truth:
        return 1 if (old <= 0.0 and new >= 0.0) else 0
    return -1 if (old >= 0.0 and new <= 0.0) else 0


@njit(cache=True, error_model="numpy")
def _triggers(truth, out, code, start):
    """Each trigger's truth from the relationals' `truth`: trigger e is the
    postfix program ``code[start[e]:start[e + 1]]`` (see
    :func:`il21pk.codegen.kernel.trigger_program`: 0 false, 1 true, 2 i the
    truth of relational i, 3 not, 4 n and, 5 n or, 6 n xor)."""
    stack = np.empty(len(code) + 1, dtype=np.bool_)
    for e in range(len(start) - 1):
        top = 0
        pc = start[e]
        while pc < start[e + 1]:
            op = code[pc]
            pc += 1
            if op <= 1:
                stack[top] = op == 1
                top += 1
            elif op == 2:
                stack[top] = truth[code[pc]]
                pc += 1
                top += 1
            elif op == 3:
                stack[top - 1] = not stack[top - 1]
            else:
                n = code[pc]
                pc += 1
                value = stack[top - n]
                for j in range(top - n + 1, top):
                    if op == 4:
                        value = value and stack[j]
                    elif op == 5:
                        value = value or stack[j]
                    else:
                        value = value != stack[j]
                top -= n
                stack[top] = value
                top += 1
        out[e] = stack[0]


@njit(cache=True, error_model="numpy")
def _crossed(direction, f, start):
    """Whether a value `f` lies on the far side of a crossing that started at `start`."""
    if direction == 1:
        return f >= 0.0
    if direction == -1:
        return f <= 0.0
    return f == 0.0 or (f > 0.0) != (start > 0.0)


def _note_crossing(i, truth, g_old, g_new, t_old, t, d, order, h, offset, k, u, y_work, left,
                   right, t_out, next_out, pending_t, pending_y, pending_out):
    """Keep or forget where banded relational `i` itself crossed in the step
    ``(t_old, t]`` (its values `g_old`, `g_new` at the ends) while its band was not
    passed: the event is there if the band is passed while the relational moves on,
    step after step, away from its threshold (a slow crossing). A step that does not
    move it further forgets the crossing: solver noise of a state resting at the
    threshold goes back and forth."""
    direction = _crossing(ATOM_OP[i], truth, g_old, g_new)
    if direction != 0:
        root = _locate(i, direction, t_old, t, g_old, g_new, 0.0, d, order, h, offset, k, u,
                       y_work, left, right)
        pending_t[i] = root
        _dense(d, order, t, h, root, pending_y[i])
        when = offset + root
        match = _TIME_MATCH * max(1.0, abs(when))
        j = next_out
        while j < t_out.shape[0] and t_out[j] <= when - match:
            j += 1
        pending_out[i] = j
    elif pending_t[i] == pending_t[i] and ((g_new >= g_old) if truth else (g_new <= g_old)):
        pending_t[i] = np.nan


def _locate(i, direction, a, b, fa, fb, shift, d, order, h, offset, k, u, y_work, left, right):
    """The first time in ``[a, b]`` (time since `offset`) where relational `i`
    crosses, by the Illinois method on the step's interpolant (`d`, `order`, a
    step of `h` ending at `b`), to the resolution of time. Returns a time on
    the far side of the crossing (`a` when the relational starts there; for an
    equality that holds at `a`, the first time it no longer does, by bisection)."""
    t_end = b
    tol = 4.0 * _EPS * max(1.0, abs(offset) + abs(b))
    if direction == 2 and fa == 0.0:  # an equality left: the first time it differs
        while b - a > tol:
            c = 0.5 * (a + b)
            _dense(d, order, t_end, h, c, y_work)
            event_atoms(offset + c, y_work, k, u, left, right)
            fc = left[i] - right[i] - shift
            if fc != 0.0 and fc == fc:
                b = c
            else:
                a = c
        return b
    start = fa
    if _crossed(direction, fa, start):
        return a
    side = 0
    for _ in range(200):
        if b - a <= tol:
            break
        c = (a * fb - b * fa) / (fb - fa)
        if not (a < c < b):
            c = 0.5 * (a + b)
        _dense(d, order, t_end, h, c, y_work)
        event_atoms(offset + c, y_work, k, u, left, right)
        fc = left[i] - right[i] - shift
        if fc != fc:  # NaN: halve the bracket towards the start
            b = c
            fb = fb * 0.5
            side = 0
            continue
        if _crossed(direction, fc, start):  # (at 0 too: on towards the first 0)
            b = c
            fb = fc
            if side == -1:
                fa *= 0.5
            side = -1
        else:
            a = c
            fa = fc
            if side == 1:
                fb *= 0.5
            side = 1
    return b


def _add_triggered(t, y, k, u, trig, previous, p_event, p_values, count, vals):
    """Queue every event whose trigger turned false -> true (each triggering is its
    own execution, with its values when they are taken at trigger time). Returns
    the new number queued, or -1 when the queue is full."""
    for e in range(N_EVENTS):
        if trig[e] and not previous[e]:
            if count >= p_event.shape[0]:
                return -1
            p_event[count] = e
            if EVENT_TRIGGER_TIME_VALUES[e] != 0:
                event_values(e, t, y, k, u, vals)
                for a in range(EVENT_MAX_ASSIGN):
                    p_values[count, a] = vals[a]
            count += 1
        previous[e] = trig[e]
    return count


def _execute_events(t, y, k, u, keep, keep_g, truth, previous, trig, left, right, p_event,
                    p_values, vals, rng):
    """Execute, at time `t`, every event whose trigger turned true (SBML semantics).

    One at a time: the highest priority first (an event without one last;
    equal priorities in a seeded random order), each assignment's values
    computed before any is applied (at trigger time if the event says so).
    After each execution the relationals are re-evaluated (relational `keep`
    keeps its truth while its value is still `keep_g`: it has just been
    crossed), a non-persistent event whose trigger turned false is dropped and
    newly triggered events join. Returns False if events fire without end.
    """
    _triggers(truth, trig, TRIGGER_CODE, TRIGGER_START)
    count = _add_triggered(t, y, k, u, trig, previous, p_event, p_values, 0, vals)
    executed = 0
    while count != 0:
        executed += 1
        if count < 0 or executed > MAX_CASCADE:
            return False
        chosen = -1
        best = 0.0
        ties = 0
        for q in range(count):
            event_values(p_event[q], t, y, k, u, vals)
            priority = vals[EVENT_MAX_ASSIGN]
            if priority != priority:
                priority = -np.inf
            if chosen < 0 or priority > best:
                chosen = q
                best = priority
                ties = 1
            elif priority == best:
                ties += 1
        if ties > 1:  # a seeded random choice among the tied (linear congruential)
            rng[0] = rng[0] * 6364136223846793005 + 1442695040888963407
            pick = ((rng[0] >> 33) & 0x7FFFFFFF) % ties
            for q in range(count):
                event_values(p_event[q], t, y, k, u, vals)
                priority = vals[EVENT_MAX_ASSIGN]
                if priority != priority:
                    priority = -np.inf
                if priority == best:
                    if pick == 0:
                        chosen = q
                        break
                    pick -= 1
        e = p_event[chosen]
        if EVENT_TRIGGER_TIME_VALUES[e] != 0:
            for a in range(EVENT_MAX_ASSIGN):
                vals[a] = p_values[chosen, a]
        else:
            event_values(e, t, y, k, u, vals)
        for q in range(chosen, count - 1):
            p_event[q] = p_event[q + 1]
            for a in range(EVENT_MAX_ASSIGN):
                p_values[q, a] = p_values[q + 1, a]
        count -= 1
        first = EVENT_TARGET_START[e]
        for a in range(first, EVENT_TARGET_START[e + 1]):
            y[EVENT_TARGETS[a]] = vals[a - first]
        event_atoms(t, y, k, u, left, right)
        for i in range(N_ATOMS):
            g = left[i] - right[i]
            if i == keep and g == keep_g:
                continue
            truth[i] = _exact_truth(ATOM_OP[i], g)
        _triggers(truth, trig, TRIGGER_CODE, TRIGGER_START)
        kept = 0
        for q in range(count):
            e2 = p_event[q]
            if trig[e2] or EVENT_PERSISTENT[e2] != 0:
                p_event[kept] = e2
                for a in range(EVENT_MAX_ASSIGN):
                    p_values[kept, a] = p_values[q, a]
                kept += 1
        count = _add_triggered(t, y, k, u, trig, previous, p_event, p_values, kept, vals)
    return True


def _after_crossing(t, y, k, u, crossed, truth, previous, trig, left, right, p_event, p_values,
                    vals, rng):
    """Relational `crossed` (-1: none, at the start) has just crossed at `t`:
    flip its truth, re-evaluate the equalities, execute what fires. An equality
    holds at the instant; then it takes its truth just after `t`
    (:func:`_truth_after`: back for a value passed through, kept for one that
    holds over an interval, as ``floor(t) == 3``), firing what that triggers.
    Returns False if events fire without end."""
    event_atoms(t, y, k, u, left, right)
    keep_g = 0.0
    for i in range(N_ATOMS):
        g = left[i] - right[i]
        if i == crossed:
            keep_g = g
            if ATOM_OP[i] >= 2:
                truth[i] = ATOM_OP[i] == 2
            else:
                truth[i] = not truth[i]
        elif ATOM_OP[i] >= 2:
            truth[i] = _exact_truth(ATOM_OP[i], g)
    ok = _execute_events(t, y, k, u, crossed, keep_g, truth, previous, trig, left, right, p_event,
                         p_values, vals, rng)
    if ok and crossed >= 0 and ATOM_OP[crossed] >= 2:
        truth[crossed] = _truth_after(crossed, t, y, k, u, left, right)
        ok = _execute_events(t, y, k, u, -1, 0.0, truth, previous, trig, left, right, p_event,
                             p_values, vals, rng)
    return ok


def _truth_after(i, t, y, k, u, left, right):
    """Truth of equality relational `i` just after `t`: at ``t + delta`` along the
    rates (``delta = 1e-6 max(1, |t|)``), so that one a solution passes through at
    `t` turns back and one that holds over an interval (its value constant there)
    stays."""
    n = y.shape[0]
    rate = np.empty(n)
    ahead = np.empty(n)
    rhs(t, y, rate, k, u)
    delta = 1e-6 * max(1.0, abs(t))
    for j in range(n):
        ahead[j] = y[j] + delta * rate[j]
    event_atoms(t + delta, ahead, k, u, left, right)
    return _exact_truth(ATOM_OP[i], left[i] - right[i])


def _after_jump(t, y_before, u_before, y, k, u, truth, previous, trig, left, right, left2, right2,
                p_event, p_values, vals, rng):
    """A dose changed the state or the infusion rates at `t`: the relationals
    whose value changed take their exact truth, and what that triggers fires."""
    event_atoms(t, y_before, k, u_before, left2, right2)
    event_atoms(t, y, k, u, left, right)
    changed = False
    for i in range(N_ATOMS):
        g = left[i] - right[i]
        if g != left2[i] - right2[i]:
            truth[i] = _exact_truth(ATOM_OP[i], g)
            changed = True
    if not changed:
        return True
    return _execute_events(t, y, k, u, -1, 0.0, truth, previous, trig, left, right, p_event,
                           p_values, vals, rng)


def solve_batch(k, y0, breaks, event_at, bolus_state, bolus, rates, t_eval, predose, lo, hi,
                rtol, atol, max_step, max_steps, nonnegative, states, status, t_fail, counts):
    """Integrate every member across the dose events (and the model's own events).

    `breaks` are the interval edges (0, event times, t_end); ``event_at[s]``
    is the event applied at the start of interval s (-1 for none). An event
    adds ``bolus[e, m]`` to the states `bolus_state` and sets the infusion
    rates to ``rates[e, m]``. States at `t_eval` go to ``states[m]``: at an
    event time marked in `predose` the state before the event, unmarked the
    state after (a time may appear twice, marked then unmarked); a
    member that fails records its status code and the time reached.
    ``nonnegative[i]``: state i is kept >= 0 at every step's end (see
    :func:`integrate_member`).

    A model with events executes those whose trigger holds at t = 0 (and
    turned true against the trigger's initial value), then integrates until
    :func:`integrate_member` stops at a trigger relational's crossing,
    executes what fires there, reports outputs at that instant after the
    events, and restarts the step sequence (order 1) as after a dose.
    """
    n_members = y0.shape[0]
    n = y0.shape[1]
    truth = np.zeros(max(N_ATOMS, 1), dtype=np.bool_)
    found = np.zeros(3)
    if N_EVENTS > 0:
        previous = np.zeros(N_EVENTS, dtype=np.bool_)
        trig = np.zeros(N_EVENTS, dtype=np.bool_)
        left = np.zeros(max(N_ATOMS, 1))
        right = np.zeros(max(N_ATOMS, 1))
        left2 = np.zeros(max(N_ATOMS, 1))
        right2 = np.zeros(max(N_ATOMS, 1))
        capacity = 64 * N_EVENTS + 1024
        p_event = np.zeros(capacity, dtype=np.int64)
        p_values = np.zeros((capacity, EVENT_MAX_ASSIGN))
        vals = np.zeros(EVENT_MAX_ASSIGN + 1)  # the values, then the priority
        rng = np.zeros(1, dtype=np.int64)
        y_before = np.zeros(n)
        u_before = np.zeros(rates.shape[2])
    for m in range(n_members):
        y = np.empty(n)
        for i in range(n):
            y[i] = y0[m, i]
        u = np.zeros(rates.shape[2])
        stops = 0
        if N_EVENTS > 0:
            rng[0] = 20061125
            event_atoms(breaks[0], y, k[m], u, left, right)
            for i in range(N_ATOMS):
                truth[i] = _exact_truth(ATOM_OP[i], left[i] - right[i])
            for e in range(N_EVENTS):
                previous[e] = EVENT_INITIAL_VALUE[e] != 0
            if not _after_crossing(breaks[0], y, k[m], u, -1, truth, previous, trig, left, right,
                                   p_event, p_values, vals, rng):
                status[m] = TOO_MANY_EVENTS
                t_fail[m] = breaks[0]
                continue
        for s in range(breaks.shape[0] - 1):
            a, b = breaks[s], breaks[s + 1]
            j = lo[s]
            if j < hi[s] and t_eval[j] == a and predose[j]:
                for i in range(n):  # a trough: the value before a dose at a
                    states[m, j, i] = y[i]
                j += 1
            e = event_at[s]
            if e >= 0:
                if N_EVENTS > 0:
                    for i in range(n):
                        y_before[i] = y[i]
                    for i in range(u.shape[0]):
                        u_before[i] = u[i]
                for i in range(bolus_state.shape[0]):
                    y[bolus_state[i]] += bolus[e, m, i]
                for i in range(u.shape[0]):
                    u[i] = rates[e, m, i]
                if N_EVENTS > 0:
                    if not _after_jump(a, y_before, u_before, y, k[m], u, truth, previous, trig,
                                       left, right, left2, right2, p_event, p_values, vals, rng):
                        status[m] = TOO_MANY_EVENTS
                        t_fail[m] = a
                        break
            if j < hi[s] and t_eval[j] == a:  # after the dose (also beside a trough at a)
                for i in range(n):
                    states[m, j, i] = y[i]
                j += 1
            start = a
            code = OK
            when = a
            while True:
                code, when = integrate_member(start, b, y, k[m], u, t_eval[j:hi[s]],
                                              states[m, j:hi[s]], rtol, atol, max_step,
                                              max_steps, counts, truth, found, nonnegative)
                if N_EVENTS > 0 and code == EVENT:
                    j += int(found[2])
                    stops += 1
                    if stops > MAX_EVENT_STOPS or not _after_crossing(
                            when, y, k[m], u, int(found[1]), truth, previous, trig, left, right,
                            p_event, p_values, vals, rng):
                        code = TOO_MANY_EVENTS
                        break
                    match = _TIME_MATCH * max(1.0, abs(when))
                    while j < hi[s] and t_eval[j] <= when + match:
                        for i in range(n):
                            states[m, j, i] = y[i]
                        j += 1
                    start = when
                    code = OK
                    if start >= b:
                        break
                    continue
                break
            if code != OK:
                status[m] = code
                t_fail[m] = when
                break


def _no_event_atoms(t, y, k, u, left, right):
    """Stand-in for a model without events (never called)."""


def _no_event_values(i, t, y, k, u, out):
    """Stand-in for a model without events (never called)."""


def _no_jacobian(t, y, k, u, jac):
    """Stand-in for an analytic Jacobian: never called (the engine takes differences)."""


def _dense_only_factor(jac, c, lu):
    """Stand-in for a written-out sparse LU: always hand over to the pivoted dense LU."""
    return False


def _dense_only_solve(lu, b):
    """Stand-in for a written-out sparse solve (never called after `_dense_only_factor`)."""


#: What a generated module without events gives the engine in place of its event code.
NO_EVENTS = {
    "N_EVENTS": 0, "N_ATOMS": 0, "EVENT_MAX_ASSIGN": 1, "ATOM_OP": (0,),
    "ATOM_READS_STATE": (0,), "EVENT_PERSISTENT": (0,), "EVENT_INITIAL_VALUE": (0,),
    "EVENT_TRIGGER_TIME_VALUES": (0,), "EVENT_TARGET_START": (0, 0), "EVENT_TARGETS": (0,),
    "TRIGGER_START": (0, 0), "TRIGGER_CODE": (0,),
    "event_atoms": _no_event_atoms, "event_values": _no_event_values,
}

#: The names the engine reads from a generated module (the generic engine's
#: model tuple holds them in this order).
MODEL_NAMES = ("rhs", "jacobian", "sparse_factor", "sparse_solve", "NNZ", "JAC_ROWS",
               "JAC_COLS", "GROUP_START", "GROUP_COLUMNS", "ENTRY_START", "ANALYTIC_JACOBIAN",
               *NO_EVENTS)

#: The functions compiled per model, in call order (callees first).
SPECIALISED = (evaluate_jacobian, _locate, _note_crossing, _add_triggered, _execute_events,
               _truth_after, _after_crossing, _after_jump, integrate_member, solve_batch)


def _engine_version() -> str:
    """Short hash of this module's source and the numba version."""
    import hashlib

    import numba

    with open(__file__, "rb") as handle:
        text = handle.read() + numba.__version__.encode()
    return hashlib.sha256(text).hexdigest()[:12]


def specialise(module: types.ModuleType) -> types.SimpleNamespace:
    """Compile the engine against a generated model module.

    Each function of :data:`SPECIALISED` is re-created with this module's
    globals plus the model's kernels, and its code object is attributed to
    the generated module's file, so numba caches the machine code beside
    that file, under that module's name: one cache entry per model, never
    shared between models. A module without events gives 0 events, so numba
    removes the event code before compiling it: models without events run
    exactly the code they ran before events existed.

    A module generated for the generic engine (``ENGINE = "generic"``:
    imported models) is bound to :func:`generic_engine` instead.
    """
    if getattr(module, "ENGINE", None) == "generic":
        return bind_generic(module)
    # numba keys its cache by the file, the qualified name and the line, not by
    # this engine's source: the hash of the engine (and of the numba version) in
    # the name makes an edited or upgraded engine compile afresh, never reuse
    # machine code cached for another version of it
    version = _engine_version()
    namespace = dict(globals())
    for name in MODEL_NAMES:
        value = getattr(module, name, NO_EVENTS.get(name))
        if isinstance(value, tuple) and not value:
            # an empty pattern (a Jacobian without a non-zero: constant rates);
            # numba cannot index the empty tuple, even in a loop that never runs
            value = np.zeros(0, dtype=np.int64)
        namespace[name] = value
    namespace["ANALYTIC_JACOBIAN"] = getattr(module, "ANALYTIC_JACOBIAN", 1)
    namespace["newton_rhs"] = getattr(module, "rhs_inline", module.rhs)
    namespace["__name__"] = module.__name__
    out = {}
    for function in SPECIALISED:
        code = function.__code__.replace(co_filename=module.__file__)
        clone = types.FunctionType(code, namespace, function.__name__, function.__defaults__)
        clone.__qualname__ = f"{function.__qualname__}_{version}"
        compiled = njit(cache=True, error_model="numpy")(clone)
        namespace[function.__name__] = compiled
        out[function.__name__] = compiled
    return types.SimpleNamespace(**out)


# -- the generic engine: compiled once, for every imported model ---------------------------
#
# A specialised engine inlines the model into a fresh compilation of the
# integrator (seconds per model). Imported models share one compilation
# instead: the same functions, rewritten (below) to read the model's kernels
# from an extra argument, a tuple of first-class functions (numba cfuncs of
# the generated module's functions) and arrays, whose type is the same for
# every model. A new model then compiles only its own small kernels.

#: Models with at least this many states use their written-out sparse LU and
#: analytic Jacobian in the generic engine; smaller ones the pivoted dense LU
#: and grouped differences (three compilations less per model; a few more
#: right-hand side calls per Jacobian).
GENERIC_SPARSE_LU_STATES = 12

_GENERIC: dict[str, dict[str, object]] = {}

#: What the generic engine's functions call in place of a specialised engine's
#: (name -> the name it reads instead): the compact forms of the hottest
#: helpers (less machine code to compile), and the right-hand side not inlined
#: (nothing is inlined across a cfunc). The interpreted twin takes the same.
GENERIC_SUBSTITUTES = {"_change_d": "_change_d_compact",
                       "_add_correction": "_add_correction_compact", "newton_rhs": "rhs"}


@njit(cache=True, error_model="numpy")
def _change_d_compact(d, order, factor, u, r, m):
    """:func:`_change_d` as loops over the order (the same sums in the same
    order; several times less machine code to compile, a little slower)."""
    _compute_r(order, factor, r)
    for i in range(order + 1):
        for j in range(1, order + 1):
            s = 0.0
            for q in range(j + 1):
                s += r[i, q] * u[q, j]
            m[i, j] = s
    x = np.empty(MAX_ORDER + 1)
    for c in range(d.shape[1]):
        for i in range(order + 1):
            x[i] = d[i, c]
        for j in range(1, order + 1):
            s = 0.0
            for i in range(order + 1):
                s += m[i, j] * x[i]
            d[j, c] = s


@njit(cache=True, error_model="numpy")
def _add_correction_compact(d, order, corr):
    """:func:`_add_correction` as a loop over the order (the same operations)."""
    for i in range(d.shape[1]):
        c = corr[i]
        d[order + 2, i] = c - d[order + 1, i]
        d[order + 1, i] = c
        for j in range(order, -1, -1):
            d[j, i] += d[j + 1, i]
_BOUND: dict[str, types.SimpleNamespace] = {}


def _signatures() -> dict[str, object]:
    from numba import types as nt

    vector, matrix = nt.float64[::1], nt.float64[:, ::1]
    return {
        "rhs": nt.void(nt.float64, vector, vector, vector, vector),
        "jacobian": nt.void(nt.float64, vector, vector, vector, matrix),
        "sparse_factor": nt.boolean(matrix, nt.float64, vector),
        "sparse_solve": nt.void(vector, vector),
        "event_atoms": nt.void(nt.float64, vector, vector, vector, vector, vector),
        "event_values": nt.void(nt.int64, nt.float64, vector, vector, vector, vector),
    }


def source_tree(function: object) -> ast.Module:
    """The source of `function` parsed, at its own line numbers (for rewriting:
    the generic engine here, the interpreted one in :mod:`.interpreted`)."""
    lines, first = inspect.getsourcelines(function)
    tree = ast.parse(textwrap.dedent("".join(lines)))
    ast.increment_lineno(tree, first - 1)
    return tree


def _generic_functions(events: bool) -> dict[str, object]:
    """The :data:`SPECIALISED` functions rewritten to take the model as a last
    argument ``_model`` (a tuple in :data:`MODEL_NAMES` order), compiled once
    per process and cached on disk beside this file.

    Two variants: with `events`, the event code reads the model's events from
    the tuple; without, it reads :data:`NO_EVENTS` (0 events), so numba drops
    it as in a specialised engine of a model without events (less to compile).
    """
    variant = "generic" if events else "generic_plain"
    if variant in _GENERIC:
        return _GENERIC[variant]
    specialised = {f.__name__ for f in SPECIALISED}
    position = {name: i for i, name in enumerate(MODEL_NAMES)
                if events or name not in NO_EVENTS}
    position["newton_rhs"] = position[GENERIC_SUBSTITUTES["newton_rhs"]]

    class ReadModel(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if isinstance(node.ctx, ast.Load) and node.id in position:
                return ast.copy_location(ast.Subscript(
                    value=ast.Name("_model", ast.Load()),
                    slice=ast.Constant(position[node.id]), ctx=ast.Load()), node)
            return node

        def visit_Call(self, node: ast.Call) -> ast.AST:
            self.generic_visit(node)
            if isinstance(node.func, ast.Name) and node.func.id in specialised:
                node.args.append(ast.Name("_model", ast.Load()))
            return node

    import sys

    # a registered module: numba rebuilds a cached function's environment by
    # importing the module its globals name
    module = types.ModuleType(f"{__name__}_{variant}", "The generic engine (generated).")
    namespace = module.__dict__
    namespace.update({k: v for k, v in globals().items() if not k.startswith("__")})
    if not events:
        namespace.update(NO_EVENTS)
    for name, substitute in GENERIC_SUBSTITUTES.items():
        if name not in position:  # the model's own functions are read from the tuple
            namespace[name] = namespace[substitute]
    namespace["__file__"] = __file__
    sys.modules[module.__name__] = module
    for function in SPECIALISED:
        tree = source_tree(function)
        tree.body[0].args.args.append(ast.arg("_model"))
        tree = ast.fix_missing_locations(ReadModel().visit(tree))
        exec(compile(tree, __file__, "exec"), namespace)  # noqa: S102 - our own source
        clone = namespace[function.__name__]
        clone.__qualname__ = f"{variant}_{function.__qualname__}"
        namespace[function.__name__] = njit(cache=True, error_model="numpy")(clone)
    _GENERIC[variant] = {f.__name__: namespace[f.__name__] for f in SPECIALISED}
    return _GENERIC[variant]


def _cfunc(function: object, signature: object, suffix: str) -> object:
    """A numba cfunc of a generated (or stand-in) function, cached beside its
    source under its own name (the njit of the same function keeps its cache)."""
    from numba import cfunc

    py = getattr(function, "py_func", function)
    name = f"{py.__name__}_{suffix}"
    code = py.__code__.replace(co_name=name)
    clone = types.FunctionType(code, py.__globals__, name, py.__defaults__)
    clone.__qualname__ = name
    return cfunc(signature, cache=True, error_model="numpy")(clone)


_STAND_INS: dict[str, object] = {}


def _stand_in(name: str, function: object) -> object:
    if name not in _STAND_INS:
        _STAND_INS[name] = _cfunc(function, _signatures()[name], "generic")
    return _STAND_INS[name]


def generic_model(module: types.ModuleType) -> dict[str, object]:
    """What the generic engine reads from `module`, by name in :data:`MODEL_NAMES`
    order: the module's own kernels and patterns, or stand-ins (a model below
    :data:`GENERIC_SPARSE_LU_STATES` states: the pivoted dense LU and
    differences; a model without events: :data:`NO_EVENTS`). The compiled
    engine takes them as :func:`model_tuple`, the interpreted one as they are."""
    small = module.N_STATES < GENERIC_SPARSE_LU_STATES
    has_events = getattr(module, "N_EVENTS", 0) > 0
    stand_ins = {"sparse_factor": _dense_only_factor, "sparse_solve": _dense_only_solve,
                 "jacobian": _no_jacobian} if small else {}
    out: dict[str, object] = {}
    for name in MODEL_NAMES:
        if name in stand_ins:
            out[name] = stand_ins[name]
        elif name == "ANALYTIC_JACOBIAN":
            out[name] = 0 if small else 1
        elif has_events or name not in NO_EVENTS:
            out[name] = getattr(module, name)
        else:
            out[name] = NO_EVENTS[name]
        if isinstance(out[name], tuple):
            out[name] = np.array(out[name], dtype=np.int64)
    return out


def model_tuple(module: types.ModuleType) -> tuple:
    """The generic engine's view of a generated module (:data:`MODEL_NAMES` order):
    :func:`generic_model` with its functions as numba cfuncs."""
    signatures = _signatures()
    out = []
    for name, value in generic_model(module).items():
        if name not in signatures:
            out.append(value if isinstance(value, np.ndarray) else int(value))
        elif value is getattr(module, name, None):
            out.append(_cfunc(value, signatures[name], "cfunc"))
        else:
            out.append(_stand_in(name, value))
    return tuple(out)


def bind_generic(module: types.ModuleType) -> types.SimpleNamespace:
    """The generic engine bound to a generated module: the functions of
    :func:`specialise`'s namespace, each passing the module's model tuple
    (``model``), and the shared compiled ``solve_batch`` itself
    (``shared_solve_batch``, which takes that tuple last)."""
    key = module.__name__
    if key not in _BOUND:
        from numba.core.errors import NumbaExperimentalFeatureWarning

        functions = _generic_functions(getattr(module, "N_EVENTS", 0) > 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
            model = model_tuple(module)

        def bind(function):
            def call(*args):
                with warnings.catch_warnings():  # first-class functions are "experimental"
                    warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
                    return function(*args, model)
            call.__name__ = call.__qualname__ = function.__name__
            return call

        _BOUND[key] = types.SimpleNamespace(
            **{name: bind(f) for name, f in functions.items()}, model=model,
            shared_solve_batch=functions["solve_batch"])
    return _BOUND[key]
