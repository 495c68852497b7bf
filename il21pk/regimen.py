"""Doses and dosing regimens: what goes in, when, and by which route.

Times are in hours. A :class:`Dose` is converted to nanomoles only when it is
simulated, because ``ug/kg`` doses need the body weight and mass doses need
the molecular weight, and both are parameters.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import groupby, pairwise

import numpy as np
import pandas as pd

from .checks import is_integer, is_real
from .errors import RegimenError
from .nonmem import build_regimens, check_nonmem_frame
from .units import TIME_UNITS, check_dose_unit, model_time_factor, time_to_hours

ROUTES = ("iv", "sc")


#: Most doses one regimen may hold (after expanding repeats, courses and NONMEM
#: ADDL). 100,000 doses is daily dosing for 270 years; the limit turns a typo
#: such as ``count=10**9`` into an error before any memory is spent on it.
MAX_DOSES = 100_000


def _finite_number(value: object, field_name: str) -> float:
    if not is_real(value):
        raise RegimenError(f"{field_name} must be a real number; got {value!r}")
    try:
        value = float(value)
    except OverflowError:
        raise RegimenError(f"{field_name} must be a finite number; got an integer too large "
                           f"for a float ({_short(value)})") from None
    if not math.isfinite(value):
        raise RegimenError(f"{field_name} must be finite; got {value}")
    return value


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 24 else f"{text[:12]}...{text[-6:]} ({len(text)} digits)"


def _check_dose(dose: object, where: str) -> Dose:
    if not isinstance(dose, Dose):
        raise RegimenError(f"{where} needs an il21pk Dose as `dose`; got "
                           f"{type(dose).__name__} {_short(repr(dose))}")
    return dose


def _count(value: object, field_name: str, low: int = 1, high: int | None = 2**53) -> int:
    if not is_integer(value):
        raise RegimenError(f"{field_name} must be an integer >= {low}; got {_short(repr(value))}")
    if value < low:
        raise RegimenError(f"{field_name} must be >= {low}; got {value}")
    if high is not None and value > high:
        raise RegimenError(f"{field_name} must be <= {high}; got {_short(value)}")
    return int(value)


def _check_dose_count(n: int, what: str) -> None:
    if n > MAX_DOSES:
        raise RegimenError(f"{what} would hold {_short(n)} doses; at most MAX_DOSES = "
                           f"{MAX_DOSES:,} are allowed in one regimen")


@dataclass(frozen=True)
class Dose:
    """One administration.

    Parameters
    ----------
    amount : float
        Dose in `unit`; >= 0.
    unit : str, optional
        One of ``nmol, pmol, umol, nmol/kg, ng, ug, mg, g, ng/kg, ug/kg, mg/kg``.
        Default ``"ug/kg"``.
    time : float, optional
        Administration time [h], >= 0. Default 0.
    route : {'iv', 'sc'}, optional
        ``"iv"`` goes to the central compartment (a bolus, or an infusion when
        `duration` > 0); ``"sc"`` goes to the absorption depot (first-order
        absorption with bioavailability ``f_sc`` and lag ``tlag_sc``; use it for
        any first-order absorption route). Default ``"iv"``.
    duration : float, optional
        Infusion duration [h], >= 0; 0 means a bolus. Only for ``route="iv"``.
    drug : str, optional
        Which of the model's drugs (``"il21"``, ...); default ``None``: the
        model's first drug. A drug the model does not declare, or a route the
        drug does not have, is an error when the regimen is simulated.

    Examples
    --------
    >>> import il21pk as ip
    >>> ip.Dose(30, unit="ug/kg", route="iv", duration=0.5).is_infusion
    True
    """

    amount: float
    unit: str = "ug/kg"
    time: float = 0.0
    route: str = "iv"
    duration: float = 0.0
    drug: str | None = None

    def __post_init__(self) -> None:
        if self.drug is not None and (not isinstance(self.drug, str) or not self.drug):
            raise RegimenError(f"Dose.drug must be a drug name (str) or None; got {self.drug!r}")
        amount = _finite_number(self.amount, "Dose.amount")
        if amount < 0:
            raise RegimenError(f"Dose.amount must be >= 0 ({self.unit}); got {amount:g}")
        try:
            check_dose_unit(self.unit, "Dose.unit")
        except ValueError as exc:
            raise RegimenError(str(exc)) from None
        time = _finite_number(self.time, "Dose.time")
        if time < 0:
            raise RegimenError(f"Dose.time must be >= 0 h; got {time:g}")
        if not isinstance(self.route, str) or self.route not in ROUTES:
            raise RegimenError(f"Dose.route must be one of {list(ROUTES)}; got {self.route!r}")
        duration = _finite_number(self.duration, "Dose.duration")
        if duration < 0:
            raise RegimenError(f"Dose.duration must be >= 0 h; got {duration:g}")
        if duration > 0 and self.route != "iv":
            raise RegimenError(
                f"Dose.duration > 0 (an infusion) is only allowed for route 'iv'; "
                f"got route {self.route!r} with duration {duration:g} h"
            )
        object.__setattr__(self, "amount", amount)
        object.__setattr__(self, "time", time)
        object.__setattr__(self, "duration", duration)

    @property
    def is_infusion(self) -> bool:
        """True for an IV infusion (duration > 0)."""
        return self.duration > 0

    def at(self, time: float) -> Dose:
        """The same dose given at `time` [h]."""
        return replace(self, time=time)

    def describe(self, time_unit: str | None = "h") -> str:
        """``"30 ug/kg IV bolus"``-style text; an infusion's duration in `time_unit`
        (the model's; None, undeclared, reads as hours)."""
        kind = {"iv": "IV bolus", "sc": "SC"}[self.route]
        if self.is_infusion:
            kind = f"IV infusion over {self.duration:g} {time_unit or 'h'}"
        drug = f" of {self.drug}" if self.drug is not None else ""
        return f"{self.amount:g} {self.unit}{drug} {kind}"


@dataclass(frozen=True)
class Regimen:
    """An ordered, immutable collection of doses.

    Build one with :meth:`single`, :meth:`repeat`, the clinical schedules
    (:meth:`five_on_nine_off`, :meth:`days`, :meth:`three_times_weekly`,
    :meth:`weekly`) or :meth:`from_nonmem`, and combine regimens with ``+``.

    Examples
    --------
    >>> import il21pk as ip
    >>> reg = ip.Regimen.repeat(ip.Dose(30), every=24, count=5)
    >>> reg.in_words()
    '30 ug/kg IV bolus at t=0 h, repeated every 24 h, 5 doses'
    """

    doses: tuple[Dose, ...] = field(default_factory=tuple)
    #: The time unit a clinical schedule (:meth:`days`, :meth:`five_on_nine_off`,
    #: :meth:`three_times_weekly`, :meth:`weekly`) counted its days in (``"h"``:
    #: 24 a day, the default), or None: times in the model's own unit. A model
    #: whose time unit is another refuses the regimen (a day would not be a day).
    time_unit: str | None = None

    def __post_init__(self) -> None:
        if self.time_unit is not None and self.time_unit not in TIME_UNITS:
            raise RegimenError(f"Regimen.time_unit must be one of {list(TIME_UNITS)} or None; "
                               f"got {self.time_unit!r}")
        if isinstance(self.doses, (str, bytes, Dose)) or not isinstance(self.doses, Iterable):
            raise RegimenError("Regimen.doses must be a sequence of Dose objects; got "
                               f"{type(self.doses).__name__}")
        doses = tuple(self.doses)
        _check_dose_count(len(doses), "Regimen.doses")
        for i, d in enumerate(doses):
            if not isinstance(d, Dose):
                raise RegimenError(f"Regimen.doses[{i}] must be a Dose; got {type(d).__name__}")
        object.__setattr__(self, "doses", tuple(sorted(doses, key=lambda d: d.time)))

    # -- construction -------------------------------------------------------
    @classmethod
    def single(cls, dose: Dose) -> Regimen:
        """A regimen of one dose."""
        return cls((_check_dose(dose, "Regimen.single"),))

    @classmethod
    def none(cls) -> Regimen:
        """No dosing (baseline only)."""
        return cls(())

    @classmethod
    def repeat(cls, dose: Dose, *, every: float, count: int, start: float | None = None) -> Regimen:
        """`count` copies of `dose`, `every` hours apart, from `start` (default: ``dose.time``).

        Raises
        ------
        RegimenError
            If `dose` is not a Dose, `count` < 1 or above :data:`MAX_DOSES`, or
            `every` <= 0 when `count` > 1.
        """
        dose = _check_dose(dose, "Regimen.repeat")
        count = _count(count, "Regimen.repeat count", high=None)  # MAX_DOSES below
        _check_dose_count(count, f"Regimen.repeat(count={count})")
        every = _finite_number(every, "Regimen.repeat every")
        if count > 1 and every <= 0:
            raise RegimenError(f"Regimen.repeat every must be > 0 h; got {every:g}")
        start = dose.time if start is None else _finite_number(start, "Regimen.repeat start")
        times = [start + i * every for i in range(int(count))]
        _check_infusion_gaps(dose, times)
        return cls(tuple(dose.at(t) for t in times))

    @classmethod
    def days(cls, dose: Dose, days: Iterable[int], *, course_days: int | None = None,
             courses: int = 1, time_unit: str = "h") -> Regimen:
        """Once-daily doses on the given 1-based study days of each course.

        ``Regimen.days(d, [1, 2, 3, 4, 5, 15, 16, 17, 18, 19], course_days=42)`` is
        the Thompson 2008 schedule (days 1-5 and 15-19 of a 6-week course).
        `time_unit` is the model's time unit, in which a day is counted (``"h"``:
        24, ``"d"``: 1); ``dose.time`` is in it too. The clinical schedules below
        take it as well.
        """
        return cls._days(dose, days, course_days=course_days, courses=courses,
                         where="Regimen.days", courses_name="courses", time_unit=time_unit)

    @classmethod
    def _days(cls, dose: Dose, days: Iterable[int], *, course_days: int | None, courses: int,
              where: str, courses_name: str, time_unit: str) -> Regimen:
        if time_unit not in TIME_UNITS:
            raise RegimenError(f"{where} time_unit must be one of {list(TIME_UNITS)}; got "
                               f"{_short(repr(time_unit))}")
        day = 24.0 / float(time_to_hours(1.0, time_unit))
        dose = _check_dose(dose, where)
        if isinstance(days, (str, bytes)) or not isinstance(days, Iterable):
            raise RegimenError(f"{where} days must be a sequence of whole day numbers; got "
                               f"{_short(repr(days))}")
        courses = _count(courses, f"{where} {courses_name}", high=None)  # MAX_DOSES below
        given = list(days)
        _check_dose_count(len(given) * courses, f"{where} ({len(given)} days x {courses} "
                          f"{courses_name})")
        for d in given:
            value = _finite_number(d, f"{where} days")
            if value != int(value):
                raise RegimenError(f"{where} days must be whole day numbers; got {d!r}")
        if course_days is not None:
            course_days = _count(course_days, f"{where} course_days")
        day_list = sorted(int(d) for d in given)
        if not day_list or day_list[0] < 1:
            raise RegimenError(f"{where} days must be >= 1 (day 1 is t=0); got {day_list}")
        twice = sorted({a for a, b in pairwise(day_list) if a == b})
        if twice:
            raise RegimenError(f"{where} days name day(s) {twice} twice (once-daily doses); "
                               "give each day once, or a larger dose")
        length = course_days if course_days is not None else day_list[-1]
        if length < day_list[-1]:
            raise RegimenError(
                f"{where} course_days must be >= the last dosing day {day_list[-1]}; "
                f"got {length}"
            )
        last = dose.time + day * (float(courses - 1) * length + day_list[-1] - 1)
        if not math.isfinite(last):
            raise RegimenError(f"{where}: the last dose would be at t={last} {time_unit}; give "
                               "fewer or shorter courses")
        times = [
            dose.time + day * (c * length + d - 1) for c in range(courses) for d in day_list
        ]
        _check_infusion_gaps(dose, times, time_unit)
        return cls(tuple(dose.at(t) for t in times), time_unit)

    @classmethod
    def five_on_nine_off(cls, dose: Dose, *, cycles: int = 1, time_unit: str = "h") -> Regimen:
        """Daily x5 then 9 days of rest, repeated for `cycles` 14-day cycles (Davis 2007)."""
        return cls._days(dose, range(1, 6), course_days=14, courses=cycles,
                         where="Regimen.five_on_nine_off", courses_name="cycles",
                         time_unit=time_unit)

    @classmethod
    def three_times_weekly(cls, dose: Dose, *, weeks: int = 1, time_unit: str = "h") -> Regimen:
        """Days 1, 3 and 5 of each week (Mon/Wed/Fri), for `weeks` weeks."""
        return cls._days(dose, (1, 3, 5), course_days=7, courses=weeks,
                         where="Regimen.three_times_weekly", courses_name="weeks",
                         time_unit=time_unit)

    @classmethod
    def weekly(cls, dose: Dose, *, weeks: int = 1, time_unit: str = "h") -> Regimen:
        """Once a week for `weeks` weeks."""
        return cls._days(dose, (1,), course_days=7, courses=weeks, where="Regimen.weekly",
                         courses_name="weeks", time_unit=time_unit)

    @classmethod
    def from_nonmem(cls, df: pd.DataFrame, *, unit: str = "ug/kg",
                    time_unit: str | None = None, subject: object = None,
                    model=None) -> Regimen:
        """Dosing records of one subject from NONMEM-style rows.

        Parameters
        ----------
        df : pandas.DataFrame
            Columns ``ID, TIME, AMT, EVID`` and optionally ``CMT, RATE, II, ADDL,
            SS``. ``CMT`` 1 is the SC depot, 2 (the default) the central
            compartment. ``RATE`` > 0 makes an IV infusion of duration
            ``AMT/RATE``. ``ADDL`` additional doses follow every ``II``.
            Observation rows (``EVID`` 0) and other events (``EVID`` 2) are
            skipped.
        unit : str, optional
            Unit of ``AMT`` (and ``RATE`` per `time_unit`). Default ``"ug/kg"``.
        time_unit : str, optional
            Unit of ``TIME`` and ``II``: ``"s"``, ``"min"``, ``"h"``, ``"d"`` or
            ``"week"``, converted to the model's time unit (``Model.time_unit``:
            hours for il21pk's models and without `model`). Default None: the
            model's own unit (hours without `model`).
        subject : optional
            The ``ID`` to read when `df` holds several subjects.
        model : Model, optional
            Map ``CMT`` to this model's dosing compartments (each drug declares
            its CMT numbers); default: 1 = IL-21 SC depot, 2 = IL-21 central.

        Raises
        ------
        RegimenError
            On a missing column, EVID/AMT mismatch, decreasing TIME within a
            subject, unsupported EVID/SS/RATE codes or an ambiguous subject.
        """
        regimens = regimens_from_nonmem(df, unit=unit, time_unit=time_unit, model=model)
        if subject is None:
            if len(regimens) != 1:
                raise RegimenError(
                    f"NONMEM data hold {len(regimens)} subjects {list(regimens)}; pass "
                    "subject=<ID> to choose one, or use il21pk.regimens_from_nonmem"
                )
            return next(iter(regimens.values()))
        try:
            known = subject in regimens
        except TypeError:  # unhashable
            known = False
        if not known:
            raise RegimenError(f"subject must be one of the IDs {list(regimens)}; got {subject!r}")
        return regimens[subject]

    # -- combination ----------------------------------------------------------
    def __add__(self, other: object) -> Regimen:
        """The doses of both (a :class:`Dose` is a regimen of one dose)."""
        if isinstance(other, Dose):
            other = Regimen.single(other)
        if not isinstance(other, Regimen):
            return NotImplemented
        units = {self.time_unit, other.time_unit} - {None}
        if len(units) > 1:
            raise RegimenError(f"cannot combine schedules that count days in different time "
                               f"units: {sorted(units)}")
        return Regimen(self.doses + other.doses, units.pop() if units else None)

    def __radd__(self, other: object) -> Regimen:
        if not isinstance(other, Dose):
            return NotImplemented
        return Regimen.single(other) + self

    def shifted(self, hours: float) -> Regimen:
        """The same regimen `hours` later (in the model's time unit)."""
        hours = _finite_number(hours, "Regimen.shifted hours")
        return replace(self, doses=tuple(d.at(d.time + hours) for d in self.doses))

    def scaled_to(self, amount: float, unit: str | None = None) -> Regimen:
        """Every dose set to `amount` (in `unit`, default each dose's own unit)."""
        if unit is not None:
            check_dose_unit(unit, "Regimen.scaled_to unit")
        return replace(self, doses=tuple(replace(d, amount=amount, unit=unit or d.unit)
                                         for d in self.doses))

    # -- views -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.doses)

    def to_frame(self) -> pd.DataFrame:
        """One row per dose: time_h, amount, unit, route, duration_h, drug (None: the
        model's first drug)."""
        return pd.DataFrame(
            {
                "time_h": [d.time for d in self.doses],
                "amount": [d.amount for d in self.doses],
                "unit": [d.unit for d in self.doses],
                "route": [d.route for d in self.doses],
                "duration_h": [d.duration for d in self.doses],
                "drug": [d.drug for d in self.doses],
            }
        )

    def in_words(self) -> str:
        """A plain-English description, one clause per run of regular doses."""
        if not self.doses:
            return "no doses"
        clauses = []
        for _, group in groupby(self.doses,
                                key=lambda d: (d.drug, d.amount, d.unit, d.route, d.duration)):
            clauses.extend(_describe_runs(list(group), self.time_unit or "h"))
        return "; ".join(clauses)

    def __str__(self) -> str:
        return self.in_words()


def _check_infusion_gaps(dose: Dose, times: Sequence[float], unit: str = "h") -> None:
    """Copies of an infusion at `times` may not overlap (each builder's rule); an
    interval equal to the duration but for rounding (23.999999999999996 h) is no
    overlap."""
    gaps = np.diff(times)
    if dose.is_infusion and gaps.size and dose.duration > gaps.min() * (1 + 1e-9):
        raise RegimenError(f"infusion duration {dose.duration:.10g} {unit} is longer than the "
                           f"dosing interval, {gaps.min():.10g} {unit} at the shortest")


def _describe_runs(doses: Sequence[Dose], unit: str) -> list[str]:
    """Split same-kind doses into runs of equal spacing and describe each (times in
    `unit`)."""
    out: list[str] = []
    i = 0
    while i < len(doses):
        j = i + 1
        if j < len(doses):
            step = doses[j].time - doses[i].time
            while j + 1 < len(doses) and math.isclose(doses[j + 1].time - doses[j].time, step):
                j += 1
            j += 1
        text = f"{doses[i].describe(unit)} at t={doses[i].time:g} {unit}"
        if j - i > 1:
            text += (f", repeated every {doses[i + 1].time - doses[i].time:g} {unit}, "
                     f"{j - i} doses")
        out.append(text)
        i = j
    return out


def regimens_from_nonmem(df: pd.DataFrame, *, unit: str = "ug/kg",
                         time_unit: str | None = None, model=None) -> dict[object, Regimen]:
    """One :class:`Regimen` per subject ``ID`` from NONMEM-style rows.

    See :meth:`Regimen.from_nonmem` for the column conventions; with `model`,
    ``CMT`` numbers are its drugs' dosing compartments.
    """
    try:
        check_dose_unit(unit)
        factor = model_time_factor(time_unit, "h" if model is None else model.time_unit)
    except ValueError as exc:
        raise RegimenError(str(exc)) from None
    rows = check_nonmem_frame(df, model=model, max_doses=MAX_DOSES)
    return build_regimens(rows, unit, factor, RegimenError, Dose, Regimen, model=model,
                          marked=time_unit is not None or model is not None)
