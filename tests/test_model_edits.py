"""Editing models and what they are given: a replaced stage and the values the old
model fixed, expressions the code generator cannot compile, and a changed value of
a parameter the model fixes (found by the probe of the model core, 2026-12-01)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import sympy as sp

import il21pk as ip
from il21pk import ParameterSpec
from il21pk.errors import ParameterError

A, Q, INFUSION = sp.symbols("il21_central q infusion_il21")
MW = ParameterSpec("mw", "kDa", 1e-3, 1e4, "molecular weight")


def _one_compartment(q: ParameterSpec, *extra: ParameterSpec) -> ip.Stage:
    """One compartment of IL-21 eliminated at the rate q * amount."""
    return ip.Stage("mypk", "one compartment",
                    states=(ip.State("il21_central", "nmol", "amount"),),
                    parameters=(MW, q, *extra), rates={"il21_central": INFUSION - Q * A},
                    drugs=(ip.Drug("il21", mw="mw", central="il21_central"),))


def test_a_fixed_value_carries_over_only_to_the_same_parameter():
    """pk_only(1) fixes the intercompartmental clearance q [L/h] to 0; a stage put in
    its place whose q is an elimination rate constant [1/h] kept q = 0, hidden from
    parameter_names: 10 nmol stayed 10 nmol (no elimination, no error)."""
    one = ip.Model.pk_only(compartments=1)
    v_peripheral = next(p for p in ip.Model.pk_only().parameter_specs
                        if p.name == "v_peripheral")
    stage = _one_compartment(ParameterSpec("q", "1/h", 0.0, 10.0, "elimination rate constant"),
                             v_peripheral)
    model = one.replace_stage("pk", stage)
    assert "q" in model.parameter_names
    assert model.definition.fixed == {"v_peripheral": 1.0}  # the same spec: still fixed
    with pytest.raises(ParameterError, match=r"'q' of set 'human' is in 'L/h'.*'1/h'"):
        model.parameter_set(base="human")
    params = model.parameter_set({"q": (0.5, "test")}, base="human")
    result = ip.simulate(model, ip.Dose(10, unit="nmol"), params, t_end=2, t_eval=[2.0],
                         rtol=1e-10, atol=1e-12)
    assert result.wide()["il21_central [nmol]"].iloc[0] == pytest.approx(10 * math.exp(-1),
                                                                         rel=1e-7)


def test_a_fixed_parameter_redeclared_in_its_unit_with_another_meaning_is_refused():
    """Same name and unit, another description: whether it is the same quantity is
    unknown, so the fixed value neither carries over nor silently disappears."""
    renal = ParameterSpec("q", "L/h", 0.0, 1e4, "renal clearance")
    one = ip.Model.pk_only(compartments=1)
    with pytest.raises(ParameterError, match=r"fixes 'q' = 0 L/h.*'renal clearance'.*"
                                             r"carries over only to the same parameter"):
        one.replace_stage("pk", _one_compartment(renal))
    again = one.replace_stage("pk", _one_compartment(renal), fixed={"q": 0.25})
    assert again.definition.fixed == {"q": 0.25}
    assert one.definition.fixed == {"q": 0.0, "v_peripheral": 1.0}  # unchanged


X, K, T = sp.symbols("x k t")


@pytest.mark.parametrize(("rate", "part"), [
    (-sp.Function("f")(X), r"f\(x\) is an undefined function"),
    (sp.Integral(K * sp.Symbol("s"), (sp.Symbol("s"), 0, 1)), r"Integral\(.*\) is of a kind"),
    (sp.Derivative(X**2, X), r"Derivative\(x\*\*2, x\) is of a kind"),
    (-sp.I * K * X, r"I is a complex number"),
    (-sp.oo * X, r"-oo is not a finite number"),
    (sp.nan * X, r"nan is not a finite number"),
    (sp.Gt(X, 1), r"x > 1 is a truth value where a number is needed"),
    (K * sp.DiracDelta(X - 1), r"DiracDelta\(x - 1\) is a DiracDelta"),
    (sp.Piecewise((K, X), (0, True)), r"x is a number or a name where a condition"),
])
def test_a_rate_the_code_generator_cannot_compile_is_refused_when_the_stage_is_built(rate,
                                                                                      part):
    """These were accepted and failed only in simulate(), with sympy's or numba's
    words (a Derivative: a bare ValueError of the printer; I: a numba TypingError
    with the generated code on stdout; oo, nan: 'try another solver'), or not at
    all (x > 1 read as 0 or 1)."""
    with pytest.raises(ParameterError, match=r"Stage 's' rate of 'x' cannot be compiled: .*"
                                             + part + r".*Allowed: .*Piecewise"):
        ip.Stage("s", "x", states=(ip.State("x", "nmol", "x", initial=1.0),),
                 parameters=(ParameterSpec("k", "1/h", 0, 10, "k"),), rates={"x": rate})


def _sawtooth(t: float) -> float:
    """x(t) of x' = 2 (t mod 1) - x, x(0) = 0: 2 (s - 1) + (x_n + 2) e^-s on [n, n + 1),
    s = t - n, x_{n+1} = (x_n + 2) / e."""
    n = int(np.floor(t))
    x_n = 0.0
    for _ in range(n):
        x_n = (x_n + 2.0) * np.exp(-1.0)
    s = t - n
    return 2.0 * (s - 1.0) + (x_n + 2.0) * np.exp(-s)


@pytest.mark.parametrize(("rate", "exact"), [
    (sp.Heaviside(T - 1) - X, lambda t: np.where(t > 1, 1 - np.exp(-(t - 1)), 0.0)),
    (K * sp.Mod(T, 1) - X, lambda t: np.array([_sawtooth(v) for v in t])),
    (sp.erf(T) - X, None),
    (sp.EulerGamma - X, lambda t: float(sp.EulerGamma) * (1 - np.exp(-t))),
])
def test_functions_the_generator_compiles_are_taken(rate, exact):
    """Mod, Heaviside of time, erf and EulerGamma compiled and simulated before the
    expression check, which refused them (review of 2026-12-01); they are taken
    again (a Heaviside as the Piecewise of the same values), against closed forms or
    scipy's Radau on the same right-hand side."""
    from scipy.integrate import solve_ivp

    stage = ip.Stage("s", "x", states=(ip.State("x", "1", "x"),),
                     parameters=(ParameterSpec("k", "1", 0.0, 10.0, "k"),), rates={"x": rate},
                     report=("x",))
    model = ip.Model.compose(stage, name="functions")
    times = np.array([0.5, 1.5, 2.25, 3.0])
    result = ip.simulate(model, None, model.parameter_set({"k": (2.0, "test")}, base=None),
                         t_end=3.0, t_eval=times, rtol=1e-10, atol=1e-12)
    got = result.frame.query("variable == 'x'")["value"].to_numpy()
    if exact is None:
        f = sp.lambdify((T, X), rate.subs(K, 2.0), modules=["scipy", "numpy"])
        want = solve_ivp(lambda t, y: [f(t, y[0])], (0.0, 3.0), [0.0], t_eval=times,
                         method="Radau", rtol=1e-11, atol=1e-13, max_step=0.01).y[0]
    else:
        want = exact(times)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_an_sbml_compartment_that_grows_from_a_time_on_imports():
    """C := 1 + max(0, time - 1): the import writes d[S]/dt with Heaviside(t - 1),
    which the expression check refused with advice an SBML user cannot act on;
    [S] = exp(-0.1 t) whatever C does."""
    model = ip.Model.from_antimony("""
        model m
          compartment C; C := 1 + max(0, time - 1)
          species S in C; S = 1
          S' = -0.1*S
        end""", report="all")
    times = np.array([0.0, 1.5, 3.0])
    result = ip.simulate(model, None, t_end=3.0, t_eval=times, rtol=1e-10, atol=1e-12)
    got = result.frame.query("variable == '[S]'")["value"].to_numpy()
    np.testing.assert_allclose(got, np.exp(-0.1 * times), rtol=1e-6)


def test_quantities_baselines_and_parameter_units_are_checked_too():
    with pytest.raises(ParameterError, match=r"Quantity 'y' cannot be compiled: .*zoo"):
        ip.Quantity("y", X / 0, "nM", "a division by zero")
    with pytest.raises(ParameterError, match=r"State 'x' initial cannot be compiled: nan"):
        ip.State("x", "nmol", "x", initial=float("nan"))
    with pytest.raises(ParameterError, match=r"Stage 's' parameter 'k' unit must be a string"
                                             r".*got 5"):
        ip.Stage("s", "x", states=(ip.State("x", "nmol", "x"),),
                 parameters=(ParameterSpec("k", 5, 0, 10, "k"),), rates={"x": -K * X})


def test_a_changed_value_of_a_parameter_the_model_fixes_is_refused_by_simulate():
    """human.with_values(q=50) on pk_only(1), which fixes q = 0, gave the curve of
    the human set: the change was ignored, while sweep refused to sweep q."""
    human = ip.parameter_sets.load("human")
    one = ip.Model.pk_only(compartments=1)
    changed = human.with_values(q=50.0)
    with pytest.raises(ParameterError, match=r"does not use parameter 'q' \(it fixes q = 0 "
                                             r"L/h\), so its value 50 L/h in set 'human' "
                                             r"would change nothing. Leave it at a built-in "
                                             r"set's value \((\d+, )*1(, \d+)* L/h\)"):
        ip.simulate(one, ip.Dose(10), changed, t_end=4)
    # the values the sets were loaded with are the model's to replace, and so is what
    # the message advises
    expected = ip.simulate(one, ip.Dose(10), human, t_end=4).wide()
    kept = ip.simulate(one, ip.Dose(10), one.parameter_set(base=changed), t_end=4).wide()
    assert kept.equals(expected)
    ip.simulate(one, ip.Dose(10), ip.parameter_sets.load("cynomolgus"), t_end=4)


def test_sets_taken_from_built_in_sets_are_not_refused_for_their_fixed_values():
    """A set a model builds on a built-in base is renamed '<model> parameters', and
    the first check compared its fixed values with the human set's: the cynomolgus
    two-compartment set on the one-compartment model, and the cynomolgus default
    set on the in-vitro model (body weight 3 kg), were refused (review of
    2026-12-01). A NaN fixed value reads 'does not read it', not 'fixes ... = nan'."""
    cyno = ip.parameter_sets.load("cynomolgus")
    two = ip.Model.pk_only(compartments=2).parameter_set({"cl": (cyno.value("cl"), "same")},
                                                          base="cynomolgus")
    ip.simulate(ip.Model.pk_only(compartments=1), ip.Dose(10, unit="nmol"), two, t_end=4)
    default = ip.Model().parameter_set({"mw": (cyno.value("mw"), "same")}, base="cynomolgus")
    ip.simulate(ip.Model.in_vitro(), ip.Dose(10, unit="ng"), default, t_end=4)
    in_vitro_v1 = ip.Model.in_vitro_v1()
    assert np.isnan(in_vitro_v1.definition.fixed["body_weight"])
    with pytest.raises(ParameterError, match=r"'body_weight' \(it does not read it\)"):
        ip.simulate(in_vitro_v1, ip.Dose(10, unit="ng"),
                    ip.parameter_sets.load("human").with_values(body_weight=60.0), t_end=4)


@pytest.mark.parametrize("verb", ["sweep", "sensitivity", "dose_response", "fit"])
def test_every_verb_refuses_a_changed_value_of_a_fixed_parameter(verb):
    """simulate refused human.with_values(q=50) on the one-compartment model, but
    sweep (as its base set), sensitivity, dose_response and fit ran with it and
    ignored it; they all resolve the set in one place now."""
    model = ip.Model.pk_only(compartments=1)
    params = ip.parameter_sets.load("human").with_values(q=50.0)
    dose = ip.Dose(30.0)
    calls = {
        "sweep": lambda: ip.sweep(model, dose, params, grid={"cl": [1.0, 2.0]}, t_end=24.0),
        "sensitivity": lambda: ip.sensitivity(model, dose, params, parameters=["cl"],
                                              t_end=24.0),
        "dose_response": lambda: ip.dose_response(model, dose, params, doses=[1.0, 10.0],
                                                  response="il21_plasma", t_end=24.0),
        "fit": lambda: ip.fit(model, ip.Dataset.from_frame(
            pd.DataFrame({"id": 1, "time_h": [1.0, 2.0], "value": [1.0, 0.5]}), time="time_h",
            subject="id",
            value="value", variable="il21_plasma", regimen=dose, model=model), params,
            free=["cl"]),
    }
    with pytest.raises(ParameterError, match=r"does not use parameter 'q' \(it fixes q = 0"):
        calls[verb]()


def test_a_reported_quantity_that_reads_time_is_refused_when_composed():
    """Reports are computed from states and parameters: a reported t * x failed in
    simulate() with "NameError: name 't' is not defined" from the generated
    outputs (review of 2026-12-01). A rate may read t; a report through a quantity
    that reads it is refused too; the clock state the message advises works."""
    stage = ip.Stage("s", "x", states=(ip.State("x", "1", "x", initial=1.0),),
                     parameters=(ParameterSpec("k", "1/h", 0.0, 10.0, "k"),),
                     quantities=(ip.Quantity("weighted", T * X, "h", "t x"),
                                 ip.Quantity("q", 2 * sp.Symbol("weighted"), "h", "2 t x",
                                             reported=True),),
                     rates={"x": -K * X * (1 + sp.sin(T))}, report=("x", "q"))
    with pytest.raises(ParameterError, match=r"reported quantity 'q' reads time t \(through "
                                             r"'weighted'\): reports are computed from states "
                                             r"and parameters; add a state that counts time"):
        ip.Model.compose(stage, name="report_reads_time")
    clock = sp.Symbol("clock")
    counted = ip.Stage("s", "x", states=(ip.State("x", "1", "x", initial=1.0),
                                         ip.State("clock", "h", "time", initial=0.0)),
                       parameters=(ParameterSpec("k", "1/h", 0.0, 10.0, "k"),),
                       quantities=(ip.Quantity("q", 2 * clock * X, "h", "2 t x",
                                               reported=True),),
                       rates={"x": -K * X, "clock": sp.Integer(1)}, report=("x", "q"))
    model = ip.Model.compose(counted, name="report_reads_clock")
    result = ip.simulate(model, None, model.parameter_set({"k": (0.5, "test")}, base=None),
                         t_end=2.0, t_eval=np.array([2.0]), rtol=1e-10, atol=1e-12)
    got = result.frame.query("variable == 'q'")["value"].iloc[0]
    assert got == pytest.approx(2 * 2.0 * np.exp(-0.5 * 2.0), rel=1e-7)


def test_the_clock_advice_is_in_the_models_time_unit():
    """In a model in days the advice said State('clock', 'h', ...) (second review of
    2026-12-01): a clock in h counting days."""
    days = ip.Model.from_antimony("unit time_unit = 86400 second\nA = 1\nk = 0.3\nA' = -k*A")
    stage = ip.Stage("s", "x", states=(ip.State("x", "1", "x", initial=1.0),),
                     parameters=(ParameterSpec("k_x", "1/d", 0.0, 10.0, "k"),),
                     quantities=(ip.Quantity("q", T * X, "d", "t x", reported=True),),
                     rates={"x": -sp.Symbol("k_x") * X}, report=("q",))
    with pytest.raises(ParameterError, match=r"State\('clock', 'd', 'time'"):
        days.with_stage(stage)
