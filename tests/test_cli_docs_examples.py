"""CLI, generated docs, plots, examples and the public API surface."""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

import il21pk as ip
from il21pk.cli import main

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: Examples that read a reference file from beside the repository -> that file
#: (as the example finds it); without it the example is skipped, as the tests
#: of that file are.
REFERENCE_INPUTS = {"11_sbml_import.py": Path(
    os.environ.get("IL21PK_BIOMD761")
    or ROOT.parent / "shared" / "reference" / "sbml" / "BIOMD0000000761.xml")}


def test_cli_simulate_writes_tidy_csv_metrics_and_plot(tmp_path, capsys):
    out = tmp_path / "sim.csv"
    png = tmp_path / "sim.png"
    assert main(["simulate", "--dose", "10", "--schedule", "repeat", "--count", "2",
                 "--t-end", "48", "--out", str(out), "--plot", str(png)]) == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["time_h", "stage", "variable", "value", "unit"]
    assert frame["time_h"].max() == 48
    metrics = pd.read_csv(tmp_path / "sim_metrics.csv")
    assert {"variable", "metric", "value", "unit"} == set(metrics.columns)
    assert png.stat().st_size > 10_000
    assert "10 ug/kg IV bolus at t=0 h, repeated every 24 h, 2 doses" in capsys.readouterr().out


@pytest.mark.parametrize("argv,match", [
    (["simulate", "--dose", "-1"], "Dose.amount must be >= 0"),
    (["simulate", "--unit", "ug/lb"], "Dose.unit must be one of"),
    (["simulate", "--set", "kon_=3"], "unknown parameter 'kon_'"),
    (["simulate", "--set", "cl"], "--set takes name=value"),
    (["params", "--params", "mouse"], "unknown parameter set 'mouse'"),
])
def test_cli_user_mistakes_exit_2_with_one_line(argv, match, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_params_prints_the_table(capsys):
    assert main(["params", "--params", "cynomolgus"]) == 0
    assert "Waggie2012" in capsys.readouterr().out


def test_overview_plot_draws_each_panel_with_units():
    res = ip.simulate(ip.Model.v1(), ip.Dose(30.0), t_end=48.0)
    axes = ip.plotting.overview(res.frame)
    assert len(axes) == 6
    assert axes[0].get_ylabel() == "plasma IL-21 [nM]"
    assert axes[5].get_ylabel() == "plasma IFN-gamma [pg/mL]"
    assert all(len(ax.get_lines()) == 1 for ax in axes)
    assert axes[0].get_xlabel() == "time [d]"
    with pytest.raises(ValueError, match="variable 'nope' is not in the frame"):
        ip.plotting.time_course(res.frame, "nope")
    plt.close("all")


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted((ROOT / "examples").glob("*.py")),
                         ids=lambda p: p.name)
def test_examples_run(script, tmp_path, monkeypatch):
    needs = REFERENCE_INPUTS.get(script.name)
    if needs is not None and not needs.is_file():
        pytest.skip(f"{script.name} reads {needs}, which is not there")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(script), str(tmp_path)])
    runpy.run_path(str(script), run_name="__main__")
    plt.close("all")


def test_every_public_name_has_a_docstring():
    for name in ip.__all__:
        if name.startswith("__"):
            continue
        assert getattr(ip, name).__doc__, name


def test_cli_dose_response_main_job(tmp_path, capsys):
    assert main(["dose-response", "--doses", "1,3,10,30,100", "--t-end", "336", "--cycles", "1",
                 "--executor", "serial", "--out", str(tmp_path)]) == 0
    table = pd.read_csv(tmp_path / "dose_response.csv")
    assert set(table["response"]) == {"scd25_plasma", "ifng_plasma"} and len(table) == 10
    fits = pd.read_csv(tmp_path / "dose_response_fit.csv")
    assert set(fits["name"]) == {"e0", "emax", "ed50", "hill"}
    assert (tmp_path / "dose_response.png").stat().st_size > 20_000


def test_cli_sweep_from_toml_spec_and_nca(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text('dose = 10\nt-end = 48.0\nschedule = "single"\n'
                    '[grid]\nil21_cl_ref = [1.0, 3.0]\n')
    out = tmp_path / "sweep.parquet"
    assert main(["sweep", "--spec", str(spec), "--output", "trajectories", "--variables",
                 "il21_plasma", "--executor", "serial", "--out", str(out)]) == 0
    frame = pd.read_parquet(out)
    assert frame["il21_cl_ref"].unique().tolist() == [1.0, 3.0] and frame["time_h"].max() == 48.0
    table = tmp_path / "nca.csv"
    assert main(["nca", "--data", str(out), "--by", "run", "--out", str(table)]) == 0
    auc = pd.read_csv(table)["auc_inf"]
    assert auc[0] > auc[1]  # higher clearance, smaller AUC


def test_cli_bad_spec_key(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text("dosse = 10\n")
    assert main(["sweep", "--spec", str(spec)]) == 2
    assert "unknown key 'dosse'" in capsys.readouterr().err


def test_documentation_site_builds_strictly(tmp_path):
    import subprocess

    pytest.importorskip("mkdocs")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f",
                           str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    assert "Simulate the dose" in api and "Estimate parameters by maximum likelihood" in api
