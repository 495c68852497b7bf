"""Reading NONMEM-style event records (ID, TIME, AMT, EVID, CMT, RATE, II, ADDL, SS).

Compartment numbers are the model's: each drug a model declares maps its
``CMT`` numbers to its SC depot or its central compartment (for the built-in
models ``CMT=1`` is the IL-21 SC depot and ``CMT=2`` its central
compartment, which is also the mapping without a model). ``EVID`` 0 is an observation, 1 a dose,
2 another event; reset events (3, 4) and steady-state doses (``SS`` != 0) are
not supported and are reported as errors rather than silently misread.

Missing values follow NM-TRAN: a ``"."`` (or an empty cell) in ``AMT``,
``RATE``, ``II``, ``ADDL``, ``SS`` and ``MDV`` reads as 0, as NONMEM reads it.
``ID``, ``TIME`` and ``EVID`` must be given on every record, and ``CMT`` on
every dose record. Any other text in a numeric column is an error naming the
row, the column and the value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .checks import booleans
from .errors import InputTypeError, RegimenError
from .units import as_floats, show

REQUIRED_COLUMNS = ("ID", "TIME", "AMT", "EVID")
OPTIONAL_COLUMNS = {"CMT": 2, "RATE": 0.0, "II": 0.0, "ADDL": 0, "SS": 0}
#: CMT -> (drug, route) when no model is given: the IL-21 depot and central compartment.
CMT_ROUTES: dict[int, tuple[str | None, str]] = {1: (None, "sc"), 2: (None, "iv")}


def cmt_routes(model=None) -> dict[int, tuple[str | None, str]]:
    """NONMEM ``CMT`` -> (drug, route) for `model`.

    A drug's declared CMT numbers (:attr:`il21pk.model.Drug.cmt`: IL-21's 1
    and 2 in il21pk's models); a drug that declares none (an imported
    model's) is dosed by CMT n = the position (from 1) of its depot
    (SC) or central (IV) state in ``model.state_names``, NONMEM's numbering
    of compartments, unless a declared number or an earlier drug takes n.
    Without a model: :data:`CMT_ROUTES`.
    """
    if model is None:
        return dict(CMT_ROUTES)
    out = {}
    for drug in model.drugs:
        for cmt, state in drug.cmt.items():
            out[int(cmt)] = (drug.name, "sc" if state == drug.depot else "iv")
    position = {name: i + 1 for i, name in enumerate(model.state_names)}
    for drug in model.drugs:
        if not drug.cmt:
            for state, route in ((drug.depot, "sc"), (drug.central, "iv")):
                if state is not None:
                    out.setdefault(position[state], (drug.name, route))
    return out


def _declared(model) -> set[int]:
    """CMT numbers `model`'s drugs declare (all of :data:`CMT_ROUTES` without a model)."""
    if model is None:
        return set(CMT_ROUTES)
    return {int(cmt) for drug in model.drugs for cmt in drug.cmt}


def _describe_cmts(routes: dict[int, tuple[str | None, str]]) -> str:
    names = {"sc": "SC depot", "iv": "central"}
    return ", ".join(f"{c} ({names[r]}{f' of {d}' if d else ''})"
                     for c, (d, r) in sorted(routes.items()))
#: Columns in which "." or an empty cell reads as 0 (NM-TRAN's rule).
DOT_IS_ZERO = ("AMT", "RATE", "II", "ADDL", "SS", "MDV", "BLQ")


def upper_columns(df: pd.DataFrame, error: type[ValueError]) -> dict[str, object]:
    """``{NAME: column}`` with upper-cased names; duplicate names (in any case) are an error."""
    names = [str(c).upper() for c in df.columns]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise error(f"NONMEM data have duplicate column(s) {dup} (names are case-insensitive); "
                    f"got {list(df.columns)}; keep one column of each name")
    return {str(c).upper(): c for c in df.columns}


def is_dot(values: Sequence) -> np.ndarray:
    """True where a value is NONMEM's missing marker ``"."`` or an empty string."""
    return np.array([isinstance(v, str) and v.strip() in (".", "") for v in values], dtype=bool)


#: 0/1 columns that may hold booleans (True is 1: a missing DV, a sample below the LLOQ).
FLAG_COLUMNS = ("MDV", "BLQ")


def numeric_column(values: pd.Series | np.ndarray, column: str, error: type[ValueError], *,
                   missing: float | None, rows: np.ndarray | None = None) -> np.ndarray:
    """The numbers of one column as float64.

    ``"."``, empty strings and NaN become `missing` (None: they are an error);
    any other text, and infinite values, are an error naming the row and value.
    Only the positions in `rows` (default: all) are checked and converted;
    the others are NaN.
    """
    series = pd.Series(values).reset_index(drop=True)
    if series.dtype.kind in "mMc":
        raise error(f"NONMEM column {column} must hold plain numbers; got dtype {series.dtype}")
    raw = series.to_numpy(dtype=object)
    check = np.ones(len(raw), dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    if series.dtype.kind in "bO" and column not in FLAG_COLUMNS:  # AMT=True: a dose of 1
        for i in np.flatnonzero(check & booleans(raw)):
            raise error(f"NONMEM column {column} must hold numbers, not booleans (True would "
                        f"read as 1); row {i} has {raw[i]!r}")
    number = as_floats(series)
    blank = is_dot(raw) | pd.isna(series).to_numpy()
    text = np.isnan(number) & ~blank
    for i in np.flatnonzero(check & text):
        raise error(f"NONMEM column {column} must be a number; row {i} has {show(raw[i])}")
    for i in np.flatnonzero(check & np.isinf(number)):
        raise error(f"NONMEM column {column} must be a finite number; row {i} has "
                    f"{show(raw[i])}")
    if missing is None:
        for i in np.flatnonzero(check & blank):
            raise error(f"NONMEM column {column} must be a finite number; row {i} has "
                        f"{show(raw[i])} (a missing value)")
    out = np.where(blank, np.nan if missing is None else missing, number)
    return np.where(check, out, np.nan)


def subject_ids(values: pd.Series, error: type[ValueError], column: str = "ID") -> np.ndarray:
    """Subject identifiers, checked: none missing; float16/float32 widened to float64."""
    series = pd.Series(values).reset_index(drop=True)
    raw = series.to_numpy(dtype=object)
    missing = pd.isna(series).to_numpy() | is_dot(raw)
    for i in np.flatnonzero(missing):
        raise error(f"NONMEM column {column} must identify a subject on every record; row {i} "
                    f"has {show(raw[i])}")
    if series.dtype.kind == "f":
        return series.to_numpy(dtype=np.float64)
    if series.dtype.kind in "iub":
        return series.to_numpy()
    for i, v in enumerate(raw):
        try:
            hash(v)
        except TypeError:
            raise error(f"NONMEM column {column}: row {i} has an unhashable {type(v).__name__} "
                        f"{v!r}; use numbers or strings") from None
    return raw


def check_nonmem_frame(df: pd.DataFrame, error: type[ValueError] = RegimenError,
                       model=None, *, max_doses: int) -> pd.DataFrame:
    """Validate NONMEM columns and event consistency; return a copy with defaults filled.

    ``CMT`` must be one of `model`'s dosing compartments (:func:`cmt_routes`).
    Errors name the row (0-based position in `df`) and the column.
    """
    routes = cmt_routes(model)
    if not isinstance(df, pd.DataFrame):
        raise InputTypeError(f"NONMEM data must be a pandas DataFrame; got {type(df).__name__}")
    upper = upper_columns(df, error)
    missing = [c for c in REQUIRED_COLUMNS if c not in upper]
    if missing:
        raise error(f"NONMEM data are missing required column(s) {missing}; got {list(df.columns)}")
    if df.empty:
        raise error(f"NONMEM data have no records (rows); got only the columns "
                    f"{list(df.columns)}")
    out = pd.DataFrame({"ID": subject_ids(df[upper["ID"]], error)})
    out["TIME"] = numeric_column(df[upper["TIME"]], "TIME", error, missing=None)
    out["EVID"] = numeric_column(df[upper["EVID"]], "EVID", error, missing=None)
    evid = out["EVID"].to_numpy()
    for i in np.flatnonzero(~np.isin(evid, (0, 1, 2))):
        raise error(f"NONMEM column EVID: row {i} has EVID={float(evid[i])!r}; supported are 0 "
                    "(observation), 1 (dose) and 2 (other); reset events 3/4 are not supported")
    dose_rows = evid == 1
    if "CMT" not in upper and dose_rows.any() and OPTIONAL_COLUMNS["CMT"] not in _declared(model):
        raise error(f"NONMEM data without a CMT column: the default CMT "
                    f"{OPTIONAL_COLUMNS['CMT']} is IL-21's central compartment, which this model "
                    f"does not declare; add a CMT column with one of its dosing compartments "
                    f"{_describe_cmts(routes)}")
    out["AMT"] = numeric_column(df[upper["AMT"]], "AMT", error, missing=0.0)
    for col, default in OPTIONAL_COLUMNS.items():
        if col not in upper:
            out[col] = float(default)
        else:  # CMT "." reads as 0: no compartment, an error on a dose record (below)
            out[col] = numeric_column(df[upper[col]], col, error, missing=0.0)
    amt = out["AMT"].to_numpy()
    raw_amt = df[upper["AMT"]].to_numpy(dtype=object)
    for i in np.flatnonzero(dose_rows & ~(amt > 0)):
        raise error(f"NONMEM row {i}: EVID=1 (dose) needs AMT > 0; got AMT={show(raw_amt[i])}")
    for i in np.flatnonzero(~dose_rows & (amt != 0)):
        raise error(f"NONMEM row {i}: AMT={amt[i]:g} on a non-dose row (EVID={evid[i]:g}); "
                    "set EVID=1 for doses or AMT=0 for other rows")
    time = out["TIME"].to_numpy()
    for i in np.flatnonzero(time < 0):
        raise error(f"NONMEM column TIME must be >= 0; row {i} has {time[i]:g}")
    ids = out["ID"].to_numpy()
    same_subject = ids[1:] == ids[:-1]
    starts = np.flatnonzero(np.r_[True, ~same_subject])  # first row of each block of an ID
    block_ids = pd.Series(ids[starts])
    again = block_ids.duplicated()
    if again.any():
        i = int(starts[np.flatnonzero(again.to_numpy())[0]])
        raise error(f"NONMEM rows of ID={display_id(ids[i])} come in separate blocks (again at "
                    f"row {i}); NONMEM reads a new block as a new individual: give it its own "
                    "ID, or sort by ID then TIME if it is the same subject")
    for i in np.flatnonzero(same_subject & (np.diff(time) < 0)):
        raise error(f"NONMEM column TIME decreases within subject "
                    f"ID={display_id(ids[i + 1])} at row "
                    f"{i + 1} ({time[i]:g} -> {time[i + 1]:g}); sort by ID then TIME")
    for i in np.flatnonzero(dose_rows & (out["SS"].to_numpy() != 0)):
        raise error(f"NONMEM row {i}: SS={out['SS'].iloc[i]:g} (steady-state dosing) is not "
                    "supported; give the doses explicitly with II/ADDL")
    for i in np.flatnonzero(dose_rows & ~np.isin(out["CMT"].to_numpy(), list(routes))):
        raw_cmt = df[upper["CMT"]].to_numpy(dtype=object)[i] if "CMT" in upper else 2
        raise error(f"NONMEM column CMT must be one of the model's dosing compartments "
                    f"{_describe_cmts(routes)}; row {i} has {_plain(raw_cmt)!r} on a dose "
                    "record")
    rate = out["RATE"].to_numpy()
    for i in np.flatnonzero(dose_rows & (rate < 0)):
        raise error(f"NONMEM column RATE must be >= 0 (modelled rates -1/-2 are not supported); "
                    f"row {i} has {rate[i]:g}")
    central = [c for c, (_, route) in routes.items() if route == "iv"]
    for i in np.flatnonzero(dose_rows & (rate > 0) & ~np.isin(out["CMT"].to_numpy(), central)):
        raise error(f"NONMEM row {i}: RATE > 0 (infusion) needs a central compartment, CMT in "
                    f"{central}")
    addl = out["ADDL"].to_numpy()
    ii = out["II"].to_numpy()
    for i in np.flatnonzero(dose_rows & ((addl < 0) | (addl != np.round(addl)))):
        raise error(f"NONMEM column ADDL must be a whole number >= 0; row {i} has {addl[i]:g}")
    for i in np.flatnonzero(dose_rows & (ii < 0)):
        raise error(f"NONMEM column II (interdose interval) must be >= 0; row {i} "
                    f"(ID={display_id(ids[i])}) has {ii[i]:g}")
    for i in np.flatnonzero(dose_rows & (addl > 0) & (ii <= 0)):
        raise error(f"NONMEM row {i}: ADDL={addl[i]:g} needs II > 0; got II={ii[i]:g}")
    _check_dose_counts(out, dose_rows, error, max_doses)
    return out


def _check_dose_counts(rows: pd.DataFrame, dose_rows: np.ndarray, error: type[ValueError],
                       max_doses: int) -> None:
    """Doses per subject (records + ADDL) within `max_doses`, before any is built."""
    counts = pd.Series(np.where(dose_rows, rows["ADDL"].to_numpy() + 1.0, 0.0)).groupby(
        rows["ID"].to_numpy(), sort=False).sum()
    over = counts[counts > max_doses]
    if len(over):
        raise error(f"NONMEM data give subject ID={display_id(over.index[0])} "
                    f"{over.iloc[0]:.4g} doses (records plus ADDL); at most MAX_DOSES = "
                    f"{max_doses:,} are allowed per subject")


def build_regimens(rows: pd.DataFrame, unit: str, to_model_time: float,
                   error: type[ValueError], dose_cls, regimen_cls, model=None,
                   marked: bool = False) -> dict:
    """Regimens per subject from checked rows (:func:`check_nonmem_frame`);
    ``TIME``, ``II`` and ``AMT/RATE`` times ``to_model_time`` are in the
    model's time unit. `marked` regimens (read for a given model, or converted
    from a given time unit) say in which unit their times are (the model's;
    hours without one), so that a model in another unit refuses them; the
    others leave their unit open."""
    routes = cmt_routes(model)
    regimens: dict = {}
    for subject, group in rows.groupby("ID", sort=False):
        doses: list = []
        for i, r in zip(group.index, group.itertuples(index=False), strict=True):
            if r.EVID != 1:
                continue
            try:
                duration = r.AMT / r.RATE * to_model_time if r.RATE > 0 else 0.0
                drug, route = routes[int(r.CMT)]
                dose = dose_cls(r.AMT, unit=unit, time=r.TIME * to_model_time, route=route,
                                duration=duration, drug=drug)
                doses.extend(regimen_cls.repeat(dose, every=r.II * to_model_time,
                                                count=int(r.ADDL) + 1).doses
                             if r.ADDL > 0 else (dose,))
            except RegimenError as exc:
                raise error(f"NONMEM row {i} (ID={display_id(subject)}): {exc}") from None
        into = ("h" if model is None else model.time_unit) if marked else None
        regimens[subject] = regimen_cls(tuple(doses), into)
    return regimens


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def display_id(value: object) -> str:
    """A subject ID (or any value) as users wrote it: numpy scalars as plain numbers,
    long values cut."""
    return show(value)
