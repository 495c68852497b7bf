"""``il21pk simulate --model file.xml``: an SBML model from the command line."""

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
