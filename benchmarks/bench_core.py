"""Speed and start-up of the generated model core, against the release before
the rewrite (``fe5d22b``) and libRoadRunner, with all ratios measured in one run.

1. Throughput. Model v1 (``ip.Model.v1()``; ``ip.Model()`` in ``fe5d22b``, whose
   default it was), the human set, 30 ug/kg IV
   5 on / 9 off x 2 cycles (0-672 h, hourly grid), ``rtol=1e-6``,
   ``atol=1e-9``, one thread: ``run_batch`` on a virtual population of N
   parameter sets (``ip.virtual_population``, 13 parameters of every stage
   varied log-normally, seed 2026; 1,000 sets, 100 with ``--quick``), timed
   end to end. The new code and ``fe5d22b`` are both packages named
   ``il21pk``, so each runs in its own persistent subprocess (this
   interpreter, ``PYTHONPATH`` set to its checkout); a third subprocess runs
   libRoadRunner (CVODE) on the model's own SBML export
   ``model.to_sbml(params, regimen)``: per set, ``resetAll()``, the varied
   user-level parameters written by name, ``reset()`` (initial assignments
   re-evaluated), then only ``simulate()`` is timed. Each worker is warmed
   first (numba caches loaded or compiled, untimed); then rounds interleave
   the three (new, old, RoadRunner; the first two swap order every round),
   and medians and ratios are reported. Targets: new <= 1.05 x fe5d22b and
   <= 0.25 x libRoadRunner. The results of the three are cross-checked
   (IFN-gamma AUC, IL-21 AUC, peak NK), and the solver's work per simulation
   (steps, RHS calls, Jacobians, LU factorisations) is shown for both versions.
2. Start-up. A fresh process runs ``import il21pk`` and one ``simulate()``
   of the same case: cold (``NUMBA_CACHE_DIR`` and ``IL21PK_CACHE_DIR``
   fresh empty directories) and warm (the same directories, filled by the
   cold run), for model v1 (the same case), for the default model v2 (IL-21
   and rhIL-15 0.3 ug/kg, both 5 on / 9 off), for a small user model written with
   ``ip.Model.compose`` (one-compartment PK with an SC depot driving an
   indirect-response turnover; its generated module is written on first use)
   and for ``fe5d22b``'s default model (v1). Targets: cold first ``simulate()``
   <= 10 s, warm import + first ``simulate()`` <= 2 s. A cold first run is
   interpreted while numba compiles afterwards in the background
   (:mod:`il21pk.engine.startup`); the worker then waits for that compilation,
   timed apart ("then compiling"), and the process time includes it. Cold
   runs also record which compiled functions took the time (numba's
   ``numba:compile`` events, time exclusive of nested compilations).

The machine is usually shared: every timing row shows the CPU other processes
used meanwhile; read wall times with it, and the ratios (interleaved, same
run) rather than absolute times.

Run from the repository root::

    python benchmarks/bench_core.py            # 1,000 sets x 5 rounds; 2 cold, 4 warm starts each
    python benchmarks/bench_core.py --quick    # 100 sets x 3 rounds; 1 cold, 2 warm starts each

``--old PATH`` reuses a checkout of the old release (default: ``git archive
fe5d22b`` into a temporary directory, removed at the end; its numba cache is
then compiled once, untimed, in the warm-up). ``--new PATH`` selects the
checkout measured as the new code (default: this repository).
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy/numba are imported, here and in the workers

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OLD_REF = "fe5d22b"
MARK = "@@bench_core "  # prefix of the workers' JSON replies on stdout

T_END = 672.0
RTOL, ATOL = 1e-6, 1e-9
SEED = 2026
#: Inter-individual variability (omega, log-normal) of the population: every
#: stage is varied; dosing parameters are not (libRoadRunner's SBML has the
#: doses as numbers, so per-kg doses cannot follow a varied body weight).
VARIABILITY = {"cl": 0.3, "v_central": 0.25, "q": 0.3, "kon": 0.5, "kd": 0.5,
               "il21r_per_cell": 0.4, "receptor_cells": 0.3, "ec50_pstat3": 0.5,
               "kp_nk": 0.4, "kp_cd8": 0.4, "nk_blood_0": 0.3, "cd8_blood_0": 0.3,
               "k_ifng": 0.3}
TARGET_OLD, TARGET_RR = 1.05, 0.25
TARGET_COLD_S, TARGET_WARM_S = 10.0, 2.0


# =============================================================================
# Workers: run in subprocesses with PYTHONPATH set to one checkout
# =============================================================================
def _reply(**values) -> None:
    print(MARK + json.dumps(values), flush=True)


def _simulate_module():
    """The module holding ``run_batch`` (``il21pk.analysis.simulate``, formerly
    ``il21pk.simulate``; ``il21pk.simulate`` is also the public function)."""
    import importlib

    for name in ("il21pk.analysis.simulate", "il21pk.simulate"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "run_batch"):
            return module
    raise ImportError("no il21pk module defines run_batch")


def _v1():
    """Model v1 in this checkout: ``Model.v1()``, or ``Model()`` where it was the default."""
    import il21pk as ip

    return ip.Model.v1() if hasattr(ip.Model, "v1") else ip.Model()


def _case():
    """The model, human set, regimen and hourly grid of the benchmark (either version)."""
    import il21pk as ip

    default_grid = _simulate_module().default_grid
    regimen = ip.Regimen.five_on_nine_off(ip.Dose(30, unit="ug/kg"), cycles=2)
    return _v1(), ip.parameter_sets.load("human"), regimen, default_grid(regimen, T_END)


def _population(params, n: int) -> dict:
    """The varied parameters of `n` sets, {name: (n,) array}."""
    import il21pk as ip

    frame = ip.virtual_population(params, n, VARIABILITY, seed=SEED)
    return {name: frame[name].to_numpy(dtype=float) for name in VARIABILITY}


def _summary(ifng_auc, il21_auc, nk_peak) -> dict:
    return {"ifng_auc": [float(x) for x in ifng_auc], "il21_auc": [float(x) for x in il21_auc],
            "nk_peak": [float(x) for x in nk_peak]}


def _fingerprint(population: dict) -> float:
    return float(sum(v.sum() for v in population.values()))


def _solver_counts(engine, run) -> dict:
    """The solver's work counts of one ``run()`` (``engine.integrate`` wrapped meanwhile)."""
    original, seen = engine.integrate, []

    def counting(*a, **kw):
        solution = original(*a, **kw)
        seen.append(solution.counts)
        return solution

    engine.integrate = counting
    try:
        run()
    finally:
        engine.integrate = original
    return seen[0]


def worker_batch(n: int) -> None:
    """Persistent worker: ``run_batch`` of the population on each "run" command."""
    start = time.perf_counter()
    import numpy as np

    import il21pk as ip

    simulate_module = _simulate_module()
    parameter_columns, run_batch = simulate_module.parameter_columns, simulate_module.run_batch

    model, params, regimen, grid = _case()
    population = _population(params, n)
    columns = {**parameter_columns(model, params), **population}

    def run(rows=slice(None)):
        cols = {k: (v[rows] if np.ndim(v) and v.shape[0] == n else v) for k, v in columns.items()}
        return run_batch(model, regimen, cols, t_eval=grid, t_end=T_END, rtol=RTOL, atol=ATOL)

    run(slice(0, 2))  # loads the compiled kernels (or compiles them into the numba cache)
    loaded = time.perf_counter() - start
    run(slice(0, min(n, 20)))  # warm caches and allocators
    _reply(ready=True, il21pk=ip.__file__, load_s=loaded, fingerprint=_fingerprint(population))
    last = None
    for line in sys.stdin:
        command = line.strip()
        if command == "run":
            wall, cpu = time.perf_counter(), time.process_time()
            last = run()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            _reply(wall=wall, cpu=cpu, failed=int(np.count_nonzero(~last.success)))
        elif command == "single":
            times = []
            for _ in range(15):
                t0 = time.perf_counter()
                ip.simulate(model, regimen, params, t_end=T_END, rtol=RTOL, atol=ATOL)
                times.append(time.perf_counter() - t0)
            _reply(median=statistics.median(times))
        elif command == "results":
            last = last if last is not None else run()
            _reply(**_summary(last.exact_auc["ifng_plasma"], last.exact_auc["il21_plasma"],
                              last.outputs["nk_blood"].max(axis=1)))
        elif command == "counts":
            _reply(**{k: v / n for k, v in _solver_counts(simulate_module.engine, run).items()})
        elif command == "quit":
            return


def worker_roadrunner(n: int) -> None:
    """Persistent worker: libRoadRunner on the new code's SBML export, per "run" command."""
    import numpy as np

    try:
        import roadrunner
    except ImportError as error:
        _reply(ready=False, error=f"libroadrunner not installed ({error})")
        return
    run_batch = _simulate_module().run_batch

    model, params, regimen, grid = _case()
    if not np.array_equal(grid, np.arange(T_END + 1)):
        raise ValueError("the RoadRunner comparison expects the hourly grid 0..t_end")
    population = _population(params, n)
    start = time.perf_counter()
    sbml = model.to_sbml(params, regimen)
    rr = roadrunner.RoadRunner(sbml)
    build = time.perf_counter() - start
    roadrunner.Logger.setLevel(roadrunner.Logger.LOG_ERROR)  # CVODE "t + h = t" warnings
    names = list(model.state_names)
    rr.integrator.relative_tolerance = RTOL
    # a vector: RoadRunner rescales a scalar absolute tolerance per state
    rr.integrator.setValue("absolute_tolerance", [ATOL] * len(names))
    if not np.allclose(rr.integrator.getAbsoluteToleranceVector(), ATOL, rtol=0):
        raise RuntimeError("RoadRunner did not accept a vector absolute tolerance")
    rr.timeCourseSelections = ["time", *names]
    varied = list(population)
    values = np.column_stack([population[k] for k in varied])
    i_nk, i_ifng, i_il21 = (names.index(s) for s in ("nk_blood", "ifng_auc", "il21_auc"))

    def load(m: int) -> None:
        rr.resetAll()
        rr.setValues(varied, list(values[m]))
        rr.reset()  # re-evaluates the initial assignments (baselines) with the new values

    # check on set 0 that loading by name reproduces il21pk (baselines included)
    load(0)
    states = np.asarray(rr.simulate(0.0, T_END, grid.shape[0]))[:, 1:]
    cols = {**_simulate_module().parameter_columns(model, params),
            **{k: v[:1] for k, v in population.items()}}
    ref = run_batch(model, regimen, cols, t_eval=grid, t_end=T_END, rtol=RTOL, atol=ATOL)
    check = abs((states[-1, i_ifng] - states[0, i_ifng]) / ref.exact_auc["ifng_plasma"][0] - 1)
    y0 = np.array([ref.baseline[s][0] for s in ("il21r_free", "gc_free", "nk_blood")])
    check_y0 = float(np.max(np.abs(states[0, [names.index("il21r_free"),
                                              names.index("gc_free"), i_nk]] / y0 - 1)))
    for m in range(min(n, 20)):  # warm up
        load(m)
        rr.simulate(0.0, T_END, grid.shape[0])
    _reply(ready=True, version=roadrunner.__version__, build_s=build, check_auc=float(check),
           check_baseline=check_y0, fingerprint=_fingerprint(population))
    summary = None
    for line in sys.stdin:
        command = line.strip()
        if command == "run":
            timed, timed_cpu, failed, wall = 0.0, 0.0, 0, time.perf_counter()
            ifng, il21, nk = np.full((3, n), np.nan)
            for m in range(n):
                load(m)
                t0, c0 = time.perf_counter(), time.process_time()
                try:
                    result = rr.simulate(0.0, T_END, grid.shape[0])
                except RuntimeError:
                    failed += 1
                    continue
                finally:
                    timed += time.perf_counter() - t0
                    timed_cpu += time.process_time() - c0
                s = np.asarray(result)
                ifng[m] = s[-1, 1 + i_ifng] - s[0, 1 + i_ifng]
                il21[m] = s[-1, 1 + i_il21] - s[0, 1 + i_il21]
                nk[m] = s[:, 1 + i_nk].max()
            summary = _summary(ifng, il21, nk)
            _reply(wall=timed, loop=time.perf_counter() - wall, cpu=timed_cpu, failed=failed)
        elif command == "results":
            _reply(**summary)
        elif command == "quit":
            return


def user_model():
    """A small user model: one-compartment PK (SC depot, IV) driving an
    indirect-response turnover (stimulation of production), with its values."""
    import sympy as sp

    import il21pk as ip
    from il21pk import ParameterSpec

    depot, amount, conc, response, infusion = sp.symbols(
        "mab_depot mab_central mab_plasma marker infusion_mab")
    ka, v, cl, kin, kout, emax, ec50 = sp.symbols("ka_mab v_mab cl_mab kin kout emax ec50_mab")
    pk = ip.Stage(
        "pk", "One-compartment PK with first-order SC absorption.",
        states=(ip.State("mab_depot", "nmol", "drug in the SC depot"),
                ip.State("mab_central", "nmol", "drug in the body", reported=False)),
        parameters=(ParameterSpec("mw_mab", "kDa", 1e-3, 1e4, "molecular weight"),
                    ParameterSpec("ka_mab", "1/h", 0.0, 1e3, "SC absorption rate"),
                    ParameterSpec("v_mab", "L", 1e-6, 1e4, "volume of distribution"),
                    ParameterSpec("cl_mab", "L/h", 0.0, 1e4, "clearance")),
        quantities=(ip.Quantity("mab_plasma", amount / v, "nM", "plasma concentration",
                                reported=True),),
        rates={"mab_depot": -ka * depot,
               "mab_central": ka * depot + infusion - cl * conc},
        drugs=(ip.Drug("mab", mw="mw_mab", central="mab_central", depot="mab_depot"),),
    )
    turnover = ip.Stage(
        "marker", "Indirect response: the drug stimulates the production of a marker.",
        states=(ip.State("marker", "1", "the marker, at kin/kout before dosing",
                         initial=kin / kout),),
        parameters=(ParameterSpec("kin", "1/h", 0.0, 1e3, "zero-order production"),
                    ParameterSpec("kout", "1/h", 1e-9, 1e3, "first-order loss"),
                    ParameterSpec("emax", "1", 0.0, 1e3, "maximal stimulation"),
                    ParameterSpec("ec50_mab", "nM", 1e-9, 1e6, "half-maximal concentration")),
        rates={"marker": kin * (1 + emax * conc / (ec50 + conc)) - kout * response},
        inputs={"mab_plasma": None},
    )
    model = ip.Model.compose(pk, turnover, name="bench_user_turnover")
    values = {"mw_mab": (150.0, "assumed"), "ka_mab": (0.01, "assumed"),
              "v_mab": (5.0, "assumed"), "cl_mab": (0.01, "assumed"), "kin": (1.0, "assumed"),
              "kout": (0.1, "assumed"), "emax": (3.0, "assumed"), "ec50_mab": (10.0, "assumed")}
    return model, model.parameter_set(values, base=None)


def worker_startup(which: str) -> None:
    """One-shot worker: import il21pk and the first simulate(), timed; compile breakdown."""
    from numba.core import event

    recorder = event.RecordingListener()
    event.register("numba:compile", recorder)
    start, start_cpu = time.perf_counter(), time.process_time()
    import il21pk as ip

    imported, imported_cpu = time.perf_counter(), time.process_time()
    regimen_default = ip.Regimen.five_on_nine_off(ip.Dose(30, unit="ug/kg"), cycles=2)
    if which == "user":
        model, params = user_model()
        regimen = ip.Regimen.five_on_nine_off(ip.Dose(100, unit="nmol", route="sc"), cycles=2)
    elif which == "v2":  # the default model since v2 (both cytokines, 5 on / 9 off)
        model, params = ip.Model(), None
        regimen = regimen_default + ip.Regimen.five_on_nine_off(
            ip.Dose(0.3, unit="ug/kg", drug="il15"), cycles=2)
    else:
        model, params, regimen = _v1(), None, regimen_default
    result = ip.simulate(model, regimen, params, t_end=T_END, rtol=RTOL, atol=ATOL)
    done, done_cpu = time.perf_counter(), time.process_time()
    if len(result.frame) == 0:
        raise RuntimeError("empty result")
    try:  # a cold first run was interpreted: its compilation ends here
        from il21pk.engine import startup
    except ImportError:  # fe5d22b compiles before its first run
        pass
    else:
        startup.wait()
    compiled_at = time.perf_counter()
    stack, exclusive, count = [], {}, {}
    for ts, ev in recorder.buffer:
        fn = ev.data["dispatcher"].py_func
        name = f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__qualname__}"
        if ev.is_start:
            stack.append([name, ts, 0.0])
        else:
            name, t0, children = stack.pop()
            exclusive[name] = exclusive.get(name, 0.0) + (ts - t0) - children
            count[name] = count.get(name, 0) + 1
            if stack:
                stack[-1][2] += ts - t0
    top = sorted(exclusive.items(), key=lambda kv: -kv[1])
    _reply(import_s=imported - start, simulate_s=done - imported,
           import_cpu_s=imported_cpu - start_cpu, simulate_cpu_s=done_cpu - imported_cpu,
           background_s=compiled_at - done, compiled=len(exclusive),
           compile_s=sum(exclusive.values()),
           top=[(name, seconds, count[name]) for name, seconds in top[:12]])


# =============================================================================
# The parent: starts the workers, interleaves them, prints the tables
# =============================================================================
def busy_cpu_seconds() -> tuple[float, float]:
    from report import busy_cpu_seconds as busy

    return busy()


@dataclass
class Worker:
    """A persistent worker subprocess speaking JSON lines."""

    label: str
    args: list[str]
    checkout: Path
    env: dict = field(default_factory=dict)

    def start(self) -> dict:
        env = {**os.environ, **self.env, "PYTHONPATH": str(self.checkout)}
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()),
                                         *self.args], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env=env, text=True,
                                        cwd=tempfile.gettempdir())
        return self.read()

    def read(self) -> dict:
        for line in self.process.stdout:
            if line.startswith(MARK):
                return json.loads(line[len(MARK):])
        raise RuntimeError(f"worker {self.label} ended (exit code {self.process.wait()})")

    def ask(self, command: str) -> dict:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
            self.process.wait(timeout=60)


@dataclass
class Timing:
    wall: list = field(default_factory=list)
    cpu: list = field(default_factory=list)
    others: list = field(default_factory=list)


def timed_ask(worker: Worker, timing: Timing) -> dict:
    """Send "run", record wall time, CPU and the mean cores other processes used."""
    machine0, mine0 = busy_cpu_seconds()
    start = time.perf_counter()
    reply = worker.ask("run")
    elapsed = time.perf_counter() - start
    machine1, mine1 = busy_cpu_seconds()
    timing.wall.append(reply["wall"])
    timing.cpu.append(reply["cpu"])
    timing.others.append(max(0.0, (machine1 - machine0) - (mine1 - mine0)) / elapsed)
    return reply


def relative_difference(a: dict, b: dict) -> float:
    import numpy as np

    worst = 0.0
    for key in ("ifng_auc", "il21_auc", "nk_peak"):
        x, y = np.asarray(a[key]), np.asarray(b[key])
        err = np.abs(x - y) / np.abs(y)
        worst = max(worst, float(np.max(np.where(np.isnan(err), np.inf, err))))
    return worst


def throughput(new: Path, old: Path, n: int, rounds: int, use_rr: bool) -> list:
    from report import Row

    print(f"\n1. Throughput: run_batch of {n:,} parameter sets (virtual population, "
          f"{len(VARIABILITY)} parameters varied, seed {SEED}), {rounds} interleaved rounds")
    workers = {"new": Worker("new", ["--worker", "batch", "--n", str(n)], new),
               "old": Worker(OLD_REF, ["--worker", "batch", "--n", str(n)], old)}
    if use_rr:
        workers["rr"] = Worker("libRoadRunner", ["--worker", "roadrunner", "--n", str(n)], new)
    ready = {}
    try:
        for key, worker in workers.items():
            start = time.perf_counter()
            ready[key] = worker.start()
            info = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                             for k, v in ready[key].items()
                             if k not in ("ready", "fingerprint", "check_auc", "check_baseline"))
            print(f"   {worker.label:<14} ready after {time.perf_counter() - start:6.1f} s "
                  f"(untimed warm-up; {info})")
        if "rr" in ready and not ready["rr"].get("ready"):
            print(f"   libRoadRunner rows skipped: {ready['rr'].get('error')}")
            workers.pop("rr").process.wait()
            ready.pop("rr")
        prints = {k: round(r["fingerprint"], 6) for k, r in ready.items()}
        if len(set(prints.values())) != 1:
            raise RuntimeError(f"the workers drew different populations: {prints}")
        timing = {key: Timing() for key in workers}
        single = {"new": [], "old": []}
        failed = {key: 0 for key in workers}
        for r in range(rounds):
            order = ["new", "old"] if r % 2 == 0 else ["old", "new"]
            for key in order:
                single[key].append(workers[key].ask("single")["median"])
            order += ["rr"] if "rr" in workers else []
            for key in order:
                reply = timed_ask(workers[key], timing[key])
                failed[key] += reply["failed"]
            line = "  ".join(f"{workers[k].label} {timing[k].wall[-1]:6.2f} s "
                             f"(CPU {timing[k].cpu[-1]:5.2f} s)" for k in order)
            print(f"   round {r + 1}: {line}")
        results = {key: worker.ask("results") for key, worker in workers.items()}
        counts = {key: workers[key].ask("counts") for key in ("new", "old")}
    finally:
        for worker in workers.values():
            worker.stop()

    med = {key: statistics.median(t.wall) for key, t in timing.items()}
    cpu = {key: statistics.median(t.cpu) for key, t in timing.items()}
    others = {key: statistics.mean(t.others) for key, t in timing.items()}

    def ratios(a: str, b: str, what: str) -> list[float]:
        return [x / y for x, y in zip(getattr(timing[a], what), getattr(timing[b], what),
                                      strict=True)]

    print(f"\n   {'':<28}{'median wall':>12}{'ms/set':>8}{'median CPU':>12}{'min..max wall':>16}"
          f"{'failed':>8}{'others CPU':>12}")
    labels = {"new": "il21pk new", "old": f"il21pk {OLD_REF}", "rr": "libRoadRunner simulate()"}
    for key in timing:
        t = timing[key]
        print(f"   {labels[key]:<28}{med[key]:>10.2f} s{med[key] / n * 1e3:>8.2f}"
              f"{cpu[key]:>10.2f} s{min(t.wall):>8.2f}..{max(t.wall):<6.2f}{failed[key]:>8}"
              f"{others[key]:>12.2f}")
    wall_old, cpu_old = ratios("new", "old", "wall"), ratios("new", "old", "cpu")
    print("   per-round ratio new / old, wall: " + ", ".join(f"{x:.3f}" for x in wall_old)
          + ";  CPU: " + ", ".join(f"{x:.3f}" for x in cpu_old))
    one = {key: statistics.median(v) for key, v in single.items()}
    print(f"   one simulate() (frame included; median of 15 calls per round, median over "
          f"rounds): new {one['new'] * 1e3:.1f} ms, {OLD_REF} {one['old'] * 1e3:.1f} ms "
          f"({one['new'] / one['old']:.2f} x)")
    rows = [
        Row(f"{n} sets, new (median of {rounds} rounds)", f"{med['new']:.2f} s", "", None,
            f"{others['new']:.2f}"),
        Row(f"{n} sets, {OLD_REF}", f"{med['old']:.2f} s", "", None, f"{others['old']:.2f}"),
        Row(f"new / {OLD_REF}, wall (ratio of medians)", f"{med['new'] / med['old']:.3f} x",
            f"<= {TARGET_OLD} x", med["new"] / med["old"] <= TARGET_OLD),
        Row(f"new / {OLD_REF}, wall (median per-round ratio)",
            f"{statistics.median(wall_old):.3f} x", f"<= {TARGET_OLD} x",
            statistics.median(wall_old) <= TARGET_OLD),
        Row(f"new / {OLD_REF}, CPU time (median per-round ratio)",
            f"{statistics.median(cpu_old):.3f} x", f"<= {TARGET_OLD} x",
            statistics.median(cpu_old) <= TARGET_OLD),
        Row(f"one simulate(), new / {OLD_REF}", f"{one['new'] * 1e3:.1f} / "
            f"{one['old'] * 1e3:.1f} ms = {one['new'] / one['old']:.2f} x"),
    ]
    if "rr" in timing:
        wall_rr, cpu_rr = ratios("new", "rr", "wall"), ratios("new", "rr", "cpu")
        print("   per-round ratio new / libRoadRunner, wall: "
              + ", ".join(f"{x:.3f}" for x in wall_rr)
              + ";  CPU: " + ", ".join(f"{x:.3f}" for x in cpu_rr))
        rows += [
            Row(f"{n} sets, libRoadRunner {ready['rr']['version']} simulate() calls",
                f"{med['rr']:.2f} s", "", None, f"{others['rr']:.2f}"),
            Row("new / libRoadRunner, wall (ratio of medians)", f"{med['new'] / med['rr']:.3f} x",
                f"<= {TARGET_RR} x", med["new"] / med["rr"] <= TARGET_RR),
            Row("new / libRoadRunner, CPU (median per-round ratio)",
                f"{statistics.median(cpu_rr):.3f} x", f"<= {TARGET_RR} x",
                statistics.median(cpu_rr) <= TARGET_RR),
        ]
        print(f"   libRoadRunner: SBML -> model {ready['rr']['build_s']:.2f} s; set 0 loaded by "
              f"name: baselines within {ready['rr']['check_baseline']:.1e}, IFN-g AUC within "
              f"{ready['rr']['check_auc']:.1e} of il21pk; its times count the simulate() "
              "calls only, not resetAll/setValues/reset")
    print("   results, max relative difference over the sets (IFN-g AUC, IL-21 AUC, peak NK): "
          f"new vs {OLD_REF} {relative_difference(results['new'], results['old']):.1e}"
          + (f", libRoadRunner vs new {relative_difference(results['rr'], results['new']):.1e}"
             if "rr" in results else ""))
    print(f"   solver work per simulation  {'steps':>8}{'RHS':>9}{'Jacobians':>11}{'LU':>8}"
          f"{'err fails':>11}{'Newton fails':>14}")
    for key in ("new", "old"):
        c = counts[key]
        print(f"   {labels[key]:<28}{c['steps']:>8.0f}{c['rhs']:>9.0f}{c['jacobians']:>11.1f}"
              f"{c['lu']:>8.0f}{c['error_test_failures']:>11.1f}{c['newton_failures']:>14.1f}")
    return rows


def startup(new: Path, old: Path, cold_repeats: int, warm_repeats: int) -> list:
    from report import Row

    configs = {"new, model v1": (new, "default"), "new, default model (v2)": (new, "v2"),
               "new, user model": (new, "user"), f"{OLD_REF}, default model (v1)": (old, "default")}
    print(f"\n2. Start-up: fresh process, import il21pk + first simulate(); cold = empty "
          f"NUMBA_CACHE_DIR and IL21PK_CACHE_DIR ({cold_repeats} per case), warm = filled "
          f"({warm_repeats} per case); cases interleaved")
    root = Path(tempfile.mkdtemp(prefix="il21pk-startup-"))
    cold: dict[str, list] = {c: [] for c in configs}
    warm: dict[str, list] = {c: [] for c in configs}
    dirs: dict[str, Path] = {}

    def run(config: str, cache: Path) -> dict:
        checkout, which = configs[config]
        env = {**os.environ, "PYTHONPATH": str(checkout), "NUMBA_CACHE_DIR": str(cache / "numba"),
               "IL21PK_CACHE_DIR": str(cache / "il21pk")}
        machine0, mine0 = busy_cpu_seconds()
        start = time.perf_counter()
        out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker",
                              "startup", "--which", which], env=env, capture_output=True,
                             text=True, cwd=tempfile.gettempdir())
        elapsed = time.perf_counter() - start
        machine1, mine1 = busy_cpu_seconds()
        if out.returncode != 0:
            raise RuntimeError(f"start-up worker failed ({config}):\n{out.stderr[-3000:]}")
        reply = next(json.loads(line[len(MARK):]) for line in out.stdout.splitlines()
                     if line.startswith(MARK))
        reply["process_s"] = elapsed
        reply["others"] = max(0.0, (machine1 - machine0) - (mine1 - mine0)) / elapsed
        return reply

    try:
        for repeat in range(cold_repeats):
            for number, config in enumerate(configs):
                cache = root / f"cold-{repeat}-{number}"  # a fresh, empty directory each time
                dirs[config] = cache
                reply = run(config, cache)
                cold[config].append(reply)
                print(f"   cold {config:<26} import {reply['import_s']:5.2f} s  first simulate "
                      f"{reply['simulate_s']:6.2f} s (CPU {reply['simulate_cpu_s']:6.2f} s); "
                      f"then compiling {reply['background_s']:6.2f} s; process "
                      f"{reply['process_s']:6.2f} s; {reply['compiled']} functions "
                      f"compiled; others' CPU {reply['others']:.2f}")
        for _ in range(warm_repeats):
            for config in configs:
                reply = run(config, dirs[config])
                warm[config].append(reply)
                print(f"   warm {config:<26} import {reply['import_s']:5.2f} s  first simulate "
                      f"{reply['simulate_s']:6.2f} s (CPU import + simulate "
                      f"{reply['import_cpu_s'] + reply['simulate_cpu_s']:5.2f} s; process "
                      f"{reply['process_s']:5.2f} s; others' CPU {reply['others']:.2f})")
    finally:
        shutil.rmtree(root, ignore_errors=True)

    rows = []
    for config in configs:
        c = cold[config]
        sim = statistics.median(r["simulate_s"] for r in c)
        sim_cpu = statistics.median(r["simulate_cpu_s"] for r in c)
        others = statistics.mean(r["others"] for r in c)
        target = config.startswith("new")
        rows.append(Row(f"cold first simulate(), {config}", f"{sim:.1f} s (CPU {sim_cpu:.1f} s)",
                        f"<= {TARGET_COLD_S:g} s" if target else "",
                        sim <= TARGET_COLD_S if target else None, f"{others:.2f}"))
    for config in configs:
        w = warm[config]
        both = statistics.median(r["import_s"] + r["simulate_s"] for r in w)
        imp = statistics.median(r["import_s"] for r in w)
        cpu = statistics.median(r["import_cpu_s"] + r["simulate_cpu_s"] for r in w)
        others = statistics.mean(r["others"] for r in w)
        target = config.startswith("new")
        rows.append(Row(f"warm import + first simulate(), {config}",
                        f"{both:.2f} s (import {imp:.2f} s; CPU {cpu:.2f} s)",
                        f"<= {TARGET_WARM_S:g} s" if target else "",
                        both <= TARGET_WARM_S if target else None, f"{others:.2f}"))
    print("\n   where a cold first simulate() spends its compile time (numba:compile events, "
          "seconds exclusive of nested compilations; first cold run):")
    for config in configs:
        first = cold[config][0]
        print(f"   {config}: {first['compiled']} functions, {first['compile_s']:.1f} s in "
              "numba compilation")
        for name, seconds, count in first["top"][:8]:
            print(f"      {seconds:6.2f} s  {name}" + (f"  ({count} compilations)"
                                                      if count > 1 else ""))
    return rows


def old_checkout(ref: str) -> tuple[Path, Path]:
    """`ref` of this repository exported into a temporary directory (root, checkout)."""
    root = Path(tempfile.mkdtemp(prefix=f"il21pk-{ref}-"))
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    return root, root


def describe(checkout: Path) -> str:
    out = subprocess.run(["git", "-C", str(checkout), "log", "-1", "--format=%h"],
                         capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(checkout), "status", "--porcelain", "--", "il21pk"],
                           capture_output=True, text=True)
    if out.returncode != 0:
        return f"{checkout} (not a git work tree)"
    return f"{checkout} at {out.stdout.strip()}" + (
        " with uncommitted changes in il21pk/" if dirty.stdout.strip() else "")


def main(argv: list[str] | None = None) -> None:
    """Parse the options; run the parent or one worker."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="100 sets x 3 rounds, 1 cold and 2 warm starts per case")
    parser.add_argument("--new", type=Path, default=REPO, help="checkout of the new code")
    parser.add_argument("--old", type=Path, default=None,
                        help=f"checkout of {OLD_REF} (default: git archive into a temp dir)")
    parser.add_argument("--n", type=int, default=None, help="parameter sets (default 1000)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5)")
    parser.add_argument("--cold", type=int, default=None, help="cold starts per case (default 2)")
    parser.add_argument("--warm", type=int, default=None, help="warm starts per case (default 4)")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-startup", action="store_true")
    parser.add_argument("--no-roadrunner", action="store_true")
    parser.add_argument("--worker", choices=("batch", "roadrunner", "startup"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--which", default="default", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    n = args.n or (100 if args.quick else 1000)
    if args.worker == "batch":
        return worker_batch(n)
    if args.worker == "roadrunner":
        return worker_roadrunner(n)
    if args.worker == "startup":
        return worker_startup(args.which)

    sys.path.insert(0, str(HERE))  # report.py
    from report import print_table

    rounds = args.rounds or (3 if args.quick else 5)
    cold = args.cold or (1 if args.quick else 2)
    warm_n = args.warm or (2 if args.quick else 4)
    wall = time.perf_counter()
    new = args.new.resolve()
    temp = None
    if args.old is None:
        temp, old = old_checkout(OLD_REF)
    else:
        old = args.old.resolve()
    import numba
    import numpy
    print("il21pk core benchmark: generated kernels vs the release before the rewrite")
    print(f"   case: default model, human set, 30 ug/kg IV 5 on / 9 off x 2 cycles, 0-{T_END:g} h "
          f"hourly; rtol {RTOL:g}, atol {ATOL:g}; one thread per process")
    print(f"   new: {describe(new)}")
    print(f"   old: {OLD_REF} at {old}")
    print(f"   Python {platform.python_version()} ({sys.executable}), numpy {numpy.__version__}, "
          f"numba {numba.__version__}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
    rows = []
    try:
        if not args.skip_throughput:
            rows += throughput(new, old, n, rounds, not args.no_roadrunner)
        if not args.skip_startup:
            rows += startup(new, old, cold, warm_n)
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    print()
    print_table(rows)
    print("Wall times on a shared machine: compare the ratios (interleaved rounds of one run).")
    print(f"total runtime {time.perf_counter() - wall:.0f} s")


if __name__ == "__main__":
    main()
