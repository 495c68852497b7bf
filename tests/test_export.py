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
    # amounts (nmol) are species, the other states parameters with rate rules
    units = {s.name: s.unit for stage in model.definition.stages for s in stage.states}
    species = {s.getId() for s in sbml_model.getListOfSpecies()}
    assert species == {name for name, unit in units.items() if unit == "nmol"}
    ruled = {r.getVariable() for r in sbml_model.getListOfRules() if r.isRate()}
    assert ruled == set(model.state_names)
    assert sbml_model.getTimeUnits() == "time_unit"


def _si(unit: str) -> tuple[float, dict[str, float]]:
    """A unit string as (factor, {SBML kind: exponent}): equal units, equal tuples."""
    from il21pk.codegen.sbml_units import unit_terms

    factor, kinds = 1.0, {}
    for kind, exponent, multiplier in unit_terms(unit):
        factor *= multiplier**exponent
        if kind != "dimensionless":
            kinds[kind] = kinds.get(kind, 0.0) + exponent
    return factor, kinds


@pytest.mark.parametrize("kind", ["v1", "v2", "oncology"])
def test_exported_units_are_each_variables_own(kind, human):
    # every state was a species in nmol: ifng_plasma (pg/mL), pstat3 (1), nk_blood
    # (cells/uL) and il21_auc (nM*h) came back from a round trip labelled nmol
    model = getattr(ip.Model, kind)()
    back = ip.Model.from_sbml(model.to_sbml(human, None))
    theirs = {v.name: v.unit for v in back.variables}
    for v in model.variables:
        factor, kinds = _si(v.unit)
        their_factor, their_kinds = _si(theirs[v.name])
        assert their_kinds == kinds, (v.name, v.unit, theirs[v.name])
        assert their_factor == pytest.approx(factor, rel=1e-12), (v.name, v.unit,
                                                                   theirs[v.name])


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


def _random_sets(model, human, n, rng):
    """Parameter sets inside the bounds (log-uniform 1/3-3x of the human values,
    clipped), the last ones with edge values: no cells, no receptors."""
    sets = []
    for i in range(n):
        values = {}
        for spec in model.parameter_specs:
            value = human.value(spec.name)
            value = rng.uniform(0, 1) if value == 0 else value * np.exp(rng.uniform(-1.1, 1.1))
            values[spec.name] = float(np.clip(value, spec.lower, spec.upper))
        # CVODE fails on Hill coefficients < 1 when the signal sits at exactly 0 (the
        # rate is not Lipschitz there; il21pk switches to secant Jacobians): the edge
        # sets, whose signal stays 0, use h = 1
        values["hill_pstat3"] = 1.0 if i % 2 or i >= n - 3 else values["hill_pstat3"]
        if i == n - 1:
            values.update(nk_blood_0=0.0, cd8_blood_0=0.0)  # zero cells
        if i == n - 2:
            values.update(il21r_per_cell=0.0, gc_per_cell=0.0)  # zero receptors
        if i == n - 3:
            values.update(receptor_cells=0.0)
        sets.append(values)
    return sets


def test_exported_parameters_are_the_user_level_ones(model, human):
    """Changing a documented parameter in libRoadRunner rescales what depends on it,
    as in il21pk: 50 random sets (edge values included) through one SBML document."""
    regimen = ip.Regimen.five_on_nine_off(ip.Dose(30.0), cycles=1) + ip.Regimen.single(
        ip.Dose(100.0, route="sc", time=200.0)) + ip.Regimen.single(
        ip.Dose(10.0, duration=3.0, time=250.0))
    rr = roadrunner.RoadRunner(model.to_sbml(human, regimen))
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.setValue("absolute_tolerance", 1e-14)
    names = [n for n in model.state_names if not n.startswith("pstat3_transit")]
    rr.timeCourseSelections = ["time", *names]
    grid = np.arange(0.0, 336.0, 7.0) + 0.5
    worst = 0.0
    for values in _random_sets(model, human, 50, np.random.default_rng(11)):
        rr.resetAll()
        for name, value in values.items():
            rr[name] = value
        rr.reset()  # states back to their initial assignments, with the new values
        out = rr.simulate(times=np.r_[0.0, grid].tolist())
        params = human.with_values(**values, source="random")
        res = ip.simulate(model, regimen, params, t_end=grid[-1], t_eval=np.r_[0.0, grid],
                          rtol=1e-10, atol=1e-14)
        ours = res.wide()
        for state in names:
            column = [c for c in ours.columns if c.split(" [")[0] == state]
            mine = (ours["il21_plasma [nM]"].to_numpy() * values["v_central"] if state ==
                    "il21_central" else ours[column[0]].to_numpy())
            scale = max(np.ptp(mine), np.abs(mine).max() * 1e-9, 1e-300)
            worst = max(worst, float(np.max(np.abs(out[state] - mine)) / scale))
    assert worst <= 1e-5, worst


@pytest.mark.parametrize("unit,terms", [
    ("nM*h", (("mole", 1.0, 1e-9), ("litre", -1.0, 1.0), ("second", 1.0, 3600.0))),
    ("1/(nM*h)", (("mole", -1.0, 1e-9), ("litre", 1.0, 1.0), ("second", -1.0, 3600.0))),
    ("cells/uL", (("item", 1.0, 1.0), ("litre", -1.0, 1e-6))),
    ("10^9/L", (("litre", -1.0, 1e-9),)),  # platelets: one per nL
    ("kDa", (("gram", 1.0, 1e3), ("mole", -1.0, 1.0))),
    ("1", (("dimensionless", 1.0, 1.0),)),
    ("nmol/nmol", (("dimensionless", 1.0, 1.0),)),
    ("h^-1", (("second", -1.0, 3600.0),)),
    ("d", (("second", 1.0, 86400.0),)),  # a day, not a deci-
    ("dL", (("litre", 1.0, 0.1),)),
    ("fold", None), ("U/mL", None), ("nM)", None), ("", None), (None, None),
])
def test_unit_strings_read_as_sbml_terms(unit, terms):
    from il21pk.codegen.sbml_units import unit_terms

    assert unit_terms(unit) == terms
