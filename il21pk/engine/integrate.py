"""Integration of a batch of N parameter sets between dose events.

The default method, ``"numba-bdf"``, runs every member through the compiled
NDF/BDF integrator of :mod:`il21pk.engine.bdf`, specialised for the model,
each member with its own steps and error control. The scipy methods
(``"LSODA"`` via ``odeint`` on the stacked system with a banded Jacobian, and
the ``solve_ivp`` methods, on the model's generated stacked right-hand side)
are kept as independent cross-checks for every model. Every method
restarts at each event time (bolus, infusion start or end), so a dose is
never stepped over.
"""

from __future__ import annotations

import types
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.integrate import ODEintWarning, odeint
from scipy.sparse import block_diag

from ..model import Model
from . import kernels, startup
from .bdf import (
    NOT_FINITE,
    OK,
    PUSHED_BELOW_ZERO,
    STEP_TOO_SMALL,
    TOO_MANY_EVENTS,
    TOO_MANY_STEPS,
)
from .events import Events

COUNTS = ("steps", "rhs", "jacobians", "lu", "error_test_failures", "newton_failures")
METHODS = ("numba-bdf", "LSODA", "BDF", "Radau", "RK45", "DOP853")
_MESSAGES = {STEP_TOO_SMALL: "step size became too small",
             NOT_FINITE: "the right-hand side returned NaN or inf",
             TOO_MANY_STEPS: "too many steps (max_steps) in one dosing interval",
             TOO_MANY_EVENTS: "the model's events fired without end (more than 10,000 at one "
                              "instant or 100,000 in all)",
             PUSHED_BELOW_ZERO: "a state declared non-negative is pushed below 0 at every "
                                "step: its rate is below 0 when it is 0 (a zero-order loss?), "
                                "which State.nonnegative does not allow; make the loss stop at "
                                "0 in the model (e.g. k * x / (x + K))"}
#: The start of the message of a member whose non-negative state was pushed below 0.
PUSHED_BELOW_ZERO_MESSAGE = _MESSAGES[PUSHED_BELOW_ZERO]


@dataclass(frozen=True)
class Solution:
    """States at the output times, and per-member success.

    Attributes
    ----------
    states : numpy.ndarray, shape (N, T, n_states)
    success : numpy.ndarray of bool, shape (N,)
    message : list of str
        The solver's message per member (``"ok"`` on success).
    t_fail : numpy.ndarray, shape (N,)
        Time [h] at which a member failed (NaN on success).
    counts : dict of str to int
        Work done by the compiled solver (see :data:`COUNTS`); empty for the
        scipy methods.
    """

    states: np.ndarray
    success: np.ndarray
    message: list[str]
    t_fail: np.ndarray
    counts: dict


def integrate(model: Model, k: np.ndarray, y0: np.ndarray, events: Events, t_eval: np.ndarray,
              t_end: float, *, method: str = "numba-bdf", rtol: float = 1e-6,
              atol: float = 1e-9, max_step: float = 0.0, max_steps: int = 200_000,
              predose: np.ndarray | None = None) -> Solution:
    """Integrate N members from t=0 to `t_end`.

    Parameters
    ----------
    model : Model
        The model; its compiled kernels are built on first use.
    k : numpy.ndarray, shape (N, n_kernel)
        Kernel parameters per member.
    y0 : numpy.ndarray, shape (N, n_states)
        States at t=0 before any dose.
    events : Events
        Dose events; those after `t_end` are ignored.
    t_eval : numpy.ndarray, shape (T,)
        Sorted output times [h] within ``[0, t_end]``. At a bolus time the
        value reported is the one just after the dose, unless `predose`
        marks it; a dose time may appear twice, marked then unmarked, for
        the values before and after the dose.
    t_end : float
        End of the integration [h].
    method : str
        One of :data:`METHODS`.
    rtol, atol : float
        Solver tolerances.
    max_step : float
        Largest step [h]; 0 means no limit.
    max_steps : int
        Most solver steps allowed between two events.
    predose : numpy.ndarray of bool, shape (T,), optional
        Output times at which to report the value just before a dose given at
        that time (a trough sample), instead of just after.
    """
    t_end = float(t_end)
    predose = np.zeros(t_eval.shape[0], dtype=np.bool_) if predose is None else predose
    keep = events.times < t_end  # a dose at t_end is applied after the loop
    breaks = np.unique(np.concatenate([[0.0], events.times[keep], [t_end]]))
    event_at = np.full(breaks.shape[0], -1, dtype=np.int64)
    event_at[np.searchsorted(breaks, events.times[keep])] = np.flatnonzero(keep)
    lo = np.searchsorted(t_eval, breaks[:-1], side="left")
    hi = np.searchsorted(t_eval, breaks[1:], side="left")
    hi[-1] = t_eval.shape[0]
    n_members, n_states = y0.shape
    states = np.full((n_members, t_eval.shape[0], n_states), np.nan)
    status = np.zeros(n_members, dtype=np.int64)
    t_fail = np.full(n_members, np.nan)
    k = np.ascontiguousarray(k, dtype=float)
    compiled = kernels.compiled(model)
    if method == "numba-bdf":
        counts = np.zeros(len(COUNTS), dtype=np.int64)
        nonnegative = kernels.nonnegative_mask(model)
        startup.solve_batch(compiled.module, compiled.engine, (
            k, np.ascontiguousarray(y0, dtype=float), breaks, event_at, events.bolus_state,
            events.bolus, events.rates, t_eval, predose, lo, hi, rtol, atol, max_step, max_steps,
            nonnegative, states, status, t_fail, counts))
        messages = ["ok" if s == OK else _MESSAGES[int(s)] for s in status]
        for m in np.flatnonzero(status == PUSHED_BELOW_ZERO):
            names = _pushed_below_zero(model, compiled.module, nonnegative, k[m], states[m],
                                       t_fail[m])
            if names:
                messages[m] += f"; rate below 0 at 0: {', '.join(names)}"
            else:  # no state to name: a model within the rule that ran out of steps
                messages[m] = _MESSAGES[TOO_MANY_STEPS]
        for m in np.flatnonzero(status == STEP_TOO_SMALL):
            names = _not_finite_rates(model, compiled.module, k[m], states[m], t_fail[m])
            if names:
                messages[m] += (f"; the rates of {', '.join(names)} are NaN or inf there (at "
                                "the last reported state): a Piecewise with no branch for "
                                "these values, or a log, power or division outside its domain")
        solution = Solution(states, status == OK, messages, t_fail,
                            dict(zip(COUNTS, counts.tolist(), strict=True)))
    else:
        ok, message, when = _scipy_batch(compiled.module.stacked_rhs, k, y0, breaks, event_at,
                                         events, t_eval, predose, lo, hi, method, rtol, atol,
                                         max_step, max_steps, states)
        solution = Solution(states, np.full(n_members, ok), [message] * n_members,
                            np.full(n_members, when), {})
    # a bolus at exactly t_end changes only the value reported at t_end
    at_end = np.flatnonzero(events.times == t_end)
    if at_end.size and t_eval[-1] == t_end and not predose[-1]:
        states[:, -1, events.bolus_state] += events.bolus[at_end[0]]
    return solution


def _last_reported(states: np.ndarray) -> np.ndarray | None:
    """The last state reported before a failure (None if there is none)."""
    reported = states[np.isfinite(states).all(axis=1)]
    return np.ascontiguousarray(reported[-1]) if reported.shape[0] else None


def _rates(module: types.ModuleType, t: float, y: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The model's rates at (t, y), infusions left out."""
    rate = np.empty_like(y)
    with np.errstate(all="ignore"):
        module.rhs(float(t), y, rate, np.ascontiguousarray(k), np.zeros(module.N_INPUTS))
    return rate


def _pushed_below_zero(model: Model, module: types.ModuleType, mask: np.ndarray,
                       k: np.ndarray, states: np.ndarray, t: float) -> list[str]:
    """Non-negative states whose rate is below 0 when they are 0, at the last state
    reported before a failure (the other non-negative states taken >= 0, as the
    kinetics of State.nonnegative would keep them; infusions left out)."""
    last = _last_reported(states)
    if last is None:
        return []
    y = np.where(mask, np.maximum(last, 0.0), last)
    names = []
    for i in np.flatnonzero(mask):
        at_zero = y.copy()
        at_zero[i] = 0.0
        if _rates(module, t, at_zero, k)[i] < 0.0:
            names.append(model.state_names[i])
    return names


def _not_finite_rates(model: Model, module: types.ModuleType, k: np.ndarray,
                      states: np.ndarray, t: float) -> list[str]:
    """States whose rate is NaN or inf at the last state reported before a failure,
    at the failure time or just after it (infusions left out)."""
    y = _last_reported(states)
    if y is None or not np.isfinite(t):
        return []
    bad = np.zeros(y.shape[0], dtype=bool)
    for when in (t, t + 1e-9 * max(1.0, abs(t))):
        bad |= ~np.isfinite(_rates(module, when, y, k))
    return [model.state_names[i] for i in np.flatnonzero(bad)]


def _scipy_batch(stacked_rhs, k, y0, breaks, event_at, events, t_eval, predose, lo, hi, method,
                 rtol, atol, max_step, max_steps, states):
    """The scipy methods on the stacked system, restarted at every event.

    Every method honours `max_steps` per dosing interval: LSODA through
    ``odeint``'s ``mxstep`` and its cumulative step count ``nst``, the
    ``solve_ivp`` methods by stepping their solver object with a step counter.
    A run that returns NaN or inf states fails (LSODA can report success with
    NaN, e.g. across an interval of 1e-200 h).
    """
    n_members, n_states = y0.shape
    y = y0.copy()
    infusion = np.zeros(events.rates.shape[1:])
    for s in range(breaks.shape[0] - 1):
        a, b = breaks[s], breaks[s + 1]
        before = y.copy()
        e = event_at[s]
        if e >= 0:
            y[:, events.bolus_state] += events.bolus[e]
            infusion = events.rates[e]
        times = np.unique(np.concatenate([[a], t_eval[lo[s]:hi[s]], [b]]))
        args = (k, np.ascontiguousarray(infusion))
        if method == "LSODA":
            band = n_states - 1 if n_members > 1 else None
            with warnings.catch_warnings():  # the failure is reported in `info`
                warnings.simplefilter("ignore", ODEintWarning)
                sol, info = odeint(stacked_rhs, y.ravel(), times, args=args, tfirst=True,
                                   rtol=rtol, atol=atol, ml=band, mu=band, hmax=max_step,
                                   mxstep=max_steps, full_output=True)
            ok, message = info["message"] == "Integration successful.", info["message"]
            if (ok and info["nst"][-1] > max_steps) or "Excess work done" in message:
                ok, message = False, _MESSAGES[3]  # odeint adds "(perhaps wrong Dfun type)"
        else:
            ok, message, sol = _step_solve_ivp(stacked_rhs, method, (a, b), y.ravel(), times,
                                               args, n_states, n_members, rtol, atol, max_step,
                                               max_steps)
        if ok and not np.all(np.isfinite(sol)):
            ok, message = False, (f"{method} returned NaN or infinite states between t={a:g} "
                                  f"and {b:g} h")
        if not ok:
            return False, str(message).strip(), float(a)
        rows = sol.reshape(times.shape[0], n_members, n_states)
        states[:, lo[s]:hi[s]] = np.swapaxes(rows[np.searchsorted(times, t_eval[lo[s]:hi[s]])],
                                             0, 1)
        if lo[s] < hi[s] and t_eval[lo[s]] == a and predose[lo[s]]:
            states[:, lo[s]] = before
        y = rows[-1].copy()
    return True, "ok", np.nan


def _step_solve_ivp(stacked_rhs, method, span, y, times, args, n_states, n_members, rtol, atol,
                    max_step, max_steps):
    """Integrate with a ``solve_ivp`` solver class, at most `max_steps` steps.

    This is ``solve_ivp``'s own loop (step, then dense output at the requested
    times inside the step) with a step counter. Returns (ok, message, states
    at `times`).
    """
    from scipy.integrate import BDF as ScipyBDF
    from scipy.integrate import DOP853, RK45, Radau

    solver_cls = {"BDF": ScipyBDF, "Radau": Radau, "RK45": RK45, "DOP853": DOP853}[method]
    options = {"rtol": rtol, "atol": atol, "max_step": max_step or np.inf}
    if method in ("BDF", "Radau"):
        options["jac_sparsity"] = block_diag([np.ones((n_states, n_states))] * n_members,
                                             format="csr")
    out = np.empty((times.shape[0], y.shape[0]))
    out[0] = y
    done = 1
    steps = 0
    try:
        solver = solver_cls(lambda t, x: stacked_rhs(t, x, *args), span[0], y, span[1],
                            **options)
        while solver.status == "running":
            if steps >= max_steps:
                return False, _MESSAGES[3], None
            message = solver.step()
            steps += 1
            if solver.status == "failed":
                return False, message, None
            upto = int(np.searchsorted(times, solver.t, side="right"))
            if upto > done:
                interpolant = solver.dense_output()
                out[done:upto] = interpolant(times[done:upto]).T
                done = upto
    except (RuntimeError, ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        # e.g. Radau's sparse LU: "Factor is exactly singular"
        return False, f"{method} failed: {exc}", None
    out[-1] = solver.y  # the end of the interval, exactly as the solver reached it
    return True, "ok", out
