"""SBML export: valid SBML Level 3 that libRoadRunner runs to the same answer."""

from __future__ import annotations

import numpy as np
import pytest

import il21pk as ip

libsbml = pytest.importorskip("libsbml")
roadrunner = pytest.importorskip("roadrunner")
pytest.importorskip("antimony")

GRID = np.arange(0.5, 96.0, 1.0)  # between dose times, where both agree on the convention
REGIMENS = {
    "iv bolus": ip.Regimen.repeat(ip.Dose(30.0), every=24, count=3),
    "iv infusion": ip.Regimen.repeat(ip.Dose(30.0, duration=2.0), every=24, count=3),
    "sc": ip.Regimen.repeat(ip.Dose(100.0, route="sc"), every=24, count=3),
}


def test_sbml_is_valid_level_3_with_units_and_events(model, human, tmp_path):
    path = tmp_path / "il21.xml"
    text = model.to_sbml(human, REGIMENS["iv bolus"], path)
    doc = libsbml.readSBMLFromString(path.read_text())
    assert text == path.read_text()
    assert doc.getLevel() == 3
    assert doc.checkConsistency() == 0 or all(
        doc.getError(i).getSeverity() < libsbml.LIBSBML_SEV_ERROR
        for i in range(doc.getNumErrors()))
    sbml_model = doc.getModel()
    assert sbml_model.getNumEvents() == 3
    assert sbml_model.getNumSpecies() == model.n_states
    assert sbml_model.getTimeUnits() == "time_unit"


@pytest.mark.parametrize("name", list(REGIMENS))
def test_roadrunner_agrees_with_simulate(model, human, name):
    regimen = REGIMENS[name]
    rr = roadrunner.RoadRunner(model.to_sbml(human, regimen))
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.setValue("absolute_tolerance", 1e-13)
    rr.timeCourseSelections = ["time", *model.state_names]
    out = rr.simulate(times=np.r_[0.0, GRID].tolist())
    ours = ip.simulate(model, regimen, human, t_end=95.5, t_eval=np.r_[0.0, GRID],
                       rtol=1e-10, atol=1e-13).wide()
    worst = 0.0
    reported = {c.split(" [")[0]: c for c in ours.columns}
    for state in model.state_names:
        if state not in reported and state != "il21_central":
            continue  # transit states are internal
        if state == "il21_central":
            theirs = out[state] / human.value("v_central")
            mine = ours["il21_plasma [nM]"].to_numpy()
        else:
            theirs = out[state]
            mine = ours[reported[state]].to_numpy()
        scale = max(np.abs(mine).max(), 1e-300)
        worst = max(worst, np.max(np.abs(theirs[1:] - mine[1:])) / scale)
    assert worst <= 1e-5, worst
