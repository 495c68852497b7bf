"""Users write, extend and replace models; every verb takes them; several drugs.

The models are the ones of ``examples/10_custom_model.py`` (loaded from it,
so the example and these checks cannot drift). Each is checked against an
independent computation: scipy's Radau on equations written here in numpy,
a closed form, or the built-in model it must reduce to.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sympy as sp
from scipy.integrate import solve_ivp

import il21pk as ip
from il21pk import ParameterSpec

EXAMPLE = runpy.run_path(str(Path(__file__).parents[1] / "examples" / "10_custom_model.py"),
                         run_name="example")


@pytest.fixture(scope="module")
def turnover():
    model = EXAMPLE["turnover_model"]()
    return model, model.parameter_set(EXAMPLE["TURNOVER_VALUES"], base=None)


def test_model_from_scratch_matches_an_independent_scipy_integration(turnover):
    model, params = turnover
    v, cl, kin, kout, imax, ic50 = (params.value(n) for n in
                                    ("v_drug", "cl_drug", "kin", "kout", "imax", "ic50"))
    regimen = ip.Regimen.repeat(ip.Dose(100, unit="nmol"), every=24, count=3)
    times = np.linspace(0, 96, 97)
    res = ip.simulate(model, regimen, params, t_end=96, t_eval=times, rtol=1e-10, atol=1e-12)
    wide = res.wide()

    def rates(t, y):
        c = y[0] / v
        return [-cl * c, kin * (1 - imax * c / (ic50 + c)) - kout * y[1]]

    y = np.array([0.0, kin / kout])
    expected = []
    for start in (0.0, 24.0, 48.0):
        y[0] += 100.0
        end = start + 24.0 if start < 48 else 96.0
        grid = times[(times >= start) & (times <= end)]
        sol = solve_ivp(rates, (start, end), y, method="Radau", t_eval=grid, rtol=1e-11,
                        atol=1e-13)
        expected.append(sol.y[:, :-1] if end < 96 else sol.y)
        y = sol.y[:, -1].copy()
    expected = np.concatenate(expected, axis=1)
    # the PK has a closed form too: superposed exponentials
    conc = sum(np.where(times >= s, 100.0 / v * np.exp(-cl / v * (times - s)), 0.0)
               for s in (0.0, 24.0, 48.0))
    # global error of a solver run at rtol 1e-10: within 1e-7 of the exact values
    np.testing.assert_allclose(wide["drug_plasma [nM]"], conc, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(wide["response [1]"], expected[1], rtol=1e-7)
    assert wide["response [1]"].iloc[0] == pytest.approx(kin / kout)


def test_every_verb_takes_a_custom_model(turnover, tmp_path):
    model, params = turnover
    regimen = ip.Regimen.repeat(ip.Dose(100, unit="nmol"), every=24, count=2)
    summary = ip.sweep(model, regimen, params, grid={"kin": [2.0, 5.0]}, t_end=72,
                       variables=["response"], metrics=["auc"])
    assert summary["success"].all() and summary["value"].iloc[0] < summary["value"].iloc[1]
    dr = ip.dose_response(model, regimen, params, doses=[1, 10, 100, 1000, 10000],
                          unit="nmol", response="drug_plasma", metric="cmax", t_end=72,
                          fit=None)
    np.testing.assert_allclose(dr.frame["value"] / dr.frame["dose"],
                               dr.frame["value"].iloc[0] / 1.0, rtol=1e-5)  # linear PK
    local = ip.sensitivity(model, regimen, params, outputs=["response"], metrics=["auc"],
                           parameters=["kin", "kout"], t_end=72)
    assert set(local["parameter"]) == {"kin", "kout"}
    truth = ip.simulate(model, regimen, params, t_end=72, t_eval=np.arange(1.0, 72, 6))
    obs = truth.frame[truth.frame["variable"] == "drug_plasma"][["time_h", "value"]]
    data = ip.Dataset.from_frame(obs, variable="drug_plasma", subject=None, regimen=regimen,
                                 model=model)
    start = params.with_values(cl_drug=1.0, source="start")
    fitted = ip.fit(model, data, start, free=["cl_drug"], error_model="proportional",
                    sigma={"sigma_prop_drug_plasma": 0.01})
    assert fitted.parameters.value("cl_drug") == pytest.approx(2.0, rel=1e-4)
    sbml = model.to_sbml(params, regimen, tmp_path / "turnover.xml")
    assert "kout" in sbml and (tmp_path / "turnover.xml").exists()


def test_a_stage_added_to_the_chain_reads_its_names(human):
    tumour = EXAMPLE["tumour_stage"]()
    model = ip.Model.v1().with_stage(tumour)
    assert model.state_names[-1] == "tumour_cells"
    values = dict(EXAMPLE["TUMOUR_VALUES"], k_nk_kill=(0.0, "no killing"))
    params = model.parameter_set(values, base=human)
    times = np.arange(0.0, 500.0, 25.0)
    res = ip.simulate(model, ip.Regimen.none(), params, t_end=500, t_eval=times,
                      rtol=1e-10, atol=1e-12)
    r, k, t0 = 0.005, 1e11, 1e9  # logistic growth, closed form
    logistic = k / (1 + (k / t0 - 1) * np.exp(-r * times))
    np.testing.assert_allclose(res.wide()["tumour_cells [cells]"], logistic, rtol=1e-7)
    # killing by activated NK cells: IL-21 raises the activated fraction, so more kill
    params = model.parameter_set(EXAMPLE["TUMOUR_VALUES"], base=human)
    regimen = ip.Regimen.five_on_nine_off(ip.Dose(30.0), cycles=1)
    treated = ip.simulate(model, regimen, params, t_end=336).wide()
    untreated = ip.simulate(model, ip.Regimen.none(), params, t_end=336).wide()
    final = {name: run["tumour_cells [cells]"].iloc[-1]
             for name, run in (("treated", treated), ("untreated", untreated))}
    assert final["treated"] < 0.9 * final["untreated"]


def test_a_replaced_stage_reduces_to_the_one_it_replaced(model, human):
    mine = model.replace_stage("pk", EXAMPLE["three_compartment_pk"]())
    params = mine.parameter_set({"q_deep": (0.0, "no deep compartment"),
                                 "v_deep": (1.0, "unused")}, base=human)
    regimen = ip.Regimen.five_on_nine_off(ip.Dose(30.0), cycles=1)
    grid = np.arange(0.0, 337.0, 4.0)
    theirs = ip.simulate(model, regimen, human, t_end=336, t_eval=grid, rtol=1e-10,
                         atol=1e-13).wide()
    ours = ip.simulate(mine, regimen, params, t_end=336, t_eval=grid, rtol=1e-10,
                       atol=1e-13).wide()
    for column in theirs.columns:
        if column in ours.columns and column != "time_h":
            span = np.ptp(theirs[column]) or 1.0
            assert np.max(np.abs(ours[column] - theirs[column])) <= 1e-6 * span, column


def _two_drug_model():
    il15 = ip.model.stages.pk("il15", prefix="il15_", description="IL-15")
    return ip.Model.compose(ip.model.stages.pk(), il15, name="two_drugs")


def test_several_drugs_dose_their_own_compartments(human):
    model = _two_drug_model()
    assert [d.name for d in model.drugs] == ["il21", "il15"]
    values = {f"il15_{n}": (human.value(n) * f, "test") for n, f in
              (("mw", 0.8), ("v_central", 1.5), ("cl", 0.3), ("q", 2.0),
               ("v_peripheral", 1.0), ("ka", 2.0), ("f_sc", 2.0), ("tlag_sc", 1.0))}
    values["il15_tlag_sc"] = (0.5, "test")
    params = model.parameter_set(values, base=human)
    il21 = ip.Regimen.repeat(ip.Dose(30.0, duration=2.0), every=24, count=3)
    il15 = ip.Regimen.repeat(ip.Dose(3.0, route="sc", drug="il15"), every=24, count=3) \
        + ip.Regimen.single(ip.Dose(1.0, drug="il15", duration=5.0, time=6.0))
    tight = dict(t_end=96, rtol=1e-10, atol=1e-14)
    both = ip.simulate(model, il21 + il15, params, **tight).wide()
    alone21 = ip.simulate(model, il21, params, **tight).wide()
    alone15 = ip.simulate(model, il15, params, **tight).wide()
    # uncoupled drugs: each one's curve is the same with or without the other
    np.testing.assert_allclose(both["il21_plasma [nM]"], alone21["il21_plasma [nM]"], rtol=1e-7)
    np.testing.assert_allclose(both["il15_plasma [nM]"], alone15["il15_plasma [nM]"], rtol=1e-7,
                               atol=1e-14)
    assert alone21["il15_plasma [nM]"].abs().max() == 0.0
    # the IL-15 doses went through its own molecular weight and bioavailability
    dose_nmol = 3.0 * human.value("body_weight") / (human.value("mw") * 0.8) * 0.6
    auc = alone15["il15_auc [nM*h]"].iloc[-1]
    infused = 1.0 * human.value("body_weight") / (human.value("mw") * 0.8)
    cl = human.value("cl") * 0.3
    assert auc * cl == pytest.approx(3 * dose_nmol + infused, rel=0.02)  # most is cleared


def test_unknown_drug_and_missing_route_are_clear_errors(human):
    model = ip.Model.in_vitro_v1()
    with pytest.raises(ip.ParameterError, match="has no drug 'il15'; its drugs: \\['il21'\\]"):
        ip.simulate(ip.Model.v1(), ip.Dose(1.0, drug="il15"), human, t_end=24)
    no_depot = ip.Stage("pk", "IV only", states=(ip.State("a", "nmol", "amount"),),
                        parameters=(ParameterSpec("mw", "kDa", 1e-3, 1e4, "mw"),),
                        rates={"a": sp.Symbol("infusion_x") - sp.Symbol("a")},
                        drugs=(ip.Drug("x", mw="mw", central="a"),))
    iv_only = ip.Model.compose(no_depot, name="iv_only")
    params = iv_only.parameter_set({"mw": (1.0, "test")}, base=None)
    with pytest.raises(ip.RegimenError, match="cannot be given by route 'sc'; its routes: "
                                              "\\['iv'\\]"):
        ip.simulate(iv_only, ip.Dose(1.0, unit="nmol", route="sc"), params, t_end=24)
    assert model.drug().name == "il21"


@pytest.mark.parametrize(("stages", "match"), [
    ("missing", "reads 'nk_total', which no stage provides"),
    ("twice", "'tumour_cells' is defined by both stage 'tumour' and stage 'tumour2'"),
    ("undeclared", "reads \\['zzz'\\], which the stage neither defines nor lists in `inputs`"),
])
def test_wiring_mistakes_are_named_at_build_time(stages, match):
    tumour = EXAMPLE["tumour_stage"]()
    with pytest.raises(ip.ParameterError, match=match):
        if stages == "missing":
            ip.Model.compose(tumour)
        elif stages == "twice":
            ip.Model.v1().with_stage(tumour).with_stage(
                ip.Stage("tumour2", "copy", states=tumour.states, rates=tumour.rates,
                         inputs={**tumour.inputs, **{p.name: None for p in tumour.parameters}}))
        else:
            ip.Stage("bad", "reads an undeclared name",
                     states=(ip.State("x", "1", "x"),), rates={"x": -sp.Symbol("zzz")})


def test_model_definition_is_data_not_code():
    a, b = ip.Model.v1(), ip.Model.v1()
    assert a == b and a.definition.key() == b.definition.key()
    changed = ip.Model.v1().with_stage(EXAMPLE["tumour_stage"]())
    assert changed.definition.key() != a.definition.key()
    frame = pd.DataFrame([v.__dict__ for v in changed.variables])
    assert frame["name"].is_unique and "tumour_cells" in set(frame["name"])


def test_dose_sweeps_of_one_drug_and_the_combination_surface(human):
    """`dose_<drug>` replaces one drug's doses; a grid over two is the combination surface."""
    model = _two_drug_model()
    params = model.parameter_set({f"il15_{n}": (human.value(n), "test") for n in
                                  ("mw", "v_central", "cl", "q", "v_peripheral", "ka", "f_sc",
                                   "tlag_sc")}, base=human)
    regimen = ip.Regimen.single(ip.Dose(10.0)) + ip.Regimen.single(ip.Dose(1.0, drug="il15"))
    surface = ip.sweep(model, regimen, params, grid={"dose_il21": [0.0, 10.0, 30.0],
                                                     "dose_il15": [0.0, 1.0]},
                       t_end=48, variables=["il21_auc", "il15_auc"], metrics=["cmax"])
    wide = surface.pivot_table(index=["dose_il21", "dose_il15"], columns="variable",
                               values="value")
    # each drug's exposure follows its own dose only (linear PK, no interaction)
    for (d21, d15), row in wide.iterrows():
        assert row["il21_auc"] == pytest.approx(wide.loc[(10.0, 0.0), "il21_auc"] * d21 / 10,
                                                rel=1e-5, abs=1e-12)
        assert row["il15_auc"] == pytest.approx(wide.loc[(0.0, 1.0), "il15_auc"] * d15,
                                                rel=1e-5, abs=1e-12)
    dr = ip.dose_response(model, regimen, params, doses=[0.0, 1.0, 3.0], drug="il15",
                          response="il21_auc", metric="cmax", t_end=48, fit=None)
    # scaling IL-15 leaves the IL-21 dose alone (same curve to solver round-off)
    assert np.ptp(dr.frame["value"]) <= 1e-9 * dr.frame["value"].iloc[0]
    assert dr.frame["value"].iloc[0] == pytest.approx(wide.loc[(10.0, 0.0), "il21_auc"], rel=1e-6)
    with pytest.raises(ip.ParameterError, match="has no drug 'il7'"):
        ip.dose_response(model, regimen, params, doses=[1.0], drug="il7",
                         response="il21_auc", metric="cmax", t_end=48, fit=None)


def test_nonmem_cmt_maps_to_the_model_dosing_compartments(human):
    model = _two_drug_model()
    il15 = model.definition.stage("pk_il15").drugs[0]
    assert il15.cmt == {}  # a second PK stage declares no CMT numbers: give them
    two = ip.Model.compose(ip.model.stages.pk(), ip.Stage(
        "pk_il15", "IL-15 PK", states=model.definition.stage("pk_il15").states,
        parameters=model.definition.stage("pk_il15").parameters,
        quantities=model.definition.stage("pk_il15").quantities,
        rates=model.definition.stage("pk_il15").rates,
        inputs=model.definition.stage("pk_il15").inputs,
        drugs=(ip.Drug("il15", mw="il15_mw", central="il15_central", depot="il15_depot",
                       bioavailability="il15_f_sc", lag="il15_tlag_sc",
                       cmt={3: "il15_depot", 4: "il15_central"}),)), name="cmt_map")
    rows = pd.DataFrame({"ID": 1, "TIME": [0.0, 1.0, 2.0, 3.0], "AMT": [10.0, 1.0, 2.0, 5.0],
                         "EVID": 1, "CMT": [2, 3, 4, 4], "RATE": [0.0, 0.0, 0.0, 2.5]})
    regimen = ip.Regimen.from_nonmem(rows, model=two)
    assert [(d.drug, d.route, d.duration) for d in regimen.doses] == [
        ("il21", "iv", 0.0), ("il15", "sc", 0.0), ("il15", "iv", 0.0), ("il15", "iv", 2.0)]
    with pytest.raises(ip.RegimenError, match="CMT must be one of the model's dosing "
                                              "compartments 1 .*4 \\(central of il15\\)"):
        ip.Regimen.from_nonmem(rows.assign(CMT=[2, 3, 4, 7]), model=two)
    with pytest.raises(ip.RegimenError, match="RATE > 0 \\(infusion\\) needs a central "
                                              "compartment, CMT in \\[2, 4\\]"):
        ip.Regimen.from_nonmem(rows.assign(CMT=[2, 3, 4, 3]), model=two)


def test_a_model_without_states_is_refused_when_composed():
    """A stage of parameters alone composes no ODE: the engine had nothing to
    integrate (its step-size estimate was 0/0) and looped without end."""
    stage = ip.Stage(name="constants", description="no states",
                     parameters=(ParameterSpec("k", "1/h", 0.0, 10.0, "a rate"),))
    with pytest.raises(ip.ParameterError, match=r"at least one state; stages \['constants'\]"):
        ip.Model.compose(stage, name="stateless")


def test_a_model_that_reports_nothing_is_refused_when_composed():
    """States that are all unreported composed, integrated, and failed in
    building the result frame with numpy's 'need at least one array'."""
    from il21pk import State

    stage = ip.Stage(name="hidden", description="nothing reported",
                     states=(State("x", "nmol", "an amount", 1.0, reported=False),),
                     rates={"x": -sp.Symbol("k") * sp.Symbol("x")},
                     parameters=(ParameterSpec("k", "1/h", 0.0, 10.0, "a rate"),))
    with pytest.raises(ip.ParameterError, match=r"reported variable; stages \['hidden'\]"):
        ip.Model.compose(stage, name="silent")


@pytest.mark.parametrize("name", ["t", "a b", "lambda", "_k"])
def test_a_parameter_needs_a_valid_name(name):
    # a parameter named t replaced time in every stage (dy/dt = time gave y = 0.5 t for
    # t^2 / 2); "a b" failed as a SyntaxError inside the generated module
    x = sp.Symbol("x")
    with pytest.raises(ip.ParameterError, match=r"parameter name must be a Python identifier"):
        ip.Stage("decay", "dx/dt = -k x", states=(ip.State("x", "1", "x", initial=1.0),),
                 parameters=(ParameterSpec(name, "1/h", 0.0, 10.0, "a rate"),),
                 rates={"x": -x})


def test_an_in_vitro_model_with_a_stage_added_keeps_its_dose_checks():
    # with_stage made kind "custom": 10 ug/kg went in as 70 kg x 10 ug into 0.2 mL
    # (227,273 nM) and an SC dose into a depot that never empties
    seen, plasma = sp.symbols("il21_seen il21_plasma")
    readout = ip.Stage("readout", "IL-21 exposure of the well",
                       states=(ip.State("il21_seen", "nM*h", "exposure"),),
                       rates={"il21_seen": plasma}, inputs={"il21_plasma": None})
    model = ip.Model.in_vitro().with_stage(readout)
    params = model.parameter_set()
    for dose in (ip.Dose(10.0, unit="ug/kg"), ip.Dose(10.0, unit="ng", route="sc")):
        with pytest.raises(ValueError, match="an in vitro model takes IV bolus doses"):
            ip.simulate(model, dose, params, t_end=2.0)
    result = ip.simulate(model, ip.Dose(10.0, unit="ng"), params, t_end=2.0)
    assert result.wide()["il21_plasma [nM]"].iloc[0] < 10.0  # 10 ng in 0.2 mL: 3.25 nM


def _time_constant_model(unit, lower, upper, name):
    x, kd = sp.symbols("x kd")
    stage = ip.Stage("decay", "x' = -x / kd, kd a time constant",
                     states=(ip.State("x", "1", "x", initial=1.0),),
                     parameters=(ParameterSpec("kd", unit, lower, upper, "time constant"),),
                     rates={"x": -x / kd})
    return ip.Model.compose(stage, name=name)


def test_a_set_for_another_model_is_checked_against_the_model_specs(human):
    # the human set's kd (0.07 nM) was read as a time constant in minutes, or below the
    # model's bounds [10, 1000] h, by simulate and by parameter_set(base="human")
    minutes = _time_constant_model("min", 1e-3, 1000.0, "minutes")
    with pytest.raises(ip.ParameterError, match=r"'kd' of set 'human' is in 'nM', but model "
                                                r"'minutes' declares it in 'min'"):
        ip.simulate(minutes, None, human, t_end=1.0)
    with pytest.raises(ip.ParameterError, match=r"is in 'nM', but model 'minutes'"):
        minutes.parameter_set(base="human")
    assert minutes.parameter_set({"kd": (60.0, "user")}, base="human")["kd"].value == 60.0
    bounded = _time_constant_model("nM", 10.0, 1000.0, "bounded")
    with pytest.raises(ip.ParameterError, match=r"'kd' must be within \[10, 1000\] nM; got 0.07"):
        ip.simulate(bounded, None, human, t_end=1.0)


@pytest.mark.parametrize("value,match", [(-5.0, r"within \[0, 10000\] L/h; got -5"),
                                         (True, "must be a real number"),
                                         ("abc", "must be a real number"),
                                         (np.inf, "must be finite")])
def test_fixed_values_are_checked(value, match):
    # fixed={"cl": -5} made the concentration grow; True was 1.0; "abc" a raw ValueError
    c, cl = sp.symbols("c cl")
    stage = ip.Stage("pk", "c' = -cl c", states=(ip.State("c", "nM", "c", initial=10.0),),
                     parameters=(ParameterSpec("cl", "L/h", 0.0, 1e4, "clearance"),),
                     rates={"c": -cl * c})
    with pytest.raises(ip.ParameterError, match=match):
        ip.Model.compose(stage, fixed={"cl": value})
    assert np.isnan(ip.Model.compose(stage, fixed={"cl": np.nan}).definition.fixed["cl"])


@pytest.mark.parametrize("kwargs,match", [
    ({"inputs": {"e": "abc"}}, r"input 'e': the default must be a finite number"),
    ({"inputs": {"e": np.nan}}, r"input 'e': the default must be a finite number"),
    ({"report": ("w", "w")}, r"reports \['w'\] twice"),
])
def test_stage_declarations_are_checked(kwargs, match):
    # an input default 'abc' raised a raw sympy ValueError at compose time; NaN and a
    # duplicate report entry were accepted
    e = sp.Symbol("e")
    with pytest.raises(ip.ParameterError, match=match):
        ip.Stage("c", "w' = e", states=(ip.State("w", "1", "w"),), rates={"w": e},
                 **{"inputs": {"e": 1.0}, **kwargs})
    with pytest.raises(ip.ParameterError, match=r"unit must be a string"):
        ip.State("w", 5, "w")


def _switch(*branches) -> ip.Model:
    x, k = sp.symbols("x k")
    return ip.Model.compose(ip.Stage(
        "switch", "x grows at k while a branch holds", states=(ip.State("x", "1", "x"),),
        parameters=(ParameterSpec("k", "1/h", 0.0, 10.0, "growth"),),
        rates={"x": k * sp.Piecewise(*branches)}, time_unit="h"))


def test_a_piecewise_without_a_branch_for_every_value_names_the_rate():
    # Piecewise((1, t < 5)) has no value from t = 5: the compiled code returned None
    # (numba's "TypeError: expected float64, got None" from deep inside the engine) or
    # the solver said only "step size became too small"
    from il21pk.analysis.simulate import run_batch

    t = sp.Symbol("t")
    model = _switch((1.0, t < 5))
    params = model.parameter_set({"k": (1.0, "assumed: test")}, base=None)
    with pytest.raises(ip.SimulationError, match=r"at t=5 h .* the rates of x are NaN or inf"):
        ip.simulate(model, None, params, t_end=10.0, t_eval=np.array([0.0, 10.0]))
    batch = run_batch(model, ip.Regimen.none(), {"k": np.ones(8)},  # 8: the compiled engine
                      t_eval=np.array([0.0, 4.0, 10.0]), t_end=10.0)
    assert not batch.success.any()
    assert all("the rates of x are NaN or inf" in m for m in batch.message)
    # conditions that cover every value (no final True) work as before
    covered = _switch((1.0, t < 5), (0.0, t >= 5))
    frame = ip.simulate(covered, None, params, t_end=10.0, t_eval=np.array([0.0, 4.0, 10.0])
                        ).frame
    # (rtol 1e-6 across the switch, which the solver is not told of)
    assert frame["value"].tolist() == pytest.approx([0.0, 4.0, 5.0], rel=1e-5)



@pytest.mark.parametrize("wrap", ["abs", "min", "max"])
def test_a_covering_piecewise_inside_max_min_abs_compiles(wrap):
    # a first fix put NaN into the maths, and the Jacobian's rewrites of Max, Min and
    # Abs compared it ("Invalid NaN comparison"); the NaN is now added when printing
    from il21pk.analysis.simulate import run_batch

    x, k, t = sp.symbols("x k t")
    p = sp.Piecewise((2.0, t < 5), (3.0, t > 5), (2.5, sp.Eq(t, 5)))  # covers every t
    rate = {"abs": -k * sp.Abs(x - p), "min": -k * sp.Min(x, p), "max": -k * sp.Max(x, p)}
    model = ip.Model.compose(ip.Stage(
        f"wrapped_{wrap}", "x decays", states=(ip.State("x", "1", "x", initial=1.0),),
        parameters=(ParameterSpec("k", "1/h", 0.0, 10.0, "rate"),),
        rates={"x": rate[wrap]}, time_unit="h"))
    for n in (1, 8):  # interpreted and compiled
        batch = run_batch(model, ip.Regimen.none(), {"k": np.full(n, 0.1)},
                          t_eval=np.array([0.0, 4.0]), t_end=4.0)
        assert batch.success.all()
    exact = {"abs": 2.0 - np.exp(0.4), "min": np.exp(-0.4), "max": 1.0 - 0.8}
    assert batch.outputs["x"][0, -1] == pytest.approx(exact[wrap], rel=1e-5)


# -- the model-building API (a probe of 2026-12-01) ----------------------------------------
def _decay(x0=3.0, **rate_symbols) -> ip.Stage:
    """x' = -k x, x(0) = x0 (a number or an expression of parameter a)."""
    x, k = sp.Symbol("x"), rate_symbols.get("k", sp.Symbol("k"))
    initial = rate_symbols.get("initial", x0)
    return ip.Stage("decay", "one state", states=(ip.State("x", "1", "x", initial=initial,
                                                           nonnegative=True),),
                    parameters=(ParameterSpec("k", "1/h", 0.0, 10.0, "rate"),
                                ParameterSpec("a", "1", -10.0, 10.0, "baseline")),
                    rates={"x": -k * x}, time_unit="h")


def test_symbols_with_assumptions_are_the_models_symbols():
    # Symbol("k", positive=True) is not Symbol("k"): it was printed raw into the generated
    # code (numba TypingError, a Jacobian of zeros) or left undefined (NameError)
    a = sp.Symbol("a", positive=True)
    model = ip.Model.compose(_decay(k=sp.Symbol("k", positive=True), initial=a),
                             name="assumptions")
    params = model.parameter_set({"k": (0.5, "t"), "a": (3.0, "t")}, base=None)
    wide = ip.simulate(model, None, params, t_end=2.0, t_eval=np.array([0.0, 1.0, 2.0]),
                       rtol=1e-10, atol=1e-12).wide()
    np.testing.assert_allclose(wide["x [1]"], 3.0 * np.exp(-0.5 * np.array([0, 1, 2.0])),
                               rtol=1e-8)


def test_a_negative_baseline_of_a_nonnegative_state_is_named():
    # numba-bdf stopped with "step size became too small"; LSODA returned the negative
    # trajectory without a word
    model = ip.Model.compose(_decay(initial=sp.Symbol("a")), name="negative_baseline")
    params = model.parameter_set({"k": (0.5, "t"), "a": (-1.0, "t")}, base=None)
    for method in ("numba-bdf", "LSODA"):
        with pytest.raises(ip.ParameterError, match=r"state 'x' is non-negative, but its "
                                                    r"baseline a is -1: check \['a'\]"):
            ip.simulate(model, None, params, t_end=1.0, method=method)


def test_models_differing_in_what_the_engine_reads_beside_the_code_differ():
    # equal keys made models with another bioavailability equal, and a resumed sweep
    # returned the other model's results (cmax 4.773 for 1.193)
    def stage(bioavailability):
        x, depot, k, ka = sp.symbols("x depot k ka")
        return ip.Stage(
            "pk", "depot and central", states=(
                ip.State("depot", "nmol", "depot", nonnegative=True),
                ip.State("x", "nmol", "central", nonnegative=True)),
            parameters=(ParameterSpec("k", "1/h", 0.0, 10.0, "elimination"),
                        ParameterSpec("ka", "1/h", 0.0, 10.0, "absorption"),
                        ParameterSpec("f", "1", 0.0, 1.0, "bioavailability"),
                        ParameterSpec("mw_d", "kDa", 1e-3, 1e4, "molecular weight")),
            rates={"depot": -ka * depot, "x": ka * depot - k * x + sp.Symbol("infusion_d")},
            drugs=(ip.Drug("d", mw="mw_d", central="x", depot="depot",
                           bioavailability=bioavailability),), time_unit="h")

    whole, quarter = (ip.Model.compose(stage(b), name="sc") for b in (None, "f"))
    assert whole != quarter
    assert ip.Model.compose(stage("f"), name="sc") == quarter  # equal when they are


def test_drug_compartment_numbers_are_integers():
    # {"1": ...} or {1.5: ...} composed, and NONMEM CMT 1 then dosed another drug
    for number in ("1", 1.5, True, 0):
        with pytest.raises(ip.ParameterError, match="cmt keys are NONMEM compartment numbers"):
            ip.Drug("d", mw="mw_d", central="x", cmt={number: "x"})
    assert ip.Drug("d", mw="mw_d", central="x", cmt={np.int64(2): "x"}).cmt == {2: "x"}


def test_a_quantity_unit_must_be_text():
    # unit=None failed in pandas ("Categorical categories cannot be null") at simulate
    with pytest.raises(ip.ParameterError, match="Quantity 'half' unit must be a string"):
        ip.Quantity("half", sp.Symbol("x") / 2, None, "half of x")


def test_a_definition_in_days_declares_days():
    # ModelDefinition(time_unit="d") kept the default unit definitions, so the SBML
    # export declared its per-day rates per hour
    from il21pk.model.compose import ModelDefinition

    stage = ip.Stage("decay", "one state", states=(ip.State("x", "1", "x", initial=1.0),),
                     parameters=(ParameterSpec("k", "1/d", 0.0, 10.0, "rate"),),
                     rates={"x": -sp.Symbol("k") * sp.Symbol("x")}, time_unit="d")
    definition = ModelDefinition([stage], name="days", time_unit="d")
    assert definition.unit_definitions["time"] == (("second", 1.0, 86400.0),)
    model = ip.Model(definition)
    params = model.parameter_set({"k": (0.5, "test")}, base=None)
    assert ip.Model.from_sbml(model.to_sbml(params)).time_unit == "d"


def test_flags_are_booleans_and_a_report_is_a_sequence():
    # reported="no" and nonnegative="no" counted as True; report="xy" reported x and y
    x = sp.Symbol("x")
    for flag in ("reported", "nonnegative"):
        with pytest.raises(ip.errors.InputTypeError, match=f"State 'x' {flag} must be True"):
            ip.State("x", "1", "x", **{flag: "no"})
    with pytest.raises(ip.errors.InputTypeError, match="Quantity 'y' reported must be True"):
        ip.Quantity("y", 2 * x, "1", "twice x", reported="yes")
    with pytest.raises(ip.errors.InputTypeError, match="report must be a sequence of names"):
        ip.Stage("s", "one state", states=(ip.State("x", "1", "x"),),
                 rates={"x": -x}, report="x")


def _function_stage(quantities: dict[str, sp.Expr]) -> ip.Stage:
    """One-compartment drug whose rate also carries every expression of `quantities`
    (with a small weight) and reports each as a quantity."""
    amount, conc = sp.symbols("drug_central drug_plasma")
    v, cl, infusion = sp.symbols("v_drug cl_drug infusion_drug")
    return ip.Stage(
        "pk", "a drug and functions of its amount",
        states=(ip.State("drug_central", "nmol", "drug"),),
        parameters=(ParameterSpec("mw_drug", "kDa", 1e-3, 1e4, "mw"),
                    ParameterSpec("v_drug", "L", 1e-6, 1e4, "volume"),
                    ParameterSpec("cl_drug", "L/h", 0.0, 1e4, "clearance")),
        quantities=(ip.Quantity("drug_plasma", amount / v, "nM", "conc", reported=True),
                    *(ip.Quantity(name, f, "1", name, reported=True)
                      for name, f in quantities.items())),
        rates={"drug_central": infusion - cl * conc - 1e-4 * sum(quantities.values())},
        drugs=(ip.Drug("drug", mw="mw_drug", central="drug_central"),), time_unit="h")


def test_every_function_a_stage_may_use_compiles_in_rates_and_quantities():
    """Each function of COMPILABLE_FUNCTIONS (and factorial, read as gamma(x + 1), and
    re, which sympy writes for Abs(exp(x)), read as of a real number) in
    a rate and a reported quantity: the quantities equal sympy's (mpmath's) values
    at the simulated amounts. erf, erfc and loggamma in a quantity failed with
    numpy's 'only 0-dimensional arrays' (math functions given arrays)."""
    from il21pk.model.definition import COMPILABLE_FUNCTIONS

    x = sp.Symbol("drug_central")
    near_half, above_one = 0.5 + x / 1000, 1.5 + x / 1000  # x falls from 10 to 0
    two_args = {sp.atan2: (near_half, 1), sp.Mod: (10 * near_half, 3), sp.beta: (near_half, 2),
                sp.binomial: (above_one, 2), sp.Min: (near_half, 0.505),
                sp.Max: (near_half, 0.505)}
    one_arg = {sp.acosh: above_one, sp.asec: above_one, sp.acsc: above_one,
               sp.acoth: above_one, sp.Abs: near_half - 0.505, sp.sign: near_half - 0.505,
               sp.floor: 10 * near_half, sp.ceiling: 10 * near_half, sp.frac: 10 * near_half}
    functions = {f"f_{f.__name__.lower()}": f(*two_args[f]) if f in two_args
                 else f(one_arg.get(f, near_half)) for f in COMPILABLE_FUNCTIONS}
    functions["f_factorial"] = sp.factorial(near_half)
    functions["f_abs_exp"] = sp.Abs(sp.exp(x / 100))  # sympy: exp(re(x)/100)
    model = ip.Model.compose(_function_stage(functions), name="functions")
    params = model.parameter_set({"mw_drug": (15.0, "assumed"), "v_drug": (3.0, "assumed"),
                                  "cl_drug": (1.0, "assumed")}, base=None)
    times = np.array([0.0, 0.5, 2.0, 5.0])
    wide = ip.simulate(model, ip.Regimen.single(ip.Dose(10, unit="nmol")), params, t_end=5,
                       t_eval=times, rtol=1e-10, atol=1e-12).wide()
    amounts = wide["drug_central [nmol]"].to_numpy()
    assert amounts[1] < 10 and amounts[-1] > 0
    for name, f in functions.items():
        expected = [float(sp.N(f.subs(x, a), 17)) for a in amounts[1:]]
        np.testing.assert_allclose(wide[f"{name} [1]"].to_numpy()[1:], expected, rtol=1e-12,
                                   atol=1e-14, err_msg=name)


@pytest.mark.parametrize("function", [sp.LambertW, sp.erfinv, sp.polygamma, sp.besselj,
                                      sp.zeta, sp.KroneckerDelta, sp.Si])
@pytest.mark.parametrize("where", ["rate", "quantity"])
def test_a_function_the_code_generator_cannot_compile_is_refused_when_built(function, where):
    """LambertW, besselj, erfinv, ... in a rate or quantity failed only when code was
    generated or compiled: sympy's 'Set the printer option strict', numba's
    TypingError or numpy's ambiguous truth value. Now named when the stage is built."""
    x = sp.Symbol("drug_central")
    arg = 0.5 + x / 1000
    expr = function(0, arg) if function in (sp.polygamma, sp.besselj) else \
        function(sp.floor(arg), 0) if function is sp.KroneckerDelta else function(arg)
    with pytest.raises(ip.ParameterError, match=rf"cannot be compiled.*{function.__name__}\(.*"
                                                r"a function the code generator does not "
                                                r"compile"):
        if where == "quantity":
            _function_stage({"q": expr})
        else:
            ip.Stage("s", "s", states=(ip.State("drug_central", "nmol", "drug"),),
                     rates={"drug_central": -expr})


@pytest.mark.parametrize("spelling", ["h", "hour", "hours", "hr"])
def test_a_lag_in_hours_may_be_spelled_as_stages_spell_hours(spelling):
    """A lag declared in 'hour' was refused ('declare it in h') although a stage's
    time unit takes the same spellings. The SC dose arrives after the lag: the
    depot holds F x dose from t = lag on, first-order absorption after that."""
    depot, central = sp.symbols("drug_depot drug_central")
    ka, cl, v, infusion = sp.symbols("ka_drug cl_drug v_drug infusion_drug")
    stage = ip.Stage(
        "pk", "first-order absorption after a lag",
        states=(ip.State("drug_depot", "nmol", "depot"), ip.State("drug_central", "nmol", "c")),
        parameters=(ParameterSpec("mw_drug", "kDa", 1e-3, 1e4, "mw"),
                    ParameterSpec("ka_drug", "1/h", 0.0, 1e3, "absorption"),
                    ParameterSpec("cl_drug", "L/h", 0.0, 1e4, "clearance"),
                    ParameterSpec("v_drug", "L", 1e-6, 1e4, "volume"),
                    ParameterSpec("f_drug", "1", 0.0, 1.0, "bioavailability"),
                    ParameterSpec("lag_drug", spelling, 0.0, 100.0, "lag")),
        quantities=(ip.Quantity("drug_plasma", central / v, "nM", "conc", reported=True),),
        rates={"drug_depot": -ka * depot,
               "drug_central": ka * depot - cl / v * central + infusion},
        drugs=(ip.Drug("drug", mw="mw_drug", central="drug_central", depot="drug_depot",
                       bioavailability="f_drug", lag="lag_drug"),), time_unit="h")
    model = ip.Model.compose(stage, name="lagged")
    params = model.parameter_set({n: (x, "assumed") for n, x in (
        ("mw_drug", 15.0), ("ka_drug", 0.5), ("cl_drug", 1.0), ("v_drug", 5.0),
        ("f_drug", 0.6), ("lag_drug", 2.0))}, base=None)
    wide = ip.simulate(model, ip.Dose(100, unit="nmol", route="sc"), params, t_end=6,
                       t_eval=[0.0, 1.9, 6.0], rtol=1e-10, atol=1e-12).wide()
    assert wide["drug_depot [nmol]"].tolist()[:2] == [0.0, 0.0]
    assert wide["drug_depot [nmol]"].iloc[-1] == pytest.approx(60 * np.exp(-0.5 * 4), rel=1e-8)


@pytest.mark.parametrize("unit, start", [("nmol", 0.5), ("umol", 2.0)])
def test_a_replaced_stage_keeps_a_baseline_override_only_in_the_same_unit(unit, start):
    """Model.compose(..., initial={'x': 0.5}) [nmol], stage replaced by one whose x is in
    umol with its own baseline 2: the run started from 0.5, read as umol. A baseline,
    like a fixed value, carries over only to a state of the same name and unit."""
    x = sp.Symbol("x")

    def stage(state_unit):
        return ip.Stage("s", "a constant", states=(ip.State("x", state_unit, "x", initial=2.0),),
                        rates={"x": 0 * x}, time_unit="h")

    model = ip.Model.compose(stage("nmol"), name="baseline", initial={"x": 0.5})
    mine = model.replace_stage("s", stage(unit))
    wide = ip.simulate(mine, None, mine.parameter_set({}, base=None), t_end=1,
                       t_eval=[0.0, 1.0]).wide()
    assert wide[f"x [{unit}]"].tolist() == [start, start]
