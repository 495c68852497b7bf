"""NCA rules of issue 14: log-down precision, BLQ/LLOQ, curves decaying into solver
noise, dosing-interval statistics, apparent clearance named as such, NaN keys kept."""

from __future__ import annotations

from decimal import Decimal, getcontext

import numpy as np
import pandas as pd
import pytest

import il21pk as ip
from il21pk.analysis.nca import AUTO_LLOQ, auc


def _curve(t, c, **extra):
    return pd.DataFrame({"time_h": t, "value": c, **extra})


def _log_trapezoid_exact(dt: float, c1: float, c2: float) -> float:
    """dt (c1 - c2) / ln(c1 / c2) of the two floats, in 60-digit decimal arithmetic."""
    getcontext().prec = 60
    a, b = Decimal(c1), Decimal(c2)
    return float(Decimal(dt) * (a - b) / (a / b).ln())


@pytest.mark.parametrize("c1,c2,dt", [
    (400.0, 400.0 * (1 - 1e-15), 24.0),  # the case: 10752 instead of ~9600
    (1.0, float(np.nextafter(1.0, 0.0)), 1.0),  # one ulp apart: 0.5 instead of 1.0
    (1e-300, 0.999999e-300, 2.0),
    (5.0, 4.999999, 3.0),
    (10.0, 8.0, 1.0),
    (1e6, 1e-6, 10.0),
    (1.0, 5e-324, 1.0),  # c1/c2 overflows: the area is finite, not NaN
    (1e300, 1e-300, 1.0),
])
def test_log_down_area_is_accurate_for_nearly_equal_values(c1, c2, dt):
    got = auc(np.array([0.0, dt]), np.array([c1, c2]))
    assert got == pytest.approx(_log_trapezoid_exact(dt, c1, c2), rel=4e-15)


def test_log_down_equals_linear_on_a_simulated_plateau(model, human):
    # il21_degraded accumulates to a plateau with round-off wiggles: both rules must
    # agree there (log-down came out about 1 % low)
    res = ip.simulate(model, ip.Dose(30.0), human, t_end=672.0)
    curve = res.frame[res.frame["variable"] == "il21_degraded"]
    log_down = ip.nca(curve, lloq=None).iloc[0]["auc_last"]
    linear = ip.nca(curve, method="linear", lloq=None).iloc[0]["auc_last"]
    assert log_down == pytest.approx(linear, rel=1e-9)


def test_nan_curve_keys_are_kept_not_dropped():
    df = pd.DataFrame({"run": [0, 0, 0, np.nan, np.nan, np.nan], "time_h": [0, 1, 2] * 2,
                       "value": [1.0, 4.0, 2.0, 1.0, 8.0, 4.0]})
    table = ip.nca(df)
    assert len(table) == 2 and table["run"].isna().tolist() == [False, True]
    assert table["cmax"].tolist() == [4.0, 8.0]


def test_blq_rules_first_zero_middle_dropped_last_zero():
    t = np.array([0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 16.0])
    c = np.array([0.05, 8.0, 0.05, 4.0, 2.0, 1.0, 0.5, 0.05, 0.02])
    row = ip.nca(_curve(t, c), by=[], lloq=0.1).iloc[0]
    # kept: 0 h -> 0 (leading BLQ), 2 h dropped (middle), 12 and 16 h -> 0 (trailing)
    expected = (8.0 / 2 + 3 * 4.0 / np.log(2.0) + 2 * 2.0 / np.log(2.0)
                + 2 * 1.0 / np.log(2.0) + 2 * 0.5 / np.log(2.0))
    assert row["auc_last"] == pytest.approx(expected, rel=1e-14)
    assert (row["tlast"], row["clast"], row["n_blq"], row["lloq"]) == (10.0, 0.5, 4, 0.1)
    assert row["lambda_z"] == pytest.approx(np.log(2) / 2, rel=1e-12)
    assert row["lambda_z_t_first"] == 4.0  # from quantifiable samples only


def test_lloq_column_per_curve():
    df = pd.concat([_curve([0.0, 1, 2, 3], [0.0, 4, 2, 0.3], id=1, q=0.5),
                    _curve([0.0, 1, 2, 3], [0.0, 4, 2, 0.3], id=2, q=0.1)])
    table = ip.nca(df, by=["id"], lloq="q")
    assert table["tlast"].tolist() == [2.0, 3.0]
    with pytest.raises(ip.DataError, match=r"lloq column 'q' must be constant within a curve"):
        ip.nca(df.assign(q=[0.1, 0.2] * 4), by=["id"], lloq="q")


def test_curve_decaying_into_solver_noise_keeps_the_true_terminal_slope(drug):
    # 672 h of a 0.2 /h elimination: the tail is round-off (1e-16 and below, some < 0);
    # the slope used to come from those points (0.132 /h instead of 0.2 /h)
    res = ip.simulate(ip.Model.pk_only(compartments=1), ip.Dose(50.0, unit="nmol"), drug,
                      t_end=672.0, rtol=1e-10, atol=1e-14)
    curve = res.frame[res.frame["variable"] == "il21_plasma"]
    row = ip.nca(curve, dose=50.0).iloc[0]
    assert row["lambda_z"] == pytest.approx(0.2, rel=1e-6)
    assert row["clast"] >= AUTO_LLOQ * row["cmax"] and row["tlast"] < 672.0
    assert row["cl"] == pytest.approx(2.0, rel=1e-6)


def _multiple_bolus(k: float, v: float, dose: float, tau: float, n: int, step: float):
    """Samples of n IV boluses every tau: post-dose at 0 and at the last dose, troughs at
    the other dose times (a real schedule samples before dosing)."""
    times = np.arange(0.0, n * tau + step / 2, step)
    last = (n - 1) * tau
    conc = []
    for t in times:
        given = np.arange(n) * tau
        at_dose_trough = t in given and 0 < t < last
        doses = given[(given < t) | ((given == t) & (not at_dose_trough))]
        conc.append(np.sum(dose / v * np.exp(-k * (t - doses))))
    return times, np.array(conc)


def test_dosing_interval_auc_accumulation_and_steady_state_clearance():
    k, v, dose, tau, n = 0.1, 10.0, 100.0, 12.0, 6
    t, c = _multiple_bolus(k, v, dose, tau, n, step=1.0)
    row = ip.nca(_curve(t, c), by=[], dose=dose, tau=tau, start=(n - 1) * tau,
                 lloq=None).iloc[0]
    cl = k * v
    # linear PK: AUC over the n-th interval = dose/CL (1 - e^{-n k tau}); first: n = 1
    assert row["auc_tau"] == pytest.approx(dose / cl * (1 - np.exp(-n * k * tau)), rel=1e-12)
    assert row["auc_tau_first"] == pytest.approx(dose / cl * (1 - np.exp(-k * tau)), rel=1e-12)
    ratio = (1 - np.exp(-n * k * tau)) / (1 - np.exp(-k * tau))
    assert row["accumulation_ratio"] == pytest.approx(ratio, rel=1e-12)
    assert row["cavg_tau"] == pytest.approx(row["auc_tau"] / tau, rel=1e-15)
    cmax = dose / v * np.sum(np.exp(-k * tau * np.arange(n)))
    assert row["cmax_tau"] == pytest.approx(cmax, rel=1e-14)
    assert row["cmin_tau"] == pytest.approx(cmax * np.exp(-k * tau), rel=1e-14)
    assert row["cl_ss"] == pytest.approx(cl / (1 - np.exp(-n * k * tau)), rel=1e-12)
    assert row["fluctuation_pct"] == pytest.approx(
        100 * (row["cmax_tau"] - row["cmin_tau"]) / row["cavg_tau"], rel=1e-14)


def test_interval_ends_between_samples_are_interpolated():
    t = np.array([0.0, 2.0, 4.0, 8.0])
    c = 16.0 * np.exp(-np.log(2) / 2 * t)  # t1/2 = 2 h
    with pytest.warns(UserWarning, match=r"`start` 1 is not a whole number of `tau`"):
        row = ip.nca(_curve(t, c), by=[], tau=5.0, start=1.0, lloq=None).iloc[0]
    exact = 16.0 / (np.log(2) / 2) * (np.exp(-np.log(2) / 2) - np.exp(-np.log(2) / 2 * 6.0))
    assert row["auc_tau"] == pytest.approx(exact, rel=1e-12)


def test_interval_outside_the_samples_is_an_error():
    with pytest.raises(ip.DataError, match=r"dosing interval \[24, 48\] h"):
        ip.nca(_curve([0.0, 1.0, 24.0], [0.0, 5.0, 1.0]), by=[], tau=24.0, start=24.0)


def test_extravascular_clearance_and_volume_are_named_apparent():
    t = np.array([0.0, 1.0, 2.0, 4.0, 8.0])
    c = np.array([0.0, 10.0, 8.0, 4.0, 1.0])
    iv = ip.nca(_curve(t, c), by=[], dose=100.0).iloc[0]
    sc = ip.nca(_curve(t, c), by=[], dose=100.0, route="extravascular").iloc[0]
    assert "cl" not in sc.index and "vz" not in sc.index
    assert sc["cl_f"] == iv["cl"] and sc["vz_f"] == iv["vz"]
    sc_ss = ip.nca(_curve(t, c), by=[], dose=100.0, route="extravascular", tau=4.0)
    assert "cl_f_ss" in sc_ss.columns and "cl_ss" not in sc_ss.columns


@pytest.mark.parametrize("kwargs,error,match", [
    ({"dose": -1.0}, ip.errors.OptionError, r"`dose` must be a finite number > 0; got -1.0"),
    ({"tau": 0.0}, ip.errors.OptionError, r"`tau` must be a finite number > 0"),
    ({"lloq": "nope"}, ip.DataError, r"`lloq` 'nope' is neither 'auto' nor a column"),
    ({"points": ["a"]}, TypeError, r"`points` must be a sequence of times"),
    ({"route": "sc"}, ValueError, r"`route` must be 'iv' or 'extravascular'; got 'sc'"),
])
def test_bad_options_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        ip.nca(_curve([0.0, 1.0, 2.0], [0.0, 2.0, 1.0]), by=[], **kwargs)
