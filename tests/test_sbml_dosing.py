"""Dosing an imported SBML/Antimony model: what a dose changes, what the doses read.

A dose into a constant changes it as an SBML event ``k = k + dose`` would:
assignment rules and reaction rates read the dosed value, while initial
values (an initial assignment, the amount of a constant species given as a
concentration) are evaluated once at the start and keep the value before
doses (closed forms, and libRoadRunner with the dose written as an event).
The parameters doses read (the molecular weight the import makes up, an SBML
``body_weight`` for per-kg doses) have the built-in models' units and hard
bounds, so a value outside them is a ParameterError rather than a wrong dose.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import il21pk as ip
from il21pk.errors import ParameterError
from il21pk.io import SbmlError, read_antimony
from il21pk.io.sbml_model import model_from_system

TIGHT = {"rtol": 1e-10, "atol": 1e-12}
TIMES = np.array([0.0, 1.0, 2.0])

#: k2 an initial assignment, k3 an assignment rule, K a constant species whose
#: amount comes from its concentration 3 in C (6); A integrates k2, B k3.
INITIAL_AND_RULE = """
model initial_and_rule
  compartment C = 2
  const species K in C = 3
  k = 1
  k2 = 2*k
  k3 := 3*k
  A = 0; B = 0
  A' = k2
  B' = k3
end
"""
#: At t = 1: 1 nmol into the compartment C (2 -> 3) and 3 nmol into k (1 -> 4).
DOSES = ip.Regimen((ip.Dose(1.0, unit="nmol", drug="x", time=1.0),
                    ip.Dose(3.0, unit="nmol", drug="y", time=1.0)))
#: The same doses as an SBML event.
AS_EVENT = "  E: at (time >= 1): C = C + 1, k = k + 3\nend"


def dosed_values(text: str = INITIAL_AND_RULE, regimen=DOSES) -> dict[str, np.ndarray]:
    model = ip.Model.from_antimony(text, drugs={"x": "C", "y": "k"}, report="all")
    res = ip.simulate(model, regimen, t_end=float(TIMES[-1]), t_eval=TIMES, **TIGHT)
    return {name: values[0] for name, values in res._batch.outputs.items()}


def test_initial_values_keep_the_value_before_a_dose_and_rules_follow_it():
    # the dose into k changed the initial assignment k2 = 2*k too (A = [0, 2, 10]) and
    # the dose into C the constant amount K = 3*C (9 after it, [K] stayed 3)
    v = dosed_values()
    np.testing.assert_allclose(v["k2"], [2.0, 2.0, 2.0], rtol=1e-12)
    np.testing.assert_allclose(v["A"], [0.0, 2.0, 4.0], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(v["K"], [6.0, 6.0, 6.0], rtol=1e-12)
    np.testing.assert_allclose(v["[K]"], [3.0, 2.0, 2.0], rtol=1e-12)
    # the rule k3 := 3*k and the dosed values themselves follow the doses
    np.testing.assert_allclose(v["k3"], [3.0, 12.0, 12.0], rtol=1e-12)
    np.testing.assert_allclose(v["B"], [0.0, 3.0, 15.0], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(v["k"], [1.0, 4.0, 4.0], rtol=1e-12)
    np.testing.assert_allclose(v["C"], [2.0, 3.0, 3.0], rtol=1e-12)


def test_a_dose_into_a_constant_agrees_with_libroadrunner_running_it_as_an_event():
    roadrunner = pytest.importorskip("roadrunner")
    from il21pk.io.sbml_document import sbml_from_antimony

    names = ["A", "B", "k", "k2", "k3", "C", "K", "[K]"]
    rr = roadrunner.RoadRunner(sbml_from_antimony(INITIAL_AND_RULE.replace("end", AS_EVENT)))
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-12
    reference = rr.simulate(0.0, 2.0, 3, selections=names)
    ours = dosed_values()
    for i, name in enumerate(names):
        np.testing.assert_allclose(ours[name], reference[:, i], rtol=1e-7, atol=1e-9,
                                   err_msg=name)


def test_a_system_without_its_rules_refuses_a_dose_an_assignment_reads():
    # an OdeSystem does not tell an initial assignment k2 = 2*k from a rule k2 := 2*k
    system = read_antimony(INITIAL_AND_RULE)
    with pytest.raises(SbmlError, match=r"the assignments \['k2', 'k3'\] read a dosed "
                       r"constant \['k'\]; pass `rules`"):
        model_from_system(system, drugs={"y": "k"})
    definition, _ = model_from_system(system, drugs={"y": "k"}, rules={"k3"})
    constants, algebraic = dict(definition.constants), dict(definition.algebraic)
    assert constants["k2"] == 2 * sp.Symbol("k")  # the value before doses
    assert algebraic["k3"] == 3 * sp.Symbol("k_dosed")


def built_in_spec(name: str) -> ip.ParameterSpec:
    return next(s for s in ip.Model.pk_only(compartments=1).parameter_specs if s.name == name)


WEIGHED = """
model weighed
  compartment C = 1
  species S in C = 0
  J1: S -> ; k1*S
  k1 = 0.3
  body_weight = 70
end
"""


def test_a_per_kg_dose_reads_a_body_weight_within_the_built_in_bounds():
    # the SBML's body_weight had bounds (-inf, inf) and no unit: 1 ug/kg at -70 kg
    # gave S = -70 nmol and at 0 kg no dose, without an error
    model = ip.Model.from_antimony(WEIGHED, drugs={"x": "S"})
    spec = next(s for s in model.parameter_specs if s.name == "body_weight")
    want = built_in_spec("body_weight")
    assert (spec.unit, spec.lower, spec.upper) == (want.unit, want.lower, want.upper) \
        == ("kg", 0.01, 500.0)
    params = model.default_parameters()
    assert params.value("body_weight") == 70.0  # the SBML's value
    dose = ip.Dose(1.0, unit="ug/kg", drug="x")
    res = ip.simulate(model, dose, params, t_end=1.0, t_eval=np.array([0.0]), **TIGHT)
    assert res._batch.outputs["S"][0, 0] == pytest.approx(70.0)  # 70 ug at 1 kDa
    for bad in (0.0, -70.0, 600.0):
        with pytest.raises(ParameterError, match=r"'body_weight' must be within \[0\.01, 500\] kg"):
            ip.simulate(model, dose, params.with_values(body_weight=bad), t_end=1.0)


def test_a_body_weight_in_another_unit_than_kg_is_refused_with_drugs():
    # per-kg doses read body_weight in kg: one in g made 1 ug/kg of a 70000 g body 70000 ug
    text = WEIGHED.replace("end", "  unit g = gram\n  body_weight has g\nend")
    with pytest.raises(SbmlError, match="'body_weight' is in 'g' in the SBML; per-kg doses"):
        ip.Model.from_antimony(text, drugs={"x": "S"})
    # without drugs no dose reads it: the SBML's unit and bounds
    spec = next(s for s in ip.Model.from_antimony(text).parameter_specs
                if s.name == "body_weight")
    assert (spec.unit, spec.lower, spec.upper) == ("g", -np.inf, np.inf)


def test_the_molecular_weight_the_import_assumes_has_the_built_in_bounds():
    # mw_x was bounded by [1e-9, inf] kDa: 1 ug at 1e-6 kDa gave 1e6 nmol
    model = ip.Model.from_antimony(WEIGHED, drugs={"x": "S"})
    spec = next(s for s in model.parameter_specs if s.name == "mw_x")
    want = built_in_spec("mw")
    assert (spec.unit, spec.lower, spec.upper) == (want.unit, want.lower, want.upper) \
        == ("kDa", 1e-3, 1e4)
    assert "not in the SBML file: 1 kDa assumed" in spec.description
    params = model.default_parameters()
    assert params.value("mw_x") == 1.0
    with pytest.raises(ParameterError, match=r"'mw_x' must be within \[0\.001, 10000\] kDa"):
        ip.simulate(model, ip.Dose(1.0, unit="ug", drug="x"),
                    params.with_values(mw_x=1e-6), t_end=1.0)


def test_the_assumed_molecular_weight_is_labelled_assumed_not_sbml():
    """default_parameters labelled every value of an imported model "SBML", the made-up
    molecular weight too; the project's rule: a value is sourced or "assumed:" with the
    reason."""
    model = ip.Model.from_antimony(WEIGHED, drugs={"x": "S"})
    params = model.default_parameters()
    assert params["mw_x"].source.startswith("assumed: 1 kDa, not in the SBML file")
    others = [name for name in params if name != "mw_x"]
    assert others and all(params[name].source == "SBML" for name in others)
