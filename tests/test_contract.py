"""The input contract: bad input raises il21pk's ValueError/TypeError subclasses that
name the field, the value and what is allowed; resource limits; safe environment.

Each test here reproduces an item of issue 14 that raised the wrong exception
(AttributeError, KeyError, OverflowError, ...) or a message that named nothing.
"""

from __future__ import annotations

import multiprocessing
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

import il21pk as ip
from il21pk.analysis import executors
from il21pk.errors import Il21pkError
from il21pk.regimen import MAX_DOSES

ROOT = Path(__file__).resolve().parents[1]


# -- environment: version floors and process start method --------------------------------

def test_version_floors_match_what_the_code_uses():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert re.search(r">=\s*3\.1[1-9]", meta["requires-python"])  # the CLI imports tomllib
    floors = {re.split(r"[<>=\[ ]", d, maxsplit=1)[0]: d for d in meta["dependencies"]}
    assert re.search(r">=\s*[2-9]\.", floors["numpy"])  # np.trapezoid is numpy 2.0
    assert re.search(r">=\s*0\.(6\d|[7-9]\d)", floors["numba"])  # numba for numpy 2
    assert any(d.startswith("hypothesis") for d in
               tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
                   "optional-dependencies"]["test"])


_POOL_PROBE = """
import os, threading
from il21pk.analysis import executors
def parent(method):
    with executors.process_pool(1) as pool:
        return method, pool.submit(os.getppid).result() == os.getpid()
if __name__ == "__main__":
    print(parent(executors.start_method()))
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    print(parent(executors.start_method()))
    release.set()
    other.join()
    print(executors.start_method())
"""


@pytest.mark.skipif(sys.platform != "linux", reason="local pools fork only on Linux")
def test_local_pool_forks_only_a_single_threaded_process(tmp_path):
    # in a fresh interpreter, whatever threads this test process runs: a forked
    # worker's parent is the caller, a forkserver worker's is the server
    assert executors.SAFE_START_METHOD in ("forkserver", "spawn")
    assert executors.SAFE_START_METHOD in multiprocessing.get_all_start_methods()
    script = tmp_path / "probe.py"
    script.write_text(_POOL_PROBE)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         check=True, timeout=300).stdout.split("\n")
    assert out[:3] == ["('fork', True)", f"('{executors.SAFE_START_METHOD}', False)", "fork"]


def test_cpu_count_honours_the_affinity_mask(monkeypatch):
    monkeypatch.setattr(executors.os, "sched_getaffinity", lambda pid: {3}, raising=False)
    monkeypatch.setattr(executors.os, "cpu_count", lambda: 64)
    assert executors.cpu_count() == 1


# -- Dose, Regimen, ParameterSet: wrong types and huge numbers ---------------------------

BIG = 10**400  # an int no float can hold


@pytest.mark.parametrize("make,match", [
    (lambda: ip.Regimen.five_on_nine_off(1), r"five_on_nine_off needs an il21pk Dose.*int 1"),
    (lambda: ip.Regimen.repeat("x", every=24, count=2), r"repeat needs an il21pk Dose.*'x'"),
    (lambda: ip.Regimen.days(3.0, [1]), r"Regimen.days needs an il21pk Dose"),
    (lambda: ip.Regimen.weekly(None), r"Regimen.weekly needs an il21pk Dose"),
    (lambda: ip.Regimen.single("30 ug/kg"), r"Regimen.single needs an il21pk Dose"),
    (lambda: ip.Regimen(5), r"Regimen.doses must be a sequence of Dose"),
    (lambda: ip.Regimen.five_on_nine_off(ip.Dose(1), cycles="2"),
     r"five_on_nine_off cycles must be an integer"),
    (lambda: ip.Regimen.days(ip.Dose(1), 5), r"days must be a sequence of whole day numbers"),
])
def test_regimen_builders_reject_wrong_types(make, match):
    with pytest.raises(ip.RegimenError, match=match):
        make()


@pytest.mark.parametrize("make,field", [
    (lambda: ip.Dose(BIG), "Dose.amount"),
    (lambda: ip.Dose(1.0, time=BIG), "Dose.time"),
    (lambda: ip.Dose(1.0, duration=BIG), "Dose.duration"),
    (lambda: ip.Regimen.repeat(ip.Dose(1.0), every=BIG, count=2), "Regimen.repeat every"),
    (lambda: ip.Regimen.repeat(ip.Dose(1.0), every=1, count=2, start=BIG),
     "Regimen.repeat start"),
    (lambda: ip.Regimen.days(ip.Dose(1.0), [BIG]), "Regimen.days days"),
    (lambda: ip.Regimen.single(ip.Dose(1.0)).shifted(BIG), "Regimen.shifted hours"),
    (lambda: ip.Regimen.single(ip.Dose(1.0)).scaled_to(BIG), "Dose.amount"),
])
def test_integers_too_large_for_a_float_are_regimen_errors(make, field):
    with pytest.raises(ip.RegimenError, match=rf"{field} must be a finite number; got an "
                                              r"integer too large for a float \(1000"):
        make()


@pytest.mark.parametrize("days", [[float("nan")], [float("inf")], [1, float("nan")]])
def test_non_finite_dosing_days_are_named(days):
    with pytest.raises(ip.RegimenError, match="Regimen.days days must be finite; got"):
        ip.Regimen.days(ip.Dose(1.0), days)


def test_route_of_the_wrong_type_is_a_regimen_error():
    import numpy as np

    with pytest.raises(ip.RegimenError, match=r"Dose.route must be one of \['iv', 'sc'\]"):
        ip.Dose(1.0, route=np.array(["iv", "sc"]))


@pytest.mark.parametrize("make", [
    lambda: ip.Regimen.repeat(ip.Dose(1.0), every=1.0, count=10**9),
    lambda: ip.Regimen.days(ip.Dose(1.0), range(1, 11), course_days=14, courses=10**8),
    lambda: ip.Regimen.five_on_nine_off(ip.Dose(1.0), cycles=MAX_DOSES),
    lambda: ip.Regimen.weekly(ip.Dose(1.0), weeks=BIG),
])
def test_dose_count_limit_is_checked_before_building(make):
    # 1e9 doses used to take ~70 minutes and ~100 GB; now an error, at once
    with pytest.raises(ip.RegimenError, match=r"at most MAX_DOSES = 100,000"):
        make()


def test_regimen_of_exactly_max_doses_is_allowed():
    assert len(ip.Regimen.repeat(ip.Dose(1.0), every=1.0, count=MAX_DOSES)) == MAX_DOSES


def test_with_values_source_must_be_a_string(human):
    with pytest.raises(ip.ParameterError, match=r"source must be a non-empty string.*None"):
        human.with_values(cl=1.0, source=None)
    with pytest.raises(ip.ParameterError, match=r"takes a mapping"):
        human.with_values([("cl", 1.0)])


def test_parameter_value_too_large_for_a_float(human):
    with pytest.raises(ip.ParameterError, match=r"parameter 'cl' must be a finite number "
                                                r"\[L/h\]; got an integer too large"):
        human.with_values(cl=BIG)


def test_error_classes_subclass_the_builtin_kinds():
    from il21pk.errors import InputTypeError, OptionError

    assert issubclass(OptionError, ValueError) and issubclass(OptionError, Il21pkError)
    assert issubclass(InputTypeError, TypeError) and issubclass(InputTypeError, Il21pkError)


# -- Dataset and NONMEM readers ------------------------------------------------------------

def _frame():
    import pandas as pd

    return pd.DataFrame({"subject": [1, 1], "time_h": [1.0, 2.0], "value": [2.0, 1.0]})


def _nonmem():
    import pandas as pd

    return pd.DataFrame({"ID": [1, 1], "TIME": [0.0, 1.0], "AMT": [10.0, 0], "EVID": [1, 0],
                         "DV": [0.0, 2.0]})


def test_from_frame_model_must_be_a_model():
    from il21pk.errors import InputTypeError

    with pytest.raises(InputTypeError, match=r"`model` must be an il21pk Model.*str 'pk'"):
        ip.Dataset.from_frame(_frame(), variable="il21_plasma", regimen=ip.Dose(1.0),
                              model="pk")


def test_from_frame_regimen_mapping_takes_doses_and_rejects_other_types():
    from il21pk.errors import InputTypeError

    data = ip.Dataset.from_frame(_frame(), variable="il21_plasma", regimen={1: ip.Dose(1.0)})
    assert data.regimens[1] == ip.Regimen.single(ip.Dose(1.0))  # was AttributeError
    with pytest.raises(InputTypeError, match=r"regimen\[1\] must be an il21pk Regimen"):
        ip.Dataset.from_frame(_frame(), variable="il21_plasma", regimen={1: 30.0})


def test_dvid_mapping_without_a_dvid_column_is_a_data_error():
    with pytest.raises(ip.DataError, match=r"no DVID column, so every observation is DVID=1"):
        ip.Dataset.from_nonmem(_nonmem(), dvid={2: "nk_blood"})  # was KeyError: None


@pytest.mark.parametrize("columns", [["ID", "TIME", "AMT", "EVID", "ID"],
                                     ["ID", "TIME", "AMT", "EVID", "time"]])
def test_duplicate_nonmem_columns_are_named(columns):
    import pandas as pd

    df = pd.DataFrame([[1, 0.0, 10.0, 1, 0.0]], columns=columns)
    with pytest.raises(ip.RegimenError, match=r"duplicate column\(s\)"):
        ip.Regimen.from_nonmem(df)


def test_duplicate_frame_columns_are_named():
    df = _frame()
    df.columns = ["subject", "time_h", "time_h"]
    with pytest.raises(ip.DataError, match=r"duplicate column\(s\) \['time_h'\]"):
        ip.Dataset.from_frame(df, variable="il21_plasma", regimen=ip.Dose(1.0))


def test_nonmem_addl_dose_count_limit_is_checked_before_building():
    df = _nonmem().assign(II=[24.0, 0.0], ADDL=[10**9, 0])
    with pytest.raises(ip.RegimenError, match=r"1e\+09 doses \(records plus ADDL\); at most "
                                              r"MAX_DOSES"):
        ip.Regimen.from_nonmem(df)
    with pytest.raises(ip.DataError, match="MAX_DOSES"):
        ip.Dataset.from_nonmem(df)


@pytest.mark.parametrize("column,value,match", [
    ("LLOQ", "none", r"NONMEM column LLOQ must be a number; row 1 has 'none'"),
    ("WT", "heavy", r"covariate column 'WT' must be a number; got 'heavy'"),
    ("TIME", ".", r"TIME must be a finite number; row 1 has '\.' \(a missing value\)"),
])
def test_nonmem_text_is_named_not_a_raw_float_message(column, value, match):
    df = _nonmem().astype(object)
    df[column] = [0.0, value] if column != "TIME" else [0.0, value]
    with pytest.raises(ip.DataError, match=match):
        ip.Dataset.from_nonmem(df)


# -- resource limits and solver options -------------------------------------------------------

from il21pk.analysis.simulate import MAX_STEPS_LIMIT, MAX_TIME_POINTS  # noqa: E402
from il21pk.errors import OptionError  # noqa: E402


@pytest.mark.parametrize("kwargs,match", [
    ({"t_end": 1e9}, r"default hourly grid of 1,000,000,001 output times; at most "
                     r"MAX_TIME_POINTS = 100,000"),
    ({"t_end": 1e6, "t_eval": np.linspace(0.0, 1e6, MAX_TIME_POINTS + 1)},
     r"`t_eval` holds 100,001 times"),
    ({"t_end": 10.0, "max_steps": MAX_STEPS_LIMIT + 1}, r"`max_steps` must be <= "
                                                        r"MAX_STEPS_LIMIT = 10,000,000"),
    ({"t_end": BIG}, r"`t_end` must be a finite number of hours; got an integer too large"),
    ({"t_end": 10.0, "max_step": float("nan")}, r"`max_step` must be a number >= 0 h"),
    ({"t_end": 10.0, "t_eval": ["a"]}, r"`t_eval` must be an array of hours"),
])
def test_resource_limits_and_options_raise_before_memory_is_spent(model, human, kwargs, match):
    # t_end=1e9 used to end in MemoryError or the OOM killer
    with pytest.raises(OptionError, match=match):
        ip.simulate(model, ip.Dose(1.0), human, **kwargs)


def test_a_long_simulation_with_a_coarse_grid_is_allowed(drug):
    res = ip.simulate(ip.Model.pk_only(compartments=1), ip.Dose(1.0, unit="nmol"), drug,
                      t_end=1e6, t_eval=np.array([0.0, 1.0, 1e6]))
    assert res.success


# -- samplers and sweeps ------------------------------------------------------------------------

@pytest.mark.parametrize("call,error,match", [
    (lambda h: ip.virtual_population(h, 5, [("cl", 0.3)]), TypeError,
     r"`variability` must be a mapping"),
    (lambda h: ip.virtual_population(h, 5, {"cl": 0.3}, seed="x"), OptionError,
     r"`seed` must be None, an integer >= 0 \(or a sequence of them\), a numpy SeedSequence "
     r"or Generator; got 'x'"),
    (lambda h: ip.virtual_population(h, 5, {"cl": 0.3}, body_weight={"median": "70"}),
     ip.ParameterError, r"body_weight\['median'\] must be a number > 0 kg; got '70'"),
    (lambda h: ip.virtual_population(h, 5, {"cl": 0.3, "ka": 0.2},
                                     correlations={("cl", "ka"): "high"}),
     ip.ParameterError, r"must be a number in \(-1, 1\); got 'high'"),
    (lambda h: ip.virtual_population(h, 5, {"cl": 1e-200, "ka": 1e-200},
                                     correlations={("cl", "ka"): 0.5}),
     ip.ParameterError, r"not positive definite in floating point"),
    (lambda h: ip.latin_hypercube([("cl", (1, 2))], 4), TypeError,
     r"bounds must be a mapping"),
    (lambda h: ip.latin_hypercube({"cl": (1, BIG)}, 4), ip.ParameterError,
     r"bounds\['cl'\] must be a \(low, high\) pair of numbers"),
])
def test_sampler_inputs_are_named(human, call, error, match):
    with pytest.raises(error, match=match):
        call(human)


REG = ip.Regimen.single(ip.Dose(30.0))


@pytest.mark.parametrize("kwargs,error,match", [
    ({"grid": {"cl": [1.0]}, "variables": []}, OptionError,
     r"`variables` must name at least one of"),  # was numpy's "need at least one array"
    ({"grid": {"cl": [1.0]}, "metrics": []}, OptionError, r"`metrics` must name at least one"),
    ({"grid": {"cl": [1.0]}, "variables": ["il21_plasma", "il21_plasma"]}, OptionError,
     r"names an entry twice"),
    ({"grid": {"run": [1.0]}}, OptionError, r"grid key 'run' is a column the sweep writes"),
    ({"grid": {"regimen": [REG, 30.0]}}, TypeError,
     r"grid\['regimen'\]\[.*\] must be an il21pk Regimen or Dose; got float"),
    ({"grid": {"cl": [[1.0, 2.0]]}}, ip.ParameterError, r"must be a flat list of values"),
    ({"grid": {"cl": np.linspace(1, 2, 4000), "ka": np.linspace(0.1, 1, 4000)}}, OptionError,
     r"the grid has 16,000,000 combinations; at most MAX_RUNS"),
    ({"grid": {"cl": np.linspace(1, 2, 100_000)}, "output": "trajectories"}, OptionError,
     r"would return .* rows .* at most MAX_ROWS"),
    ({"grid": {"cl": [1.0]}, "out": 5}, TypeError, r"`out` must be a directory path"),
    ({"grid": {"cl": [1.0]}, "executor": True}, TypeError, r"`executor` must be None"),
])
def test_sweep_inputs_are_named(model, human, kwargs, error, match):
    with pytest.raises(error, match=match):
        ip.sweep(model, REG, human, t_end=24.0, **kwargs)


def test_samples_with_a_run_column_are_refused(model, human):
    import pandas as pd

    samples = pd.DataFrame({"run": [0, 1], "cl": [1.0, 2.0]})
    with pytest.raises(ip.ParameterError, match=r"\['run'\] are written by the sweep itself"):
        ip.sweep(model, REG, human, samples=samples, t_end=24.0)


def test_chunks_shrink_to_bound_worker_memory(model, human, monkeypatch):
    import importlib

    sweep_module = importlib.import_module("il21pk.analysis.sweep")

    seen = []
    real = sweep_module._run_chunk
    monkeypatch.setattr(sweep_module, "MAX_CHUNK_POINTS", 50)
    monkeypatch.setattr(sweep_module, "_run_chunk", lambda c: seen.append(len(c.runs)) or
                        real(c))
    frame = ip.sweep(model, REG, human, grid={"cl": [1.0, 2.0, 3.0]}, t_end=24.0,
                     executor="serial", variables=["il21_plasma"], metrics=["auc"])
    assert seen == [2, 1]  # 25 output times: at most 2 runs per chunk
    assert frame["run"].tolist() == [0, 1, 2]


# -- the command line: one line on stderr, exit 2, never a traceback ------------------------

from il21pk import cli  # noqa: E402


def _run_cli(argv, capsys):
    status = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "usage:" not in err
    return lines[0]


@pytest.mark.parametrize("spec,match", [
    ("grid = 5\n", r"'grid' must be a table"),  # was AttributeError with a traceback
    ("[grid]\ncl = 'abc'\n", r"grid.cl must be a list of numbers"),
    ("dose = 'ten'\n", r"'dose' must be a number; got 'ten'"),
    ("count = 2.5\n", r"'count' must be an integer"),
    ("schedule = 'daily'\n", r"'schedule' must be one of"),
    ("func = 5\n", r"unknown key 'func'"),
    ("executor = 'threads'\n", r"'executor' must be 'serial', 'processes'"),
])
def test_cli_spec_values_are_checked(tmp_path, capsys, spec, match):
    path = tmp_path / "spec.toml"
    path.write_text(spec)
    status, _, err = _run_cli(["sweep", "--spec", path, "--out", tmp_path / "s.csv"], capsys)
    assert status == 2
    assert re.search(match, _one_error_line(err))


@pytest.mark.parametrize("argv,match", [
    (["simulate", "--count", "x"], r"argument --count: invalid int value: 'x'"),
    (["bogus"], r"invalid choice: 'bogus'"),
    ([], r"the following arguments are required: command"),
    (["sweep", "--executor", "x"], r"must be 'serial', 'processes' or a number of workers"),
    (["simulate", "--schedule", "repeat", "--count", "1000000000"], r"at most MAX_DOSES"),
    (["simulate", "--t-end", "1e9"], r"at most MAX_TIME_POINTS"),
    (["simulate", "--dose", "1e400"], r"Dose.amount must be finite"),
    (["sweep", "--grid", "cl="], r"--grid cl takes comma-separated numbers"),
    (["sweep"], r"sweep needs at least one --grid"),
    (["nca", "--data", "/nonexistent.csv"], r"No such file or directory"),
    (["params", "--set", "cl=abc"], r"--set cl: value must be a number"),
])
def test_cli_mistakes_are_one_line_and_exit_2(tmp_path, capsys, argv, match):
    status, _, err = _run_cli([*argv, *(["--out", tmp_path / "o.csv"] if argv and argv[0] in
                                        ("simulate", "sweep") else [])], capsys)
    assert status == 2
    assert re.search(match, _one_error_line(err))


def test_cli_fit_of_a_pk_model_on_nk_data_is_one_line(tmp_path, capsys):
    import pandas as pd

    csv = tmp_path / "obs.csv"
    pd.DataFrame({"time_h": [1.0, 2.0], "value": [0.1, 150.0],
                  "variable": ["il21_plasma", "nk_blood"]}).to_csv(csv, index=False)
    status, _, err = _run_cli(["fit", "--data", csv, "--model", "pk", "--free", "cl",
                               "--columns", "subject=variable", "--out", tmp_path], capsys)
    assert status == 2  # was KeyError: 'nk_blood' with a traceback
    # the data are read against the model fitted (Model.pk_only()), not the full model
    assert "unknown variable 'nk_blood'; the model reports ['il21_depot'" in \
        _one_error_line(err)


def test_cli_unknown_column_mapping_is_named(tmp_path, capsys):
    status, _, err = _run_cli(["fit", "--data", tmp_path / "x.csv", "--free", "cl",
                               "--columns", "conc=Conc"], capsys)
    assert status == 2 and "--columns takes" in _one_error_line(err)


def test_cli_warnings_are_one_line_and_dropped_before_an_error(capsys, monkeypatch):
    import warnings

    def warn_then_fail(args):
        warnings.warn("divide by zero encountered", RuntimeWarning, stacklevel=1)
        raise ip.ParameterError("parameter 'cl' must be > 0")

    def warn_then_succeed(args):
        warnings.warn("something odd\nover two lines", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(cli, "_cmd_params", warn_then_fail)
    status, _, err = _run_cli(["params"], capsys)
    assert status == 2 and "divide by zero" not in err
    assert _one_error_line(err) == "il21pk params: error: parameter 'cl' must be > 0"
    monkeypatch.setattr(cli, "_cmd_params", warn_then_succeed)
    status, _, err = _run_cli(["params"], capsys)
    assert status == 0 and err == "il21pk params: warning: something odd over two lines\n"


def test_cli_internal_errors_are_one_line_too(capsys, monkeypatch):
    def broken(args):
        return {}["missing"]

    monkeypatch.setattr(cli, "_cmd_params", broken)
    monkeypatch.delenv("IL21PK_TRACEBACK", raising=False)
    status, _, err = _run_cli(["params"], capsys)
    assert status == 1 and "internal error KeyError" in _one_error_line(err)
    monkeypatch.setenv("IL21PK_TRACEBACK", "1")
    with pytest.raises(KeyError):
        cli.main(["params"])
