"""sweep(), samplers and executors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import il21pk as ip
from il21pk.analysis.metrics import METRICS

REG = ip.Regimen.repeat(ip.Dose(30.0), every=24, count=3)
GRID = {"dose": [3.0, 30.0], "kp_nk": [0.002, 0.008], "cl": [2.0, 5.0]}


@pytest.fixture(scope="module")
def serial(model, human):
    return ip.sweep(model, REG, human, grid=GRID, t_end=120.0, executor="serial",
                    chunk_size=3)


def test_summary_schema_and_order(serial, model):
    n_runs = 8
    per_run = len(model.variables) * len(METRICS)
    assert len(serial) == n_runs * per_run
    assert list(serial.columns) == ["run", "dose", "kp_nk", "cl", "variable", "metric", "value",
                                    "unit", "success", "message"]
    assert isinstance(serial.index, pd.RangeIndex)
    assert serial["run"].is_monotonic_increasing and serial["success"].all()
    first = serial[serial["run"] == 0].iloc[0]
    assert (first["dose"], first["kp_nk"], first["cl"]) == (3.0, 0.002, 2.0)  # first key slowest
    assert serial.loc[serial["run"] == 7, "dose"].unique().tolist() == [30.0]


def test_each_run_equals_its_own_simulate(serial, model, human):
    run = serial[(serial["run"] == 5) & (serial["variable"] == "nk_blood")]
    dose, kp, cl = run[["dose", "kp_nk", "cl"]].iloc[0]
    single = ip.simulate(model, REG.scaled_to(dose), human.with_values(kp_nk=kp, cl=cl),
                         t_end=120.0).metrics()
    single = single[single["variable"] == "nk_blood"].set_index("metric")["value"]
    np.testing.assert_allclose(run.set_index("metric")["value"].astype(float),
                               single[run["metric"].astype(str)].to_numpy(), rtol=1e-12)


_PROGRESS_PROBE = """
import il21pk as ip
from il21pk.analysis import executors
if __name__ == "__main__":
    methods = []
    real = executors.start_method
    executors.start_method = lambda: methods.append(real()) or methods[-1]
    frame = ip.sweep(ip.Model.v1(), ip.Regimen.repeat(ip.Dose(30.0), every=24, count=3), None,
                     grid={"cl": [2.0, 5.0]}, t_end=120.0, executor=2, chunk_size=1,
                     progress=True, variables=["nk_blood"])
    print(methods, bool(frame["success"].all()), frame["run"].nunique())
"""


@pytest.mark.skipif(sys.platform != "linux", reason="local pools fork only on Linux")
def test_a_progress_bar_leaves_the_local_pool_forking(tmp_path):
    # a fresh interpreter (no threads from other tests); tqdm's monitor thread
    # would make the pool start its workers from a forkserver
    script = tmp_path / "probe.py"
    script.write_text(_PROGRESS_PROBE)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         check=True, timeout=300).stdout.strip().splitlines()
    assert out[-1] == "['fork'] True 2"


def test_processes_and_dask_give_identical_rows(serial, model, human):
    distributed = pytest.importorskip("distributed")
    processes = ip.sweep(model, REG, human, grid=GRID, t_end=120.0, executor=2, chunk_size=3)
    pd.testing.assert_frame_equal(processes, serial)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        on_dask = ip.sweep(model, REG, human, grid=GRID, t_end=120.0, executor=client,
                           chunk_size=3)
    pd.testing.assert_frame_equal(on_dask, serial)


def test_failed_runs_are_kept_with_the_solver_message(model, human):
    df = ip.sweep(model, REG, human, grid={"dose": [1.0, 30.0]}, t_end=120.0,
                  max_steps=200, executor="serial", variables=["il21_plasma"],
                  metrics=["auc"])
    assert len(df) == 2
    assert not df["success"].all()
    failed = df[~df["success"]]
    assert failed["value"].isna().all() and failed["message"].str.contains("too many steps").all()


def test_trajectories_and_restricted_outputs(model, human):
    df = ip.sweep(model, REG, human, grid={"dose": [3.0, 30.0]}, t_end=48.0,
                  output="trajectories", variables=["il21_plasma", "nk_blood"])
    assert list(df.columns) == ["run", "dose", "time_h", "variable", "value", "unit", "success",
                                "message"]
    assert len(df) == 2 * 2 * 49
    res = ip.simulate(model, REG.scaled_to(30.0), human, t_end=48.0)
    ours = df[(df["run"] == 1) & (df["variable"] == "nk_blood")]["value"].to_numpy()
    theirs = res.frame[res.frame["variable"] == "nk_blood"]["value"].to_numpy()
    np.testing.assert_array_equal(ours, theirs)


def test_regimens_are_sweepable(model, human):
    regimens = {"iv": REG, "sc": ip.Regimen.repeat(ip.Dose(30.0, route="sc"), every=24, count=3)}
    df = ip.sweep(model, REG, human, grid={"regimen": regimens, "dose": [10.0]}, t_end=96.0,
                  variables=["il21_plasma"], metrics=["cmax"])
    cmax = df.set_index("regimen")["value"]
    assert cmax["iv"] > cmax["sc"] > 0


def test_samples_frame_and_virtual_population(model, human):
    pop = ip.virtual_population(human, 6, {"cl": 0.3, "kp_nk": 0.4, "f_sc": 0.5},
                                correlations={("cl", "kp_nk"): 0.5},
                                body_weight={"median": 70, "cv": 0.2}, seed=7)
    assert list(pop.columns) == ["subject", "cl", "kp_nk", "f_sc", "body_weight", "q",
                                 "v_central", "v_peripheral", "receptor_cells"]
    assert pop["f_sc"].between(0, 1).all()
    df = ip.sweep(model, REG, human, samples=pop, t_end=72.0, variables=["il21_plasma"],
                  metrics=["auc"])
    assert df["subject"].tolist() == list(range(6)) and df["success"].all()


def test_same_seed_same_samples(human):
    a = ip.virtual_population(human, 50, {"cl": 0.3}, seed=3)
    b = ip.virtual_population(human, 50, {"cl": 0.3}, seed=np.random.default_rng(3))
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(ip.virtual_population(human, 50, {"cl": 0.3}, seed=4))
    lhs = ip.latin_hypercube({"cl": (1, 10), "kd": (0.01, 1)}, 20, seed=1)
    pd.testing.assert_frame_equal(lhs, ip.latin_hypercube({"cl": (1, 10), "kd": (0.01, 1)}, 20,
                                                          seed=1))
    # a Latin hypercube puts exactly one sample in each of the n strata (log scale here)
    strata = np.floor(np.log10(lhs["cl"]) * 20).astype(int)
    assert sorted(strata) == list(range(20))
    sob = ip.sobol_samples({"cl": (1, 10)}, 16, scale="linear", seed=2)
    assert sob["cl"].between(1, 10).all() and len(sob) == 16


def test_virtual_population_log_normal_moments(human):
    pop = ip.virtual_population(human, 20000, {"cl": 0.3, "kd": 0.2},
                                correlations={("cl", "kd"): -0.6}, seed=11)
    eta = np.log(pop[["cl", "kd"]] / [human.value("cl"), human.value("kd")])
    assert eta["cl"].std() == pytest.approx(0.3, rel=0.03)
    assert eta.corr().iloc[0, 1] == pytest.approx(-0.6, abs=0.02)


def test_parquet_streaming_resumes(model, human, tmp_path):
    out = tmp_path / "sweep.parquet"
    kwargs = dict(grid={"dose": [1.0, 3.0, 10.0, 30.0]}, t_end=48.0, chunk_size=1,
                  output="trajectories", variables=["il21_plasma"], executor="serial")
    assert ip.sweep(model, REG, human, out=out, **kwargs) == out
    parts = sorted(out.glob("part-*.parquet"))
    assert len(parts) == 4
    stamp = parts[0].stat().st_mtime_ns
    parts[2].unlink()  # an interrupted run
    ip.sweep(model, REG, human, out=out, **kwargs)
    assert parts[0].stat().st_mtime_ns == stamp  # finished chunks are not recomputed
    streamed = pd.read_parquet(out).sort_values(["run", "time_h"], ignore_index=True)
    direct = ip.sweep(model, REG, human, **kwargs)
    np.testing.assert_array_equal(streamed["value"], direct["value"])
    # the time unit and bolus times (parts had none; parquet keeps a tuple as a list)
    assert streamed.attrs["time_unit"] == direct.attrs["time_unit"] == "h"
    assert list(streamed.attrs["bolus_times"]) == list(direct.attrs["bolus_times"]) \
        == [0.0, 24.0, 48.0]
    with pytest.raises(ValueError, match="holds parts of a different sweep"):
        ip.sweep(model, REG, human, out=out, **{**kwargs, "t_end": 24.0})
    nearly = {**kwargs, "grid": {"dose": [1.0, 3.0, 10.0, 30.00000000001]}}
    with pytest.raises(ValueError, match="holds parts of a different sweep"):
        ip.sweep(model, REG, human, out=out, **nearly)  # exact values, not rounded JSON


def test_streaming_refuses_a_folder_of_other_files_or_a_file(model, human, tmp_path):
    # the parts were written beside the user's own parquet file, and
    # pandas.read_parquet(out) then returned that file's rows only, without a word
    kwargs = dict(grid={"dose": [1.0, 3.0]}, t_end=24.0, variables=["il21_plasma"],
                  executor="serial")
    folder = tmp_path / "mine"
    folder.mkdir()
    pd.DataFrame({"x": [1, 2]}).to_parquet(folder / "mine.parquet")
    with pytest.raises(ip.errors.OptionError, match="holds files that are not a sweep's"):
        ip.sweep(model, REG, human, out=folder, **kwargs)
    assert sorted(p.name for p in folder.iterdir()) == ["mine.parquet"]
    afile = tmp_path / "afile"
    afile.write_text("")
    with pytest.raises(ip.errors.OptionError, match="is a file"):  # FileExistsError
        ip.sweep(model, REG, human, out=afile, **kwargs)
    empty = tmp_path / "empty"
    empty.mkdir()  # an empty folder is fine
    assert ip.sweep(model, REG, human, out=empty, **kwargs) == empty


def test_metrics_apply_to_the_summary_only(model, human):
    # metrics= was ignored with output="trajectories"
    with pytest.raises(ip.errors.OptionError, match="`metrics` apply to output='summary'"):
        ip.sweep(model, REG, human, grid={"dose": [1.0]}, t_end=24.0,
                 output="trajectories", metrics=["cmax"])


def test_streaming_tells_wells_of_other_volumes_apart(tmp_path):
    # two culture wells differ only in a fixed value (the volume), which the model's key
    # leaves out: the second sweep into the same directory read the first one's parts
    # (cmax 3.247 nM for 0.649 at 1 mL) instead of refusing
    out = tmp_path / "wells"
    kwargs = dict(grid={"dose": [10.0]}, t_end=2.0, variables=["il21_plasma"],
                  metrics=["cmax"], executor="serial")
    dose = ip.Dose(10.0, unit="ng")
    small, large = ip.Model.in_vitro(volume_ml=0.2), ip.Model.in_vitro(volume_ml=1.0)
    ip.sweep(small, dose, out=out, **kwargs)
    with pytest.raises(ValueError, match="holds parts of a different sweep"):
        ip.sweep(large, dose, out=out, **kwargs)
    direct = ip.sweep(large, dose, **kwargs)["value"].iloc[0]
    assert direct == pytest.approx(ip.sweep(small, dose, **kwargs)["value"].iloc[0] / 5.0)


def test_regimen_labels_must_differ_as_text(model, human):
    # {1: a, "1": b} labelled both runs "1" and ran b twice
    one, hundred = ip.Dose(1.0, unit="nmol"), ip.Dose(100.0, unit="nmol")
    with pytest.raises(ValueError, match=r"labels must differ as text.*\['1', '1'\]"):
        ip.sweep(model, REG, human, grid={"regimen": {1: hundred, "1": one}}, t_end=24.0)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"grid": {"cll": [1.0]}}, ip.ParameterError, r"unknown parameter 'cll'; did you mean 'cl'"),
    ({"grid": {"cl": [-1.0]}}, ip.ParameterError, r"swept 'cl' must be within \[0, 10000\]"),
    ({"grid": {"dose": [np.nan]}}, ip.ParameterError, r"swept 'dose' must be finite"),
    ({"grid": {"cl": "1.0"}}, ip.ParameterError,
     r"grid\['cl'\] must be numbers \(not text or bools\); got '1.0'"),
    ({"grid": {"cl": [1.0, "2"]}}, ip.ParameterError, r"grid\['cl'\] must be numbers"),
    # samples took "1" and True as 1.0 where grid refuses them
    ({"samples": pd.DataFrame({"cl": [1.0, "1"]})}, ip.ParameterError,
     r"swept 'cl' must be numbers; run 1 has '1' \(str\)"),
    ({"samples": pd.DataFrame({"cl": [True, False]})}, ip.ParameterError,
     r"swept 'cl' must be numbers; run 0 has (np\.)?(True|np\.True_)"),
    ({}, ValueError, r"give exactly one of `grid`"),
    ({"grid": {"cl": [1.0]}, "output": "wide"}, ValueError, r"`output` must be one of"),
    ({"grid": {"cl": [1.0]}, "executor": "threads"}, ValueError, r"`executor` must be"),
    ({"grid": {"cl": [1.0]}, "metrics": ["mean"]}, ip.ParameterError, r"unknown metric 'mean'"),
    ({"grid": {"cl": [1.0]}, "chunk_size": 0}, ValueError, r"`chunk_size` must be"),
])
def test_sweep_input_errors(model, human, kwargs, error, match):
    with pytest.raises(error, match=match):
        ip.sweep(model, REG, human, t_end=24.0, **kwargs)


@pytest.mark.parametrize("call,match", [
    (lambda h: ip.virtual_population(h, 5, {"cl": -0.1}), r"variability\['cl'\] must be"),
    (lambda h: ip.virtual_population(h, 5, {"cl": 0.1}, correlations={("cl", "kd"): 0.2}),
     "correlations name 'kd', which has no variability"),
    (lambda h: ip.sobol_samples({"cl": (1, 2)}, 10), "power of 2"),
    (lambda h: ip.latin_hypercube({"cl": (0, 2)}, 10), r"must be > 0 on a log scale"),
    (lambda h: ip.latin_hypercube({"cl": (-1, 2)}, 10, params=h, scale="linear"),
     "leave the hard bounds"),
])
def test_sampler_errors(human, call, match):
    with pytest.raises(ip.ParameterError, match=match):
        call(human)


def test_a_model_is_unpickled_once_per_process_and_round_trips():
    # every chunk of a sweep carries the model; rebuilding model v2's sympy took about
    # 20 ms per chunk in each worker. The definition is built once per process; each
    # load is a new Model, and copies are copies
    import copy
    import pickle

    from il21pk.model import model as model_module

    for original in (ip.Model.v2(), ip.Model.pk_only(compartments=1),
                     ip.Model.in_vitro(volume_ml=0.5, nk_cells=3e4)):
        model_module._DEFINITIONS.clear()
        first, second = (pickle.loads(pickle.dumps(original)) for _ in range(2))
        assert first is not second and first.definition is second.definition  # built once
        assert first == original and first is not original
        for loaded in (first, second, copy.copy(original), copy.deepcopy(original)):
            assert (loaded.kind, loaded.culture, loaded.compartments, loaded.definition.fixed
                    ) == (original.kind, original.culture, original.compartments,
                          original.definition.fixed)
        assert copy.copy(original).definition is original.definition
        deep = copy.deepcopy(original)
        assert deep.definition is not original.definition and deep == original
        deep.definition.fixed["__probe__"] = 1.0  # a deep copy is its own
        assert "__probe__" not in original.definition.fixed
        assert "__probe__" not in pickle.loads(pickle.dumps(original)).definition.fixed
    # attributes set after a pickle are in the next one
    model = ip.Model.v2()
    pickle.dumps(model)
    model.kind = "custom"
    assert pickle.loads(pickle.dumps(model)).kind == "custom"


def test_the_tail_of_a_long_sweep_is_cut_finer_and_changes_nothing(model, human):
    from il21pk.analysis.sweep import chunk_bounds

    bounds = chunk_bounds(10_000, 250, taper=True)
    sizes = np.diff(bounds)
    assert bounds[0] == 0 and bounds[-1] == 10_000 and sizes.sum() == 10_000
    assert (sizes[:38] == 250).all() and (sizes[38:] <= 62).all() and sizes[38:].sum() == 500
    assert chunk_bounds(1_000, 250, taper=True) == [0, 250, 500, 750, 1000]  # 4 chunks: as is
    assert chunk_bounds(10_000, 250, taper=False) == list(range(0, 10_001, 250))
    grid = {"cl": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]}
    tapered = ip.sweep(model, REG, human, grid=grid, t_end=48.0, chunk_size=2)  # 2,2,1,1,1,1,1
    whole = ip.sweep(model, REG, human, grid=grid, t_end=48.0, chunk_size=9)
    pd.testing.assert_frame_equal(tapered, whole)


def test_a_numpy_integer_is_a_worker_count():
    # executor=np.int64(2) was refused ("got int64"), unlike 2
    from il21pk.analysis import executors

    executors.check(np.int64(2))
    assert list(executors.ordered_map(abs, [-1, -2, 3], np.int64(1))) == [1, 2, 3]


def test_streaming_takes_a_folder_of_hidden_files(model, human, tmp_path):
    # pandas.read_parquet skips hidden and "_" files: a .DS_Store is no other sweep's
    folder = tmp_path / "finder"
    folder.mkdir()
    (folder / ".DS_Store").write_bytes(b"\0")
    out = ip.sweep(model, REG, human, grid={"dose": [1.0]}, t_end=24.0,
                   variables=["il21_plasma"], executor="serial", out=folder)
    assert len(pd.read_parquet(out)) > 0
