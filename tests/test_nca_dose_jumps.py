"""NCA with bolus doses as jumps (a simulation's value just before and just after each
dose at one time) and of flat curves, against closed forms."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import il21pk as ip
from il21pk.analysis.nca import apply_blq_rules, nca_curve

# one compartment, V 10 L, CL 2 L/h (k 0.2 /h), 100 nmol IV every 24 h at 0, 24, ..., 96 h
V, CL, D, TAU, N = 10.0, 2.0, 100.0, 24.0, 5
K = CL / V
R = np.exp(-K * TAU)
DOSES = TAU * np.arange(N)


def _peak(n: int) -> float:
    """C just after dose n (n = 0, 1, ...)."""
    return D / V * (1 - R ** (n + 1)) / (1 - R)


def _interval_auc(n: int) -> float:
    """AUC over the dosing interval that starts at dose n."""
    return _peak(n) * (1 - R) / K


def _auc_to(t_end: float) -> float:
    return float(np.sum(D / CL * (1 - np.exp(-K * (t_end - DOSES)))))


def _jump_curve(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The closed-form curve at `times` (after the dose at a dose time), with the value
    just before each dose in (0, 96] inserted before it: each bolus a jump."""
    pre = DOSES[1:]
    t = np.concatenate([times, pre])
    before = np.concatenate([np.zeros(times.size, bool), np.ones(pre.size, bool)])
    order = np.lexsort((~before, t))  # at one time, the point before the dose first
    t, before = t[order], before[order]
    given = (DOSES[None, :] < t[:, None]) | ((DOSES[None, :] == t[:, None]) & ~before[:, None])
    c = np.sum(np.where(given, D / V * np.exp(-K * (t[:, None] - DOSES[None, :])), 0.0), axis=1)
    return t, c


def test_interval_of_a_curve_with_jumps_starts_after_and_ends_before_a_dose():
    t, c = _jump_curve(np.arange(0.0, 121.0))
    row = nca_curve(t, c, dose=D, tau=TAU, start=72.0, lloq=None)
    # the interval [72, 96]: from the peak after the dose at 72 to the trough before 96
    assert row["auc_tau"] == pytest.approx(_interval_auc(3), rel=1e-12)
    assert row["cmax_tau"] == pytest.approx(_peak(3), rel=1e-14)
    assert row["cmin_tau"] == pytest.approx(_peak(3) * R, rel=1e-14)
    assert row["auc_tau_first"] == pytest.approx(_interval_auc(0), rel=1e-12)
    assert row["accumulation_ratio"] == pytest.approx(_interval_auc(3) / _interval_auc(0),
                                                      rel=1e-12)
    assert row["cl_ss"] == pytest.approx(D / _interval_auc(3), rel=1e-12)
    # each jump has zero width: AUC0-last is the sum of the doses' areas
    assert row["auc_last"] == pytest.approx(_auc_to(120.0), rel=1e-12)


def test_given_terminal_point_at_a_dose_takes_the_value_after_it():
    t, c = _jump_curve(np.arange(0.0, 121.0))
    row = nca_curve(t, c, points=[96.0, 100.0, 120.0], lloq=None)
    assert row["lambda_z"] == pytest.approx(K, rel=1e-12)
    assert (row["lambda_z_n"], row["lambda_z_t_first"]) == (3, 96.0)


def test_blq_trough_before_a_dose_counts_as_0_not_as_a_ramp_to_the_dose():
    # halving every 2 h after doses at 0 and 24 h; LLOQ 0.75: 16, 8, 4, 2, 1 then BLQ
    # until the next dose (8 points incl. the trough at 24 h) and after 32 h (4 points)
    after = np.arange(0.0, 25.0, 2.0)
    t = np.concatenate([after, after[-1:], 24.0 + after[1:9]])
    c = np.concatenate([16.0 * 0.5 ** (after / 2), [16.0], 16.0 * 0.5 ** (after[1:9] / 2)])
    row = nca_curve(t, c, lloq=0.75)
    # per dose: log-down 16 -> 1 over 0..8 h = 2 (16 - 1) / ln 2; after the first, 1 -> 0
    # linear over 8..10 h (area 1); AUC0-last ends at Tlast = 32 h
    assert row["auc_last"] == pytest.approx(2 * 30 / np.log(2) + 1.0, rel=1e-14)
    assert (row["tlast"], row["clast"], row["n_blq"]) == (32.0, 1.0, 12)
    assert row["lambda_z"] == pytest.approx(np.log(2) / 2, rel=1e-12)


@pytest.mark.parametrize("scale", [1.0, 0.1], ids=["hours", "tenths (times rounded)"])
def test_sampled_blq_trough_at_a_dose_counts_as_0_for_both_intervals(scale):
    # observed samples every 2 h, halving every 2 h after doses at 0 and 24 h; the
    # sample at 24 h is the trough before the second dose. LLOQ 0.75: 16, 8, 4, 2, 1,
    # then BLQ from 10 h to the trough at 24 h; after it 8, 4, 2, 1, then BLQ to 48 h
    # (times x `scale`: 2.4000000000000004 is the trough, start + tau is 2.4)
    t = np.arange(0.0, 49.0, 2.0) * scale
    hours = np.arange(0.0, 49.0, 2.0)
    c = np.where(hours < 24.0, 16.0 * 0.5 ** (hours / 2), 16.0 * 0.5 ** ((hours - 24.0) / 2))
    c[hours == 24.0] = 16.0 * 0.5 ** 12  # the trough, before the dose
    frame = pd.DataFrame({"time_h": t, "value": c})
    row = ip.nca(frame, tau=24.0 * scale, start=24.0 * scale, lloq=0.75).iloc[0]
    # first interval: log-down 16 -> 1 over 0..8 h, then 1 -> 0 (trailing BLQ) over
    # 8..10 h; second: 0 (the trough, leading BLQ) -> 8 over 24..26 h (linear up),
    # log-down 8 -> 1 over 26..32 h, 1 -> 0 over 32..34 h
    first = scale * (2 * 15 / np.log(2) + 1.0)
    second = scale * (8.0 + 2 * 7 / np.log(2) + 1.0)
    assert row["auc_tau_first"] == pytest.approx(first, rel=1e-13)
    assert row["auc_tau"] == pytest.approx(second, rel=1e-13)
    assert row["accumulation_ratio"] == pytest.approx(second / first, rel=1e-13)
    assert (row["cmin_tau"], row["cmax_tau"]) == (0.0, 8.0)
    # each BLQ sample counted once: 10..24 h and 34..48 h
    assert row["n_blq"] == 16
    # without tau the trough is between quantifiable samples and left out
    plain = ip.nca(frame, lloq=0.75).iloc[0]
    assert plain["auc_last"] > first + second
    # nothing BLQ: the trough is a sample like any other, with or without tau
    # (returned once: the AUCs see it once); lambda_z, of one exponential, from
    # the points after the last dose with tau
    every = ip.nca(frame, lloq=None).iloc[0]
    with_tau = ip.nca(frame, lloq=None, tau=24.0 * scale, start=24.0 * scale).iloc[0]
    for column in ("auc_last", "tlast", "n_blq"):
        assert with_tau[column] == every[column], column
    assert with_tau["lambda_z"] == pytest.approx(np.log(2) / (2 * scale), rel=1e-13)
    assert with_tau["lambda_z_t_first"] > 24.0 * scale
    kept_t, kept_c, _ = apply_blq_rules(t, c, 0.75, doses=[24.0 * scale])
    assert np.all(np.diff(kept_t) > 0)  # no sample twice
    assert kept_c[np.argmin(np.abs(kept_t - 24.0 * scale))] == 0.0


@pytest.mark.parametrize("tau", [None, 24.0], ids=["jumps", "sampled with tau"])
def test_terminal_phase_is_after_the_last_dose(tau):
    # peaks 10 then 8 or 6: after the global Tmax (0 h) the regression ran across the
    # dose at 24 h (5 at 4 h, 6 at 28 h, 3 at 32 h: lambda_z 0.0092 /h). After the last
    # dose only 28 and 32 h are quantifiable: too few for a terminal phase
    if tau is None:  # a simulation's full curve: the dose at 24 h a jump
        t = np.array([0.0, 4.0, 8.0, 24.0, 24.0, 28.0, 32.0, 48.0])
        c = np.array([10.0, 5.0, 0.0, 0.0, 8.0, 6.0, 3.0, 0.0])
    else:
        t = np.array([0.0, 4.0, 8.0, 24.0, 28.0, 32.0, 48.0])
        c = np.array([10.0, 5.0, 0.0, 0.0, 6.0, 3.0, 0.0])
    row = nca_curve(t, c, lloq=0.5, tau=tau, start=None if tau is None else 0.0)
    assert np.isnan(row["lambda_z"]) and row["lambda_z_n"] == 0
    # with two more points after the dose: its decline (t1/2 4 h), from the points
    # after its Tmax (the jump's 24 h; the sampled curve's 28 h)
    t, c = np.append(t[:-1], [36.0, 40.0, 48.0]), np.append(c[:-1], [1.5, 0.75, 0.0])
    row = nca_curve(t, c, lloq=0.5, tau=tau, start=None if tau is None else 0.0)
    assert row["lambda_z"] == pytest.approx(np.log(2) / 4.0, rel=1e-13)
    assert row["lambda_z_t_first"] == (28.0 if tau is None else 32.0)


def test_sampled_doses_are_counted_from_time_0_and_a_misaligned_start_is_told():
    # the curve above sampled from 2 h: without `start` the doses are still at 0 and
    # 24 h (time 0 is the first dose), so the trough at 24 h is BLQ and 0; the first
    # interval starts at the first sample: [2, 26] h: log-down 8 -> 1 over 2..8 h,
    # 1 -> 0 over 8..10 h, 0 -> 8 over 24..26 h (doses taken from 2 h: 101)
    hours = np.arange(2.0, 49.0, 2.0)
    c = np.where(hours < 24.0, 16.0 * 0.5 ** (hours / 2), 16.0 * 0.5 ** ((hours - 24.0) / 2))
    c[hours == 24.0] = 16.0 * 0.5 ** 12
    frame = pd.DataFrame({"time_h": hours, "value": c})
    with pytest.warns(UserWarning, match="start after time 0"):
        row = ip.nca(frame, tau=24.0, lloq=0.75).iloc[0]
    assert row["auc_tau_first"] == pytest.approx(2 * 7 / np.log(2) + 1.0 + 8.0, rel=1e-13)
    with pytest.warns(UserWarning) as record:
        ip.nca(frame, tau=24.0, start=5.0, lloq=0.75)
    assert any("`start` 5 is not a whole number of `tau` (24)" in str(w.message)
               for w in record)


def test_sampled_tiny_tau_cuts_every_gap_once():
    # a dose in every gap between samples: each sample its own stretch, so every
    # BLQ sample is leading or trailing (0), none left out
    t = np.linspace(0.0, 100.0, 101)
    c = np.where(np.arange(101) % 2 == 0, 10.0, 0.1)
    row = nca_curve(t, c, lloq=1.0, tau=1e-6, start=0.0)
    assert row["auc_last"] == pytest.approx(5.0 * 100, rel=1e-13)  # 10 -> 0 or 0 -> 10 per gap
    assert row["n_blq"] == 50


@pytest.fixture(scope="module")
def one_compartment(human) -> tuple[ip.Model, ip.ParameterSet]:
    model = ip.Model.pk_only(compartments=1)
    values = {"mw": 15.4, "body_weight": 70.0, "v_central": V, "cl": CL, "ka": 0.5,
              "f_sc": 0.6, "tlag_sc": 1.5}
    return model, model.parameter_set({n: (v, "test") for n, v in values.items()}, base=None)


@pytest.mark.parametrize("t_eval", [None, np.arange(0.0, 121.0, 5.0)],
                         ids=["hourly grid with the dose times", "5 h grid without them"])
def test_a_simulation_result_is_analysed_with_each_bolus_a_jump(one_compartment, t_eval):
    model, params = one_compartment
    regimen = ip.Regimen.repeat(ip.Dose(D, unit="nmol"), every=TAU, count=N)
    res = ip.simulate(model, regimen, params, t_end=120.0, t_eval=t_eval, rtol=1e-10,
                      atol=1e-12)
    frame = res.frame.copy()
    table = ip.nca(res, dose=D, tau=TAU, start=72.0).set_index("variable")
    row = table.loc["il21_plasma"]
    # the solver's rtol 1e-10 bounds the error; the curve was off by 10 % as a ramp
    assert row["auc_tau"] == pytest.approx(_interval_auc(3), rel=1e-8)
    assert row["cmin_tau"] == pytest.approx(_peak(3) * R, rel=1e-8)
    assert row["cmax_tau"] == pytest.approx(_peak(3), rel=1e-8)
    assert row["cl_ss"] == pytest.approx(D / _interval_auc(3), rel=1e-8)
    assert row["auc_tau_first"] == pytest.approx(_interval_auc(0), rel=1e-8)
    assert row["accumulation_ratio"] == pytest.approx(_interval_auc(3) / _interval_auc(0),
                                                      rel=1e-8)
    last = ip.nca(res, lloq=None).set_index("variable").loc["il21_plasma"]
    assert last["auc_last"] == pytest.approx(_auc_to(120.0), rel=1e-8)
    assert last["lambda_z"] == pytest.approx(K, rel=1e-8)
    pd.testing.assert_frame_equal(res.frame, frame)  # the result is not changed


def test_simulated_troughs_below_the_auto_lloq_are_not_ramped(one_compartment):
    # k = 2 /h: troughs 24 h after a dose are e^-48 of the peak, far below the
    # automatic LLOQ (1e-6 Cmax); dropped as "middle" BLQ they ramped the curve up
    # to the next dose (AUC 195 instead of 15)
    model, params = one_compartment
    res = ip.simulate(model, ip.Regimen.repeat(ip.Dose(D, unit="nmol"), every=TAU, count=3),
                      params.with_values(cl=20.0, source="test"), t_end=72.0, rtol=1e-10,
                      atol=1e-14)
    row = ip.nca(res).set_index("variable").loc["il21_plasma"]
    # each dose's area is D/CL. A trough counts as 0 from the grid point after the last
    # quantifiable value C_q: a linear step down of area C_q * 1 h / 2 = C_q / k, the
    # exponential tail it replaces (k = 2 /h); after the last dose AUC0-last stops at
    # Clast and AUC0-inf adds Clast / k
    assert row["auc_last"] == pytest.approx(3 * D / 20.0 - row["clast"] / 2.0, rel=1e-8)
    assert row["auc_inf"] == pytest.approx(3 * D / 20.0, rel=1e-8)
    assert row["lambda_z"] == pytest.approx(2.0, rel=1e-8)


def test_simulated_sc_troughs_below_the_lloq_are_0_per_interval(one_compartment):
    # SC doses: plasma has no jump at a dose, so the doses come from `tau`. ka 0.5 /h,
    # k 2 /h: what is left of a dose after 24 h is e^-12 of it, so the accumulation
    # ratio is 1 to about 1e-5. Left out as middle BLQ, the troughs below the LLOQ
    # ramped the first interval's end up to the next absorption peak (ratio 0.75)
    model, params = one_compartment
    regimen = ip.Regimen.repeat(ip.Dose(D, unit="nmol", route="sc"), every=TAU, count=5)
    res = ip.simulate(model, regimen, params.with_values(cl=20.0, source="test"),
                      t_end=120.0, rtol=1e-10, atol=1e-14)
    row = ip.nca(res, tau=TAU, start=96.0, lloq=0.05).set_index("variable").loc["il21_plasma"]
    assert row["accumulation_ratio"] == pytest.approx(1.0, abs=1e-3)
    assert row["cmin_tau"] == 0.0


def test_nca_names_what_it_takes():
    with pytest.raises(TypeError, match=r"a pandas DataFrame or a SimulationResult; got list"):
        ip.nca([0.0, 1.0])


@pytest.mark.filterwarnings("ignore:nca. 1 curve.s. start after time 0")
@pytest.mark.parametrize("times", [np.arange(0.0, 25.0), 1e4 + np.arange(0.0, 25.0)],
                         ids=["from 0 h", "from 10^4 h"])
def test_a_flat_curve_has_no_terminal_phase(times):
    flat = pd.DataFrame({"time_h": times, "value": np.full(times.size, 7.3)})
    # round-off: the second half one ulp lower
    wobbly = flat.assign(value=np.where(times < times[12], 7.3, np.nextafter(7.3, 0.0)))
    for curve, points in ((flat, None), (wobbly, None), (flat, list(times[-3:]))):
        row = ip.nca(curve, dose=10.0, points=points).iloc[0]
        for name in ("lambda_z", "half_life", "auc_inf", "auc_pct_extrap", "r2_adj", "vz",
                     "cl", "lambda_z_t_first"):
            assert np.isnan(row[name]), name
        assert row["lambda_z_n"] == 0
        assert row["auc_last"] == pytest.approx(7.3 * 24.0, rel=1e-15)
    # a slow but real decline is still a terminal phase
    slow = flat.assign(value=7.3 * np.exp(-1e-9 * (times - times[0])))
    assert ip.nca(slow).iloc[0]["lambda_z"] == pytest.approx(1e-9, rel=1e-6)



def test_nca_of_a_simulation_frame_warns_about_its_ramps():
    # the frame holds only the value after each bolus at its time: nca of the frame
    # ramps over the grid step before each later dose; it now says so and what to pass
    pk = ip.Model.pk_only(compartments=1)
    params = ip.parameter_sets.load("human").with_values(cl=2.0, v_central=10.0)
    result = ip.simulate(pk, ip.Regimen.repeat(ip.Dose(100.0, unit="nmol"), every=24.0,
                                               count=3), params, t_end=72.0)
    plasma = result.frame[result.frame["variable"] == "il21_plasma"]
    with pytest.warns(UserWarning, match=r"IV bolus times after its first sample \(24, 48\)"):
        ip.nca(plasma)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ip.nca(result)  # exact jumps: nothing to warn about
        single = ip.simulate(pk, ip.Dose(100.0, unit="nmol"), params, t_end=72.0)
        ip.nca(single.frame[single.frame["variable"] == "il21_plasma"])  # dose at the start
    # a sweep's trajectories too
    traj = ip.sweep(pk, ip.Regimen.repeat(ip.Dose(100.0, unit="nmol"), every=24.0, count=3),
                    params, grid={"cl": [1.0, 2.0]}, t_end=72.0, output="trajectories",
                    variables=["il21_plasma"], executor="serial")
    with pytest.warns(UserWarning, match=r"IV bolus times after its first sample \(24, 48\)"):
        ip.nca(traj)
