"""SBML/Antimony import: semantics checked against closed-form solutions and the spec.

Event expectations are derived from the SBML Level 3 event rules (priority
order, persistence, initialValue, useValuesFromTriggerTime, cascades), and
continuous ones from analytic solutions; none is a recorded simulation.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy

pytest.importorskip("libsbml")
pytest.importorskip("antimony")

import libsbml  # noqa: E402

import il21pk as ip  # noqa: E402
from il21pk.errors import Il21pkError, ParameterError  # noqa: E402
from il21pk.io import (  # noqa: E402
    OdeSystem,
    SbmlError,
    StateDef,
    read_antimony,
    read_sbml,
    simulate_reference,
)
from il21pk.io.sbml_document import sbml_from_antimony  # noqa: E402


def _final(system: OdeSystem, name: str, t_end: float = 3.0, **kw) -> float:
    frame = simulate_reference(system, [0.0, t_end], variables=[name], **kw)
    return float(frame[name].iloc[-1])


def _modified(antimony_text: str, change, level: tuple[int, int] = (3, 1)) -> str:
    """SBML (Level 3 Version 1 by default) of an Antimony model changed by `change(model)`."""
    document = libsbml.readSBMLFromString(sbml_from_antimony(antimony_text))
    _convert(document, *level)
    change(document.getModel())
    return libsbml.writeSBMLToString(document)


def _convert(document, level: int, version: int) -> None:
    converter = libsbml.SBMLLevelVersionConverter()
    converter.setProperties(libsbml.ConversionProperties(libsbml.SBMLNamespaces(level, version)))
    converter.setDocument(document)
    assert converter.convert() == libsbml.LIBSBML_OPERATION_SUCCESS


def _renamed(antimony_text: str, prefix: str = "x") -> str:
    """SBML of an Antimony model whose ids `prefix`+name are renamed to name.

    Antimony reserves names such as ``gamma`` and ``lambda``; SBML does not.
    """
    document = libsbml.readSBMLFromString(sbml_from_antimony(antimony_text))
    elements = list(document.getListOfAllElements())
    for element in elements:
        if element.isSetId() and element.getId().startswith(prefix):
            old = element.getId()
            element.setId(old[len(prefix) :])
            for other in elements:
                other.renameSIdRefs(old, old[len(prefix) :])
    return libsbml.writeSBMLToString(document)


# -- names ---------------------------------------------------------------------------


def test_ids_that_are_sympy_or_python_names_stay_ordinary_symbols():
    sbml = _renamed(
        """
        compartment C = 2
        species xS in C, xE in C, xI in C, xN in C, xQ in C
        xS = 1; xE = 0; xI = 0; xN = 0; xQ = 0
        xbeta = 0.5; xgamma = 0.25; xpi = 2; xlambda = 0.1; xt = 7; xtime = 3
        R1: xS -> xE; xbeta*xS*C
        R2: xE -> xI; xgamma*xE*C
        xQ' = xlambda*xpi
        xN := xt + time*xtime
        """
    )
    system = read_sbml(sbml)
    names = {*system.state_names, *system.parameter_names, *(a for a, _ in system.assignments)}
    assert {"S", "E", "I", "N", "Q", "beta", "gamma", "pi", "lambda", "t", "time"} <= names
    # the model uses the id "t", so time gets another symbol
    assert system.time_symbol.name not in names
    for expr in system.rates.values():
        for s in expr.free_symbols:
            assert type(s) is sympy.Symbol
    frame = simulate_reference(system, np.linspace(0.0, 2.0, 5), variables=["S", "[Q]", "[N]"])
    t = frame["time"].to_numpy()
    # S amount: initial concentration 1 in C = 2 -> amount 2, first order with rate beta
    np.testing.assert_allclose(frame["S"], 2.0 * np.exp(-0.5 * t), rtol=1e-8)
    # a rate rule on a species sets the rate of its concentration
    np.testing.assert_allclose(frame["[Q]"], 0.1 * 2.0 * t, rtol=1e-8, atol=1e-12)
    # N := t + time*time_param is a concentration (the parameter "t" is 7)
    np.testing.assert_allclose(frame["[N]"], 7.0 + 3.0 * t, rtol=1e-12)


def _with_local_k(model):
    local = model.getReaction("R1").getKineticLaw().createLocalParameter()
    local.setId("k")
    local.setValue(0.5)


def test_local_parameters_are_renamed_and_shadow_globals():
    system = read_sbml(_modified("S1 = 10; S2 = 0; k = 100\nR1: S1 -> S2; k*S1\n", _with_local_k))
    names = system.parameter_names
    assert "k" in names and "R1_k" in names
    assert system.default_values()["R1_k"] == 0.5
    assert _final(system, "S1", 2.0) == pytest.approx(10.0 * np.exp(-1.0), rel=1e-8)


def test_function_definitions_are_inlined():
    system = read_antimony(
        """
        function hill(x, k, n)
          x^n / (k^n + x^n)
        end
        A = 0; x = 2
        A' = hill(x, 2, 4)
        """
    )
    assert not any(isinstance(f, sympy.Function) for f in system.rates["A"].atoms(sympy.Function))
    assert _final(system, "A", 4.0) == pytest.approx(4.0 * 0.5, rel=1e-10)


# -- species, compartments -------------------------------------------------------------


def test_species_are_amounts_and_dilute_when_the_compartment_grows():
    # V' = 1 from V = 1; S does not react, so its amount stays and [S] = n / V
    system = read_antimony(
        """
        compartment V = 1
        V' = 1
        species S in V = 3
        """
    )
    frame = simulate_reference(system, [0.0, 1.0, 3.0], variables=["S", "[S]", "V"])
    np.testing.assert_allclose(frame["S"], 3.0)
    np.testing.assert_allclose(frame["[S]"], 3.0 / (1.0 + frame["time"]), rtol=1e-10)


def test_concentration_rate_rule_in_a_growing_compartment():
    # d[S]/dt = 0.4 with V' = 0.2 (SBML: the rule sets the concentration's rate)
    system = read_antimony(
        """
        compartment V = 0.5
        V' = 0.2
        species S in V = 0
        S' = 0.4
        """
    )
    frame = simulate_reference(system, [0.0, 1.0, 2.0], variables=["[S]", "S"])
    t = frame["time"]
    np.testing.assert_allclose(frame["[S]"], 0.4 * t, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(frame["S"], 0.4 * t * (0.5 + 0.2 * t), rtol=1e-9, atol=1e-12)


def test_has_only_substance_units_and_conversion_factor():
    sbml = sbml_from_antimony(
        """
        compartment V = 4
        substanceOnly species A in V = 8
        species B in V = 0
        k = 0.3; cf = 2
        R: A -> B; k*A
        """
    )
    document = libsbml.readSBMLFromString(sbml)
    document.getModel().getSpecies("B").setConversionFactor("cf")
    system = read_sbml(libsbml.writeSBMLToString(document))
    frame = simulate_reference(system, [0.0, 1.0], variables=["A", "B", "[A]"])
    a1 = 8.0 * np.exp(-0.3)
    # A has only substance units: its symbol is the amount, k*A is the rate
    assert frame["A"].iloc[-1] == pytest.approx(a1, rel=1e-9)
    assert frame["[A]"].iloc[-1] == pytest.approx(a1 / 4.0, rel=1e-9)
    # B's conversion factor doubles what each reaction event adds to it
    assert frame["B"].iloc[-1] == pytest.approx(2.0 * (8.0 - a1), rel=1e-9)


def test_initial_assignments_resolve_through_rules_to_parameters():
    system = read_antimony(
        """
        k = 2
        y := 3*k
        x = 0
        x = y + 1
        x' = 0
        """
    )
    (state,) = system.states
    assert state.name == "x"
    assert state.initial == 3 * sympy.Symbol("k") + 1
    assert _final(system, "x", params={"k": 5.0}) == pytest.approx(16.0)


def test_time_unit_from_the_model():
    system = read_sbml(
        sbml_from_antimony(
            """
            unit day = 86400 second
            model m
              x = 1
              x' = 0
            end
            """
        ).replace("<model ", '<model timeUnits="day" ', 1)
    )
    assert system.time_unit == "d"


# -- events ----------------------------------------------------------------------------

_RAMP = "x = 0; y = 0; z = 0; w = 0\nx' = 1\n"


@pytest.mark.parametrize(("high", "low", "expected"), [(2, 1, 5.0), (1, 2, 3.0)])
def test_simultaneous_events_run_highest_priority_first(high, low, expected):
    system = read_antimony(
        _RAMP
        + f"""
        A: at (x > 1), priority={high}: y = 3
        B: at (x > 1), priority={low}: y = 5
        """
    )
    # both fire at t = 1; the one executed last wins
    assert _final(system, "y") == expected


@pytest.mark.parametrize(("from_trigger", "expected"), [("true", 0.0), ("false", 10.0)])
def test_use_values_from_trigger_time(from_trigger, expected):
    system = read_antimony(
        _RAMP
        + f"""
        A: at (x > 1), priority=2: y = 10
        B: at (x > 1), priority=1, fromTrigger={from_trigger}: z = y
        """
    )
    assert _final(system, "z") == expected


@pytest.mark.parametrize(("persistent", "expected"), [("false", 0.0), ("true", 7.0)])
def test_non_persistent_event_is_dropped_when_its_trigger_turns_false(persistent, expected):
    system = read_antimony(
        _RAMP
        + f"""
        A: at (x > 1), priority=2: w = 1
        B: at (x > 1 && w < 0.5), priority=1, persistent={persistent}: z = 7
        """
    )
    assert _final(system, "z") == expected


@pytest.mark.parametrize(("t0", "expected"), [("false", 4.0), ("true", 0.0)])
def test_initial_value_decides_whether_a_true_trigger_fires_at_the_start(t0, expected):
    system = read_antimony(_RAMP + f"A: at (time >= 0), t0={t0}: y = 4\n")
    frame = simulate_reference(system, [0.0, 1.0], variables=["y"])
    np.testing.assert_array_equal(frame["y"], [expected, expected])


def test_events_cascade_at_one_instant_and_refire_after_resetting():
    system = read_antimony(
        _RAMP
        + """
        A: at (x > 1): x = 0, z = z + 1
        B: at (z > 1.5): w = 100
        """
    )
    # x is a sawtooth of period 1: A fires at t = 1, 2, 3; B fires with A's second firing
    frame = simulate_reference(system, [0.0, 0.5, 1.5, 2.25, 3.5], variables=["x", "z", "w"])
    np.testing.assert_allclose(frame["x"], [0.0, 0.5, 0.5, 0.25, 0.5], atol=1e-9)
    np.testing.assert_array_equal(frame["z"], [0.0, 0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(frame["w"], [0.0, 0.0, 0.0, 100.0, 100.0])


def test_value_at_an_event_time_is_the_value_after_the_event():
    system = read_antimony(_RAMP + "A: at (time >= 2): y = 1\n")
    frame = simulate_reference(system, [0.0, 1.0, 2.0, 3.0], variables=["y"])
    np.testing.assert_array_equal(frame["y"], [0.0, 0.0, 1.0, 1.0])


def test_event_sets_species_concentration_with_the_size_before_the_event():
    # SBML Test Suite 01779: S's amount = 0.2 * 0.5 (old size), then C = 0.2
    system = read_antimony(
        """
        compartment C = 0.5
        species S in C = 2
        E: at (time >= 0.45): S = 0.2, C = 0.2
        """
    )
    frame = simulate_reference(system, [0.0, 1.0], variables=["S", "[S]", "C"])
    assert frame["S"].iloc[-1] == pytest.approx(0.1)
    assert frame["[S]"].iloc[-1] == pytest.approx(0.5)


# -- rateOf ----------------------------------------------------------------------------


def _l3v2(antimony_text: str, replace: tuple[str, str]) -> str:
    """SBML Level 3 Version 2 of an Antimony model, with one piece of math swapped in."""
    document = libsbml.readSBMLFromString(sbml_from_antimony(antimony_text))
    _convert(document, 3, 2)
    rule = document.getModel().getAssignmentRule(replace[0])
    rule.setMath(libsbml.parseL3Formula(replace[1]))
    return libsbml.writeSBMLToString(document)


def test_rate_of_a_rate_rule_state():
    system = read_sbml(_l3v2("x = 1; x' = 2*x; y := 0", ("y", "rateOf(x)")))
    frame = simulate_reference(system, [0.0, 1.0], variables=["x", "y"])
    np.testing.assert_allclose(frame["y"], 2.0 * frame["x"], rtol=1e-12)


def test_rate_of_an_assigned_quantity_is_an_error():
    sbml = _l3v2("x = 1; x' = 2; a := 3*x; y := 0", ("y", "rateOf(a)"))
    with pytest.raises(SbmlError, match="rateOf"):
        read_sbml(sbml)


# -- unsupported constructs --------------------------------------------------------------


_BASE = "S1 = 1; S2 = 0; k = 1\nJ1: S1 -> S2; k*S1\nE1: at (time > 1): k = 2\n"


def _delay_in_law(model):
    model.getReaction("J1").getKineticLaw().setMath(libsbml.parseL3Formula("k*delay(S1, 1)"))


def _algebraic(model):
    rule = model.createAlgebraicRule()
    rule.setMath(libsbml.parseL3Formula("k - 1"))


def _fast(model):
    model.getReaction("J1").setFast(True)


def _event_delay(model):
    model.getEvent("E1").createDelay().setMath(libsbml.parseL3Formula("0.5"))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (_delay_in_law, ["kinetic law", "'J1'", "delay"]),
        (_algebraic, ["algebraic rule"]),
        (_fast, ["'J1'", "fast"]),
        (_event_delay, ["'E1'", "delay"]),
    ],
)
def test_unsupported_constructs_raise_naming_the_element(change, words):
    with pytest.raises(SbmlError) as info:
        read_sbml(_modified(_BASE, change))
    for word in words:
        assert word in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, Il21pkError)


@pytest.mark.parametrize("package", ["comp", "fbc", "qual", "distrib"])
def test_sbml_packages_are_rejected(package):
    document = libsbml.SBMLDocument(libsbml.SBMLNamespaces(3, 1, package, 1))
    document.setPackageRequired(package, package != "fbc")
    model = document.createModel()
    model.setId("m")
    with pytest.raises(SbmlError, match=f"package '{package}'"):
        read_sbml(libsbml.writeSBMLToString(document))


def test_layout_package_is_harmless():
    document = libsbml.SBMLDocument(libsbml.SBMLNamespaces(3, 1, "layout", 1))
    document.setPackageRequired("layout", False)
    model = document.createModel()
    model.setId("m")
    parameter = model.createParameter()
    parameter.setId("p")
    parameter.setValue(1.5)
    parameter.setConstant(True)
    system = read_sbml(libsbml.writeSBMLToString(document))
    assert system.default_values() == {"p": 1.5}


def test_invalid_input_is_a_clear_error(tmp_path):
    with pytest.raises(SbmlError, match="does not exist"):
        read_sbml(tmp_path / "missing.xml")
    with pytest.raises(SbmlError, match="not valid SBML"):
        read_sbml("<sbml><model></sbml>")
    with pytest.raises(SbmlError, match="Antimony"):
        read_antimony("this is not ( antimony")
    with pytest.raises(SbmlError, match="cycle: a -> b -> a"):
        read_sbml(_modified("a := 1; b := a + 1", _cyclic))


def _cyclic(model):
    model.getAssignmentRule("a").setMath(libsbml.parseL3Formula("b + 1"))


def test_unknown_parameter_or_variable_is_a_parameter_error():
    system = read_antimony("x = 1; k = 2; x' = -k*x")
    with pytest.raises(ParameterError, match="unknown parameter"):
        simulate_reference(system, [0.0, 1.0], {"kk": 1.0})
    with pytest.raises(ParameterError, match="unknown variable"):
        simulate_reference(system, [0.0, 1.0], variables=["nope"])


def test_ode_system_checks_its_rates():
    x = StateDef("x", sympy.Integer(1), None, "parameter")
    with pytest.raises(ValueError, match="one entry per state"):
        OdeSystem(time_unit=None, states=(x,), parameters=(), assignments=(), rates={})
    with pytest.raises(ValueError, match="kind must be one of"):
        StateDef("x", sympy.Integer(1), None, "species")  # type: ignore[arg-type]


def test_equality_triggers_fire_at_the_crossing_instant():
    system = read_antimony(
        _RAMP
        + """
        A: at (x == 1): y = y + 1
        B: at (x != 2): z = z + 1
        """
    )
    # x == 1 holds only at t = 1; x != 2 is true at the start (no firing) and turns
    # false -> true just after t = 2
    frame = simulate_reference(system, [0.0, 0.5, 1.5, 2.5, 3.0], variables=["y", "z"])
    np.testing.assert_array_equal(frame["y"], [0.0, 0.0, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(frame["z"], [0.0, 0.0, 0.0, 1.0, 1.0])


def test_level2_stoichiometry_math_and_default_event_semantics():
    document = libsbml.SBMLDocument(2, 4)
    model = document.createModel()
    model.setId("l2")
    c = model.createCompartment()
    c.setId("c")
    c.setSize(1.0)
    for sid, amount in (("A", 1.0), ("B", 0.0)):
        s = model.createSpecies()
        s.setId(sid)
        s.setCompartment("c")
        s.setInitialAmount(amount)
    n = model.createParameter()
    n.setId("n")
    n.setValue(3.0)
    n.setConstant(False)
    r = model.createReaction()
    r.setId("R")
    r.setReversible(False)
    reactant = r.createReactant()
    reactant.setSpecies("A")
    product = r.createProduct()
    product.setSpecies("B")
    product.createStoichiometryMath().setMath(libsbml.parseL3Formula("n"))
    r.createKineticLaw().setMath(libsbml.parseL3Formula("0.5*A"))
    event = model.createEvent()
    event.setId("E")
    event.createTrigger().setMath(libsbml.parseL3Formula("time >= 0"))
    assignment = event.createEventAssignment()
    assignment.setVariable("n")
    assignment.setMath(libsbml.parseL3Formula("100"))
    system = read_sbml(libsbml.writeSBMLToString(document))
    assert system.time_unit is None
    # Level 2: a trigger true at the start does not fire, so n stays 3
    frame = simulate_reference(system, [0.0, 2.0], variables=["A", "B", "n"])
    a2 = np.exp(-1.0)
    assert frame["A"].iloc[-1] == pytest.approx(a2, rel=1e-9)
    assert frame["B"].iloc[-1] == pytest.approx(3.0 * (1.0 - a2), rel=1e-9)
    assert frame["n"].iloc[-1] == 3.0


def test_concentration_rate_rule_in_a_compartment_set_by_an_assignment_rule():
    # V := 1 + time, d[S]/dt = 0.4: the amount follows d(n)/dt = V*0.4 + [S]*dV/dt
    system = read_antimony(
        """
        compartment V
        V := 1 + time
        species S in V = 0
        S' = 0.4
        """
    )
    frame = simulate_reference(system, [0.0, 1.0, 2.0], variables=["[S]", "S"])
    t = frame["time"]
    np.testing.assert_allclose(frame["[S]"], 0.4 * t, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(frame["S"], 0.4 * t * (1.0 + t), rtol=1e-9, atol=1e-12)


def test_avogadro_csymbol():
    sbml = _l3v2("n = 0; x := 1", ("x", "avogadro"))
    system = read_sbml(sbml)
    assert _final(system, "x", 1.0) == pytest.approx(6.02214179e23)


def test_math_failures_are_simulation_errors():
    from il21pk.errors import SimulationError

    system = read_antimony("x = 1; x' = 1/(x - 1)")
    with pytest.raises(SimulationError, match="divides by zero"):
        simulate_reference(system, [0.0, 1.0])
    system = read_antimony("x = 1; x' = -1; y := ln(x)")
    with pytest.raises(SimulationError, match="domain"):
        simulate_reference(system, [0.0, 2.0], variables=["y"])


def test_an_infinite_constant_imports_as_it_is():
    # SBML suite case 00950: constants P = INF and Q = -INF were refused as "fixed P must
    # be finite" since the fixed values were checked against their (unbounded) specs
    model = ip.Model.from_antimony("const P = INF\nconst Q = -INF\n", report="all")
    assert model.definition.fixed == {"P": np.inf, "Q": -np.inf}
    frame = ip.simulate(model, None, t_end=1.0, t_eval=np.array([0.0, 1.0])).frame
    assert frame.loc[frame["variable"] == "P", "value"].tolist() == [np.inf, np.inf]
    assert frame.loc[frame["variable"] == "Q", "value"].tolist() == [-np.inf, -np.inf]
