"""Fitting-layer fixes of the third review: observations predicted 0 under proportional
error, the data checks of fit_population, covariate effects with non-numbers, and
per-endpoint error models with fit(by_subject=True)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import il21pk as ip
from il21pk.analysis.fitting import _Problem, observation_terms
from il21pk.analysis.population import (
    Categorical,
    Exponential,
    FoceiSettings,
    Linear,
    OneCompartmentOral,
    Power,
    SaemSettings,
)
from il21pk.analysis.population.likelihood import ObservationModel
from il21pk.errors import DataError, InputTypeError, ParameterError

PK = ip.Model.pk_only(compartments=1)
HUMAN = ip.parameter_sets.load("human")
START = HUMAN.with_values({"cl": 2.0, "v_central": 5.0}, source="start")
FREE = ["cl", "v_central"]
IV = ip.Regimen.single(ip.Dose(10.0, unit="nmol"))
TIMES = np.array([0.25, 0.5, 1.0, 1.5, 2.0, 3.0])
NOISE = np.array([0.05, -0.08, 0.03, 0.1, -0.04, 0.02])  # relative errors of the samples


def _iv_data(baseline: float | None, *, lloq: float | None = None) -> ip.Dataset:
    """IV bolus at 0 h (cl 5, V 2.8), six samples, and a sample at 0 h taken before the
    dose (predicted exactly 0) unless `baseline` is None; `lloq` marks it BLQ."""
    f = ip.simulate(PK, IV, HUMAN, t_end=3.0, t_eval=TIMES, rtol=1e-10,
                    atol=1e-14).wide()["il21_plasma [nM]"].to_numpy()
    frame = pd.DataFrame({"time_h": TIMES, "value": f * (1 + NOISE)})
    if baseline is not None:
        frame = pd.concat([pd.DataFrame({"time_h": [0.0], "value": [baseline]}), frame],
                          ignore_index=True)
    frame["lloq"] = np.nan
    if lloq is not None:
        frame.loc[0, "lloq"] = lloq
    return ip.Dataset.from_frame(frame, subject=None, variable="il21_plasma", regimen=IV,
                                 model=PK, lloq="lloq")


# -- 1. an observation predicted 0 -----------------------------------------------------------
@pytest.mark.parametrize("baseline", [1e-3, 0.2])
def test_fit_refuses_an_observation_predicted_zero_under_proportional_error(baseline):
    """A pre-dose sample (prediction exactly 0) under proportional error had an SD
    floored at 1e-100: y = 0 moved -2 log L by -459 (-495.4 instead of -36.7),
    y = 0.001 returned the start (cl 2, V 5) with -2LL 1e194 and success=True
    (review 2026-12, t4)."""
    with pytest.raises(DataError, match=(
            rf"1 observation\(s\) are predicted 0 .*subject 0, time 0 h, il21_plasma = "
            rf"{baseline:g} \(predicted 0; proportional error: residual SD 0; row 0\)"
            r".*MDV=1.*combined error model")):
        ip.fit(PK, _iv_data(baseline), START, free=FREE)


def test_a_measured_zero_is_refused_under_proportional_error_blq_is_not():
    """A quantified 0 under proportional error scores 2 log f + 1/b^2, which falls without
    bound as the prediction f there goes to 0: the last of six samples (3 h) set to 0
    was fitted with success, the proportional SD 0.46 instead of 0.058 and cl 5.57
    instead of 4.95. Pre-dose or late, it is refused; marked BLQ it is not (M3), under
    log-normal error too."""
    late = _iv_data(None).observations.copy()
    late.loc[late.index[-1], "value"] = 0.0
    data = ip.Dataset.from_frame(late.drop(columns=["predose"]), regimen=IV, model=PK,
                                 lloq="lloq")
    for dataset in (data, _iv_data(0.0)):
        with pytest.raises(DataError, match=r"proportional error for 'il21_plasma' cannot "
                                            r"take a measured 0 .*1 row\(s\), the first row "
                                            r"\d \(subject 0, time [03]\).*BLQ.*MDV=1.*"
                                            r"combined error model"):
            ip.fit(PK, dataset, START, free=FREE)
    blq = ip.fit(PK, _iv_data(0.0, lloq=0.01), START, free=FREE, error_model="lognormal")
    without = ip.fit(PK, _iv_data(None), START, free=FREE, error_model="lognormal")
    assert blq.objective == pytest.approx(without.objective, rel=1e-9)


def test_an_observed_zero_predicted_zero_is_refused_under_combined_error_too():
    """The suggested way out: a combined error model fits a measured baseline, but an
    observed 0 there drives the additive SD to its lower bound (-2LL -56.1 instead of
    -36.7); marked BLQ, the sample adds exactly 0 to -2 log L."""
    with pytest.raises(DataError, match=r"il21_plasma = 0 \(predicted 0; combined error: "
                                        r"-2 log L unbounded as its additive SD goes to 0"):
        ip.fit(PK, _iv_data(0.0), START, free=FREE, error_model="combined")
    measured = ip.fit(PK, _iv_data(1e-3), START, free=FREE, error_model="combined")
    # the additive SD is set by the one residual of 1e-3 (elsewhere b f >> a)
    assert measured.success
    assert measured.sigma()["sigma_add_il21_plasma"] == pytest.approx(1e-3, rel=0.2)
    without = ip.fit(PK, _iv_data(None), START, free=FREE)
    blq = ip.fit(PK, _iv_data(0.0, lloq=0.01), START, free=FREE)
    assert blq.residuals["blq"].iloc[0]
    assert blq.objective == pytest.approx(without.objective, rel=1e-9)
    np.testing.assert_allclose(blq.table["estimate"], without.table["estimate"], rtol=1e-6)


def test_no_density_is_plus_infinity_for_the_search_never_a_reward():
    """During a search a parameter vector that predicts 0 for a quantified observation
    got -2 log L finite: -459 per such observation for y = 0 (a reward) and 1e194
    otherwise, in fit and in population fits alike."""
    obs = pd.DataFrame({"subject": 0, "time_h": [0.0, 0.0, 0.0, 1.0],
                        "variable": "il21_plasma", "value": [0.0, 1e-3, 0.01, 0.5],
                        "lloq": [np.nan, np.nan, 0.01, np.nan],
                        "blq": [False, False, True, False], "predose": False})
    pred = np.array([[0.0, 0.0, 0.0, 0.4]])
    for kind, sigma in (("proportional", "sigma_prop_il21_plasma"),
                        ("lognormal", "sigma_add_il21_plasma")):
        rows = obs.iloc[1:] if kind == "lognormal" else obs  # log-normal needs y > 0
        p = pred[:, 1:] if kind == "lognormal" else pred
        ours = observation_terms(rows, {"il21_plasma": kind}, {sigma: np.array([0.1])}, p)[0]
        assert np.all(np.isposinf(ours[0, :-2])), (kind, ours)
        assert ours[0, -2] == 0.0 and np.isfinite(ours[0, -1])  # BLQ: P(y < LLOQ) = 1
        population = ObservationModel(rows, {"il21_plasma": kind}, np.zeros(len(rows), int), 1)
        np.testing.assert_allclose(population.contributions(p, {sigma: 0.1}), ours,
                                   rtol=1e-12)
    problem = _Problem(PK, _iv_data(0.0), START, tuple(FREE), ("sigma_prop_il21_plasma",), {},
                       {"il21_plasma": "proportional"}, np.log([0.02, 0.05, 1e-4]),
                       np.log([200.0, 500.0, 100.0]),
                       {"rtol": 1e-8, "atol": 1e-12, "method": "numba-bdf"})
    x = np.log([[2.0, 5.0, 0.1]])
    assert problem.objective(x)[0] == np.inf
    assert not np.all(np.isfinite(problem.residuals(x)))


POP_START = HUMAN.with_values(mw=1.0, f_sc=1.0, tlag_sc=0.0, ka=1.0, v_central=25.0, cl=2.0)
SC = ip.Regimen.single(ip.Dose(320.0, unit="nmol", route="sc"))


def _population_data(baseline: float | None, *, weight: float = 70.0,
                     variable: str = "il21_plasma", model: ip.Model = PK) -> ip.Dataset:
    """Four subjects after an SC dose (ka 1.5, V 32, CL 2.8 with variability), each with
    a sample at 0 h unless `baseline` is None; subject 4 weighs `weight`."""
    rng = np.random.default_rng(5)
    times = np.array([0.5, 1.0, 2.0, 4.0, 8.0, 12.0])
    parts = []
    for subject in range(1, 5):
        ka, cl, v = 1.5 * np.exp(0.3 * rng.standard_normal()), 2.8, 32.0
        k = cl / v
        f = 320.0 * ka / (v * (ka - k)) * (np.exp(-k * times) - np.exp(-ka * times))
        y = f * (1 + 0.1 * rng.standard_normal(times.size))
        t = times if baseline is None else np.r_[0.0, times]
        parts.append(pd.DataFrame({"id": subject, "t": t,
                                   "conc": y if baseline is None else np.r_[baseline, y],
                                   "wt": weight if subject == 4 else 70.0}))
    frame = pd.concat(parts, ignore_index=True)
    frame["variable"] = "il21_plasma"
    frame.loc[frame.index[:2], "variable"] = variable
    return ip.Dataset.from_frame(frame, time="t", value="conc", subject="id", regimen=SC,
                                 model=model, covariates={"wt": "body_weight"})


@pytest.mark.parametrize("method,settings", [
    ("saem", SaemSettings(k1=5, k2=5, is_draws=50)),
    ("focei", FoceiSettings(max_iter=5, covariance=False, is_draws=50))])
def test_fit_population_refuses_an_observation_predicted_zero(method, settings):
    """A time-0 sample of each subject taken with the SC dose: FOCEi returned the
    initial values with m2ll 8e196 and success=True (y = 0.01) or m2ll -3443.6
    instead of 225.8 (y = 0); SAEM a vague FitError (review 2026-12, t12)."""
    for baseline in (0.001, 0.01):
        with pytest.raises(DataError, match=(
                rf"4 observation\(s\) are predicted 0 .*subject 1, time 0 h, il21_plasma = "
                rf"{baseline:g} \(predicted 0; proportional error: residual SD 0; row 0\); "
                r"subject 2, .*row 7\).*MDV=1")):
            ip.fit_population(OneCompartmentOral(), _population_data(baseline), POP_START,
                              free=["ka", "cl"], iiv={"cl": 0.3}, method=method,
                              settings=settings, seed=1)
    with pytest.raises(DataError, match=r"cannot take a measured 0 .*4 row\(s\), the first "
                                        r"row 0 \(subject 1, time 0\)"):
        ip.fit_population(OneCompartmentOral(), _population_data(0.0), POP_START,
                          free=["ka", "cl"], iiv={"cl": 0.3}, method=method,
                          settings=settings, seed=1)
    with pytest.raises(DataError, match=r"combined error: -2 log L unbounded"):
        ip.fit_population(OneCompartmentOral(), _population_data(0.0), POP_START,
                          free=["ka", "cl"], iiv={"cl": 0.3}, method=method,
                          settings=settings, seed=1, error_model="combined")


# -- 2. fit_population runs the data checks of fit -------------------------------------------
def test_fit_population_runs_the_data_checks_of_fit():
    """fit_population raised a bare KeyError 'nk_blood' for a variable the model does
    not report, let a body weight outside its hard bounds through, and a FitError (a
    RuntimeError) for a log-normal observation <= 0 (review 2026-12, t9)."""
    focei = dict(free=["ka", "cl"], iiv={"cl": 0.3}, method="focei", seed=1,
                 settings=FoceiSettings(max_iter=5, covariance=False, is_draws=50))
    foreign = _population_data(None, variable="nk_blood", model=ip.Model())
    with pytest.raises(DataError, match=r"the data observe \['nk_blood'\], which .* does not "
                                        r"report"):
        ip.fit_population(PK, foreign, POP_START, **focei)
    heavy = _population_data(None, weight=1000.0)
    with pytest.raises(DataError, match=r"covariate 'body_weight' must be given and within its "
                                        r"hard bounds \[0.01, 500\] kg; subject\(s\) \[4\] "
                                        r"have \[1000.0\]"):
        ip.fit_population(OneCompartmentOral(), heavy, POP_START, **focei)
    with pytest.raises(DataError, match=r"log-normal error for 'il21_plasma' needs observations "
                                        r"> 0 .*row 0 has 0"):
        ip.fit_population(OneCompartmentOral(), _population_data(0.0), POP_START, **focei,
                          error_model="lognormal")


def test_a_covariate_at_zero_is_taken_where_its_hard_bounds_allow_zero():
    """A lag of 0 h for some subjects (tlag_sc's hard bounds are [0, 48] h) was
    refused by fit and fit_population with 'within its hard bounds [0, 48] h (and
    > 0)' (probe of population fitting, 2026-12-01). Now it is taken, and a
    subject's fit with the covariate 0 is the fit with the parameter 0."""
    frame = pd.DataFrame({"id": 1, "t": [0.5, 1.0, 2.0, 4.0, 8.0],
                          "conc": [3.1, 4.9, 5.6, 4.4, 2.5], "TLAG": 0.0})
    with_covariate = ip.Dataset.from_frame(frame, time="t", value="conc", subject="id",
                                           variable="il21_plasma", regimen=SC, model=PK,
                                           covariates={"TLAG": "tlag_sc"})
    without = ip.Dataset.from_frame(frame.drop(columns="TLAG"), time="t", value="conc",
                                    subject="id", variable="il21_plasma", regimen=SC, model=PK)
    start = POP_START.with_values(tlag_sc=0.25)
    a = ip.fit(PK, with_covariate, start, free=["ka", "cl"])
    b = ip.fit(PK, without, start.with_values(tlag_sc=0.0), free=["ka", "cl"])
    assert a.success and b.success
    np.testing.assert_allclose(a.parameters.value("cl"), b.parameters.value("cl"), rtol=1e-9)
    np.testing.assert_allclose(a.parameters.value("ka"), b.parameters.value("ka"), rtol=1e-9)
    assert a.parameters.value("cl") != pytest.approx(
        ip.fit(PK, without, start, free=["ka", "cl"]).parameters.value("cl"), rel=1e-3)


@pytest.mark.parametrize("make,match", [
    (lambda: Power("WT", reference="70"), r"Power.reference must be a number; got '70' \(str\)"),
    (lambda: Power("WT", reference=70, exponent="0.75"),
     r"Power.exponent must be a number; got '0.75' \(str\)"),
    (lambda: Power("WT", reference=70, estimate="yes"),
     r"Power.estimate must be True or False; got 'yes'"),
    (lambda: Exponential("age", reference="50"), r"Exponential.reference must be a number"),
    (lambda: Linear("age", coefficient=None), r"Linear.coefficient must be a number; got None"),
    (lambda: Categorical(["sex"]), r"Categorical.covariate must be a covariate column name"),
])
def test_covariate_effects_refuse_non_numbers_naming_the_field(make, match):
    """Power('WT', reference='70') failed with numpy's "ufunc 'isfinite' not
    supported"; a string exponent or coefficient was taken (review 2026-12, t9)."""
    with pytest.raises(InputTypeError, match=match):
        make()


# -- 3. fit(by_subject=True) with an error model per endpoint --------------------------------
def _two_endpoint_data(predose_b: bool = False) -> ip.Dataset:
    """Subject A: plasma IL-21 only; subject B: plasma IL-21 and the SC depot."""
    times = np.array([1.0, 4.0, 8.0])
    res = ip.simulate(PK, SC, HUMAN, t_end=8.0, t_eval=times, rtol=1e-10, atol=1e-14).wide()
    plasma = res["il21_plasma [nM]"].to_numpy()
    depot = res["il21_depot [nmol]"].to_numpy()
    frame = pd.DataFrame({
        "subject": ["A"] * 3 + ["B"] * 6, "time_h": np.r_[times, times, times],
        "variable": ["il21_plasma"] * 6 + ["il21_depot"] * 3,
        "value": np.r_[plasma * [1.1, 0.9, 1.05], plasma * [0.95, 1.1, 0.9],
                       depot * [1.02, 0.97, 1.05]]})
    if predose_b:
        frame = pd.concat([frame.iloc[:3], pd.DataFrame({
            "subject": ["B"], "time_h": [0.0], "variable": ["il21_plasma"], "value": [1e-3]}),
            frame.iloc[3:]], ignore_index=True)
    return ip.Dataset.from_frame(frame, regimen=SC, model=PK)


def test_by_subject_takes_the_error_models_of_the_variables_each_subject_observes():
    """A per-endpoint error model was refused when a subject lacks an endpoint ('names
    il21_depot, which is not observed', without the subject) and leaving the endpoint
    out failed on the other subject (review 2026-12, t19)."""
    data = _two_endpoint_data()
    kinds = {"il21_plasma": "proportional", "il21_depot": "combined"}
    fits = ip.fit(PK, data, HUMAN, free=["cl"], by_subject=True, error_model=kinds,
                  sigma={"sigma_add_il21_depot": 0.01},
                  bounds={"sigma_prop_il21_depot": (1e-4, 10.0)})
    names = fits.table.groupby("subject")["name"].apply(list).to_dict()
    assert names == {"A": ["cl", "sigma_prop_il21_plasma"],
                     "B": ["cl", "sigma_prop_il21_plasma", "sigma_prop_il21_depot",
                           "sigma_add_il21_depot"]}
    assert fits.results["B"].sigma()["sigma_add_il21_depot"] == 0.01
    with pytest.raises(ParameterError, match="error_model names 'il21_auc', which is not "
                                             "observed"):
        ip.fit(PK, data, HUMAN, free=["cl"], by_subject=True,
               error_model={**kinds, "il21_auc": "additive"})
    with pytest.raises(ParameterError, match="unknown residual error parameter "
                                             "'sigma_add_il21_plasma'"):
        ip.fit(PK, data, HUMAN, free=["cl"], by_subject=True, error_model=kinds,
               sigma={"sigma_add_il21_plasma": 0.1})
    with pytest.raises(DataError, match=r"^subject 'B': 1 observation\(s\) are predicted 0 .*"
                                        r"subject 'B', time 0 h, .*row 3\)"):
        ip.fit(PK, _two_endpoint_data(predose_b=True), HUMAN, free=["cl"], by_subject=True,
               error_model=kinds)


def test_an_estimate_on_its_bound_is_named_not_called_unidentifiable():
    # truth cl = 5 outside bounds (1, 3): the fit ends on cl = 3, where the Hessian is
    # not positive definite; the warning said only "not all identifiable"
    model = ip.Model.pk_only(compartments=1)
    params = ip.parameter_sets.load("human")
    regimen = ip.Regimen.single(ip.Dose(10.0, unit="nmol"))
    times = np.array([0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0])
    f = ip.simulate(model, regimen, params, t_end=3.0, t_eval=times, rtol=1e-10,
                    atol=1e-14).wide()["il21_plasma [nM]"].to_numpy()
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"subject": np.repeat([1, 2, 3], times.size),
                          "time_h": np.tile(times, 3),
                          "value": np.tile(f, 3) * (1 + 0.1 * rng.standard_normal(3 * times.size))})
    data = ip.Dataset.from_frame(frame, variable="il21_plasma", regimen=regimen, model=model)
    with pytest.warns(UserWarning, match=r"on a bound \(cl = 3\): the optimum lies beyond it"):
        result = ip.fit(model, data, params.with_values({"cl": 2.0}, source="start"),
                        free=["cl", "v_central"], bounds={"cl": (1.0, 3.0)})
    assert result.table.set_index("name")["estimate"]["cl"] == pytest.approx(3.0)


# -- fitting results (a probe of 2026-12-01) -------------------------------------------------
def _sc_subject() -> ip.Dataset:
    """One subject after 320 nmol SC (ka 1.5, V 32, CL 2.8), seven samples, 5 % noise."""
    times = np.array([0.5, 1.0, 2.0, 4.0, 8.0, 12.0, 24.0])
    k = 2.8 / 32.0
    f = 320.0 * 1.5 / (32.0 * (1.5 - k)) * (np.exp(-k * times) - np.exp(-1.5 * times))
    y = f * (1 + 0.05 * np.random.default_rng(0).standard_normal(times.size))
    return ip.Dataset.from_frame(pd.DataFrame({"time_h": times, "value": y}), subject=None,
                                 variable="il21_plasma", regimen=SC, model=PK)


@pytest.fixture(scope="module")
def sc_fit():
    return ip.fit(PK, _sc_subject(), POP_START, free=["ka", "v_central", "cl"])


def test_profile_limits_are_where_the_profile_rises_by_the_chi_square_quantile(sc_fit):
    """The default grid's points are 1.47x apart, and the limits were interpolated
    linearly in sqrt(delta) between them: cl (2.41, 3.09) where the profile crosses
    3.84 at (2.68, 2.79). Checked here by refitting with cl held at each limit."""
    prof = sc_fit.profile("cl")
    for limit in (prof.ci_low, prof.ci_high):
        held = ip.fit(PK, _sc_subject(), POP_START.with_values(cl=limit),
                      free=["ka", "v_central"])
        assert held.objective - sc_fit.objective == pytest.approx(prof.threshold, abs=2e-3)
    assert prof.ci_low < sc_fit.table.set_index("name").loc["cl", "estimate"] < prof.ci_high


@pytest.mark.parametrize("kwargs,match", [
    ({"n_points": 1}, "`n_points` must be an integer >= 3"),  # were "structurally
    ({"n_points": 2.5}, "`n_points` must be an integer >= 3"),  # non-identifiable"
    ({"span": 1.0}, "`span` must be a finite number > 1"),
    ({"span": 0.5}, "`span` must be a finite number > 1"),  # swapped the grid's sides
    ({"level": 1.5}, r"`level` must be a number in \(0, 1\)"),  # a NaN threshold
])
def test_profile_checks_its_options(sc_fit, kwargs, match):
    with pytest.raises(ip.errors.OptionError, match=match):
        sc_fit.profile("cl", **kwargs)


def test_identifiability_profiles_only_what_was_estimated():
    # a residual SD the user fixed is a row of the table, and was profiled as an
    # "unknown estimated parameter"
    result = ip.fit(PK, _sc_subject(), POP_START, free=["cl"],
                    sigma={"sigma_prop_il21_plasma": 0.05})
    table = result.identifiability(n_points=5)
    assert table["name"].tolist() == ["cl"]


def test_an_estimate_on_a_bound_has_no_wald_interval_and_is_named():
    # cl held below its estimate (2.74) ended on the bound 2.7 with SE 0.039 and a CI
    # past the bound, success and covariance_ok True, and no warning
    with pytest.warns(UserWarning, match=r"estimates on a bound \(cl = 2\.7\)"):
        result = ip.fit(PK, _sc_subject(), POP_START, free=["ka", "v_central", "cl"],
                        bounds={"cl": (1.0, 2.7)})
    row = result.table.set_index("name").loc["cl"]
    assert row["estimate"] == pytest.approx(2.7)
    assert np.isnan(row[["stderr", "ci_low", "ci_high"]].astype(float)).all()
    assert "on a bound (cl = 2.7)" in result.message and not result.covariance_ok
    assert np.isfinite(result.table.set_index("name").loc["ka", "stderr"])


def test_focei_survives_a_linear_covariate_term_outside_its_domain():
    # a line search put 1 + beta (age - 50) <= 0 for some subjects: NaN predictions made
    # numpy's eigvalsh fail ("Eigenvalues did not converge") inside the inner problem
    rng = np.random.default_rng(11)
    n = 30
    age = rng.uniform(20, 80, n)
    eta = rng.standard_normal((n, 3)) * np.array([0.3, 0.15, 0.2])
    times = np.array([0.5, 1.0, 2.0, 4.0, 8.0, 12.0, 24.0])
    ka, v = 1.5 * np.exp(eta[:, 0]), 32 * np.exp(eta[:, 1])
    cl = 2.8 * (1 + 0.01 * (age - 50)) * np.exp(eta[:, 2])
    k = (cl / v)[:, None]
    f = 320.0 * ka[:, None] / (v[:, None] * (ka[:, None] - k)) * (
        np.exp(-k * times) - np.exp(-ka[:, None] * times))
    y = f * (1 + 0.1 * rng.standard_normal(f.shape))
    frame = pd.DataFrame({"id": np.repeat(np.arange(1, n + 1), times.size),
                          "t": np.tile(times, n), "conc": y.ravel(),
                          "AGE": np.repeat(age, times.size)})
    data = ip.Dataset.from_frame(frame, time="t", value="conc", variable="il21_plasma",
                                 subject="id", model=PK, regimen=SC,
                                 covariates={"AGE": "age"})
    result = ip.fit_population(OneCompartmentOral(), data, POP_START,
                               free=["ka", "v_central", "cl"],
                               covariates={"cl": Linear("age", 50, 0.0)},
                               iiv={"ka": 0.3, "v_central": 0.3, "cl": 0.3}, seed=1,
                               method="focei", settings=FoceiSettings(is_draws=300))
    beta = result.table.set_index("name").loc["beta_cl_age", "estimate"]
    assert beta == pytest.approx(0.01, abs=0.003)  # the truth


@pytest.fixture(scope="module")
def pop_fit():
    return ip.fit_population(OneCompartmentOral(), _population_data(None), POP_START,
                             free=["ka", "v_central", "cl"], iiv={"ka": 0.3}, seed=1,
                             method="focei", settings=FoceiSettings(is_draws=50))


@pytest.mark.parametrize("call,match", [
    (lambda r: r.simulate(-1), ">= 1; got -1"),  # numpy's "negative dimensions"
    (lambda r: r.simulate(2.5), ">= 1; got 2.5"),
    (lambda r: r.npde(n=1), ">= 2; got 1"),  # NPDE 0.0 for every observation
    (lambda r: r.npde(n=0), ">= 2; got 0"),  # ZeroDivisionError
])
def test_replicate_counts_are_checked(pop_fit, call, match):
    with pytest.raises(ip.errors.OptionError, match=rf"`n` \(simulated replicates\).*{match}"):
        call(pop_fit)


def test_the_vpc_plot_and_its_table_show_the_same_variable():
    # vpc() took the error model's first variable, plot_vpc() the first data row's: the
    # figure drew il21_auc bands under il21_plasma observations and label
    rng = np.random.default_rng(3)
    times = np.array([1.0, 2.0, 4.0, 8.0, 12.0])
    rows = []
    for subject in range(1, 5):
        params = POP_START.with_values(ka=1.5 * np.exp(0.3 * rng.standard_normal()), cl=2.8,
                                       v_central=32.0)
        wide = ip.simulate(PK, SC, params, t_end=12.0, t_eval=times).wide()
        for variable, column in (("il21_plasma", "il21_plasma [nM]"),
                                 ("il21_auc", "il21_auc [nM*h]")):
            rows += [{"id": subject, "t": t, "variable": variable,
                      "conc": v * (1 + 0.1 * rng.standard_normal())}
                     for t, v in zip(times, wide[column], strict=True)]
    data = ip.Dataset.from_frame(pd.DataFrame(rows), time="t", value="conc", subject="id",
                                 regimen=SC, model=PK)
    result = ip.fit_population(PK, data, POP_START, free=["ka", "v_central", "cl"],
                               iiv={"ka": 0.3}, seed=1, method="focei",
                               error_model={"il21_auc": "proportional",
                                            "il21_plasma": "proportional"},
                               settings=FoceiSettings(is_draws=50, max_iter=20))
    assert result.predictions["variable"].iloc[0] == "il21_plasma"
    default = result.vpc(n=20, bins=2, seed=1)
    pd.testing.assert_frame_equal(default, result.vpc("il21_plasma", n=20, bins=2, seed=1))
    ax = result.plot_vpc(n=20, bins=2, seed=1)
    assert ax.get_ylabel().startswith("il21_plasma")
    drawn = [line.get_ydata() for line in ax.get_lines() if line.get_label() == "obs. 50th pct"]
    np.testing.assert_allclose(drawn[0], default[default["percentile"] == 50]["observed"])


def test_a_tie_of_categorical_levels_does_not_depend_on_the_rows_order():
    # the reference level of equally frequent levels was the first subject's
    effect = Categorical("sex")
    assert effect.reference_level(np.array([1, 0, 1, 0])) == 0
    assert effect.reference_level(np.array([0, 1, 0, 1])) == 0
    assert effect.reference_level(np.array([1, 1, 0])) == 1  # the most frequent first


def test_a_fit_with_an_estimate_on_a_bound_still_draws_its_predictive_check():
    # simulate_observations refused every covariance with a NaN ("singular Fisher
    # information"): the CLI's fit then failed after writing its tables
    import matplotlib

    matplotlib.use("Agg")
    with pytest.warns(UserWarning, match="on a bound"):
        result = ip.fit(PK, _sc_subject(), POP_START, free=["ka", "v_central", "cl"],
                        bounds={"cl": (1.0, 2.7)})
    sims = result.simulate_observations(50, seed=1)
    assert np.isfinite(sims["value"]).all()
    ip.plotting.posterior_predictive_check(result, "il21_plasma", n=20, seed=1)
    assert "covariance         = partial" in result.report()


def test_a_tie_of_levels_of_mixed_types_is_still_decided():
    assert Categorical("sex").reference_level(np.array(["M", 1, "M", 1], dtype=object)) == 1
