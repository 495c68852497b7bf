"""Every verb takes an imported model as ``simulate`` does (issue 11, item 1).

``params=None`` means the model's own values (its SBML values) and
``regimen=None`` no doses, in ``sweep``, ``sensitivity``, ``dose_response``,
``fit``, ``to_sbml`` and ``virtual_population`` + ``sweep``; a verb that needs
doses says so. The decay model has a closed form: ``A(t) = 4 V exp(-ke t / V)``
(amount; ``[A]`` starts at 4), so results are checked against numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sympy as sp

import il21pk as ip
from il21pk.errors import InputTypeError, OptionError
from il21pk.model.inputs import resolve_params

DECAY = """
    compartment V = 5
    species A in V = 4
    ke = 0.3
    J0: A -> ; ke*A
"""
TIMES = np.array([0.0, 2.5, 5.0])
BIOMD761 = (Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "sbml"
            / "BIOMD0000000761.xml")


def decay_amount(ke, t, v=5.0):
    return 4.0 * v * np.exp(-np.asarray(ke) * t / v)


@pytest.fixture(scope="module")
def model():
    return ip.Model.from_antimony(DECAY)


@pytest.fixture(scope="module")
def dosed():
    return ip.Model.from_antimony(DECAY, drugs={"drug": "A"})


def test_params_none_resolves_to_the_models_own_values(model):
    own = resolve_params(model, None)
    assert own.values() == {"V": 5.0, "ke": 0.3} == model.default_parameters().values()
    assert resolve_params(ip.Model.v1(), None).values() == ip.parameter_sets.load("human").values()
    given = model.default_parameters().with_values(ke=0.5)
    assert resolve_params(model, given) is given
    with pytest.raises(InputTypeError, match=r"`params` must be an il21pk ParameterSet .*got "
                                             r"dict \{'ke': 0.5\}"):
        resolve_params(model, {"ke": 0.5})


def test_sweep_defaults_to_no_doses_and_the_models_values(model):
    grid = {"ke": [0.1, 0.4]}
    implicit = ip.sweep(model, None, grid=grid, t_end=5.0, t_eval=TIMES)
    explicit = ip.sweep(model, ip.Regimen.none(), model.default_parameters(), grid=grid,
                        t_end=5.0, t_eval=TIMES)
    pd.testing.assert_frame_equal(implicit, explicit)
    cmin = implicit[(implicit["variable"] == "A") & (implicit["metric"] == "cmin")]
    np.testing.assert_allclose(cmin["value"], decay_amount([0.1, 0.4], 5.0), rtol=1e-5)
    # V is not swept: its SBML value (5), not a human parameter, sets the amount
    base = implicit[(implicit["variable"] == "A") & (implicit["metric"] == "baseline")]
    np.testing.assert_allclose(base["value"], 20.0)


def test_a_regimen_grid_may_hold_none_for_no_doses(dosed):
    frame = ip.sweep(dosed, None, grid={"regimen": [None, ip.Dose(10.0, unit="nmol",
                                                                   drug="drug")]},
                     t_end=5.0, t_eval=TIMES, variables=["A"], metrics=["cmax"])
    assert frame["regimen"].tolist()[0] == "no doses"
    np.testing.assert_allclose(frame["value"], [20.0, 30.0], rtol=1e-9)


def test_sweep_regimen_errors_name_the_argument_and_value(model):
    with pytest.raises(TypeError, match=r"`regimen` must be an il21pk Regimen or Dose; got "
                                        r"str 'none' \(None means no doses\)"):
        ip.sweep(model, "none", grid={"ke": [0.1]}, t_end=5.0)


def test_virtual_population_of_the_models_values_sweeps_it(model):
    population = ip.virtual_population(model.default_parameters(), 4, {"ke": 0.3}, seed=1)
    frame = ip.sweep(model, None, samples=population, t_end=5.0, t_eval=TIMES,
                     variables=["A"], metrics=["cmin"])
    assert not np.allclose(population["ke"], 0.3)
    np.testing.assert_allclose(frame["value"], decay_amount(population["ke"], 5.0), rtol=1e-5)


def test_sensitivity_runs_on_the_models_own_parameters(model):
    table = ip.sensitivity(model, None, outputs=["A"], metrics=["cmin"], t_end=5.0,
                           t_eval=TIMES)
    assert table["parameter"].tolist() == ["V", "ke"]
    coef = dict(zip(table["parameter"], table["value"], strict=True))
    # ln A(5) = ln(4 V) - 5 ke / V: d/d ln ke = -5 ke / V, d/d ln V = 1 + 5 ke / V
    assert coef["ke"] == pytest.approx(-0.3, abs=1e-4)
    assert coef["V"] == pytest.approx(1.3, abs=1e-4)


def test_dose_response_takes_the_models_values_and_needs_doses(dosed):
    regimen = ip.Dose(1.0, unit="nmol", drug="drug")
    implicit = ip.dose_response(dosed, regimen, response="A", metric="cmax", doses=[1, 2, 4],
                                t_end=5.0, t_eval=TIMES, fit=None)
    explicit = ip.dose_response(dosed, regimen, dosed.default_parameters(), response="A",
                                metric="cmax", doses=[1, 2, 4], t_end=5.0, t_eval=TIMES,
                                fit=None)
    pd.testing.assert_frame_equal(implicit.frame, explicit.frame)
    np.testing.assert_allclose(implicit.frame["value"], [21.0, 22.0, 24.0], rtol=1e-9)
    with pytest.raises(OptionError, match=r"`regimen` must be a Dose or a Regimen with at "
                                          r"least one dose.*got None"):
        ip.dose_response(dosed, None, response="A", t_end=5.0)
    with pytest.raises(OptionError, match=r"`regimen` must hold at least one dose to scale; "
                                          r"got Regimen.none\(\)"):
        ip.dose_response(dosed, ip.Regimen.none(), response="A", t_end=5.0)


def test_fit_starts_from_the_models_values(model):
    truth = 0.45
    obs = pd.DataFrame({"time_h": [1.0, 2.0, 3.0, 4.0, 5.0], "variable": "A"})
    obs["value"] = decay_amount(truth, obs["time_h"].to_numpy())
    data = ip.Dataset.from_frame(obs, subject=None, regimen=ip.Regimen.none(), model=model)
    result = ip.fit(model, data, free=["ke"], error_model="proportional",
                    sigma={"sigma_prop_A": 0.01})
    row = result.table.set_index("name").loc["ke"]
    assert row["initial"] == pytest.approx(0.3)  # started from the SBML value
    assert result.parameters.value("ke") == pytest.approx(truth, rel=1e-3)
    assert result.parameters.value("V") == 5.0  # fixed at its SBML value


def test_to_sbml_defaults_to_the_models_values_and_no_doses(model):
    pytest.importorskip("antimony")
    assert model.to_sbml() == model.to_sbml(model.default_parameters(), ip.Regimen.none())
    back = ip.Model.from_sbml(model.to_sbml(model.default_parameters().with_values(ke=0.6)))
    assert back.default_parameters().value("ke") == 0.6


@pytest.mark.skipif(not BIOMD761.is_file(), reason=f"{BIOMD761} not found")
def test_biomd761_sweep_with_params_none_uses_its_sbml_values():
    model = ip.Model.from_sbml(BIOMD761)
    grid = {"h": [300.0, 634.0]}
    options = dict(t_end=10.0, t_eval=np.linspace(0.0, 10.0, 11), variables=["Z", "X"])
    implicit = ip.sweep(model, None, grid=grid, **options)
    explicit = ip.sweep(model, ip.Regimen.none(), model.default_parameters(), grid=grid,
                        **options)
    pd.testing.assert_frame_equal(implicit, explicit)
    at_sbml_value = implicit[implicit["h"] == 634.0].set_index(["variable", "metric"])["value"]
    single = ip.simulate(model, None, t_end=10.0, t_eval=options["t_eval"]).metrics()
    single = single.set_index(["variable", "metric"])["value"]
    for key in [("Z", "cmax"), ("X", "auc")]:
        assert at_sbml_value[key] == pytest.approx(single[key], rel=1e-10)


def test_nonmem_cmt_doses_the_nth_state_of_an_imported_model():
    """NONMEM CMT n doses the n-th state (NONMEM's compartment numbering) of a
    drug that declares no CMT numbers; before, every dose record for an
    imported drug was refused. Composing with a stage that declares numbers
    keeps working, and the default CMT (IL-21's 2) is not applied to it."""
    from il21pk.nonmem import cmt_routes

    two = ip.Model.from_antimony("""
        compartment V = 5
        species A in V = 0
        species B in V = 0
        kab = 0.5; kb = 0.3
        J0: A -> B; kab*A
        J1: B -> ; kb*B
    """, drugs={"x": "B", "y": "A", "z": "B"})
    assert two.state_names[:2] == ("A", "B")
    assert cmt_routes(two) == {2: ("x", "iv"), 1: ("y", "iv")}  # z: B's number is x's
    rows = pd.DataFrame({"ID": [1], "TIME": [0.0], "AMT": [10.0], "EVID": [1], "CMT": [2]})
    regimen = ip.Regimen.from_nonmem(rows, unit="nmol", model=two)
    assert [(d.drug, d.route, d.amount) for d in regimen.doses] == [("x", "iv", 10.0)]
    res = ip.simulate(two, regimen, t_end=5.0, t_eval=TIMES)
    b = res.frame.query("variable == 'B'")["value"].to_numpy()
    np.testing.assert_allclose(b, 10.0 * np.exp(-0.3 * TIMES / 5.0), rtol=1e-5)
    with pytest.raises(ValueError, match=r"CMT must be one of .*1 \(central of y\), "
                                         r"2 \(central of x\).* has 3"):
        ip.Regimen.from_nonmem(rows.assign(CMT=3), unit="nmol", model=two)
    with pytest.raises(ValueError, match=r"without a CMT column.*1 \(central of y\)"):
        ip.Regimen.from_nonmem(rows.drop(columns="CMT"), unit="nmol", model=two)
    # with IL-21's PK stage: its declared 1 and 2 win, x and y keep no number
    both = two.with_stage(ip.Model.pk_only().definition.stages[0])
    assert {k: v for k, v in cmt_routes(both).items() if k <= 2} == {1: ("il21", "sc"),
                                                                       2: ("il21", "iv")}
    assert ip.Regimen.from_nonmem(rows.drop(columns="CMT"), unit="nmol",
                                  model=both).doses[0].drug == "il21"


def _follower() -> ip.Stage:
    """x follows the amount A at rate kx: x(t) = 20 kx (e^{-0.06 t} - e^{-kx t}) / (kx - 0.06)."""
    x, kx, a = sp.symbols("x kx A")
    return ip.Stage("follower", "x follows A", states=(ip.State("x", "nmol", "follower"),),
                    parameters=(ip.ParameterSpec("kx", "1/h", 0.0, 10.0, "rate"),),
                    rates={"x": kx * (a - x)}, inputs={"A": None})


def test_a_stage_added_to_an_imported_model_keeps_its_values_and_names(model):
    # with_stage used to build a plain definition: the SBML's values (V, ke) and its
    # result names ([A]) were lost, and simulate asked for V and ke from the human set
    combined = model.with_stage(_follower())
    assert [v.name for v in combined.variables] == ["A", "[A]", "x"]
    with pytest.raises(ip.ParameterError, match=r"no values of its own for \['kx'\].*"
                                                r"model.default_parameters\(\{'kx'"):
        ip.simulate(combined, None, t_end=1.0)
    params = combined.default_parameters({"kx": (0.5, "assumed: test")})
    assert params.values() == {"V": 5.0, "ke": 0.3, "kx": 0.5}
    frame = ip.simulate(combined, None, params, t_end=5.0, t_eval=TIMES, rtol=1e-9,
                        atol=1e-12).frame
    np.testing.assert_allclose(frame.loc[frame["variable"] == "[A]", "value"],
                               decay_amount(0.3, TIMES) / 5.0, rtol=1e-6)
    expected = 20 * 0.5 * (np.exp(-0.06 * TIMES) - np.exp(-0.5 * TIMES)) / (0.5 - 0.06)
    np.testing.assert_allclose(frame.loc[frame["variable"] == "x", "value"], expected,
                               rtol=1e-6, atol=1e-9)
    # the model's own set is unchanged by the values given for the stage
    assert model.default_parameters().values() == {"V": 5.0, "ke": 0.3}


def test_replacing_the_imported_stage_drops_its_sbml_facts(model):
    # a stage of yours that reuses SBML names (ke in 1/d, a report conc_A) is yours: the
    # first derived() kept ke = 0.3 (1/h) from the SBML and reported conc_A as [A]
    amount, ke, vol = sp.symbols("A ke vol")
    mine = ip.Stage("mine", "my own A", states=(ip.State("A", "nmol", "amount", initial=10.0),),
                    parameters=(ip.ParameterSpec("ke", "1/d", 0.0, 10.0, "loss per day"),
                                ip.ParameterSpec("vol", "L", 0.1, 10.0, "volume")),
                    quantities=(ip.Quantity("conc_A", amount / vol, "nM", "concentration",
                                            reported=True),),
                    rates={"A": -ke * amount})
    replaced = model.replace_stage("sbml", mine)
    assert [v.name for v in replaced.variables] == ["A", "conc_A"]
    with pytest.raises(ip.ParameterError, match=r"missing values for \['ke'\]"):
        replaced.default_parameters({"vol": (2.0, "assumed: test")})
    params = replaced.default_parameters({"vol": (2.0, "assumed: test"),
                                          "ke": (0.5, "assumed: test")})
    back = ip.Model.from_sbml(replaced.to_sbml(params))  # exports and re-imports
    assert back.default_parameters().values() == {"ke": 0.5, "vol": 2.0}
    # A in nmol is no species of this model, whose substance unit is the SBML's: a
    # parameter with a rate rule, in its own unit
    assert {v.name: v.unit for v in back.variables}["A"] == "nmol"
    # a stage added beside the imported one keeps the SBML's facts (the test above)
    assert model.with_stage(_follower()).replace_stage("follower", _follower()).variables \
        == model.with_stage(_follower()).variables
