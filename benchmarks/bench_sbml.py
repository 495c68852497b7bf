"""SBML import on the compiled engine: BIOMD0000000761 against libRoadRunner.

1. Import and compile, in fresh processes: **cold** (empty ``NUMBA_CACHE_DIR``
   and ``IL21PK_CACHE_DIR``: the shared engine and the model's kernels are
   compiled) and **warm** (the same caches again). Timed inside the process:
   ``import il21pk`` apart, then ``Model.from_sbml`` + the first ``simulate``
   (cold: interpreted while numba compiles the shared generic engine in the
   background; the process waits for that before it ends, untimed). Targets:
   cold <= 10 s, warm <= 1 s.
2. 1,000 parameter sets (kinetic parameters x log-uniform 0.8-1.25) over the
   model's time course (0-30 days, 301 outputs): il21pk's batch engine (what
   ``sweep`` runs) against a libRoadRunner loop (reset, set the parameters,
   simulate), libRoadRunner at rtol 1e-6 (atol 1e-9). **Equal accuracy**: on
   50 of the sets, each tool's error against a tight libRoadRunner solution
   (rtol 1e-12) is the largest |error| / range over the six species;
   il21pk's tolerances start at libRoadRunner's and are tightened tenfold
   until it is at least as accurate as libRoadRunner (if it is already, the
   comparison at equal tolerances favours libRoadRunner). Target: il21pk <=
   0.5 x libRoadRunner.

Ratios are measured in one run. CPU time is reported beside wall time: on a
shared machine it is the steadier of the two.

Run: python benchmarks/bench_sbml.py [path/to/BIOMD0000000761.xml]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MODEL = Path(sys.argv[1] if len(sys.argv) > 1 else
             Path(__file__).resolve().parents[2] / "shared" / "reference" / "sbml"
             / "BIOMD0000000761.xml")
T_END = 30.0
TIMES = np.linspace(0.0, T_END, 301)
N_SETS = 1000
N_CHECK = 50
SPECIES = ("U", "X", "Y", "M", "P", "Z")
VARIED = ("mu1", "h", "r1", "p1", "p2", "q1", "a", "mu2", "r2", "sigma", "h2zero", "D", "b1",
          "b2", "mu3", "c", "k1", "k2")

_CHILD = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
w0, c0 = time.perf_counter(), time.process_time()
import il21pk as ip
w1, c1 = time.perf_counter(), time.process_time()
model = ip.Model.from_sbml(sys.argv[1])
ip.simulate(model, None, t_end=30.0)
w2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"import_wall": w1 - w0, "import_cpu": c1 - c0,
                  "compile_wall": w2 - w1, "compile_cpu": c2 - c1}))
"""


def import_and_compile() -> dict[str, dict[str, float]]:
    """Cold and warm import + compile, each in a fresh process."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NUMBA_CACHE_DIR": f"{tmp}/numba", "IL21PK_CACHE_DIR": f"{tmp}/il21pk"}
        for label in ("cold", "warm"):
            done = subprocess.run([sys.executable, "-c", _CHILD, str(MODEL)], env=env,
                                  capture_output=True, text=True, check=True)
            out[label] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def parameter_sets(names: list[str], values: dict[str, float]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20061125)
    columns = {n: np.full(N_SETS, values[n]) for n in names}
    for n in VARIED:
        columns[n] = values[n] * np.exp(rng.uniform(np.log(0.8), np.log(1.25), N_SETS))
    return columns


def run_il21pk(model, columns, rtol, atol) -> tuple[np.ndarray, float, float]:
    """Species amounts (N, T, 6), wall and CPU seconds."""
    import il21pk as ip
    from il21pk.analysis.simulate import run_batch

    w0, c0 = time.perf_counter(), time.process_time()
    batch = run_batch(model, ip.Regimen.none(), columns, t_eval=TIMES, t_end=T_END, rtol=rtol,
                      atol=atol)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    assert batch.success.all()
    return np.stack([batch.outputs[s] for s in SPECIES], axis=-1), wall, cpu


def run_roadrunner(columns, rtol, atol, members) -> tuple[np.ndarray, float, float]:
    import roadrunner

    rr = roadrunner.RoadRunner(str(MODEL))
    rr.integrator.relative_tolerance = rtol
    rr.integrator.absolute_tolerance = atol
    rr.timeCourseSelections = list(SPECIES)
    out = np.empty((len(members), TIMES.size, len(SPECIES)))
    w0, c0 = time.perf_counter(), time.process_time()
    for row, m in enumerate(members):
        rr.reset()
        for n in VARIED:
            rr[n] = float(columns[n][m])
        out[row] = rr.simulate(0.0, T_END, TIMES.size)
    return out, time.perf_counter() - w0, time.process_time() - c0


def error(values: np.ndarray, reference: np.ndarray) -> float:
    """Largest |error| / range over members and species."""
    span = np.ptp(reference, axis=1, keepdims=True)
    return float(np.max(np.abs(values - reference) / np.where(span > 0, span, 1.0)))


def main() -> None:
    import warnings

    warnings.simplefilter("ignore")
    compile_times = import_and_compile()
    for label, t in compile_times.items():
        print(f"{label:>5}: import il21pk {t['import_wall']:.2f} s (CPU {t['import_cpu']:.2f}); "
              f"from_sbml + first simulate {t['compile_wall']:.2f} s "
              f"(CPU {t['compile_cpu']:.2f})")

    import il21pk as ip

    model = ip.Model.from_sbml(MODEL)
    values = model.default_parameters().values()
    columns = parameter_sets(list(model.parameter_names), values)
    check = list(range(N_CHECK))
    tight, _, _ = run_roadrunner(columns, 1e-12, 1e-16, check)
    run_il21pk(model, {k: v[:2] for k, v in columns.items()}, 1e-6, 1e-9)  # compile
    tol = {"il21pk": [1e-6, 1e-9], "roadrunner": [1e-6, 1e-9]}

    def accuracy(tool: str) -> float:
        rtol, atol = tol[tool]
        if tool == "il21pk":
            values, _, _ = run_il21pk(model, {k: v[:N_CHECK] for k, v in columns.items()},
                                      rtol, atol)
        else:
            values, _, _ = run_roadrunner(columns, rtol, atol, check)
        return error(values, tight)

    errors = {tool: accuracy(tool) for tool in tol}
    for _ in range(4):
        if errors["il21pk"] <= errors["roadrunner"]:
            break
        tol["il21pk"] = [t / 10 for t in tol["il21pk"]]
        errors["il21pk"] = accuracy("il21pk")
    ours, w_ours, c_ours = run_il21pk(model, columns, *tol["il21pk"])
    _, w_rr, c_rr = run_roadrunner(columns, *tol["roadrunner"], range(N_SETS))
    for tool in tol:
        print(f"{tool:>10}: rtol {tol[tool][0]:g}, atol {tol[tool][1]:g}; error on {N_CHECK} "
              f"sets {errors[tool]:.2e} of the range")
    print(f"{N_SETS} parameter sets: il21pk {w_ours:.3f} s (CPU {c_ours:.3f}), libRoadRunner "
          f"{w_rr:.3f} s (CPU {c_rr:.3f})")
    print(f"ratio il21pk / libRoadRunner: wall {w_ours / w_rr:.3f}, CPU {c_ours / c_rr:.3f} "
          f"(target <= 0.5)")
    cold, warm = compile_times["cold"], compile_times["warm"]
    print(f"from_sbml + first simulate: cold {cold['compile_wall']:.2f} s (target <= 10), warm "
          f"{warm['compile_wall']:.2f} s (target <= 1); with import il21pk: cold "
          f"{cold['compile_wall'] + cold['import_wall']:.2f} s, warm "
          f"{warm['compile_wall'] + warm['import_wall']:.2f} s")
    assert np.isfinite(ours).all()


if __name__ == "__main__":
    main()
