"""The validation dossier of model v2: published facts, the model's value, the verdict.

Each :class:`Fact` names a published observation (with its condition and
source), whether it was used to **calibrate** a parameter of the default
sets or is a **prediction** the model was not tuned to, the tolerance, and
what model v1 gave (the "before" column of the model review,
``reference/model-review.md``). :func:`evaluate` runs the simulations of
one fact; ``tests/test_validation_dossier.py`` makes every fact a test, and
``python -m il21pk.model.validation`` rewrites the dossier table in
``docs/validation.md`` from the same facts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

CALIBRATION, PREDICTION = "calibration", "prediction"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "validation.md"
START, END = "<!-- dossier:start -->", "<!-- dossier:end -->"


@dataclass(frozen=True)
class Fact:
    """A published fact and how model v2 is held to it.

    Attributes
    ----------
    key : str
        Short identifier (the test id).
    fact : str
        The published observation and its condition.
    source : str
        Citation keys (:data:`il21pk.references.REFERENCES`).
    role : {'calibration', 'prediction'}
        Whether a parameter of the default sets was chosen to reproduce it.
    criterion : str
        The tolerance the model value must meet, in words.
    before : str
        Model v1 on the same fact (from the model review), or what v1 lacked.
    measure : callable
        Runs the simulations; returns ``(passed, model value in words)``.
    """

    key: str
    fact: str
    source: str
    role: str
    criterion: str
    before: str
    measure: Callable[[], tuple[bool, str]]


@dataclass(frozen=True)
class Outcome:
    """What :func:`evaluate` found for one fact."""

    fact: Fact
    passed: bool
    value: str


FACTS: list[Fact] = []


def fact(key: str, *, fact: str, source: str, role: str, criterion: str, before: str):
    """Register the decorated measurement as a fact of the dossier."""
    if role not in (CALIBRATION, PREDICTION):
        raise ValueError(f"role must be {CALIBRATION!r} or {PREDICTION!r}; got {role!r}")

    def register(measure: Callable[[], tuple[bool, str]]) -> Callable[[], tuple[bool, str]]:
        FACTS.append(Fact(key, fact, source, role, criterion, before, measure))
        return measure

    return register


# -- running the model ---------------------------------------------------------------------


@cache
def _model(kind: str, **culture: float):
    from .model import Model

    if kind == "v2":
        return Model.v2()
    if kind == "oncology":
        return Model.oncology()
    return Model.in_vitro_v2(**culture)


@cache
def _params(name: str):
    from ..parameter_sets import load

    return load(name)


def _run(model, regimen, params, t_end: float, t_eval=None) -> pd.DataFrame:
    """One simulation as a frame indexed by time [h], one column per variable."""
    from ..analysis.simulate import simulate

    wide = simulate(model, regimen, params, t_end=t_end, t_eval=t_eval).wide()
    wide.columns = [c.split(" [")[0] for c in wide.columns]
    return wide.set_index("time_h")


def _dose(amount: float, unit: str = "ug/kg", **kw):
    from ..regimen import Dose

    return Dose(amount, unit=unit, **kw)


def _regimen():
    from ..regimen import Regimen

    return Regimen


def _half_life(t: np.ndarray, c: np.ndarray, start: float, stop: float) -> float:
    sel = (t >= start) & (t <= stop) & (c > 0)
    return float(np.log(2) / -np.polyfit(t[sel], np.log(c[sel]), 1)[0])


def _fold(series: pd.Series) -> pd.Series:
    return series / series.iloc[0]


#: In vitro concentrations of the pSTAT3 dose-response: 1 pM to 100 nM [nM].
CONCENTRATIONS = np.logspace(-3, 2, 11)


def _culture_dose(nanomolar: float, drug: str, volume_ml: float = 0.2):
    """The bolus giving `nanomolar` of `drug` in a well of `volume_ml`."""
    mw = _params("human").value("mw" if drug == "il21" else "il15_mw")
    return _dose(nanomolar * volume_ml * 1e-3 * mw * 1e3, "ng", drug=drug)


def _ng_per_ml(ng_ml: float, drug: str, volume_ml: float = 0.2):
    return _dose(ng_ml * volume_ml, "ng", drug=drug)


@cache
def _stat_dose_response(drug: str, times: tuple[float, ...]) -> pd.DataFrame:
    """pSTAT (pSTAT3 for IL-21, pSTAT5 for IL-15) in the default culture: rows are
    concentrations [nM], columns times [h]."""
    model = _model("in_vitro")
    variable = "pstat3" if drug == "il21" else "pstat5"
    rows = {}
    for c in CONCENTRATIONS:
        w = _run(model, _culture_dose(c, drug), _params("human"), max(times),
                 t_eval=np.array([0.0, *times]))
        rows[c] = w[variable].loc[list(times)].to_numpy()
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(times))


def _ec50(curve: pd.Series) -> float:
    """Concentration at half the curve's maximum (log-linear interpolation) [nM]."""
    half = curve.max() / 2
    x, y = np.log10(curve.index.to_numpy()), curve.to_numpy()
    i = int(np.flatnonzero(y >= half)[0])
    if i == 0:
        return float(10 ** x[0])
    return float(10 ** np.interp(half, [y[i - 1], y[i]], [x[i - 1], x[i]]))


def _fmt(x: float) -> str:
    return f"{x:.3g}"


# -- PK ---------------------------------------------------------------------------------------


@fact("cyno_half_life", fact="cynomolgus rIL-21 IV terminal t1/2 0.4-0.8 h (1 mg/kg)",
      source="Waggie2012", role=CALIBRATION, criterion="0.4 <= t1/2 <= 0.8 h",
      before="0.585 h (agree, fitted)")
def _cyno_half_life():
    grid = np.arange(0.0, 8.0 + 1e-9, 0.25)
    w = _run(_model("v2"), _dose(1.0, "mg/kg"), _params("cynomolgus"), 8.0, t_eval=grid)
    hl = _half_life(w.index.to_numpy(), w["il21_plasma"].to_numpy(), 1.0, 6.0)
    return 0.4 <= hl <= 0.8, f"t1/2 {hl:.3f} h"


@fact("cyno_no_accumulation", fact="cynomolgus: no accumulation on daily IV dosing x 5",
      source="Waggie2012", role=CALIBRATION, criterion="day-5 / day-1 Cmax within 1 +- 0.05",
      before="day-5/day-1 Cmax 1.000 (agree)")
def _cyno_no_accumulation():
    reg = _regimen().repeat(_dose(1.0, "mg/kg"), every=24, count=5)
    w = _run(_model("v2"), reg, _params("cynomolgus"), 100.0)
    ratio = w["il21_plasma"].loc[96.0] / w["il21_plasma"].loc[0.0]
    return abs(ratio - 1) <= 0.05, f"ratio {ratio:.3f}"


@fact("dose_proportional", fact="human rIL-21 serum exposure dose-proportional over 3-100 "
      "ug/kg IV", source="Thompson2008", role=CALIBRATION,
      criterion="power-model slope of AUC on dose in [0.95, 1.05]",
      before="AUC slope 1.03 (agree)")
def _dose_proportional():
    doses = np.array([3.0, 10.0, 30.0, 100.0])
    auc = [_run(_model("v2"), _dose(d), _params("human"), 48.0)["il21_auc"].iloc[-1]
           for d in doses]
    slope = float(np.polyfit(np.log(doses), np.log(auc), 1)[0])
    return 0.95 <= slope <= 1.05, f"slope {slope:.3f}"


@fact("human_half_life", fact="human rIL-21 PK (no published table): the cynomolgus clearance "
      "scaled with exponents 0.75 (CL) and 1 (V) gives a t1/2 like IL-2's t1/2-beta of 85 min",
      source="Konrad1990", role=CALIBRATION,
      criterion="human IV t1/2 within 0.5-2x of 85 min (follows from fact 1 and the assumed "
                "exponents: the human t1/2 is the monkey's x (70/3)^0.25)",
      before="human CL 5 L/h vs 1.7 L/h scaled from cyno: inconsistent 3x")
def _human_half_life():
    grid = np.arange(0.0, 8.0 + 1e-9, 0.25)
    human = _params("human")
    w = _run(_model("v2"), _dose(30.0), human, 8.0, t_eval=grid)
    hl = _half_life(w.index.to_numpy(), w["il21_plasma"].to_numpy(), 1.0, 6.0)
    ok = 85 / 60 / 2 <= hl <= 85 / 60 * 2
    return ok, (f"t1/2 {hl:.2f} h (exponents {human.value('allometric_exponent_cl'):g} CL, "
                f"{human.value('allometric_exponent_v'):g} V)")


@fact("rhesus_il15_half_life", fact="rhesus rhIL-15 IV terminal t1/2 1.11 +- 0.25 h (10 ug/kg), "
      "1.10 +- 0.16 (20), 0.91 +- 0.11 (50)", source="Waldmann2011", role=CALIBRATION,
      criterion="each t1/2 within 0.75-1.4 h (a 5 kg macaque)",
      before="no IL-15 PK (IL-15 a constant)")
def _rhesus_il15_half_life():
    base = _params("cynomolgus")
    rhesus = base.with_values(body_weight=5.0, receptor_cells=base.value("receptor_cells") * 5 / 3,
                              source="rhesus macaque of 5 kg")
    grid = np.arange(0.0, 8.0 + 1e-9, 0.25)
    out = []
    for d in (10.0, 20.0, 50.0):
        w = _run(_model("v2"), _dose(d, drug="il15"), rhesus, 8.0, t_eval=grid)
        out.append(_half_life(w.index.to_numpy(), w["il15_plasma"].to_numpy(), 1.0, 6.0))
    ok = all(0.75 <= h <= 1.4 for h in out)
    return ok, "t1/2 " + ", ".join(f"{h:.2f}" for h in out) + " h"


@fact("n803_sc_pk", fact="N-803 SC in healthy volunteers: Tmax ~4 h, t1/2 ~20 h",
      source="N803HV2022", role=CALIBRATION,
      criterion="Tmax 3-5 h; terminal t1/2 (48-120 h) 15-25 h (set human_n803)",
      before="IL-21 SC Tmax 1.2-1.3 h; target of 4 h not reproduced")
def _n803_sc_pk():
    grid = np.arange(0.0, 120.0 + 1e-9, 0.25)
    w = _run(_model("v2"), _dose(6.0, drug="il15", route="sc"), _params("human_n803"), 120.0,
             t_eval=grid)
    c = w["il15_plasma"]
    tmax = float(c.idxmax())
    hl = _half_life(w.index.to_numpy(), c.to_numpy(), 48.0, 120.0)
    return 3 <= tmax <= 5 and 15 <= hl <= 25, f"Tmax {tmax:.2f} h, t1/2 {hl:.1f} h"


# -- signalling in vitro -----------------------------------------------------------------------


@fact("pstat3_monotone", fact="in vitro pSTAT3 rises monotonically with IL-21 from 1 pM to "
      "100 nM, at 30 min and at 24 h", source="Zhang2003, ATR107", role=PREDICTION,
      criterion="no concentration gives less pSTAT3 than a lower one (1e-3 tolerance)",
      before="bell-shaped at 1-4 h: peak 0.47-0.58 at 18-56 pM, 0.18-0.22 at >= 1 nM")
def _pstat3_monotone():
    dr = _stat_dose_response("il21", (0.5, 24.0))
    drops = [float(np.min(np.diff(dr[t].to_numpy()))) for t in (0.5, 24.0)]
    ok = all(d >= -1e-3 for d in drops)
    return ok, "largest fall between neighbouring concentrations " + \
        ", ".join(f"{max(0.0, -d):.1e}" for d in drops)


@fact("pstat3_saturation", fact="in vitro pSTAT3 reaches >= 0.8 of its maximum at saturating "
      "IL-21, at 30 min and at 24 h", source="ATR107", role=CALIBRATION,
      criterion="pSTAT3 (fraction of the maximal response) at 100 nM >= 0.8 at both times",
      before="never above 0.22 after 24 h (receptors used up)")
def _pstat3_saturation():
    dr = _stat_dose_response("il21", (0.5, 24.0))
    top = [float(dr[t].iloc[-1]) for t in (0.5, 24.0)]
    return min(top) >= 0.8, f"{top[0]:.3f} at 30 min, {top[1]:.3f} at 24 h"


@fact("pstat3_ec50", fact="30-min pSTAT3 EC50 within 10x of the IL-21/IL-21R K_D of 70 pM",
      source="Zhang2003", role=CALIBRATION, criterion="7 pM <= EC50 <= 700 pM",
      before="EC50 2-16 pM; receptor occupancy EC50 at 1 h ~1.2 nM (inconsistent)")
def _pstat3_ec50():
    ec50 = _ec50(_stat_dose_response("il21", (0.5, 24.0))[0.5]) * 1e3
    return 7 <= ec50 <= 700, f"EC50 {ec50:.0f} pM"


@fact("whole_blood_pstat3", fact="10-100 ng/mL IL-21 (the concentrations most experiments use) "
      "is a strong pSTAT3 stimulus", source="ATR107", role=PREDICTION,
      criterion="30-min pSTAT3 >= 0.8 at 10 and 100 ng/mL",
      before="weak: pSTAT3 0.18-0.22 at >= 1 nM")
def _whole_blood_pstat3():
    model = _model("in_vitro")
    out = []
    for ng in (10.0, 100.0):
        w = _run(model, _ng_per_ml(ng, "il21"), _params("human"), 0.5,
                 t_eval=np.array([0.0, 0.5]))
        out.append(float(w["pstat3"].loc[0.5]))
    return min(out) >= 0.8, f"{out[0]:.3f} (10 ng/mL), {out[1]:.3f} (100 ng/mL)"


@fact("il15_pstat5_ec50", fact="IL-15 pSTAT5 in PBMC at 1 h: half-maximal at 0.66 nM (NK) and "
      "1.2 nM (CD8)", source="MeyerPBMC", role=CALIBRATION,
      criterion="1-h pSTAT5 EC50 within 0.3-3 nM", before="no pSTAT5 (IL-15 a multiplier)")
def _il15_pstat5_ec50():
    ec50 = _ec50(_stat_dose_response("il15", (1.0,))[1.0])
    return 0.3 <= ec50 <= 3, f"EC50 {ec50:.2f} nM"


# -- IL-15 in vivo ---------------------------------------------------------------------------


@cache
def _il15_course(kind: str) -> pd.DataFrame:
    reg = _regimen()
    if kind == "conlon":
        regimen = reg.repeat(_dose(0.3, drug="il15"), every=24, count=12)
    elif kind == "dubois":
        regimen = reg.single(_dose(20.0, drug="il15", duration=120.0))
    else:  # miller: SC Mon-Fri x 2 weeks
        regimen = reg.days(_dose(float(kind), drug="il15", route="sc"), [1, 2, 3, 4, 5, 8, 9, 10,
                                                                          11, 12])
    grid = np.union1d(np.arange(0.0, 40 * 24.0 + 1e-9, 2.0), np.arange(0.0, 2.0, 1 / 12))
    return _run(_model("v2"), regimen, _params("human"), 40 * 24.0, t_eval=grid)


@fact("dubois_nk", fact="rhIL-15 4 ug/kg/day continuous IV x 5 days: circulating NK ~34-fold",
      source="Dubois2021", role=CALIBRATION,
      criterion="peak NK blood fold within 34 / 1.5 - 34 x 1.5",
      before="IL-15 alone: NK fold 1.00")
def _dubois_nk():
    peak = float(_fold(_il15_course("dubois")["nk_blood"]).max())
    return 34 / 1.5 <= peak <= 34 * 1.5, f"NK x{peak:.1f}"


@fact("dubois_cd8", fact="rhIL-15 4 ug/kg/day continuous IV x 5 days: circulating CD8 ~3.4-fold",
      source="Dubois2021", role=CALIBRATION, criterion="peak CD8 blood fold within 3.38 / 1.5 - "
      "3.38 x 1.5", before="IL-15 alone: CD8 fold 1.00")
def _dubois_cd8():
    peak = float(_fold(_il15_course("dubois")["cd8_blood"]).max())
    return 3.38 / 1.5 <= peak <= 3.38 * 1.5, f"CD8 x{peak:.2f}"


@fact("conlon_nk", fact="rhIL-15 0.3 ug/kg/day IV bolus x 12 days: ~10-fold NK expansion",
      source="Conlon2015", role=CALIBRATION,
      criterion="peak NK blood fold within 10 / 1.5 - 10 x 1.5",
      before="IL-15 alone (even 1000 pg/mL): NK fold 1.00 (DISAGREE)")
def _conlon_nk():
    peak = float(_fold(_il15_course("conlon")["nk_blood"]).max())
    return 10 / 1.5 <= peak <= 10 * 1.5, f"NK x{peak:.1f}"


@fact("conlon_efflux", fact="rhIL-15 IV bolus: NK cells leave the circulating blood within "
      "minutes", source="Conlon2015", role=CALIBRATION,
      criterion="NK blood <= 0.5 of baseline within 30 min of the first dose",
      before="no IL-15 effect on cell traffic")
def _conlon_efflux():
    b = _fold(_il15_course("conlon")["nk_blood"])
    low = float(b.loc[:0.5].min())
    return low <= 0.5, f"NK blood x{low:.2f} at <= 30 min"


@fact("il15_sink", fact="IL-15 is consumed by a dynamic cytokine sink: its clearance rises as "
      "NK and CD8 cells proliferate", source="Hangasky2020, Dubois2021", role=PREDICTION,
      criterion="plasma IL-15 at the end of the 5-day 4 ug/kg/day infusion <= 0.8x its day-1 "
                "level, at a constant infusion rate", before="IL-15 a constant (no PK)")
def _il15_sink():
    c = _il15_course("dubois")["il15_plasma"]
    day1, end = float(c.loc[24.0]), float(c.loc[118.0])
    return end <= 0.8 * day1, f"{day1:.2f} nM on day 1 -> {end:.2f} nM at 118 h"


@fact("miller_cd8", fact="SC rhIL-15 2-3 ug/kg/day Mon-Fri x 2 weeks: CD8 up to 3-fold",
      source="Miller2018", role=PREDICTION,
      criterion="peak CD8 blood fold at 3 ug/kg within 3 / 2 - 3 x 2",
      before="IL-15 alone: CD8 fold 1.00")
def _miller_cd8():
    peak = float(_fold(_il15_course("3.0")["cd8_blood"]).max())
    return 1.5 <= peak <= 6.0, f"CD8 x{peak:.2f}"


# -- synergy in vitro --------------------------------------------------------------------------


@cache
def _culture_fold(cells: str, il21: float, il15: float, days: float = 7.0,
                  il7: float | None = None) -> pd.Series:
    """Final state of a culture of NK (`cells` = "nk") or CD8 ("cd8") cells given
    IL-21 and IL-15 [ng/mL] at t = 0 (and IL-7 [pg/mL] as a background level)."""
    from ..regimen import Regimen

    culture = {"nk_cells": 1e5, "cd8_cells": 0.0} if cells == "nk" else \
        {"nk_cells": 0.0, "cd8_cells": 2e5}
    model = _model("in_vitro", **culture)
    doses = [_ng_per_ml(x, d) for x, d in ((il21, "il21"), (il15, "il15")) if x > 0]
    regimen = Regimen(tuple(doses)) if doses else Regimen.none()
    params = _params("human")
    if il7 is not None:
        params = params.with_values(il7_background=il7, source="culture IL-7")
    w = _run(model, regimen, params, days * 24.0, t_eval=np.array([0.0, days * 24.0]))
    return w.iloc[-1] / w.iloc[0].replace(0.0, np.nan)


@fact("zeng_cd8_synergy", fact="IL-21 (10 ng/mL) and IL-15 synergise on CD8 T-cell expansion "
      "in vitro", source="Zeng2005", role=CALIBRATION,
      criterion="7-day CD8 fold with both >= 2 and its rise >= 1.5x the sum of the single-agent "
      "rises (IL-15 10 ng/mL)", before="in vitro 7 d: CD8 1.14x (DISAGREE, size)")
def _zeng_cd8_synergy():
    both = _culture_fold("cd8", 10.0, 10.0)["cd8_total"]
    il21 = _culture_fold("cd8", 10.0, 0.0)["cd8_total"]
    il15 = _culture_fold("cd8", 0.0, 10.0)["cd8_total"]
    ok = both >= 2 and (both - 1) >= 1.5 * ((il21 - 1) + (il15 - 1))
    return ok, f"CD8 x{both:.2f} (IL-21 x{il21:.2f}, IL-15 x{il15:.2f})"


@fact("zeng_il7_weaker", fact="IL-21 cooperates more weakly with IL-7 than with IL-15 on CD8 "
      "expansion", source="Zeng2005", role=CALIBRATION,
      criterion="7-day CD8 fold with IL-21 + IL-7 (10 ng/mL) < with IL-21 + IL-15 (10 ng/mL)",
      before="IL-7 synergy a multiplier (1.14x with everything)")
def _zeng_il7_weaker():
    il7 = _culture_fold("cd8", 10.0, 0.0, il7=10000.0)["cd8_total"]
    il15 = _culture_fold("cd8", 10.0, 10.0)["cd8_total"]
    return il7 < il15, f"CD8 x{il7:.2f} with IL-7, x{il15:.2f} with IL-15"


@fact("kasaian_nk_restraint", fact="IL-21 restrains IL-15-driven expansion of resting NK cells",
      source="Kasaian2002", role=CALIBRATION,
      criterion="7-day NK fold with IL-15 + IL-21 (10 ng/mL each) < with IL-15 alone",
      before="synergy +5 on NK (DISAGREE, sign)")
def _kasaian_nk_restraint():
    both = _culture_fold("nk", 10.0, 10.0)["nk_total"]
    il15 = _culture_fold("nk", 0.0, 10.0)["nk_total"]
    return both < il15, f"NK x{both:.2f} with both, x{il15:.2f} with IL-15 alone"


@fact("kasaian_cytotoxicity", fact="... while IL-21 raises NK cytotoxicity",
      source="Kasaian2002, Lim2014", role=CALIBRATION,
      criterion="3-day activated (granzyme B/perforin) fraction with IL-15 + IL-21 > IL-15 alone",
      before="not compared")
def _kasaian_cytotoxicity():
    both = _culture_fold("nk", 10.0, 10.0, days=3.0)["effector_fraction"]
    il15 = _culture_fold("nk", 0.0, 10.0, days=3.0)["effector_fraction"]
    return both > il15, f"activated fraction x{both:.2f} vs x{il15:.2f}"


@cache
def _lim_culture(il21_weeks: tuple[int, ...]) -> float:
    """42-day NK fold of a culture fed IL-15 (10 ng/mL) every week, and IL-21
    (10 ng/mL) in the weeks `il21_weeks` (0 = the first)."""
    from ..regimen import Regimen

    doses = [_ng_per_ml(10.0, "il15") for _ in range(6)]
    doses = [_dose(d.amount, d.unit, drug=d.drug, time=168.0 * w) for w, d in enumerate(doses)]
    doses += [_dose(2.0, "ng", drug="il21", time=168.0 * w) for w in il21_weeks]
    model = _model("in_vitro", nk_cells=1e5, cd8_cells=0.0)
    w = _run(model, Regimen(tuple(doses)), _params("human"), 42 * 24.0,
             t_eval=np.array([0.0, 42 * 24.0]))
    return float(w["nk_total"].iloc[-1] / w["nk_total"].iloc[0])


@fact("lim_first_week_schedule", fact="Ex vivo NK expansion, day 42: IL-21 in the first week "
      "only 3744-fold against intermittent IL-21 2064-fold (IL-15 throughout)",
      source="Lim2014", role=PREDICTION,
      criterion="42-day NK fold with IL-21 (10 ng/mL) in week 1 only > with IL-21 in weeks "
                "1, 3 and 5 (assumed: the paper's intermittent schedule); IL-15 10 ng/mL weekly",
      before="IL-15 a constant multiplier; no schedule effect")
def _lim_first_week_schedule():
    first, intermittent = _lim_culture((0,)), _lim_culture((0, 2, 4))
    return first > intermittent, f"NK x{first:.0f} first week, x{intermittent:.0f} intermittent"


@fact("lim_first_week_vs_none", fact="... and IL-21 in the first week beats no IL-21 "
      "(3744- vs 2004-fold)", source="Lim2014", role=PREDICTION,
      criterion="42-day NK fold with IL-21 in week 1 only > without IL-21 (IL-15 10 ng/mL "
                "weekly)", before="IL-15 a constant multiplier; no schedule effect")
def _lim_first_week_vs_none():
    first, none = _lim_culture((0,)), _lim_culture(())
    return first > none, f"NK x{first:.0f} first week, x{none:.0f} without IL-21"


@fact("strengell_ifng", fact="in vitro IFN-gamma: IL-21 alone modest; IL-21 enhances "
      "IL-15-induced IFN-gamma", source="Strengell2003", role=CALIBRATION,
      criterion="48-h IFN-gamma: IL-21 1.05-3x unstimulated; IL-21 + IL-15 >= 2x IL-15 alone "
      "(10 ng/mL each, NK + CD8 culture)",
      before="in vitro IFN-g max 10-13 pg/mL; ceiling ~3.3x baseline (DISAGREE)")
def _strengell_ifng():
    from ..regimen import Regimen

    out = {}
    for label, doses in (("none", []), ("il21", [("il21", 10.0)]), ("il15", [("il15", 10.0)]),
                         ("both", [("il21", 10.0), ("il15", 10.0)])):
        regimen = Regimen(tuple(_ng_per_ml(x, d) for d, x in doses)) if doses else \
            Regimen.none()
        w = _run(_model("in_vitro"), regimen, _params("human"), 48.0,
                 t_eval=np.array([0.0, 48.0]))
        out[label] = float(w["ifng_plasma"].iloc[-1])
    r21 = out["il21"] / out["none"]
    ok = 1.05 <= r21 <= 3 and out["both"] >= 2 * out["il15"]
    return ok, (f"{out['none']:.1f} / {out['il21']:.1f} / {out['il15']:.1f} / "
                f"{out['both']:.1f} pg/mL (none / IL-21 / IL-15 / both)")


# -- IL-21 in patients: IFN-gamma, sCD25, activation, redistribution ------------------------


@cache
def _il21_course(dose: float, route: str = "iv", schedule: str = "5+9", cycles: int = 1,
                 params: str = "human") -> pd.DataFrame:
    reg = _regimen()
    d = _dose(dose, route=route)
    if schedule == "5+9":
        regimen = reg.five_on_nine_off(d, cycles=cycles)
        t_end = 14 * 24.0 * cycles
    elif schedule == "tiw":
        regimen = reg.three_times_weekly(d, weeks=cycles)
        t_end = 7 * 24.0 * cycles + 14 * 24.0
    else:  # weekly
        regimen = reg.weekly(d, weeks=cycles)
        t_end = 7 * 24.0 * cycles + 14 * 24.0
    grid = np.union1d(np.arange(0.0, t_end + 1e-9, 1.0),
                      [d.time - 1e-3 for d in regimen.doses if d.time > 0])
    return _run(_model("v2"), regimen, _params(params), t_end, t_eval=grid)


@fact("ifng_no_ceiling", fact="IFN-gamma has no built-in ceiling: rhIL-15 raised serum "
      "inflammatory cytokines up to 50-fold", source="Conlon2015", role=PREDICTION,
      criterion="peak plasma IFN-gamma fold in [3.3, 50] with rhIL-15 0.3 ug/kg/day x 12 "
      "(3.3 = v1's ceiling)", before="ceiling ~3.3x baseline x cell fold built in")
def _ifng_no_ceiling():
    peak = float(_fold(_il15_course("conlon")["ifng_plasma"]).max())
    return 3.3 < peak <= 50, f"IFN-gamma x{peak:.1f}"


@fact("ifng_dose", fact="higher rIL-21 doses induce more IFN-gamma", source="Schmidt2010, "
      "Davis2009", role=PREDICTION, criterion="14-day IFN-gamma AUC rises from 1 to 10 to 100 "
      "ug/kg IV 5 on/9 off", before="28-day AUC 4193 -> 5413 pg h/mL (agree)")
def _ifng_dose():
    auc = [float(_il21_course(d)["ifng_auc"].iloc[-1]) for d in (1.0, 10.0, 100.0)]
    return auc[0] < auc[1] < auc[2], " -> ".join(f"{a:.0f}" for a in auc) + " pg h/mL"


@fact("scd25_iv", fact="sCD25 rose with dose at every IV level 1-100 ug/kg", source="Davis2007, "
      "Thompson2008", role=PREDICTION,
      criterion="peak sCD25 fold > 1.1 at 1 ug/kg and >= 3 % higher at each next level "
      "(1, 3, 10, 30, 100; 5 on/9 off)", before="no sCD25")
def _scd25_iv():
    peaks = [float(_fold(_il21_course(d)["scd25_plasma"]).max())
             for d in (1.0, 3.0, 10.0, 30.0, 100.0)]
    ok = peaks[0] > 1.1 and all(b >= 1.03 * a for a, b in zip(peaks, peaks[1:], strict=False))
    return ok, "x" + ", x".join(f"{p:.2f}" for p in peaks)


@fact("scd25_sc", fact="sCD25 rose with dose at every SC level 3-300 ug/kg (three times weekly)",
      source="Schmidt2010", role=PREDICTION,
      criterion="peak sCD25 fold > 1.1 at 3 ug/kg and >= 3 % higher at each next level "
      "(3, 10, 30, 100, 200, 300; 2 weeks)", before="no sCD25")
def _scd25_sc():
    peaks = [float(_fold(_il21_course(d, "sc", "tiw", 2)["scd25_plasma"]).max())
             for d in (3.0, 10.0, 30.0, 100.0, 200.0, 300.0)]
    ok = peaks[0] > 1.1 and all(b >= 1.03 * a for a, b in zip(peaks, peaks[1:], strict=False))
    return ok, "x" + ", x".join(f"{p:.2f}" for p in peaks)


@fact("effector_1ug", fact="perforin/granzyme B up at 1 ug/kg", source="Davis2007",
      role=PREDICTION,
      criterion="peak activated fraction >= 1.1x baseline at 1 ug/kg IV 5 on/9 off",
      before="effector fraction 0.30 -> 0.45 (agree)")
def _effector_1ug():
    peak = float(_fold(_il21_course(1.0)["effector_fraction"]).max())
    return peak >= 1.1, f"x{peak:.2f}"


@fact("frederiksen_dip", fact="5 on/9 off: dose-dependent fall of circulating NK cells through "
      "the dosing block", source="Frederiksen2008", role=CALIBRATION,
      criterion="NK nadir < 0.9 at 30 ug/kg, deeper than at 3; still < 0.9 just before the 5th "
                "dose", before="nadir 0.97-0.64 (1-100 ug/kg) but recovers within a day of "
                               "each dose (timing doubtful)")
def _frederiksen_dip():
    out = {}
    for d in (3.0, 30.0):
        b = _fold(_il21_course(d)["nk_blood"])
        out[d] = float(b.loc[:120.0].min())
    before5 = float(_fold(_il21_course(30.0)["nk_blood"]).loc[96.0 - 1e-3])
    ok = out[30.0] < 0.9 and out[30.0] < out[3.0] < 1.0 and before5 < 0.9
    return ok, (f"nadir x{out[3.0]:.2f} (3), x{out[30.0]:.2f} (30); x{before5:.2f} before "
                "dose 5")


@fact("frederiksen_cd8", fact="... and of circulating T cells", source="Frederiksen2008",
      role=CALIBRATION, criterion="CD8 nadir < 0.9 at 30 ug/kg, deeper than at 3",
      before="nadir 0.92-0.76 (agree in direction)")
def _frederiksen_cd8():
    out = {d: float(_fold(_il21_course(d)["cd8_blood"]).loc[:120.0].min()) for d in (3.0, 30.0)}
    return out[30.0] < 0.9 and out[30.0] < out[3.0] < 1.0, \
        f"nadir x{out[3.0]:.2f} (3), x{out[30.0]:.2f} (30)"


@fact("frederiksen_return", fact="... followed by a return to baseline in the rest period",
      source="Frederiksen2008", role=CALIBRATION,
      criterion="NK and CD8 blood below 0.9 of baseline in the block and within 10 % of it on "
                "day 14 (30 ug/kg)",
      before="back within 1 % by day 14 (agree)")
def _frederiksen_return():
    w = _il21_course(30.0)
    nk, cd8 = _fold(w["nk_blood"]), _fold(w["cd8_blood"])
    dips = float(nk.loc[:120.0].min()), float(cd8.loc[:120.0].min())
    ends = float(nk.iloc[-1]), float(cd8.iloc[-1])
    ok = max(dips) < 0.9 and all(abs(e - 1) <= 0.1 for e in ends)
    return ok, (f"NK x{dips[0]:.2f} -> x{ends[0]:.2f}, CD8 x{dips[1]:.2f} -> x{ends[1]:.2f} "
                "(block nadir -> day 14)")


@fact("dodds_cyclic", fact="the 5 on/9 off regimen produces cyclic changes of greater magnitude "
      "than the more chronic stimulation of three times weekly dosing", source="Dodds2009",
      role=PREDICTION,
      criterion="range of the sCD25 and IFN-gamma folds over weeks 3-4 larger with 5 on/9 off "
                "than three times weekly (30 ug/kg)", before="no sCD25; IFN-gamma not compared")
def _dodds_cyclic():
    cyclic, chronic = _il21_course(30.0, "iv", "5+9", 2), _il21_course(30.0, "iv", "tiw", 4)
    out = []
    for name in ("scd25_plasma", "ifng_plasma"):
        a = _fold(cyclic[name]).loc[336.0:672.0]
        b = _fold(chronic[name]).loc[336.0:672.0]
        out.append((name, float(a.max() - a.min()), float(b.max() - b.min())))
    ok = all(x > y for _, x, y in out)
    return ok, "; ".join(f"{n.split('_')[0]} range {x:.2f} vs {y:.2f}" for n, x, y in out)


@fact("no_nk_expansion", fact="IL-21 alone: no trial reported a marked expansion of blood NK "
      "counts", source="Davis2007, Thompson2008, Frederiksen2008", role=CALIBRATION,
      criterion="peak NK blood fold <= 1.5 over 3 cycles of 30 ug/kg 5 on/9 off",
      before="NK fold <= 1.09 in vitro")
def _no_nk_expansion():
    peak = float(_fold(_il21_course(30.0, cycles=3)["nk_blood"]).max())
    return peak <= 1.5, f"NK blood x{peak:.2f}"


@fact("activation_not_numbers", fact="IL-21 raises activation markers (CD25+, granzyme B+ NK/CD8) "
      "rather than NK numbers", source="Davis2009, Frederiksen2008", role=CALIBRATION,
      criterion="peak activated fraction >= 1.5x while NK total <= 1.5x (30 ug/kg, 3 cycles)",
      before="not compared")
def _activation_not_numbers():
    w = _il21_course(30.0, cycles=3)
    act = float(_fold(w["effector_fraction"]).max())
    nk = float(_fold(w["nk_total"]).max())
    return act >= 1.5 and nk <= 1.5, f"activated x{act:.2f}, NK total x{nk:.2f}"


# -- anti-drug antibodies ---------------------------------------------------------------------


@fact("waggie_ada", fact="cynomolgus 100 ug/kg 5 on/9 off x 4: PD fell over cycles as "
      "anti-rIL-21 antibodies appeared", source="Waggie2012", role=CALIBRATION,
      criterion="cycle-4 NK nadir depth <= 0.5x cycle 1's",
      before="NK nadir 0.663 in every cycle (DISAGREE)")
def _waggie_ada():
    b = _fold(_il21_course(100.0, cycles=4, params="cynomolgus")["nk_blood"])
    depth = [1 - float(b.loc[336.0 * i:336.0 * (i + 1)].min()) for i in range(4)]
    return depth[3] <= 0.5 * depth[0], "depth " + ", ".join(f"{d:.2f}" for d in depth)


# -- toxicity and the MTDs --------------------------------------------------------------------

#: (label, dose, route, schedule, units of schedule, with rituximab) of the published MTDs.
MTDS = {
    "IV 30 5+9": (30.0, "iv", "5+9", 3, False),
    "IV 30 TIW": (30.0, "iv", "tiw", 6, False),
    "SC 200 TIW": (200.0, "sc", "tiw", 8, False),
    "IV 100 weekly + rituximab": (100.0, "iv", "weekly", 4, True),
}
#: The next dose level above each MTD.
NEXT = {"IV 30 5+9": 50.0, "IV 30 TIW": 50.0, "SC 200 TIW": 300.0,
        "IV 100 weekly + rituximab": 150.0}


@cache
def _peak_toxicity(label: str, dose: float | None = None) -> tuple[float, float]:
    """(peak ALT fold, platelet nadir fold) of a published MTD regimen (or `dose`)."""
    d, route, schedule, n, _ = MTDS[label]
    w = _il21_course(dose or d, route, schedule, n)
    return float(w["alt_fold"].max()), float(_fold(w["platelets"]).min())


@fact("mtd_calibration", fact="MTD 30 ug/kg IV 5 on/9 off (DLTs: transaminases, "
      "thrombocytopenia)", source="Davis2007, Thompson2008", role=CALIBRATION,
      criterion="peak ALT fold 2.2-2.8 (grade 1) and platelet nadir 0.65-0.85 at the MTD",
      before="no toxicity states")
def _mtd_calibration():
    alt, plt = _peak_toxicity("IV 30 5+9")
    return 2.2 <= alt <= 2.8 and 0.65 <= plt <= 0.85, f"ALT x{alt:.2f}, platelets x{plt:.2f}"


def _mtd_fact(label: str, source: str, before: str):
    @fact(f"mtd_{re.sub(r'[^a-z0-9]+', '_', label.lower()).strip('_')}",
          fact=f"MTD {label}: toxicity tracks exposure, so the MTD gives the same peak toxicity",
          source=source, role=PREDICTION,
          criterion="peak ALT fold within 0.67-1.5x that at 30 ug/kg IV 5 on/9 off", before=before)
    def measure():
        ref = _peak_toxicity("IV 30 5+9")[0]
        alt = _peak_toxicity(label)[0]
        ratio = alt / ref
        return 0.67 <= ratio <= 1.5, f"ALT x{alt:.2f} ({ratio:.2f} of the reference)"

    return measure


_mtd_fact("IV 30 TIW", "Davis2007", "no toxicity; weekly AUC at the MTDs spans 81-163 nM h")
_mtd_fact("SC 200 TIW", "Schmidt2010", "no toxicity; SC 200: AUC 54 nM h/dose")
_mtd_fact("IV 100 weekly + rituximab", "Timmerman2012", "no toxicity, no antibody")


@fact("mtd_next_level", fact="the dose level above each MTD was not tolerated (DLTs)",
      source="Davis2007, Schmidt2010, Timmerman2012", role=PREDICTION,
      criterion="peak ALT at the next level (50, 50, 300, 150 ug/kg) >= 1.2x that at its MTD",
      before="no toxicity states")
def _mtd_next_level():
    rows = [(label, _peak_toxicity(label)[0], _peak_toxicity(label, NEXT[label])[0])
            for label in MTDS]
    ok = all(nxt >= 1.2 * mtd for _, mtd, nxt in rows)
    return ok, "; ".join(f"{label}: x{mtd:.2f} -> x{nxt:.2f}" for label, mtd, nxt in rows)


@fact("waggie_toxicity", fact="cynomolgus: transaminase rises and thrombocytopenia, reversible",
      source="Waggie2012", role=PREDICTION,
      criterion="100 ug/kg 5 on/9 off: ALT > 1.2x in the block, < 1.1x 4 weeks later; platelet "
                "nadir >= 3 days after the first dose, >= 0.9x 4 weeks after the last",
      before="no toxicity states")
def _waggie_toxicity():
    from ..regimen import Regimen

    regimen = Regimen.five_on_nine_off(_dose(100.0), cycles=1)
    w = _run(_model("v2"), regimen, _params("cynomolgus"), 33 * 24.0)
    alt, plt = w["alt_fold"], _fold(w["platelets"])
    alt_peak, alt_end = float(alt.loc[:120.0].max()), float(alt.iloc[-1])
    t_nadir, plt_end = float(plt.idxmin()) / 24, float(plt.iloc[-1])
    ok = alt_peak > 1.2 and alt_end < 1.1 and t_nadir >= 3 and plt_end >= 0.9
    return ok, (f"ALT x{alt_peak:.2f} -> x{alt_end:.2f}; platelet nadir x{plt.min():.2f} on "
                f"day {t_nadir:.1f}, x{plt_end:.2f} at day 33")


# -- oncology -------------------------------------------------------------------------------------


def _rituximab(weeks: int = 4, amount: float = 675.0, unit: str = "mg"):
    """Rituximab 375 mg/m2 (x 1.8 m2 = 675 mg) IV weekly."""
    return _regimen().weekly(_dose(amount, unit, drug="mab", duration=4.0), weeks=weeks)


@fact("krejsa_b_depletion", fact="cynomolgus: rituximab with rIL-21 deepens B-cell depletion",
      source="Krejsa2013", role=PREDICTION,
      criterion="B-cell nadir with rituximab (1 mg/kg) + IL-21 (100 ug/kg 5 days) <= 0.9x "
                "rituximab alone", before="no antibody, no B cells")
def _krejsa_b_depletion():
    model, params = _model("oncology"), _params("cynomolgus")
    mab = _regimen().single(_dose(1.0, "mg/kg", drug="mab", duration=1.0))
    il21 = _regimen().repeat(_dose(100.0), every=24, count=5)
    alone = _run(model, mab, params, 21 * 24.0)["b_cells"]
    both = _run(model, mab + il21, params, 21 * 24.0)["b_cells"]
    a, b = float(_fold(alone).min()), float(_fold(both).min())
    return b <= 0.9 * a, f"B-cell nadir x{b:.3f} with IL-21, x{a:.3f} without"


@fact("roda_adcc_ifng", fact="IL-21 with antibody-coated targets raises NK IFN-gamma beyond "
      "either alone", source="Roda2006", role=PREDICTION,
      criterion="14-day IFN-gamma AUC above baseline: IL-21 + rituximab > IL-21 + rituximab "
                "separately (CD20+ tumour)", before="no antibody; ADCC an index")
def _roda_adcc_ifng():
    model = _model("oncology")
    params = _params("human").with_values(tumour_antigen_per_cell=1e5, source="CD20+ lymphoma")
    il21 = _regimen().five_on_nine_off(_dose(30.0))
    mab = _rituximab(weeks=2)
    base = float(params.value("ifng_0")) * 14 * 24.0
    extra = {}
    for label, reg in (("il21", il21), ("mab", mab), ("both", il21 + mab)):
        extra[label] = float(_run(model, reg, params, 14 * 24.0)["ifng_auc"].iloc[-1]) - base
    ok = extra["both"] > extra["il21"] + extra["mab"]
    return ok, ", ".join(f"{k} +{v:.0f}" for k, v in extra.items()) + " pg h/mL"


def orr(regimen, *, n: int = 200, seed: int = 12, weeks: int = 16, antigen: float = 0.0,
        params=None) -> float:
    """Objective response rate of a virtual population on `regimen` (oncology model).

    Patients differ in tumour growth (log-normal, CV 50 %), in the kill rate per
    unit of extra cytotoxic activity and in the tumour's accessibility to ADCC
    (log-normal, CV 100 %, at most 1); a response is
    a RECIST partial response or better, a 30 % fall in diameter (tumour cells
    <= 0.7^3 = 0.343 of the start) at any time within `weeks`.
    """
    from ..analysis.sweep import sweep

    params = params or _params("human")
    if antigen:
        params = params.with_values(tumour_antigen_per_cell=antigen, source="CD20+ tumour")
    rng = np.random.default_rng(seed)

    def lognormal(median: float, cv: float) -> np.ndarray:
        sigma = math.sqrt(math.log(1 + cv**2))
        return median * np.exp(sigma * rng.standard_normal(n))

    samples = pd.DataFrame({
        "tumour_growth": lognormal(params.value("tumour_growth"), 0.5),
        "tumour_kill": lognormal(params.value("tumour_kill"), 1.0),
        "tumour_adcc_access": np.minimum(lognormal(params.value("tumour_adcc_access"), 1.0), 1.0),
    })
    out = sweep(_model("oncology"), regimen, params, samples=samples, t_end=weeks * 7 * 24.0,
                t_eval=np.arange(0.0, weeks * 7 * 24.0 + 1e-9, 24.0),
                variables=["tumour_fraction"], metrics=["cmin"])
    return float((out["value"] <= 0.7**3).mean())


def _petrella_regimen():
    """30 ug/kg IV daily x 5 in weeks 1, 3 and 5 of an 8-week cycle, two cycles."""
    days = [cycle + w * 7 + d + 1 for cycle in (0, 56) for w in (0, 2, 4) for d in range(5)]
    return _regimen().days(_dose(30.0), days)


@fact("petrella_orr", fact="rIL-21 30 ug/kg (5 days in weeks 1, 3, 5 of 8): ORR 22.5 % in "
      "metastatic melanoma", source="Petrella2012", role=CALIBRATION,
      criterion="virtual-population ORR (n = 200) within 15-30 %",
      before="no tumour (cannot compare)")
def _petrella_orr():
    rate = orr(_petrella_regimen())
    return 0.15 <= rate <= 0.30, f"ORR {100 * rate:.1f} %"


@fact("mclaughlin_orr", fact="rituximab alone 375 mg/m2 weekly x 4: ORR 48 % in relapsed "
      "indolent lymphoma", source="McLaughlin1998", role=CALIBRATION,
      criterion="ORR of the virtual population with a CD20+ tumour (1e5 per cell) within 40-56 %",
      before="no antibody, no tumour")
def _mclaughlin_orr():
    rate = orr(_rituximab(weeks=4), antigen=1e5)
    return 0.40 <= rate <= 0.56, f"ORR {100 * rate:.1f} %"


@fact("timmerman_orr", fact="rIL-21 100 ug/kg + rituximab weekly x 4: ORR 42 % (8/19) in "
      "indolent B-cell lymphoma", source="Timmerman2012", role=PREDICTION,
      criterion="ORR of the same virtual population with a CD20+ tumour (1e5 per cell) within "
                "the 95 % CI of 8/19, 20-67 %", before="no antibody, no tumour")
def _timmerman_orr():
    regimen = _regimen().weekly(_dose(100.0), weeks=4) + _rituximab(weeks=4)
    rate = orr(regimen, antigen=1e5)
    return 0.20 <= rate <= 0.67, f"ORR {100 * rate:.1f} %"


# -- the dossier ------------------------------------------------------------------------------


@cache
def evaluate(key: str) -> Outcome:
    """Run one fact's simulations (cached)."""
    for f in FACTS:
        if f.key == key:
            passed, value = f.measure()
            return Outcome(f, bool(passed), value)
    raise KeyError(f"no fact {key!r}; facts: {[f.key for f in FACTS]}")


def dossier_markdown(outcomes: list[Outcome] | None = None) -> str:
    """The generated dossier: summary counts and one table row per fact."""
    outcomes = outcomes or [evaluate(f.key) for f in FACTS]
    n = len(outcomes)
    predictions = sum(o.fact.role == PREDICTION for o in outcomes)
    agree = sum(o.passed for o in outcomes)
    agree_pred = sum(o.passed for o in outcomes if o.fact.role == PREDICTION)
    lines = [START, "",
             "<!-- generated by `python -m il21pk.model.validation`; do not edit -->", "",
             f"{n} published facts: {n - predictions} used to calibrate model v2, "
             f"{predictions} predictions ({100 * predictions / n:.0f} %). The model agrees "
             f"with {agree} of {n} ({agree_pred} of {predictions} predictions). Every row is "
             "a test (`tests/test_validation_dossier.py`); the before column is model v1 in "
             "the model review.", "",
             "| # | published fact (condition) | source | role | model v2 | tolerance | verdict "
             "| before (v1) |", "|---|---|---|---|---|---|---|---|"]
    for i, o in enumerate(outcomes, 1):
        f = o.fact
        verdict = "agree" if o.passed else "**DISAGREE**"
        cells = [str(i), f.fact, f.source, f.role, o.value, f.criterion, verdict, f.before]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    lines += ["", END]
    return "\n".join(lines)


def write_docs(path: Path = DOCS) -> Path:
    """Replace the dossier section of `path` (appended if it has none)."""
    text = path.read_text(encoding="utf-8")
    section = dossier_markdown()
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip() + "\n\n## Model v2 against published facts\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_docs())
