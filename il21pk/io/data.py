"""Observed data for fitting: observations, dosing per subject and covariates.

A :class:`Dataset` holds observations in the model's units (one row per
measurement: ``subject, time_h, variable, value, lloq, blq``), one
:class:`~il21pk.Regimen` per subject, and per-subject covariates (body weight).
Below-limit-of-quantification values are kept and flagged, never dropped.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..checks import booleans, is_real
from ..errors import DataError, InputTypeError
from ..model import Model
from ..nonmem import (
    build_regimens,
    check_nonmem_frame,
    display_id,
    is_dot,
    numeric_column,
    upper_columns,
)
from ..parameters import ParameterSet
from ..regimen import MAX_DOSES, Dose, Regimen
from ..units import (
    CONCENTRATION_UNITS,
    as_floats,
    check_dose_unit,
    check_plain_numbers,
    concentration_to_nM,
    is_mass_concentration,
    is_per_body_weight,
    model_time_factor,
    same_time_tolerance,
    time_unit_label,
)

OBSERVATION_COLUMNS = ["subject", "time_h", "variable", "value", "lloq", "blq", "predose"]
#: Default NONMEM DVID -> observed variable (without DVID every observation is IL-21).
DEFAULT_DVID = {1: "il21_plasma", 2: "nk_blood", 3: "cd8_blood", 4: "ifng_plasma"}
COVARIATES = {"WT": "body_weight"}


def _model_units(model: Model) -> dict[str, str]:
    return {v.name: v.unit for v in model.variables}


def _check_common(df: object, model: object, mw: object, time_unit: object,
                  units: object) -> Model:
    """Checks shared by both readers; returns the model (default ``Model()``)."""
    if not isinstance(df, pd.DataFrame):
        raise InputTypeError(f"data must be a pandas DataFrame; got {type(df).__name__}")
    model = Model() if model is None else model
    if not isinstance(model, Model):
        raise InputTypeError(f"`model` must be an il21pk Model (e.g. Model.pk_only()); got "
                             f"{type(model).__name__} {model!r}")
    if mw is not None and not isinstance(mw, ParameterSet) and (
            not is_real(mw) or not np.isfinite(float(mw)) or float(mw) <= 0):
        raise DataError(f"`mw` must be a molecular weight > 0 kDa (finite) or a ParameterSet "
                        f"holding the drugs' molecular weights, used to convert mass "
                        f"concentrations; got {mw!r}")
    try:
        model_time_factor(time_unit, model.time_unit)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    if units is not None and not isinstance(units, Mapping):
        raise InputTypeError(f"`units` must be a mapping {{variable: unit}}; got "
                             f"{type(units).__name__}")
    return model


def _duplicate_columns(df: pd.DataFrame) -> None:
    names = [str(c) for c in df.columns]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataError(f"data have duplicate column(s) {dup}; keep one column of each name")


def _covariate_table(regimens: Mapping, ids: np.ndarray, columns: Mapping[str, pd.Series],
                     missing_marker: bool) -> pd.DataFrame:
    """One row per subject of `regimens`: the covariate value, constant within the subject.

    Missing values (NaN, and ``"."`` in NONMEM data) are skipped; a subject with
    none stays NaN, unless the covariate is the body weight and the subject
    is dosed per kg. Text, infinite values, values that change within a
    subject and a body weight <= 0 are DataErrors.
    """
    cov = pd.DataFrame({"subject": list(regimens)})
    for column, (name, series) in columns.items():
        check_plain_numbers(series, f"column {column!r} (covariate {name})", DataError,
                            column=column)
        raw = series.to_numpy(dtype=object)
        values = as_floats(series)
        blank = pd.isna(series).to_numpy() | (is_dot(raw) if missing_marker else False)
        for i in np.flatnonzero(np.isnan(values) & ~blank):
            raise DataError(f"row {i}: covariate column {column!r} must be a number; got "
                            f"{display_id(raw[i])}")
        for i in np.flatnonzero(np.isinf(values)):
            raise DataError(f"row {i} (subject {display_id(ids[i])}): covariate column "
                            f"{column!r} must be finite; got {display_id(raw[i])}")
        if name == "body_weight":  # it converts the doses per kg: 0 would dose nothing
            for i in np.flatnonzero(booleans(raw)):
                raise DataError(f"row {i} (subject {display_id(ids[i])}): covariate column "
                                f"{column!r} is the body weight, a number of kg; got {raw[i]!r}")
            for i in np.flatnonzero(values <= 0):
                raise DataError(f"row {i} (subject {display_id(ids[i])}): covariate column "
                                f"{column!r} is the body weight, which must be finite and > 0 "
                                f"kg; got {display_id(raw[i])}")
        per = pd.Series(values).groupby(ids, sort=False)
        spread = per.max() - per.min()
        varying = spread[spread > 0]
        if len(varying):
            raise DataError(f"covariate column {column!r} changes within subject "
                            f"{display_id(varying.index[0])}; time-varying covariates are not "
                            "supported (one value per subject)")
        cov[name] = per.first().reindex(cov["subject"]).to_numpy(dtype=float)
        if name == "body_weight":
            _check_weighed(regimens, cov, column)
    return cov


def _check_weighed(regimens: Mapping, cov: pd.DataFrame, column: object) -> None:
    """A DataError for a subject dosed per kg whose body weight is missing on every row:
    its doses could not be converted (fitting would refuse the data later)."""
    for subject, weight in zip(cov["subject"], cov["body_weight"], strict=True):
        per_kg = [d.unit for d in regimens[subject].doses if is_per_body_weight(d.unit)]
        if per_kg and np.isnan(weight):
            raise DataError(f"subject {display_id(subject)} is dosed in {per_kg[0]} (per kg of "
                            f"body weight) and has no body weight: covariate column "
                            f"{column!r} is missing on every row of it; give its weight, "
                            "finite and > 0 kg")


def _molecular_weight(model: Model, variable: str, mw: float | ParameterSet | None
                      ) -> tuple[str | None, float]:
    """kDa converting mass concentrations of `variable`, and the molecular-weight
    parameter of the model's drug the variable is named after (``<drug>_...``; None
    for no drug): `mw` if a number, else the model's fixed value, else the value in
    `mw` (a ParameterSet), else the model's default. A variable named after no drug
    (``ada_titer``, a receptor) has no molecular weight to assume: a DataError asks
    for a number."""
    # the longest drug name the variable starts with (il21_mut_plasma: il21_mut, not il21)
    named = sorted((d for d in model.drugs if variable.startswith(f"{d.name}_")),
                   key=lambda d: len(d.name), reverse=True)
    name = named[0].mw if named else None
    if mw is not None and not isinstance(mw, ParameterSet):
        return name, float(mw)
    if not named:
        drugs = [d.name for d in model.drugs]
        raise DataError(
            f"observations of {variable!r} are a mass concentration, and {variable!r} is "
            f"not named after a drug of the model ({drugs if drugs else 'it has none'}), so "
            "il21pk cannot tell whose molecular weight converts them to nM (an anti-drug "
            "antibody's is not the drug's); give them in a molar unit (nM, pM, uM) or, "
            "from Python, pass mw=<kDa>")
    if model.fixed_value(name) is not None:
        return name, float(model.fixed_value(name))
    if isinstance(mw, ParameterSet) and name in mw:
        return name, float(mw.value(name))
    value = model.default_value(name)
    if value is None:
        raise DataError(f"mass concentrations of {variable!r} need the molecular weight of "
                        f"drug {named[0].name!r} (parameter {name!r}), which has no default "
                        "value: pass mw=<kDa> or mw=<ParameterSet>")
    return name, value


def _convert(values: np.ndarray, variable: str, unit: str | None, model: Model,
             model_units: dict[str, str], mw: float | ParameterSet | None,
             used: dict) -> np.ndarray:
    """`values` of `variable` from `unit` to the model's; a molecular weight used is
    recorded in `used` (``variable -> (parameter, kDa)``)."""
    target = model_units[variable]
    if unit is None or unit == target:
        return values
    if target == "nM" and unit in CONCENTRATION_UNITS:
        kda = None
        if is_mass_concentration(unit):
            name, kda = _molecular_weight(model, variable, mw)
            if name is not None:
                used[variable] = (name, kda)
        return concentration_to_nM(values, unit, mw=kda)
    raise DataError(f"observations of {variable!r} are in {unit!r}, which il21pk cannot convert "
                    f"to the model's {target!r}; give them in {target!r}"
                    + (f" or one of {list(CONCENTRATION_UNITS)}" if target == "nM" else ""))


@dataclass(frozen=True)
class Dataset:
    """Observations, per-subject regimens and covariates.

    Attributes
    ----------
    observations : pandas.DataFrame
        ``subject, time_h, variable, value, lloq, blq, predose`` in model
        units (``lloq`` NaN where none was given; ``blq`` True where the value
        is below the limit, in which case ``value`` holds the limit;
        ``predose`` True for a sample taken just before a dose given at the
        same time, which is then predicted from the state before that dose).
    regimens : dict
        ``subject -> Regimen``.
    covariates : pandas.DataFrame
        ``subject`` plus covariate columns named like parameters (``body_weight``).
    molecular_weights : dict
        ``variable -> (parameter, kDa)``: the molecular weight that converted a
        drug's mass concentrations to nM, and the parameter it stands for
        (fitting refuses parameters that give that drug another one).
    """

    observations: pd.DataFrame
    regimens: dict
    covariates: pd.DataFrame
    molecular_weights: dict = field(default_factory=dict)

    @property
    def subjects(self) -> list:
        """Subject identifiers in order of appearance."""
        return list(self.regimens)

    @property
    def variables(self) -> list[str]:
        """Observed variables."""
        return list(dict.fromkeys(self.observations["variable"]))

    def __len__(self) -> int:
        return len(self.observations)

    def subset(self, subjects) -> Dataset:
        """The data of some subjects only."""
        keep = list(subjects)
        unknown = [s for s in keep if s not in self.regimens]
        if unknown:
            raise DataError(f"unknown subject(s) {unknown}; the data hold {self.subjects}")
        obs = self.observations[self.observations["subject"].isin(keep)].reset_index(drop=True)
        cov = self.covariates[self.covariates["subject"].isin(keep)].reset_index(drop=True)
        return Dataset(obs, {s: self.regimens[s] for s in keep}, cov,
                       dict(self.molecular_weights))

    @classmethod
    def from_frame(cls, df: pd.DataFrame, *, time: str = "time_h", value: str = "value",
                   variable: str = "variable", subject: str | None = "subject",
                   regimen: Regimen | Mapping | None = None, dose: str | None = None,
                   time_unit: str | None = None, units: Mapping[str, str] | None = None,
                   lloq: str | None = None, covariates: Mapping[str, str] | None = None,
                   model: Model | None = None,
                   mw: float | ParameterSet | None = None) -> Dataset:
        """Observations in the user's column names.

        Parameters
        ----------
        df : pandas.DataFrame
            One row per observation.
        time, value : str
            Columns with the sampling time (in `time_unit`) and the measured value,
            as plain numbers (datetime, timedelta and complex columns are refused:
            convert them, e.g. ``df["t"].dt.total_seconds() / 3600`` for hours).
        time_unit : str, optional
            Unit of the `time` column (``"s"``, ``"min"``, ``"h"``, ``"d"``,
            ``"week"``), converted to the model's (``model.time_unit``: hours
            for il21pk's models, an imported model's own). Default None: the
            times are in the model's time unit already.
        variable : str
            Column naming the observed model variable, or a variable name used
            for every row (e.g. ``"il21_plasma"``).
        subject : str or None
            Column identifying subjects or dose groups (None: one subject).
        regimen : Regimen or mapping, optional
            The dosing of every subject, or ``{subject: Regimen}``.
        dose : str, optional
            Column with each subject's dose amount; every dose of the subject's
            regimen (`regimen`, or its entry in the mapping) is set to it (dose
            groups sharing a schedule of equal doses; a regimen whose doses differ
            in amount, unit or drug is refused).
        units : mapping, optional
            ``{variable: unit}`` of the values; concentrations may be in
            ng/mL, pg/mL, pM, nM ... (converted with `mw` [kDa]).
        lloq : str, optional
            Column with the lower limit of quantification (same unit as the
            values); values below it, or missing, are BLQ.
        covariates : mapping, optional
            ``{column: parameter}``, e.g. ``{"WT": "body_weight"}``.
        model : Model, optional
            The model the data are for (default ``Model()``): its time unit
            and the units of its variables.
        mw : float or ParameterSet, optional
            Molecular weight [kDa] converting mass concentrations of every
            variable; or a parameter set (the one you fit with) holding the
            drugs' molecular weights. Default: each drug's own (the model's
            fixed or default value of its molecular-weight parameter) for the
            variables named after it (``il15_plasma``: IL-15's 12.9 kDa); a
            variable named after no drug (``ada_titer``) needs a number.
        """
        model = _check_common(df, model, mw, time_unit, units)
        _duplicate_columns(df)
        for name, col in (("time", time), ("value", value), ("variable", variable),
                          ("subject", subject), ("dose", dose), ("lloq", lloq)):
            if not (isinstance(col, str) or (col is None and name in ("subject", "dose",
                                                                     "lloq"))):
                raise InputTypeError(f"`{name}` must be a column name (str); got {col!r}")
        if covariates is not None and not isinstance(covariates, Mapping):
            raise InputTypeError(f"`covariates` must be a mapping {{column: parameter}}; got "
                                 f"{type(covariates).__name__}")
        fixed_variable = variable if variable not in df.columns and variable in \
            _model_units(model) else None
        needed = [time, value] + ([variable] if fixed_variable is None else []) \
            + ([subject] if subject else []) + ([dose] if dose else []) \
            + ([lloq] if lloq else []) + list(covariates or {})
        missing = [c for c in needed if c not in df.columns]
        if missing:
            hint = " Map your columns with time=..., value=..., variable=..., subject=..."
            raise DataError(f"data are missing column(s) {missing}; got {list(df.columns)}.{hint}")
        for role, col in (("time", time), ("value", value), ("lloq", lloq), ("dose", dose)):
            if col is not None:
                check_plain_numbers(df[col], f"column {col!r} ({role})", DataError, column=col)
        n = len(df)
        if subject:
            raw_subjects = df[subject].to_numpy(dtype=object)
            for i in np.flatnonzero(pd.isna(df[subject]).to_numpy()):
                raise DataError(f"row {i}: column {subject!r} (subject) must identify a "
                                f"subject on every row; got {raw_subjects[i]!r}")
            subjects = df[subject].to_numpy(dtype=np.float64) if df[subject].dtype.kind == "f" \
                else df[subject].to_numpy()
        else:
            subjects = np.zeros(n, dtype=int)
        variables = np.full(n, fixed_variable) if fixed_variable else df[variable].astype(str) \
            .to_numpy()
        frame = pd.DataFrame({"subject": subjects, "time": df[time].to_numpy(),
                              "variable": variables, "value": df[value].to_numpy(),
                              "lloq": df[lloq].to_numpy() if lloq else np.nan})
        obs, used = _validate(frame, model, time_unit, units or {}, mw, value_col=value,
                              time_col=time)
        regimens = _regimens(list(dict.fromkeys(subjects)), regimen, df, subject, dose, model)
        # a sample at a dosing time is taken before that dose (a trough)
        obs["predose"] = _at_doses(obs, regimens)
        cov = _covariate_table(regimens, subjects, {
            column: (name, df[column]) for column, name in (covariates or {}).items()},
            missing_marker=False)
        return cls(obs, regimens, cov, used)

    @classmethod
    def from_nonmem(cls, df: pd.DataFrame, *, dvid: Mapping[int, str] | None = None,
                    amount_unit: str = "ug/kg", time_unit: str | None = None,
                    units: Mapping[str, str] | None = None, model: Model | None = None,
                    mw: float | ParameterSet | None = None) -> Dataset:
        """Observations and dosing from NONMEM-style rows.

        ``ID, TIME, AMT, DV, EVID`` (+ ``MDV, CMT, RATE, II, ADDL, DVID, BLQ,
        LLOQ, WT``). Observation rows are ``EVID=0`` and ``MDV=0``. ``DVID``
        picks the observed variable via `dvid` (default :data:`DEFAULT_DVID`);
        without it every observation is DVID 1 (``il21_plasma`` by default),
        and observation rows with different ``CMT`` values (other than 0 or
        ``"."``) are refused: ``CMT`` does not pick the variable. ``BLQ=1`` or
        ``DV < LLOQ`` marks a BLQ value. ``WT`` becomes the ``body_weight``
        covariate: finite and > 0 kg, and given (on some row) for a subject
        dosed per kg. An observation recorded before a dose record at the same
        TIME, or at the time of an ADDL dose, is a pre-dose sample; one recorded after
        a dose record and before another dose of its TIME is refused. ``TIME``
        and ``II`` are in `time_unit` (default None: the model's time unit),
        converted to the model's as by :meth:`from_frame`.
        """
        given_model = model is not None
        model = _check_common(df, model, mw, time_unit, units)
        try:
            check_dose_unit(amount_unit, "amount_unit")
        except ValueError as exc:
            raise DataError(str(exc)) from None
        if dvid is not None and not isinstance(dvid, Mapping):
            raise InputTypeError(f"`dvid` must be a mapping {{DVID: variable}}; got "
                                 f"{type(dvid).__name__}")
        upper = upper_columns(df, DataError)
        if "DV" not in upper:
            raise DataError(f"NONMEM data are missing required column(s) ['DV']; got "
                            f"{list(df.columns)}")
        rows = check_nonmem_frame(df, error=DataError, model=model, max_doses=MAX_DOSES)
        evid0 = rows["EVID"].to_numpy() == 0
        mdv = numeric_column(df[upper["MDV"]], "MDV", DataError, missing=0.0) \
            if "MDV" in upper else np.zeros(len(df))
        for i in np.flatnonzero(~np.isin(mdv, (0.0, 1.0))):
            raise DataError(f"NONMEM column MDV must be 0 or 1; row {i} has "
                            f"{display_id(df[upper['MDV']].iloc[i])}")
        is_obs = evid0 & (mdv == 0)
        key_col = upper.get("DVID")
        mapping = dict(DEFAULT_DVID if dvid is None else dvid)
        if key_col is None:
            if is_obs.any() and 1 not in mapping:
                raise DataError(f"the data have no DVID column, so every observation is DVID=1, "
                                f"which dvid={mapping} does not map; add a DVID column or map "
                                "1 to the observed variable")
            # CMT 0 ("." or empty) on an observation is NONMEM's default compartment
            cmts = sorted(set(rows["CMT"].to_numpy()[is_obs]) - {0.0})
            if len(cmts) > 1:
                raise DataError(
                    f"the data have no DVID column, so every observation is DVID 1 "
                    f"({mapping[1]}), but the observation rows have CMT "
                    f"{', '.join(f'{c:g}' for c in cmts)}: il21pk picks the observed variable "
                    f"by DVID, not CMT; add a DVID column saying what each observation "
                    f"measures (DVID -> variable: {mapping})")
            keys = np.ones(len(df))
        else:
            keys = numeric_column(df[key_col], str(key_col), DataError, missing=np.nan,
                                  rows=is_obs)
        variables = []
        for i in np.flatnonzero(is_obs):
            key = keys[i]
            if not np.isfinite(key) or key != int(key) or int(key) not in mapping:
                shown = display_id(df[key_col].iloc[i])
                raise DataError(f"row {i}: column {key_col} = {shown} names no "
                                f"observed variable; map it with dvid={{<DVID>: '<variable>'}} "
                                f"(known: {mapping})")
            variables.append(mapping[int(key)])
        lloq = numeric_column(df[upper["LLOQ"]], "LLOQ", DataError, missing=np.nan,
                              rows=is_obs)[is_obs] if "LLOQ" in upper else np.nan
        dv_raw = df[upper["DV"]].to_numpy(dtype=object)
        dv = numeric_column(df[upper["DV"]], "DV", DataError, missing=np.nan, rows=is_obs)
        frame = pd.DataFrame({"subject": rows["ID"].to_numpy()[is_obs],
                              "time": rows["TIME"].to_numpy()[is_obs], "variable": variables,
                              "value": dv[is_obs], "lloq": lloq,
                              "raw": dv_raw[is_obs]}, index=np.flatnonzero(is_obs))
        if "BLQ" in upper:
            blq = numeric_column(df[upper["BLQ"]], "BLQ", DataError, missing=0.0, rows=is_obs)
            for i in np.flatnonzero(is_obs & ~np.isin(blq, (0.0, 1.0))):
                raise DataError(f"NONMEM column BLQ must be 0 or 1; row {i} has "
                                f"{display_id(df[upper['BLQ']].iloc[i])}")
            flagged = blq[is_obs] == 1
            # a flagged row without LLOQ uses its DV as the limit
            frame.loc[flagged & frame["lloq"].isna(), "lloq"] = frame["value"]
            frame["flag"] = flagged
        obs, used = _validate(frame, model, time_unit, units or {}, mw, value_col="DV",
                              time_col="TIME")
        factor = model_time_factor(time_unit, model.time_unit)
        regimens = build_regimens(rows, amount_unit, factor, DataError, Dose, Regimen,
                                  model=model, marked=time_unit is not None or given_model)
        _at_doses(obs, regimens)  # a sample at an ADDL dose's time: at its time exactly
        obs["predose"] = _predose_rows(rows, is_obs)
        cov = _covariate_table(regimens, rows["ID"].to_numpy(), {
            upper[column]: (name, df[upper[column]]) for column, name in COVARIATES.items()
            if column in upper}, missing_marker=True)
        return cls(obs, regimens, cov, used)


def _at_doses(obs: pd.DataFrame, regimens: Mapping) -> np.ndarray:
    """Which samples are at a dose time of their subject (within
    :func:`~il21pk.units.same_time_tolerance`); those get the
    dose's time exactly, in place, so that the solver, which compares the two, sees
    one time."""
    times = obs["time_h"].to_numpy(dtype=float).copy()
    at = np.zeros(times.shape[0], dtype=bool)
    subjects = obs["subject"].to_numpy()
    for subject, regimen in regimens.items():
        doses = np.unique([d.time for d in regimen.doses])
        rows = np.flatnonzero(subjects == subject)
        if not doses.size or not rows.size:
            continue
        t = times[rows]
        nearest = doses[np.clip(np.searchsorted(doses, t), 1, doses.size) - 1]
        after = doses[np.clip(np.searchsorted(doses, t), 0, doses.size - 1)]
        nearest = np.where(np.abs(after - t) < np.abs(nearest - t), after, nearest)
        close = np.abs(nearest - t) <= same_time_tolerance(t)
        times[rows[close]] = nearest[close]
        at[rows[close]] = True
    obs["time_h"] = times
    return at


def _predose_rows(rows: pd.DataFrame, is_obs: np.ndarray) -> np.ndarray:
    """For each observation row: is a dose given at its TIME after it (record order or ADDL)?

    A sample after one dose record and before another at its TIME (a later record, or
    an additional dose, which NONMEM gives after the records of that time) cannot be
    predicted between them: DataError."""
    ids, time, evid = rows["ID"].to_numpy(), rows["TIME"].to_numpy(), rows["EVID"].to_numpy()
    ii, addl = rows["II"].to_numpy(), rows["ADDL"].to_numpy()
    order = np.arange(len(rows))
    out = []
    for i in np.flatnonzero(is_obs):
        dosed_now = (ids == ids[i]) & (evid == 1) & \
            (np.abs(time - time[i]) <= same_time_tolerance(time[i]))
        implied = False
        for j in np.flatnonzero((ids == ids[i]) & (evid == 1) & (addl > 0)):
            k = round((time[i] - time[j]) / ii[j])
            implied |= 1 <= k <= addl[j] and \
                abs(time[j] + k * ii[j] - time[i]) <= same_time_tolerance(time[i])
        after = bool((dosed_now & (order > i)).any() or implied)
        if after and (dosed_now & (order < i)).any():
            raise DataError(
                f"ID {display_id(ids[i])}: the observation at TIME {time[i]:g} follows a dose "
                "record of that time and precedes another dose at it (a later record or an "
                "ADDL dose); il21pk predicts a sample before or after all doses of one time, "
                "not between them: give the two doses as one record, or move the sample")
        out.append(after)
    return np.array(out, dtype=bool)


def read_csv(path: str | Path | io.IOBase, *, nonmem: bool = False, **kwargs) -> Dataset:
    """Read a CSV into a Dataset.

    Parameters
    ----------
    path : str, pathlib.Path or file-like
        Anything ``pandas.read_csv`` reads (a path, a compressed file, a buffer),
        read by :func:`read_table`.
    nonmem : bool
        NONMEM records (:meth:`Dataset.from_nonmem`); lines whose first
        non-blank character is ``#`` are skipped, as NM-TRAN skips them
        (its default ``IGNORE=#``), and a header written ``#ID,TIME,...`` gives
        the column names. Default False: :meth:`Dataset.from_frame`, and a
        line starting with ``#`` is refused (it would be read as a record).
    **kwargs
        Passed to :meth:`Dataset.from_nonmem` or :meth:`Dataset.from_frame`.

    Returns
    -------
    Dataset
    """
    df = read_table(path, nonmem=nonmem)
    return Dataset.from_nonmem(df, **kwargs) if nonmem else Dataset.from_frame(df, **kwargs)


def read_table(path: str | Path | io.IOBase, *, nonmem: bool = False) -> pd.DataFrame:
    """A CSV as a DataFrame, refusing a header that names a column twice.

    Parameters
    ----------
    path : str, pathlib.Path or file-like
        Anything ``pandas.read_csv`` reads: a path, a compressed file, a buffer.
    nonmem : bool
        NONMEM records: a line whose first non-blank character is ``#`` is a
        comment and is skipped (NM-TRAN's default ``IGNORE=#``: a record
        commented out is not data), except a commented header: the first
        ``#`` line before the data that names an ``ID`` column
        (``#ID,TIME,...``) gives the column names.

    Returns
    -------
    pandas.DataFrame
        The table; pandas would rename a second copy of a column ``X.1`` and
        use the first in silence, so a duplicate name is a DataError (empty
        header cells, pandas' ``Unnamed: k``, are not names).
    """
    if hasattr(path, "read"):  # a buffer is read twice below: hold its content
        content = path.read()
        wrap = io.BytesIO if isinstance(content, bytes) else io.StringIO

        def source():
            return wrap(content)
    else:
        def source():
            return path
    try:
        lines = _without_trailing_empty_fields(_lines(source()))
        if nonmem:
            records = _nonmem_records(lines, path)
        elif any(line.strip() for line in lines):
            records = "\n".join(lines) + "\n"
        else:
            raise DataError(f"{path}: no column names: the file is empty or blank")

        def source():
            return io.StringIO(records)
        # the header as pandas finds it (blank lines skipped), each cell as text
        header = pd.read_csv(source(), header=None, nrows=1, dtype=str,
                             keep_default_na=False).iloc[0].tolist()
        if not nonmem:
            _refuse_comment_header(path, header)  # before its one column meets the data's
        with warnings.catch_warnings():
            # index_col=False: a line with more fields than the header is refused below,
            # not read with its first column as the index (every column shifted left)
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(source(), index_col=False)
    except (pd.errors.ParserWarning, pd.errors.ParserError) as exc:
        # "... C error: Expected 6 fields in line 3, saw 7" (one line), or every line
        raise DataError(f"{path}: not a CSV of the header's {len(header)} columns "
                        f"({str(exc).split('C error: ')[-1].strip()}); name every column "
                        "in the header") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save "
                        "the file as UTF-8 CSV") from None
    named = [name.strip() for name in header if name.strip()]
    dup = sorted({name for name in named if named.count(name) > 1})
    if dup:
        raise DataError(f"{path}: duplicate column(s) {dup} in the header")
    if not nonmem:
        _refuse_comment_rows(path, frame)
    return frame


def _refuse_comment_header(path: object, header: list[str]) -> None:
    """A plain CSV's header starting with ``#`` would be read as its column names."""
    if header and str(header[0]).lstrip().startswith("#"):
        _refuse_comment(path, "the header", ",".join(header))


def _refuse_comment_rows(path: object, frame: pd.DataFrame) -> None:
    """A plain CSV's data line starting with ``#`` would be read as a record."""
    first = frame.iloc[:, 0].astype(str).str.lstrip()  # pandas reads at least one column
    commented = np.flatnonzero(first.str.startswith("#").to_numpy(dtype=bool))
    if commented.size:
        _refuse_comment(path, f"data row {commented[0] + 1}",
                        ",".join(map(str, frame.iloc[commented[0]].tolist())))


def _refuse_comment(path: object, where: str, text: str) -> None:
    raise DataError(f"{path}: {where} starts with '#' ({text[:60]!r}): a plain CSV has no "
                    f"comment lines; remove them (a NONMEM file: read_csv(..., nonmem=True) "
                    f"skips them)")


def _lines(source: str | Path | io.IOBase) -> list[str]:
    """The lines of a CSV as pandas decodes them (compression, encoding, line ends)."""
    try:
        # a separator that never matches and no quoting: each line is one cell, verbatim
        cells = pd.read_csv(source, header=None, sep="(?!)", engine="python",
                            quoting=csv.QUOTE_NONE, dtype=str, na_filter=False)
    except pd.errors.EmptyDataError:
        return []
    return cells[0].tolist()


def _without_trailing_empty_fields(lines: list[str]) -> list[str]:
    """Each line without the empty fields a trailing comma (or several) adds, which
    pandas would count as columns (a line inside an open quote kept as it is)."""
    return [line.rstrip(", \t") if line.count('"') % 2 == 0 else line for line in lines]


def _nonmem_records(lines: list[str], path: object) -> str:
    """The CSV text without NONMEM comment lines (first non-blank character ``#``), the
    header kept: the first line before the data that is not a comment, or is a comment
    naming an ``ID`` column (``#ID,TIME,...``, written with its ``#`` removed)."""
    kept = []
    for line in lines:
        text = line.lstrip()
        if not text.startswith("#"):
            kept.append(line)
        elif not kept and "ID" in [c.strip().upper() for c in next(csv.reader([text[1:]]))]:
            kept.append(text[1:].lstrip())
    if not any(line.strip() for line in kept):
        raise DataError(f"{path}: no column names: every line is blank or a '#' comment")
    return "\n".join(kept) + "\n"


def _validate(frame: pd.DataFrame, model: Model, time_unit: str | None,
              units: Mapping[str, str],
              mw: float | ParameterSet | None, *, value_col: str,
              time_col: str) -> tuple[pd.DataFrame, dict]:
    """The observations in model units, and the molecular weights that converted them
    (``variable -> (parameter, kDa)``)."""
    model_units = _model_units(model)
    for row, var in zip(frame.index, frame["variable"], strict=True):
        if var not in model_units:
            raise DataError(f"row {row}: unknown variable {var!r}; the model reports "
                            f"{list(model_units)}")
    for name in units:
        if name not in model_units:
            raise DataError(f"units given for unknown variable {name!r}")
    t = as_floats(frame["time"])
    bad = np.flatnonzero(~np.isfinite(t))
    if bad.size:
        raise DataError(f"row {frame.index[bad[0]]}: column {time_col!r} must be a number; "
                        f"got {frame['time'].iloc[bad[0]]!r}")
    bad = np.flatnonzero(t < 0)
    if bad.size:
        raise DataError(f"row {frame.index[bad[0]]}: column {time_col!r} must be >= 0; got "
                        f"{t[bad[0]]:g}")
    raw = frame["raw"] if "raw" in frame else frame["value"]
    value = _numbers(frame["value"], raw, frame.index, value_col)
    lloq = _numbers(frame["lloq"], frame["lloq"], frame.index, "lloq")
    bad = np.flatnonzero(lloq < 0)
    if bad.size:
        raise DataError(f"row {frame.index[bad[0]]}: the LLOQ must be >= 0; got "
                        f"{lloq[bad[0]]:g}")
    missing_value = np.isnan(value)
    bad = np.flatnonzero(missing_value & np.isnan(lloq))
    if bad.size:
        shown = raw.iloc[bad[0]]
        shown = "NaN" if isinstance(shown, float) and np.isnan(shown) else display_id(shown)
        raise DataError(f"row {frame.index[bad[0]]}: column {value_col!r} is {shown} on an "
                        "observation row (give an LLOQ for BLQ samples, or drop the row)")
    subjects = frame["subject"].to_numpy()
    variables = frame["variable"].to_numpy()
    for _, idx in pd.Series(np.arange(len(frame))).groupby(
            [subjects, variables], sort=False):
        pos = idx.to_numpy()
        back = np.flatnonzero(np.diff(t[pos]) < 0)
        if back.size:
            i, j = pos[back[0]], pos[back[0] + 1]
            raise DataError(f"row {frame.index[j]}: column {time_col!r} decreases within "
                            f"subject {display_id(subjects[j])} ({t[i]:g} -> {t[j]:g}); sort the "
                            "data by subject and time")
    flagged = frame["flag"].to_numpy(dtype=bool) if "flag" in frame else False
    blq = flagged | missing_value | (np.isfinite(lloq) & (value < lloq))
    value = np.where(blq, lloq, value)
    times = t * model_time_factor(time_unit, model.time_unit)
    bad = np.flatnonzero(~np.isfinite(times))
    if bad.size:
        raise DataError(f"row {frame.index[bad[0]]}: column {time_col!r} = {t[bad[0]]:g} "
                        f"{time_unit} is too large to express in the model's time unit "
                        f"({time_unit_label(model.time_unit)})")
    out = pd.DataFrame({"subject": subjects, "time_h": times,
                        "variable": variables, "value": value, "lloq": lloq, "blq": blq,
                        "predose": False})
    used: dict = {}
    for var in out["variable"].unique():
        rows = out["variable"] == var
        for col in ("value", "lloq"):
            out.loc[rows, col] = _convert(out.loc[rows, col].to_numpy(), var, units.get(var),
                                          model, model_units, mw, used)
    return out[OBSERVATION_COLUMNS], used


def _numbers(values: pd.Series, raw: pd.Series, index: pd.Index, column: str) -> np.ndarray:
    """Floats of a value column: NaN stays NaN (missing); text and inf are DataErrors."""
    series = pd.Series(values).reset_index(drop=True)
    number = as_floats(series)
    text = np.isnan(number) & ~pd.isna(series).to_numpy()
    for i in np.flatnonzero(text):
        raise DataError(f"row {index[i]}: column {column!r} must be a number; got "
                        f"{display_id(raw.iloc[i])}")
    for i in np.flatnonzero(np.isinf(number)):
        raise DataError(f"row {index[i]}: column {column!r} must be finite; got "
                        f"{display_id(raw.iloc[i])}")
    return number


def _regimens(subjects: list, regimen: Regimen | Dose | Mapping | None, df: pd.DataFrame,
              subject: str | None, dose: str | None, model: Model) -> dict:
    """``{subject: Regimen}``: `regimen` (one for all, or a mapping), every dose of a
    subject's regimen set to its amount in the `dose` column if one is given."""
    if regimen is None:
        raise DataError("observations need the dosing: pass regimen=Regimen (or "
                        "{subject: Regimen}), and dose=<column> for dose groups")
    if isinstance(regimen, Dose):
        regimen = Regimen.single(regimen)
    if isinstance(regimen, Mapping):
        missing = [s for s in subjects if s not in regimen]
        if missing:
            raise DataError("regimen mapping has no regimen for subject(s) "
                            f"{[display_id(m) for m in missing]}")
        out = {}
        for s in subjects:
            given = regimen[s]
            if isinstance(given, Dose):
                given = Regimen.single(given)
            if not isinstance(given, Regimen):
                raise InputTypeError(f"regimen[{display_id(s)}] must be an il21pk Regimen (or "
                                     f"Dose); got {type(given).__name__}")
            out[s] = given
    elif isinstance(regimen, Regimen):
        out = {s: regimen for s in subjects}
    else:
        raise InputTypeError(f"`regimen` must be a Regimen, a Dose or a mapping {{subject: "
                             f"Regimen}}; got {type(regimen).__name__}")
    if dose is None:
        return out
    key = df[subject] if subject else pd.Series(0, index=df.index)
    values = as_floats(df[dose])
    raw = df[dose].to_numpy(dtype=object)
    for i in np.flatnonzero(np.isnan(values) & ~pd.isna(df[dose]).to_numpy()):
        raise DataError(f"row {i}: column {dose!r} (dose) must be a number; got "
                        f"{display_id(raw[i])}")
    amounts = pd.Series(values).groupby(key.to_numpy(), sort=False)
    spread = amounts.max() - amounts.min()
    varying = spread[spread > 0]
    if len(varying):
        raise DataError(f"column {dose!r} changes within subject {display_id(varying.index[0])}; "
                        "give one dose amount per subject (dose group)")
    first = amounts.first()
    for s in subjects:
        amount = first[s]
        if not np.isfinite(amount) or amount < 0:
            raise DataError(f"subject {display_id(s)}: column {dose!r} must be a dose >= 0; got "
                            f"{amount!r}")
        kinds = sorted({(d.amount, d.unit, model.drug(d.drug).name if model.drugs else "")
                        for d in out[s].doses})
        if len(kinds) > 1:
            raise DataError(
                f"the dose column {dose!r} sets every dose of a subject's regimen to its "
                f"amount, and in subject {display_id(s)}'s regimen the doses differ (" + ", ".join(
                    f"{a:g} {u}" + (f" of {g}" if len({k[2] for k in kinds}) > 1 else "")
                    for a, u, g in kinds) + "), which would be lost; give each subject its "
                "regimen ({subject: Regimen}) without dose=")
        out[s] = out[s].scaled_to(float(amount))
    return out
