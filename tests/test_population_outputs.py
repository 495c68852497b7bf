"""PopulationFitResult: table, report, individual parameters and the diagnostics."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from test_population_recovery import IIV0, NAMES, START, simulate

import il21pk as ip
from il21pk.analysis.population import OneCompartmentOral, SaemSettings

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TABLE = ["name", "kind", "parameter", "estimate", "stderr", "rse_percent", "ci_low", "ci_high",
         "cv_percent", "shrinkage_percent", "unit", "initial", "fixed"]


@pytest.fixture(scope="module")
def data():
    return simulate(np.random.default_rng(21), n=20, lloq_quantile=0.1)


@pytest.fixture(scope="module")
def result(data):
    return ip.fit_population(OneCompartmentOral(), data, START, free=list(NAMES), iiv=IIV0,
                             seed=5, settings=SaemSettings(k1=150, k2=80, is_draws=500))


def test_table_schema_and_contents(result):
    t = result.table
    assert list(t.columns) == TABLE
    assert list(t["name"]) == [*NAMES, *(f"omega_{n}" for n in NAMES), "sigma_prop_il21_plasma"]
    assert (t["stderr"] > 0).all() and (t["ci_low"] < t["estimate"]).all() \
        and (t["estimate"] < t["ci_high"]).all()
    omega = t[t["kind"] == "omega"]
    np.testing.assert_allclose(omega["cv_percent"],
                               100 * np.sqrt(np.expm1(omega["estimate"] ** 2)))
    assert omega["shrinkage_percent"].notna().all()
    assert t.loc[t["name"] == "cl", "unit"].item() == "L/h"
    pd.testing.assert_frame_equal(result.to_frame().drop(columns="method"), t)


def test_likelihood_numbers(result):
    k = result.n_parameters
    assert k == 7
    assert result.aic == pytest.approx(result.m2ll + 2 * k)
    assert result.bic == pytest.approx(result.m2ll + k * np.log(result.n_obs))
    assert result.objective == result.m2ll and result.m2ll_se > 0
    assert result.is_draws == 500


def test_individual_parameters_follow_the_ebes(result):
    ind = result.individual
    assert list(ind.columns) == ["subject", *(f"eta_{n}" for n in NAMES), *NAMES]
    theta = result.typical_values()
    for name in NAMES:
        np.testing.assert_allclose(ind[name], theta[name] * np.exp(ind[f"eta_{name}"]))


def test_residuals_and_npde_are_standard_normal(result):
    pred = result.predictions
    ok = ~pred["blq"]
    assert pred.loc[~ok, "cwres"].isna().all()
    for col in ("cwres", "iwres"):
        values = pred.loc[ok, col]
        assert abs(values.mean()) < 0.3 and 0.6 < values.std() < 1.4, col
    npde = result.npde(n=300, seed=1)
    values = npde.loc[ok.to_numpy(), "npde"]
    assert abs(values.mean()) < 0.3 and 0.7 < values.std() < 1.3
    pd.testing.assert_frame_equal(npde, result.npde(n=300, seed=1))


def test_vpc_brackets_the_observed_percentiles(result):
    table = result.vpc(n=200, seed=2)
    assert set(table["percentile"]) == {5, 50, 95}
    median = table[table["percentile"] == 50]
    inside = (median["sim_low"] <= median["observed"]) & (median["observed"] <= median["sim_high"])
    assert inside.mean() >= 0.75, table
    finite = table.dropna(subset=["sim_low", "sim_median", "sim_high"])
    assert (finite["sim_low"] <= finite["sim_median"]).all()
    assert (finite["sim_median"] <= finite["sim_high"]).all()


def test_replicates_include_between_subject_variability(result):
    sims = result.simulate(50, seed=3)
    assert list(sims.columns) == ["replicate", "subject", "time_h", "variable", "value", "blq"]
    at = sims[(sims["time_h"] == 24.0)]
    spread = at.groupby("subject")["value"].apply(lambda v: np.log(v[v > 0]).std())
    assert spread.median() > 0.2  # far more than residual error alone (0.12)


def test_report_names_the_methods(result):
    text = result.report()
    for part in ("[[Population fit: SAEM]]", "importance sampling, 500 draws", "linearisation",
                 "[[Between-subject variability]]", "shrinkage", "omega_cl", "CV"):
        assert part in text


def test_plots_return_axes(result):
    axes = result.plot_convergence()
    assert axes.size >= len(result.convergence.columns)
    for kind in ("observed_vs_pred", "observed_vs_ipred", "cwres_vs_time", "cwres_vs_pred",
                 "iwres_vs_ipred", "npde_vs_time"):
        ax = result.plot_gof(kind, n=50, seed=1)
        assert len(ax.get_lines()) >= 1
    with pytest.raises(ValueError, match="kind must be one of"):
        result.plot_gof("qq")
    ax = result.plot_individual(result.individual["subject"].iloc[0])
    assert ax.get_legend() is not None
    ax = ip.plotting.vpc(result, n=50, seed=1)
    assert len(ax.collections) >= 3  # one CI band per percentile
    plt.close("all")


def test_several_starts_keep_the_best(data):
    res = ip.fit_population(OneCompartmentOral(), data, START, free=list(NAMES), iiv=IIV0,
                            seed=5, n_starts=2, executor="serial",
                            settings=SaemSettings(k1=60, k2=30, is_draws=200))
    assert len(res.starts) == 2
    assert res.m2ll == pytest.approx(res.starts["m2ll"].min())


def test_cli_fit_population_from_a_spec(tmp_path, data, capsys):
    from il21pk.cli import main

    csv = tmp_path / "obs.csv"
    data.observations.to_csv(csv, index=False)
    spec = tmp_path / "spec.toml"
    spec.write_text(
        'free = ["ka", "v_central", "cl"]\n'
        'model = "pk1-closed-form"\n'
        '[iiv]\nka = 0.3\nv_central = 0.3\ncl = 0.3\n'
        '[settings]\nk1 = 30\nk2 = 20\nis_draws = 100\n'
        '[columns]\nlloq = "lloq"\n'
        '[set]\nmw = 1.0\nf_sc = 1.0\ntlag_sc = 0.0\nka = 1.0\nv_central = 25.0\ncl = 2.0\n')
    out = tmp_path / "pop"
    status = main(["fit-population", "--spec", str(spec), "--data", str(csv), "--dose", "320",
                   "--unit", "nmol", "--route", "sc", "--schedule", "single",
                   "--vpc-n", "50", "--out", str(out)])
    assert status == 0, capsys.readouterr().err
    table = pd.read_csv(out / "population_table.csv")
    assert list(table["name"])[:3] == ["ka", "v_central", "cl"]
    for name in ("individual.csv", "predictions.csv", "convergence.csv", "vpc.csv",
                 "report.txt", "diagnostics.png", "convergence.png"):
        assert (out / name).stat().st_size > 0, name
    assert "[[Population fit: SAEM]]" in capsys.readouterr().out


def test_cli_fit_population_user_errors_exit_2(tmp_path, capsys):
    from il21pk.cli import main

    status = main(["fit-population", "--data", str(tmp_path / "missing.csv"), "--free", "cl",
                   "--iiv", "cl=0.3"])
    assert status == 2 and "missing.csv" in capsys.readouterr().err
    status = main(["fit-population", "--data", "x.csv", "--free", "cl", "--iiv", "cl=big"])
    assert status == 2 and "--iiv cl" in capsys.readouterr().err
    status = main(["fit-population", "--free", "cl"])
    assert status == 2 and "--data" in capsys.readouterr().err
