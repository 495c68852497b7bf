"""Speed and accuracy of the il21pk engine against scipy and libRoadRunner.

The case is the clinical 5-on/9-off schedule: 30 ug/kg IV once daily for 5
days every 14 days, 2 cycles (doses at 0-96 h and 336-432 h), simulated from
0 to 672 h on the hourly grid (673 output times) with ``rtol=1e-6`` and
``atol=1e-9``. Everything runs on one thread.

Three parts are measured and printed as tables:

1. One simulation: median wall time of ``il21pk.simulate`` (default
   ``"numba-bdf"`` method, tidy frame included) over 30 repetitions after a
   warm-up call, against ``simulate(method="LSODA")`` (odeint), a plain
   hand-written ``scipy.integrate.solve_ivp(method="LSODA")`` loop restarted
   at each dose (on the model's generated stacked right-hand side), and
   libRoadRunner (CVODE) on the model's own SBML export
   ``model.to_sbml(params, regimen)``.
2. 1,000 parameter sets (``kon``, ``kp_nk`` and ``cl`` drawn log-uniformly
   with ``numpy.random.default_rng(12345)``): ``run_batch`` with
   ``"numba-bdf"``, the stacked scipy LSODA method and a libRoadRunner loop.
   Only ``simulate`` calls are timed for libRoadRunner: each set's varied
   user-level parameters are written by name into the one RoadRunner
   instance after ``resetAll``, then ``reset`` re-evaluates the initial
   assignments (derived constants are assignment rules), outside the timed
   region. ``run_batch`` is timed end to end.
3. Accuracy on the first 50 sets: maximal relative error of the IFN-gamma and
   IL-21 AUCs (solver-integrated AUC states), peak and final ``nk_blood`` and
   peak ``ifng_plasma``, against a reference integrated per set with LSODA at
   ``rtol=1e-11, atol=1e-14`` (itself checked against Radau on set 0).

libRoadRunner, antimony and python-libsbml are optional: without them their
rows are skipped.

Run from the repository root::

    python benchmarks/bench_engine.py          # full run, N = 1000
    python benchmarks/bench_engine.py --quick  # N = 100, 10 accuracy sets
"""

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy/numba are imported

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402

import il21pk as ip  # noqa: E402
from il21pk.analysis.simulate import (  # noqa: E402
    BatchResult,
    default_grid,
    parameter_columns,
    run_batch,
)
from il21pk.engine.events import compile_events  # noqa: E402
from il21pk.engine.kernels import compiled, prepare  # noqa: E402

try:
    import antimony  # noqa: F401  (model.to_sbml needs it)
    import libsbml  # noqa: F401
    import roadrunner
except ImportError:
    roadrunner = None

T_END = 672.0
RTOL, ATOL = 1e-6, 1e-9
REF_RTOL, REF_ATOL = 1e-11, 1e-14
SEED = 12345
#: Parameters varied across sets: log-uniform (low, high) in their own units.
RANGES = {"kon": (3.6, 360.0), "kp_nk": (0.001, 0.02), "cl": (2.0, 10.0)}
REPEATS = 30
LSODA_SUBSET = 100
LSODA_BUDGET_S = 120.0
RR_SINGLE = "libRoadRunner simulate() (CVODE)"
METRICS = ("IFN-g AUC", "IL-21 AUC", "peak nk_blood", "final nk_blood", "peak ifng_plasma")


# -- setup ---------------------------------------------------------------------
def case() -> tuple[ip.Model, ip.ParameterSet, ip.Regimen, np.ndarray]:
    """The model, the human parameter set, the regimen and the output grid."""
    model = ip.Model.v1()
    params = ip.parameter_sets.load("human")
    regimen = ip.Regimen.five_on_nine_off(ip.Dose(30, unit="ug/kg"), cycles=2)
    return model, params, regimen, default_grid(regimen, T_END)


def draw_sets(n: int) -> dict[str, np.ndarray]:
    """`n` values of each parameter in :data:`RANGES`, log-uniform."""
    rng = np.random.default_rng(SEED)
    return {name: np.exp(rng.uniform(np.log(lo), np.log(hi), n))
            for name, (lo, hi) in RANGES.items()}


def columns(model: ip.Model, params: ip.ParameterSet, sets: dict[str, np.ndarray],
            rows: slice) -> dict[str, np.ndarray]:
    """``run_batch`` columns of the sets in `rows`."""
    return {**parameter_columns(model, params), **{name: v[rows] for name, v in sets.items()}}


# -- timing --------------------------------------------------------------------
def seconds(fn: Callable[[], object], setup: Callable[[], object] | None = None) -> float:
    """Wall time of one call of `fn`, after an untimed call of `setup`."""
    if setup is not None:
        setup()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_seconds(fn: Callable[[], object], repeats: int,
                   setup: Callable[[], object] | None = None) -> float:
    """Median of `repeats` :func:`seconds` (warm up before calling this)."""
    return statistics.median(seconds(fn, setup) for _ in range(repeats))


# -- metrics -------------------------------------------------------------------
def metrics(nk: np.ndarray, ifng: np.ndarray, auc_ifng: np.ndarray,
            auc_il21: np.ndarray) -> dict[str, np.ndarray]:
    """The compared quantities (N,) from nk_blood and ifng_plasma (N, T) and the AUCs."""
    return dict(zip(METRICS, (auc_ifng, auc_il21, nk.max(axis=1), nk[:, -1], ifng.max(axis=1)),
                    strict=True))


def batch_metrics(batch: BatchResult) -> dict[str, np.ndarray]:
    """:func:`metrics` of a ``run_batch`` result."""
    out = batch.outputs
    return metrics(out["nk_blood"], out["ifng_plasma"], batch.exact_auc["ifng_plasma"],
                   batch.exact_auc["il21_plasma"])


def max_relative_error(test: dict[str, np.ndarray], ref: dict[str, np.ndarray],
                       n: int) -> dict[str, float]:
    """Largest |test - ref| / |ref| over the first `n` sets, per metric (NaN counts as inf)."""
    out = {}
    for name in METRICS:
        err = np.abs(test[name][:n] - ref[name][:n]) / np.abs(ref[name][:n])
        out[name] = float(np.max(np.where(np.isnan(err), np.inf, err)))
    return out


# -- plain scipy baseline ------------------------------------------------------
def plain_lsoda(model: ip.Model, cols: dict[str, np.ndarray], regimen: ip.Regimen,
                grid: np.ndarray) -> np.ndarray:
    """States (T, n_states) of one set with ``solve_ivp(method="LSODA")``, restarted at doses."""
    k, y0 = prepare(model, cols)
    events = compile_events(model, regimen, cols, n=1)
    stacked_rhs = compiled(model).module.stacked_rhs  # (t, y, k (N, n_kernel), u (N, n_drugs))
    breaks = np.union1d(events.times[events.times < T_END], [0.0, T_END])
    y, infusion = y0[0].copy(), np.zeros(events.rates.shape[1:])
    states = np.empty((grid.shape[0], y.shape[0]))
    for a, b in zip(breaks[:-1], breaks[1:], strict=True):
        hit = np.flatnonzero(events.times == a)
        if hit.size:
            y[events.bolus_state] += events.bolus[hit[0], 0]
            infusion = np.ascontiguousarray(events.rates[hit[0]])
        inside = (grid >= a) & ((grid < b) | (b == T_END))
        times = np.union1d(grid[inside], [b])
        sol = solve_ivp(stacked_rhs, (a, b), y, method="LSODA", t_eval=times, rtol=RTOL,
                        atol=ATOL, args=(k, infusion))
        if not sol.success:
            raise RuntimeError(f"plain LSODA failed at t={a:g} h: {sol.message}")
        states[inside] = sol.y.T[:inside.sum()]
        y = sol.y[:, -1].copy()
    return states


# -- libRoadRunner -------------------------------------------------------------
class RoadRunnerCase:
    """One RoadRunner instance of the model's SBML export; sets are loaded by name.

    The export (``model.to_sbml``) holds the user-level parameters (``kon``,
    ``cl``, ...); the constants derived from them are assignment rules and
    the baselines initial assignments. A set is loaded by ``resetAll()``,
    writing its varied parameters by name, and ``reset()``, which
    re-evaluates the initial assignments with the new values; the t = 0 dose
    event then fires as usual. The first set's baselines are checked against
    il21pk's.
    """

    def __init__(self, model: ip.Model, params: ip.ParameterSet, regimen: ip.Regimen,
                 grid: np.ndarray) -> None:
        if not np.array_equal(grid, np.arange(T_END + 1)):
            raise ValueError("the RoadRunner comparison expects the hourly grid 0..t_end")
        start = time.perf_counter()
        sbml = model.to_sbml(params, regimen)
        self.export_seconds = time.perf_counter() - start
        start = time.perf_counter()
        self.rr = roadrunner.RoadRunner(sbml)
        self.build_seconds = time.perf_counter() - start
        roadrunner.Logger.setLevel(roadrunner.Logger.LOG_ERROR)  # CVODE "t + h = t" warnings
        self.scaled_atol = self._scalar_atol_effect()
        self.state_names = list(model.state_names)
        self.rr.integrator.relative_tolerance = RTOL
        self.rr.integrator.setValue("absolute_tolerance", [ATOL] * len(self.state_names))
        if not np.allclose(self.rr.integrator.getAbsoluteToleranceVector(), ATOL, rtol=0):
            raise RuntimeError("RoadRunner did not accept a vector absolute tolerance")
        self.rr.timeCourseSelections = ["time", *self.state_names]
        self.model, self.regimen, self.n_times = model, regimen, grid.shape[0]
        self.base = parameter_columns(model, params)

    def _scalar_atol_effect(self) -> tuple[float, float]:
        """Range of the per-state tolerances RoadRunner derives from a scalar ATOL."""
        self.rr.integrator.setValue("absolute_tolerance", ATOL)
        vector = np.asarray(self.rr.integrator.getAbsoluteToleranceVector())
        return float(vector.min()), float(vector.max())

    def load(self, values: dict[str, float] | None = None) -> None:
        """Reset, write one set's parameters by name, re-evaluate the initial assignments."""
        self.rr.resetAll()
        if values:
            self.rr.setValues(list(values), [float(v) for v in values.values()])
            self.rr.reset()

    def simulate(self):
        """The RoadRunner time course of the loaded set (time, then the states)."""
        return self.rr.simulate(0.0, T_END, self.n_times)

    def states(self, result) -> np.ndarray:
        """States (T, n_states) from a :meth:`simulate` result, in il21pk order."""
        if list(result.colnames) != ["time", *self.state_names]:
            raise RuntimeError(f"unexpected RoadRunner columns {result.colnames}")
        return np.asarray(result)[:, 1:]

    def check_baseline(self, sets: dict[str, np.ndarray]) -> float:
        """Largest relative difference of the first set's t=0 states from il21pk's."""
        self.load({name: v[0] for name, v in sets.items()})
        y = self.states(self.simulate())[0]
        cols = {**self.base, **{name: v[:1] for name, v in sets.items()}}
        y0 = prepare(self.model, cols)[1][0].copy()
        events = compile_events(self.model, self.regimen, cols, n=1)
        first = np.flatnonzero(events.times == 0.0)
        if first.size:  # the t = 0 dose has fired in RoadRunner's first row
            y0[events.bolus_state] += events.bolus[first[0], 0]
        scale = np.maximum(np.abs(y0), 1e-12)
        return float(np.max(np.abs(y - y0) / scale))

    def run_sets(self, sets: dict[str, np.ndarray]) -> tuple[float, float, dict, int]:
        """Simulate every set (varied parameters `sets`, the rest from the export).

        Returns the summed time of the ``simulate`` calls, the whole loop's
        time (with ``resetAll`` and loading), the metrics and the failure count.
        """
        n, names = next(iter(sets.values())).shape[0], self.state_names
        nk, ifng = np.full((2, n, self.n_times), np.nan)
        auc = np.full((n, 2), np.nan)
        i_nk, i_ifng = names.index("nk_blood"), names.index("ifng_plasma")
        i_auc = [names.index("ifng_auc"), names.index("il21_auc")]
        timed, failures, loop_start = 0.0, 0, time.perf_counter()
        for m in range(n):
            self.load({name: v[m] for name, v in sets.items()})
            start = time.perf_counter()
            try:
                result = self.simulate()
            except RuntimeError:
                failures += 1
                continue
            finally:
                timed += time.perf_counter() - start
            states = self.states(result)
            nk[m], ifng[m] = states[:, i_nk], states[:, i_ifng]
            auc[m] = states[-1, i_auc] - states[0, i_auc]
        loop = time.perf_counter() - loop_start
        return timed, loop, metrics(nk, ifng, auc[:, 0], auc[:, 1]), failures


# -- the three parts -----------------------------------------------------------
def single_simulation(model, params, regimen, grid, rr: RoadRunnerCase | None) -> None:
    """Part 1: one simulation."""
    cols = parameter_columns(model, params)
    runs: dict[str, Callable[[], object]] = {
        'il21pk simulate(), "numba-bdf" + frame':
            lambda: ip.simulate(model, regimen, params, t_end=T_END).frame,
        'il21pk run_batch(N=1), "numba-bdf"':
            lambda: run_batch(model, regimen, cols, t_eval=grid, t_end=T_END),
        'il21pk simulate(), "LSODA" (odeint) + frame':
            lambda: ip.simulate(model, regimen, params, t_end=T_END, method="LSODA").frame,
        "plain solve_ivp LSODA, restarted at doses": lambda: plain_lsoda(model, cols, regimen,
                                                                         grid),
    }
    setups: dict[str, Callable[[], object]] = {}
    if rr is not None:
        runs[RR_SINGLE] = rr.simulate
        setups[RR_SINGLE] = rr.load
    first = {name: seconds(fn, setups.get(name)) for name, fn in runs.items()}
    median = {name: median_seconds(fn, REPEATS, setups.get(name)) for name, fn in runs.items()}

    plain = median["plain solve_ivp LSODA, restarted at doses"]
    rr_median = median.get(RR_SINGLE)
    print(f"\n1. One simulation: median of {REPEATS} calls after a warm-up call")
    print(f"   {'method':<44}{'first call':>12}{'median':>11}{'/ plain LSODA':>15}"
          f"{'/ RoadRunner':>14}")
    for name, t in median.items():
        vs_rr = f"{t / rr_median:>14.3f}" if rr_median else f"{'-':>14}"
        print(f"   {name:<44}{first[name] * 1e3:>9.1f} ms{t * 1e3:>8.2f} ms{t / plain:>15.3f}"
              f"{vs_rr}")
    print("   first call of numba-bdf includes loading the compiled kernels from numba's disk "
          "cache (or compiling them if the cache is cold)")
    if rr is not None:
        print(f"   RoadRunner model (not in the table): model.to_sbml {rr.export_seconds * 1e3:.0f}"
              f" ms, SBML -> LLVM {rr.build_seconds * 1e3:.0f} ms")
    i_auc = model.state_names.index("ifng_auc")
    auc = {"numba-bdf": run_batch(model, regimen, cols, t_eval=grid,
                                  t_end=T_END).exact_auc["ifng_plasma"][0],
           "plain LSODA": np.ptp(plain_lsoda(model, cols, regimen, grid)[:, i_auc])}
    if rr is not None:
        setups[RR_SINGLE]()
        auc["RoadRunner"] = np.ptp(rr.states(rr.simulate())[:, i_auc])
    print("   check, IFN-g AUC relative to numba-bdf: " + ", ".join(
        f"{name} {abs(value / auc['numba-bdf'] - 1):.1e}" for name, value in auc.items()
        if name != "numba-bdf"))


def many_sets(model, params, regimen, grid, sets, rr: RoadRunnerCase | None) -> dict:
    """Part 2: N parameter sets. Returns the metrics of each method that ran."""
    n = next(iter(sets.values())).shape[0]
    cols = columns(model, params, sets, slice(None))
    rows: list[tuple[str, float, str]] = []
    found: dict[str, dict] = {}

    start = time.perf_counter()
    batch = run_batch(model, regimen, cols, t_eval=grid, t_end=T_END)
    rows.append(('il21pk run_batch, "numba-bdf"', time.perf_counter() - start,
                 f"{np.count_nonzero(~batch.success)} failed"))
    found['numba-bdf'] = batch_metrics(batch)

    subset = min(n, LSODA_SUBSET)
    sub_cols = columns(model, params, sets, slice(0, subset))
    start = time.perf_counter()
    batch = run_batch(model, regimen, sub_cols, t_eval=grid, t_end=T_END, method="LSODA")
    lsoda_time, lsoda_n = time.perf_counter() - start, subset
    if n > subset and lsoda_time * n / subset <= LSODA_BUDGET_S:
        start = time.perf_counter()
        batch = run_batch(model, regimen, cols, t_eval=grid, t_end=T_END, method="LSODA")
        lsoda_time, lsoda_n = time.perf_counter() - start, n
    note = "" if lsoda_n == n else f"; extrapolated linearly from N={lsoda_n}"
    rows.append((f'il21pk run_batch, "LSODA" (odeint, stacked N={lsoda_n})',
                 lsoda_time * n / lsoda_n, f"{'ok' if batch.success.all() else 'FAILED'}{note}"))
    found[f"LSODA stacked N={lsoda_n}"] = batch_metrics(batch)

    if rr is not None:
        timed, loop, rr_metrics, failures = rr.run_sets(sets)
        rows.append(("libRoadRunner loop, simulate() calls only", timed, f"{failures} failed"))
        found["RoadRunner"] = rr_metrics

    rr_time = rows[-1][1] if rr is not None else None
    print(f"\n2. {n} parameter sets: {', '.join(RANGES)} log-uniform "
          f"({'; '.join(f'{k} {lo:g}-{hi:g}' for k, (lo, hi) in RANGES.items())}), seed {SEED}")
    print(f"   {'method':<50}{'s per ' + str(n):>11}{'ms/set':>9}{'/ RoadRunner':>14}  note")
    for name, t, info in rows:
        vs_rr = f"{t / rr_time:>14.3f}" if rr_time else f"{'-':>14}"
        print(f"   {name:<50}{t:>11.2f}{t / n * 1e3:>9.2f}{vs_rr}  {info}")
    if rr is not None:
        print(f"   RoadRunner loop including resetAll() and loading each set: {loop:.2f} s")
        ratio = rows[0][1] / rr_time
        print(f"   target numba-bdf <= 0.25 x RoadRunner: {ratio:.3f} x -> "
              f"{'MET' if ratio <= 0.25 else 'NOT MET'}")
        print(f"   RoadRunner, first set loaded by name: t=0 states within "
              f"{rr.check_baseline(sets):.1e} of il21pk's (relative)")
    return found


def accuracy(model, params, regimen, grid, sets, found: dict, n_ref: int) -> None:
    """Part 3: errors of each method's first `n_ref` sets against a tight reference."""
    def reference(n: int, method: str) -> dict[str, np.ndarray]:
        """Metrics of the first `n` sets, each integrated alone at the tight tolerances."""
        parts = [batch_metrics(run_batch(model, regimen, columns(model, params, sets,
                                                                slice(i, i + 1)),
                                         t_eval=grid, t_end=T_END, method=method,
                                         rtol=REF_RTOL, atol=REF_ATOL))
                 for i in range(n)]
        return {name: np.concatenate([p[name] for p in parts]) for name in METRICS}

    start = time.perf_counter()
    ref = reference(n_ref, "LSODA")
    ref_time = time.perf_counter() - start
    radau = reference(1, "Radau")
    check = max(max_relative_error(radau, ref, 1).values())

    errors = {name: max_relative_error(m, ref, n_ref) for name, m in found.items()}
    print(f"\n3. Accuracy: max relative error over the first {n_ref} sets, rtol {RTOL:g}, "
          f"atol {ATOL:g}")
    print(f"   reference: LSODA per set at rtol {REF_RTOL:g}, atol {REF_ATOL:g} "
          f"({ref_time:.1f} s); Radau at the same tolerances differs by <= {check:.1e} on set 0")
    print(f"   {'metric':<20}" + "".join(f"{name:>24}" for name in errors))
    for metric in METRICS:
        print(f"   {metric:<20}" + "".join(f"{e[metric]:>24.2e}" for e in errors.values()))
    worst = {name: max(e.values()) for name, e in errors.items()}
    print(f"   {'worst':<20}" + "".join(f"{w:>24.2e}" for w in worst.values()))
    print("   target <= 1e-5: " + ", ".join(f"{name} {'MET' if w <= 1e-5 else 'NOT MET'}"
                                            for name, w in worst.items()))


def main() -> None:
    """Parse the options, run the three parts and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="100 parameter sets and 10 accuracy sets instead of 1000 and 50")
    args = parser.parse_args()
    n_sets, n_ref = (100, 10) if args.quick else (1000, 50)

    wall = time.perf_counter()
    model, params, regimen, grid = case()
    print("il21pk engine benchmark")
    print(f"   case: {regimen.in_words()}; 0-{T_END:g} h, {grid.shape[0]} output times; "
          f"rtol {RTOL:g}, atol {ATOL:g}; one thread")
    versions = [f"il21pk {ip.__version__}", f"numpy {np.__version__}",
                f"scipy {scipy.__version__}", f"numba {numba.__version__}"]
    rr = None
    if roadrunner is None:
        print("   libroadrunner/antimony not installed: RoadRunner rows skipped")
    else:
        rr = RoadRunnerCase(model, params, regimen, grid)
        versions.append(f"libroadrunner {roadrunner.__version__}")
        low, high = rr.scaled_atol
        print(f"   RoadRunner: CVODE (stiff, BDF), rtol {RTOL:g}, absolute tolerance set as a "
              f"vector of {ATOL:g} for each of {len(model.state_names)} states")
        print(f"   (a scalar {ATOL:g} would be rescaled per state by RoadRunner to "
              f"{low:.1e}..{high:.1e})")
    print(f"   {', '.join(versions)}; Python {platform.python_version()}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")

    sets = draw_sets(n_sets)
    single_simulation(model, params, regimen, grid, rr)
    found = many_sets(model, params, regimen, grid, sets, rr)
    accuracy(model, params, regimen, grid, sets, found, n_ref)
    print(f"\ntotal runtime {time.perf_counter() - wall:.1f} s")


if __name__ == "__main__":
    main()
