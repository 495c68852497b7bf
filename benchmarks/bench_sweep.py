"""Wall time, scaling, Dask overhead and memory of ``il21pk.sweep`` on 10,000 runs.

The case is the default model with the human parameter set on the clinical
5-on/9-off schedule (30 ug/kg IV daily x5 every 14 days, 2 cycles, 0-672 h,
default grid and tolerances). The 10,000 runs are a Latin hypercube over
``cl`` (2-10), ``kon`` (3.6-360) and ``kp_nk`` (0.001-0.02), log scale, seed 1,
plus a ``dose`` column drawn uniformly in 1-100 ug/kg (seed 2). Chunks hold
250 runs. Environment thread counts (OpenMP, OpenBLAS, MKL, numba) are set to
1 before numpy is imported, and the numba kernels are warmed by one untimed
``simulate`` call, so that forked workers start with compiled code.

Measured in one process run, and printed as one table with pass/fail against
each target:

1. Summary sweep (every variable and metric) through the local process pool
   (``executor=2``): wall time, target <= 15 s. The same sweep on one worker
   (``concurrent.futures.ProcessPoolExecutor(max_workers=1)`` with the same
   ``fork`` context, created inside the timed region like the pool of
   ``executor=2``); the speed-up is the ratio of throughputs (runs/s), target
   >= 1.7x. If the one-worker run is predicted to take more than 3 minutes it
   runs on the first 2,000 runs only, which the table says.
2. The same sweep on a ``dask.distributed.LocalCluster`` (2 worker processes,
   1 thread each): wall time excluding cluster start-up and worker warm-up
   (both reported separately), ratio to the local pool, target <= 1.3x, and a
   row-for-row ``pandas.testing.assert_frame_equal`` against the local result.
   This machine slows down under minutes of full load (the same local sweep
   has measured 3.3 and 4.8 ms CPU per run in one process run), so runs are
   bracketed: the two-worker local sweep runs again after the one-worker run
   (the speed-up uses the mean of the two-worker runs around it) and after
   the Dask run (the Dask ratio is against the mean of the local runs just
   before and after it); the ratio to the first local run is printed beside
   it.
3. Peak memory of the two-worker summary sweep, target < 1 GB: the largest sum
   of the resident set sizes (RSS) of this process and all its descendants,
   sampled by :mod:`psutil` every 20 ms in a background thread (the list of
   descendants is refreshed every 0.5 s). Summing RSS counts pages shared
   after ``fork`` once per process, so it is an upper bound; the summed
   proportional set size (PSS, from ``/proc/<pid>/smaps_rollup``, Linux
   only), which splits shared pages between their processes, is sampled every
   1 s and printed beside it. The sampler runs during the timed sweeps, so it
   must stay cheap: listing descendants scans every process on the machine
   (1.5 ms) and reading a PSS walks the page tables (7 ms for a 400 MB
   process); sampled every 20 ms and 0.2 s as before, they took ~15 % of a
   core from the two workers. Its own CPU time is printed for the first run.
   ``resource.getrusage`` is not used for the target because
   ``RUSAGE_CHILDREN`` reports the largest single reaped child, not a sum, and
   both it and ``RUSAGE_SELF`` are lifetime high-water marks, not per step;
   ``RUSAGE_SELF`` is printed at the end as a cross-check. The size of the
   returned frame is ``DataFrame.memory_usage(deep=True).sum()``.
4. Trajectories of ``il21_plasma``, ``nk_blood`` and ``ifng_plasma`` for all
   runs streamed to a temporary parquet directory with ``out=`` on 2 workers:
   wall time, size on disk, and the rise of this process's RSS during the
   sweep against the in-memory size the full trajectory table would have
   (runs x times x variables rows, at the bytes per row of one part read back
   with ``pandas.read_parquet``); target: the rise stays below 25% of it.
   Then resume: one part file is deleted and the same call is rerun; it must
   rewrite exactly that part, identical to before, leaving the others alone.

The machine may be shared, so each timing also shows the mean number of
cores busy outside this process tree meanwhile (from :func:`psutil.cpu_times`
minus this tree's CPU time), and the CPU time per run of this tree; the
Dask/local CPU-time ratio is printed beside the wall-time ratio as a check
that is insensitive to other load.

Run from the repository root::

    python benchmarks/bench_sweep.py          # N = 10,000, about 5-6 minutes on 2 cores
    python benchmarks/bench_sweep.py --quick  # N = 1,000 (wall-time target scaled to N)
"""

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy/numba are imported

import argparse  # noqa: E402
import gc  # noqa: E402
import multiprocessing  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import dask  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import psutil  # noqa: E402
from dask.distributed import Client, LocalCluster  # noqa: E402
from report import Row, busy_cpu_seconds, print_table  # noqa: E402

import il21pk as ip  # noqa: E402

T_END = 672.0
CHUNK_SIZE = 250
BOUNDS = {"cl": (2.0, 10.0), "kon": (3.6, 360.0), "kp_nk": (0.001, 0.02)}
DOSE_RANGE = (1.0, 100.0)  # ug/kg, uniform
TRAJ_VARIABLES = ["il21_plasma", "nk_blood", "ifng_plasma"]
FULL_N, QUICK_N = 10_000, 1_000
ONE_WORKER_BUDGET_S = 180.0
ONE_WORKER_SUBSET = 2_000
SAMPLE_EVERY_S = 0.02
CHILDREN_EVERY = 25  # samples between refreshes of the list of descendants
PSS_EVERY = 50
MB, GB = 1e6, 1e9
# Targets (the wall-time target is for FULL_N runs and scales with N).
WALL_TARGET_S = 15.0
SPEEDUP_TARGET = 1.7
DASK_RATIO_TARGET = 1.3
MEMORY_TARGET_B = 1 * GB
STREAM_FRACTION_TARGET = 0.25


@dataclass(frozen=True)
class Case:
    """What every sweep of the benchmark shares."""

    model: ip.Model
    params: ip.ParameterSet
    regimen: ip.Regimen


def make_case() -> Case:
    """The default model, human parameters and 2 cycles of 30 ug/kg 5-on/9-off."""
    regimen = ip.Regimen.five_on_nine_off(ip.Dose(30, unit="ug/kg"), cycles=2)
    return Case(ip.Model.v1(), ip.parameter_sets.load("human"), regimen)


def draw_samples(n: int) -> pd.DataFrame:
    """`n` Latin hypercube runs over :data:`BOUNDS` plus a uniform ``dose`` column."""
    samples = ip.latin_hypercube(BOUNDS, n, seed=1)
    samples["dose"] = np.random.default_rng(2).uniform(*DOSE_RANGE, n)
    return samples


def warm_up(case: Case) -> float:
    """Seconds of one ``simulate`` call, which loads or compiles the numba kernels."""
    start = time.perf_counter()
    ip.simulate(case.model, case.regimen, case.params, t_end=T_END)
    return time.perf_counter() - start


def warm_worker() -> None:
    """Load the numba kernels in a Dask worker (run there by ``Client.run``)."""
    warm_up(make_case())


# -- measuring -----------------------------------------------------------------
def proportional_set_size(pid: int) -> int | None:
    """PSS of a process in bytes from ``/proc/<pid>/smaps_rollup`` (None if unavailable)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class PeakMemory:
    """Peak memory of this process and of it plus its descendants, sampled in a thread.

    RSS is sampled every :data:`SAMPLE_EVERY_S`, of the descendants listed
    every :data:`CHILDREN_EVERY` samples; the summed PSS (shared pages split
    between the processes sharing them, Linux only) every :data:`PSS_EVERY`
    samples, since reading it walks the page tables. ``cpu_seconds`` is the
    sampler thread's own CPU time.
    """

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.start_parent = self.peak_parent = self.peak_total = 0
        self.peak_pss: int | None = None
        self.cpu_seconds = 0.0
        self._processes: list[psutil.Process] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def __enter__(self) -> "PeakMemory":
        self.start_parent = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample(with_pss=True, refresh=True)

    def _sample_until_stopped(self) -> None:
        start = time.thread_time()
        count = 0
        self._sample(with_pss=False, refresh=True)
        while not self._stop.wait(SAMPLE_EVERY_S):
            count += 1
            self._sample(with_pss=count % PSS_EVERY == 0, refresh=count % CHILDREN_EVERY == 0)
        self.cpu_seconds = time.thread_time() - start

    def _sample(self, with_pss: bool, refresh: bool) -> None:
        if refresh:
            self._processes = [self.process, *self.process.children(recursive=True)]
        processes = self._processes
        rss = []
        for process in processes:
            try:
                rss.append(process.memory_info().rss)
            except psutil.NoSuchProcess:
                pass
        self.peak_parent = max(self.peak_parent, rss[0])
        self.peak_total = max(self.peak_total, sum(rss))
        if with_pss:
            pss = [proportional_set_size(p.pid) for p in processes]
            if pss[0] is not None:
                self.peak_pss = max(self.peak_pss or 0, sum(v or 0 for v in pss))


@dataclass(frozen=True)
class Measured:
    """Wall time, result and memory of one call, and the CPU load of other processes."""

    seconds: float
    result: object
    memory: PeakMemory
    other_cores: float  # mean number of cores busy outside this process tree
    cpu_seconds: float  # used by this process tree

    def cpu_per_run(self, n: int) -> str:
        """CPU milliseconds of this process tree per run."""
        return f"{1e3 * self.cpu_seconds / n:.1f} ms"

    def timed(self, quantity: str, target: str = "", passed: bool | None = None) -> "Row":
        """A table row of the wall time, noting the load from other processes."""
        return Row(quantity, f"{self.seconds:.1f} s", target, passed,
                   f"{self.other_cores:.2f} cores")


def measure(fn: Callable[[], object]) -> Measured:
    """Call `fn` once, timing it, sampling memory and the load of other processes."""
    machine, mine = busy_cpu_seconds()
    with PeakMemory() as memory:
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
    machine_end, mine_end = busy_cpu_seconds()
    other = max(0.0, (machine_end - machine) - (mine_end - mine)) / seconds
    return Measured(seconds, result, memory, other, mine_end - mine)


def summary_sweep(case: Case, samples: pd.DataFrame, executor) -> pd.DataFrame:
    """Summary of every variable and metric for each run of `samples`."""
    return ip.sweep(case.model, case.regimen, case.params, samples=samples, t_end=T_END,
                    output="summary", executor=executor, chunk_size=CHUNK_SIZE, progress=False)


def one_worker_sweep(case: Case, samples: pd.DataFrame) -> pd.DataFrame:
    """:func:`summary_sweep` on a fresh one-process pool forked like ``executor=2``'s."""
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return summary_sweep(case, samples, pool)


def trajectory_sweep(case: Case, samples: pd.DataFrame, out: Path) -> Path:
    """Trajectories of :data:`TRAJ_VARIABLES` streamed to `out` on 2 workers."""
    return ip.sweep(case.model, case.regimen, case.params, samples=samples, t_end=T_END,
                    output="trajectories", variables=TRAJ_VARIABLES, executor=2,
                    chunk_size=CHUNK_SIZE, out=out, progress=False)


def frames_equal(left: pd.DataFrame, right: pd.DataFrame) -> bool:
    """Whether ``pandas.testing.assert_frame_equal`` accepts the two frames."""
    try:
        pd.testing.assert_frame_equal(left, right)
    except AssertionError as error:
        print(f"  frames differ: {error}")
        return False
    return True


def megabytes(size: int | None) -> str:
    """`size` in MB, or "n/a"."""
    return "n/a" if size is None else f"{size / MB:.0f} MB"


# -- parts 1-3: summary sweeps -------------------------------------------------
@dataclass(frozen=True)
class Local:
    """Results of :func:`bench_local` that later parts compare against."""

    rows: list[Row]
    frame: pd.DataFrame
    seconds: float  # two workers
    cpu_seconds: float  # two workers
    one_worker_rate: float  # runs/s
    two_again: Measured  # two workers, run again after the one-worker sweep


def bench_local(case: Case, samples: pd.DataFrame) -> Local:
    """Two workers vs one on the local process pool; memory of the two-worker sweep."""
    n = len(samples)
    two = measure(lambda: summary_sweep(case, samples, 2))
    frame = two.result
    wall_target = WALL_TARGET_S * n / FULL_N
    subset = 2 * two.seconds > ONE_WORKER_BUDGET_S  # one worker takes about twice as long
    one_samples = samples.iloc[:ONE_WORKER_SUBSET] if subset else samples
    one = measure(lambda: one_worker_sweep(case, one_samples))
    # the machine drifts under sustained load: two-worker runs bracket the one-worker run
    again = measure(lambda: summary_sweep(case, samples, 2))
    same = frames_equal(one.result, frame.iloc[:len(one.result)])  # runs 0.. come first
    one_rate = len(one_samples) / one.seconds
    two_rate = n / ((two.seconds + again.seconds) / 2)
    speedup = two_rate / one_rate
    frame_bytes = frame.memory_usage(deep=True).sum()
    print(f"  local 2 workers {two.seconds:.1f} s, 1 worker {one.seconds:.1f} s "
          f"({len(one_samples):,} runs)")
    rows = [
        two.timed(f"local pool, 2 workers: wall time ({n:,} runs)", f"<= {wall_target:g} s",
                  two.seconds <= wall_target),
        Row("  throughput, 2 workers", f"{n / two.seconds:.0f} runs/s"),
        Row("  CPU time per run (parent + workers)", two.cpu_per_run(n)),
        Row("  of which the memory sampler (a thread in the parent)",
            f"{two.memory.cpu_seconds:.2f} s"),
        one.timed(f"local pool, 1 worker: wall time ({len(one_samples):,} runs"
                  + (", subset" if subset else "") + ")"),
        Row("  throughput, 1 worker", f"{one_rate:.0f} runs/s"),
        Row("  CPU time per run (parent + worker)", one.cpu_per_run(len(one_samples))),
        again.timed(f"local pool, 2 workers, again after the 1-worker run ({n:,} runs)"),
        Row("speed-up 2 workers vs 1 (2-worker runs around it)", f"{speedup:.2f}x",
            f">= {SPEEDUP_TARGET}x", speedup >= SPEEDUP_TARGET),
        Row("1-worker frame == 2-worker frame (same runs)", "yes" if same else "NO",
            "identical", same),
        Row("peak RSS, parent + workers, 2-worker summary", f"{two.memory.peak_total / MB:.0f} MB",
            f"< {MEMORY_TARGET_B / MB:.0f} MB", two.memory.peak_total < MEMORY_TARGET_B),
        Row("  same, summed PSS (shared pages counted once)", megabytes(two.memory.peak_pss)),
        Row("  of which parent process (RSS)", f"{two.memory.peak_parent / MB:.0f} MB"),
        Row("  peak RSS, parent + worker, 1-worker summary",
            f"{one.memory.peak_total / MB:.0f} MB"),
        Row(f"summary frame: {len(frame):,} rows x {frame.shape[1]} columns",
            f"{frame_bytes / MB:.0f} MB"),
    ]
    return Local(rows, frame, two.seconds, two.cpu_seconds, one_rate, again)


def bench_dask(case: Case, samples: pd.DataFrame, local: Local) -> list[Row]:
    """The summary sweep on a two-process Dask LocalCluster, against the local pool."""
    before = local.two_again
    start = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.wait_for_workers(2)
        started = time.perf_counter()
        client.run(warm_worker)
        warmed = time.perf_counter()
        run = measure(lambda: summary_sweep(case, samples, client))
    # the machine's speed drifts under sustained load: the baseline for the ratio is
    # the local pool run again just before and just after the Dask run (mean)
    after = measure(lambda: summary_sweep(case, samples, 2))
    same = frames_equal(run.result, local.frame)
    baseline_s = (before.seconds + after.seconds) / 2
    baseline_cpu = (before.cpu_seconds + after.cpu_seconds) / 2
    ratio = run.seconds / baseline_s
    print(f"  dask {run.seconds:.1f} s between local pool runs of {before.seconds:.1f} and "
          f"{after.seconds:.1f} s; assert_frame_equal(dask, local): "
          + ("passed" if same else "FAILED"))
    return [
        Row("dask LocalCluster start-up (2 processes)", f"{started - start:.1f} s"),
        Row("dask worker warm-up (numba kernels)", f"{warmed - started:.1f} s"),
        run.timed(f"dask, 2 workers: wall time ({len(samples):,} runs)"),
        Row("  CPU time per run (parent + cluster processes)", run.cpu_per_run(len(samples))),
        after.timed(f"local pool, 2 workers, again just after dask ({len(samples):,} runs)"),
        Row("dask / local pool wall time (mean of the two around it)", f"{ratio:.2f}x",
            f"<= {DASK_RATIO_TARGET}x", ratio <= DASK_RATIO_TARGET),
        Row("  dask / local pool CPU time (insensitive to other load)",
            f"{run.cpu_seconds / baseline_cpu:.2f}x"),
        Row("  dask / first local pool run (wall; includes the machine's drift)",
            f"{run.seconds / local.seconds:.2f}x"),
        Row("dask frame == local frame (assert_frame_equal)", "yes" if same else "NO",
            "identical", same),
        Row("  peak RSS, parent + cluster processes", f"{run.memory.peak_total / MB:.0f} MB"),
    ]


# -- part 4: streamed trajectories and resume ----------------------------------
def parts(out: Path) -> dict[str, int]:
    """Part file name -> modification time (ns) in a sweep's output directory."""
    return {p.name: p.stat().st_mtime_ns for p in sorted(out.glob("part-*.parquet"))}


def directory_bytes(out: Path) -> int:
    """Total size of the files in `out`."""
    return sum(p.stat().st_size for p in out.iterdir() if p.is_file())


def full_table_bytes(out: Path, n_runs: int) -> tuple[int, float, int]:
    """Rows and in-memory bytes of the whole trajectory table, from its first part."""
    part = pd.read_parquet(out / "part-00000.parquet")
    bytes_per_row = part.memory_usage(deep=True).sum() / len(part)
    rows = n_runs * part["time_h"].nunique() * len(TRAJ_VARIABLES)
    return rows, bytes_per_row, int(rows * bytes_per_row)


def bench_trajectories(case: Case, samples: pd.DataFrame, one_worker_rate: float) -> list[Row]:
    """Stream trajectories to parquet, then delete one part and resume."""
    n = len(samples)
    with tempfile.TemporaryDirectory(prefix="il21pk-bench-") as tmp:
        out = Path(tmp) / "trajectories"
        run = measure(lambda: trajectory_sweep(case, samples, out))
        before = parts(out)
        rows, bytes_per_row, table_bytes = full_table_bytes(out, n)
        on_disk = directory_bytes(out)
        rise = run.memory.peak_parent - run.memory.start_parent
        victim = sorted(before)[len(before) // 2]
        kept = pd.read_parquet(out / victim)
        (out / victim).unlink()
        resume = measure(lambda: trajectory_sweep(case, samples, out))
        after = parts(out)
        rewritten = sorted(name for name in after if after[name] != before.get(name))
        identical = rewritten == [victim] and frames_equal(pd.read_parquet(out / victim), kept)
    print(f"  trajectories {run.seconds:.1f} s, resume {resume.seconds:.1f} s "
          f"(rewrote {rewritten})")
    return [
        run.timed(f"trajectories to parquet: wall time ({n:,} runs, {len(before)} parts)"),
        Row("  size on disk", f"{on_disk / MB:.0f} MB"),
        Row(f"  full table in memory: {rows:,} rows x {bytes_per_row:.1f} B",
            f"{table_bytes / MB:.0f} MB"),
        Row("  peak RSS, parent process", f"{run.memory.peak_parent / MB:.0f} MB"),
        Row("  rise of parent RSS during the sweep", f"{rise / MB:.0f} MB",
            f"< {STREAM_FRACTION_TARGET:.0%} of table = "
            f"{STREAM_FRACTION_TARGET * table_bytes / MB:.0f} MB",
            rise < STREAM_FRACTION_TARGET * table_bytes),
        Row("  peak RSS, parent + workers", f"{run.memory.peak_total / MB:.0f} MB"),
        Row("  peak summed PSS, parent + workers", megabytes(run.memory.peak_pss)),
        resume.timed(f"resume after deleting {victim}: wall time"),
        Row("  one chunk on one worker (from part 1 throughput)",
            f"{CHUNK_SIZE / one_worker_rate:.1f} s"),
        Row("  parts rewritten by the rerun", ", ".join(rewritten) or "none",
            f"only {victim}, identical", identical),
    ]


# -- report --------------------------------------------------------------------
def print_environment(n: int) -> None:
    """Versions, cores and the run size."""
    print(f"Python {platform.python_version()}, il21pk {ip.__version__}, numpy "
          f"{np.__version__}, pandas {pd.__version__}, dask {dask.__version__}; "
          f"{os.cpu_count()} CPUs, {psutil.virtual_memory().total / GB:.1f} GB RAM")
    print(f"{n:,} runs, chunks of {CHUNK_SIZE} ({-(-n // CHUNK_SIZE)} chunks), 0-{T_END:g} h, "
          "5-on/9-off x2, default tolerances")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_N:,} runs instead of "
                        f"{FULL_N:,}")
    n = QUICK_N if parser.parse_args(argv).quick else FULL_N
    start = time.perf_counter()
    print_environment(n)
    case = make_case()
    print(f"  numba warm-up (untimed): {warm_up(case):.2f} s")
    samples = draw_samples(n)
    local = bench_local(case, samples)
    rows = local.rows + bench_dask(case, samples, local)
    one_worker_rate = local.one_worker_rate
    del local  # free the summary frame before measuring the streamed sweep
    gc.collect()
    rows += bench_trajectories(case, samples, one_worker_rate)
    rows.append(Row("getrusage RUSAGE_SELF maxrss (lifetime, parent)",
                    f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB:.0f} MB"))
    print_table(rows)
    print(f"\ntotal runtime {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
