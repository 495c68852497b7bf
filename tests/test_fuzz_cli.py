"""Fuzz: CLI argument lists. Exit 0, or 2 with one line on stderr; never a traceback."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from fuzzing import budget, mostly
from hypothesis import event, given
from hypothesis import strategies as st

from il21pk import cli

BAD = st.sampled_from(["", "x", "-1", "0", "nan", "inf", "1e400", "1,2", "=", "cl=", "10**9",
                       "--", "é", "1e9", "999999999999"])

FLAGS = {
    "--dose": st.sampled_from(["1", "30", "0", "-5"]),
    "--unit": st.sampled_from(["ug/kg", "nmol", "mg", "furlong"]),
    "--route": st.sampled_from(["iv", "sc", "im"]),
    "--duration": st.sampled_from(["0", "0.5", "-1"]),
    "--schedule": st.sampled_from(["single", "repeat", "5on9off", "tiw", "weekly", "daily"]),
    "--every": st.sampled_from(["24", "0", "-1"]),
    "--count": st.sampled_from(["1", "3", "0", "1000000000"]),
    "--cycles": st.sampled_from(["1", "0", "100000000"]),
    "--t-end": st.sampled_from(["12", "24", "0", "-1", "1e9"]),
    "--params": st.sampled_from(["human", "cynomolgus", "mouse"]),
    "--set": st.sampled_from(["cl=4", "cl=-1", "kel=1", "cl", "ka=nan"]),
}
COMMANDS = {
    "params": ["--params", "--set"],
    "simulate": ["--dose", "--unit", "--route", "--duration", "--schedule", "--every",
                 "--count", "--cycles", "--t-end", "--params", "--set"],
    "sweep": ["--dose", "--schedule", "--count", "--t-end", "--set", "--grid", "--output",
              "--variables", "--metrics", "--executor"],
    "nca": ["--by", "--dose", "--route", "--method", "--lloq", "--tau", "--start", "--time",
            "--value"],
    "dose-response": ["--doses", "--responses", "--t-end", "--schedule", "--cycles"],
    "fit": ["--free", "--error", "--model", "--units", "--columns", "--dose", "--unit"],
}
EXTRA = {
    "--grid": st.sampled_from(["cl=1,2", "dose=1,10", "cl=abc", "kel=1", "cl=", "run=1"]),
    "--output": st.sampled_from(["summary", "trajectories", "wide"]),
    "--variables": st.sampled_from(["il21_plasma", "nk_blood", "bogus"]),
    "--metrics": st.sampled_from(["auc", "cmax", "mean"]),
    "--executor": st.sampled_from(["serial", "1", "threads", "0"]),
    "--by": st.sampled_from(["run", "run,variable", "nope", ""]),
    "--method": st.sampled_from(["linear", "linear-up-log-down", "log"]),
    "--lloq": st.sampled_from(["auto", "none", "0.01", "value", "abc", "-1"]),
    "--tau": st.sampled_from(["6", "0", "1000"]),
    "--start": st.sampled_from(["0", "6", "-3"]),
    "--time": st.sampled_from(["time_h", "t"]),
    "--value": st.sampled_from(["value", "v"]),
    "--doses": st.sampled_from(["0,1,10,100,1000", "1,10", "0,0,0,0,0", "a,b", ""]),
    "--responses": st.sampled_from(["ifng_plasma:auc", "nk_total:peak_fold_change",
                                    "bogus:auc", "ifng_plasma:mean", ":"]),
    "--free": st.sampled_from(["cl", "cll", "tlag_sc"]),
    "--error": st.sampled_from(["proportional", "additive", "poisson", "il21_plasma=additive"]),
    "--model": st.sampled_from(["pk", "full", "tiny"]),
    "--units": st.sampled_from(["il21_plasma=nM", "il21_plasma=furlong", "x"]),
    "--columns": st.sampled_from(["time=time_h", "conc=value", "subject=nope", "subject=none"]),
}


@st.composite
def argv(draw):
    command = draw(mostly(st.sampled_from(list(COMMANDS)), st.sampled_from(["bogus", "--x"]),
                          0.95))
    args = [command]
    for flag in draw(st.lists(st.sampled_from(COMMANDS.get(command, ["--dose"])),
                              max_size=4, unique=True)):
        values = FLAGS[flag] if flag in FLAGS else EXTRA[flag]
        args += [flag, draw(mostly(values, BAD, 0.8))]
    if command in ("simulate", "sweep", "dose-response") and "--t-end" not in args:
        args += ["--t-end", "24"]  # keep runs short
    if command == "dose-response" and "--doses" not in args:
        args += ["--doses", "0,1,10,100,1000"]
    return args


def _inputs(tmp: Path) -> None:
    curve = pd.DataFrame({"run": 0, "time_h": np.arange(0.0, 13.0),
                          "value": 10 * np.exp(-0.3 * np.arange(0.0, 13.0))})
    curve.to_csv(tmp / "curves.csv", index=False)
    obs = pd.DataFrame({"subject": 1, "time_h": [1.0, 2.0, 4.0, 8.0],
                        "value": [0.05, 0.08, 0.06, 0.02], "variable": "il21_plasma"})
    obs.to_csv(tmp / "obs.csv", index=False)


@budget(120, shrink=False)
@given(args=argv())
def test_cli(args):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _inputs(tmp)
        full = list(args)
        if args[0] == "nca":
            full += ["--data", str(tmp / "curves.csv"), "--out", str(tmp / "nca.csv")]
        elif args[0] == "fit":
            full += ["--data", str(tmp / "obs.csv"), "--model", "pk", "--schedule", "single",
                     "--out", str(tmp / "fit")]
            if "--free" not in args:
                full += ["--free", "cl"]
        elif args[0] in ("simulate", "sweep"):
            full += ["--out", str(tmp / "out.csv")]
            if args[0] == "sweep" and "--grid" not in args:
                full += ["--grid", "cl=2,5"]
        elif args[0] == "dose-response":
            full += ["--out", str(tmp / "dr")]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.main(full)
    text = err.getvalue()
    event(f"{args[0]}: exit {status}")
    assert "Traceback" not in text and "usage:" not in text, text
    assert status in (0, 2), (status, text)  # 1 would be an internal error
    if status == 2:
        lines = text.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("il21pk") and ": error: " in lines[0], \
            text
    else:
        assert all(": warning: " in line for line in text.strip().splitlines() if line), text
