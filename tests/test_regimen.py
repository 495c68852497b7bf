"""Dose and Regimen: validation, schedules, combination, words and frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import il21pk as ip


@pytest.mark.parametrize("kwargs,match", [
    ({"amount": -1.0}, r"Dose\.amount must be >= 0 \(ug/kg\); got -1"),
    ({"amount": float("nan")}, r"Dose\.amount must be finite; got nan"),
    ({"amount": "30"}, r"Dose\.amount must be a real number; got '30'"),
    ({"amount": 1.0, "unit": "ug/lb"}, r"Dose\.unit must be one of .*got 'ug/lb'"),
    ({"amount": 1.0, "route": "im"}, r"Dose\.route must be one of \['iv', 'sc'\]; got 'im'"),
    ({"amount": 1.0, "time": -2.0}, r"Dose\.time must be >= 0 h; got -2"),
    ({"amount": 1.0, "duration": -1.0}, r"Dose\.duration must be >= 0 h; got -1"),
    ({"amount": 1.0, "route": "sc", "duration": 1.0}, r"only allowed for route 'iv'"),
])
def test_bad_doses_name_the_field(kwargs, match):
    with pytest.raises(ip.RegimenError, match=match):
        ip.Dose(**kwargs)


@pytest.mark.parametrize("kwargs,match", [
    ({"every": 24.0, "count": 0}, r"count must be >= 1; got 0"),
    ({"every": 24.0, "count": 2.5}, r"count must be an integer >= 1; got 2.5"),
    ({"every": 0.0, "count": 3}, r"every must be > 0 h; got 0"),
    ({"every": -24.0, "count": 3}, r"every must be > 0 h; got -24"),
])
def test_bad_repeats_name_the_field(kwargs, match):
    with pytest.raises(ip.RegimenError, match=match):
        ip.Regimen.repeat(ip.Dose(1.0), **kwargs)


def test_infusion_longer_than_interval_is_rejected():
    with pytest.raises(ip.RegimenError, match="longer than the dosing interval"):
        ip.Regimen.repeat(ip.Dose(1.0, duration=30.0), every=24.0, count=2)


def test_repeat_and_words():
    reg = ip.Regimen.repeat(ip.Dose(30, route="sc"), every=24, count=5, start=12)
    assert reg.to_frame()["time_h"].tolist() == [12, 36, 60, 84, 108]
    assert reg.in_words() == "30 ug/kg SC at t=12 h, repeated every 24 h, 5 doses"


def test_clinical_schedules():
    d = ip.Dose(30.0)
    five_nine = ip.Regimen.five_on_nine_off(d, cycles=2).to_frame()["time_h"] / 24
    assert five_nine.tolist() == [0, 1, 2, 3, 4, 14, 15, 16, 17, 18]
    thompson = ip.Regimen.days(d, [1, 2, 3, 4, 5, 15, 16, 17, 18, 19], course_days=42,
                               courses=2).to_frame()["time_h"] / 24
    assert thompson.tolist()[:10] == [0, 1, 2, 3, 4, 14, 15, 16, 17, 18]
    assert thompson.tolist()[10] == 42
    assert (ip.Regimen.three_times_weekly(d, weeks=2).to_frame()["time_h"] / 24).tolist() == [
        0, 2, 4, 7, 9, 11]
    assert (ip.Regimen.weekly(d, weeks=3).to_frame()["time_h"] / 24).tolist() == [0, 7, 14]


def test_combining_regimens_sorts_doses_and_describes_both():
    iv = ip.Regimen.repeat(ip.Dose(30), every=24, count=2)
    sc = ip.Regimen.single(ip.Dose(10, route="sc", time=12))
    both = iv + sc
    assert both.to_frame()["time_h"].tolist() == [0, 12, 24]
    assert both.to_frame()["route"].tolist() == ["iv", "sc", "iv"]
    assert len(both) == 3 and len(iv) == 2  # operands unchanged
    assert "10 ug/kg SC at t=12 h" in both.in_words()


def test_to_frame_schema():
    f = ip.Regimen.single(ip.Dose(2.0, unit="mg", duration=0.5)).to_frame()
    assert list(f.columns) == ["time_h", "amount", "unit", "route", "duration_h", "drug"]
    assert f.iloc[0].tolist() == [0.0, 2.0, "mg", "iv", 0.5, None]


def test_shifted_and_scaled():
    reg = ip.Regimen.repeat(ip.Dose(30), every=24, count=2)
    assert reg.shifted(6).to_frame()["time_h"].tolist() == [6, 30]
    assert reg.scaled_to(3.0, "mg/kg").to_frame()["amount"].tolist() == [3.0, 3.0]


# -- NONMEM ------------------------------------------------------------------------

def _rows(**overrides):
    base = {"ID": [1, 1, 1], "TIME": [0.0, 0.0, 2.0], "AMT": [30.0, 0.0, 0.0],
            "EVID": [1, 0, 0], "CMT": [2, 2, 2]}
    base.update(overrides)
    return pd.DataFrame(base)


def test_from_nonmem_reads_bolus_infusion_sc_and_addl():
    df = pd.DataFrame({
        "ID": [7, 7, 7, 7], "TIME": [0.0, 1.0, 24.0, 30.0], "AMT": [30.0, 0.0, 10.0, 5.0],
        "EVID": [1, 0, 1, 1], "CMT": [2, 2, 2, 1], "RATE": [0.0, 0.0, 20.0, 0.0],
        "II": [24.0, 0.0, 0.0, 0.0], "ADDL": [2, 0, 0, 0]})
    before = df.copy()
    f = ip.Regimen.from_nonmem(df).to_frame()
    assert f["time_h"].tolist() == [0.0, 24.0, 24.0, 30.0, 48.0]
    assert f["route"].tolist() == ["iv", "iv", "iv", "sc", "iv"]
    assert f["duration_h"].tolist() == [0.0, 0.0, 0.5, 0.0, 0.0]
    pd.testing.assert_frame_equal(df, before)


def test_from_nonmem_converts_time_units():
    reg = ip.Regimen.from_nonmem(_rows(TIME=[1.0, 1.0, 2.0]), time_unit="d")
    assert reg.to_frame()["time_h"].tolist() == [24.0]


def test_from_nonmem_several_subjects():
    df = pd.concat([_rows(), _rows(ID=[2, 2, 2], AMT=[10.0, 0.0, 0.0])])
    regs = ip.regimens_from_nonmem(df)
    assert list(regs) == [1, 2] and regs[2].doses[0].amount == 10.0
    with pytest.raises(ip.RegimenError, match="hold 2 subjects"):
        ip.Regimen.from_nonmem(df)
    assert ip.Regimen.from_nonmem(df, subject=2).doses[0].amount == 10.0


@pytest.mark.parametrize("df,match", [
    (_rows().drop(columns=["AMT"]), r"missing required column\(s\) \['AMT'\]"),
    (_rows(AMT=[0.0, 0.0, 0.0]), r"row 0: EVID=1 \(dose\) needs AMT > 0"),
    (_rows(AMT=[30.0, 5.0, 0.0]), r"row 1: AMT=5 on a non-dose row"),
    (_rows(TIME=[0.0, 3.0, 2.0]), r"TIME decreases within subject ID=1 at row 2"),
    (_rows(TIME=[-1.0, 0.0, 2.0]), r"TIME must be >= 0; row 0 has -1"),
    (_rows(EVID=[4, 0, 0]), r"row 0 has EVID=4"),
    (_rows(CMT=[3, 2, 2]), r"CMT must be one of the model's dosing compartments 1 \(SC depot\), "
                           r"2 \(central\); row 0 has 3"),
    (_rows(TIME=[0.0, np.nan, 2.0]), r"TIME must be a finite number; row 1"),
    (_rows().assign(SS=[1, 0, 0]), r"SS=1 \(steady-state dosing\) is not supported"),
    (_rows().assign(ADDL=[2, 0, 0], II=[0, 0, 0]), r"ADDL=2 needs II > 0"),
])
def test_malformed_nonmem_rows_are_named(df, match):
    with pytest.raises(ip.RegimenError, match=match):
        ip.Regimen.from_nonmem(df)


def test_regimen_is_immutable():
    reg = ip.Regimen.single(ip.Dose(1.0))
    with pytest.raises(AttributeError):
        reg.doses = ()  # type: ignore[misc]


def test_a_very_short_infusion_gives_its_whole_dose():
    # rate = amount / duration, but 24 + 1e-13 is not 24 + 1e-13 in floats: the dose
    # given was amount x (represented duration) / duration (AUC 49.738 for 50 at 1e-13
    # h); at 1e-15 h the infusion ended when it started and nothing was given (AUC 0)
    pk = ip.Model.pk_only(compartments=1)
    params = ip.parameter_sets.load("human").with_values(cl=2.0, v_central=10.0)
    closed = 100.0 / 2.0 * (1.0 - np.exp(-0.2 * 176.0))  # D / CL (1 - exp(-k (t - 24)))
    for duration in (1e-3, 1e-9, 1e-13):
        dose = ip.Dose(100.0, unit="nmol", time=24.0, duration=duration)
        m = ip.simulate(pk, dose, params, t_end=200.0).metrics()
        auc = m[(m.variable == "il21_plasma") & (m.metric == "auc")]["value"].iloc[0]
        assert auc == pytest.approx(closed, rel=1e-6), duration
    with pytest.raises(ValueError, match=r"ends when it starts \(duration 1e-15"):
        ip.simulate(pk, ip.Dose(100.0, unit="nmol", time=24.0, duration=1e-15), params,
                    t_end=200.0)


@pytest.mark.parametrize("regimen,match", [
    (ip.Dose(1e306, unit="mg"), r"Dose.amount = 1e\+306 mg is inf nmol: the conversion to "
                                r"the model's amounts overflows the float range"),
    (ip.Dose(1e307, unit="ug/kg"), r"Dose.amount = 1e\+307 ug/kg is inf nmol"),
    (ip.Dose(1e300, unit="umol", duration=1e-300),
     r"the infusion of 1e\+303 nmol over Dose.duration = 1e-300 h \(at t=0\) has a rate "
     r"beyond the float range"),
    (ip.Regimen((ip.Dose(1e308, unit="nmol"),) * 2),
     r"the doses at t=0 h add up to more than the float range"),
])
def test_a_dose_that_overflows_in_nmol_is_a_regimen_error(regimen, match):
    # the conversion overflowed to inf with numpy's RuntimeWarning, and the solver failed
    # ("the right-hand side returned NaN or inf")
    with pytest.raises(ip.RegimenError, match=match):
        ip.simulate(ip.Model.pk_only(compartments=1), regimen, t_end=24.0)


DAYS_MODEL = """
unit time_unit = 86400 second
compartment V = 5
species A in V = 0
ke = 0.3
J0: A -> ; ke*A
"""


def test_clinical_schedules_count_days_in_the_model_time_unit():
    # the schedules counted 24 h a day whatever the model's unit: in a model in days,
    # weekly x 4 dosed at days 0 and 168 (AUC 13.56 over 28 d for 40.69), silently
    dose = ip.Dose(1.0, unit="nmol", drug="x")
    weekly = ip.Regimen.weekly(dose, weeks=4, time_unit="d")
    assert [d.time for d in weekly.doses] == [0.0, 7.0, 14.0, 21.0]
    assert weekly.in_words().endswith("at t=0 d, repeated every 7 d, 4 doses")
    assert [d.time for d in ip.Regimen.five_on_nine_off(dose, cycles=2, time_unit="d").doses] \
        == [0.0, 1.0, 2.0, 3.0, 4.0, 14.0, 15.0, 16.0, 17.0, 18.0]
    assert [d.time for d in ip.Regimen.weekly(dose, weeks=2).doses] == [0.0, 168.0]
    model = ip.Model.from_antimony(DAYS_MODEL, drugs={"x": "A"})
    assert model.time_unit == "d"
    m = ip.simulate(model, weekly, t_end=28.0, t_eval=np.linspace(0.0, 28.0, 2801),
                    rtol=1e-10, atol=1e-12).metrics()  # trapezoid AUC: a fine grid
    auc = m[(m.variable == "A") & (m.metric == "auc")]["value"].iloc[0]
    rate = 0.3 / 5.0  # the amount decays at ke [A] = (ke / V) A
    closed = sum((1.0 - np.exp(-rate * (28.0 - t))) / rate for t in (0.0, 7.0, 14.0, 21.0))
    assert auc == pytest.approx(closed, rel=1e-6)
    with pytest.raises(ValueError, match=r"counts days in 'h', but model .* runs in 'd'"):
        ip.simulate(model, ip.Regimen.weekly(dose, weeks=4), t_end=28.0)


def test_schedules_in_other_time_units_do_not_combine():
    dose = ip.Dose(1.0)
    hours = ip.Regimen.weekly(dose, weeks=2)
    assert (hours + ip.Regimen.single(dose.at(5.0))).time_unit == "h"
    assert (ip.Regimen.single(dose) + ip.Regimen.single(dose)).time_unit is None
    assert hours.shifted(2.0).time_unit == "h" and hours.scaled_to(3.0).time_unit == "h"
    with pytest.raises(ValueError, match=r"different time units: \['d', 'h'\]"):
        hours + ip.Regimen.weekly(dose, weeks=2, time_unit="d")
    with pytest.raises(ValueError, match=r"time_unit must be one of .* got 'days'"):
        ip.Regimen.weekly(dose, time_unit="days")


def test_infusion_text_is_in_the_regimens_time_unit():
    """A clinical schedule built for a model in days described its infusion's duration
    in hours ("IV infusion over 0.5 h at t=0 d") and its overlap error too."""
    weekly = ip.Regimen.weekly(ip.Dose(10.0, duration=0.5), weeks=2, time_unit="d")
    assert weekly.in_words() == ("10 ug/kg IV infusion over 0.5 d at t=0 d, repeated every "
                                 "7 d, 2 doses")
    with pytest.raises(ip.RegimenError, match="duration 2 d is longer than the dosing "
                                              "interval, 1 d"):
        ip.Regimen.days(ip.Dose(10.0, duration=2.0), days=(1, 2), time_unit="d")
    assert ip.Dose(10.0, duration=2.0).describe() == "10 ug/kg IV infusion over 2 h"
