"""fit(): recovery of known truth for each error model, BLQ, coverage, identifiability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import il21pk as ip

PK = ip.Model.pk_only(compartments=1)
TIMES = np.array([0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 36.0])
DOSES = (10.0, 30.0, 100.0)
SC = ip.Regimen.single(ip.Dose(1.0, unit="nmol", route="sc"))


@pytest.fixture(scope="module")
def truth():
    return ip.parameter_sets.load("human").with_values(
        mw=1.0, v_central=10.0, cl=2.0, q=0.0, ka=0.8, f_sc=0.6, source="truth")


def _pk_data(truth, rng, kind, a=0.0, b=0.0, lloq=None, regimen=SC):
    rows = []
    for group, dose in enumerate(DOSES):
        res = ip.simulate(PK, regimen.scaled_to(dose), truth, t_end=36.0,
                          t_eval=np.r_[0, TIMES], rtol=1e-10, atol=1e-14)
        f = res.frame.query("variable == 'il21_plasma'")["value"].to_numpy()[1:]
        e = rng.standard_normal(f.size)
        y = {"additive": f + a * e, "proportional": f * (1 + b * e),
             "combined": f + np.sqrt(a * a + (b * f) ** 2) * e,
             "lognormal": f * np.exp(a * e)}[kind]
        rows += [{"id": group, "t": t, "conc": v, "dose": dose} for t, v in zip(TIMES, y,
                                                                                  strict=True)]
    df = pd.DataFrame(rows)
    if lloq is not None:
        df["lloq"] = lloq
    return ip.Dataset.from_frame(df, time="t", value="conc", variable="il21_plasma",
                                 subject="id", regimen=regimen, dose="dose", model=PK,
                                 lloq="lloq" if lloq is not None else None)


START = {"cl": 3.0, "v_central": 6.0, "ka": 1.6}
FREE = ["cl", "v_central", "ka"]


@pytest.mark.parametrize("kind,a,b", [("additive", 0.02, 0.0), ("proportional", 0.0, 0.1),
                                      ("combined", 0.01, 0.1), ("lognormal", 0.1, 0.0)])
def test_recovers_truth_within_ci_for_each_error_model(truth, rng, kind, a, b):
    data = _pk_data(truth, rng, kind, a, b)
    fit = ip.fit(PK, data, truth.with_values(**START), free=FREE, error_model=kind)
    assert fit.success, fit.message
    table = fit.table.set_index("name")
    for name, value in (("cl", 2.0), ("v_central", 10.0), ("ka", 0.8)):
        assert table.loc[name, "ci_low"] <= value <= table.loc[name, "ci_high"], (name, table)
        assert table.loc[name, "stderr"] > 0
    sigmas = [n for n in table.index if n.startswith("sigma")]
    assert len(sigmas) == (2 if kind == "combined" else 1)


def test_blq_values_are_kept_and_used_by_m3(truth, rng):
    lloq = 0.02
    data = _pk_data(truth, rng, "proportional", b=0.1, lloq=lloq)
    obs = data.observations
    assert obs["blq"].sum() >= 3 and len(obs) == 36  # kept, not dropped
    assert (obs.loc[obs["blq"], "value"] == lloq).all()
    fit = ip.fit(PK, data, truth.with_values(**START), free=FREE)
    table = fit.table.set_index("name")
    assert table.loc["cl", "ci_low"] <= 2.0 <= table.loc["cl", "ci_high"]
    assert fit.residuals.loc[fit.residuals["blq"], "weighted_residual"].isna().all()



def test_least_squares_form_is_the_exact_likelihood(truth, rng):
    # combined error (SD depends on the prediction) and BLQ rows: the sum of
    # squares the optimiser minimises must equal -2 log L, and its minimum must
    # be a minimum of -2 log L itself, not of a weighted sum of squares
    data = _pk_data(truth, rng, "combined", a=0.005, b=0.1, lloq=0.02)
    fit = ip.fit(PK, data, truth.with_values(**START), free=FREE, error_model="combined")
    problem, best = fit._problem, fit._x
    points = best + np.random.default_rng(5).normal(0.0, 0.3, (6, best.size))
    exact = problem.objective(points)
    from_squares = [problem.objective_from_residuals(e) for e in problem.residuals(points)]
    np.testing.assert_allclose(from_squares, exact, rtol=1e-10)
    assert fit.objective == pytest.approx(problem.objective(best[None, :])[0], rel=1e-10)
    for i in range(best.size):
        for step in (-0.02, 0.02):
            moved = best.copy()
            moved[i] += step
            assert problem.objective(moved[None, :])[0] > fit.objective, problem.names[i]

def test_fixed_sigma_and_fixed_parameters(truth, rng):
    data = _pk_data(truth, rng, "proportional", b=0.1)
    fit = ip.fit(PK, data, truth.with_values(cl=3.0), free=["cl"],
                 sigma={"sigma_prop_il21_plasma": 0.1})
    assert fit.table["name"].tolist() == ["cl", "sigma_prop_il21_plasma"]
    assert fit.table["fixed"].tolist() == [False, True]
    assert fit.sigma() == {"sigma_prop_il21_plasma": 0.1}
    assert fit.parameters["v_central"].value == 10.0  # fixed at the given value
    assert fit.parameters["cl"].source.startswith("fit:")


def test_result_tables_report_and_prediction(truth, rng):
    data = _pk_data(truth, rng, "proportional", b=0.1)
    fit = ip.fit(PK, data, truth.with_values(**START), free=FREE)
    assert list(fit.table.columns) == ["name", "initial", "estimate", "stderr", "ci_low",
                                       "ci_high", "unit", "fixed", "source"]
    assert list(fit.residuals.columns) == ["subject", "time_h", "variable", "observed",
                                           "predicted", "residual", "weighted_residual", "blq",
                                           "unit"]
    assert len(fit.residuals) == 36
    np.testing.assert_allclose(fit.residuals["residual"],
                               fit.residuals["observed"] - fit.residuals["predicted"])
    k, n = 4, 36
    assert fit.aic == pytest.approx(fit.objective + 2 * k)
    assert fit.bic == pytest.approx(fit.objective + k * np.log(n))
    text = fit.report()
    assert "[[Fit statistics]]" in text and "cl" in text and "C(cl, v_central)" in text
    pred = fit.predict(SC.scaled_to(30.0), t_end=36.0, t_eval=np.r_[0, TIMES], rtol=1e-8,
                       atol=1e-12)  # the fit's solver settings
    expected = fit.residuals.query("subject == 1")["predicted"].to_numpy()
    got = pred.frame.query("variable == 'il21_plasma'")["value"].to_numpy()[1:]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_multistart_through_processes_equals_serial(truth, rng):
    data = _pk_data(truth, rng, "proportional", b=0.1)
    kwargs = dict(free=FREE, n_starts=4, seed=5)
    serial = ip.fit(PK, data, truth, executor="serial", **kwargs)
    pool = ip.fit(PK, data, truth, executor=2, **kwargs)
    assert len(serial.starts) == 4
    pd.testing.assert_frame_equal(serial.table, pool.table)
    assert serial.objective == min(serial.starts["objective"])


def test_per_subject_fits(truth, rng):
    data = _pk_data(truth, rng, "proportional", b=0.05)
    fits = ip.fit(PK, data, truth.with_values(cl=3.0), free=["cl"], by_subject=True)
    assert set(fits.results) == {0, 1, 2}
    table = fits.table
    assert list(table.columns[:2]) == ["subject", "name"]
    cl = table[table["name"] == "cl"]["estimate"]
    assert np.allclose(cl, 2.0, rtol=0.1)


def test_profile_likelihood_ci_and_identifiable_label(truth, rng):
    data = _pk_data(truth, rng, "proportional", b=0.1)
    fit = ip.fit(PK, data, truth.with_values(**START), free=FREE)
    prof = fit.profile("cl", n_points=11, span=1.5)
    assert prof.label == "identifiable"
    assert prof.ci_low < 2.0 < prof.ci_high
    wald = fit.table.set_index("name").loc["cl"]
    assert prof.ci_low == pytest.approx(wald["ci_low"], rel=0.05)
    assert (prof.frame["delta"] >= -1e-6).all()


def test_structurally_non_identifiable_pair_is_labelled(truth, rng):
    """With a mass dose the absorbed input is f_sc * amount / mw: only f_sc / mw is
    identifiable. mw must act through the dose for this to test anything (with nmol
    doses mw is inert and its profile is flat for that reason alone)."""
    ug = ip.Regimen.single(ip.Dose(1.0, unit="ug", route="sc"))  # mw = 1: same data
    data = _pk_data(truth.with_values(f_sc=0.1), rng, "proportional", b=0.1, regimen=ug)
    start = truth.with_values(f_sc=0.1, mw=1.0)
    # f_sc fixed: mw alone is identifiable, so a flat profile below is the pair's doing
    alone = ip.fit(PK, data, start, free=["mw"], bounds={"mw": (0.01, 100.0)})
    assert alone.profile("mw", n_points=5, span=3.0).label == "identifiable"
    with pytest.warns(UserWarning, match="standard errors, CIs and correlations are NaN"):
        fit = ip.fit(PK, data, start, free=["f_sc", "mw"],
                     bounds={"f_sc": (0.001, 1.0), "mw": (0.01, 100.0)})
    assert not fit.covariance_ok and fit.table["stderr"].isna().all()
    prof = fit.profile("mw", n_points=7, span=3.0)
    assert prof.label == "structurally non-identifiable"
    ratio = fit.parameters["f_sc"].value / fit.parameters["mw"].value
    assert ratio == pytest.approx(0.1, rel=0.1)  # the identifiable combination


def test_mw_is_inert_with_molar_doses(truth):
    # why the pair test above doses in ug: with nmol doses mw changes no prediction
    a = ip.simulate(PK, SC, truth, t_end=24.0).frame["value"].to_numpy()
    b = ip.simulate(PK, SC, truth.with_values(mw=50.0), t_end=24.0).frame["value"].to_numpy()
    np.testing.assert_array_equal(a, b)


def test_mcmc_is_seeded_and_centred_on_the_estimate(truth, rng):
    data = _pk_data(truth, rng, "proportional", b=0.1)
    fit = ip.fit(PK, data, truth.with_values(**START), free=["cl", "v_central"])
    a = fit.mcmc(400, burn=100, seed=3)
    b = fit.mcmc(400, burn=100, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["step", "walker", "name", "value"]
    post = a[a["name"] == "cl"]["value"]
    est = fit.table.set_index("name").loc["cl"]
    assert post.median() == pytest.approx(est["estimate"], rel=0.03)
    assert post.std() == pytest.approx(est["stderr"], rel=0.35)
    # no more steps than the burn-in discards: it returned an empty frame
    with pytest.raises(ValueError, match="n_steps"):
        fit.mcmc(100, burn=200)


@pytest.mark.slow
def test_ci_coverage_over_50_replicates(truth):
    rng = np.random.default_rng(2026)
    covered = 0
    for _ in range(50):
        data = _pk_data(truth, rng, "proportional", b=0.15)
        fit = ip.fit(PK, data, truth.with_values(**START), free=FREE)
        row = fit.table.set_index("name").loc["cl"]
        covered += row["ci_low"] <= 2.0 <= row["ci_high"]
    assert 44 <= covered <= 50  # 88-100 % of nominal 95 % intervals


@pytest.mark.parametrize("kwargs,error,match", [
    ({"free": ["cll"]}, ip.ParameterError, r"unknown parameter 'cll'"),
    ({"free": ["tlag_sc"]}, ip.ParameterError, "must start > 0"),
    ({"free": ["cl"], "error_model": "poisson"}, ip.ParameterError, "error model for"),
    ({"free": ["cl"], "sigma": {"sigma_add_il21_plasma": 0.1}}, ip.ParameterError,
     "unknown residual error parameter"),
    ({"free": ["cl"], "bounds": {"cl": (5.0, 10.0)}}, ip.ParameterError,
     "must satisfy 0 < low <= start <= high"),
    ({"free": ["cl"], "n_starts": 0}, ValueError, "`n_starts` must be"),
])
def test_fit_input_errors(truth, rng, kwargs, error, match):
    data = _pk_data(truth, rng, "proportional", b=0.1)
    with pytest.raises(error, match=match):
        ip.fit(PK, data, truth, **kwargs)
