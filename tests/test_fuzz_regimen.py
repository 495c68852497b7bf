"""Fuzz: Dose and Regimen constructors and builders (the input contract, limits)."""

from __future__ import annotations

import math

import numpy as np
from fuzzing import REAL, budget, honours_contract, mostly
from hypothesis import given
from hypothesis import strategies as st

import il21pk as ip
from il21pk.regimen import MAX_DOSES

UNITS = mostly(st.sampled_from(list(ip.units.DOSE_UNITS)),
               st.sampled_from(["ug/KG", "mcg", "", None, 5, "nmol "]))
ROUTES = mostly(st.sampled_from(["iv", "sc"]), st.sampled_from(["IV", "im", "", None, 1]))
SMALL = st.one_of(st.floats(0, 1e4), st.integers(0, 1000))
COUNTS = mostly(st.integers(1, 50), st.one_of(st.integers(-3, 0), st.sampled_from(
    [MAX_DOSES, MAX_DOSES + 1, 10**9, 10**400, 2.0, "3", None, True])))


def _dose_args(draw_amount=REAL, draw_time=REAL):
    return st.fixed_dictionaries({
        "amount": mostly(SMALL, draw_amount), "unit": UNITS,
        "time": mostly(SMALL, draw_time), "route": ROUTES,
        "duration": mostly(st.one_of(st.just(0.0), SMALL), REAL)})


def _valid_dose(dose: ip.Dose) -> None:
    assert math.isfinite(dose.amount) and dose.amount >= 0
    assert math.isfinite(dose.time) and dose.time >= 0
    assert math.isfinite(dose.duration) and dose.duration >= 0
    assert dose.route in ("iv", "sc") and dose.unit in ip.units.DOSE_UNITS


@budget(400)
@given(_dose_args())
def test_dose_constructor(kwargs):
    dose, _ = honours_contract(lambda: ip.Dose(**kwargs))
    if dose is not None:
        _valid_dose(dose)


DOSES = st.builds(ip.Dose, amount=st.floats(0, 100), time=st.floats(0, 100),
                  route=st.sampled_from(["iv", "sc"]))


@budget(300)
@given(dose=mostly(DOSES, REAL), every=mostly(SMALL, REAL), count=COUNTS,
       start=mostly(st.one_of(st.none(), SMALL), REAL))
def test_repeat(dose, every, count, start):
    reg, _ = honours_contract(lambda: ip.Regimen.repeat(dose, every=every, count=count,
                                                        start=start))
    if reg is not None:
        assert len(reg) == count <= MAX_DOSES
        times = [d.time for d in reg.doses]
        assert times == sorted(times) and all(math.isfinite(t) for t in times)


DAYS = mostly(st.lists(st.integers(1, 30), min_size=1, max_size=8), st.one_of(
    st.lists(st.one_of(st.integers(-2, 60), REAL), max_size=8),
    st.sampled_from([range(1, 6), (1, 3, 5), "15", 5, None])))


@budget(300)
@given(dose=mostly(DOSES, REAL), days=DAYS, course_days=mostly(st.none(), COUNTS),
       courses=COUNTS, builder=st.sampled_from(["days", "five_on_nine_off",
                                                 "three_times_weekly", "weekly"]))
def test_schedules(dose, days, course_days, courses, builder):
    def call():
        if builder == "days":
            return ip.Regimen.days(dose, days, course_days=course_days, courses=courses)
        name = {"five_on_nine_off": "cycles"}.get(builder, "weeks")
        return getattr(ip.Regimen, builder)(dose, **{name: courses})

    reg, _ = honours_contract(call)
    if reg is not None:
        assert 1 <= len(reg) <= MAX_DOSES
        for d in reg.doses:
            _valid_dose(d)


@budget(300)
@given(doses=st.lists(mostly(DOSES, REAL, 0.95), max_size=6), shift=mostly(SMALL, REAL),
       amount=mostly(SMALL, REAL), unit=mostly(st.none(), UNITS))
def test_regimen_and_its_transformations(doses, shift, amount, unit):
    reg, _ = honours_contract(lambda: ip.Regimen(tuple(doses)))
    if reg is None:
        return
    assert list(reg.doses) == sorted(doses, key=lambda d: d.time)
    for call in (lambda: reg.shifted(shift), lambda: reg.scaled_to(amount, unit),
                 lambda: reg + reg, lambda: reg.in_words(), lambda: reg.to_frame()):
        out, _ = honours_contract(call, reg)
        if isinstance(out, ip.Regimen):
            for d in out.doses:
                _valid_dose(d)
    assert np.all(np.diff(reg.to_frame()["time_h"].to_numpy()) >= 0)
