"""Observed data for fitting: observations, dosing per subject and covariates.

A :class:`Dataset` holds observations in the model's units (one row per
measurement: ``subject, time_h, variable, value, lloq, blq``), one
:class:`~il21pk.Regimen` per subject, and per-subject covariates (body weight).
Below-limit-of-quantification values are kept and flagged, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError
from .model import Model
from .nonmem import check_nonmem_frame, display_id
from .regimen import Regimen
from .units import CONCENTRATION_UNITS, concentration_to_nM, time_to_hours

OBSERVATION_COLUMNS = ["subject", "time_h", "variable", "value", "lloq", "blq", "predose"]
#: Default NONMEM DVID -> observed variable (without DVID every observation is IL-21).
DEFAULT_DVID = {1: "il21_plasma", 2: "nk_blood", 3: "cd8_blood", 4: "ifng_plasma"}
COVARIATES = {"WT": "body_weight"}


def _model_units(model: Model) -> dict[str, str]:
    return {v.name: v.unit for v in model.variables}


def _convert(values: np.ndarray, variable: str, unit: str | None, model_units: dict[str, str],
             mw: float) -> np.ndarray:
    target = model_units[variable]
    if unit is None or unit == target:
        return values
    if target == "nM" and unit in CONCENTRATION_UNITS:
        return concentration_to_nM(values, unit, mw=mw)
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
    """

    observations: pd.DataFrame
    regimens: dict
    covariates: pd.DataFrame

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
        return Dataset(obs, {s: self.regimens[s] for s in keep}, cov)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, *, time: str = "time_h", value: str = "value",
                   variable: str = "variable", subject: str | None = "subject",
                   regimen: Regimen | Mapping | None = None, dose: str | None = None,
                   time_unit: str = "h", units: Mapping[str, str] | None = None,
                   lloq: str | None = None, covariates: Mapping[str, str] | None = None,
                   model: Model | None = None, mw: float = 15.4) -> Dataset:
        """Observations in the user's column names.

        Parameters
        ----------
        df : pandas.DataFrame
            One row per observation.
        time, value : str
            Columns with the sampling time (in `time_unit`) and the measured value.
        variable : str
            Column naming the observed model variable, or a variable name used
            for every row (e.g. ``"il21_plasma"``).
        subject : str or None
            Column identifying subjects or dose groups (None: one subject).
        regimen : Regimen or mapping, optional
            The dosing of every subject, or ``{subject: Regimen}``.
        dose : str, optional
            Column with each subject's dose amount; the `regimen` is rescaled to
            it (dose groups sharing one schedule).
        units : mapping, optional
            ``{variable: unit}`` of the values; concentrations may be in
            ng/mL, pg/mL, pM, nM ... (converted with `mw` [kDa]).
        lloq : str, optional
            Column with the lower limit of quantification (same unit as the
            values); values below it, or missing, are BLQ.
        covariates : mapping, optional
            ``{column: parameter}``, e.g. ``{"WT": "body_weight"}``.
        """
        model = model or Model()
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"data must be a pandas DataFrame; got {type(df).__name__}")
        fixed_variable = variable if variable not in df.columns and variable in \
            _model_units(model) else None
        needed = [time, value] + ([variable] if fixed_variable is None else []) \
            + ([subject] if subject else []) + ([dose] if dose else []) \
            + ([lloq] if lloq else []) + list(covariates or {})
        missing = [c for c in needed if c not in df.columns]
        if missing:
            hint = " Map your columns with time=..., value=..., variable=..., subject=..."
            raise DataError(f"data are missing column(s) {missing}; got {list(df.columns)}.{hint}")
        n = len(df)
        subjects = df[subject].to_numpy() if subject else np.zeros(n, dtype=int)
        variables = np.full(n, fixed_variable) if fixed_variable else df[variable].astype(str) \
            .to_numpy()
        frame = pd.DataFrame({"subject": subjects, "time": df[time].to_numpy(),
                              "variable": variables, "value": df[value].to_numpy(),
                              "lloq": df[lloq].to_numpy() if lloq else np.nan})
        obs = _validate(frame, model, time_unit, units or {}, mw, value_col=value, time_col=time)
        regimens = _regimens(list(dict.fromkeys(subjects)), regimen, df, subject, dose)
        # a sample at a dosing time is taken before that dose (a trough)
        dose_times = {s: {d.time for d in r.doses} for s, r in regimens.items()}
        obs["predose"] = [t in dose_times[s] for s, t in zip(obs["subject"], obs["time_h"],
                                                             strict=True)]
        cov = pd.DataFrame({"subject": list(regimens)})
        for column, name in (covariates or {}).items():
            per = df.groupby(subject if subject else np.zeros(n), sort=False)[column].first()
            cov[name] = per.reindex(cov["subject"]).to_numpy(dtype=float)
        return cls(obs, regimens, cov)

    @classmethod
    def from_nonmem(cls, df: pd.DataFrame, *, dvid: Mapping[int, str] | None = None,
                    amount_unit: str = "ug/kg", time_unit: str = "h",
                    units: Mapping[str, str] | None = None, model: Model | None = None,
                    mw: float = 15.4) -> Dataset:
        """Observations and dosing from NONMEM-style rows.

        ``ID, TIME, AMT, DV, EVID`` (+ ``MDV, CMT, RATE, II, ADDL, DVID, BLQ,
        LLOQ, WT``). Observation rows are ``EVID=0`` and ``MDV=0``. ``DVID``
        picks the observed variable via `dvid` (default :data:`DEFAULT_DVID`);
        without it every observation is ``il21_plasma``. ``BLQ=1`` or
        ``DV < LLOQ`` marks a BLQ value. ``WT`` becomes the ``body_weight``
        covariate. An observation recorded before a dose record at the same
        TIME, or at the time of an ADDL dose, is a pre-dose sample.
        """
        model = model or Model()
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"data must be a pandas DataFrame; got {type(df).__name__}")
        upper = {str(c).upper(): c for c in df.columns}
        if "DV" not in upper:
            raise DataError(f"NONMEM data are missing required column(s) ['DV']; got "
                            f"{list(df.columns)}")
        rows = check_nonmem_frame(df, error=DataError)
        mdv = df[upper["MDV"]].to_numpy() if "MDV" in upper else np.zeros(len(df))
        is_obs = (rows["EVID"].to_numpy() == 0) & (mdv == 0)
        key_col = upper.get("DVID")
        keys = pd.to_numeric(df[key_col], errors="coerce").to_numpy() if key_col else \
            np.ones(len(df))
        mapping = dict(dvid or DEFAULT_DVID)
        variables = []
        for i in np.flatnonzero(is_obs):
            key = keys[i]
            if not np.isfinite(key) or int(key) not in mapping:
                shown = display_id(df[key_col].iloc[i])
                raise DataError(f"row {i}: column {key_col} = {shown} names no "
                                f"observed variable; map it with dvid={{<DVID>: '<variable>'}} "
                                f"(known: {mapping})")
            variables.append(mapping[int(key)])
        lloq = df[upper["LLOQ"]].to_numpy(dtype=float)[is_obs] if "LLOQ" in upper else np.nan
        frame = pd.DataFrame({"subject": rows["ID"].to_numpy()[is_obs],
                              "time": rows["TIME"].to_numpy()[is_obs], "variable": variables,
                              "value": pd.to_numeric(df[upper["DV"]], errors="coerce")
                              .to_numpy()[is_obs], "lloq": lloq}, index=np.flatnonzero(is_obs))
        if "BLQ" in upper:
            flagged = df[upper["BLQ"]].to_numpy()[is_obs] == 1
            # a flagged row without LLOQ uses its DV as the limit
            frame.loc[flagged & frame["lloq"].isna(), "lloq"] = frame["value"]
            frame["flag"] = flagged
        obs = _validate(frame, model, time_unit, units or {}, mw, value_col="DV", time_col="TIME")
        obs["predose"] = _predose_rows(rows, is_obs)
        from .nonmem import regimens_from_nonmem

        all_regimens = regimens_from_nonmem(df, unit=amount_unit, time_unit=time_unit)
        regimens = {s: all_regimens[s] for s in dict.fromkeys(rows["ID"])}
        cov = pd.DataFrame({"subject": list(regimens)})
        for column, name in COVARIATES.items():
            if column in upper:
                per = df.groupby(upper["ID"], sort=False)[upper[column]].first()
                cov[name] = per.reindex(cov["subject"]).to_numpy(dtype=float)
        return cls(obs, regimens, cov)


def _predose_rows(rows: pd.DataFrame, is_obs: np.ndarray) -> np.ndarray:
    """For each observation row: is a dose given at its TIME after it (record order or ADDL)?"""
    ids, time, evid = rows["ID"].to_numpy(), rows["TIME"].to_numpy(), rows["EVID"].to_numpy()
    ii, addl = rows["II"].to_numpy(), rows["ADDL"].to_numpy()
    out = []
    for i in np.flatnonzero(is_obs):
        same = ids == ids[i]
        later_dose = same & (evid == 1) & (time == time[i]) & (np.arange(len(rows)) > i)
        implied = False
        for j in np.flatnonzero(same & (evid == 1) & (addl > 0)):
            k = (time[i] - time[j]) / ii[j]
            implied |= 1 <= round(k) <= addl[j] and np.isclose(k, round(k))
        out.append(bool(later_dose.any() or implied))
    return np.array(out, dtype=bool)


def read_csv(path: str | Path, *, nonmem: bool = False, **kwargs) -> Dataset:
    """Read a CSV into a Dataset (NONMEM layout if `nonmem`, else :meth:`Dataset.from_frame`)."""
    df = pd.read_csv(path)
    return Dataset.from_nonmem(df, **kwargs) if nonmem else Dataset.from_frame(df, **kwargs)


def _validate(frame: pd.DataFrame, model: Model, time_unit: str, units: Mapping[str, str],
              mw: float, *, value_col: str, time_col: str) -> pd.DataFrame:
    model_units = _model_units(model)
    for row, var in zip(frame.index, frame["variable"], strict=True):
        if var not in model_units:
            raise DataError(f"row {row}: unknown variable {var!r}; the model reports "
                            f"{list(model_units)}")
    for name in units:
        if name not in model_units:
            raise DataError(f"units given for unknown variable {name!r}")
    t = pd.to_numeric(frame["time"], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(t))
    if bad.size:
        raise DataError(f"row {frame.index[bad[0]]}: column {time_col!r} must be a number; "
                        f"got {frame['time'].iloc[bad[0]]!r}")
    bad = np.flatnonzero(t < 0)
    if bad.size:
        raise DataError(f"row {frame.index[bad[0]]}: column {time_col!r} must be >= 0; got "
                        f"{t[bad[0]]:g}")
    value = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float)
    lloq = pd.to_numeric(frame["lloq"], errors="coerce").to_numpy(dtype=float)
    missing_value = ~np.isfinite(value)
    bad = np.flatnonzero(missing_value & ~np.isfinite(lloq))
    if bad.size:
        raise DataError(f"row {frame.index[bad[0]]}: column {value_col!r} is NaN on an "
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
    out = pd.DataFrame({"subject": subjects, "time_h": time_to_hours(t, time_unit),
                        "variable": variables, "value": value, "lloq": lloq, "blq": blq,
                        "predose": False})
    for var in out["variable"].unique():
        rows = out["variable"] == var
        for col in ("value", "lloq"):
            out.loc[rows, col] = _convert(out.loc[rows, col].to_numpy(), var, units.get(var),
                                          model_units, mw)
    return out[OBSERVATION_COLUMNS]


def _regimens(subjects: list, regimen, df: pd.DataFrame, subject: str | None,
              dose: str | None) -> dict:
    if regimen is None:
        raise DataError("observations need the dosing: pass regimen=Regimen (or "
                        "{subject: Regimen}), and dose=<column> for dose groups")
    if isinstance(regimen, Mapping):
        missing = [s for s in subjects if s not in regimen]
        if missing:
            raise DataError(f"regimen mapping has no regimen for subject(s) {missing}")
        return {s: regimen[s] for s in subjects}
    if not isinstance(regimen, Regimen):
        raise TypeError(f"`regimen` must be a Regimen or a mapping; got {type(regimen).__name__}")
    if dose is None:
        return {s: regimen for s in subjects}
    key = df[subject] if subject else pd.Series(0, index=df.index)
    amounts = pd.to_numeric(df[dose], errors="coerce").groupby(key.to_numpy(), sort=False).first()
    out = {}
    for s in subjects:
        amount = amounts[s]
        if not np.isfinite(amount) or amount < 0:
            raise DataError(f"subject {s!r}: column {dose!r} must be a dose >= 0; got {amount!r}")
        out[s] = regimen.scaled_to(float(amount))
    return out
