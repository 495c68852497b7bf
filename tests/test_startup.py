"""A model's first simulations run the engine in the interpreter while numba
compiles it (:mod:`il21pk.engine.startup`).

That is only acceptable if nobody can tell from the numbers: the interpreted
engine must give the compiled engine's results bit for bit, with the same
solver work, for every kind of model. The cold-cache behaviour itself (the
first small simulation interpreted, the compilation in the background, the
next run compiled, the next process warm) is checked in fresh processes with
empty caches.
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
import tempfile
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest

import il21pk as ip
from il21pk.analysis.simulate import default_grid, parameter_columns
from il21pk.engine import integrate as engine
from il21pk.engine import startup
from il21pk.engine.events import compile_events
from il21pk.engine.kernels import prepare

REPO = Path(__file__).resolve().parents[1]


def _solve(model, regimen, params, t_end, interpreted, monkeypatch, scale):
    """Two members (a parameter scaled per member) through one engine or the other."""
    monkeypatch.setattr(startup, "_interpretable", lambda engine_: interpreted)
    monkeypatch.setattr(startup, "_compile_in_background", lambda *a: None)
    columns = parameter_columns(model, params)
    name, factors = scale
    columns = {k: np.repeat(np.asarray(v, dtype=float), 2) for k, v in columns.items()}
    columns[name] = columns[name] * np.asarray(factors)
    k, y0 = prepare(model, columns)
    events = compile_events(model, regimen, columns, n=2)
    grid = default_grid(regimen, t_end)
    return engine.integrate(model, k, y0, events, grid, t_end, method="numba-bdf", rtol=1e-6,
                            atol=1e-9, max_step=0.0, max_steps=200_000)


_BINDING = """
D = 100; R = 10; C = 0; P = 0
kel = 0.3; kon = 50; koff = 0.5; kint = 0.2; ksyn = 2; kdeg = 0.2; kp = 1
J1: D -> ; kel*D
J2: D + R -> C; kon*D*R - koff*C
J3: C -> ; kint*C
J4: -> R; ksyn - kdeg*R
J5: -> P; kp*C - 0.1*P
"""

_CHAIN = "\n".join(
    ["S1 = 10", *(f"S{i} = 0" for i in range(2, 14)), "k1 = 1.5",
     *(f"J{i}: S{i} -> S{i + 1}; k1*S{i}/(1 + S{i}) + 0.05*S{i}" for i in range(1, 13)),
     "E1: at (time > 12): S1 = S1 + 20"])

CASES = {
    "v1": (ip.Model.v1, lambda: ip.Regimen.five_on_nine_off(ip.Dose(30, unit="ug/kg"),
                                                              cycles=2), 672.0,
                ("kon", (1.0, 3.0))),
    "pk_only_2_sc_infusion": (
        lambda: ip.Model.pk_only(compartments=2),
        lambda: ip.Regimen([ip.Dose(50, unit="ug/kg", route="sc"),
                            ip.Dose(10, unit="ug/kg", route="iv", time=48, duration=6)]),
        168.0, ("cl", (0.5, 2.0))),
    # model v2 (41 states; logarithms in its rates) with both cytokines
    "v2_il21_il15": (
        ip.Model.v2,
        lambda: ip.Regimen.five_on_nine_off(ip.Dose(30, unit="ug/kg"), cycles=1)
        + ip.Regimen.five_on_nine_off(ip.Dose(0.3, unit="ug/kg", drug="il15"), cycles=1),
        336.0, ("kon_il21", (1.0, 3.0))),
    "in_vitro": (ip.Model.in_vitro_v1, lambda: ip.Regimen([ip.Dose(10.0, unit="ng")]), 48.0,
                 ("kd", (0.3, 3.0))),
    # imported models run the generic engine: below 12 states its dense LU and
    # differences, from 12 states on the written-out LU; without and with events
    "antimony_small": (
        lambda: ip.Model.from_antimony(_BINDING), ip.Regimen.none, 48.0, ("kon", (1.0, 3.0))),
    # an integer to a run-time integer power (floor): int64 in numba before
    "antimony_floor_power": (
        lambda: ip.Model.from_antimony("A = 1; k = 1; J: A -> ; k*A*3^(floor(20*time))*1e-30"),
        ip.Regimen.none, 4.0, ("k", (1.0, 2.0))),
    "antimony_chain_events": (
        lambda: ip.Model.from_antimony(_CHAIN), ip.Regimen.none, 48.0, ("k1", (0.5, 2.0))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_interpreted_engine_gives_the_compiled_results_bit_for_bit(case, monkeypatch):
    make_model, make_regimen, t_end, scale = CASES[case]
    model, regimen = make_model(), make_regimen()
    params = model.default_parameters() if hasattr(model, "default_parameters") else None
    compiled = _solve(model, regimen, params, t_end, False, monkeypatch, scale)
    interpreted = _solve(model, regimen, params, t_end, True, monkeypatch, scale)
    assert compiled.counts["steps"] > 100  # a real integration, with the solver's work
    assert np.array_equal(interpreted.states, compiled.states, equal_nan=True)
    assert interpreted.counts == compiled.counts
    assert list(interpreted.success) == list(compiled.success)


def test_interpreted_engine_reproduces_a_failure_exactly(monkeypatch):
    """A member that runs out of steps stops at the same time with the same message."""
    model = ip.Model.pk_only(compartments=1)
    regimen = ip.Regimen([ip.Dose(30, unit="ug/kg")])
    monkeypatch.setattr(startup, "_compile_in_background", lambda *a: None)
    results = []
    for interpreted in (False, True):
        monkeypatch.setattr(startup, "_interpretable", lambda engine_, i=interpreted: i)
        results.append(ip.simulate(model, regimen, t_end=24.0, max_steps=5,
                                   raise_on_failure=False))
    compiled, interpreted = results
    assert not compiled.success
    assert interpreted.message == compiled.message
    assert interpreted.frame.equals(compiled.frame)


_COLD = textwrap.dedent("""
    import json, time
    import il21pk as ip
    from il21pk.engine import kernels, startup
    model = MODEL
    regimen = REGIMEN
    engine = kernels.compiled(model).engine
    before = startup.state(engine)
    start = time.perf_counter()
    first = ip.simulate(model, regimen, t_end=96.0)
    seconds = time.perf_counter() - start
    after_first = startup.state(engine)
    startup.wait()
    after_wait = startup.state(engine)
    second = ip.simulate(model, regimen, t_end=96.0)
    print(json.dumps({"before": before, "after_first": after_first, "after_wait": after_wait,
                      "same": bool(first.frame.equals(second.frame)), "seconds": seconds}))
""")


@pytest.mark.parametrize(("model", "regimen"), [
    ("ip.Model.pk_only(compartments=1)",
     'ip.Regimen.repeat(ip.Dose(30, unit="ug/kg"), every=24, count=3)'),
    # the generic engine all imported models share (it was compiled before the
    # first result, about 10 s on a fresh machine)
    ('ip.Model.from_antimony("A = 5; B = 0; k = 0.3; J1: A -> B; k*A; J2: B -> ; 0.1*B")',
     "ip.Regimen.none()"),
], ids=["generated", "imported"])
def test_a_cold_cache_interprets_the_first_run_and_compiles_for_the_next(model, regimen,
                                                                         tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"),
           "IL21PK_CACHE_DIR": str(tmp_path / "il21pk"), "PYTHONPATH": str(REPO)}
    script = _COLD.replace("MODEL", model).replace("REGIMEN", regimen)
    runs = []
    for _ in range(2):  # the second process finds the machine code on disk
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                              text=True, timeout=600, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    cold, warm = runs
    assert (cold["before"], cold["after_first"], cold["after_wait"]) == \
        ("not compiled", "compiling", "compiled")
    assert cold["same"]
    assert (warm["before"], warm["after_first"]) == ("compiled", "compiled")
    assert warm["same"]


def test_a_large_batch_never_runs_interpreted(monkeypatch):
    calls = []
    monkeypatch.setattr(startup, "_interpreter", lambda module: calls.append(module))
    monkeypatch.setattr(startup, "_interpretable", lambda engine_: True)
    model = ip.Model.pk_only(compartments=1)
    ip.sweep(model, ip.Regimen([ip.Dose(30, unit="ug/kg")]),
             grid={"cl": np.linspace(1.0, 5.0, startup.INTERPRETED_MEMBERS + 1)},
             t_end=24.0, executor="serial")
    assert calls == []


@pytest.mark.parametrize("exponent", ["2", "3", "-2", "0.5", "-1.0", "2.0", "1.0", "0.0", "0.17",
                                      "-0.5", "1.5"])
def test_powers_are_computed_as_numba_computes_them(exponent, tmp_path):
    """The interpreter's `**` (numba_power) against numba's own, literal and variable
    exponents, on bases spanning 24 decades: equal bit for bit (numpy's scalar power
    and the C library's pow differ from numba's x*x, sqrt(x) and 1/x in the last bit)."""
    import numba

    from il21pk.engine.interpreted import _python, numba_power

    source = f"def literal(x):\n    return x ** {exponent}\n\n\ndef variable(x, e):\n" \
             "    return x ** e\n"
    path = tmp_path / "powers.py"  # a file: the interpreter's functions are built from source
    path.write_text(source)
    scope = runpy.run_path(str(path))
    namespace = {"numba_power": numba_power}
    rng = np.random.default_rng(7)
    bases = 10 ** rng.uniform(-12, 12, 4000)
    value = eval(exponent)  # noqa: S307
    for name, args in (("literal", ()), ("variable", (value,))):
        function, compiled = scope[name], numba.njit(scope[name])
        interpreted = _python(function, namespace)
        got = np.array([interpreted(np.float64(b), *args) for b in bases])
        expected = np.array([compiled(b, *args) for b in bases])
        assert np.array_equal(got, expected), exponent


def test_without_readable_source_the_first_run_compiles(monkeypatch):
    """The interpreter is built from source: where that cannot be read, the run
    is compiled, with the same result."""
    from il21pk.engine import interpreted

    def unreadable(function):
        raise OSError("could not get source code")

    model = ip.Model.pk_only(compartments=1)
    regimen = ip.Regimen([ip.Dose(30, unit="ug/kg")])
    expected = ip.simulate(model, regimen, t_end=24.0)
    monkeypatch.setattr(startup, "_INTERPRETED", {})
    monkeypatch.setattr(startup, "_interpretable", lambda engine_: True)
    monkeypatch.setattr(startup, "_compile_in_background", lambda *a: None)
    monkeypatch.setattr(interpreted.inspect, "getsourcelines", unreadable)
    result = ip.simulate(model, regimen, t_end=24.0)
    assert result.frame.equals(expected.frame)


class _Uncompiled:
    """Stands for an engine's dispatcher that has no machine code yet."""

    signatures: list = []

    def __init__(self, index_path: Path):
        def solve_batch():
            """Stands for the model's engine."""

        self.py_func = solve_batch
        self._cache = type("Cache", (), {"_cache_file": type("File", (), {
            "_index_path": str(index_path)})})()


def test_a_background_compilation_that_fails_says_so_and_the_next_run_compiles(monkeypatch,
                                                                              tmp_path):
    """A failure was swallowed: a process whose runs stayed small never heard
    that its engine could not be compiled. Here the compiling process cannot
    import the model's module."""
    monkeypatch.setattr(startup, "_JOBS", {})
    monkeypatch.setattr(startup, "_ENDED", set())
    engine_ = type("Engine", (), {"solve_batch": _Uncompiled(tmp_path / "absent.nbi")})()
    module = types.SimpleNamespace(__name__="il21pk_generated_gone",
                                   __file__=str(tmp_path / "gone.py"))
    assert startup._interpretable(engine_)  # never tried: the first small run is interpreted
    startup._compile_in_background(module, engine_, (np.zeros(3),))
    startup.wait()
    with pytest.warns(RuntimeWarning, match=r"background failed: FileNotFoundError: .*gone\.py"
                                            r".* The results so far came from the interpreter"):
        assert startup.state(engine_) == "not compiled"
    assert not startup._interpretable(engine_)  # the next run compiles in the foreground


def test_compiling_leaves_the_callers_warning_filters_alone(tmp_path):
    """numba compiling in a thread of this process swapped the process's warning
    filters while the caller ran: a catch_warnings block around a first
    simulation left 'ignore everything' in force for good."""
    script = textwrap.dedent("""
        import warnings
        import il21pk as ip
        from il21pk.engine import startup
        before = list(warnings.filters)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ip.simulate(ip.Model.pk_only(compartments=1), ip.Regimen([ip.Dose(30, unit="ug/kg")]),
                        t_end=24.0)
        startup.wait()
        print(warnings.filters == before)
    """)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"),
           "IL21PK_CACHE_DIR": str(tmp_path / "il21pk"), "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=600, check=True)
    assert done.stdout.strip().splitlines()[-1] == "True"


class _Running:
    """Stands for a compiling child process: running until `done` is set."""

    def __init__(self):
        self.done = False
        self.returncode = None

    def poll(self):
        self.returncode = 0 if self.done else None
        return self.returncode


def _engine(tmp_path, name):
    dispatcher = _Uncompiled(tmp_path / f"{name}.nbi")
    dispatcher.py_func.__qualname__ = name
    return type("Engine", (), {"solve_batch": dispatcher})()


def test_one_background_compilation_at_a_time(monkeypatch, tmp_path):
    """Two models' first runs no longer start two compilers side by side (each a
    Python process and 10-20 s of CPU): the second model waits its turn,
    interpreted meanwhile."""
    started = []

    def start(job):
        started.append(_Running())
        return startup._Job(job.module, job.path, started[-1], tempfile.TemporaryFile("w+"))

    monkeypatch.setattr(startup, "_JOBS", {})
    monkeypatch.setattr(startup, "_ENDED", set())
    monkeypatch.setattr(startup, "_start", start)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where job files go
    module = types.SimpleNamespace(__name__="m", __file__=str(tmp_path / "m.py"))
    # specialised engines of different models share a qualified name
    first, second = _engine(tmp_path, "first"), _engine(tmp_path, "second")
    first.solve_batch.py_func.__qualname__ = second.solve_batch.py_func.__qualname__
    startup._compile_in_background(module, first, (np.zeros(3),))
    startup._compile_in_background(module, second, (np.zeros(3),))
    assert len(started) == 1 and startup.state(first) == "compiling"
    assert startup.state(second) == "not compiled"  # not taken for the first one's
    assert startup._interpretable(second)  # its small batches still run interpreted
    started[0].done = True
    startup._compile_in_background(module, second, (np.zeros(3),))
    assert len(started) == 2 and startup.state(second) == "compiling"
    started[1].done = True
    assert startup.state(second) == "not compiled"  # ended without machine code on disk
    assert not list(tmp_path.glob("*.il21pk-job"))  # job files removed once ended


def test_the_compiling_process_finds_il21pk_whatever_sys_path_holds(monkeypatch, tmp_path):
    """A pathlib.Path on sys.path made every small first run raise TypeError
    (joining the child's PYTHONPATH), and a relative entry lost il21pk once the
    caller changed directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [*sys.path, Path("/opt/elsewhere"), "relative", 7])
    paths = startup._child_path().split(os.pathsep)
    assert paths[0] == str(REPO)  # where il21pk was imported from, first
    assert "/opt/elsewhere" in paths and str(tmp_path / "relative") in paths
    assert all(os.path.isabs(p) for p in paths)


def test_without_a_process_to_start_the_next_run_compiles(monkeypatch, tmp_path):
    """An embedded Python may have no interpreter to start: say so, and let the
    next simulation compile in the foreground instead of interpreting forever."""

    def no_python(*args, **kwargs):
        raise FileNotFoundError("no such interpreter")

    monkeypatch.setattr(startup, "_JOBS", {})
    monkeypatch.setattr(startup.subprocess, "Popen", no_python)
    engine_ = _engine(tmp_path, "engine")
    module = types.SimpleNamespace(__name__="m", __file__=str(tmp_path / "m.py"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where job files go
    with pytest.warns(RuntimeWarning, match=r"cannot compile the engine of m in the background "
                                            r"\(FileNotFoundError: no such interpreter\); the "
                                            r"next simulation of this model compiles first"):
        startup._compile_in_background(module, engine_, (np.zeros(3),))
    assert startup.state(engine_) == "not compiled"
    assert not startup._interpretable(engine_)
    assert not list(tmp_path.glob("*.il21pk-job"))
