"""What dosing reads is checked: the units of a drug's parameters and states when
the model is composed, the infusion input's place in the central rate, and the
values of the parameters doses read when the doses are compiled.

Units are free text and dosing assumed them: a molecular weight declared in
g/mol or Da with 15000 put 0.0592 nmol in the depot instead of 59.19, a body
weight in g 1000 times too much drug, a lag in min of 90 was read as 90 h. A
central state in nM whose rate adds ``infusion/V`` took a 100 nmol bolus as
100 nM but the same 100 nmol infused as 10 nM. A negative lag moved an SC dose
before the start of the run, a negative bioavailability or molecular weight
gave negative doses, and a molecular weight of 0 leaked numpy's divide-by-zero
warning and was reported as an overflow of the dose.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import il21pk as ip
from il21pk import ParameterSpec
from il21pk.analysis.simulate import run_batch
from il21pk.errors import ParameterError, RegimenError
from il21pk.model.inputs import parameter_columns


def one_compartment(*, mw="kDa", bw="kg", f="1", lag="h", central="nmol", depot="nmol",
                    rate=None, quantities=(), lower=0.0) -> ip.Stage:
    """A one-compartment drug with an SC depot, with the units and the central rate given.

    `lower` is the lower hard bound of the dosing parameters (negative ones let
    the parameter set hold values that dosing must refuse).
    """
    a, d, v, k, ka, inf = sp.symbols("d_central d_depot v k ka infusion_d")
    return ip.Stage(
        "pk", "one compartment",
        states=(ip.State("d_central", central, "amount"), ip.State("d_depot", depot, "depot")),
        parameters=(ParameterSpec("mw_d", mw, lower, 1e4, "mw"),
                    ParameterSpec("body_weight", bw, lower, 1e4, "body weight"),
                    ParameterSpec("f_d", f, lower, 5.0, "bioavailability"),
                    ParameterSpec("lag_d", lag, lower, 10.0, "lag"),
                    ParameterSpec("v", "L", 1e-6, 1e4, "volume"),
                    ParameterSpec("k", "1/h", 0.0, 10.0, "elimination"),
                    ParameterSpec("ka", "1/h", 0.0, 10.0, "absorption")),
        quantities=tuple(quantities),
        rates={"d_central": (inf - k * a if rate is None else rate) + ka * d,
               "d_depot": -ka * d},
        drugs=(ip.Drug("d", mw="mw_d", central="d_central", depot="d_depot",
                       bioavailability="f_d", lag="lag_d"),))


# -- 1. units -------------------------------------------------------------------------


@pytest.mark.parametrize(("units", "match"), [
    ({"mw": "g/mol"}, r"molecular weight 'mw_d' is declared in 'g/mol', but mass doses in ug "
                      r"are divided by it in kDa .*; declare it in 'kDa'"),
    ({"mw": "Da"}, r"molecular weight 'mw_d' is declared in 'Da'.*declare it in 'kDa'"),
    ({"mw": "furlongs"}, r"molecular weight 'mw_d' is declared in 'furlongs'.*'kDa'"),
    ({"bw": "g"}, r"'body_weight' is declared in 'g', but per-kg doses are multiplied by it "
                  r"in kg; declare it in 'kg'"),
    ({"bw": "lb"}, r"'body_weight' is declared in 'lb'.*declare it in 'kg'"),
    ({"lag": "min"}, r"lag 'lag_d' is declared in 'min', but it is added to SC dose times, in "
                     r"the model's time unit; declare it in 'h'"),
    ({"f": "%"}, r"bioavailability 'f_d' is declared in '%'.*a fraction; declare it in '1'"),
    ({"f": ""}, r"bioavailability 'f_d' is declared in ''.*declare it in '1'"),
    ({"central": "nM"}, r"central state 'd_central' is declared in 'nM', but doses add nmol "
                        r"to it; declare it in 'nmol' \(an amount; report a concentration"),
    ({"central": "mg"}, r"central state 'd_central' is declared in 'mg'"),
    ({"depot": ""}, r"depot state 'd_depot' is declared in ''.*declare it in 'nmol'"),
])
def test_a_dosing_unit_other_than_the_one_dosing_reads_is_refused_when_composed(units, match):
    # all of these composed and ran: mw 15000 g/mol put 0.0592 nmol of a 30 ug/kg dose
    # (70 kg) into the depot instead of 59.19, a 90 min lag delayed the dose by 90 h
    with pytest.raises(ParameterError, match=r"drug 'd': its " + match):
        ip.Model.compose(one_compartment(**units), name="units")


def test_an_imported_model_in_nmol_and_hours_doses_only_amounts_in_nmol():
    # the SBML declares hours and nmol: a dose into a parameter in nmol/L added nmol to
    # a concentration; the same model in undeclared units keeps the SBML's meaning
    # (doses are numbers in its own substance unit)
    text = """
    model m
      unit substance = 1e-9 mole
      unit time_unit = 3600 second
      unit conc = 1e-9 mole / litre
      compartment V = 10
      species A in V = 0
      k = 0.1
      k has conc
      J0: A -> ; k*A
    end
    """
    with pytest.raises(ParameterError, match=r"drug 'y': its central state 'k_dosed' is "
                                             r"declared in 'nmol/L'.*declare it in 'nmol'"):
        ip.Model.from_antimony(text, drugs={"x": "A", "y": "k"})
    assert ip.Model.from_antimony(text, drugs={"x": "A"}).drug("x").central == "A"
    undeclared = "\n".join(line for line in text.splitlines() if "unit" not in line
                           and "has" not in line)
    assert ip.Model.from_antimony(undeclared, drugs={"x": "A", "y": "k"}).drug("y")


# -- 2. the infusion input ------------------------------------------------------------


A, V, K, INF = sp.symbols("d_central v k infusion_d")


@pytest.mark.parametrize(("rate", "quantities", "slope"), [
    (INF / V - K * A, (), "1/v"),
    (sp.sqrt(INF) - K * A, (), r"1/\(2\*sqrt\(infusion_d\)\)"),
    (2 * INF - K * A, (), "2"),
    # through a quantity that reads the input: 1 + 1/v
    (INF + sp.Symbol("influx") - K * A,
     (ip.Quantity("influx", INF / V, "nmol/h", "input per volume"),), r"1 \+ 1/v"),
])
def test_the_central_rate_must_add_the_infusion_input_with_coefficient_1(rate, quantities,
                                                                         slope):
    # a central rate adding infusion/V took a 100 nmol infusion as 10 while a bolus of
    # the same 100 nmol added 100; sqrt(infusion) was accepted too
    with pytest.raises(ParameterError, match=(
            r"drug 'd': the rate of its central state 'd_central' must add the infusion input "
            r"'infusion_d' \[nmol/h\] as it is, so that an infusion adds the same nmol as a "
            rf"bolus; its derivative with respect to 'infusion_d' is {slope}, not 1; write it "
            r"as an amount \[nmol\] whose rate adds 'infusion_d'")):
        ip.Model.compose(one_compartment(rate=rate, quantities=quantities), name="infusion")


@pytest.mark.parametrize("rate,quantities", [
    ((INF - K * A) * sp.Float(1.0), ()),
    (sp.Float(0.3) * INF + sp.Float(0.7) * INF - K * A, ()),
    (sp.Symbol("influx") - K * A, (ip.Quantity("influx", INF, "nmol/h", "the input"),)),
])
def test_a_coefficient_of_1_in_floats_or_through_a_quantity_is_taken(rate, quantities):
    """(inf - k a) * 1.0 and 0.3 inf + 0.7 inf were refused with 'its derivative ... is
    1.00000000000000, not 1' (sympy's Float(1.0) != 1), and an input added through a
    quantity ('influx' = infusion_d), which the check's own docstring allows, with
    'must add the infusion input' (review of 2026-12-01)."""
    model = ip.Model.compose(one_compartment(rate=rate, quantities=quantities),
                             name="coefficient_1")
    params = model.parameter_set({name: (value, "test") for name, value in dict(
        mw_d=10.0, body_weight=70.0, f_d=0.5, lag_d=0.0, v=10.0, k=0.1, ka=1.0).items()},
        base=None)
    bolus = ip.simulate(model, ip.Dose(10.0, unit="nmol", drug="d"), params, t_end=4.0,
                        t_eval=np.array([4.0]))
    infused = ip.simulate(model, ip.Dose(10.0, unit="nmol", drug="d", duration=1e-6), params,
                          t_end=4.0, t_eval=np.array([4.0]))
    # the same 10 nmol as a bolus and as an infusion of a microsecond
    np.testing.assert_allclose(infused.frame["value"].to_numpy(),
                               bolus.frame["value"].to_numpy(), rtol=1e-5)


def test_a_concentration_state_dosed_like_an_amount_is_refused():
    # the probe's model: a central state in nM whose rate adds infusion/V
    with pytest.raises(ParameterError, match=r"central state 'd_central' is declared in 'nM'"):
        ip.Model.compose(one_compartment(central="nM", rate=INF / V - K * A), name="conc")
    # the amount in nmol, its rate adding the input as it is, and the concentration reported
    conc = ip.Quantity("d_plasma", A / V, "nM", "concentration", reported=True)
    model = ip.Model.compose(one_compartment(quantities=(conc,)), name="amount")
    assert model.drug("d").central == "d_central"


# -- 3. the values doses read ---------------------------------------------------------


@pytest.fixture(scope="module")
def permissive():
    """A model whose hard bounds let the dosing parameters be negative."""
    model = ip.Model.compose(one_compartment(lower=-100.0), name="permissive_dosing")
    params = model.parameter_set({name: (value, "test") for name, value in dict(
        mw_d=10.0, body_weight=70.0, f_d=0.5, lag_d=0.0, v=10.0, k=0.1, ka=1.0).items()},
        base=None)
    return model, params


def _run(model, params, dose, **values):
    return ip.simulate(model, dose, params.with_values(**values), t_end=4.0,
                       t_eval=np.array([0.0, 1.0, 4.0]))


SC = ip.Dose(10.0, unit="nmol", route="sc", drug="d", time=2.0)


@pytest.mark.parametrize(("dose", "values", "match"), [
    # the dose at t = 2 entered at t = -3, before the start (the depot at t = 0 was 3.8)
    (SC, {"lag_d": -5.0}, r"parameter 'lag_d' = -5 h: the lag of SC doses of drug 'd' must "
                          r"be finite and >= 0 h"),
    (SC, {"f_d": -0.5}, r"parameter 'f_d' = -0.5: the bioavailability of SC doses of drug 'd' "
                        r"must be finite and >= 0$"),
    (ip.Dose(1.0, unit="ug", drug="d"), {"mw_d": -10.0},
     r"parameter 'mw_d' = -10 kDa: the molecular weight a dose in ug is divided by must be "
     r"finite and > 0 kDa"),
    # numpy's divide-by-zero warning, then 'the conversion ... overflows'
    (ip.Dose(1.0, unit="mg/kg", drug="d"), {"mw_d": 0.0}, r"parameter 'mw_d' = 0 kDa"),
    (ip.Dose(1.0, unit="ug/kg", drug="d"), {"body_weight": -70.0},
     r"parameter 'body_weight' = -70 kg: the body weight a dose in ug/kg is multiplied by "
     r"must be finite and > 0 kg"),
    (ip.Dose(1.0, unit="nmol/kg", drug="d"), {"body_weight": 0.0},
     r"parameter 'body_weight' = 0 kg"),
])
def test_a_dosing_parameter_value_dosing_cannot_use_is_refused(permissive, dose, values, match):
    model, params = permissive
    with pytest.raises(ParameterError, match=match):
        _run(model, params, dose, **values)


def test_a_wrong_value_in_a_batch_names_its_member(permissive):
    model, params = permissive
    # a sweep names its run (it named "member 1 of the 2 simulated together", a member of
    # the chunk of runs 2 and 3)
    with pytest.raises(ParameterError, match=r"parameter 'lag_d' = -5 h \(sweep run 3\)"):
        ip.sweep(model, SC, params, grid={"lag_d": [1.0, 2.0, 3.0, -5.0]}, t_end=4.0,
                 chunk_size=2)
    with pytest.raises(ParameterError, match=r"parameter 'lag_d' = -5 h \(member 1 of the 2 "
                                             r"simulated together\)"):
        run_batch(model, ip.Regimen.single(SC), {**parameter_columns(model, params),
                                                 "lag_d": np.array([1.0, -5.0])},
                  t_eval=np.array([0.0, 4.0]), t_end=4.0)  # a batch names its member
    # F = 2 is within this stage's bounds: 20 nmol into the depot
    res = _run(model, params, ip.Dose(10.0, unit="nmol", route="sc", drug="d"), f_d=2.0)
    assert res.wide()["d_depot [nmol]"].iloc[0] == pytest.approx(20.0)
    # a dose in nmol reads neither the molecular weight nor the body weight
    res = _run(model, params, ip.Dose(10.0, unit="nmol", drug="d"), mw_d=-10.0,
               body_weight=-70.0)
    assert res.wide()["d_central [nmol]"].iloc[0] == pytest.approx(10.0)
    # the overflow of a dose is still reported as one
    with pytest.raises(RegimenError, match=r"Dose.amount = 1e\+305 g is inf nmol: the "
                                           r"conversion to the model's amounts overflows"):
        _run(model, params, ip.Dose(1e305, unit="g", drug="d"), mw_d=1e-3)


def test_a_body_weight_the_model_leaves_undefined_is_refused_for_per_kg_doses(permissive):
    # a body weight fixed as not available (NaN) made the dose NaN nmol, reported as
    # 'the conversion to the model's amounts overflows the float range'
    model, params = permissive
    fixed = ip.Model.compose(model.definition.stages[0], name="permissive_dosing",
                             fixed={"body_weight": math.nan})
    values = fixed.parameter_set({name: (params.value(name), "test")
                                  for name in fixed.parameter_names}, base=None)
    with pytest.raises(ParameterError, match=r"parameter 'body_weight' = nan kg: the body "
                                             r"weight a dose in ug/kg is multiplied by must"):
        ip.simulate(fixed, ip.Dose(1.0, unit="ug/kg", drug="d"), values, t_end=1.0)
