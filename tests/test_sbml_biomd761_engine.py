"""BIOMD0000000761 (Cappuccio, Elishmereni & Agur 2006) on the compiled engine.

Imported with ``Model.from_sbml`` and simulated by ``il21pk.simulate``, it
must agree with libRoadRunner to 1e-6 of each variable's range over its time
course (0-30 days, see ``test_sbml_biomd761.py``), without doses and with its
IL-21 (species U) dosed as a drug.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

roadrunner = pytest.importorskip("roadrunner")

import il21pk as ip  # noqa: E402

MODEL = (Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "sbml"
         / "BIOMD0000000761.xml")
T_END_DAYS = 30.0
TIMES = np.linspace(0.0, T_END_DAYS, 301)
SPECIES = ("U", "X", "Y", "M", "P", "Z")
VARIABLES = [name for s in SPECIES for name in (s, f"[{s}]")]

pytestmark = pytest.mark.skipif(not MODEL.is_file(), reason=f"{MODEL} not found")


def _roadrunner() -> roadrunner.RoadRunner:
    rr = roadrunner.RoadRunner(str(MODEL))
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-14
    rr.timeCourseSelections = ["time", *VARIABLES]
    return rr


def _assert_agrees(result: ip.SimulationResult, reference: np.ndarray) -> None:
    np.testing.assert_allclose(result.times, reference[:, 0], rtol=0, atol=1e-12)
    for j, name in enumerate(VARIABLES, start=1):
        expected = reference[:, j]
        span = expected.max() - expected.min()
        assert span > 0, f"{name} does not change over the time course"
        error = np.max(np.abs(result._batch.outputs[name][0] - expected)) / span
        assert error <= 1e-6, f"{name}: max |engine - libRoadRunner| / range = {error:.2e}"


def test_imports_as_a_model_with_its_values_names_and_time_unit():
    model = ip.Model.from_sbml(MODEL)
    assert model.kind == "sbml" and model.definition.time_unit == "d"
    assert [v.name for v in model.variables] == VARIABLES
    params = model.default_parameters()
    assert params["h"].value == 634.0 and params["K"].value == 400.0
    assert params["compartment"].unit == "mL" and params["compartment"].lower == 0.0


def test_agrees_with_libroadrunner_to_1e_6_of_each_range():
    reference = np.asarray(_roadrunner().simulate(0.0, T_END_DAYS, TIMES.size))
    result = ip.simulate(ip.Model.from_sbml(MODEL), None, t_end=T_END_DAYS, t_eval=TIMES,
                         rtol=1e-10, atol=1e-12)
    assert result.options["time_unit"] == "d"
    _assert_agrees(result, reference)


def test_dosed_il21_agrees_with_libroadrunner():
    """100 nmol of U at day 5 and 100 nmol infused over days 12-14; in libRoadRunner
    the bolus is added to U and the infusion is a zero-order reaction into U."""
    rr = roadrunner.RoadRunner(str(MODEL))
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-14
    rr.addParameter("infusion", 0.0, False)
    rr.addReaction("dose_in", [], ["U"], "infusion", True)
    rr.timeCourseSelections = ["time", *VARIABLES]
    a = np.asarray(rr.simulate(0.0, 5.0, 51))
    rr["U"] = rr["U"] + 100.0
    b = np.asarray(rr.simulate(5.0, 12.0, 71))
    rr["infusion"] = 50.0
    c = np.asarray(rr.simulate(12.0, 14.0, 21))
    rr["infusion"] = 0.0
    d = np.asarray(rr.simulate(14.0, 30.0, 161))
    # at day 5 il21pk reports the value just after the bolus
    reference = np.vstack([a[:-1], b, c[1:], d[1:]])
    model = ip.Model.from_sbml(MODEL, drugs={"il21": "U"})
    regimen = ip.Regimen((ip.Dose(100.0, unit="nmol", time=5.0, drug="il21"),
                          ip.Dose(100.0, unit="nmol", time=12.0, duration=2.0, drug="il21")))
    result = ip.simulate(model, regimen, t_end=T_END_DAYS, t_eval=reference[:, 0],
                         rtol=1e-10, atol=1e-12)
    _assert_agrees(result, reference)
