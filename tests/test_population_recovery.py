"""fit_population: recovery of simulated truth (covariates, BLQ, error models), coverage,
the prediction functions, and input validation.

Data are simulated here with numpy from the closed-form one-compartment oral
model; recovery is judged in standard errors (|estimate - truth| < 3 SE) and
with the 95 % intervals, never against numbers taken from a previous run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import il21pk as ip
from il21pk.analysis.fitting import observation_terms
from il21pk.analysis.population import (
    Categorical,
    OneCompartmentOral,
    Power,
    SaemSettings,
)

TIMES = np.array([0.25, 0.5, 1.0, 2.0, 3.5, 5.0, 7.0, 9.0, 12.0, 24.0])
DOSE = 320.0
TRUE = {"ka": 1.5, "v_central": 32.0, "cl": 2.8}
OMEGA = {"ka": 0.4, "v_central": 0.2, "cl": 0.3}
NAMES = ("ka", "v_central", "cl")
PK1 = ip.Model.pk_only(compartments=1)
START = ip.parameter_sets.load("human").with_values(
    mw=1.0, f_sc=1.0, tlag_sc=0.0, ka=1.0, v_central=25.0, cl=2.0)
IIV0 = {"ka": 0.3, "v_central": 0.3, "cl": 0.3}
FAST = SaemSettings(k1=200, k2=100, is_draws=1000)


def conc(ka, v, cl, times=TIMES):
    ka, v, cl = (np.asarray(x)[..., None] for x in (ka, v, cl))
    k = cl / v
    return DOSE * ka / (v * (ka - k)) * (np.exp(-k * times) - np.exp(-ka * times))


def simulate(rng, n=12, *, sigma=0.12, additive=0.0, weight_exponent=None, sex_effect=None,
             lloq_quantile=None):
    """A dataset, the individual parameters and the covariates."""
    eta = rng.standard_normal((n, 3)) * np.array([OMEGA[k] for k in NAMES])
    wt = rng.uniform(45, 110, n)
    sex = rng.integers(0, 2, n)
    typical = {k: np.full(n, TRUE[k]) for k in NAMES}
    if weight_exponent is not None:
        typical["cl"] = typical["cl"] * (wt / 70.0) ** weight_exponent
    if sex_effect is not None:
        typical["v_central"] = typical["v_central"] * np.exp(sex_effect * sex)
    ka, v, cl = (typical[k] * np.exp(eta[:, j]) for j, k in enumerate(NAMES))
    f = conc(ka, v, cl)
    y = f + np.sqrt(additive**2 + (sigma * f) ** 2) * rng.standard_normal(f.shape)
    frame = pd.DataFrame({"id": np.repeat(np.arange(1, n + 1), TIMES.size),
                          "t": np.tile(TIMES, n), "conc": y.ravel(),
                          "WT": np.repeat(wt, TIMES.size), "SEX": np.repeat(sex, TIMES.size)})
    lloq = None
    if lloq_quantile is not None:
        frame["lloq"] = float(np.quantile(f, lloq_quantile))
        lloq = "lloq"
    data = ip.Dataset.from_frame(
        frame, time="t", value="conc", variable="il21_plasma", subject="id",
        regimen=ip.Regimen.single(ip.Dose(DOSE, unit="nmol", route="sc")), model=PK1,
        lloq=lloq, covariates={"WT": "body_weight", "SEX": "sex"})
    return data


def _within(result, truth: dict, k: float = 3.0):
    t = result.table.set_index("name")
    for name, value in truth.items():
        est, se = t.loc[name, "estimate"], t.loc[name, "stderr"]
        assert np.isfinite(se) and se > 0, (name, t)
        assert abs(est - value) < k * se, (name, est, value, se)


# -- prediction functions -----------------------------------------------------------------
def test_closed_form_matches_the_compiled_engine():
    rng = np.random.default_rng(1)
    data = simulate(rng, n=4)
    names = ["ka", "v_central", "cl"]
    from il21pk.analysis.population.predictors import ModelPredictor

    engine = ModelPredictor(PK1, data, START, names, {"rtol": 1e-10, "atol": 1e-14})
    closed = OneCompartmentOral().bind(data, START)
    values = {n: np.exp(rng.normal(np.log(TRUE[n]), 0.3, (3, 4))) for n in names}
    np.testing.assert_allclose(engine(values), closed(values), rtol=1e-6)


def test_fast_likelihood_equals_the_single_fit_likelihood():
    rng = np.random.default_rng(2)
    data = simulate(rng, n=3, lloq_quantile=0.3)
    from il21pk.analysis.population.likelihood import ObservationModel

    obs = data.observations
    subject = pd.factorize(obs["subject"])[0]
    for kind, sigma in (("combined", {"sigma_add_il21_plasma": 0.05,
                                      "sigma_prop_il21_plasma": 0.1}),
                        ("lognormal", {"sigma_add_il21_plasma": 0.2})):
        model = ObservationModel(obs, {"il21_plasma": kind}, subject, 3)
        pred = np.abs(obs["value"].to_numpy()[None] * rng.uniform(0.5, 1.5, (4, len(obs))))
        ours = model.contributions(pred, sigma)
        theirs = observation_terms(obs, {"il21_plasma": kind},
                                   {k: np.full(4, v) for k, v in sigma.items()}, pred)[0]
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


# -- recovery -------------------------------------------------------------------------------
def test_body_weight_exponent_is_recovered():
    rng = np.random.default_rng(11)
    data = simulate(rng, n=40, weight_exponent=0.75)
    res = ip.fit_population(OneCompartmentOral(), data, START, free=list(NAMES), iiv=IIV0,
                            covariates={"cl": Power("WT", reference=70.0, exponent=0.5,
                                                    estimate=True)},
                            seed=1, settings=FAST)
    _within(res, {"beta_cl_body_weight": 0.75, "cl": TRUE["cl"]})
    row = res.table.set_index("name").loc["beta_cl_body_weight"]
    assert row["ci_low"] < 0.75 < row["ci_high"] and row["ci_low"] > 0.0
    # a fixed exponent is not estimated, and the individual parameters follow it
    fixed = ip.fit_population(OneCompartmentOral(), data, START, free=list(NAMES), iiv=IIV0,
                              covariates={"cl": Power("WT", reference=70.0)}, seed=1,
                              settings=FAST)
    assert "beta_cl_body_weight" not in set(fixed.table["name"])
    assert fixed.m2ll > res.m2ll - 2.0  # nested: at most the estimated exponent's gain


def test_categorical_covariate_and_focei_recover_truth():
    rng = np.random.default_rng(12)
    data = simulate(rng, n=30, sex_effect=0.4)
    res = ip.fit_population(OneCompartmentOral(), data, START, free=list(NAMES), iiv=IIV0,
                            covariates={"v_central": Categorical("sex", reference=0)},
                            method="focei")
    assert res.success, res.message
    _within(res, {"beta_v_central_sex_1": 0.4, "v_central": TRUE["v_central"]})


def test_blq_m3_recovers_truth_with_30_percent_censored():
    rng = np.random.default_rng(13)
    data = simulate(rng, n=24, lloq_quantile=0.30)
    share = data.observations["blq"].mean()
    assert 0.25 < share < 0.35
    for method in ("saem", "focei"):
        res = ip.fit_population(OneCompartmentOral(), data, START, free=list(NAMES),
                                iiv=IIV0, method=method, seed=2, settings=None if
                                method == "focei" else FAST)
        _within(res, {**TRUE, **{f"omega_{k}": v for k, v in OMEGA.items()},
                      "sigma_prop_il21_plasma": 0.12})
        assert int(res.predictions["blq"].sum()) == int(data.observations["blq"].sum())
        assert res.predictions.loc[res.predictions["blq"], "cwres"].isna().all()


def test_combined_error_and_full_omega():
    rng = np.random.default_rng(14)
    data = simulate(rng, n=30, sigma=0.1, additive=0.2)
    res = ip.fit_population(OneCompartmentOral(), data, START, free=list(NAMES), iiv=IIV0,
                            error_model="combined", covariance=[["v_central", "cl"]], seed=3,
                            settings=FAST)
    names = set(res.table["name"])
    assert {"sigma_add_il21_plasma", "sigma_prop_il21_plasma", "corr_v_central_cl"} <= names
    _within(res, {**TRUE, "sigma_prop_il21_plasma": 0.1, "sigma_add_il21_plasma": 0.2,
                  "corr_v_central_cl": 0.0})


def test_recovery_over_several_populations():
    """A small version of the coverage benchmark (benchmarks/bench_population.py)."""
    z = {"saem": [], "focei": []}
    for seed in range(4):
        data = simulate(np.random.default_rng(100 + seed))
        for method in z:
            res = ip.fit_population(OneCompartmentOral(), data, START, free=list(NAMES),
                                    iiv=IIV0, method=method, seed=seed,
                                    settings=FAST if method == "saem" else None)
            t = res.table.set_index("name")
            for name in NAMES:
                z[method].append((np.log(t.loc[name, "estimate"]) - np.log(TRUE[name]))
                                 / (t.loc[name, "stderr"] / t.loc[name, "estimate"]))
    for method, values in z.items():
        values = np.asarray(values)
        assert np.all(np.isfinite(values)), method
        assert np.all(np.abs(values) < 3.5), (method, values)


# -- validation -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small():
    return simulate(np.random.default_rng(3), n=4)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"method": "fo"}, ValueError, "method"),
    ({"iiv": {"q": 0.3}}, ip.ParameterError, "not in `free`"),
    ({"iiv": {"cl": -0.1}}, ip.ParameterError, r"iiv\['cl'\]"),
    ({"free": []}, ip.ParameterError, "at least one"),
    ({"free": ["clearance"]}, ip.ParameterError, "unknown parameter"),
    ({"covariance": "banded"}, ValueError, "covariance"),
    ({"covariates": {"cl": Power("height", reference=170.0)}}, ip.DataError, "height"),
    ({"covariates": {"q": Power("WT", reference=70.0)}}, ip.ParameterError, "not estimated"),
    ({"n_starts": 0}, ValueError, "n_starts"),
    ({"error_model": "poisson"}, ip.ParameterError, "error model"),
])
def test_input_errors_name_the_argument(small, kwargs, error, match):
    args = {"free": ["cl", "v_central"], "iiv": {"cl": 0.3}}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        ip.fit_population(OneCompartmentOral(), small, START, **args)


def test_settings_are_validated():
    with pytest.raises(ValueError, match="SaemSettings.k1"):
        SaemSettings(k1=-1)
    with pytest.raises(ValueError, match="acceptance"):
        SaemSettings(acceptance=1.5)
    # True is an int to Python: it was taken as one chain per subject
    with pytest.raises(ValueError, match="SaemSettings.chains"):
        SaemSettings(chains=True)
    # numpy's integers (what an array or a frame hands out) are integers
    assert SaemSettings(k1=np.int64(5), chains=np.int64(2), is_draws=np.int64(50)).k1 == 5


def test_fraction_without_variability_on_the_logit_scale():
    """f_sc (bounds [0, 1]) has no IIV: estimated by the optimisation step of SAEM."""
    rng = np.random.default_rng(15)
    n = 16
    eta = rng.standard_normal((n, 3)) * np.array([OMEGA[k] for k in NAMES])
    ka, v, cl = (TRUE[k] * np.exp(eta[:, j]) for j, k in enumerate(NAMES))
    iv = np.arange(n) < n // 2
    k = cl / v
    f_sc = 0.6
    oral = f_sc * conc(ka, v, cl)
    bolus = DOSE / v[:, None] * np.exp(-k[:, None] * TIMES)
    f = np.where(iv[:, None], bolus, oral)
    y = f * (1 + 0.1 * rng.standard_normal(f.shape))
    frame = pd.DataFrame({"id": np.repeat(np.arange(1, n + 1), TIMES.size),
                          "t": np.tile(TIMES, n), "conc": y.ravel()})
    regimens = {i + 1: ip.Regimen.single(ip.Dose(DOSE, unit="nmol",
                                                 route="iv" if iv[i] else "sc"))
                for i in range(n)}
    data = ip.Dataset.from_frame(frame, time="t", value="conc", variable="il21_plasma",
                                 subject="id", regimen=regimens, model=PK1)
    start = START.with_values(f_sc=0.3)
    res = ip.fit_population(OneCompartmentOral(), data, start, free=[*NAMES, "f_sc"],
                            iiv=IIV0, seed=4, settings=FAST)
    row = res.table.set_index("name").loc["f_sc"]
    assert row["kind"] == "theta" and 0 < row["ci_low"] < row["estimate"] < row["ci_high"] < 1
    _within(res, {"f_sc": f_sc, **TRUE})
    assert "omega_f_sc" not in set(res.table["name"])


def test_saem_runs_on_the_compiled_engine_and_batches_are_executor_independent():
    from concurrent.futures import ProcessPoolExecutor

    from il21pk.analysis.population.predictors import ModelPredictor

    rng = np.random.default_rng(16)
    data = simulate(rng, n=6)
    values = {n: np.exp(rng.normal(np.log(TRUE[n]), 0.3, (4, 6))) for n in NAMES}
    serial = ModelPredictor(PK1, data, START, list(NAMES), {"rtol": 1e-8, "atol": 1e-12})
    with ProcessPoolExecutor(2) as pool:
        pooled = ModelPredictor(PK1, data, START, list(NAMES), {"rtol": 1e-8, "atol": 1e-12},
                                executor=pool)
        np.testing.assert_array_equal(serial(values), pooled(values))
    res = ip.fit_population(PK1, data, START, free=list(NAMES), iiv=IIV0, seed=1,
                            settings=SaemSettings(k1=20, k2=10, is_draws=50))
    closed = ip.fit_population(OneCompartmentOral(), data, START, free=list(NAMES), iiv=IIV0,
                               seed=1, settings=SaemSettings(k1=20, k2=10, is_draws=50))
    # same algorithm, same seed, predictions equal to ~1e-6: the same estimates
    np.testing.assert_allclose(res.table["estimate"], closed.table["estimate"], rtol=1e-2)
    # two worker processes give the same fit, number for number
    kw = dict(free=list(NAMES), iiv=IIV0, seed=2, settings=SaemSettings(k1=5, k2=5,
                                                                         is_draws=20))
    one = ip.fit_population(PK1, data, START, **kw)
    two = ip.fit_population(PK1, data, START, executor=2, **kw)
    pd.testing.assert_frame_equal(one.table, two.table)
    assert one.m2ll == two.m2ll
    two.vpc(n=5, seed=1)  # the result simulates in this process after the pool is closed
