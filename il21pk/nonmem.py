"""Reading NONMEM-style event records (ID, TIME, AMT, EVID, CMT, RATE, II, ADDL, SS).

Compartment numbers: ``CMT=1`` is the SC (first-order absorption) depot and
``CMT=2`` the central compartment (IV). ``EVID`` 0 is an observation, 1 a dose,
2 another event; reset events (3, 4) and steady-state doses (``SS`` != 0) are
not supported and are reported as errors rather than silently misread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import RegimenError

if TYPE_CHECKING:
    from .regimen import Regimen
from .units import check_dose_unit, time_to_hours

REQUIRED_COLUMNS = ("ID", "TIME", "AMT", "EVID")
OPTIONAL_COLUMNS = {"CMT": 2, "RATE": 0.0, "II": 0.0, "ADDL": 0, "SS": 0}
CMT_ROUTES = {1: "sc", 2: "iv"}


def check_nonmem_frame(df: pd.DataFrame, error: type[ValueError] = RegimenError) -> pd.DataFrame:
    """Validate NONMEM columns and event consistency; return a copy with defaults filled.

    Errors name the row (0-based position in `df`) and the column.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"NONMEM data must be a pandas DataFrame; got {type(df).__name__}")
    upper = {str(c).upper(): c for c in df.columns}
    missing = [c for c in REQUIRED_COLUMNS if c not in upper]
    if missing:
        raise error(f"NONMEM data are missing required column(s) {missing}; got {list(df.columns)}")
    out = pd.DataFrame({c: df[upper[c]].to_numpy() for c in REQUIRED_COLUMNS})
    for col, default in OPTIONAL_COLUMNS.items():
        out[col] = df[upper[col]].to_numpy() if col in upper else default
    for col in ("TIME", "EVID", "CMT", "RATE", "II", "ADDL", "SS"):
        values = pd.to_numeric(out[col], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise error(f"NONMEM column {col} must be a finite number; row {bad[0]} has "
                        f"{out[col].iloc[bad[0]]!r}")
        out[col] = values
    out["AMT"] = pd.to_numeric(out["AMT"], errors="coerce").to_numpy(dtype=float)
    evid = out["EVID"].to_numpy()
    amt = out["AMT"].to_numpy()
    for i in np.flatnonzero(~np.isin(evid, (0, 1, 2))):
        raise error(f"NONMEM column EVID: row {i} has EVID={evid[i]:g}; supported are 0 "
                    "(observation), 1 (dose) and 2 (other); reset events 3/4 are not supported")
    dose_rows = evid == 1
    for i in np.flatnonzero(dose_rows & ~(np.nan_to_num(amt, nan=-1.0) > 0)):
        raise error(f"NONMEM row {i}: EVID=1 (dose) needs AMT > 0; got AMT={amt[i]!r}")
    for i in np.flatnonzero(~dose_rows & (np.nan_to_num(amt, nan=0.0) != 0)):
        raise error(f"NONMEM row {i}: AMT={amt[i]:g} on a non-dose row (EVID={evid[i]:g}); "
                    "set EVID=1 for doses or AMT=0 for other rows")
    time = out["TIME"].to_numpy()
    for i in np.flatnonzero(time < 0):
        raise error(f"NONMEM column TIME must be >= 0; row {i} has {time[i]:g}")
    ids = out["ID"].to_numpy()
    same_subject = ids[1:] == ids[:-1]
    for i in np.flatnonzero(same_subject & (np.diff(time) < 0)):
        raise error(f"NONMEM column TIME decreases within subject "
                    f"ID={display_id(ids[i + 1])} at row "
                    f"{i + 1} ({time[i]:g} -> {time[i + 1]:g}); sort by ID then TIME")
    for i in np.flatnonzero(dose_rows & (out["SS"].to_numpy() != 0)):
        raise error(f"NONMEM row {i}: SS={out['SS'].iloc[i]:g} (steady-state dosing) is not "
                    "supported; give the doses explicitly with II/ADDL")
    for i in np.flatnonzero(dose_rows & ~np.isin(out["CMT"].to_numpy(), list(CMT_ROUTES))):
        raise error(f"NONMEM column CMT must be 1 (SC depot) or 2 (central); row {i} has "
                    f"{out['CMT'].iloc[i]:g}")
    rate = out["RATE"].to_numpy()
    for i in np.flatnonzero(dose_rows & (rate < 0)):
        raise error(f"NONMEM column RATE must be >= 0 (modelled rates -1/-2 are not supported); "
                    f"row {i} has {rate[i]:g}")
    for i in np.flatnonzero(dose_rows & (rate > 0) & (out["CMT"].to_numpy() != 2)):
        raise error(f"NONMEM row {i}: RATE > 0 (infusion) needs CMT=2 (central)")
    addl = out["ADDL"].to_numpy()
    ii = out["II"].to_numpy()
    for i in np.flatnonzero(dose_rows & ((addl < 0) | (addl != np.round(addl)))):
        raise error(f"NONMEM column ADDL must be a whole number >= 0; row {i} has {addl[i]:g}")
    for i in np.flatnonzero(dose_rows & (addl > 0) & (ii <= 0)):
        raise error(f"NONMEM row {i}: ADDL={addl[i]:g} needs II > 0; got II={ii[i]:g}")
    return out


def regimens_from_nonmem(df: pd.DataFrame, *, unit: str = "ug/kg",
                         time_unit: str = "h") -> dict[object, Regimen]:
    """One :class:`~il21pk.Regimen` per subject ``ID`` from NONMEM-style rows.

    See :meth:`il21pk.Regimen.from_nonmem` for the column conventions.
    """
    from .regimen import Dose, Regimen

    try:
        check_dose_unit(unit)
    except ValueError as exc:
        raise RegimenError(str(exc)) from None
    rows = check_nonmem_frame(df)
    hours = float(time_to_hours(1.0, time_unit))
    regimens: dict[object, Regimen] = {}
    for subject, group in rows.groupby("ID", sort=False):
        doses = []
        for r in group[group["EVID"] == 1].itertuples(index=False):
            duration = r.AMT / r.RATE * hours if r.RATE > 0 else 0.0
            dose = Dose(r.AMT, unit=unit, time=r.TIME * hours, route=CMT_ROUTES[int(r.CMT)],
                        duration=duration)
            doses.append(Regimen.repeat(dose, every=r.II * hours, count=int(r.ADDL) + 1)
                         if r.ADDL > 0 else Regimen.single(dose))
        regimens[subject] = sum(doses, Regimen.none())
    return regimens


def display_id(value: object) -> str:
    """A subject ID as users wrote it (numpy scalars shown as plain numbers)."""
    return repr(value.item() if isinstance(value, np.generic) else value)
