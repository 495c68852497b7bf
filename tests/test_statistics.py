"""Statistics that mean what they say (issue 14): the full likelihood for every error
model, the curvature of the error parameters, covariance only where it exists, data
errors instead of KeyErrors and scipy messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import il21pk as ip
from il21pk.fitting import covariance_from_hessian

PK = ip.Model.pk_only(compartments=1)
SC = ip.Regimen.single(ip.Dose(1.0, unit="nmol", route="sc"))
TIMES = np.array([0.5, 1, 2, 4, 6, 8, 12, 16, 24.0])


@pytest.fixture(scope="module")
def truth():
    return ip.parameter_sets.load("human").with_values(
        mw=1.0, v_central=10.0, cl=2.0, q=0.0, ka=0.8, f_sc=0.6, source="truth")


def _data(truth, kind, scale, seed=7, doses=(10.0, 100.0)):
    rng = np.random.default_rng(seed)
    rows = []
    for group, dose in enumerate(doses):
        res = ip.simulate(PK, SC.scaled_to(dose), truth, t_end=24.0, t_eval=np.r_[0, TIMES],
                          rtol=1e-10, atol=1e-14)
        f = res.frame.query("variable == 'il21_plasma'")["value"].to_numpy()[1:]
        e = rng.standard_normal(f.size)
        y = f + scale * e if kind == "additive" else f * np.exp(scale * e)
        rows += [{"id": group, "t": t, "conc": v, "dose": dose} for t, v in zip(TIMES, y,
                                                                                  strict=True)]
    return ip.Dataset.from_frame(pd.DataFrame(rows), time="t", value="conc",
                                 variable="il21_plasma", subject="id", regimen=SC, dose="dose",
                                 model=PK)


@pytest.mark.parametrize("kind,scale", [("lognormal", 0.15), ("additive", 0.05)])
def test_objective_is_minus_two_log_density_of_the_observations(truth, kind, scale):
    # the log-normal likelihood used to omit 2 sum(log y), so its AIC could not be set
    # against the additive model's
    data = _data(truth, kind, scale)
    fit = ip.fit(PK, data, truth.with_values(cl=3.0), free=["cl"], error_model=kind)
    y = fit.residuals["observed"].to_numpy()
    f = fit.residuals["predicted"].to_numpy()
    sigma = next(iter(fit.sigma().values()))
    logpdf = (stats.lognorm.logpdf(y, s=sigma, scale=f) if kind == "lognormal"
              else stats.norm.logpdf(y, loc=f, scale=sigma))
    assert fit.objective == pytest.approx(-2.0 * logpdf.sum(), rel=1e-10)
    assert fit.aic == pytest.approx(-2.0 * logpdf.sum() + 2 * 2, rel=1e-10)


def test_aic_prefers_the_error_model_that_generated_the_data(truth):
    data = _data(truth, "lognormal", 0.3, seed=11)
    start = truth.with_values(cl=3.0)
    lognormal = ip.fit(PK, data, start, free=["cl"], error_model="lognormal")
    additive = ip.fit(PK, data, start, free=["cl"], error_model="additive")
    assert lognormal.aic < additive.aic


def test_sigma_standard_error_is_the_observed_information(truth):
    # additive error at the MLE: d2(-2 log L)/d(log a)^2 = 4 sum r^2/a^2 = 4n and the
    # cross terms with the structural parameters vanish, so SE(log a) = 1/sqrt(2n);
    # a Gauss-Newton curvature (2n) would make it sqrt(2) too large
    data = _data(truth, "additive", 0.05)
    fit = ip.fit(PK, data, truth.with_values(cl=3.0, v_central=8.0),
                 free=["cl", "v_central"], error_model="additive")
    assert fit.covariance_ok
    n = len(data)
    log_sd = np.sqrt(fit.covariance.loc["sigma_add_il21_plasma", "sigma_add_il21_plasma"])
    assert log_sd == pytest.approx(1.0 / np.sqrt(2 * n), rel=1e-3)
    row = fit.table.set_index("name").loc["sigma_add_il21_plasma"]
    residual = fit.residuals["residual"].to_numpy()
    # the MLE of an additive SD is the RMS residual (to the optimiser's stopping tolerance)
    assert row["estimate"] == pytest.approx(np.sqrt(np.mean(residual**2)), rel=1e-3)
    assert row["stderr"] == pytest.approx(row["estimate"] / np.sqrt(2 * n), rel=1e-3)


def test_indefinite_hessian_gives_no_covariance():
    # positive diagonal of the inverse, yet indefinite: the old diagonal check let it
    # through with "correlations" far outside [-1, 1]
    q, _ = np.linalg.qr(np.array([[1.0, 1, 1], [1, -1, 0], [1, 1, -2]]).T)
    hess = q @ np.diag([-100.0, 10.0, 10.0]) @ q.T
    assert np.all(np.diag(np.linalg.inv(hess)) > 0)
    cov, why = covariance_from_hessian(hess)
    assert np.isnan(cov).all() and "not positive definite" in why
    cov, why = covariance_from_hessian(np.diag([4.0, 1e-12]))
    assert np.isnan(cov).all() and "singular" in why
    cov, why = covariance_from_hessian(np.array([[4.0, 1.0], [1.0, 2.0]]))
    assert why is None and np.allclose(cov, 2 * np.linalg.inv([[4.0, 1.0], [1.0, 2.0]]))


def test_fit_with_fewer_observations_than_parameters_is_flagged(truth):
    one = ip.Dataset.from_frame(pd.DataFrame({"t": [2.0], "conc": [0.03]}), time="t",
                                value="conc", variable="il21_plasma", subject=None,
                                regimen=SC, model=PK)
    with pytest.warns(UserWarning, match="standard errors, CIs and correlations are NaN"):
        fit = ip.fit(PK, one, truth, free=["cl", "v_central", "ka"])
    assert not fit.covariance_ok
    assert fit.table["stderr"].isna().all() and fit.correlation.isna().all().all()
    assert "no standard errors" in fit.message and "covariance         = not available" in \
        fit.report()


def test_observed_variable_the_model_does_not_report_is_a_data_error(truth):
    df = pd.DataFrame({"t": [1.0, 2.0], "conc": [0.1, 150.0],
                       "var": ["il21_plasma", "nk_blood"]})
    data = ip.Dataset.from_frame(df, time="t", value="conc", variable="var", subject=None,
                                 regimen=SC)  # read with the full model
    with pytest.raises(ip.DataError, match=r"observe \['nk_blood'\], which .* does not "
                                           r"report"):  # was KeyError: 'nk_blood'
        ip.fit(PK, data, truth, free=["cl"])


def test_overflowing_likelihood_is_a_fit_error_not_scipys_message(truth):
    df = pd.DataFrame({"t": [1.0, 2.0], "conc": [0.0, 1e250]})
    data = ip.Dataset.from_frame(df, time="t", value="conc", variable="il21_plasma",
                                 subject=None, regimen=SC, model=PK)
    # used to be scipy's "ValueError: array must not contain infs or NaNs"
    with pytest.raises(ip.FitError, match=r"likelihood became infinite or NaN"):
        ip.fit(PK, data, truth, free=["cl"])


@pytest.mark.parametrize("kwargs,error,match", [
    ({"free": [1]}, TypeError, r"`free` must be a parameter name or a list"),
    ({"free": ["cl"], "bounds": {"cl": "wide"}}, ip.ParameterError,
     r"bounds for 'cl' must be a \(low, high\) pair"),
    ({"free": ["cl"], "bounds": {"cl": (2.0, 2.0)}}, ip.ParameterError, r"with low < high"),
    ({"free": ["cl"], "fd_step": 2.0}, ValueError, r"`fd_step` must be a number in"),
    ({"free": ["cl"], "seed": -1}, ValueError, r"`seed` must be None, an integer >= 0"),
    ({"free": ["cl"], "sigma": [0.1]}, TypeError, r"`sigma` must be a mapping"),
    ({"free": ["cl"], "error_model": 3}, TypeError, r"`error_model` must be a name"),
])
def test_fit_options_are_named(truth, kwargs, error, match):
    data = _data(truth, "additive", 0.05)
    with pytest.raises(error, match=match):
        ip.fit(PK, data, truth, **kwargs)


def test_bad_covariates_are_data_errors_at_fit_time(truth):
    df = pd.DataFrame({"t": [1.0, 2.0], "conc": [0.1, 0.05], "WT": [1e6, 1e6]})
    data = ip.Dataset.from_frame(df, time="t", value="conc", variable="il21_plasma",
                                 subject=None, regimen=SC, model=PK,
                                 covariates={"WT": "body_weight"})
    with pytest.raises(ip.DataError, match=r"covariate 'body_weight' must be given and within "
                                           r"its hard bounds"):
        ip.fit(PK, data, truth, free=["cl"])
