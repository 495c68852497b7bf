"""``il21pk simulate|sweep|dose-response|fit --model file.xml``: an SBML model from the
command line, with its own values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import il21pk as ip
from il21pk.cli import main

ANTIMONY = """
model decay
compartment V = 2
species S in V = 3
k = 0.5
J: S -> ; k*S
end
"""


@pytest.fixture()
def sbml_file(tmp_path):
    path = tmp_path / "decay.xml"
    from il21pk.io.sbml_document import sbml_from_antimony

    path.write_text(sbml_from_antimony(ANTIMONY))
    return path


def test_simulates_the_file_with_its_own_values(sbml_file, tmp_path, capsys):
    out = tmp_path / "sim.csv"
    assert main(["simulate", "--model", str(sbml_file), "--t-end", "4", "--out", str(out),
                 "--set", "k=1"]) == 0
    assert "no doses" in capsys.readouterr().out
    frame = pd.read_csv(out)
    s = frame[frame["variable"] == "S"].sort_values("time_h")
    expected = 6.0 * np.exp(-1.0 / 2.0 * s["time_h"].to_numpy())  # k=1, amount 6, V 2
    np.testing.assert_allclose(s["value"].to_numpy(), expected, rtol=1e-5)
    assert set(frame["variable"]) == {"S", "[S]"}


def test_doses_the_named_species(sbml_file, tmp_path):
    out = tmp_path / "sim.csv"
    assert main(["simulate", "--model", str(sbml_file), "--drug", "S", "--dose", "4",
                 "--unit", "nmol", "--schedule", "single", "--t-end", "2",
                 "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    s = frame[frame["variable"] == "S"].sort_values("time_h")
    model = ip.Model.from_sbml(sbml_file, drugs={"drug": "S"})
    res = ip.simulate(model, ip.Dose(4.0, unit="nmol", drug="drug"), t_end=2.0)
    np.testing.assert_allclose(s["value"].to_numpy(), res._batch.outputs["S"][0])
    assert s["value"].iloc[0] == pytest.approx(10.0)


def test_a_missing_file_is_a_one_line_error(tmp_path, capsys):
    assert main(["simulate", "--model", str(tmp_path / "nope.xml"), "--t-end", "1"]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and err.count("\n") == 1


def test_sweep_of_the_file_uses_its_own_values(sbml_file, tmp_path):
    out = tmp_path / "sweep.csv"
    assert main(["sweep", "--model", str(sbml_file), "--grid", "k=0.5,1", "--t-end", "4",
                 "--variables", "S", "--metrics", "baseline", "cmin", "--out", str(out)]) == 0
    frame = pd.read_csv(out).pivot_table(index="k", columns="metric", values="value")
    np.testing.assert_allclose(frame["baseline"], 6.0)  # V = 2 from the file, not a human set
    np.testing.assert_allclose(frame["cmin"], 6.0 * np.exp(-np.array([0.5, 1.0]) / 2.0 * 4.0),
                               rtol=1e-5)


def test_dose_response_of_the_file_doses_the_named_species(tmp_path):
    from il21pk.io.sbml_document import sbml_from_antimony

    path = tmp_path / "effect.xml"  # E right after a bolus of d: 10 d / (d + 2), an Emax curve
    path.write_text(sbml_from_antimony("""
        model effect
        compartment V = 1
        species S in V = 0
        k = 0.5
        J: S -> ; k*S
        E := emax*S/(S + ec50)
        emax = 10; ec50 = 2
        end
    """))
    out = tmp_path / "dr"
    assert main(["dose-response", "--model", str(path), "--drug", "S", "--unit", "nmol",
                 "--schedule", "single", "--doses", "0,0.5,2,8,32,128", "--responses", "E:cmax",
                 "--t-end", "2", "--out", str(out)]) == 0
    table = pd.read_csv(out / "dose_response.csv")
    doses = np.array([0.0, 0.5, 2.0, 8.0, 32.0, 128.0])
    np.testing.assert_allclose(table["value"], 10.0 * doses / (doses + 2.0), rtol=1e-7)
    fits = pd.read_csv(out / "dose_response_fit.csv").set_index("name")["estimate"]
    assert fits["ed50"] == pytest.approx(2.0, rel=1e-3)


def test_fit_of_the_file_starts_from_its_values(sbml_file, tmp_path):
    csv = tmp_path / "obs.csv"
    times = np.array([0.5, 1.0, 2.0, 3.0])
    noise = np.array([1.01, 0.99, 1.02, 0.98])
    pd.DataFrame({"time_h": times, "value": 6.0 * np.exp(-0.8 / 2.0 * times) * noise,
                  "variable": "S"}).to_csv(csv, index=False)
    out = tmp_path / "fit"
    assert main(["fit", "--data", str(csv), "--model", str(sbml_file), "--free", "k",
                 "--columns", "subject=none", "--out", str(out)]) == 0
    table = pd.read_csv(out / "fit_table.csv").set_index("name")
    assert table.loc["k", "initial"] == pytest.approx(0.5)  # the file's value
    assert table.loc["k", "estimate"] == pytest.approx(0.8, rel=0.05)


@pytest.mark.parametrize("argv,message", [
    (["dose-response", "--responses", "S:cmax"], "has none to scale: name the species or "
                                                 "parameter to dose with --drug ID"),
    (["sweep", "--grid", "k=1", "--params", "cynomolgus"],
     "--params 'cynomolgus' names a built-in parameter set; the SBML model"),
])
def test_file_model_errors_are_one_line(sbml_file, tmp_path, capsys, argv, message):
    argv = [argv[0], "--model", str(sbml_file), *argv[1:], "--t-end", "1",
            "--out", str(tmp_path / "x")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_drug_needs_an_sbml_model(capsys):
    assert main(["simulate", "--drug", "S", "--t-end", "1"]) == 2
    assert "--drug 'S' names an SBML species or parameter to dose: it needs --model" in \
        capsys.readouterr().err


def test_a_clinical_schedule_counts_days_in_the_model_time_unit(tmp_path, capsys):
    # a model in days: --schedule weekly dosed at days 0 and 168 (24 "h" a day)
    from il21pk.io.sbml_document import sbml_from_antimony

    path = tmp_path / "days.xml"
    path.write_text(sbml_from_antimony(ANTIMONY.replace(
        "model decay\n", "model decay\nunit time_unit = 86400 second\n")))
    out = tmp_path / "sim.csv"
    assert main(["simulate", "--model", str(path), "--drug", "S", "--dose", "4",
                 "--unit", "nmol", "--schedule", "weekly", "--cycles", "3", "--t-end", "21",
                 "--out", str(out)]) == 0
    assert "every 7 d, 3 doses" in capsys.readouterr().out
    s = pd.read_csv(out).query("variable == 'S'").set_index("time_h")["value"]
    # amount 6 (3 x V 2) decaying at k / V = 0.25 per day, plus 4 at days 0, 7 and 14
    expected = sum(a * np.exp(-0.25 * (21.0 - t)) for a, t in ((10.0, 0.0), (4.0, 7.0),
                                                             (4.0, 14.0)))
    assert s.loc[21.0] == pytest.approx(expected, rel=1e-5)
