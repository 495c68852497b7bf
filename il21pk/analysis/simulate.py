"""simulate(): one regimen, one parameter set -> a tidy SimulationResult.

The same batch path (:func:`run_batch`) integrates a stack of N parameter
sets; sweeps, fits and sensitivity analyses call it with N in the hundreds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from ..checks import is_integer, is_real
from ..engine import integrate as engine
from ..engine.events import compile_events
from ..engine.kernels import clip_undershoot, prepare, report
from ..errors import InputTypeError, OptionError, SimulationError
from ..model import Model
from ..model.inputs import check_regimen, parameter_columns, resolve_params
from ..parameters import ParameterSet
from ..regimen import Dose, Regimen
from ..units import check_plain_numbers, time_unit_label
from .metrics import FullCurves
from .results import BatchResult, SimulationResult

#: Variables whose AUC the solver integrates exactly (variable -> AUC state).
#: Variables whose AUC a state integrates (besides each drug's ``<drug>_plasma``,
#: integrated by ``<drug>_auc`` in the built-in PK stages).
EXACT_AUC = {"il21_plasma": "il21_auc", "ifng_plasma": "ifng_auc"}


#: Accepted relative tolerances. Looser than 1e-2 the solvers report success on
#: answers off by tens of percent (rtol=0.5 gave a receptor occupancy of 4.4);
#: tighter than 1e-13 is below what double precision can honour.
RTOL_RANGE = (1e-13, 1e-2)
#: Most output times of one simulation (``t_eval``, or the default hourly grid
#: of ``t_end`` hours before dose times are added): 100,000 is hourly output
#: for 11 years. Checked before any memory is spent on the grid.
MAX_TIME_POINTS = 100_000
#: Largest ``max_steps`` (solver steps between two dose events).
MAX_STEPS_LIMIT = 10_000_000


def _real(value: object, name: str, unit: str = "") -> float:
    if not is_real(value):
        raise InputTypeError(f"`{name}` must be a number{unit}; got {type(value).__name__} "
                             f"{value!r}")
    try:
        return float(value)
    except OverflowError:
        raise OptionError(f"`{name}` must be a finite number{unit}; got an integer too large "
                          f"for a float ({len(str(value))} digits)") from None


def check_options(*, t_end: object, t_eval: npt.ArrayLike | None, method: object,
                  rtol: object, atol: object, max_step: object = 0.0,
                  max_steps: object = 200_000, time_unit: str | None = "h"
                  ) -> tuple[float, np.ndarray | None]:
    """Validate solver options once, at the top of every verb; return t_end and t_eval.

    Times are in `time_unit`, the model's (:attr:`Model.time_unit`), as the
    messages say them.

    Raises :class:`~il21pk.errors.OptionError` (a ValueError) for a value out of
    range, including the resource limits :data:`RTOL_RANGE`,
    :data:`MAX_TIME_POINTS` and :data:`MAX_STEPS_LIMIT`, and
    :class:`~il21pk.errors.InputTypeError` (a TypeError) for a wrong type.
    """
    unit = time_unit_label(time_unit)
    times = "hours" if time_unit == "h" else f"times in {unit}"
    of_times = f" of {times}" if time_unit == "h" else f" ({times})"
    t_end = _real(t_end, "t_end", of_times)
    if not math.isfinite(t_end) or t_end <= 0:
        raise OptionError(f"`t_end` must be a finite number > 0 {unit}; got {t_end}")
    if not isinstance(method, str) or method not in engine.METHODS:
        raise OptionError(f"`method` must be one of {list(engine.METHODS)}; got {method!r}")
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if not is_real(tol) or not (0 < tol < 1):
            raise OptionError(f"`{name}` must be a number in (0, 1); got {tol!r}")
    if not RTOL_RANGE[0] <= rtol <= RTOL_RANGE[1]:
        raise OptionError(f"`rtol` must be within [{RTOL_RANGE[0]:g}, {RTOL_RANGE[1]:g}] "
                          f"(looser tolerances give wrong answers flagged as successes); got "
                          f"{rtol!r}")
    max_step = _real(max_step, "max_step", of_times)
    if not max_step >= 0:
        raise OptionError(f"`max_step` must be a number >= 0 {unit} (0: no limit); got "
                          f"{max_step!r}")
    if not is_integer(max_steps) or max_steps < 1:
        raise OptionError(f"`max_steps` must be an integer >= 1; got {max_steps!r}")
    if max_steps > MAX_STEPS_LIMIT:
        raise OptionError(f"`max_steps` must be <= MAX_STEPS_LIMIT = {MAX_STEPS_LIMIT:,}; got "
                          f"{max_steps:,}")
    if t_eval is None:
        if t_end + 1 > MAX_TIME_POINTS:
            raise OptionError(
                f"`t_end` = {t_end:g} {unit} gives a default "
                f"{'hourly grid' if time_unit == 'h' else f'grid (one per {unit})'} of "
                f"{math.ceil(t_end) + 1:,} "
                f"output times; at most MAX_TIME_POINTS = {MAX_TIME_POINTS:,} are allowed. "
                "Pass a coarser `t_eval`")
        return t_end, None
    size = np.size(t_eval) if isinstance(t_eval, np.ndarray) else None
    if size is not None and size > MAX_TIME_POINTS:
        raise OptionError(f"`t_eval` holds {size:,} times; at most MAX_TIME_POINTS = "
                          f"{MAX_TIME_POINTS:,} are allowed")
    check_plain_numbers(t_eval, "`t_eval`", OptionError)
    try:
        grid = np.asarray(t_eval, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise OptionError(f"`t_eval` must be an array of {times}; got {t_eval!r}"[:200]) \
            from None
    if grid.ndim != 1 or grid.size == 0:
        raise OptionError(f"`t_eval` must be a non-empty 1-D array of {times}; got shape "
                          f"{grid.shape}")
    if grid.size > MAX_TIME_POINTS:
        raise OptionError(f"`t_eval` holds {grid.size:,} times; at most MAX_TIME_POINTS = "
                          f"{MAX_TIME_POINTS:,} are allowed")
    numbers = isinstance(t_eval, np.ndarray) and t_eval.dtype.kind in "iuf"
    for i, t in enumerate(() if numbers else np.asarray(t_eval, dtype=object).ravel()):
        if not is_real(t):  # float() reads "1" and True as 1 h
            raise OptionError(f"`t_eval` must hold numbers{of_times}; t_eval[{i}] is "
                              f"{type(t).__name__} {t!r}"[:200])
    if not np.all(np.isfinite(grid)):
        raise OptionError("`t_eval` must not contain NaN or infinite times")
    if np.any(np.diff(grid) <= 0):
        i = int(np.flatnonzero(np.diff(grid) <= 0)[0])
        raise OptionError(f"`t_eval` must be strictly increasing; t_eval[{i}]={grid[i]:g} is "
                          f"followed by {grid[i + 1]:g}")
    if grid[0] < 0 or grid[-1] > t_end:
        raise OptionError(f"`t_eval` must lie within [0, t_end={t_end:g}] {unit}; got "
                          f"[{grid[0]:g}, {grid[-1]:g}]")
    return t_end, grid.copy()


def default_grid(regimen: Regimen, t_end: float, step: float = 1.0) -> np.ndarray:
    """An hourly grid from 0 to `t_end` plus every dose time and infusion end."""
    edges = [d.time for d in regimen.doses] + [d.time + d.duration for d in regimen.doses]
    grid = np.union1d(np.arange(0.0, t_end, step), [t_end])
    return np.union1d(grid, [t for t in edges if t <= t_end])


def run_batch(model: Model, regimen: Regimen, columns: Mapping[str, np.ndarray], *,
              t_eval: np.ndarray, t_end: float,
              dose: np.ndarray | Mapping[str | None, np.ndarray] | None = None,
              predose: np.ndarray | None = None, method: str = "numba-bdf", rtol: float = 1e-6,
              atol: float = 1e-9, max_step: float = 0.0, max_steps: int = 200_000) -> BatchResult:
    """Simulate N parameter sets (columns of length N or 1) on one grid.

    `dose` (length N), if given, replaces every dose amount of `regimen` per
    member; a mapping ``{drug: amounts}`` replaces the doses of each named
    drug (key None: every other dose); `predose` (length T) marks output times that report the value
    just before a dose at that time. Inputs are trusted here: the public verbs
    validate them first.
    """
    if method != "numba-bdf" and any(getattr(s, "events", ()) for s in model.definition.stages):
        raise OptionError(f"model {model.name!r} has events (SBML), which only method="
                          f"'numba-bdf' executes; got method={method!r}")
    amounts = dose if isinstance(dose, Mapping) else ({} if dose is None else {None: dose})
    n = max([np.size(c) for c in columns.values()] + [np.size(a) for a in amounts.values()]
            + [1])
    cols = {k: np.broadcast_to(np.asarray(v, dtype=float), (n,)) for k, v in columns.items()}
    k, y0 = prepare(model, cols)
    events = compile_events(model, regimen, cols, n=n,
                            amounts={d: np.broadcast_to(a, (n,)) for d, a in amounts.items()})
    # without `predose` (not a fit), each bolus time in the grid's span also gets the
    # value just before the dose (and after it, where the grid lacks the time)
    grid, marked, public = (t_eval, predose, None) if predose is not None else \
        _with_dose_points(t_eval, events)
    sol = engine.integrate(model, k, y0, events, grid, t_end,
                           method=method, rtol=rtol, atol=atol, max_step=max_step,
                           max_steps=max_steps, predose=marked)
    clip_undershoot(model, sol.states, atol)
    outputs, full = report(model, sol.states, k), None
    first, last = 0, grid.size - 1
    if public is not None and not public.all():
        on_grid = np.flatnonzero(public)
        full = FullCurves(grid, outputs, on_grid)
        outputs = full.on_grid()
        first, last = on_grid[0], on_grid[-1]
    names = model.state_names
    integrated = {**EXACT_AUC, **{f"{d.name}_plasma": f"{d.name}_auc" for d in model.drugs}}
    exact = {
        var: sol.states[:, last, names.index(state)] - sol.states[:, first, names.index(state)]
        for var, state in integrated.items() if var in outputs and state in names
    }
    baseline = {name: v[:, 0] for name, v in report(model, y0[:, None, :], k).items()}
    return BatchResult(t_eval, outputs, exact, baseline, sol.success, sol.message, sol.t_fail,
                       full)


def trough_grid(times: np.ndarray, before: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct output points of samples at `times`, each taken just before a
    dose at its time (`before`) or after it: ``(grid, grid_before, index)``, sorted
    by time with a time's point before the dose first (the engine's `predose`
    order), and the grid index of each sample."""
    pairs, index = np.unique(np.column_stack([times, np.where(before, 0.0, 1.0)]), axis=0,
                             return_inverse=True)
    return pairs[:, 0], pairs[:, 1] == 0.0, index.reshape(-1)


#: Where the metrics also look after a bolus: 8 points a decade, log-spaced from
#: 1/1000 of the way to the next output time. An hourly grid misses transients
#: that peak within minutes of a dose: after 30 ug/kg IV, receptor occupancy
#: peaks at 2.4 min (0.77), the hourly grid read 0.48 (-38 %).
AFTER_DOSE = 10.0 ** np.arange(-3.0, 0.0, 1.0 / 8.0)


def _with_dose_points(t_eval: np.ndarray, events) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The engine's grid for `t_eval` plus, at each bolus time in ``(0, t_end]`` within
    ``[t_eval[0], t_eval[-1]]``, a point just before the dose (and one just after it
    where `t_eval` lacks the time), and between each bolus and the next time of
    `t_eval` the points :data:`AFTER_DOSE`: ``(grid, predose flags, which points
    are t_eval's)``.
    """
    bolus_times = events.times[np.any(events.bolus != 0, axis=(1, 2))]
    dosed = bolus_times[(bolus_times > 0) & (bolus_times >= t_eval[0])
                        & (bolus_times <= t_eval[-1])]
    starts = bolus_times[(bolus_times >= t_eval[0]) & (bolus_times < t_eval[-1])]
    following = t_eval[np.searchsorted(t_eval, starts, side="right")]
    after = (starts[:, None] + (following - starts)[:, None] * AFTER_DOSE).ravel()
    after = after[(after > np.repeat(starts, AFTER_DOSE.size))
                  & (after < np.repeat(following, AFTER_DOSE.size))]
    grid, before, index = trough_grid(
        np.concatenate([t_eval, dosed, dosed, after]),
        np.concatenate([np.zeros(t_eval.size, bool), np.ones(dosed.size, bool),
                        np.zeros(dosed.size + after.size, bool)]))
    public = np.zeros(grid.size, bool)
    public[index[:t_eval.size]] = True
    return grid, before, public


def simulate(model: Model, regimen: Regimen | Dose | None, params: ParameterSet | None = None, *,
             t_end: float, t_eval: npt.ArrayLike | None = None, method: str = "numba-bdf",
             rtol: float = 1e-6, atol: float = 1e-9, max_step: float = 0.0,
             max_steps: int = 200_000, raise_on_failure: bool = True) -> SimulationResult:
    """Simulate the dose -> PK -> binding -> signalling -> cells -> IFN chain.

    Receptors, cells and IFN-gamma start at their steady state without drug;
    the solver restarts at every dose and infusion edge, so boluses are exact
    jumps and infusions exact constant rates.

    Parameters
    ----------
    model : Model
        Model structure: ``Model()``, ``Model.pk_only()`` or ``Model.in_vitro()``.
    regimen : Regimen, Dose or None
        Doses to give (None: none). Times are in the model's time unit,
        ``model.time_unit``: hours for il21pk's models, an imported model's own
        (``result.time_unit``).
    params : ParameterSet, optional
        Parameter values; default the model's own values if it has them (an
        imported model's SBML values, ``model.default_parameters()``), else
        ``parameter_sets.load("human")``.
    t_end : float
        End of the simulation [h, or ``model.time_unit``]; > 0.
    t_eval : array_like of float, optional
        Output times [h, or ``model.time_unit``], strictly increasing within
        ``[0, t_end]``. Default: a grid of one time unit plus every dose time
        and infusion end. At a bolus time the reported value is the one just
        after the dose.
    method : {'numba-bdf', 'LSODA', 'BDF', 'Radau', 'RK45', 'DOP853'}, optional
        ``"numba-bdf"`` (default): the compiled variable-order BDF of
        :mod:`il21pk.solver`. ``"LSODA"`` uses `scipy.integrate.odeint`; the
        others `scipy.integrate.solve_ivp`. The scipy methods are slower and
        serve as independent cross-checks.
    rtol, atol : float, optional
        Relative and absolute tolerances (internal units: nmol, nM, cells/uL,
        pg/mL). Default 1e-6 and 1e-9.
    max_step : float, optional
        Largest solver step [h]; 0 (default) means no limit.
    max_steps : int, optional
        Most solver steps between two dose events (default 200,000).
    raise_on_failure : bool, optional
        If False, a solver failure returns a result with ``success=False``.

    Returns
    -------
    SimulationResult
        ``.frame`` is tidy: ``time_h, stage, variable, value, unit``.

    Raises
    ------
    RegimenError
        If a dose does not suit the model (e.g. per-kg doses in vitro).
    ParameterError
        If `params` changes a parameter the model fixes or does not read (see
        :func:`il21pk.model.inputs.check_ignored_values`).
    SimulationError
        If the solver fails and `raise_on_failure` is True.

    Examples
    --------
    >>> import il21pk as ip
    >>> reg = ip.Regimen.repeat(ip.Dose(30, unit="ug/kg"), every=24, count=5)
    >>> res = ip.simulate(ip.Model(), reg, t_end=28 * 24)
    >>> list(res.frame.columns)
    ['time_h', 'stage', 'variable', 'value', 'unit']
    """
    if not isinstance(model, Model):
        raise InputTypeError(f"`model` must be an il21pk Model; got {type(model).__name__}")
    params = resolve_params(model, params)
    t_end, grid = check_options(t_end=t_end, t_eval=t_eval, method=method, rtol=rtol, atol=atol,
                                max_step=max_step, max_steps=max_steps,
                                time_unit=model.time_unit)
    regimen = check_regimen(model, regimen)
    grid = default_grid(regimen, t_end) if grid is None else grid
    batch = run_batch(model, regimen, parameter_columns(model, params), t_eval=grid,
                      t_end=t_end, method=method, rtol=rtol, atol=atol, max_step=max_step,
                      max_steps=max_steps)
    if not batch.success[0] and raise_on_failure:
        advice = "" if batch.message[0].startswith(engine.PUSHED_BELOW_ZERO_MESSAGE) else (
            " Try method='Radau' or 'LSODA', a larger max_steps, or check the parameter values.")
        raise SimulationError(
            f"integration failed at t={batch.t_fail[0]:g} {time_unit_label(model.time_unit)} "
            f"({method}): {batch.message[0]}."
            + advice)
    options = {"method": method, "rtol": rtol, "atol": atol, "max_step": max_step,
               "max_steps": max_steps, "t_end": t_end,
               "time_unit": model.time_unit}

    return SimulationResult.from_batch(batch, model=model, regimen=regimen, params=params,
                                       options=options)
