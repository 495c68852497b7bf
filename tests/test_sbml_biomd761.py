"""The published IL-21 model BIOMD0000000761 (Cappuccio, Elishmereni & Agur 2006).

Imported by il21pk and simulated by the reference simulator, it must agree
with libRoadRunner to 1e-6 of each variable's range over the time course.

Time course: the SBML carries no simulation settings and its notes document
none, so we use 0-30 days (the model's time unit is the day), the span of
the paper's mouse tumour-growth experiments and simulations, sampled daily
at 10 points per day (301 points).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

roadrunner = pytest.importorskip("roadrunner")

from il21pk.io import read_sbml, simulate_reference  # noqa: E402

MODEL = (
    Path(__file__).resolve().parent.parent.parent
    / "shared"
    / "reference"
    / "sbml"
    / "BIOMD0000000761.xml"
)
T_END_DAYS = 30.0
N_POINTS = 301
SPECIES = ("U", "X", "Y", "M", "P", "Z")

pytestmark = pytest.mark.skipif(not MODEL.is_file(), reason=f"{MODEL} not found")


def test_imports_with_its_own_names_units_and_time_unit():
    system = read_sbml(MODEL)
    assert system.time_unit == "d"
    assert set(system.state_names) == set(SPECIES)
    values = system.default_values()
    assert values["h"] == 634.0 and values["K"] == 400.0
    assert {s.unit for s in system.states} == {"nmol"}
    assert next(s for s in system.states if s.name == "U").description == "U_IL-21"


def test_agrees_with_libroadrunner_to_1e_6_of_each_range():
    times = np.linspace(0.0, T_END_DAYS, N_POINTS)
    variables = [*SPECIES, *(f"[{s}]" for s in SPECIES)]

    rr = roadrunner.RoadRunner(str(MODEL))
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-14
    rr.timeCourseSelections = ["time", *variables]
    reference = np.asarray(rr.simulate(0.0, T_END_DAYS, N_POINTS))

    ours = simulate_reference(read_sbml(MODEL), times, variables=variables)

    np.testing.assert_allclose(ours["time"], reference[:, 0], rtol=0, atol=1e-12)
    for j, name in enumerate(variables, start=1):
        expected = reference[:, j]
        span = expected.max() - expected.min()
        assert span > 0, f"{name} does not change over the time course"
        error = np.max(np.abs(ours[name].to_numpy() - expected)) / span
        assert error <= 1e-6, f"{name}: max |il21pk - libRoadRunner| / range = {error:.2e}"
