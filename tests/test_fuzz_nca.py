"""Fuzz: NCA on arbitrary curves and options; the AUC rules on arbitrary segments."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from fuzzing import CELL_JUNK, JUNK, budget, honours_contract
from hypothesis import given
from hypothesis import strategies as st

import il21pk as ip
from il21pk.analysis.nca import auc

POSITIVE = st.floats(min_value=1e-300, max_value=1e300, allow_nan=False, allow_infinity=False)


@budget(400)
@given(c1=POSITIVE, ratio=st.one_of(st.floats(0.0, 1.0, exclude_max=True),
                                   st.floats(1.0 - 1e-12, 1.0, exclude_max=True)),
       tiny=st.one_of(st.none(), st.floats(5e-324, 1e-300)), dt=st.floats(1e-6, 1e4))
def test_log_down_segment_lies_between_its_bounds(c1, ratio, tiny, dt):
    # for c1 > c2 > 0 the log-trapezoid lies between dt*c2 and the linear trapezoid; the
    # old log(c1/c2) formula broke both bounds for nearly equal values (10752 > 9600)
    c2 = c1 * ratio if tiny is None else tiny  # subnormal c2: c1/c2 overflows
    if not (0 < c2 < c1):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        area = auc(np.array([0.0, dt]), np.array([c1, c2]))
    linear = dt * (c1 + c2) / 2
    assert dt * c2 * (1 - 1e-12) <= area <= linear * (1 + 1e-12)


@st.composite
def curves(draw):
    n = draw(st.integers(0, 12))
    times = sorted(draw(st.lists(st.floats(0, 500), min_size=n, max_size=n, unique=True)))
    value = st.one_of(st.floats(0, 1e4), st.floats(-1e-12, 1e-12), st.just(0.0))
    values = draw(st.lists(value, min_size=n, max_size=n))
    df = pd.DataFrame({"time_h": times, "value": values,
                       "run": draw(st.lists(st.sampled_from([0, 1, np.nan]), min_size=n,
                                            max_size=n))}).astype({"time_h": object,
                                                                   "value": object})
    if n and draw(st.booleans()):  # damage: junk cell, unsorted or duplicated times
        kind = draw(st.sampled_from(["junk", "swap", "dup"]))
        i = draw(st.integers(0, n - 1))
        if kind == "junk":
            df.iloc[i, draw(st.integers(0, 1))] = draw(CELL_JUNK)
        elif kind == "swap" and n > 1:
            df.iloc[[0, i], 0] = df.iloc[[i, 0], 0].to_numpy()
        else:
            df = pd.concat([df, df.iloc[[i]]], ignore_index=True)
    return df


OPTIONS = st.fixed_dictionaries({}, optional={
    "dose": st.one_of(st.floats(0.1, 100), JUNK), "route": st.sampled_from(
        ["iv", "extravascular", "sc"]), "method": st.sampled_from(["linear-up-log-down",
                                                                   "linear", "log"]),
    "lloq": st.one_of(st.none(), st.just("auto"), st.floats(0, 10), JUNK),
    "tau": st.one_of(st.floats(0.5, 200), JUNK), "start": st.one_of(st.floats(0, 300), JUNK),
    "points": st.one_of(st.lists(st.floats(0, 500), max_size=3), JUNK),
    "by": st.sampled_from([None, [], "run", ["run"], ["nope"]])})


@budget(400)
@given(df=curves(), options=OPTIONS)
def test_nca(df, options):
    table, _ = honours_contract(lambda: ip.nca(df, **options), df)
    if table is None:
        return
    by = options.get("by", None)
    by = ["run"] if by in (None, "run", ["run"]) else by
    expected = df.groupby(by, dropna=False).ngroups if by else 1
    assert len(table) == expected  # no curve dropped (NaN keys included)
    values = ip.units.as_floats(df["value"])
    auc_last = table["auc_last"].to_numpy(dtype=float)
    if np.all(values >= 0):
        assert np.all(auc_last >= 0)
    assert np.all(np.isfinite(auc_last))
    clearance = "cl" if options.get("route", "iv") == "iv" else "cl_f"
    assert clearance in table.columns
