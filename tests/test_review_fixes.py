"""Regression tests for behaviour fixed after review: event timing, predose samples,
parameters a model does not read, baselines, allometry."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from conftest import series

import il21pk as ip

REG = ip.Regimen.repeat(ip.Dose(30.0), every=24, count=3)


def test_dose_at_t_end_is_reported_post_dose_like_any_other(model, human):
    at_end = series(ip.simulate(model, REG, human, t_end=24.0), "il21_plasma")[1][-1]
    later = ip.simulate(model, REG, human, t_end=30.0)
    t, c = series(later, "il21_plasma")
    assert at_end == pytest.approx(c[t == 24.0].item(), rel=1e-12)


def test_predose_outputs_report_the_trough(model, human):
    grid = np.array([0.0, 12.0, 24.0, 36.0])
    from il21pk.analysis.simulate import run_batch as run
    from il21pk.model.inputs import parameter_columns

    cols = parameter_columns(model, human)
    post = run(model, REG, cols, t_eval=grid, t_end=36.0)
    pre = run(model, REG, cols, t_eval=grid, t_end=36.0,
              predose=np.array([True, False, True, False]))
    assert pre.outputs["il21_plasma"][0, 0] == 0.0  # before the first dose
    assert post.outputs["il21_plasma"][0, 2] > 100 * pre.outputs["il21_plasma"][0, 2]
    np.testing.assert_array_equal(pre.outputs["il21_plasma"][0, [1, 3]],
                                  post.outputs["il21_plasma"][0, [1, 3]])


def test_nonmem_record_order_and_addl_mark_predose_samples():
    df = pd.DataFrame({
        "ID": [1, 1, 1, 1, 1], "TIME": [0.0, 0.0, 24.0, 24.0, 48.0],
        "AMT": [0.0, 30.0, 0.0, 0.0, 0.0], "DV": [0.0, 0.0, 0.01, 45.0, 0.01],
        "EVID": [0, 1, 0, 0, 0], "II": [0, 24.0, 0, 0, 0], "ADDL": [0, 2, 0, 0, 0]})
    obs = ip.Dataset.from_nonmem(df).observations
    # obs before the dose record, and obs at ADDL dose times, are pre-dose
    assert obs["predose"].tolist() == [True, True, True, True]


def test_from_frame_samples_at_dose_times_are_troughs():
    df = pd.DataFrame({"t": [0.0, 1.0, 24.0, 25.0], "y": [0.0, 5.0, 0.1, 5.0]})
    data = ip.Dataset.from_frame(df, time="t", value="y", variable="il21_plasma", subject=None,
                                 regimen=REG)
    assert data.observations["predose"].tolist() == [True, False, True, False]


def test_baseline_metric_is_before_the_first_dose(model, human):
    m = ip.simulate(model, ip.Dose(30.0), human, t_end=24.0).metrics()
    m = m.set_index(["variable", "metric"])["value"]
    assert m["il21_plasma", "baseline"] == 0.0
    assert np.isnan(m["il21_plasma", "peak_fold_change"])
    assert m["nk_blood", "baseline"] == human.value("nk_blood_0")


@pytest.mark.parametrize("call", [
    lambda h: ip.sweep(ip.Model.pk_only(), REG, h, grid={"kon": [1.0, 10.0]}, t_end=24.0),
    lambda h: ip.sweep(ip.Model.in_vitro_v1(), ip.Dose(1.0, unit="ng"), h, grid={"cl": [1.0]},
                       t_end=24.0),
])
def test_sweeping_a_parameter_the_model_ignores_is_an_error(human, call):
    with pytest.raises(ip.ParameterError, match="does not use parameter"):
        call(human)


def test_allometry_uses_the_sets_own_body_weight(cyno):
    pop = ip.virtual_population(cyno, 4000, {}, body_weight={"median": 3.0, "cv": 0.2}, seed=1)
    assert np.median(pop["cl"]) == pytest.approx(cyno.value("cl"), rel=0.03)


def test_days_must_be_whole_and_regimen_labels_unique(model, human):
    with pytest.raises(ip.RegimenError, match="whole day numbers; got 1.5"):
        ip.Regimen.days(ip.Dose(1.0), [1.5])
    twins = [ip.Regimen.single(ip.Dose(30.0)), ip.Regimen.single(ip.Dose(30.0000001))]
    df = ip.sweep(model, REG, human, grid={"regimen": twins}, t_end=24.0,
                  variables=["il21_plasma"], metrics=["cmax"])
    assert df["regimen"].tolist() == ["regimen 0", "regimen 1"]


def test_failed_runs_have_no_dose_response_value(model, human):
    res = ip.dose_response(model, REG, human, doses=[3.0, 30.0], response="il21_plasma",
                           metric="time_above", threshold=0.1, t_end=48.0, fit=None,
                           max_steps=3)
    assert not res.frame["success"].any() and res.frame["value"].isna().all()


def test_fit_rejects_parameters_bounds_and_options_it_cannot_use(human, rng):
    from test_fitting import PK, _pk_data

    truth = human.with_values(mw=1.0, v_central=10.0, cl=2.0, q=0.0, ka=0.8, f_sc=0.6)
    data = _pk_data(truth, rng, "proportional", b=0.1)
    with pytest.raises(ip.ParameterError, match="does not use parameter 'kon'"):
        ip.fit(PK, data, truth, free=["kon"])
    with pytest.raises(ip.ParameterError, match="leave its hard bounds"):
        ip.fit(PK, data, truth, free=["f_sc"], bounds={"f_sc": (0.1, 5.0)})
    with pytest.raises(ValueError, match="`rtol` must be a number"):
        ip.fit(PK, data, truth, free=["cl"], rtol="1e-6")
    with pytest.raises(ip.ParameterError, match="must name at least one"):
        ip.fit(PK, data, truth, free=[])


def _trough_and_peak_data(pk):
    """IV 10 nmol at 0 and 24 h (CL 2 L/h, V 10 L): subject 1 sampled at 24 h
    before the second dose only, subject 2 before and after it (NONMEM record order)."""
    k = 0.2
    rows = []
    for subject, after in ((1, False), (2, True)):
        rows += [dict(ID=subject, TIME=0.0, AMT=10.0, DV=0.0, EVID=1),
                 dict(ID=subject, TIME=1.0, AMT=0.0, DV=np.exp(-k), EVID=0),
                 dict(ID=subject, TIME=24.0, AMT=0.0, DV=np.exp(-24 * k), EVID=0),
                 dict(ID=subject, TIME=24.0, AMT=10.0, DV=0.0, EVID=1)]
        if after:
            rows.append(dict(ID=subject, TIME=24.0, AMT=0.0, DV=1 + np.exp(-24 * k), EVID=0))
        rows.append(dict(ID=subject, TIME=25.0, AMT=0.0, DV=np.exp(-k) + np.exp(-25 * k),
                         EVID=0))
    frame = pd.DataFrame(rows).assign(CMT=2)
    return ip.Dataset.from_nonmem(frame, amount_unit="nmol", model=pk)


def test_samples_before_and_after_a_dose_at_the_same_time_are_both_predicted():
    """A trough and a peak sampled at one dose time (in one subject, or in two
    sharing a schedule) were both predicted as the trough: one grid point per
    time, with one predose flag (review 2026-11-30; fits came out 10x off)."""
    from il21pk.analysis.population.predictors import ModelPredictor

    pk = ip.Model.pk_only(compartments=1)
    params = ip.parameter_sets.load("human").with_values(cl=2.0, v_central=10.0)
    data = _trough_and_peak_data(pk)
    obs = data.observations
    assert obs["predose"].tolist() == [False, True, False, False, True, False, False]
    predict = ModelPredictor(pk, data, params, ["cl"], {"rtol": 1e-10, "atol": 1e-14})
    predicted = predict({"cl": np.full((1, 2), 2.0)})[0]
    np.testing.assert_allclose(predicted, obs["value"].to_numpy(), rtol=1e-7)

    # additive error of fixed size: -2 log L is least at zero residuals (the truth)
    fit = ip.fit(pk, data, params, free=["cl"], error_model="additive",
                 sigma={"sigma_add_il21_plasma": 0.01})
    assert fit.table.set_index("name").loc["cl", "estimate"] == pytest.approx(2.0, rel=1e-4)
    np.testing.assert_allclose(fit.residuals["predicted"], fit.residuals["observed"],
                               rtol=1e-5)


@pytest.mark.parametrize("clash", ["quantity", "parameter", "state"])
def test_a_stage_defining_one_name_twice_is_refused(clash):
    """A quantity named like a state of its stage was accepted, and the rate then read
    the quantity: a(3 h) came out 2.15 instead of 5 e^-3 (review 2026-11-30)."""
    import sympy

    from il21pk.errors import ParameterError
    from il21pk.parameters import ParameterSpec

    a, b, kel = sympy.symbols("a b kel")
    states = [ip.State("a", "nmol", "a", initial=5), ip.State("b", "nmol", "b", initial=1)]
    parameters = [ParameterSpec("kel", "1/h", 0.0, 10.0, "elimination")]
    quantities = []
    if clash == "quantity":
        quantities.append(ip.Quantity("a", 3 * b, "nmol", "a quantity named like a state"))
    elif clash == "parameter":
        parameters.append(ParameterSpec("b", "1/h", 0.0, 10.0, "a parameter named like a state"))
    else:
        states.append(ip.State("a", "nmol", "a again", initial=2))
    with pytest.raises(ParameterError, match=r"defines 'a'|defines 'b'"):
        ip.Stage("s", "clash", states=tuple(states), parameters=tuple(parameters),
                 rates={"a": -kel * a, "b": -kel * b}, quantities=tuple(quantities))


def _one_compartment(clearance_factor: float) -> ip.Model:
    import sympy

    from il21pk.parameters import ParameterSpec

    amount, v, cl, infusion = sympy.symbols("drug_central v_drug cl_drug infusion_drug")
    stage = ip.Stage(
        "pk", "One compartment, IV.",
        states=(ip.State("drug_central", "nmol", "drug in the body"),),
        parameters=(ParameterSpec("mw_drug", "kDa", 1e-3, 1e4, "molecular weight"),
                    ParameterSpec("v_drug", "L", 1e-6, 1e4, "volume"),
                    ParameterSpec("cl_drug", "L/h", 0.0, 1e4, "clearance")),
        quantities=(ip.Quantity("drug_plasma", amount / v, "nM", "concentration",
                                reported=True),),
        rates={"drug_central": infusion - clearance_factor * cl * amount / v},
        drugs=(ip.Drug("drug", mw="mw_drug", central="drug_central"),))
    return ip.Model.compose(stage, name="one")


def test_a_streamed_sweep_is_not_reused_for_another_model_of_the_same_name(tmp_path):
    """The directory's fingerprint hashed repr(model) (kind, name, stage names), so a
    second model named alike, with twice the clearance, got the first one's AUCs
    (review 2026-11-30)."""
    from il21pk.errors import OptionError

    first, second = _one_compartment(1.0), _one_compartment(2.0)
    values = {"mw_drug": (1.0, "test"), "v_drug": (10.0, "test"), "cl_drug": (2.0, "test")}
    kw = dict(grid={"cl_drug": [1.0, 2.0]}, t_end=24.0, metrics=["auc"], executor="serial")
    regimen = ip.Dose(100, unit="nmol", drug="drug")
    out = tmp_path / "runs"
    ip.sweep(first, regimen, first.parameter_set(values, base=None), out=out, **kw)
    with pytest.raises(OptionError, match="different sweep"):
        ip.sweep(second, regimen, second.parameter_set(values, base=None), out=out, **kw)


def test_population_fit_options_are_checked_before_estimating():
    """fd_step 0/NaN/inf ran and reported success with omegas at their starts;
    FoceiSettings(fd_step=inf) returned the starting values after 0 iterations;
    seeds, is_df and argument types failed deep in numpy (review 2026-11-30)."""
    from il21pk.analysis.population import FoceiSettings, SaemSettings
    from il21pk.analysis.population.predictors import OneCompartmentOral

    for bad in (0.0, float("nan"), float("inf"), -1.0, 0.5):
        with pytest.raises(ValueError, match="fd_step"):
            FoceiSettings(fd_step=bad)
    for field in ("hessian_step", "gtol", "inner_tol", "is_df"):
        with pytest.raises(ValueError, match=f"FoceiSettings.{field}"):
            FoceiSettings(**{field: float("inf") if field != "is_df" else 0})
    with pytest.raises(ValueError, match="SaemSettings.is_df"):
        SaemSettings(is_df=-1.0)

    pk = ip.Model.pk_only(compartments=1)
    params = ip.parameter_sets.load("human").with_values(cl=2.0, v_central=10.0)
    data = _trough_and_peak_data(pk)
    base = dict(free=["cl"], iiv={"cl": 0.3})
    for kw, error, match in [
            ({"fd_step": 0.0}, ValueError, "fd_step"),
            ({"fd_step": float("nan")}, ValueError, "fd_step"),
            ({"seed": -1}, ValueError, "seed"),
            ({"seed": "a"}, ValueError, "seed"),
            ({"error_model": None}, TypeError, "error_model"),
            ({"sigma": [0.1]}, TypeError, "sigma"),
            ({"covariates": [1]}, TypeError, "covariates")]:
        with pytest.raises(error, match=match):
            ip.fit_population(OneCompartmentOral(), data, params, **base, **kw)
    with pytest.raises(ValueError, match="seed"):
        ip.fit(pk, data, params, free=["cl"], seed=1.5)
    # a numpy float is a number (it was refused as "must be a number > 0")
    fit = ip.fit_population(OneCompartmentOral(), data, params, free=["cl"],
                            iiv={"cl": np.float32(0.3)}, method="focei",
                            settings=FoceiSettings(covariance=False, is_draws=100), seed=1)
    assert np.isfinite(fit.objective)


def test_a_covariate_column_named_like_an_estimated_parameter_is_refused():
    """A covariate column named 'cl' with cl estimated was ignored in silence
    (review 2026-11-30)."""
    from il21pk.errors import ParameterError

    pk = ip.Model.pk_only(compartments=1)
    params = ip.parameter_sets.load("human").with_values(cl=2.0, v_central=10.0)
    frame = pd.DataFrame({"ID": [1, 1, 2, 2], "t": [1.0, 2.0, 1.0, 2.0],
                          "conc": [0.8, 0.7, 0.8, 0.6], "AGE": [40.0, 40.0, 50.0, 50.0]})
    data = ip.Dataset.from_frame(frame, time="t", value="conc", variable="il21_plasma",
                                 subject="ID", regimen=ip.Dose(10.0, unit="nmol"),
                                 covariates={"AGE": "cl"})
    with pytest.raises(ParameterError, match=r"\['cl'\].*named like estimated"):
        ip.fit(pk, data, params, free=["cl"])
    with pytest.raises(ParameterError, match=r"\['cl'\].*named like estimated"):
        ip.fit_population(pk, data, params, free=["cl"], iiv={"cl": 0.3})


def test_nca_refuses_a_dose_column_of_zero():
    """A scalar dose of 0 was refused, a dose column of 0 gave CL = Vz = 0 (review
    2026-11-30)."""
    from il21pk.errors import DataError

    curve = pd.DataFrame({"time_h": [0.0, 1.0, 2.0, 4.0, 8.0],
                          "value": [8.0, 6.0, 4.0, 2.0, 0.5], "d": 0.0})
    with pytest.raises(DataError, match="dose column 'd' must hold finite numbers > 0"):
        ip.nca(curve, dose="d")
    assert ip.nca(curve.assign(d=10.0), dose="d")["cl"].iloc[0] > 0


def test_vpc_bins_percentiles_and_level_are_checked():
    """Edges that did not span the data clipped later samples into the last bin (n_obs
    48 for 24, median 0.219 for 0.423); unsorted edges made one bin; bins=0 an empty
    table; n=0 NaN intervals (review 2026-11-30)."""
    from il21pk.analysis.population import FoceiSettings
    from il21pk.analysis.population.predictors import OneCompartmentOral

    pk = ip.Model.pk_only(compartments=1)
    params = ip.parameter_sets.load("human").with_values(cl=2.0, v_central=10.0)
    data = _trough_and_peak_data(pk)
    fit = ip.fit_population(OneCompartmentOral(), data, params, free=["cl"],
                            iiv={"cl": 0.3}, method="focei",
                            settings=FoceiSettings(covariance=False, is_draws=100), seed=1)
    for kw, match in [({"bins": [0, 3, 10]}, "span the observations"),
                      ({"bins": [10, 0, 30]}, "increasing"), ({"bins": 0}, "bins"),
                      ({"bins": -2}, "bins"), ({"percentiles": (150,)}, "percentiles"),
                      ({"level": 2.0}, "level"), ({"n": 0}, "`n`")]:
        with pytest.raises(ValueError, match=match):
            fit.vpc(seed=1, **{"n": 20, **kw})
    table = fit.vpc(n=20, bins=[0, 3, 30], seed=1)
    assert table.groupby("bin")["n_obs"].first().tolist() == [2, 5]  # 1 h; 24 h and 25 h


def test_a_swept_dose_that_replaces_no_dose_is_refused():
    """grid={'dose': ...} without doses gave cmax 0 and success for every run; 'dose'
    beside 'dose_il21' on an IL-21 regimen was written as dose=1 while 100 was given
    (review 2026-11-30)."""
    from il21pk.errors import OptionError

    pk = ip.Model.pk_only(compartments=1)
    human = ip.parameter_sets.load("human")
    one = ip.Regimen.single(ip.Dose(1.0, unit="nmol"))
    kw = dict(t_end=12.0, metrics=["cmax"], variables=["il21_plasma"], executor="serial")
    with pytest.raises(OptionError, match="swept .dose. .* no regimen has one"):
        ip.sweep(pk, None, human, grid={"dose": [1.0, 10.0]}, **kw)
    with pytest.raises(OptionError, match="swept .dose. .* no regimen has one"):
        ip.sweep(pk, one, human, grid={"dose": [1.0], "dose_il21": [100.0]}, **kw)
    both = ip.sweep(pk, one, human, grid={"dose_il21": [1.0, 10.0]}, **kw)
    assert both["value"].iloc[1] == pytest.approx(10 * both["value"].iloc[0], rel=1e-6)


def test_checked_inputs_still_take_what_numpy_takes():
    """The checks added after the first review narrowed valid input (second review):
    a float number of VPC bins, a SeedSequence or a list seed, a dose column that
    leaves a control or monotherapy arm unchanged."""
    from il21pk.analysis.population import FoceiSettings
    from il21pk.analysis.population.predictors import OneCompartmentOral
    from il21pk.analysis.sampling import as_generator

    a = as_generator(np.random.SeedSequence(1)).random()
    assert a == np.random.default_rng(np.random.SeedSequence(1)).random()
    assert as_generator([1, 2]).random() == np.random.default_rng([1, 2]).random()
    pk = ip.Model.pk_only(compartments=1)
    params = ip.parameter_sets.load("human").with_values(cl=2.0, v_central=10.0)
    data = _trough_and_peak_data(pk)
    fit = ip.fit_population(OneCompartmentOral(), data, params, free=["cl"],
                            iiv={"cl": 0.3}, method="focei", seed=np.random.SeedSequence(3),
                            settings=FoceiSettings(covariance=False, is_draws=100))
    pd.testing.assert_frame_equal(fit.vpc(n=20, bins=2.0, seed=1), fit.vpc(n=20, bins=2, seed=1))

    human = ip.parameter_sets.load("human")
    arms = {"control": ip.Regimen.none(), "single": ip.Regimen.single(ip.Dose(1.0, unit="nmol"))}
    out = ip.sweep(pk, None, human, grid={"regimen": arms, "dose": [1.0, 10.0]}, t_end=12.0,
                   metrics=["cmax"], variables=["il21_plasma"], executor="serial")
    cmax = out.set_index(["regimen", "dose"])["value"]
    assert cmax[("control", 1.0)] == cmax[("control", 10.0)] == 0.0
    assert cmax[("single", 10.0)] == pytest.approx(10 * cmax[("single", 1.0)], rel=1e-6)


# -- command line, NONMEM data and regimens (third review, 2026-11-30) -----------------------


def test_cli_fit_reads_nonmem_amounts_in_the_unit_given(tmp_path, capsys):
    """`fit --nonmem --unit nmol` read AMT as ug/kg (100 nmol as 454.5): CL 9.41 for 5."""
    from il21pk.cli import main

    times = np.array([0.5, 1.0, 2.0, 4.0, 8.0])
    noise = np.array([1.02, 0.98, 1.01, 0.99, 1.0])  # fixed, so that sigma is estimable
    conc = 100.0 / 2.8 * np.exp(-5.0 / 2.8 * times) * noise  # 100 nmol IV bolus
    rows = [dict(ID=1, TIME=0.0, AMT=100.0, DV=".", EVID=1, CMT=2)]
    rows += [dict(ID=1, TIME=t, AMT=0.0, DV=c, EVID=0, CMT=2)
             for t, c in zip(times, conc, strict=True)]
    path = tmp_path / "nm.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    out = tmp_path / "fit"
    assert main(["fit", "--nonmem", "--data", str(path), "--model", "pk", "--unit", "nmol",
                 "--set", "q=0", "--free", "cl", "v_central", "--executor", "serial",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    table = pd.read_csv(out / "fit_table.csv").set_index("name")["estimate"]
    assert table["cl"] == pytest.approx(5.0, rel=0.03)  # read as ug/kg: 9.41
    assert table["v_central"] == pytest.approx(2.8, rel=0.03)


def test_il15_mass_concentrations_use_il15s_molecular_weight():
    """12.9 ng/mL of IL-15 read as 0.838 nM (IL-21's 15.4 kDa) instead of 1.0."""
    frame = pd.DataFrame({"ID": [1, 1], "TIME": [0, 1], "AMT": [10, 0], "EVID": [1, 0],
                          "CMT": [4, 4], "DV": [".", 12.9], "DVID": [1, 5]})
    data = ip.Dataset.from_nonmem(frame, amount_unit="ug", dvid={5: "il15_plasma"},
                                  units={"il15_plasma": "ng/mL"}, model=ip.Model())
    assert data.observations["value"].iloc[0] == pytest.approx(1.0, rel=1e-12)
    forced = ip.Dataset.from_nonmem(frame, amount_unit="ug", dvid={5: "il15_plasma"},
                                    units={"il15_plasma": "ng/mL"}, model=ip.Model(), mw=15.4)
    assert forced.observations["value"].iloc[0] == pytest.approx(12.9 / 15.4, rel=1e-12)


def test_mass_concentrations_of_a_variable_named_after_no_drug_need_a_molecular_weight():
    """150 ng/mL of anti-drug antibody (an IgG, about 150 kDa) read as 9.74 nM with
    IL-21's 15.4 kDa (the first drug's) instead of refusing to guess."""
    frame = pd.DataFrame({"ID": [1, 1], "TIME": [0, 1], "AMT": [10, 0], "EVID": [1, 0],
                          "CMT": [1, 1], "DV": [".", 150.0], "DVID": [1, 7]})
    with pytest.raises(ip.DataError, match=r"'ada_titer'.*not named after a drug.*molar unit"):
        ip.Dataset.from_nonmem(frame, amount_unit="ug", dvid={7: "ada_titer"},
                               units={"ada_titer": "ng/mL"}, model=ip.Model())
    given = ip.Dataset.from_nonmem(frame, amount_unit="ug", dvid={7: "ada_titer"},
                                   units={"ada_titer": "ng/mL"}, model=ip.Model(), mw=150.0)
    assert given.observations["value"].iloc[0] == pytest.approx(1.0, rel=1e-12)
    in_nm = ip.Dataset.from_nonmem(frame.assign(DV=[".", 2.5]), amount_unit="ug",
                                   dvid={7: "ada_titer"}, model=ip.Model())
    assert in_nm.observations["value"].iloc[0] == 2.5
    # molar units need no molecular weight (review: pM and uM were refused too)
    for unit, nm in (("pM", 0.15), ("uM", 150_000.0)):
        molar = ip.Dataset.from_nonmem(frame, amount_unit="ug", dvid={7: "ada_titer"},
                                       units={"ada_titer": unit}, model=ip.Model())
        assert molar.observations["value"].iloc[0] == pytest.approx(nm, rel=1e-12)


def test_nonmem_id_in_separate_blocks_is_refused():
    """Rows ID 1, 1, 2, 1 merged the two blocks of ID 1 into one subject (NONMEM reads a
    new block as a new individual) and re-sorted its doses in silence."""
    frame = pd.DataFrame({"ID": [1, 1, 2, 1, 1], "TIME": [10, 12, 0, 5, 6],
                          "AMT": [100, 0, 50, 100, 0], "EVID": [1, 0, 1, 1, 0],
                          "CMT": 2, "DV": [".", 4.0, ".", ".", 9.0]})
    with pytest.raises(ValueError, match="ID=1 come in separate blocks"):
        ip.Dataset.from_nonmem(frame, amount_unit="nmol")
    with pytest.raises(ValueError, match="separate blocks"):
        ip.regimens_from_nonmem(frame[["ID", "TIME", "AMT", "EVID", "CMT"]], unit="nmol")


def test_a_csv_header_naming_a_column_twice_is_refused(tmp_path, capsys):
    """pandas renames the second copy X.1, so the first DV column was used in silence."""
    from il21pk.cli import main
    from il21pk.errors import DataError

    path = tmp_path / "dup.csv"
    path.write_text("ID,TIME,AMT,EVID,CMT,DV,DV\n1,0,10,1,2,.,.\n1,1,0,0,2,3.0,5.0\n")
    with pytest.raises(DataError, match=r"duplicate column\(s\) \['DV'\]"):
        ip.read_csv(path, nonmem=True, amount_unit="nmol")
    curves = tmp_path / "curves.csv"
    curves.write_text("run,time_h,value,value\n0,1,5,6\n0,2,3,4\n0,4,1,2\n")
    assert main(["nca", "--data", str(curves), "--by", "run"]) == 2
    assert "duplicate column(s) ['value']" in capsys.readouterr().err


def test_cli_set_of_a_parameter_the_model_ignores_is_refused(capsys):
    """`simulate --set cl=100` on model v2 (which reads il21_cl_ref) changed nothing."""
    from il21pk.cli import main

    assert main(["simulate", "--set", "cl=100", "--schedule", "single", "--t-end", "24"]) == 2
    assert "does not use parameter 'cl'" in capsys.readouterr().err


def test_cli_plot_of_a_pk_model_and_spec_against_typed_flags(tmp_path, capsys):
    """`simulate --model pk --plot` failed on a variable pk does not report; a spec value
    overrode a typed flag equal to its default (`--dose 30` with dose = 1 in the spec)."""
    from il21pk.cli import main

    base = ["simulate", "--model", "pk", "--schedule", "single", "--t-end", "24"]
    assert main([*base, "--out", str(tmp_path / "a.csv"), "--plot", str(tmp_path / "a.png")]) \
        == 0, capsys.readouterr().err
    assert (tmp_path / "a.png").stat().st_size > 0
    spec = tmp_path / "spec.toml"
    spec.write_text("dose = 1.0\n")
    sweep = ["sweep", "--model", "pk", "--schedule", "single", "--t-end", "24", "--grid",
             "cl=1,2", "--metrics", "cmax", "--variables", "il21_plasma", "--executor", "serial"]
    assert main([*sweep, "--dose", "30", "--out", str(tmp_path / "typed.csv")]) == 0
    assert main([*sweep, "--spec", str(spec), "--dose", "30",
                 "--out", str(tmp_path / "spec.csv")]) == 0
    assert main([*sweep, "--spec", str(spec), "--out", str(tmp_path / "one.csv")]) == 0
    typed, with_spec, one = (pd.read_csv(tmp_path / f"{n}.csv")["value"]
                             for n in ("typed", "spec", "one"))
    pd.testing.assert_series_equal(typed, with_spec)  # the typed --dose 30 wins
    np.testing.assert_allclose(one * 30, typed, rtol=1e-6)  # else the spec's 1
    spec.write_text("t-end = 24\nt_end = 48\n")
    capsys.readouterr()
    assert main([*sweep, "--spec", str(spec), "--out", str(tmp_path / "c.csv")]) == 2
    assert "set the same option" in capsys.readouterr().err


def test_overlapping_infusions_and_drugs_in_words():
    """five_on_nine_off accepted a 30-h infusion every 24 h that repeat refused;
    in_words and to_frame left out the drug."""
    with pytest.raises(ip.RegimenError, match="longer than the dosing interval"):
        ip.Regimen.five_on_nine_off(ip.Dose(30.0, duration=30.0))
    both = ip.Regimen.single(ip.Dose(30.0, drug="il21")) + \
        ip.Regimen.single(ip.Dose(30.0, drug="il15").at(24.0))
    assert "of il21" in both.in_words() and "of il15" in both.in_words()
    assert both.to_frame()["drug"].tolist() == ["il21", "il15"]


def test_cli_small_mistakes_are_named(tmp_path, capsys):
    """A broken TOML spec did not name its file; `nca --out x.xlsx` wrote CSV text into
    it; `--by run,run` wrote two run columns and `--by "run, time_h"` was not stripped;
    `--set cl=1 --set cl=2` kept the last in silence (third review)."""
    from il21pk.cli import main

    curves = tmp_path / "curves.csv"
    curves.write_text("run,time_h,value\n0,1,5\n0,2,3\n0,4,1\n")
    spec = tmp_path / "broken.toml"
    spec.write_text("grid = [1, \n")
    cases = [
        (["sweep", "--spec", str(spec)], f"spec {spec}"),
        (["nca", "--data", str(curves), "--out", str(tmp_path / "x.xlsx")], "give a .csv"),
        (["nca", "--data", str(curves), "--by", "run,run", "--out", str(tmp_path / "n.csv")],
         "names a column twice"),
        (["simulate", "--set", "il21_cl_ref=1", "--set", "il21_cl_ref=2"], "given twice"),
    ]
    for argv, match in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert match in err and err.count("\n") == 1, (argv, err)
    assert not (tmp_path / "x.xlsx").exists()
    assert main(["nca", "--data", str(curves), "--by", " run",
                 "--out", str(tmp_path / "n.csv")]) == 0
    assert list(pd.read_csv(tmp_path / "n.csv").columns)[0] == "run"


def test_a_csv_that_is_not_utf8_is_named(tmp_path):
    from il21pk.errors import DataError

    path = tmp_path / "latin.csv"
    path.write_bytes("ID,TIME,AMT,EVID,DV\n1,0,10,1,.\n1,1,0,0,3\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin.csv: not UTF-8 text"):
        ip.read_csv(path, nonmem=True)


def test_fourth_review_regressions_of_the_new_checks(tmp_path, capsys):
    """Back-to-back infusions were refused by rounding (23.999999999999996 h); read_table
    refused CSVs with empty header cells or numeric names and could not read a buffer;
    molecular weights ignored the user's parameter set (CLI --set mw=150: CL 0.512 for 5)
    and failed for models whose defaults lack the drug; `--params human` was ignored for
    an SBML model (fourth review, 2026-11-30)."""
    import io

    from il21pk.io.data import read_table

    ip.Regimen.repeat(ip.Dose(1.0, duration=24.0, time=0.1), every=24.0, count=20)
    ip.Regimen.repeat(ip.Dose(1.0, duration=1.1), every=1.1, count=10)
    ip.Regimen.five_on_nine_off(ip.Dose(1.0, duration=24.0, time=0.1))
    with pytest.raises(ip.RegimenError, match="longer than the dosing interval"):
        ip.Regimen.repeat(ip.Dose(1.0, duration=24.01), every=24.0, count=2)

    for text in ("ID,TIME,AMT,EVID,DV,,\n1,1,0,0,3,,\n", "NA,1.0,1.00,\n5,6,7,\n"):
        path = tmp_path / "t.csv"
        path.write_text(text)
        assert len(read_table(path)) == 1
    assert read_table(io.StringIO("a,b\n1,2\n"))["b"].tolist() == [2]

    frame = pd.DataFrame({"t": [1.0], "conc": [150.0], "variable": "il21_plasma"})
    pk = ip.Model.pk_only(compartments=1)
    heavy = ip.parameter_sets.load("human").with_values(mw=150.0)
    read = ip.Dataset.from_frame(frame, time="t", value="conc", subject=None,
                                 regimen=ip.Dose(1.0, unit="ug"), model=pk,
                                 units={"il21_plasma": "ng/mL"}, mw=heavy)
    assert read.observations["value"].iloc[0] == pytest.approx(1.0, rel=1e-12)
    fixed = ip.Model.compose(*pk.definition.stages, fixed={"mw": 20.0})
    read = ip.Dataset.from_frame(frame, time="t", value="conc", subject=None,
                                 regimen=ip.Dose(1.0, unit="nmol"), model=fixed,
                                 units={"il21_plasma": "ng/mL"})
    assert read.observations["value"].iloc[0] == pytest.approx(7.5, rel=1e-12)


def test_fifth_review_read_table_and_molecular_weights(tmp_path, capsys):
    """read_table missed a duplicate header after a blank first line (the wrong column
    used in silence), failed on CR-only line endings, compressed files and binary
    buffers; the molecular weight of drug il21_mut was il21's (a name prefix); a spec
    naming the default set for an SBML model was ignored (fifth review, 2026-11-30)."""
    import gzip
    import io

    from il21pk.cli import main
    from il21pk.errors import DataError
    from il21pk.io.data import read_table

    blank = tmp_path / "blank.csv"
    blank.write_text("\nID,TIME,AMT,EVID,DV,DV\n1,0,10,1,.,.\n1,1,0,0,3,300\n")
    with pytest.raises(DataError, match=r"duplicate column\(s\) \['DV'\]"):
        ip.read_csv(blank, nonmem=True, amount_unit="nmol")
    cr = tmp_path / "cr.csv"
    cr.write_bytes(b"a,b\r1,2\r3,4\r")
    assert read_table(cr)["b"].tolist() == [2, 4]
    packed = tmp_path / "t.csv.gz"
    packed.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    assert read_table(packed)["b"].tolist() == [2]
    assert read_table(io.BytesIO(b"a,b\n1,2\n"))["b"].tolist() == [2]

    from il21pk.model.stages import pk

    model = ip.Model.compose(pk("il21"), pk("il21_mut", prefix="mut_"))
    frame = pd.DataFrame({"t": [1.0], "conc": [60.0], "variable": "il21_mut_plasma"})
    names = {v.name for v in model.variables}
    assert "il21_mut_plasma" in names
    human = ip.parameter_sets.load("human")
    own = {n: (human.value(n.removeprefix("mut_")) if n.removeprefix("mut_") in human else 1.0,
               "test") for n in model.parameter_names}
    own["mut_mw"] = (60.0, "test")
    params = model.parameter_set(own, base=None)
    read = ip.Dataset.from_frame(frame, time="t", value="conc", subject=None,
                                 regimen=ip.Dose(1.0, unit="nmol", drug="il21_mut"),
                                 model=model, units={"il21_mut_plasma": "ng/mL"}, mw=params)
    assert read.observations["value"].iloc[0] == pytest.approx(1.0, rel=1e-12)

    from il21pk.io.sbml_document import sbml_from_antimony

    sbml = tmp_path / "decay.xml"
    sbml.write_text(sbml_from_antimony("S1 = 10; k = 0.3; S1' = -k*S1"))
    spec = tmp_path / "spec.toml"
    spec.write_text('params = "human"\n')
    assert main(["sweep", "--model", str(sbml), "--spec", str(spec), "--grid", "k=0.3",
                 "--t-end", "1", "--out", str(tmp_path / "s.csv")]) == 2
    assert "names a built-in parameter set" in capsys.readouterr().err
    assert main(["sweep", "--grid", "il21_cl_ref=1,2", "--t-end", "24",
                 "--out", str(tmp_path) + "/"]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_metrics_treat_a_dose_as_a_jump_not_a_ramp(tmp_path):
    """The output grid held only the value after a bolus at its time, so the trapezoid
    AUC ramped over the hour before each later dose (+7 % for 3 doses, +17.5 % for IL-15
    at 24 h in the default model) and cmin missed the trough just before a dose (5 %
    high, an hour early) (sixth review, 2026-11-30). Closed forms, 1-compartment IV."""
    from il21pk.analysis.metrics import summarise
    from il21pk.analysis.simulate import run_batch
    from il21pk.model.inputs import parameter_columns

    pk = ip.Model.pk_only(compartments=1)
    params = ip.parameter_sets.load("human").with_values(cl=0.5, v_central=10.0)
    regimen = ip.Regimen.repeat(ip.Dose(100.0, unit="nmol"), every=24.0, count=3)
    k = 0.05
    result = ip.simulate(pk, regimen, params, t_end=72.0, rtol=1e-10, atol=1e-14)
    m = result.metrics().set_index(["variable", "metric"])["value"]
    trough = 10.0 * np.exp(-k * 24.0)  # C just before the second dose, the lowest
    assert m[("il21_plasma", "cmin")] == pytest.approx(trough, rel=1e-7)
    assert m[("il21_plasma", "tmin")] == 24.0
    # a curve with no exact AUC state: the trapezoid of the closed form with the jump
    grid = np.arange(0.0, 72.0 + 1e-9, 1.0)
    batch = run_batch(pk, regimen, parameter_columns(pk, params), t_eval=grid, t_end=72.0,
                      rtol=1e-10, atol=1e-14)
    times, curves = batch.curves()
    plasma = {"il21_plasma": curves["il21_plasma"]}  # no exact AUC given: trapezoid
    trapezoid = summarise(times, plasma)["il21_plasma"]["auc"][0]
    closed = 10.0 / k * (3 - sum(np.exp(-k * (72.0 - t)) for t in (0.0, 24.0, 48.0)))
    assert trapezoid == pytest.approx(closed, rel=1e-3)  # the trapezoid's own error
    ramped = summarise(batch.times, {"il21_plasma": batch.outputs["il21_plasma"]}
                       )["il21_plasma"]["auc"][0]
    # the grid alone ramps over the hour before each later dose: 2 x 1/2 x 10 nM x 1 h
    # (against the grid with the jumps only, without the points after each dose)
    jumps = np.isin(np.arange(times.size), batch.full_curves.grid) | np.isin(times, (24., 48.))
    jumped = summarise(times[jumps], {"il21_plasma": plasma["il21_plasma"][:, jumps]}
                       )["il21_plasma"]["auc"][0]
    assert ramped - jumped == pytest.approx(10.0, rel=1e-6)
    # the default model: IL-15's AUC is its il15_auc state's
    both = ip.simulate(ip.Model(), ip.Dose(10.0, drug="il15", time=24.0), t_end=48.0)
    metrics = both.metrics().set_index(["variable", "metric"])["value"]
    frame = both.frame
    state = frame[frame.variable == "il15_auc"]["value"].iloc[-1]
    assert metrics[("il15_plasma", "auc")] == pytest.approx(state, rel=1e-12)


def test_time_above_counts_a_bolus_as_a_jump(human):
    """dose_response's time above a threshold ramped over the grid step before a later
    bolus (hourly grid: 0.51 h too long for a second dose at 24 h), because the curve
    it read held only the value after the dose at that time. Closed form: one
    compartment, C0 = 1 nM, k = 0.2 /h, doses at 0 and 24 h, threshold 0.5 nM."""
    pk = ip.Model.pk_only(compartments=1)
    truth = human.with_values(mw=1.0, v_central=10.0, cl=2.0)
    reg = ip.Regimen.repeat(ip.Dose(10.0, unit="nmol"), every=24, count=2)
    k, c24 = 0.2, np.exp(-0.2 * 24)
    exact = (np.log(1.0 / 0.5) + np.log((1.0 + c24) / 0.5)) / k
    res = ip.dose_response(pk, reg, truth, doses=[10.0], unit="nmol", response="il21_plasma",
                           metric="time_above", threshold=0.5, t_end=48.0, fit=None,
                           rtol=1e-10, atol=1e-14)
    # what is left is the linear interpolation of the exponential at the two
    # crossings on the hourly grid (0.025 h each); the ramp added 0.51 h
    assert res.frame["value"].iloc[0] == pytest.approx(exact, abs=0.06)
    fine = ip.dose_response(pk, reg, truth, doses=[10.0], unit="nmol", response="il21_plasma",
                            metric="time_above", threshold=0.5, t_end=48.0, fit=None,
                            rtol=1e-10, atol=1e-14, t_eval=np.linspace(0.0, 48.0, 4801))
    assert fine.frame["value"].iloc[0] == pytest.approx(exact, abs=1e-5)
    # a grid without the dose time (review: 6.42 h, a ramp from the trough to 25 h)
    gap = ip.dose_response(pk, reg, truth, doses=[10.0], unit="nmol", response="il21_plasma",
                           metric="time_above", threshold=0.5, t_end=48.0, fit=None,
                           rtol=1e-10, atol=1e-14, t_eval=np.setdiff1d(np.arange(49.0), [24.0]))
    assert gap.frame["value"].iloc[0] == pytest.approx(exact, abs=0.06)
    with pytest.raises(ValueError, match="'time_above' adds 2 beside the doses"):
        ip.dose_response(pk, reg, truth, doses=[10.0], unit="nmol", response="il21_plasma",
                         metric="time_above", threshold=0.5, t_end=48.0, fit=None,
                         t_eval=np.linspace(0.0, 48.0, 100_000))


def test_cli_tables_are_written_in_the_format_their_name_says(tmp_path, capsys):
    """`simulate --out run.parquet` and `params --out p.parquet` wrote CSV text under a
    parquet name (and `x.xlsx` too), `simulate --out run.csv.gz` put its metrics in
    ``run.csv_metrics.csv``, and `sweep --out s.csv.gz` was refused."""
    from il21pk.cli import main

    def ok(argv):
        assert main(argv) == 0, argv
        capsys.readouterr()

    ok(["params", "--out", str(tmp_path / "p.parquet")])
    assert pd.read_parquet(tmp_path / "p.parquet")["name"].size > 10
    ok(["simulate", "--model", "pk", "--t-end", "6", "--out", str(tmp_path / "run.parquet")])
    frame = pd.read_parquet(tmp_path / "run.parquet")
    assert "il21_plasma" in set(frame["variable"]) and frame["value"].notna().all()
    assert "cmax" in set(pd.read_parquet(tmp_path / "run_metrics.parquet")["metric"])
    ok(["simulate", "--model", "pk", "--t-end", "6", "--out", str(tmp_path / "run.csv.gz")])
    with gzip.open(tmp_path / "run.csv.gz", "rt") as handle:
        assert handle.readline().startswith("time_h,")
    assert "cmax" in set(pd.read_csv(tmp_path / "run_metrics.csv.gz")["metric"])
    ok(["simulate", "--model", "pk", "--t-end", "6", "--out", str(tmp_path / "f.csv"),
        "--plot", str(tmp_path / "f.svgz")])  # any format matplotlib writes by itself
    assert (tmp_path / "f.svgz").stat().st_size > 0
    ok(["sweep", "--model", "pk", "--t-end", "6", "--grid", "cl=1,2",
        "--out", str(tmp_path / "s.csv.gz")])
    assert pd.read_csv(tmp_path / "s.csv.gz")["run"].nunique() == 2
    # refused before any work (review: .csv.zst needs zstandard and failed after the
    # simulation; --plot x.csv.gz failed after both tables were written)
    for argv, match in ((["simulate", "--out", str(tmp_path / "x.xlsx")], "give a .csv"),
                        (["params", "--out", str(tmp_path / "p.xlsx")], "give a .csv"),
                        (["simulate", "--out", str(tmp_path / "z.csv.zst")], "give a .csv"),
                        (["simulate", "--model", "pk", "--out", str(tmp_path / "t.csv"),
                          "--plot", str(tmp_path / "t.csv.gz")], "give a figure file"),
                        # pgf needs LaTeX (review: failed after both tables were written)
                        (["simulate", "--model", "pk", "--out", str(tmp_path / "t.csv"),
                          "--plot", str(tmp_path / "t.pgf")], "give a figure file")):
        assert main(argv) == 2
        assert match in capsys.readouterr().err
    assert not any((tmp_path / name).exists()
                   for name in ("x.xlsx", "p.xlsx", "z.csv.zst", "t.csv", "t_metrics.csv"))


def test_nca_with_a_dosing_interval_gives_steady_state_clearance_and_volume():
    """With `tau`, cl_f and vz_f were dose / AUC0-inf of the whole multiple-dose curve
    (4 doses: CL/F 0.50 and Vz/F 2.51 for 2 and 10, sixth review); they are NaN now,
    and cl_f_ss / vz_f_ss are dose / AUC_tau and dose / (lambda_z AUC_tau). Closed form:
    one compartment, first-order absorption (ka 1, k 0.2 /h, V/F 10), 100 every 24 h."""
    t = np.arange(0.0, 168.01, 0.05)

    def one(s):
        return np.where(s > 0, 100 / (10 * 0.8) * (np.exp(-0.2 * s) - np.exp(-s)), 0.0)

    curve = pd.DataFrame({"time_h": t, "value": sum(one(t - d) for d in (0, 24, 48, 72))})
    table = ip.nca(curve, dose=100.0, tau=24.0, start=72.0, route="extravascular")
    row = table.iloc[0]
    assert np.isnan(row["cl_f"]) and np.isnan(row["vz_f"])
    assert row["cl_f_ss"] == pytest.approx(2.0, rel=1e-3)  # trapezoid on a 0.05-h grid
    # lambda_z by PKNCA's adjusted-R^2 rule takes points from 2 h on, where the
    # absorption phase still shows: 0.1997 for 0.2 (the same in a single-dose curve)
    assert row["vz_f_ss"] == pytest.approx(10.0, rel=3e-3)
    # steady-state samples only: the interval statistics at `start` are the same, and a
    # warning says the first interval (accumulation ratio) is not the first dose's
    late = curve[curve["time_h"] >= 48.0]
    with pytest.warns(UserWarning, match="the first interval .* starts there too"):
        steady = ip.nca(late, dose=100.0, tau=24.0, start=72.0,
                        route="extravascular").iloc[0]
    assert steady["cl_f_ss"] == pytest.approx(row["cl_f_ss"], rel=1e-12)
    single = ip.nca(pd.DataFrame({"time_h": t, "value": one(t)}), dose=100.0,
                    route="extravascular").iloc[0]
    assert single["cl_f"] == pytest.approx(2.0, rel=1e-3)
    assert single["vz_f"] == pytest.approx(10.0, rel=3e-3)


def test_nca_warns_when_a_curve_starts_after_time_0():
    """AUC0-last of an IV bolus sampled from 1 h (C = 10 exp(-0.2 t), dose 100) was
    40.9 and CL 2.44 for 50 and 2, in silence (sixth review): the AUCs start at the first
    sample. Now a warning says so and how to add the first stretch."""
    t = np.array([1.0, 2.0, 4.0, 8.0, 12.0, 24.0])
    curve = pd.DataFrame({"time_h": t, "value": 10 * np.exp(-0.2 * t)})
    with pytest.warns(UserWarning, match=r"1 curve\(s\) start after time 0.*add a row at time 0"):
        late = ip.nca(curve, dose=100.0).iloc[0]
    assert late["auc_inf"] == pytest.approx(50 * np.exp(-0.2), rel=1e-3)
    with_c0 = ip.nca(pd.concat([pd.DataFrame({"time_h": [0.0], "value": [10.0]}), curve]),
                     dose=100.0).iloc[0]
    assert with_c0["cl"] == pytest.approx(2.0, rel=1e-3)


def test_nonmem_sample_between_doses_of_one_time_is_refused():
    """A sample after an explicit dose record and at the time of an ADDL dose was
    flagged pre-dose, so the explicit 50 nmol before it was dropped (0.0022 nM for
    about 2.5; sixth review). Such a sample cannot be placed between the doses."""
    frame = pd.DataFrame({"ID": [1] * 4, "TIME": [0, 12, 24, 24.0], "AMT": [10, 0, 50, 0],
                          "EVID": [1, 0, 1, 0], "CMT": [1, 2, 2, 2], "II": [24, 0, 0, 0],
                          "ADDL": [1, 0, 0, 0], "DV": [".", 1, ".", 1]})
    with pytest.raises(ip.DataError, match="^ID 1: the observation at TIME 24 follows a dose"):
        ip.Dataset.from_nonmem(frame, amount_unit="nmol", model=ip.Model.pk_only())
    # without the ADDL dose at 24 h the sample is simply after the explicit dose
    data = ip.Dataset.from_nonmem(frame.assign(ADDL=0, II=0), amount_unit="nmol",
                                  model=ip.Model.pk_only())
    assert data.observations["predose"].tolist() == [False, False]


def test_nonmem_predose_flag_uses_an_absolute_time_tolerance():
    """np.isclose on TIME / II flagged samples 6 minutes either side of the 500th
    ADDL dose as pre-dose (relative tolerance; sixth review)."""
    frame = pd.DataFrame({"ID": [1] * 4, "TIME": [0, 11999.9, 12000.0, 12000.1],
                          "AMT": [10, 0, 0, 0], "EVID": [1, 0, 0, 0], "CMT": [1, 2, 2, 2],
                          "II": [24, 0, 0, 0], "ADDL": [600, 0, 0, 0], "DV": [".", 1, 1, 1]})
    data = ip.Dataset.from_nonmem(frame, amount_unit="nmol", model=ip.Model.pk_only())
    assert data.observations["predose"].tolist() == [False, True, False]


def test_a_dose_column_refuses_a_regimen_of_unequal_doses():
    """from_frame(dose=col) set every dose of a loading regimen (1 then 2 nmol) to the
    column's amount, losing the 1:2 ratio in silence (sixth review)."""
    frame = pd.DataFrame({"id": [1, 1, 2, 2], "time_h": [12.0, 36.0, 12.0, 36.0],
                          "value": [0.1, 0.2, 0.3, 0.4], "amount": [10.0, 10.0, 30.0, 30.0],
                          "variable": "il21_plasma"})
    loading = ip.Regimen((ip.Dose(1.0, unit="nmol"), ip.Dose(2.0, unit="nmol", time=24.0)))
    with pytest.raises(ip.DataError, match=r"doses differ \(1 nmol, 2 nmol\)"):
        ip.Dataset.from_frame(frame, subject="id", dose="amount", regimen=loading,
                              model=ip.Model.pk_only())
    # the same dose, once without a drug name and once naming the model's (only) drug
    named = ip.Regimen((ip.Dose(1.0, unit="nmol"), ip.Dose(1.0, unit="nmol", time=24.0,
                                                           drug="il21")))
    assert len(ip.Dataset.from_frame(frame, subject="id", dose="amount", regimen=named,
                                     model=ip.Model.pk_only()).regimens[1].doses) == 2
    equal = ip.Regimen.repeat(ip.Dose(1.0, unit="nmol"), every=24, count=2)
    data = ip.Dataset.from_frame(frame, subject="id", dose="amount", regimen=equal,
                                 model=ip.Model.pk_only())
    assert [d.amount for d in data.regimens[2].doses] == [30.0, 30.0]


def test_virtual_population_refuses_conflicting_specifications(human):
    """(a, b): 0.8 and (b, a): -0.5 gave a correlation of -0.5 (the last), and a body
    weight in both `variability` and `body_weight` dropped the variability draw, in
    silence (sixth review)."""
    with pytest.raises(ip.ParameterError, match=r"pair \('kd', 'kon'\) twice, as 0.8 and -0.5"):
        ip.virtual_population(human, 10, {"kon": 0.3, "kd": 0.3},
                              correlations={("kon", "kd"): 0.8, ("kd", "kon"): -0.5}, seed=1)
    with pytest.raises(ip.ParameterError, match="twice, as 0 and 0.8"):  # 0 is a value too
        ip.virtual_population(human, 10, {"kon": 0.3, "kd": 0.3},
                              correlations={("kon", "kd"): 0.0, ("kd", "kon"): 0.8}, seed=1)
    same = ip.virtual_population(human, 2000, {"kon": 0.3, "kd": 0.3},
                                 correlations={("kon", "kd"): 0.6, ("kd", "kon"): 0.6},
                                 seed=1)
    rho = np.corrcoef(np.log(same["kon"]), np.log(same["kd"]))[0, 1]
    assert rho == pytest.approx(0.6, abs=0.05)
    with pytest.raises(ip.ParameterError, match="`variability` names it too"):
        ip.virtual_population(human, 10, {"body_weight": 0.2},
                              body_weight={"median": 80.0, "cv": 0.25}, seed=1)


def test_a_small_infusion_beside_a_large_one_in_a_sweep_is_kept(human):
    """The round-off clearing of infusion rates used the largest rate of the whole batch,
    so a member infused 1e13 times less than another got rate 0: AUC 0 (sixth review).
    Closed form: AUC / dose = 1 / (mw CL) for every member of a one-compartment model."""
    pk = ip.Model.pk_only(compartments=1)
    params = human.with_values(cl=2.0, v_central=10.0)
    doses = [1e-6, 1e-3, 1.0, 1e3, 1e7]
    df = ip.sweep(pk, ip.Regimen.single(ip.Dose(1.0, unit="ug", duration=1.0)), params,
                  grid={"dose": doses}, t_end=200.0, variables=["il21_plasma"],
                  metrics=["auc"], rtol=1e-10, atol=1e-22)
    per_dose = df["value"].to_numpy() / np.array(doses)
    expected = 1.0 / (params.value("mw") * 2.0)
    assert per_dose == pytest.approx(np.full(len(doses), expected), rel=1e-6)


def test_sensitivity_inputs_and_grid_metrics(human):
    """Sixth review: step=1 gave -0.0 and step=0 NaN; seed=-1 raised from numpy's
    bit generator; parameters="cl" was read letter by letter; a parameter at its upper
    bound (f_sc = 1) failed as a swept value out of bounds; tmax coefficients of a lagged
    SC dose were 0 on the hourly grid, with no word."""
    pk = ip.Model.pk_only(compartments=1)
    sc = ip.Regimen.single(ip.Dose(100.0, unit="ug/kg", route="sc"))
    common = dict(outputs="il21_plasma", t_end=48.0, executor="serial")
    for bad, match in (({"step": 1.0}, "`step` must be"), ({"step": 0.0}, "`step` must be"),
                       ({"seed": -1}, "`seed` must be an integer >= 0")):
        with pytest.raises(ValueError, match=match):
            ip.sensitivity(pk, sc, human, parameters="cl", **common, **bad)
    one = ip.sensitivity(pk, sc, human, parameters="cl", **common)
    assert one["parameter"].tolist() == ["cl"]
    assert one["value"].iloc[0] == pytest.approx(-1.0, abs=1e-4)  # AUC = F dose / CL
    # f_sc at its upper bound 1: a one-sided step; AUC is proportional to F
    at_bound = ip.sensitivity(pk, sc, human.with_values(f_sc=1.0), parameters="f_sc",
                              **common)
    assert at_bound["value"].iloc[0] == pytest.approx(1.0, abs=1e-4)
    lagged = human.with_values(tlag_sc=1.0)
    with pytest.warns(UserWarning, match="read off the hourly output grid"):
        ip.sensitivity(pk, sc, lagged, parameters=["ka"], metrics="tmax", **common)
    # a fine grid: tmax of the Bateman curve, shifted by the lag, moves with ka
    ka, k = lagged.value("ka"), lagged.value("cl") / lagged.value("v_central")
    t_peak = np.log(ka / k) / (ka - k)  # after the lag
    assert t_peak + 1.0 < 8.0
    fine = ip.sensitivity(pk, sc, lagged, parameters=["ka"], metrics="tmax",
                          outputs="il21_plasma", t_end=8.0, executor="serial",
                          t_eval=np.linspace(0.0, 8.0, 80_001), rtol=1e-10, atol=1e-14)
    dt_dlnka = ka * (1 / (ka * (ka - k)) - np.log(ka / k) / (ka - k) ** 2)
    # a 1e-4-h grid: tmax moves by about 0.01 h either way, read to 1e-4 h
    assert fine["value"].iloc[0] == pytest.approx(dt_dlnka / (t_peak + 1.0), abs=2e-3)


def test_regimen_days_twice_and_an_empty_scaled_unit_are_refused():
    """Regimen.days(d, [1, 1, 2]) gave two doses at t = 0, and scaled_to(3, "") kept
    each dose's unit, in silence (sixth review)."""
    dose = ip.Dose(30.0)
    with pytest.raises(ip.RegimenError, match=r"day\(s\) \[1\] twice"):
        ip.Regimen.days(dose, [1, 1, 2])
    with pytest.raises(ValueError, match="Regimen.scaled_to unit must be one of"):
        ip.Regimen.days(dose, [1, 2]).scaled_to(3.0, "")
    assert [d.unit for d in ip.Regimen.days(dose, [1, 2]).scaled_to(3.0, "nmol").doses] == \
        ["nmol", "nmol"]
