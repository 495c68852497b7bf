"""The units il21pk speaks, and the conversions at its edges.

Internally time is in hours [h], amounts in nanomoles [nmol] and
concentrations in nanomolar [nM] (nmol/L); an imported (SBML/Antimony) model
keeps its own time unit (``Model.time_unit``: ``'d'``, ``'s'``, ... or
``None`` when the SBML declares none), and :func:`time_factor` converts
between them. Users may give doses, times and
concentrations in the units clinicians use; they are converted here, once,
when they enter the library.

Mass-based amounts need the molecular weight ``mw`` [kDa]; because
1 kDa = 1000 g/mol, ``nmol = ug / mw``. Body-weight-based doses need the
body weight ``body_weight`` [kg]. A model declares the parameters and states
its doses read in these units (:data:`DOSING_UNITS`), spelled as here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from .checks import is_integer, is_real
from .errors import OptionError, ParameterError, RegimenError

#: Dose units: (factor to ug or nmol, base, per body weight?)
_DOSE_UNITS: dict[str, tuple[float, str, bool]] = {
    "nmol": (1.0, "nmol", False),
    "pmol": (1e-3, "nmol", False),
    "umol": (1e3, "nmol", False),
    "nmol/kg": (1.0, "nmol", True),
    "ng": (1e-3, "ug", False),
    "ug": (1.0, "ug", False),
    "mg": (1e3, "ug", False),
    "g": (1e6, "ug", False),
    "ng/kg": (1e-3, "ug", True),
    "ug/kg": (1.0, "ug", True),
    "mg/kg": (1e3, "ug", True),
}

#: Concentration units -> factor to the base (nM or ng/mL) and that base.
_CONCENTRATION_UNITS: dict[str, tuple[float, str]] = {
    "pM": (1e-3, "nM"),
    "nM": (1.0, "nM"),
    "uM": (1e3, "nM"),
    "pg/mL": (1e-3, "ng/mL"),
    "ng/mL": (1.0, "ng/mL"),
    "ug/mL": (1e3, "ng/mL"),
    "ug/L": (1.0, "ng/mL"),
    "mg/L": (1e3, "ng/mL"),
}

#: Time units -> hours.
_TIME_UNITS: dict[str, float] = {"s": 1.0 / 3600.0, "min": 1.0 / 60.0, "h": 1.0, "d": 24.0,
                                 "week": 168.0}

DOSE_UNITS = tuple(_DOSE_UNITS)
CONCENTRATION_UNITS = tuple(_CONCENTRATION_UNITS)
TIME_UNITS = tuple(_TIME_UNITS)

#: The units dosing reads a drug's numbers in: doses go into its states as
#: amounts in nmol, a mass dose in ug is divided by the molecular weight in kDa,
#: a per-kg dose multiplied by the body weight in kg and an SC dose by the
#: bioavailability, a fraction (the SC lag is in the model's time unit).
DOSING_UNITS: dict[str, str] = {"amount": "nmol", "mw": "kDa", "body_weight": "kg",
                                "bioavailability": "1"}


def _check_unit(unit: object, allowed: tuple[str, ...], field: str) -> str:
    if not isinstance(unit, str) or unit not in allowed:
        raise OptionError(f"{field} must be one of {list(allowed)}; got {unit!r}")
    return unit


def _check_mw(mw: object) -> float:
    """A molecular weight [kDa]: a finite number > 0."""
    if not is_real(mw) or not np.isfinite(float(mw)) or float(mw) <= 0:
        raise OptionError(f"`mw` must be a molecular weight > 0 kDa (finite); got {mw!r}")
    return float(mw)


def check_dose_unit(unit: object, field: str = "unit") -> str:
    """Return `unit` if it is a known dose unit, else raise an OptionError naming `field`."""
    return _check_unit(unit, DOSE_UNITS, field)


def check_time_unit(unit: object, field: str = "time_unit") -> str:
    """Return `unit` if it is a known time unit, else raise an OptionError naming `field`."""
    return _check_unit(unit, TIME_UNITS, field)


def check_concentration_unit(unit: object, field: str = "unit") -> str:
    """Return `unit` if it is a known concentration unit, else raise an OptionError."""
    return _check_unit(unit, CONCENTRATION_UNITS, field)


def is_mass_concentration(unit: str) -> bool:
    """True if a concentration in `unit` is a mass per volume (``ng/mL``, ...), which
    converts to nM only with a molecular weight."""
    return _CONCENTRATION_UNITS[check_concentration_unit(unit)][1] == "ng/mL"


def is_per_body_weight(unit: str) -> bool:
    """True if a dose in `unit` is scaled by body weight (``ug/kg``, ...)."""
    return _DOSE_UNITS[check_dose_unit(unit)][2]


def dose_unit_parts(unit: str) -> tuple[float, bool, bool]:
    """(factor, per body weight?, mass unit?) of a dose unit: a dose of `amount`
    is ``amount * factor [* body_weight] [/ mw]`` nmol."""
    factor, base, per_kg = _DOSE_UNITS[check_dose_unit(unit)]
    return factor, per_kg, base == "ug"


def dose_nmol_expression(amount, unit: str, *, mw, body_weight):
    """``amount`` in `unit` as nmol, for any operands that support ``*`` and
    ``/`` (numbers, numpy arrays, sympy symbols): the one place doses are
    converted, used by the simulator and by the SBML export."""
    factor, per_kg, mass = dose_unit_parts(unit)
    value = amount * factor
    if per_kg:
        value = value * body_weight
    if mass:
        value = value / mw
    return value


#: How :func:`check_dosing_value` names the member of a batch it refuses a value of.
_MEMBER = " (member {index} of the {size} simulated together)"


def member_text(index: int, size: int) -> str:
    """`` (member 3 of the 250 simulated together)``: which member of a batch an error
    is about, in the form :func:`name_member` renames (a sweep's run)."""
    return _MEMBER.format(index=index, size=size)
_MEMBER_PATTERN = re.compile(r" \(member (\d+) of the \d+ simulated together\)")


def name_member(error: ParameterError, labels: Sequence[str]) -> ParameterError:
    """`error` from :func:`check_dosing_value` with its batch member named by
    ``labels[member]`` (a sweep's ``"sweep run 3"``); `error` itself if it names none."""
    found = _MEMBER_PATTERN.search(str(error))
    if found is None:
        return error
    return ParameterError(_MEMBER_PATTERN.sub(f" ({labels[int(found.group(1))]})", str(error)))


def check_dosing_value(value: npt.ArrayLike, name: str, unit: str, *, positive: bool,
                       what: str) -> np.ndarray:
    """The values of a parameter that dosing reads, each finite and > 0 or >= 0.

    Parameters
    ----------
    value : array_like of float
        The parameter's value, one per simulated member (or one for all).
    name : str
        The parameter, for the error.
    unit : str
        Its unit, for the error.
    positive : bool
        True: each value must be > 0 (a molecular weight, a body weight);
        False: >= 0 (a bioavailability, a lag).
    what : str
        What dosing does with it, for the error (``"the molecular weight mass
        doses are divided by"``).

    Returns
    -------
    numpy.ndarray
        `value` as floats.

    Raises
    ------
    ParameterError
        Naming the parameter, the first value that is not allowed (and its
        member, when members differ) and what is allowed.
    """
    value = np.asarray(value, dtype=float)
    bad = np.flatnonzero(~np.isfinite(value) | (value <= 0 if positive else value < 0))
    if bad.size:
        i = bad[0]
        member = member_text(i, value.size) if np.unique(value).size > 1 else ""
        shown = "" if unit in ("", "1") else f" {unit}"
        raise ParameterError(f"parameter {name!r} = {value.flat[i]:g}{shown}{member}: {what} "
                             f"must be finite and {'> 0' if positive else '>= 0'}{shown}")
    return value


def dose_to_nmol(
    amount: npt.ArrayLike, unit: str, *, mw: npt.ArrayLike, body_weight: npt.ArrayLike,
    field: str = "amount", mw_name: str = "mw"
) -> np.ndarray:
    """Convert a dose to nanomoles.

    Parameters
    ----------
    amount : array_like of float
        Dose in `unit`.
    unit : str
        One of :data:`DOSE_UNITS`.
    mw : array_like of float
        Molecular weight [kDa]; used (and checked) for mass units.
    body_weight : array_like of float
        Body weight [kg]; used (and checked) for ``.../kg`` units.
    field : str, optional
        What `amount` is, for the error (``"Dose.amount"``).
    mw_name : str, optional
        The parameter `mw` holds, for the error.

    Returns
    -------
    numpy.ndarray
        Dose [nmol], broadcast over `amount`, `mw` and `body_weight`.

    Raises
    ------
    ParameterError
        If the dose reads a molecular weight or body weight that is not a
        finite number > 0 (:func:`check_dosing_value`).
    RegimenError
        If `amount` is not finite (NaN or infinite), or its dose in nmol is not
        a finite float (an amount so large that the conversion overflows).
    """
    _, per_kg, mass = dose_unit_parts(unit)
    if mass:
        mw = check_dosing_value(mw, mw_name, DOSING_UNITS["mw"], positive=True,
                                what=f"the molecular weight a dose in {unit} is divided by")
    if per_kg:
        body_weight = check_dosing_value(body_weight, "body_weight",
                                         DOSING_UNITS["body_weight"], positive=True,
                                         what=f"the body weight a dose in {unit} is "
                                              "multiplied by")
    amount = np.asarray(amount, dtype=float)
    bad = np.flatnonzero(~np.isfinite(amount))
    if bad.size:
        raise RegimenError(f"{field} must be a finite number of {unit}; got "
                           f"{amount.flat[bad[0]]}")
    with np.errstate(over="ignore"):
        nmol = np.asarray(dose_nmol_expression(
            amount, unit, mw=np.asarray(mw, dtype=float),
            body_weight=np.asarray(body_weight, dtype=float)), dtype=float)
    bad = np.flatnonzero(~np.isfinite(nmol))
    if bad.size:
        i = bad[0]
        raise RegimenError(f"{field} = {np.broadcast_to(amount, nmol.shape).flat[i]:g} {unit} "
                           f"is {nmol.flat[i]} nmol: the conversion to the model's amounts "
                           f"overflows the float range (at most {np.finfo(float).max:.4g}); "
                           f"give a smaller {field}")
    return nmol


def time_to_hours(value: npt.ArrayLike, unit: str) -> np.ndarray:
    """Convert times from `unit` (one of :data:`TIME_UNITS`) to hours."""
    return np.asarray(value, dtype=float) * _TIME_UNITS[check_time_unit(unit)]


def time_factor(unit: str | None, to: str | None, field: str = "time_unit") -> float:
    """The factor that takes times in `unit` to times in `to`.

    Parameters
    ----------
    unit, to : str or None
        Time units; ``None`` is a model's undeclared time unit, which
        converts only to itself.
    field : str, optional
        The argument named in the error.

    Returns
    -------
    float
        1 when the units are equal.

    Raises
    ------
    OptionError
        If the units differ and one of them is not in :data:`TIME_UNITS`.
    """
    if unit == to:
        return 1.0
    if unit not in _TIME_UNITS or to not in _TIME_UNITS:
        raise OptionError(f"`{field}`: times in {time_unit_label(unit)} cannot be converted to "
                          f"{time_unit_label(to)}; convertible time units are "
                          f"{list(TIME_UNITS)} (None: the model's own, unconverted)")
    return _TIME_UNITS[unit] / _TIME_UNITS[to]


def model_time_factor(time_unit: str | None, model_time_unit: str | None,
                      field: str = "time_unit") -> float:
    """The factor taking times a user gives in `time_unit` to a model's time unit.

    Parameters
    ----------
    time_unit : str or None
        One of :data:`TIME_UNITS`, or None: the times are in the model's own
        unit already (factor 1).
    model_time_unit : str or None
        ``Model.time_unit``: ``'h'`` for il21pk's models, an imported
        model's own (None if undeclared).
    field : str, optional
        The argument named in errors.

    Raises
    ------
    OptionError
        If `time_unit` is unknown, or cannot be converted to the model's unit
        (a model that declares no time unit takes only ``time_unit=None``).
    """
    if time_unit is None:
        return 1.0
    return time_factor(check_time_unit(time_unit, field), model_time_unit, field)


#: Two times are one when they differ by at most this fraction of the time (at least
#: absolute): the rounding of start + k every, TIME + k II or a unit conversion.
SAME_TIME = 1e-9


def same_time_tolerance(t: npt.ArrayLike) -> np.ndarray | float:
    """How far apart two times around `t` may be and still be one (:data:`SAME_TIME`)."""
    return SAME_TIME * np.maximum(1.0, np.abs(t))


def time_unit_label(unit: str | None) -> str:
    """A time unit as labels and messages show it: ``'d'``, or ``'model time unit'``
    for a model that declares none (``None``)."""
    return "model time unit" if unit is None else str(unit)


def concentration_to_nM(value: npt.ArrayLike, unit: str, *, mw: float | None) -> np.ndarray:
    """Convert a concentration to nM; mass units need `mw` [kDa] (1 ng/mL = 1/mw nM),
    molar ones ignore it."""
    factor, base = _CONCENTRATION_UNITS[check_concentration_unit(unit)]
    value = np.asarray(value, dtype=float) * factor
    return value / _check_mw(mw) if base == "ng/mL" else value


def concentration_from_nM(value: npt.ArrayLike, unit: str, *, mw: float) -> np.ndarray:
    """Convert a concentration in nM to `unit`; the inverse of :func:`concentration_to_nM`."""
    factor, base = _CONCENTRATION_UNITS[check_concentration_unit(unit)]
    value = np.asarray(value, dtype=float)
    if base == "ng/mL":
        value = value * _check_mw(mw)
    return value / factor


def check_plain_numbers(values: npt.ArrayLike | pd.Series, what: str, error: type[Exception],
                        *, column: object = None) -> None:
    """Raise `error` for datetime, timedelta or complex `values`, which :func:`as_floats`
    or ``float`` would read as nanoseconds or without their imaginary part.

    `what` names the values in the message (``"column 'TIME' (time)"``); a
    `column` name makes the hint show the pandas conversion for it.
    """
    try:
        dtype = values.dtype if isinstance(values, (pd.Series, np.ndarray)) else \
            np.asarray(values).dtype
    except (TypeError, ValueError):  # ragged: no array at all, the caller's check says so
        return
    kind = dtype.kind
    if kind not in "mMc":
        return
    if column is None:
        hint = {"m": "; convert durations to numbers, e.g. x / np.timedelta64(1, 'h') for "
                     "hours",
                "M": "; give the time since a reference (e.g. the first dose) as numbers, "
                     "e.g. (x - t0) / np.timedelta64(1, 'h') for hours"}.get(kind, "")
    else:
        hint = {"m": f"; convert durations to numbers, e.g. df[{column!r}].dt.total_seconds() "
                     "/ 3600 for hours",
                "M": f"; give the time since a reference (e.g. the first dose) as numbers, "
                     f"e.g. (df[{column!r}] - t0).dt.total_seconds() / 3600 for hours"
                }.get(kind, "")
    raise error(f"{what} must hold plain real numbers; got dtype {dtype}{hint}")


def as_floats(values: npt.ArrayLike | pd.Series) -> np.ndarray:
    """Numbers in a column as float64, the way ``pandas.to_numeric(errors="coerce")`` reads them.

    Text, None and other objects become NaN; integers too large for a float
    become +/-inf (pandas raises OverflowError on them), so that callers can
    report them as "must be finite" instead of crashing.
    """
    series = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
    try:
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    except (OverflowError, TypeError, ValueError):
        return np.array([_as_float(v) for v in series.to_numpy(dtype=object)], dtype=float)


def _as_float(value: object) -> float:
    if is_integer(value):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    try:
        out = pd.to_numeric(pd.Series([value], dtype=object), errors="coerce").to_numpy(
            dtype=float)
        return float(out[0])
    except (OverflowError, TypeError, ValueError):
        return math.nan


def show(value: object, width: int = 40) -> str:
    """``repr`` of a user's value for an error message, numpy scalars as plain numbers,
    cut to `width` characters."""
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= width else text[: width - 3] + "..."
