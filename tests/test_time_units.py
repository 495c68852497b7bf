"""An imported model's own time unit is explicit and correct everywhere.

BIOMD0000000761 runs in days, a tiny Antimony model declares days
(``unit time_unit = 86400 second``) or no time unit at all; il21pk's own
models run in hours. Plots, metric units, the SBML export, sensitivity's
default output and the data readers all follow ``Model.time_unit``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import sympy as sp

import il21pk as ip
from il21pk import ParameterSpec
from il21pk.errors import DataError, OptionError

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BIOMD761 = (Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "sbml"
            / "BIOMD0000000761.xml")
needs_761 = pytest.mark.skipif(not BIOMD761.is_file(), reason=f"{BIOMD761} not found")

DECAY = """
    compartment V = 5
    species A in V = 4
    ke = 0.3
    J0: A -> ; ke*A
"""
DAYS = "unit time_unit = 86400 second\n" + DECAY
TIMES = np.array([0.0, 1.0, 2.5, 5.0])


def decay_amount(ke, t, v=5.0):
    return 4.0 * v * np.exp(-np.asarray(ke) * np.asarray(t) / v)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def days():
    return ip.Model.from_antimony(DAYS)


@pytest.fixture(scope="module")
def undeclared():
    return ip.Model.from_antimony(DECAY)


@pytest.fixture(scope="module")
def biomd761():
    return ip.Model.from_sbml(BIOMD761)


def test_models_state_their_time_unit(days, undeclared):
    assert ip.Model.v1().time_unit == "h"
    assert days.time_unit == "d"
    assert undeclared.time_unit is None
    res = ip.simulate(days, None, t_end=5.0, t_eval=TIMES)
    assert res.time_unit == res.options["time_unit"] == res.frame.attrs["time_unit"] == "d"
    assert "t_end=5 d" in repr(res)
    composed = days.with_stage(_drug_in_days())
    assert composed.time_unit == "d"  # composing keeps the imported model's unit
    # il21pk's own stages run in hours: added to a model in days, their rates were read
    # per day (24 times too slow), without a word
    with pytest.raises(ip.ParameterError, match=r"stage 'pk' runs in 'h' \(its rates and "
                                                r"parameters are per h\), but the model's "
                                                r"time t runs in 'd'"):
        days.with_stage(ip.Model.pk_only().definition.stages[0])
    # and the other way: the imported stage in days composed into a model in hours
    with pytest.raises(ip.ParameterError, match=r"stage 'sbml' runs in 'd'.* the model's "
                                                r"time t runs in 'h'"):
        ip.Model.compose(*days.definition.stages)
    # a stage that declares no time unit takes the model's
    undeclared_stage = dataclasses.replace(_drug_in_days(), time_unit=None)
    assert days.with_stage(undeclared_stage).time_unit == "d"
    # a time unit is read in the usual spellings, as the models state theirs
    assert days.with_stage(dataclasses.replace(_drug_in_days(), time_unit=" Days ")) \
        .time_unit == "d"
    hours = dataclasses.replace(_drug_in_days(), time_unit="hours")
    assert hours.time_unit == "h" and ip.Model.compose(hours).time_unit == "h"
    with pytest.raises(ip.ParameterError, match=r"stage 'pk_days' runs in 'h'"):
        days.with_stage(hours)
    from il21pk.model.compose import ModelDefinition

    assert ModelDefinition([hours], time_unit="Hours").time_unit == "h"  # the model's too


def _drug_in_days() -> ip.Stage:
    """A one-compartment drug declared in days, with NONMEM CMT 2 for its central state."""
    amount, k, infusion = sp.symbols("d_central k_d infusion_d")
    return ip.Stage(
        "pk_days", "a drug declared in days",
        states=(ip.State("d_central", "nmol", "amount"),),
        parameters=(ParameterSpec("mw_d", "kDa", 1e-3, 1e4, "molecular weight"),
                    ParameterSpec("k_d", "1/d", 0.0, 100.0, "elimination rate constant")),
        rates={"d_central": infusion - k * amount},
        drugs=(ip.Drug("d", mw="mw_d", central="d_central", cmt={2: "d_central"}),),
        time_unit="d")


# -- 1. plots ------------------------------------------------------------------------


@needs_761
def test_time_course_of_a_model_in_days_is_drawn_in_days(biomd761):
    res = ip.simulate(biomd761, None, t_end=30.0, t_eval=np.linspace(0.0, 30.0, 31))
    ax = ip.plotting.time_course(res.frame, "Z")
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), res.times)
    assert ax.get_xlabel() == "time [d]"
    ax = ip.plotting.time_course(res.frame, "Z", time_unit="h")
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), res.times * 24.0)
    assert ax.get_xlabel() == "time [h]"


def test_time_course_of_il21pks_models_is_still_in_days_by_default():
    res = ip.simulate(ip.Model.pk_only(), ip.Dose(30.0), t_end=48.0)
    ax = ip.plotting.time_course(res.frame, "il21_plasma")
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), res.times / 24.0)
    assert ax.get_xlabel() == "time [d]"
    ax = ip.plotting.time_course(res.frame, "il21_plasma", time_unit="min")
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), res.times * 60.0)


def test_undeclared_time_unit_is_plotted_unconverted_and_never_guessed(undeclared):
    res = ip.simulate(undeclared, None, t_end=5.0, t_eval=TIMES)
    ax = ip.plotting.time_course(res.frame, "A")
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), TIMES)
    assert ax.get_xlabel() == "time [model time unit]"
    with pytest.raises(OptionError, match=r"times in model time unit cannot be converted to d"):
        ip.plotting.time_course(res.frame, "A", time_unit="d")


def test_population_band_of_a_sweep_in_days(days):
    traj = ip.sweep(days, None, grid={"ke": [0.2, 0.3, 0.4]}, t_end=5.0, t_eval=TIMES,
                    output="trajectories", variables=["A"])
    assert traj.attrs["time_unit"] == "d"
    ax = ip.plotting.population(traj, "A")
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), TIMES)
    assert ax.get_xlabel() == "time [d]"


def test_nca_profile_in_days_labels_axis_and_half_life_in_days(days):
    t = np.linspace(0.0, 10.0, 21)
    res = ip.simulate(days, None, t_end=10.0, t_eval=t)
    curve = res.frame[res.frame["variable"] == "A"]
    table = ip.nca(curve)
    assert table.attrs["time_unit"] == "d"
    row = table.iloc[0]
    assert row["half_life"] == pytest.approx(np.log(2) * 5.0 / 0.3, rel=1e-3)  # days
    with pytest.raises(DataError, match=r"dosing interval \[8, 16\] d .* \[0, 10\] d"):
        ip.nca(curve, tau=8.0, start=8.0)
    ax = ip.plotting.nca_profile(curve, row, variable="A")
    assert ax.get_xlabel() == "time [d]"
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), t)
    half_life = np.log(2) * 5.0 / 0.3  # days
    assert f"t1/2 = {half_life:.3g} d" in ax.get_lines()[2].get_label()
    ax = ip.plotting.nca_profile(curve, row, variable="A", time_unit="h")
    assert f"t1/2 = {half_life * 24:.3g} h" in ax.get_lines()[2].get_label()


# -- 2. metric units -----------------------------------------------------------------


@needs_761
def test_biomd761_metrics_are_in_days(biomd761):
    metrics = ip.simulate(biomd761, None, t_end=10.0).metrics()
    units = metrics[metrics["variable"] == "Z"].set_index("metric")["unit"]
    assert units["tmax"] == units["tmin"] == "d"
    assert units["auc"] == "nmol*d"
    frame = ip.sweep(biomd761, None, grid={"h": [634.0]}, t_end=10.0, variables=["Z"])
    units = frame.set_index("metric")["unit"]
    assert units["tmax"] == "d" and units["auc"] == "nmol*d"


def test_metric_units_of_hours_and_undeclared_models(undeclared):
    metrics = ip.simulate(ip.Model.pk_only(), ip.Dose(30.0), t_end=24.0).metrics()
    units = metrics[metrics["variable"] == "il21_plasma"].set_index("metric")["unit"]
    assert units["tmax"] == "h" and units["auc"] == "nM*h"
    metrics = ip.simulate(undeclared, None, t_end=5.0, t_eval=TIMES).metrics()
    units = metrics[metrics["variable"] == "A"].set_index("metric")["unit"]
    # no declared time unit: the unit is undeclared (""), not hours
    assert units["tmax"] == units["auc"] == ""
    assert units["cmax"] == ""  # the species' own unit, undeclared too


def test_dose_response_time_above_is_in_the_models_time_unit():
    model = ip.Model.from_antimony(DAYS, drugs={"drug": "A"})
    res = ip.dose_response(model, ip.Dose(10.0, unit="nmol", drug="drug"), doses=[1.0, 10.0],
                           response="A", metric="time_above", threshold=20.5, t_end=5.0,
                           t_eval=np.linspace(0.0, 5.0, 51), fit=None)
    assert res.value_unit == "d"


# -- 3. SBML export keeps the units --------------------------------------------------


@needs_761
def test_biomd761_round_trip_keeps_days_nmol_and_ml(biomd761):
    pytest.importorskip("antimony")
    back = ip.Model.from_sbml(biomd761.to_sbml())
    assert back.time_unit == "d"
    assert back.definition.unit_definitions == biomd761.definition.unit_definitions == {
        "time": (("second", 1.0, 86400.0),), "substance": (("mole", 1.0, 1e-9),),
        "volume": (("litre", 1.0, 1e-3),)}
    units = {v.name: v.unit for v in back.variables}
    assert units["Z"] == "nmol"
    t = np.linspace(0.0, 10.0, 11)
    a = ip.simulate(biomd761, None, t_end=10.0, t_eval=t, rtol=1e-10, atol=1e-12)
    b = ip.simulate(back, None, t_end=10.0, t_eval=t, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b._batch.outputs["Z"], a._batch.outputs["Z"], rtol=1e-7)
    metrics = b.metrics().set_index(["variable", "metric"])["unit"]
    assert metrics[("Z", "tmax")] == "d"


def test_round_trips_of_minutes_undeclared_and_hours(undeclared):
    pytest.importorskip("antimony")
    minutes = ip.Model.from_antimony("unit time_unit = 60 second\n" + DECAY)
    assert ip.Model.from_sbml(minutes.to_sbml()).time_unit == "min"
    again = ip.Model.from_sbml(undeclared.to_sbml())
    assert again.time_unit is None and again.definition.unit_definitions == {}
    assert ip.Model.from_sbml(ip.Model.pk_only().to_sbml()).time_unit == "h"


# -- 4. sensitivity's default output -------------------------------------------------


def test_sensitivity_default_output_names_the_models_variables(undeclared):
    with pytest.raises(ValueError, match=r"`outputs` = \['ifng_plasma'\] names "
                                         r"\['ifng_plasma'\].*variables \['A', '\[A\]'\]"):
        ip.sensitivity(undeclared, None, t_end=5.0, t_eval=TIMES)
    table = ip.sensitivity(undeclared, None, outputs="A", metrics=["cmin"], t_end=5.0,
                           t_eval=TIMES, parameters=["ke"])
    # A(5) = 20 exp(-ke 5 / 5): d ln A / d ln ke = -ke
    assert table["value"].iloc[0] == pytest.approx(-0.3, rel=1e-3)


# -- 5. data are read on the model's time axis ---------------------------------------


def _observations(hours: np.ndarray, truth: float) -> pd.DataFrame:
    obs = pd.DataFrame({"time_h": hours, "variable": "A"})
    obs["value"] = decay_amount(truth, hours / 24.0)
    return obs


def test_fit_a_model_in_days_to_data_in_hours_recovers_the_parameter(days):
    truth = 0.45
    obs = _observations(np.array([24.0, 48.0, 72.0, 96.0, 120.0]), truth)
    data = ip.Dataset.from_frame(obs, subject=None, regimen=ip.Regimen.none(), model=days,
                                 time_unit="h")
    np.testing.assert_allclose(data.observations["time_h"], [1.0, 2.0, 3.0, 4.0, 5.0])
    result = ip.fit(days, data, free=["ke"], error_model="proportional",
                    sigma={"sigma_prop_A": 0.01})
    assert result.parameters.value("ke") == pytest.approx(truth, rel=1e-3)
    assert result.residuals.attrs["time_unit"] == "d"
    ax = ip.plotting.goodness_of_fit(result, "wres_vs_time")
    assert ax.get_xlabel() == "time [d]"
    ax = ip.plotting.individual_fit(result, 0, "A")
    assert ax.get_xlabel() == "time [d]"
    np.testing.assert_allclose(ax.get_lines()[1].get_xdata(), [1.0, 2.0, 3.0, 4.0, 5.0])


def test_data_default_to_the_models_time_unit(days, tmp_path):
    obs = _observations(np.array([24.0, 48.0]), 0.3).assign(time_h=[1.0, 2.0])
    path = tmp_path / "obs.csv"
    obs.to_csv(path, index=False)
    data = ip.read_csv(path, subject=None, regimen=ip.Regimen.none(), model=days)
    np.testing.assert_array_equal(data.observations["time_h"], [1.0, 2.0])
    hours = ip.Dataset.from_frame(obs.assign(variable="il21_plasma"), subject=None,
                                  regimen=ip.Regimen.none())
    np.testing.assert_array_equal(hours.observations["time_h"], [1.0, 2.0])  # Model(): h


def test_undeclared_time_unit_takes_no_conversion(undeclared):
    obs = _observations(np.array([24.0]), 0.3)
    with pytest.raises(DataError, match=r"times in h cannot be converted to model time unit"):
        ip.Dataset.from_frame(obs, subject=None, regimen=ip.Regimen.none(), model=undeclared,
                              time_unit="h")


def test_nonmem_dosing_times_are_converted_to_the_models_time_unit(days):
    # a model in days with a drug that declares NONMEM CMT numbers
    model = days.with_stage(_drug_in_days())
    rows = pd.DataFrame({"ID": [1, 1], "TIME": [0.0, 36.0], "AMT": [5.0, 5.0],
                         "EVID": [1, 1], "CMT": [2, 2]})
    regimen = ip.Regimen.from_nonmem(rows, unit="nmol", time_unit="h", model=model)
    assert [d.time for d in regimen.doses] == [0.0, 1.5]
    regimen = ip.Regimen.from_nonmem(rows, unit="nmol", model=model)  # the model's own: d
    assert [d.time for d in regimen.doses] == [0.0, 36.0]


def test_population_fit_of_a_model_in_days_reports_and_plots_days(days):
    """Six subjects of the decay model in days, data given in hours: the fit's
    frames carry the unit and its plots label their time axes in days (they
    said hours whatever the model)."""
    rng = np.random.default_rng(3)
    hours = np.array([24.0, 48.0, 72.0, 96.0, 120.0])
    frames = []
    for subject in range(6):
        ke = 0.45 * np.exp(0.2 * rng.standard_normal())
        obs = _observations(hours, ke)
        obs["value"] *= np.exp(0.05 * rng.standard_normal(hours.size))
        obs["subject"] = subject
        frames.append(obs)
    data = ip.Dataset.from_frame(pd.concat(frames), subject="subject",
                                 regimen=ip.Regimen.none(), model=days, time_unit="h")
    result = ip.fit_population(days, data, free=["ke"], iiv={"ke": 0.2}, method="focei",
                               sigma={"sigma_prop_A": 0.05}, seed=1)
    np.testing.assert_allclose(np.sort(result.predictions["time_h"].unique()),
                               [1.0, 2.0, 3.0, 4.0, 5.0])
    assert result.predictions.attrs["time_unit"] == "d"
    assert result.vpc(n=20, bins=3, seed=1).attrs["time_unit"] == "d"
    assert result.npde(n=20, seed=1).attrs["time_unit"] == "d"
    assert result.plot_gof("cwres_vs_time").get_xlabel() == "time [d]"
    assert result.plot_individual(0).get_xlabel() == "time [d]"
    assert result.plot_vpc(n=20, bins=3, seed=1).get_xlabel() == "time [d]"
