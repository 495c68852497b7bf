"""Fuzz: NONMEM frames and observation frames (strings, ".", NaN, inf, negatives,
unsorted rows, duplicate and odd-dtype columns). Nothing read may be lost silently."""

from __future__ import annotations

import numpy as np
import pandas as pd
from fuzzing import CELL_JUNK as JUNK
from fuzzing import budget, honours_contract
from hypothesis import assume, given
from hypothesis import strategies as st

import il21pk as ip

OPTIONAL = ("CMT", "RATE", "II", "ADDL", "SS", "MDV", "DVID", "BLQ", "LLOQ", "WT")


@st.composite
def nonmem_frames(draw):
    """A coherent NONMEM frame (so that the success path is explored), then damaged."""
    rows = []
    for subject in draw(st.lists(st.sampled_from([1, 2, 3, "A"]), min_size=1, max_size=3,
                                 unique=True)):
        t = 0.0
        weight = draw(st.floats(20, 150))
        for _ in range(draw(st.integers(1, 5))):
            t += draw(st.sampled_from([0.0, 0.5, 1.0, 24.0]))
            dose = draw(st.booleans())
            addl = draw(st.sampled_from([0, 0, 1, 3]))
            rows.append({
                "ID": subject, "TIME": t, "AMT": draw(st.floats(0.1, 100)) if dose else 0.0,
                "EVID": 1 if dose else draw(st.sampled_from([0, 0, 2])),
                "CMT": draw(st.sampled_from([1, 2])), "RATE": 0.0,
                "II": 24.0 if dose and addl else 0.0, "ADDL": addl if dose else 0, "SS": 0,
                "DV": "." if dose else draw(st.floats(0.0, 1e3)),
                "MDV": 1 if dose else draw(st.sampled_from([0, 0, ".", 1])),
                "DVID": draw(st.sampled_from([1, 2, 4])),
                "BLQ": draw(st.sampled_from([0, 0, 1])), "LLOQ": draw(st.sampled_from(
                    [".", 0.05, np.nan])), "WT": weight})
    df = pd.DataFrame(rows)
    keep = ["ID", "TIME", "AMT", "EVID", "DV"] + [c for c in OPTIONAL if draw(st.booleans())]
    df = df[keep]
    for _ in range(draw(st.integers(0, 3))):  # damage some cells
        col = draw(st.sampled_from(list(df.columns)))
        row = draw(st.integers(0, len(df) - 1))
        values = df[col].astype(object).tolist()
        values[row] = draw(JUNK)
        df[col] = pd.Series(values, index=df.index, dtype=object)
    kind = draw(st.sampled_from(["none", "float16-id", "strings", "lower", "shuffle",
                                 "duplicate", "drop"]))
    if kind == "float16-id" and pd.api.types.is_numeric_dtype(df["ID"]):
        df["ID"] = df["ID"].astype(np.float16)
    elif kind == "strings":
        df = df.astype(str)
    elif kind == "lower":
        df.columns = [c.lower() for c in df.columns]
    elif kind == "shuffle":
        df = df.sample(frac=1.0, random_state=draw(st.integers(0, 9)))
    elif kind == "duplicate":
        df = pd.concat([df, df[[draw(st.sampled_from(list(df.columns)))]]], axis=1)
    elif kind == "drop":
        df = df.drop(columns=draw(st.sampled_from(list(df.columns))))
    return df


def _number(value) -> float:
    if isinstance(value, str) and value.strip() in (".", ""):
        return 0.0
    return float(pd.to_numeric(pd.Series([value], dtype=object), errors="coerce")[0])


def _expected_observations(df: pd.DataFrame) -> int:
    """Rows with EVID 0 and MDV 0 (a '.' or blank MDV reads as 0), counted independently."""
    cols = {str(c).upper(): c for c in df.columns}
    evid = [_number(v) for v in df[cols["EVID"]]]
    mdv = [_number(v) if not pd.isna(v) else 0.0 for v in df[cols["MDV"]]] if "MDV" in cols \
        else [0.0] * len(df)
    return sum(e == 0 and m == 0 for e, m in zip(evid, mdv, strict=True))


def _expected_doses(df: pd.DataFrame) -> int:
    cols = {str(c).upper(): c for c in df.columns}
    evid = [_number(v) for v in df[cols["EVID"]]]
    addl = [_number(v) if not pd.isna(v) else 0.0 for v in df[cols["ADDL"]]] if "ADDL" in cols \
        else [0.0] * len(df)
    return int(sum(a + 1 for e, a in zip(evid, addl, strict=True) if e == 1))


@budget(200)
@given(nonmem_frames())
def test_dataset_from_nonmem(df):
    data, _ = honours_contract(lambda: ip.Dataset.from_nonmem(df), df)
    if data is None:
        return
    obs = data.observations
    assert len(obs) == _expected_observations(df)  # no observation dropped silently
    assert np.all(np.isfinite(obs["time_h"])) and np.all(obs["time_h"] >= 0)
    assert np.all(np.isfinite(obs["value"]))
    assert (obs.loc[obs["blq"], "value"] == obs.loc[obs["blq"], "lloq"]).all()
    assert sum(len(r) for r in data.regimens.values()) == _expected_doses(df)
    weights = data.covariates.drop(columns="subject")
    assert np.all(np.isfinite(weights.to_numpy()) | np.isnan(weights.to_numpy()))


@budget(200)
@given(nonmem_frames())
def test_regimens_from_nonmem(df):
    regimens, _ = honours_contract(lambda: ip.regimens_from_nonmem(df), df)
    if regimens is None:
        return
    assert sum(len(r) for r in regimens.values()) == _expected_doses(df)  # no dose lost
    for reg in regimens.values():
        assert all(np.isfinite(d.time) and d.amount > 0 for d in reg.doses)


@st.composite
def observation_frames(draw):
    """Clean observation rows (sorted per subject), then a few damaged cells."""
    n = draw(st.integers(0, 6))
    ids = sorted(draw(st.lists(st.sampled_from([1, 2, 3]), min_size=n, max_size=n)))
    df = pd.DataFrame({
        "id": ids, "t": [float(i) for i in range(n)],
        "y": draw(st.lists(st.floats(-1.0, 1e3), min_size=n, max_size=n)),
        "lloq": [0.1] * n, "dose": [10.0 * i for i in ids], "WT": [60.0 + i for i in ids]})
    for _ in range(draw(st.integers(0, 2)) if n else 0):
        col = draw(st.sampled_from(list(df.columns)))
        values = df[col].astype(object).tolist()
        values[draw(st.integers(0, n - 1))] = draw(JUNK)
        df[col] = pd.Series(values, index=df.index, dtype=object)
    if draw(st.booleans()):
        df = df.sample(frac=1.0, random_state=draw(st.integers(0, 9)))
    return df


@budget(200)
@given(df=observation_frames(), use_lloq=st.booleans(), use_dose=st.booleans(),
       use_wt=st.booleans(), mw=st.sampled_from([15.4, 0.0, -1.0, np.nan, "15"]))
def test_dataset_from_frame(df, use_lloq, use_dose, use_wt, mw):
    reg = ip.Regimen.single(ip.Dose(1.0))
    data, _ = honours_contract(lambda: ip.Dataset.from_frame(
        df, time="t", value="y", variable="il21_plasma", subject="id", regimen=reg,
        dose="dose" if use_dose else None, lloq="lloq" if use_lloq else None,
        covariates={"WT": "body_weight"} if use_wt else None,
        units={"il21_plasma": "ng/mL"}, mw=mw), df)
    if data is None:
        return
    assume(len(df) > 0)
    assert len(data.observations) == len(df)  # every row kept (BLQ flagged, not dropped)
    assert np.all(np.isfinite(data.observations["value"]))
