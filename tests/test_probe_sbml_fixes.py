"""Bad input to the SBML/Antimony import that failed deep inside a library (or
aborted Python) instead of a clear error, found by a read-only probe
(2026-12-01, thirteenth session); each test failed before its fix."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import il21pk as ip
from il21pk.codegen.build import module_name
from il21pk.io.sbml_errors import SbmlError

DECAY = """
model decay
  compartment C = 1
  species S1 in C = 2
  k = 0.1
  J1: S1 -> ; k*S1
end
"""


def test_antimony_text_that_is_not_text_is_refused():
    """from_antimony(None) aborted the interpreter inside antimony (exit 134, not
    catchable); 123 raised ctypes.ArgumentError."""
    code = ("import il21pk as ip\ntry:\n    ip.Model.from_antimony(None)\n"
            "except TypeError as e:\n    print('refused:', e)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-500:]
    assert "refused: Antimony text must be a str; got NoneType None" in run.stdout
    with pytest.raises(TypeError, match="Antimony text must be a str; got int 123"):
        ip.Model.from_antimony(123)


@pytest.mark.parametrize("kwargs, match", [
    ({"drugs": ["S1"]}, r"`drugs` must be a mapping of drug name to the id"),
    ({"drugs": "S1"}, r"`drugs` must be a mapping"),
    ({"report": 3}, r"`report` must be None, 'all' or a list of names; got int 3"),
    ({"name": 3}, r"a model's name must be a non-empty str; got int 3"),
    ({"name": " "}, r"a model's name must be a non-empty str"),
])
def test_import_options_of_the_wrong_kind_are_named(kwargs, match):
    """drugs=['S1'] raised 'dictionary update sequence element #0', report=3 'int
    object is not iterable', and name=3 was taken and failed in simulate with
    "'int' object has no attribute 'lower'"."""
    with pytest.raises(TypeError, match=match):
        ip.Model.from_antimony(DECAY, **kwargs)


def test_an_empty_sbml_source_is_named():
    with pytest.raises(SbmlError, match="got an empty string"):
        ip.Model.from_sbml("")


def test_a_model_with_a_long_name_simulates():
    """A BioModels title of 260 characters as the model's name: simulate raised
    OSError 'File name too long' on the generated module's path."""
    model = ip.Model.from_antimony(DECAY, name="a very detailed model " * 12)
    assert len(module_name(model.definition)) < 100
    result = ip.simulate(model, None, t_end=10, t_eval=[0.0, 10.0])
    assert result.wide().iloc[-1, 1] == pytest.approx(2 * 2.718281828459045 ** -1, rel=1e-5)


@pytest.mark.parametrize("other", ["", "B = 0; B' = cos(10*time)"])
def test_a_slow_crossing_fires_where_the_relational_crosses(other):
    """A rises through 1 at t = 5 (exactly: A = 0.99995 + 1e-5 t). Beside an unrelated
    state the event fired at 7.001 and the outputs between said it had not fired:
    the crossing had been placed at the edge of the noise band (ten times the
    tolerance) because the band was passed steps after A crossed."""
    model = ip.Model.from_antimony(f"""
        A = 0.99995; A' = 1e-5
        z = -1; w = 0
        E1: at A > 1: z = time, w = 2
        {other}
    """)
    wide = ip.simulate(model, None, t_end=10, t_eval=[0.0, 4.9, 6.0, 10.0]).wide()
    assert wide["z []"].iloc[-1] == pytest.approx(5.0, abs=1e-6)
    assert wide["w []"].tolist() == [0.0, 0.0, 2.0, 2.0]


def test_an_inequality_from_the_compared_value_fires_when_it_leaves_it():
    """`at P != 0` with P = 0 at the start (and P rising at once): never fired.
    libRoadRunner fires it at 0+; so does a dose that moves P off 0 at t = 2."""
    model = ip.Model.from_antimony("""
        compartment C = 1
        species S = 5; species P = 0
        J: S -> P; 0.2*S
        flag = 0
        E1: at P != 0: flag = 1
    """)
    wide = ip.simulate(model, None, t_end=5, t_eval=[0.0, 1.0, 5.0]).wide()
    assert wide["flag []"].tolist() == [0.0, 1.0, 1.0]
    assert wide["P []"].iloc[-1] == pytest.approx(5 * (1 - np.exp(-1.0)), rel=1e-6)
    dosed = ip.Model.from_antimony("""
        compartment C = 1
        species P = 0
        J: P -> ; 0.2*P
        flag = 0
        E1: at P != 0: flag = 1
    """, drugs={"d": "P"})
    regimen = ip.Regimen([ip.Dose(1, unit="nmol", drug="d", time=2)])
    wide = ip.simulate(dosed, regimen, t_end=5, t_eval=[0.0, 1.0, 2.5, 5.0]).wide()
    assert wide["flag []"].tolist() == [0.0, 0.0, 1.0, 1.0]


@pytest.mark.parametrize("first", ["A", "V"])
def test_concentration_rate_rules_import_in_any_declaration_order(first):
    """C := 2 V with V and A following rate rules: declared A before V, the import
    refused 'the rate of change of V is needed before it is known'. [A] obeys
    d[A]/dt = -0.2 [A] whatever C does: 3 exp(-2) at t = 10."""
    species = {"A": "species A in C = 3", "V": "species V = 1"}
    second = "V" if first == "A" else "A"
    model = ip.Model.from_antimony(f"""
        compartment C
        {species[first]}
        {species[second]}
        V' = 0.1
        C := 2*V
        A' = -0.2*A
    """)
    wide = ip.simulate(model, None, t_end=10, t_eval=[0.0, 10.0], rtol=1e-10,
                       atol=1e-12).wide()
    assert wide["[A] []"].iloc[-1] == pytest.approx(3 * np.exp(-2.0), rel=1e-8)


@pytest.mark.parametrize("target, match", [
    ("X", r"'X' is set by an .* or is a constant or boundary species given by its "
          r".*substanceOnly species X"),
    ("J2", r"'J2' is a reaction, which cannot be dosed"),
])
def test_a_target_that_cannot_be_dosed_is_named_for_what_it_is(target, match):
    """A boundary species given by concentration, and a reaction, were both refused as
    'set by an assignment rule or an initial assignment', which neither is."""
    text = """
        compartment C = 2
        species B in C = 0
        $X in C = 1.5
        J2: X -> B; k2*X
        k2 = 0.1
    """
    with pytest.raises(SbmlError, match=match):
        ip.Model.from_antimony(text, drugs={"d": target})
    dosable = ip.Model.from_antimony(text.replace("$X in C", "substanceOnly species $X in C"),
                                     drugs={"d": "X"})
    assert [d.name for d in dosable.drugs] == ["d"]


@pytest.mark.parametrize("kwargs, match", [
    ({"t_end": -1}, r"`t_end` must be a finite number > 0 d; got -1"),
    ({"t_end": "3"}, r"`t_end` must be a number \(times in d\); got str"),
    ({"t_end": 3, "t_eval": [0, 5]}, r"`t_eval` must lie within \[0, t_end=3\] d"),
    ({"t_end": 3, "max_step": -1}, r"`max_step` must be a number >= 0 d"),
])
def test_option_messages_of_a_model_in_days_speak_days(kwargs, match):
    """A model in days was told "`t_end` must be a finite number > 0 h" and "t_eval
    must lie within [0, t_end=3] h": its times are days."""
    model = ip.Model.from_antimony(DECAY.replace(
        "model decay", "model decay\n  unit day = 86400 second\n  unit time_unit = day"))
    assert model.time_unit == "d"
    with pytest.raises((ValueError, TypeError), match=match):
        ip.simulate(model, None, **kwargs)


def test_a_rule_that_reads_a_reaction_rate_is_reported_by_default():
    """w := 2 J1 changes in time through the reaction rate J1, but the default report
    left it out (the docs: 'everything else that changes in time'). J1 itself stays
    out; w = 2 k S1 = 0.4 exp(-0.1 t)."""
    model = ip.Model.from_antimony(DECAY.replace("end", "  w := 2*J1\nend"))
    wide = ip.simulate(model, None, t_end=10, t_eval=[0.0, 10.0], rtol=1e-10,
                       atol=1e-12).wide()
    assert "J1 []" not in wide.columns
    assert wide["w []"].tolist() == pytest.approx([0.4, 0.4 * np.exp(-1.0)], rel=1e-8)


def test_a_state_resting_on_its_threshold_fires_only_when_it_moves_on():
    """S -> 1 from below (S' = 0.2 (1 - S)) rests on the threshold of `at S > 1` with
    solver noise; it passes 1 only when a push starts at t = 200. Remembering the
    noise's crossings (review of the slow-crossing change) fired at 156.9, with the
    outputs at 170 and 199 saying so."""
    model = ip.Model.from_antimony("""
        S = 0; S' = 0.2*(1 - S) + piecewise(0, time < 200, 0.01)
        z = -1
        E1: at S > 1: z = time
    """)
    wide = ip.simulate(model, None, t_end=210, t_eval=[0.0, 170.0, 199.0, 210.0]).wide()
    assert wide["z []"].tolist()[:3] == [-1.0, -1.0, -1.0]
    assert wide["z []"].iloc[-1] == pytest.approx(200.0, abs=0.01)


@pytest.mark.parametrize("trigger", ["floor(time) != 3", "floor(A) != 3"])
def test_an_inequality_that_holds_over_an_interval_fires_once_when_it_turns_true(trigger):
    """floor(time) != 3 is false on [3, 4) and true again from 4: it fired at 3.42 (the
    equality taken to hold for an instant only) and, once leaving an equality fired,
    again at 4. libRoadRunner: once, at 4."""
    model = ip.Model.from_antimony(f"""
        A = 0; A' = 1
        n = 0; tf = -1
        E1: at {trigger}: n = n + 1, tf = time
    """)
    wide = ip.simulate(model, None, t_end=6, t_eval=[0.0, 3.5, 6.0]).wide()
    assert wide["n []"].tolist() == [0.0, 0.0, 1.0]
    assert wide["tf []"].iloc[-1] == pytest.approx(4.0, abs=1e-9)


def test_event_triggers_are_read_as_rates_are():
    """A trigger with abs(exp(-A)) failed when code was generated (sympy's 'strict'
    printer message for re(...)); it is read as rates are. A falls as exp(-0.1 t), so
    exp(-A) passes 0.5 when A = ln 2: at t = 10 ln(1 / ln 2)."""
    model = ip.Model.from_antimony("""
        z = -1; A = 1; A' = -0.1*A
        E1: at abs(exp(-A)) > 0.5: z = time
    """)
    wide = ip.simulate(model, None, t_end=10, t_eval=[0.0, 10.0], rtol=1e-10,
                       atol=1e-12).wide()
    assert wide["z []"].iloc[-1] == pytest.approx(10 * np.log(1 / np.log(2)), rel=1e-8)


@pytest.mark.parametrize("trigger, at", [
    ("floor(time) >= 3", 3.0), ("piecewise(0, time < 2, 1) >= 1", 2.0),
    ("piecewise(1, time < 2, 0) == 0", 2.0), ("floor(x) == 3", 3.0),
    ("min(x, 2) >= 2", 2.0), ("piecewise(0, x < 2, 1) >= 1", 2.0),
])
def test_a_trigger_on_a_step_or_a_clamp_fires_where_it_turns_true(trigger, at):
    """Triggers on piecewise-constant values fired where the root search first landed
    inside the interval (floor(time) >= 3 at 3.054, piecewise(..) >= 1 at 2.436), and
    one on a value that stops at its threshold (min(x, 2) >= 2) never fired, its noise
    band never passed (review). libRoadRunner: at the step."""
    model = ip.Model.from_antimony(f"""
        x = 0; x' = 1
        n = 0; tf = -1
        E1: at {trigger}: n = n + 1, tf = time
    """)
    wide = ip.simulate(model, None, t_end=10, t_eval=[0.0, 10.0]).wide()
    assert wide["n []"].iloc[-1] == 1.0
    assert wide["tf []"].iloc[-1] == pytest.approx(at, abs=1e-9)
