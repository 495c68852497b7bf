"""Dataset readers, goodness-of-fit plots, posterior predictive check and the fit CLI."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from test_fitting import PK, SC, _pk_data

import il21pk as ip
from il21pk.cli import main

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope="module")
def pk_fit():
    truth = ip.parameter_sets.load("human").with_values(mw=1.0, v_central=10.0, cl=2.0, q=0.0,
                                                        ka=0.8, f_sc=0.6)
    data = _pk_data(truth, np.random.default_rng(4), "proportional", b=0.1, lloq=0.02)
    return ip.fit(PK, data, truth.with_values(cl=3.0, v_central=6.0), free=["cl", "v_central",
                                                                           "ka"])


def test_goodness_of_fit_plots(pk_fit):
    ax = ip.plotting.goodness_of_fit(pk_fit, "observed_vs_predicted", log=True)
    points, identity = ax.get_lines()
    assert len(points.get_xdata()) == (~pk_fit.residuals["blq"]).sum()
    np.testing.assert_allclose(points.get_xdata(),
                               pk_fit.residuals.loc[~pk_fit.residuals["blq"], "predicted"])
    ax = ip.plotting.goodness_of_fit(pk_fit, "wres_vs_time")
    assert ax.get_ylabel() == "weighted residual [SD]"
    ax = ip.plotting.individual_fit(pk_fit, 1, "il21_plasma")
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["fit", "observed"] and "BLQ (LLOQ)" in labels
    with pytest.raises(ValueError, match="kind must be one of"):
        ip.plotting.goodness_of_fit(pk_fit, "qq")
    plt.close("all")


def test_fit_plots_name_what_was_observed(pk_fit, monkeypatch):
    """goodness_of_fit, individual_fit and posterior_predictive_check said only that a
    variable "was not observed" (the last after simulating all its replicates), and
    individual_fit blamed the variable for a subject that does not exist."""
    from il21pk.errors import DataError
    for call in (lambda: ip.plotting.goodness_of_fit(pk_fit, variable="nk_blood"),
                 lambda: ip.plotting.individual_fit(pk_fit, 1, "nk_blood")):
        with pytest.raises(DataError, match=r"'nk_blood' was not observed; the fit's observed "
                                            r"variables: \['il21_plasma'\]"):
            call()
    with pytest.raises(DataError, match=r"subject 99 has no observations of 'il21_plasma'; "
                                        r"the first subjects with some: \['0', '1', '2'\]"):
        ip.plotting.individual_fit(pk_fit, 99, "il21_plasma")
    monkeypatch.setattr(type(pk_fit), "simulate_observations",
                        lambda *a, **k: pytest.fail("simulated before checking the variable"))
    with pytest.raises(DataError, match="posterior_predictive_check: variable 'A' was not"):
        ip.plotting.posterior_predictive_check(pk_fit, "A", n=200, seed=2)
    plt.close("all")


def test_posterior_predictive_bands_are_seeded_and_cover_the_data(pk_fit):
    a = pk_fit.simulate_observations(50, seed=1)
    pd.testing.assert_frame_equal(a, pk_fit.simulate_observations(50, seed=1))
    assert list(a.columns) == ["replicate", "subject", "time_h", "variable", "value"]
    ax = ip.plotting.posterior_predictive_check(pk_fit, "il21_plasma", n=200, seed=2)
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    observed = pk_fit.residuals.loc[~pk_fit.residuals["blq"], "observed"]
    assert band.max() >= observed.max() * 0.8
    # the old name still draws the same check for a single fit
    old = ip.plotting.vpc(pk_fit, "il21_plasma", n=200, seed=2)
    np.testing.assert_allclose(old.collections[0].get_paths()[0].vertices,
                               ax.collections[0].get_paths()[0].vertices)
    plt.close("all")


def test_dataset_from_nonmem_maps_dvid_units_blq_and_weight():
    df = pd.DataFrame({
        "ID": [1, 1, 1, 1, 1], "TIME": [0.0, 0.5, 1.0, 24.0, 48.0],
        "AMT": [30.0, 0, 0, 0, 0], "DV": [0, 462.0, 200.0, 180.0, np.nan],
        "EVID": [1, 0, 0, 0, 0], "MDV": [1, 0, 0, 0, 0], "CMT": [2, 2, 2, 2, 2],
        "DVID": [0, 1, 2, 2, 1], "BLQ": [0, 0, 0, 0, 1], "LLOQ": [np.nan, 0.05, np.nan,
                                                                  np.nan, 0.05],
        "WT": [82.0] * 5})
    data = ip.Dataset.from_nonmem(df, units={"il21_plasma": "ng/mL"})
    obs = data.observations
    assert obs["variable"].tolist() == ["il21_plasma", "nk_blood", "nk_blood", "il21_plasma"]
    assert obs["value"].iloc[0] == pytest.approx(462.0 / 15.4)  # ng/mL -> nM
    assert obs["blq"].tolist() == [False, False, False, True]
    assert obs["value"].iloc[3] == pytest.approx(0.05 / 15.4)
    assert data.covariates["body_weight"].tolist() == [82.0]
    assert data.regimens[1].doses[0].amount == 30.0


@pytest.mark.parametrize("change,match", [
    (lambda d: d.drop(columns=["DV"]), r"missing required column\(s\) \['DV'\]"),
    (lambda d: d.assign(DV=[0, np.nan, 1.0]), r"row 1: column 'DV' is NaN on an observation"),
    (lambda d: d.assign(TIME=[0.0, 2.0, 1.0]), r"TIME decreases within subject ID=1"),
    (lambda d: d.assign(DVID=[0, 9, 1]), r"row 1: column DVID = 9 names no observed variable"),
    (lambda d: d.assign(AMT=[0.0, 0, 0]), r"row 0: EVID=1 \(dose\) needs AMT > 0"),
])
def test_bad_nonmem_data_is_a_data_error(change, match):
    base = pd.DataFrame({"ID": [1, 1, 1], "TIME": [0.0, 1.0, 2.0], "AMT": [30.0, 0, 0],
                         "DV": [0, 1.0, 2.0], "EVID": [1, 0, 0], "DVID": [0, 1, 1]})
    with pytest.raises(ip.DataError, match=match):
        ip.Dataset.from_nonmem(change(base))


def test_from_frame_maps_columns_and_rejects_unknown_variables():
    df = pd.DataFrame({"Time": [1.0, 2.0], "Conc": [5.0, 3.0], "ID": ["a", "a"]})
    data = ip.Dataset.from_frame(df, time="Time", value="Conc", variable="il21_plasma",
                                 subject="ID", regimen=SC, time_unit="d",
                                 units={"il21_plasma": "pM"})
    assert data.observations["time_h"].tolist() == [24.0, 48.0]
    assert data.observations["value"].tolist() == [0.005, 0.003]
    with pytest.raises(ip.DataError, match=r"missing column\(s\) \['Time'\]"):
        ip.Dataset.from_frame(df.drop(columns="Time"), time="Time", value="Conc",
                              variable="il21_plasma", subject="ID", regimen=SC)
    with pytest.raises(ip.DataError, match=r"unknown variable 'il-21'"):
        ip.Dataset.from_frame(df.assign(var="il-21"), time="Time", value="Conc",
                              variable="var", subject="ID", regimen=SC)
    with pytest.raises(ip.DataError, match="cannot convert"):
        ip.Dataset.from_frame(df, time="Time", value="Conc", variable="nk_blood",
                              subject="ID", regimen=SC, units={"nk_blood": "ng/mL"})


def test_cli_fit_writes_tables_report_and_plots(tmp_path, capsys):
    truth = ip.parameter_sets.load("human").with_values(mw=1.0, v_central=10.0, cl=2.0, q=0.0,
                                                        ka=0.8, f_sc=0.6)
    data = _pk_data(truth, np.random.default_rng(5), "proportional", b=0.1)
    obs = data.observations
    csv = tmp_path / "obs.csv"
    obs.assign(dose=obs["subject"].map({0: 10.0, 1: 30.0, 2: 100.0})).to_csv(csv, index=False)
    out = tmp_path / "fit"
    status = main(["fit", "--data", str(csv), "--model", "pk", "--set", "mw=1", "--set", "q=0",
                   "--set", "f_sc=0.6", "--set", "ka=0.8", "--set", "v_central=10",
                   "--dose", "1", "--unit", "nmol", "--route", "sc", "--schedule", "single",
                   "--columns", "dose=dose", "--free", "cl", "--out", str(out)])
    assert status == 0
    table = pd.read_csv(out / "fit_table.csv")
    assert table.set_index("name").loc["cl", "estimate"] == pytest.approx(2.0, rel=0.05)
    assert (out / "fit_diagnostics.png").stat().st_size > 20_000
    assert "[[Fit statistics]]" in (out / "fit_report.txt").read_text()
