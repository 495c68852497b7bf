"""Imported SBML/Antimony models on the compiled engine.

Events (time and state triggers, priorities, persistence, initial value,
values from trigger or execution time, cascades, equalities) against the
reference simulator (scipy + SBML event semantics, itself checked on the SBML
Test Suite); dosing an imported model; libRoadRunner names, SBML values and
the time unit; errors for what the engine cannot do.
"""

from __future__ import annotations

import numpy as np
import pytest

import il21pk as ip
from il21pk.errors import OptionError
from il21pk.io import SbmlError, simulate_reference
from il21pk.model.compose import ModelDefinition

TIGHT = {"rtol": 1e-10, "atol": 1e-12}


def engine_values(model: ip.Model, times: np.ndarray, regimen=None, **options) -> dict:
    """Every reported variable of `model` at `times` (no doses unless given)."""
    res = ip.simulate(model, regimen, t_end=float(times[-1]), t_eval=times,
                      **{**TIGHT, **options})
    return {name: values[0] for name, values in res._batch.outputs.items()}


def assert_matches_reference(model: ip.Model, times: np.ndarray, tol: float = 1e-7) -> None:
    """Engine and reference simulator agree within `tol` of each variable's range."""
    ours = engine_values(model, times)
    names = list(ours)
    reference = simulate_reference(model.definition.system, times, variables=names)
    for name in names:
        want = reference[name].to_numpy()
        span = max(np.ptp(want), 1.0)
        error = np.max(np.abs(ours[name] - want)) / span
        assert error <= tol, f"{name}: |engine - reference| / range = {error:.2e}"


EVENT_MODELS = {
    "time_and_state_triggers": """
        S1 = 1; k = 0.5
        S1' = -k*S1
        E1: at (S1 < 0.5 && time > 0.1): S1 = 2, k = k + 0.25
        E2: at (time >= 3): S1 = S1 + 1
    """,
    "priorities_order_simultaneous_events": """
        x = 1; y = 0
        x' = -0.1*x
        E1: at (time >= 1), priority=1, fromTrigger=false: x = x*2
        E2: at (time >= 1), priority=2, fromTrigger=false: x = x + 1
        E3: at (time >= 2), priority=1, fromTrigger=false: y = y + 1
        E4: at (time >= 2), priority=5, fromTrigger=false: y = y*10 + 7
        E5: at (time >= 4), priority=1: x = x*2
        E6: at (time >= 4), priority=2: x = x + 1
    """,
    "non_persistent_event_dropped": """
        x = 1; y = 0; z = 0
        x' = -0.1*x
        E1: at (time >= 1), priority=2: y = 1
        E2: at (time >= 1 && y < 0.5), persistent=false, priority=1: z = 100
        E3: at (time >= 2 && y < 2), priority=3: y = 5
        E4: at (time >= 2 && y < 2), persistent=true, priority=1: z = z + 1
    """,
    "initial_value_false_fires_at_start": """
        x = 1; n = 0
        x' = -x
        E1: at (x > 0.5), t0=false: n = n + 1
        E2: at (time >= 0), t0=false: x = x + 1
    """,
    "values_from_execution_time": """
        a = 1; b = 0; c = 0; x = 1
        x' = -x
        E1: at (time >= 1), priority=2: a = 10
        E2: at (time >= 1), priority=1, fromTrigger=false: b = a
        E3: at (time >= 1), priority=1.5, fromTrigger=true: c = a
    """,
    "cascade_at_one_instant": """
        x = 1; y = 0; z = 0
        x' = -0.2*x
        E1: at (x < 0.5): y = 1
        E2: at (y > 0.5): z = x*3, x = 1
    """,
    "equality_trigger": """
        x = 1; hits = 0
        x' = -0.3
        E1: at (x == 0.25): hits = hits + 1
        E2: at (time >= 3): x = 1
    """,
    "trigger_on_assignment_rule_and_rate_rule": """
        compartment C = 2
        species S in C = 4
        k = 0.7; v := S/C + 0.1*time
        S' = -k*S
        E1: at (v < 0.8): S = 6, k = k/2
    """,
}


@pytest.mark.parametrize("name", sorted(EVENT_MODELS))
def test_events_match_the_reference_simulator(name):
    model = ip.Model.from_antimony(EVENT_MODELS[name], report="all")
    assert_matches_reference(model, np.linspace(0.0, 6.0, 61))


def test_event_order_and_values_are_as_the_specification_says():
    model = ip.Model.from_antimony(EVENT_MODELS["priorities_order_simultaneous_events"])
    v = engine_values(model, np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0]))
    x1 = np.exp(-0.1)
    assert v["x"][2] == pytest.approx((x1 + 1) * 2, rel=1e-9)  # E2 (priority 2) first
    assert v["y"][4] == pytest.approx(7 + 1, rel=1e-12)  # E4 (priority 5) then E3
    x4 = v["x"][5] * np.exp(-0.1)  # values from trigger time: the last executed wins
    assert v["x"][6] == pytest.approx(2 * x4, rel=1e-9)
    model = ip.Model.from_antimony(EVENT_MODELS["values_from_execution_time"])
    v = engine_values(model, np.array([0.0, 2.0]))
    assert v["b"][-1] == 10.0  # taken when it executes, after E1
    assert v["c"][-1] == 1.0  # taken when it triggered, before E1
    model = ip.Model.from_antimony(EVENT_MODELS["non_persistent_event_dropped"])
    v = engine_values(model, np.array([0.0, 1.5, 3.0]))
    assert v["z"][1] == 0.0  # E2 dropped: its trigger turned false before it executed
    assert v["z"][2] == 1.0  # E4 persists although E3 made its trigger false
    model = ip.Model.from_antimony(EVENT_MODELS["initial_value_false_fires_at_start"])
    v = engine_values(model, np.array([0.0, 1.0]))
    assert v["n"][0] == 1.0 and v["x"][0] == 2.0


def test_state_event_time_is_located_to_the_tolerance():
    """x' = -x from 1 crosses 0.5 at ln 2; the event resets x to 1 each time."""
    model = ip.Model.from_antimony("""
        x = 1; n = 0; last = 0
        x' = -x
        E: at (x < 0.5): x = 1, n = n + 1, last = time
    """)
    v = engine_values(model, np.array([0.0, 10.0]), rtol=1e-12, atol=1e-14)
    assert v["n"][-1] == 14.0  # floor(10 / ln 2)
    assert v["last"][-1] == pytest.approx(14 * np.log(2.0), rel=1e-9)
    assert v["x"][-1] == pytest.approx(np.exp(-(10.0 - 14 * np.log(2.0))), rel=1e-9)


def test_output_at_an_event_time_reports_the_value_after_the_event():
    model = ip.Model.from_antimony("x = 1; x' = 0; E: at (time >= 2): x = 5")
    v = engine_values(model, np.array([0.0, 1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(v["x"], [1.0, 1.0, 5.0, 5.0])


def test_events_also_run_on_a_specialised_engine():
    """The imported stage composed into a plain definition runs on a per-model
    (specialised) engine: the same events, the same answer."""
    imported = ip.Model.from_antimony(EVENT_MODELS["time_and_state_triggers"], report="all")
    stage = imported.definition.stages[0]
    plain = ip.Model(ModelDefinition([stage], name="events_specialised"), kind="custom")
    times = np.linspace(0.0, 6.0, 31)
    params = imported.default_parameters()
    a = ip.simulate(imported, None, params, t_end=6.0, t_eval=times, **TIGHT)
    b = ip.simulate(plain, None, params, t_end=6.0, t_eval=times, **TIGHT)
    for name in ("S1", "k"):
        np.testing.assert_allclose(b._batch.outputs[name], a._batch.outputs[name], rtol=1e-12,
                                   atol=1e-14)


def test_a_dose_that_crosses_a_threshold_fires_the_event():
    model = ip.Model.from_antimony("x = 0; fired = 0; x' = -0.1*x; E: at (x > 5): fired = 1",
                                   drugs={"x": "x"})
    res = ip.simulate(model, ip.Dose(10.0, unit="nmol", time=1.0, drug="x"), t_end=3.0,
                      t_eval=np.array([0.0, 0.5, 1.0, 2.0, 3.0]), **TIGHT)
    np.testing.assert_array_equal(res._batch.outputs["fired"][0], [0, 0, 1, 1, 1])


# -- dosing imported models ------------------------------------------------------------

ONE_COMPARTMENT = """
    compartment V = 5
    species A in V = 0
    ke = 0.3
    J0: A -> ; ke*A
"""


def test_bolus_and_infusion_into_a_species_follow_the_closed_form():
    model = ip.Model.from_antimony(ONE_COMPARTMENT, drugs={"drug": "A"})
    times = np.linspace(0.0, 20.0, 41)
    regimen = ip.Regimen((ip.Dose(10.0, unit="nmol", time=2.0, drug="drug"),
                          ip.Dose(6.0, unit="nmol", time=8.0, duration=3.0, drug="drug")))
    v = engine_values(model, times, regimen)
    ke, rate = 0.3 / 5.0, 2.0  # the rate law reads the concentration A/V
    bolus = np.where(times >= 2.0, 10.0 * np.exp(-ke * (times - 2.0)), 0.0)
    during = rate / ke * (1 - np.exp(-ke * np.clip(times - 8.0, 0.0, 3.0)))
    infusion = np.where(times > 11.0, during * np.exp(-ke * (times - 11.0)), during)
    np.testing.assert_allclose(v["A"], bolus + infusion, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(v["[A]"], (bolus + infusion) / 5.0, rtol=1e-8, atol=1e-10)


def test_mass_doses_use_the_drug_molecular_weight():
    model = ip.Model.from_antimony(ONE_COMPARTMENT, drugs={"drug": "A"})
    params = model.default_parameters().with_values(mw_drug=20.0)
    res = ip.simulate(model, ip.Dose(100.0, unit="ug", drug="drug"), params, t_end=1.0,
                      t_eval=np.array([0.0]), **TIGHT)
    assert res._batch.outputs["A"][0, 0] == pytest.approx(5.0)  # 100 ug / 20 kDa = 5 nmol


def test_a_dosed_parameter_becomes_a_state_and_keeps_its_id():
    model = ip.Model.from_antimony("""
        x = 0; kin = 1
        x' = kin - 0.5*x
    """, drugs={"boost": "kin"})
    assert "kin" in model.default_parameters()
    v = engine_values(model, np.array([0.0, 1.0, 2.0, 4.0]),
                      ip.Dose(2.0, unit="nmol", time=1.0, drug="boost"))
    np.testing.assert_allclose(v["kin"], [1.0, 3.0, 3.0, 3.0])
    x1 = 2.0 * (1 - np.exp(-0.5))
    expected = 6.0 + (x1 - 6.0) * np.exp(-0.5 * np.array([1.0, 3.0]))
    np.testing.assert_allclose(v["x"][2:], expected, rtol=1e-8)


def test_unknown_or_assigned_drug_targets_are_errors():
    with pytest.raises(SbmlError, match="has no species or parameter 'B'"):
        ip.Model.from_antimony(ONE_COMPARTMENT, drugs={"drug": "B"})
    with pytest.raises(SbmlError, match="set by an assignment rule"):
        ip.Model.from_antimony(ONE_COMPARTMENT + "c := A/V", drugs={"drug": "c"})


# -- names, values, units, errors --------------------------------------------------------

def test_results_use_libroadrunner_names_sbml_values_and_the_time_unit():
    text = """
        model pk
        unit time_unit = 60 second
        compartment V = 2
        species S in V = 3  // a concentration: the amount is 6
        k = 0.1
        J: S -> ; k*S
        end
    """
    model = ip.Model.from_antimony(text)
    assert model.kind == "sbml"
    assert [v.name for v in model.variables] == ["S", "[S]"]
    params = model.default_parameters()
    assert params.values() == {"V": 2.0, "k": 0.1}
    assert params["V"].lower == 0.0 and params["k"].lower == -np.inf
    res = ip.simulate(model, None, t_end=10.0)
    assert res.params.values() == params.values()
    assert res.options["time_unit"] == "min"
    s = res._batch.outputs["S"][0]
    np.testing.assert_allclose(res._batch.outputs["[S]"][0], s / 2.0)
    np.testing.assert_allclose(s, 6.0 * np.exp(-0.1 / 2.0 * res.times), rtol=1e-5)


def test_ids_that_are_not_python_names_keep_their_id_in_results():
    model = ip.Model.from_antimony("lambda = 2; _y = 1; _y' = -lambda*_y", report="all")
    assert {v.name for v in model.variables} == {"lambda", "_y"}
    v = engine_values(model, np.array([0.0, 1.0]))
    assert v["_y"][-1] == pytest.approx(np.exp(-2.0), rel=1e-8)


def test_scipy_methods_refuse_models_with_events():
    model = ip.Model.from_antimony("x = 1; x' = -x; E: at (time > 1): x = 5")
    with pytest.raises(OptionError, match="only method='numba-bdf'"):
        ip.simulate(model, None, t_end=3.0, method="LSODA")


def test_models_without_events_also_run_on_scipy_methods():
    model = ip.Model.from_antimony(ONE_COMPARTMENT + "A = 4")
    times = np.linspace(0.0, 5.0, 11)
    a = ip.simulate(model, None, t_end=5.0, t_eval=times, **TIGHT)
    b = ip.simulate(model, None, t_end=5.0, t_eval=times, method="LSODA", **TIGHT)
    np.testing.assert_allclose(a._batch.outputs["A"], b._batch.outputs["A"], rtol=1e-7)


def test_unsupported_constructs_are_errors_naming_the_element():
    with pytest.raises(SbmlError, match="event 'E1' has a delay"):
        ip.Model.from_antimony("x = 1; x' = -x; E1: at 2 after (time > 1): x = 5")


def test_an_integer_raised_to_a_floor_is_a_real_power(monkeypatch):
    """floor() gave an int64 in the compiled engine, so 2^(floor(t) - 3) was an
    integer power: 0 for t < 3 (A stayed 1), while the interpreted first run
    was right."""
    from il21pk.engine import startup

    monkeypatch.setattr(startup, "_interpretable", lambda engine_: False)  # compiled
    model = ip.Model.from_antimony("A = 1; J: A -> ; A*2^(floor(time) - 3)")
    times = np.array([0.5, 1.0, 2.0, 3.0, 4.0])
    a = engine_values(model, times)["A"]
    exact = np.exp(-np.array([0.5 * 2.0**-3, 2.0**-3, 2.0**-3 + 2.0**-2,
                              2.0**-3 + 2.0**-2 + 2.0**-1, 2.0**-3 + 2.0**-2 + 2.0**-1 + 1.0]))
    np.testing.assert_allclose(a, exact, rtol=1e-7)


def test_an_integer_past_int64_is_a_real_number():
    """sympy folds piecewise(10, ...)^20 into the literal 10**20, which numba
    refused ('Int value is too large'): the model could not run at all."""
    model = ip.Model.from_antimony("A = 1; J: A -> ; A*piecewise(10, time > 1, 1)^20*1e-20")
    a = engine_values(model, np.array([0.5, 2.0, 3.0]))["A"]
    np.testing.assert_allclose(a, np.exp(-np.array([0.5e-20, 1.0, 2.0])), rtol=1e-8)


def test_a_model_that_reports_nothing_is_refused_naming_what_it_could_report():
    """A model of constants alone imported, integrated a placeholder state, and
    then failed in building its result frame ('need at least one array to
    concatenate'); `report=[]` did the same to any model."""
    with pytest.raises(SbmlError, match=r"reports nothing: nothing in it changes in time.*"
                                        r"\['k1'\]"):
        ip.Model.from_antimony("k1 = 2.0")
    with pytest.raises(SbmlError, match=r"changes in time .*\['S'\]"):
        ip.Model.from_antimony("const S; S = 3")
    with pytest.raises(SbmlError, match=r"`report` names no variable.*'S1'"):
        ip.Model.from_antimony("S1 = 1; J0: S1 -> ; k1*S1; k1 = 0.1", report=[])
    constant = ip.Model.from_antimony("k1 = 2.0", report=["k1"])
    assert ip.simulate(constant, None, t_end=1.0).frame["value"].tolist() == [2.0, 2.0]


def test_sweeps_take_imported_models():
    model = ip.Model.from_antimony(ONE_COMPARTMENT + "A = 4")
    frame = ip.sweep(model, ip.Regimen.none(), model.default_parameters(),
                     grid={"ke": [0.1, 0.2, 0.4]}, t_end=5.0, t_eval=np.array([0.0, 5.0]))
    cmin = frame[(frame["variable"] == "A") & (frame["metric"] == "cmin")].sort_values("ke")
    np.testing.assert_allclose(cmin["value"].to_numpy(),
                               4.0 * 5.0 * np.exp(-5.0 / 5.0 * np.array([0.1, 0.2, 0.4])),
                               rtol=1e-5)
