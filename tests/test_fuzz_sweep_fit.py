"""Fuzz: sweeps (grids and sample frames, failed runs kept) and fits (small PK data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from fuzzing import CELL_JUNK, JUNK, budget, honours_contract, mostly
from hypothesis import given
from hypothesis import strategies as st

import il21pk as ip

HUMAN = ip.parameter_sets.load("human")
PK = ip.Model.pk_only(compartments=1)
REG = ip.Regimen.single(ip.Dose(1.0, unit="nmol", route="sc"))
PK_VARS = [v.name for v in PK.variables]
SWEPT = ["cl", "v_central", "ka", "dose"]


def _axis(name: str):
    if name == "dose" or name not in HUMAN:
        good = st.lists(st.floats(0.0, 100.0), min_size=1, max_size=3)
    else:
        p = HUMAN[name]
        good = st.lists(st.floats(max(p.lower, 1e-3), min(p.upper, 1e3)), min_size=1,
                        max_size=3)
    return mostly(good, st.one_of(st.lists(CELL_JUNK, max_size=2), JUNK), 0.9)


@st.composite
def grids(draw):
    name = mostly(st.sampled_from(SWEPT), st.sampled_from(["kon", "run", "nope", "regimen"]),
                  0.9)
    names = draw(st.lists(name, min_size=draw(mostly(st.just(1), st.just(0), 0.95)),
                          max_size=3, unique=True))
    return {name: draw(_axis(name)) if name != "regimen" else draw(st.sampled_from(
        [[REG, REG.scaled_to(3.0)], {"a": REG}, [], 5])) for name in names}


@budget(200)
@given(grid=grids(), output=mostly(st.sampled_from(["summary", "trajectories"]),
                                   st.sampled_from(["wide", None])),
       variables=mostly(st.one_of(st.none(), st.lists(st.sampled_from(PK_VARS), min_size=1,
                                                      max_size=2, unique=True)),
                        st.sampled_from([[], ["nk_blood"], "il21_plasma", 3]), 0.9),
       max_steps=mostly(st.just(200_000), st.sampled_from([2, 0, 10**9]), 0.9))
def test_sweep_grid(grid, output, variables, max_steps):
    frame, _ = honours_contract(lambda: ip.sweep(
        PK, REG, HUMAN, grid=grid, t_end=12.0, output=output, variables=variables,
        executor="serial", max_steps=max_steps), HUMAN, REG)
    if frame is None:
        return
    n_runs = int(np.prod([len(v) if isinstance(v, (list, dict)) else 1
                          for v in grid.values()]))
    assert frame["run"].nunique() == n_runs  # failed runs are kept as rows
    failed = frame[~frame["success"]]
    assert failed["value"].isna().all() and (failed["message"] != "ok").all()
    ok = frame[frame["success"]]
    assert np.all(np.isfinite(ok["value"].to_numpy(dtype=float)) |
                  ok["metric"].isin(["peak_fold_change", "nadir_fold_change"])
                  if "metric" in ok else np.isfinite(ok["value"].to_numpy(dtype=float)))


@st.composite
def samples(draw):
    n = draw(st.integers(0, 4))
    cols = draw(st.lists(mostly(st.sampled_from(["cl", "ka", "dose", "subject"]),
                                st.sampled_from(["run", "nope", "kon"])), min_size=1,
                         max_size=3, unique=True))
    df = pd.DataFrame({c: draw(st.lists(st.floats(0.01, 50.0), min_size=n, max_size=n))
                       for c in cols})
    if n and draw(st.integers(0, 4)) == 0:
        col = draw(st.sampled_from(cols))
        values = df[col].astype(object).tolist()
        values[0] = draw(CELL_JUNK)
        df[col] = pd.Series(values, dtype=object)
    return df


@budget(200)
@given(df=samples())
def test_sweep_samples(df):
    frame, _ = honours_contract(lambda: ip.sweep(PK, REG, HUMAN, samples=df, t_end=12.0,
                                                 executor="serial", metrics=["auc"]), df)
    if frame is not None:
        assert frame["run"].nunique() == len(df)


@st.composite
def fit_data(draw):
    n = draw(st.integers(1, 5))
    times = sorted(draw(st.lists(st.floats(0.25, 24.0), min_size=n, max_size=n, unique=True)))
    conc = draw(st.lists(mostly(st.floats(1e-4, 1.0), st.sampled_from(
        [0.0, -0.01, 1e-300, 1e250, np.nan])), min_size=n, max_size=n))
    lloq = draw(st.sampled_from([None, 0.001, 0.05]))
    df = pd.DataFrame({"t": times, "conc": conc})
    if lloq is not None:
        df["lloq"] = lloq
    return df


@budget(100, shrink=False)
@given(df=fit_data(), error=st.sampled_from(["additive", "proportional", "combined",
                                             "lognormal"]),
       free=st.sampled_from([["cl"], ["cl", "ka"], ["v_central"]]))
def test_fit(df, error, free):
    data, _ = honours_contract(lambda: ip.Dataset.from_frame(
        df, time="t", value="conc", variable="il21_plasma", subject=None, regimen=REG,
        model=PK, lloq="lloq" if "lloq" in df else None), df)
    if data is None:
        return
    start = HUMAN.with_values(cl=2.0, v_central=10.0, ka=0.8, q=0.0, mw=1.0)
    fit, _ = honours_contract(lambda: ip.fit(PK, data, start, free=free, error_model=error),
                              data.observations, numerical_ok=True)
    if fit is None:
        return
    est = fit.table["estimate"].to_numpy()
    assert np.all(np.isfinite(est)) and np.all(est > 0)
    assert fit.covariance_ok == bool(np.all(np.isfinite(fit.table["stderr"])))
