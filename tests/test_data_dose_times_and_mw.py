"""A sample at a repeated dose's time whatever the rounding of start + k every, and
mass concentrations converted with the molecular weight the fit then uses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import il21pk as ip
from il21pk.analysis.fitting import subject_plans
from il21pk.analysis.simulate import run_batch

V, CL, D = 10.0, 2.0, 100.0
K = CL / V


@pytest.fixture(scope="module")
def one_compartment() -> tuple[ip.Model, ip.ParameterSet]:
    model = ip.Model.pk_only(compartments=1)
    values = {"mw": 15.4, "body_weight": 70.0, "v_central": V, "cl": CL, "ka": 0.5,
              "f_sc": 0.6, "tlag_sc": 1.5}
    return model, model.parameter_set({n: (v, "test") for n, v in values.items()}, base=None)


def _trough(doses: np.ndarray, t: float) -> float:
    """C just before a dose at `t` of IV boluses D at `doses` (those < t)."""
    given = doses[doses < t - 1e-9]
    return float(np.sum(D / V * np.exp(-K * (t - given))))


def _predicted(model, dataset, params) -> np.ndarray:
    plan = subject_plans(model, dataset, params)[0]
    batch = run_batch(model, plan["regimen"], plan["columns"], t_eval=plan["grid"],
                      t_end=plan["t_end"], predose=plan["predose"], rtol=1e-10, atol=1e-12)
    return batch.outputs["il21_plasma"][0][plan["where"]]


@pytest.mark.parametrize("every, count, sample", [(20.0, 6, 100.0), (0.3, 4, 0.9)],
                         ids=["ADDL in minutes", "ADDL every 0.3 h"])
def test_nonmem_trough_at_an_addl_dose_is_before_it(one_compartment, every, count, sample):
    # the last ADDL dose lands one rounding step from the sample (1.6666666666666665
    # against 1.6666666666666667 h; 0.8999999999999999 against 0.9 h): it was flagged
    # pre-dose but predicted after the dose, 10 nM too high
    model, params = one_compartment
    unit = "min" if every == 20.0 else "h"
    frame = pd.DataFrame({"ID": [1, 1], "TIME": [0.0, sample], "AMT": [D, 0.0],
                          "EVID": [1, 0], "CMT": [2, 2], "II": [every, 0.0],
                          "ADDL": [count - 1, 0], "DV": [0.0, 1.0]})
    data = ip.Dataset.from_nonmem(frame, amount_unit="nmol", model=model, time_unit=unit)
    assert data.observations["predose"].tolist() == [True]
    hours = np.array([d.time for d in data.regimens[1].doses])
    assert data.observations["time_h"].iloc[0] in set(hours)
    assert _predicted(model, data, params)[0] == pytest.approx(
        _trough(hours, hours[-1]), rel=1e-8)


def test_frame_sample_at_a_repeated_dose_is_before_it(one_compartment):
    # Regimen.repeat puts the fourth dose at 0.8999999999999999 h; a sample at 0.9 h
    # was taken as after it (36.6 nM instead of the trough 26.6)
    model, params = one_compartment
    regimen = ip.Regimen.repeat(ip.Dose(D, unit="nmol"), every=0.3, count=4)
    frame = pd.DataFrame({"subject": [1], "time_h": [0.9], "variable": ["il21_plasma"],
                          "value": [1.0]})
    data = ip.Dataset.from_frame(frame, model=model, regimen=regimen)
    assert data.observations["predose"].tolist() == [True]
    hours = np.array([d.time for d in regimen.doses])
    assert _predicted(model, data, params)[0] == pytest.approx(
        _trough(hours, hours[-1]), rel=1e-8)
    assert frame["time_h"].tolist() == [0.9]  # the user's frame is not changed


def test_fit_refuses_data_converted_with_another_molecular_weight(one_compartment):
    # 1 mg of a 150 kDa drug, observed in ng/mL; read without mw the data took the
    # model's 15.4 kDa, and the fit with mw = 150 came out 10x off (V 1.03 L, CL 0.21)
    model, params = one_compartment
    params = params.with_values(mw=150.0, source="test")
    t = np.array([1.0, 2.0, 4.0, 8.0, 12.0, 24.0])
    noise = np.array([1.02, 0.97, 1.01, 0.99, 1.03, 0.98])  # fixed, for a finite SD
    ng_per_ml = 1000.0 / 150.0 / V * np.exp(-K * t) * 150.0 * noise
    frame = pd.DataFrame({"ID": 1, "TIME": np.r_[0.0, t], "AMT": np.r_[1.0, np.zeros(6)],
                          "EVID": np.r_[1, np.zeros(6, int)], "CMT": 2,
                          "DV": np.r_[0.0, ng_per_ml], "MDV": np.r_[1, np.zeros(6, int)]})
    read = ip.Dataset.from_nonmem(frame, amount_unit="mg", units={"il21_plasma": "ng/mL"},
                                  model=model)
    assert read.molecular_weights == {"il21_plasma": ("mw", 15.4)}
    with pytest.raises(ip.DataError, match=r"'il21_plasma' were converted to nM with mw = "
                                           r"15\.4 kDa, but the parameters give mw = 150 kDa"):
        ip.fit(model, read, params, free=["v_central", "cl"], error_model="proportional")
    right = ip.Dataset.from_nonmem(frame, amount_unit="mg", units={"il21_plasma": "ng/mL"},
                                   model=model, mw=params)
    fit = ip.fit(model, right, params.with_values(v_central=5.0, cl=1.0, source="start"),
                 free=["v_central", "cl"], error_model="proportional")
    estimates = fit.table.set_index("name")["estimate"]
    assert estimates["v_central"] == pytest.approx(V, rel=0.05)
    assert estimates["cl"] == pytest.approx(CL, rel=0.05)
    # the record follows a subset
    assert right.subset([1]).molecular_weights == {"il21_plasma": ("mw", 150.0)}
