"""Plots render under Agg and draw what they claim (lines, bands, labels, units)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

import il21pk as ip

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

REG = ip.Regimen.repeat(ip.Dose(30.0), every=24, count=2)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_population_band(model, human, tmp_path):
    pop = ip.virtual_population(human, 12, {"cl": 0.4, "kp_nk": 0.5}, seed=1)
    traj = ip.sweep(model, REG, human, samples=pop, t_end=72.0, output="trajectories",
                    variables=["nk_blood"])
    ax = ip.plotting.population(traj, "nk_blood")
    assert ax.get_ylabel() == "circulating NK [cells/uL]"
    (median,) = ax.get_lines()
    expected = traj.groupby("time_h")["value"].median().to_numpy()
    np.testing.assert_allclose(median.get_ydata(), expected)
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() <= expected.min() and band.max() >= expected.max()
    ax.figure.savefig(tmp_path / "pop.png")
    assert (tmp_path / "pop.png").stat().st_size > 5000


def test_sweep_heatmap(model, human):
    df = ip.sweep(model, REG, human, grid={"dose": [3, 30], "kp_nk": [0.002, 0.01, 0.02]},
                  t_end=72.0, variables=["nk_marginated"], metrics=["peak_fold_change"])
    ax = ip.plotting.sweep_heatmap(df, "dose", "kp_nk", variable="nk_marginated",
                                   metric="peak_fold_change")
    values = ax.collections[0].get_array()
    assert values.shape == (6,) or values.shape == (3, 2)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["3", "30"]
    assert ax.figure.axes[1].get_ylabel() == "peak_fold_change of nk_marginated [1]"


def test_nca_profile_marks_terminal_points(drug):
    res = ip.simulate(ip.Model.pk_only(compartments=1), ip.Dose(50.0, unit="nmol"), drug,
                      t_end=24.0, t_eval=np.arange(0.0, 24.1, 2.0))
    curve = res.frame[res.frame["variable"] == "il21_plasma"]
    row = ip.nca(curve, dose=50.0).iloc[0]
    ax = ip.plotting.nca_profile(curve, row, variable="il21_plasma")
    observed, terminal, line = ax.get_lines()
    assert len(terminal.get_xdata()) == row["lambda_z_n"]
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "il21_plasma [nM]"
    assert "t1/2 = 3.47 h" in line.get_label()


def test_dose_response_plot_without_uncertainty_draws_no_band(model, human):
    """A deterministic dose-response has no interval: the plot draws the fit alone."""
    dr = ip.dose_response(model, ip.Dose(30.0), human, doses=[0.3, 1, 3, 10, 30, 100, 300],
                          response="receptor_occupancy", metric="cmax", t_end=24)
    ax = ip.plotting.dose_response(dr)
    assert not ax.collections  # no fill_between band
    assert any(line.get_label() == "Emax/Hill fit" for line in ax.get_lines())
    plt.close("all")
