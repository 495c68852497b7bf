"""A reference simulator for :class:`OdeSystem`: scipy ``solve_ivp`` plus SBML events.

It exists to check the importer against the SBML Test Suite and
libRoadRunner, not to be fast; the compiled engine takes the same
:class:`OdeSystem` for real work. The signature ``(system, times, params)``
returning a DataFrame with a ``time`` column is what both share.

Event handling (SBML Level 3, events without delay)
---------------------------------------------------
Every relational inside a trigger is an *atom* ``g(t, y)`` whose sign gives
its truth; scipy locates zero crossings of each atom, looking only in the
direction that would change its current truth value. At a crossing the
integration stops, the atom flips, triggers are re-evaluated and each event
whose trigger went from false to true fires. Simultaneous events execute one
at a time, highest priority first; events without a priority come last, and
events of equal priority execute in a random (seeded) order, as the
specification asks. After each execution triggers are re-evaluated, so an
event can fire another at the same instant (or fire again), and a
non-persistent event whose trigger turned false is dropped. Assignments use
values from the trigger time when ``use_values_from_trigger_time`` is set.
Integration then restarts from the new state. At an output time that
coincides with an event, the value reported is the one after the event.

Atoms that read states cross only when ``g`` passes zero by ten times the
integrator's error tolerance on their two sides: without this band, solver
noise of a state resting on a threshold (SBML Test Suite case 00354) would
fire an event at every step. It delays such an event by at most that
tolerance divided by ``|dg/dt|``. Atoms of time and constants are exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
import sympy
from scipy.integrate import solve_ivp
from sympy.core.relational import Relational
from sympy.logic.boolalg import BooleanFunction

from ..errors import ParameterError, SimulationError
from .ode_system import OdeSystem
from .pyfunc import FunctionCompiler, compile_source, print_python

#: Relative width (in time) within which an output time counts as an event time.
_TIME_MATCH = 1e-12
#: Largest number of integration segments (events) in one simulation.
_MAX_SEGMENTS = 100_000
#: Largest number of event executions at one instant before giving up.
_MAX_CASCADE = 10_000


class _Atom:
    """One relational of a trigger, normalised to a function ``g`` and a test on it."""

    def __init__(self, relational: Relational) -> None:
        lhs, rhs = relational.lhs, relational.rhs
        if isinstance(relational, (sympy.StrictLessThan, sympy.LessThan)):
            lhs, rhs = rhs, lhs
        self.g = lhs - rhs
        self.op = {
            sympy.StrictGreaterThan: ">",
            sympy.GreaterThan: ">=",
            sympy.StrictLessThan: ">",
            sympy.LessThan: ">=",
            sympy.Equality: "==",
            sympy.Unequality: "!=",
        }[type(relational)]
        self.lhs, self.rhs = lhs, rhs
        #: whether g reads a state (directly or through assignments); set by _Compiled
        self.reads_state = True

    def truth(self, g: float) -> bool:
        """Truth of the relational given the value of ``g``."""
        if self.op == ">":
            return g > 0
        if self.op == ">=":
            return g >= 0
        if self.op == "==":
            return g == 0
        return g != 0

    @property
    def momentary(self) -> bool:
        """Equalities hold only at the instant of crossing."""
        return self.op in ("==", "!=")


class _Triggers:
    """Splits event triggers into atoms and compiled boolean functions of the atoms."""

    def __init__(self, triggers: Sequence[sympy.Basic]) -> None:
        self.atoms: list[_Atom] = []
        self._keys: dict[tuple, int] = {}
        self.functions: list[Callable[[Sequence[bool]], bool]] = []
        for k, trigger in enumerate(triggers):
            expr = self._split(trigger)
            names = [sympy.Symbol(f"_b{i}") for i in range(len(self.atoms))]
            source = _boolean_source(f"_trigger{k}", expr, names)
            self.functions.append(compile_source(source, f"_trigger{k}"))

    def _split(self, expr: sympy.Basic) -> sympy.Basic:
        if expr in (sympy.true, sympy.false):
            return expr
        if isinstance(expr, Relational):
            atom = _Atom(expr)
            key = (atom.op, atom.g)
            if key not in self._keys:
                self._keys[key] = len(self.atoms)
                self.atoms.append(atom)
            return sympy.Symbol(f"_b{self._keys[key]}")
        if isinstance(expr, BooleanFunction):
            return expr.func(*[self._split(a) for a in expr.args], evaluate=False)
        raise SimulationError(f"event trigger {expr} is not a boolean expression")


def _boolean_source(name: str, expr: sympy.Basic, atoms: Sequence[sympy.Symbol]) -> str:
    """Source of ``def name(_b)``: the trigger as a function of the atoms' truth list."""
    lines = [f"def {name}(_b):"]
    if atoms:
        lines.append("    " + ", ".join(a.name for a in atoms) + ", *_rest = _b")
    lines.append(f"    return bool({print_python(expr)})")
    return "\n".join(lines)


class _Compiled:
    """Everything about one OdeSystem that a simulation calls repeatedly."""

    def __init__(self, system: OdeSystem, variables: Sequence[str]) -> None:
        self.system = system
        states = list(system.state_names)
        params = list(system.parameter_names)
        fc = FunctionCompiler(system.time_symbol, states, params, system.assignments)
        self.rhs = fc.compile("_rhs", [system.rates[s] for s in states])
        self.initial = fc.compile("_initial", [s.initial for s in system.states])
        outputs = [_output_expr(system, v) for v in variables]
        self.observe = fc.compile("_observe", outputs)
        self.index = {n: i for i, n in enumerate(states)}
        self.triggers = _Triggers([e.trigger for e in system.events])
        atoms = self.triggers.atoms
        self.atom_values = (
            fc.compile("_atoms", [side for a in atoms for side in (a.lhs, a.rhs)])
            if atoms
            else None
        )
        varying = set(states)
        for name, expr in system.assignments:
            if {s.name for s in expr.free_symbols} & varying:
                varying.add(name)
        for atom in atoms:
            atom.reads_state = bool({s.name for s in atom.g.free_symbols} & varying)
        self.event_values = [
            fc.compile(f"_event{k}", [value for _, value in e.assignments])
            for k, e in enumerate(system.events)
        ]
        self.event_targets = [
            [self.index[target] for target, _ in e.assignments] for e in system.events
        ]
        self.priorities = [
            fc.compile(f"_priority{k}", [e.priority]) if e.priority is not None else None
            for k, e in enumerate(system.events)
        ]


def _output_expr(system: OdeSystem, name: str) -> sympy.Expr:
    if name in system.reported:
        return system.reported[name]
    known = set(system.state_names) | set(system.parameter_names)
    known |= {n for n, _ in system.assignments}
    if name in known:
        return sympy.Symbol(name)
    raise ParameterError(
        f"unknown variable {name!r}; the model reports {sorted(system.reported)[:20]}"
    )


def simulate_reference(
    system: OdeSystem,
    times: npt.ArrayLike,
    params: Mapping[str, float] | None = None,
    *,
    variables: Sequence[str] | None = None,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    method: str = "LSODA",
    seed: int | None = 0,
) -> pd.DataFrame:
    """Integrate an :class:`OdeSystem` with scipy and SBML event semantics.

    Parameters
    ----------
    system : OdeSystem
        The model.
    times : array_like
        Output times, increasing, in the model's time unit
        (``system.time_unit``); integration starts at ``times[0]``.
    params : mapping of str to float, optional
        Values replacing the model's own parameter values.
    variables : sequence of str, optional
        Names to report (libRoadRunner naming, e.g. ``'S1'``, ``'[S1]'``,
        ``'k1'``); default: every name in ``system.reported``.
    rtol, atol : float
        Integrator tolerances (tight by default: this is a reference).
    method : str
        A stiff-capable scipy method: ``'LSODA'`` (default), ``'BDF'`` or ``'Radau'``.
    seed : int or None
        Seed of the random order in which simultaneous events of equal
        priority execute (the SBML specification asks for a random order);
        ``None`` draws a fresh one.

    Returns
    -------
    pandas.DataFrame
        A ``time`` column and one column per variable, in the order asked
        (a model quantity named ``time`` gets a second column of that name).

    Raises
    ------
    ParameterError
        Unknown parameter or variable name.
    SimulationError
        The integrator failed, the model's math failed (division by zero,
        log of a negative number, ...), or events fired without end.
    """
    t_out = np.asarray(times, dtype=float)
    if t_out.ndim != 1 or t_out.size == 0 or np.any(np.diff(t_out) < 0):
        raise ValueError("`times` must be a non-empty increasing 1-D array")
    names = list(variables) if variables is not None else list(system.reported)
    compiled = _Compiled(system, names)
    p = _parameter_values(system, params)
    run = _Run(compiled, p, rtol=rtol, atol=atol, method=method, seed=seed)
    try:
        values = run.simulate(t_out)
    except (ZeroDivisionError, OverflowError) as error:
        raise SimulationError(
            f"the model's math failed ({error}) while integrating {system.name!r}; "
            "a rate or assignment divides by zero or overflows"
        ) from error
    except ValueError as error:
        if "math domain error" not in str(error):
            raise
        raise SimulationError(
            f"the model's math left its domain (e.g. log of a non-positive number, "
            f"sqrt of a negative one) while integrating {system.name!r}"
        ) from error
    frame = pd.DataFrame(values, columns=names)
    # a model may have a quantity called "time": keep both columns
    frame.insert(0, "time", t_out, allow_duplicates=True)
    return frame


def _parameter_values(system: OdeSystem, params: Mapping[str, float] | None) -> list[float]:
    values = system.default_values()
    if params:
        unknown = sorted(set(params) - set(values))
        if unknown:
            raise ParameterError(
                f"unknown parameter(s) {unknown}; the model's parameters are {sorted(values)}"
            )
        values.update({k: float(v) for k, v in params.items()})
    return [values[n] for n in system.parameter_names]


class _Run:
    """One simulation: the state, atom truths and trigger values between segments."""

    def __init__(
        self,
        compiled: _Compiled,
        p: list[float],
        *,
        rtol: float,
        atol: float,
        method: str,
        seed: int | None,
    ) -> None:
        self.c = compiled
        self.rng = np.random.default_rng(seed)
        self.p = p
        self.rtol = rtol
        self.atol = atol
        self.method = method
        self.events = compiled.system.events
        self.atoms = compiled.triggers.atoms
        self._cache_key: tuple | None = None
        self._cache_val: list[float] = []

    # -- evaluation helpers --------------------------------------------------------

    def _sides(self, t: float, y: Sequence[float]) -> list[float]:
        """[lhs0, rhs0, lhs1, rhs1, ...] of the atoms, cached for the last (t, y)."""
        if self.c.atom_values is None:
            return []
        key = (t, tuple(y))
        if key != self._cache_key:
            self._cache_key = key
            self._cache_val = self.c.atom_values(t, y, self.p)
        return self._cache_val

    def _g(self, t: float, y: Sequence[float]) -> list[float]:
        sides = self._sides(t, y)
        return [sides[2 * i] - sides[2 * i + 1] for i in range(len(self.atoms))]

    def _hysteresis(self, t: float, y: Sequence[float]) -> list[float]:
        """Per atom, how far ``g`` must pass zero to count as a crossing.

        Atoms that read states get a band of ten times the integrator's error
        tolerance on their two sides, so that solver noise around a state
        resting on a threshold does not fire an event at every step; atoms of
        time and constants only are exact.
        """
        sides = self._sides(t, y)
        bands = []
        for i, atom in enumerate(self.atoms):
            if not atom.reads_state or atom.momentary:
                bands.append(0.0)
                continue
            scale = abs(sides[2 * i]) + abs(sides[2 * i + 1])
            bands.append(10.0 * (self.rtol * scale + self.atol))
        return bands

    def _trigger_values(self) -> list[bool]:
        return [f(self.truth) for f in self.c.triggers.functions]

    def _reevaluate_atoms(self, t: float, y: list[float], keep: dict[int, float]) -> None:
        """Truth of every atom from the state; atoms in `keep` stay as they are if unchanged."""
        g = self._g(t, y)
        for i, atom in enumerate(self.atoms):
            if i in keep and g[i] == keep[i]:
                continue
            self.truth[i] = atom.truth(float(g[i]))

    # -- events --------------------------------------------------------------------

    def _priority(self, k: int, t: float, y: list[float]) -> float:
        f = self.c.priorities[k]
        return -math.inf if f is None else float(f(t, y, self.p)[0])

    def _triggered(
        self, t: float, y: list[float], now: list[bool] | None = None
    ) -> list[tuple[int, list | None]]:
        """Events whose trigger just went false -> true: (index, values if taken now)."""
        now = self._trigger_values() if now is None else now
        fired = [k for k, e in enumerate(self.events) if now[k] and not self.previous[k]]
        self.previous = now
        return [
            (
                k,
                self.c.event_values[k](t, y, self.p)
                if self.events[k].use_values_from_trigger_time
                else None,
            )
            for k in fired
        ]

    def _execute_events(self, t: float, y: list[float], keep: dict[int, float]) -> list[float]:
        """Fire every event whose trigger went false -> true at time `t`; return the new state.

        Each triggering is its own pending execution, carrying the values of
        its assignments when they are taken at trigger time, so an event
        triggered several times at one instant executes several times (SBML
        Test Suite 00978). The highest priority executes first; ties are
        broken at random, as the specification asks.
        """
        pending = self._triggered(t, y)
        count = 0
        while pending:
            count += 1
            if count > _MAX_CASCADE:
                raise SimulationError(
                    f"events fired more than {_MAX_CASCADE} times at t={t}; "
                    "the model's events trigger each other without end"
                )
            priorities = [self._priority(k, t, y) for k, _ in pending]
            top = max(priorities)
            tied = [i for i, p in enumerate(priorities) if p == top]
            chosen = tied[0] if len(tied) == 1 else tied[int(self.rng.integers(len(tied)))]
            k, values = pending.pop(chosen)
            if values is None:
                values = self.c.event_values[k](t, y, self.p)
            y = list(y)
            for index, value in zip(self.c.event_targets[k], values, strict=True):
                y[index] = float(value)
            self._reevaluate_atoms(t, y, keep)
            now = self._trigger_values()
            pending = [(j, v) for j, v in pending if now[j] or self.events[j].persistent]
            pending.extend(self._triggered(t, y, now))
        return y

    def _after_crossing(self, t: float, y: list[float], crossed: int | None) -> list[float]:
        """Update atom truths after a stop at `t` and execute the events that fire."""
        g = self._g(t, y)
        keep: dict[int, float] = {}
        for i, atom in enumerate(self.atoms):
            if i == crossed:
                keep[i] = g[i]
                if atom.momentary:
                    self.truth[i] = atom.op == "=="
                else:
                    self.truth[i] = not self.truth[i]
            elif atom.momentary:
                self.truth[i] = atom.truth(float(g[i]))
        y = self._execute_events(t, y, keep)
        if crossed is not None and self.atoms[crossed].momentary:
            self.truth[crossed] = self.atoms[crossed].op == "!="
            y = self._execute_events(t, y, {})
        return y

    def _event_functions(self, t_start: float, y_start: list[float]) -> list[Callable]:
        functions = []
        bands = self._hysteresis(t_start, y_start)
        for i, atom in enumerate(self.atoms):
            shift = bands[i] if not self.truth[i] else -bands[i]

            def g(
                t: float,
                y: np.ndarray,
                i: int = i,
                momentary: bool = atom.momentary,
                shift: float = shift,
            ) -> float:
                if momentary and t == t_start:
                    return math.nan
                sides = self._sides(t, y.tolist())
                return sides[2 * i] - sides[2 * i + 1] - shift

            g.terminal = True  # type: ignore[attr-defined]
            if atom.momentary:
                g.direction = 0.0  # type: ignore[attr-defined]
            else:
                g.direction = -1.0 if self.truth[i] else 1.0  # type: ignore[attr-defined]
            functions.append(g)
        return functions

    # -- the integration loop --------------------------------------------------------

    def simulate(self, t_out: np.ndarray) -> np.ndarray:
        c = self.c
        t = float(t_out[0])
        t_end = float(t_out[-1])
        y = [float(v) for v in c.initial(t, [0.0] * len(c.index), self.p)]
        out = np.full((t_out.size, len(c.observe(t, y, self.p)) if t_out.size else 0), np.nan)
        self.truth = [a.truth(float(g)) for a, g in zip(self.atoms, self._g(t, y), strict=True)]
        self.previous = [e.initial_value for e in self.events]
        y = self._after_crossing(t, y, None) if self.events else y
        done = 0  # outputs recorded so far

        def record_at_event(t_event: float, state: list[float]) -> None:
            nonlocal done
            while done < t_out.size and t_out[done] <= t_event + _TIME_MATCH * max(
                1.0, abs(t_event)
            ):
                out[done] = c.observe(float(t_out[done]), state, self.p)
                done += 1

        record_at_event(t, y)
        rhs = c.rhs
        p = self.p

        def fun(time: float, state: np.ndarray) -> list[float]:
            return rhs(time, state.tolist(), p)

        segments = 0
        while done < t_out.size:
            segments += 1
            if segments > _MAX_SEGMENTS:
                raise SimulationError(
                    f"more than {_MAX_SEGMENTS} events before t={t_end}; giving up at t={t}"
                )
            if not y:
                for i in range(done, t_out.size):
                    out[i] = c.observe(float(t_out[i]), y, p)
                break
            t_eval = t_out[done:]
            sol = solve_ivp(
                fun,
                (t, t_end),
                np.asarray(y, dtype=float),
                method=self.method,
                t_eval=t_eval,
                events=self._event_functions(t, y) or None,
                rtol=self.rtol,
                atol=self.atol,
            )
            if sol.status == -1:
                raise SimulationError(
                    f"integration failed at t={sol.t[-1] if sol.t.size else t} "
                    f"({self.method}): {sol.message}"
                )
            if sol.status == 1:
                crossed = next(i for i, te in enumerate(sol.t_events) if te.size)
                t_event = float(sol.t_events[crossed][0])
                y_event = [float(v) for v in sol.y_events[crossed][0]]
            else:
                crossed = None
                t_event = t_end
                y_event = None
            limit = t_event - _TIME_MATCH * max(1.0, abs(t_event))
            for time, state in zip(sol.t, np.asarray(sol.y).reshape(len(y), -1).T, strict=True):
                if crossed is not None and time > limit:
                    break
                out[done] = c.observe(float(time), state.tolist(), p)
                done += 1
            if crossed is None:
                break
            t = t_event
            y = self._after_crossing(t, y_event, crossed)
            record_at_event(t, y)
        return out
