"""Speed, confidence-interval coverage and multistart behaviour of ``il21pk.fit``.

Three cases are measured in one process run, and printed as one table with
pass/fail against each target:

1. PK speed. The PK-only one-compartment model
   (``Model.pk_only(compartments=1)``) with the truth ``mw=1, v_central=10,
   cl=2, q=0, ka=0.8, f_sc=0.6`` (human set otherwise); three subjects dosed
   10, 30 and 100 nmol SC once, 12 samples each (0.25-36 h), proportional
   error 15 %. ``cl``, ``v_central`` and ``ka`` are fitted from ``cl=3,
   v_central=6, ka=1.6`` with the default options (central differences,
   ``rtol=1e-8``). Median wall time of 5 fits of the same data, target < 2 s;
   the estimates are printed. The data set is replicate 1 of case 2.
2. Coverage. 50 replicates of the same design, all noise drawn from one
   ``numpy.random.default_rng(2026)`` (replicate after replicate, dose group
   after dose group, as ``tests/test_fitting.py`` does). For each of ``cl``,
   ``v_central`` and ``ka``: the fraction of 95 % Wald intervals
   (``fit.table`` columns ``ci_low``/``ci_high``) that contain the truth,
   target 88-100 %, and the mean relative bias of the estimates. On the first
   20 replicates, the coverage of the profile-likelihood interval of ``cl``
   (``fit.profile("cl", n_points=9, span=1.5)``; a bound that is NaN, i.e. not
   reached within the span, counts as unbounded), same target, and the median
   ratio of its width to the Wald width.
3. Multistart. The full model fitted to ``examples/data/multi_endpoint.csv``
   (3 subjects, IL-21, NK cells and IFN-gamma; 6 free parameters plus 3
   residual errors) with the options of ``examples/04_fit_multi_endpoint.py``
   (``gradient="forward", rtol=1e-6, atol=1e-9, fd_step=1e-3``) and
   ``n_starts=20, seed=1, executor=2`` (two local worker processes): wall time,
   target < 60 s on 2 cores, best -2 log L, how many starts report success and
   how many reach the best -2 log L (within 0.1), and the estimates against
   the ``TRUTH`` of ``examples/data/make_multi_endpoint.py``. For reference,
   the same fit with ``n_starts=1`` and with the default options (central
   differences, ``rtol=1e-8, atol=1e-12``) and ``n_starts=1``. If the 20-start
   run is predicted (from the one-start time) to exceed 6 minutes, 4 starts
   are run instead and the 20-start time is extrapolated (labelled so).

Thread counts (OpenMP, OpenBLAS, MKL, numba) are set to 1 before numpy is
imported, and one small simulation of each model plus one PK fit, untimed,
load the numba kernels first. Each timing row also shows the mean number of
cores busy outside this process tree meanwhile: on a shared machine, read the
wall times with it.

Run from the repository root::

    python benchmarks/bench_fit.py          # full run, about 4-7 minutes on 2 cores
    python benchmarks/bench_fit.py --quick  # 3 timed fits, 10 replicates (5 profiled),
                                            # 4 starts extrapolated to 20
"""

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy/numba are imported

import argparse  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from report import Row, busy_cpu_seconds, print_table  # noqa: E402

import il21pk as ip  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "data"))
from make_multi_endpoint import TRUTH as MULTI_TRUTH  # noqa: E402

# -- case 1 and 2: PK-only one-compartment model ---------------------------------
PK = ip.Model.pk_only(compartments=1)
PK_TIMES = np.array([0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 36.0])
PK_DOSES = (10.0, 30.0, 100.0)  # nmol SC, one subject each
PK_SC = ip.Regimen.single(ip.Dose(1.0, unit="nmol", route="sc"))
PK_TRUTH = {"cl": 2.0, "v_central": 10.0, "ka": 0.8}
PK_FIXED = {"mw": 1.0, "q": 0.0, "f_sc": 0.6}
PK_START = {"cl": 3.0, "v_central": 6.0, "ka": 1.6}
PK_ERROR = 0.15  # proportional
NOISE_SEED = 2026
PROFILED = "cl"
PROFILE_OPTIONS = {"n_points": 9, "span": 1.5}

# -- case 3: full model, three endpoints -----------------------------------------
MULTI_DATA = ROOT / "examples" / "data" / "multi_endpoint.csv"
MULTI_FREE = ["cl", "v_central", "emax_margination", "kp_nk", "k_activation", "ifng_0"]
EXAMPLE_OPTIONS = {"gradient": "forward", "rtol": 1e-6, "atol": 1e-9, "fd_step": 1e-3}
N_STARTS, FALLBACK_STARTS, WORKERS, START_SEED = 20, 4, 2, 1
STARTS_BUDGET_S = 360.0
# Latin hypercube starts need more objective calls than the given start
# (about 1.3x on this case), used only to predict the 20-start time.
RANDOM_START_COST = 1.3
SAME_OPTIMUM = 0.1  # -2 log L units

# -- targets ---------------------------------------------------------------------
PK_FIT_TARGET_S = 2.0
COVERAGE_TARGET = (0.88, 1.0)
MULTISTART_TARGET_S = 60.0


@dataclass(frozen=True)
class Sizes:
    """How much of each case is run."""

    timed_fits: int
    replicates: int
    profiled: int
    starts: int | None  # None: 20 unless predicted over budget


FULL = Sizes(timed_fits=5, replicates=50, profiled=20, starts=None)
QUICK = Sizes(timed_fits=3, replicates=10, profiled=5, starts=FALLBACK_STARTS)


@dataclass(frozen=True)
class Timed:
    """Wall time and result of one call, and the load of other processes meanwhile."""

    seconds: float
    result: object
    other_cores: float

    @property
    def load(self) -> str:
        """The others' load as a table cell."""
        return f"{self.other_cores:.2f} cores"


def timed(fn: Callable[[], object]) -> Timed:
    """Call `fn` once, timing it and the CPU used by other processes."""
    machine, mine = busy_cpu_seconds()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    machine_end, mine_end = busy_cpu_seconds()
    other = max(0.0, (machine_end - machine) - (mine_end - mine)) / seconds
    return Timed(seconds, result, other)


def within(value: float, bounds: tuple[float, float]) -> bool:
    """Whether `value` lies in the closed interval `bounds`."""
    return bounds[0] <= value <= bounds[1]


def coverage_target() -> str:
    """The coverage target as a table cell."""
    return f"{COVERAGE_TARGET[0]:.0%}-{COVERAGE_TARGET[1]:.0%}"


# -- cases 1 and 2 ------------------------------------------------------------------
def pk_truth() -> ip.ParameterSet:
    """The human set with the PK truth."""
    return ip.parameter_sets.load("human").with_values(**PK_FIXED, **PK_TRUTH, source="truth")


def pk_curves(truth: ip.ParameterSet) -> np.ndarray:
    """Noise-free IL-21 concentrations, (dose groups, sample times)."""
    curves = []
    for dose in PK_DOSES:
        res = ip.simulate(PK, PK_SC.scaled_to(dose), truth, t_end=float(PK_TIMES[-1]),
                          t_eval=np.r_[0.0, PK_TIMES], rtol=1e-10, atol=1e-14)
        curves.append(res.frame.query("variable == 'il21_plasma'")["value"].to_numpy()[1:])
    return np.array(curves)


def pk_dataset(curves: np.ndarray, rng: np.random.Generator) -> ip.Dataset:
    """One replicate with proportional error, noise drawn group after group."""
    values = curves * (1 + PK_ERROR * rng.standard_normal(curves.shape))
    df = pd.DataFrame({"id": np.repeat(np.arange(len(PK_DOSES)), len(PK_TIMES)),
                       "t": np.tile(PK_TIMES, len(PK_DOSES)), "conc": values.ravel(),
                       "dose": np.repeat(PK_DOSES, len(PK_TIMES))})
    return ip.Dataset.from_frame(df, time="t", value="conc", variable="il21_plasma",
                                 subject="id", regimen=PK_SC, dose="dose", model=PK)


def pk_fit(data: ip.Dataset, truth: ip.ParameterSet) -> ip.FitResult:
    """The 3-parameter fit from the standard start, default options."""
    return ip.fit(PK, data, truth.with_values(**PK_START), free=list(PK_TRUTH),
                  error_model="proportional")


def estimate_lines(table: pd.DataFrame, truth: dict[str, float]) -> list[str]:
    """Estimate, 95 % Wald CI and truth of each parameter with a known truth."""
    lines = [f"    {'name':22s} {'truth':>7s} {'estimate':>9s} {'ratio':>6s}  "
             f"{'95% Wald CI':22s} truth in CI"]
    for r in table.itertuples():
        ci = f"({r.ci_low:.4g}, {r.ci_high:.4g})"
        if r.name in truth:
            value = truth[r.name]
            lines.append(f"    {r.name:22s} {value:7.4g} {r.estimate:9.4g} "
                         f"{r.estimate / value:6.3f}  {ci:22s} "
                         f"{'yes' if r.ci_low <= value <= r.ci_high else 'NO'}")
        else:
            lines.append(f"    {r.name:22s} {'':7s} {r.estimate:9.4g} {'':6s}  {ci}")
    return lines


def bench_pk_speed(data: ip.Dataset, truth: ip.ParameterSet, repeats: int) -> list[Row]:
    """Median wall time of `repeats` fits of one data set; prints the estimates."""
    runs = [timed(lambda: pk_fit(data, truth)) for _ in range(repeats)]
    seconds = [run.seconds for run in runs]
    fit = runs[-1].result
    median = statistics.median(seconds)
    print(f"  {repeats} fits: {', '.join(f'{s:.2f}' for s in seconds)} s; -2LL "
          f"{fit.objective:.4f}, {fit.nfev} objective calls, success {fit.success}")
    print("\n".join(estimate_lines(fit.table, PK_TRUTH)))
    load = statistics.mean(run.other_cores for run in runs)
    return [Row(f"1. PK fit, 3 params, 36 obs: median of {repeats}", f"{median:.2f} s",
                f"< {PK_FIT_TARGET_S:g} s", median < PK_FIT_TARGET_S, f"{load:.2f} cores")]


def profile_covers(fit: ip.FitResult, value: float) -> tuple[bool, float, bool]:
    """Whether the profile CI holds `value`, its width over the Wald width, any NaN bound."""
    prof = fit.profile(PROFILED, **PROFILE_OPTIONS)
    low = 0.0 if np.isnan(prof.ci_low) else prof.ci_low
    high = np.inf if np.isnan(prof.ci_high) else prof.ci_high
    wald = fit.table.set_index("name").loc[PROFILED]
    ratio = (high - low) / (wald["ci_high"] - wald["ci_low"])
    return bool(low <= value <= high), float(ratio), bool(np.isnan([prof.ci_low,
                                                                     prof.ci_high]).any())


def coverage_fits(datasets: list[ip.Dataset], truth: ip.ParameterSet,
                  n_profiled: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per replicate and parameter: estimate and Wald bounds; per profiled replicate the profile."""
    rows, profiles = [], []
    for i, data in enumerate(datasets):
        fit = pk_fit(data, truth)
        for r in fit.table.itertuples():
            if r.name in PK_TRUTH:
                rows.append((i, r.name, r.estimate, r.ci_low, r.ci_high, fit.success))
        if i < n_profiled:
            profiles.append((i, *profile_covers(fit, PK_TRUTH[PROFILED])))
    return (pd.DataFrame(rows, columns=["replicate", "name", "estimate", "ci_low", "ci_high",
                                        "success"]),
            pd.DataFrame(profiles, columns=["replicate", "covered", "width_ratio", "open"]))


def bench_coverage(datasets: list[ip.Dataset], truth: ip.ParameterSet,
                   n_profiled: int) -> list[Row]:
    """Wald coverage and bias per parameter, profile coverage of cl."""
    run = timed(lambda: coverage_fits(datasets, truth, n_profiled))
    wald, prof = run.result
    n = len(datasets)
    failed = n - int(wald.groupby("replicate")["success"].all().sum())
    print(f"  {n} replicates fitted and {len(prof)} profiled in {run.seconds:.1f} s "
          f"({failed} fits with success=False)")
    rows = []
    for name, value in PK_TRUTH.items():
        part = wald[wald["name"] == name]
        share = float(((part["ci_low"] <= value) & (value <= part["ci_high"])).mean())
        bias = float((part["estimate"] / value - 1).mean())
        print(f"    {name:10s} Wald coverage {share:6.1%}   mean bias {bias:+.2%}   "
              f"estimate sd {part['estimate'].std() / value:.2%} of truth")
        rows.append(Row(f"2. Wald 95% CI coverage, {name} ({n} reps)", f"{share:.0%}",
                        coverage_target(), within(share, COVERAGE_TARGET)))
        rows.append(Row(f"2. mean bias of {name} estimates", f"{bias:+.2%}"))
    share = float(prof["covered"].mean())
    ratio = float(prof["width_ratio"].median())
    print(f"    {PROFILED:10s} profile coverage {share:.1%} ({prof['covered'].sum()}/{len(prof)}"
          f"), median width profile/Wald {ratio:.2f}, {prof['open'].sum()} with a NaN bound")
    rows.append(Row(f"2. profile 95% CI coverage, {PROFILED} ({len(prof)} reps)",
                    f"{share:.0%}", coverage_target(), within(share, COVERAGE_TARGET)))
    rows.append(Row(f"2. median width profile CI / Wald CI, {PROFILED}", f"{ratio:.2f}"))
    rows.append(Row(f"2. coverage study wall time ({n} fits, {len(prof)} profiles)",
                    f"{run.seconds:.1f} s", other_load=run.load))
    return rows


# -- case 3 ---------------------------------------------------------------------------
def multi_data() -> ip.Dataset:
    """The example's three-endpoint data set (IL-21 given in ng/mL)."""
    return ip.read_csv(MULTI_DATA, nonmem=True, units={"il21_plasma": "ng/mL"})


def multi_fit(data: ip.Dataset, n_starts: int, options: dict) -> ip.FitResult:
    """The 6-parameter fit of the example, `n_starts` starts on 2 workers."""
    return ip.fit(ip.Model.v1(), data, ip.parameter_sets.load("human"), free=MULTI_FREE,
                  error_model="proportional", n_starts=n_starts, seed=START_SEED,
                  executor=WORKERS, **options)


def starts_to_run(one_start_s: float, sizes: Sizes) -> tuple[int, float]:
    """Starts to run now and the predicted wall time of 20 starts on the workers."""
    predicted = one_start_s * RANDOM_START_COST * math.ceil(N_STARTS / WORKERS)
    if sizes.starts is not None:
        return sizes.starts, predicted
    return (N_STARTS if predicted <= STARTS_BUDGET_S else FALLBACK_STARTS), predicted


def bench_multistart(sizes: Sizes) -> list[Row]:
    """Multistart wall time, convergence and estimates, with one-start references."""
    data = multi_data()
    print(f"  {len(data)} observations: "
          + ", ".join(f"{k} {v}" for k, v in data.observations.groupby("variable").size()
                      .items()))
    default = timed(lambda: multi_fit(data, 1, {}))
    example = timed(lambda: multi_fit(data, 1, EXAMPLE_OPTIONS))
    for label, run in (("default options", default), ("example options", example)):
        print(f"  1 start, {label}: {run.seconds:.1f} s, -2LL {run.result.objective:.4f}, "
              f"{run.result.nfev} objective calls")
    n, predicted = starts_to_run(example.seconds, sizes)
    print(f"  predicted {N_STARTS}-start wall time {predicted:.0f} s (1-start time x "
          f"{RANDOM_START_COST} x {math.ceil(N_STARTS / WORKERS)} rounds); running {n} starts")
    multi = timed(lambda: multi_fit(data, n, EXAMPLE_OPTIONS))
    fit = multi.result
    starts = fit.starts
    best = float(starts["objective"].min())
    at_best = int((starts["objective"] - best <= SAME_OPTIMUM).sum())
    calls = int(starts["nfev"].sum())
    print(f"  {n} starts: {multi.seconds:.1f} s, {calls} objective calls "
          f"({calls / multi.seconds:.1f}/s over {WORKERS} workers; 1 start: "
          f"{example.result.nfev / example.seconds:.1f}/s); -2LL per start: "
          + ", ".join(f"{v:.2f}" for v in starts["objective"]))
    print(f"  message of the best start: {fit.message!r}")
    print("\n".join(estimate_lines(fit.table, MULTI_TRUTH)))
    if n == N_STARTS:
        wall = Row(f"3. multistart {N_STARTS} starts, {WORKERS} workers", f"{multi.seconds:.1f} s",
                   f"< {MULTISTART_TARGET_S:g} s", multi.seconds < MULTISTART_TARGET_S,
                   multi.load)
    else:
        estimate = multi.seconds * N_STARTS / n
        wall = Row(f"3. multistart {N_STARTS} starts EXTRAPOLATED from {n} (x{N_STARTS / n:g})",
                   f"~{estimate:.0f} s", f"< {MULTISTART_TARGET_S:g} s",
                   estimate < MULTISTART_TARGET_S, multi.load)
    in_ci = [r.ci_low <= MULTI_TRUTH[r.name] <= r.ci_high for r in fit.table.itertuples()
             if r.name in MULTI_TRUTH]
    return [
        wall,
        Row(f"3. multistart best -2LL ({n} starts)", f"{fit.objective:.4f}"),
        Row(f"3. starts with success=True ({n} starts)", f"{int(starts['success'].sum())}/{n}"),
        Row(f"3. starts within {SAME_OPTIMUM:g} of the best -2LL", f"{at_best}/{n}"),
        Row("3. truth inside the 95% Wald CI", f"{sum(in_ci)}/{len(in_ci)} parameters"),
        Row("3. 1 start, example options", f"{example.seconds:.1f} s "
            f"(-2LL {example.result.objective:.4f})", other_load=example.load),
        Row("3. 1 start, default options (central, rtol 1e-8)", f"{default.seconds:.1f} s "
            f"(-2LL {default.result.objective:.4f})", other_load=default.load),
    ]


# -- driver ---------------------------------------------------------------------------
def warm_up(truth: ip.ParameterSet, data: ip.Dataset) -> float:
    """Seconds to load the numba kernels: one PK fit and one full-model simulation."""
    start = time.perf_counter()
    ip.fit(PK, data, truth, free=["cl"])
    ip.simulate(ip.Model.v1(), ip.Regimen.single(ip.Dose(10.0)), ip.parameter_sets.load("human"),
                t_end=24.0)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer timed fits, replicates and starts")
    sizes = QUICK if parser.parse_args(argv).quick else FULL
    start = time.perf_counter()
    print(f"Python {platform.python_version()}, il21pk {ip.__version__}, numpy "
          f"{np.__version__}, pandas {pd.__version__}; {os.cpu_count()} CPUs")
    truth = pk_truth()
    curves = pk_curves(truth)
    rng = np.random.default_rng(NOISE_SEED)
    datasets = [pk_dataset(curves, rng) for _ in range(sizes.replicates)]
    print(f"  numba warm-up (untimed): {warm_up(truth, datasets[0]):.2f} s")
    print(f"\n1. PK speed (replicate 1 of case 2, {PK_ERROR:.0%} proportional error)")
    rows = bench_pk_speed(datasets[0], truth, sizes.timed_fits)
    print(f"\n2. Coverage over {sizes.replicates} replicates (default_rng({NOISE_SEED}))")
    rows += bench_coverage(datasets, truth, sizes.profiled)
    print(f"\n3. Multi-endpoint fit, {len(MULTI_FREE)} parameters, {WORKERS} workers")
    rows += bench_multistart(sizes)
    print()
    print_table(rows)
    print(f"\ntotal runtime {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
