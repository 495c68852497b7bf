"""Silent wrong answers in dosing, data and parameters found by a read-only probe
(2026-12-01, thirteenth session); each test failed before its fix."""

from __future__ import annotations

import pandas as pd
import pytest
import sympy as sp

import il21pk as ip
from il21pk.errors import RegimenError

DAYS_MODEL = """
model m
  unit day = 86400 second
  unit time_unit = day
  compartment C = 1
  species S1 in C = 0
  k = 0.1
  J1: S1 -> ; k*S1
end
"""


@pytest.mark.parametrize("t_obs", [72.0, 72.0 - 1e-10])
def test_a_sample_a_rounding_step_before_a_dose_record_is_predose(t_obs):
    """TIME 71.9999999999 written before the dose record at 72 was moved to 72 but
    flagged as after the dose (predicted at the peak, not the trough): the record
    comparison was exact while the time was matched within the same-time tolerance."""
    df = pd.DataFrame({"ID": [1] * 4, "TIME": [0, t_obs, 72.0, 80.0], "AMT": [10, 0, 10, 0],
                       "EVID": [1, 0, 1, 0], "DV": [0, 1.0, 0, 1.0], "MDV": [1, 0, 1, 0]})
    obs = ip.Dataset.from_nonmem(df, amount_unit="nmol").observations
    assert obs["time_h"].tolist() == [72.0, 80.0]
    assert obs["predose"].tolist() == [True, False]


def _one_subject(model, regimen, times=(1.0, 7.0, 24.0)):
    frame = pd.DataFrame({"time_h": list(times), "value": [1.0, 0.8, 0.5]})
    return ip.Dataset.from_frame(frame, variable="il21_plasma", subject=None,
                                 regimen=regimen, model=model)


def test_fit_checks_each_subjects_regimen_as_simulate_does():
    """A weekly schedule counted in days fitted to a model in hours ran its doses at
    0 and 7 h (cl 0.017 for 0.05), and a per-kg dose into a culture well was read as
    a 70 kg dose; simulate refused both."""
    params = ip.parameter_sets.load("human")
    model = ip.Model.pk_only(compartments=1)
    in_days = ip.Regimen.weekly(ip.Dose(30), weeks=2, time_unit="d")
    with pytest.raises(RegimenError, match=r"regimen of subject 0.*counts days in 'd'"):
        ip.fit(model, _one_subject(model, in_days), params, free=["cl"])
    well = ip.Model.in_vitro()
    with pytest.raises(RegimenError, match="regimen of subject 0"):
        ip.fit(well, _one_subject(well, ip.Regimen.single(ip.Dose(1, unit="ug/kg")))
               , params, free=["kd"])


def test_a_nonmem_regimen_converted_to_hours_says_so():
    """Regimen.from_nonmem(time_unit='d') without a model converted TIME to hours but
    left the regimen's unit open, so a model in days took 168 as day 168: its day-7
    dose never came (S1 3.68 at day 10 instead of 11.09)."""
    df = pd.DataFrame({"ID": [1, 1], "TIME": [0, 7], "AMT": [10, 10], "EVID": [1, 1]})
    regimen = ip.Regimen.from_nonmem(df, unit="nmol", time_unit="d")
    assert regimen.time_unit == "h" and [d.time for d in regimen.doses] == [0.0, 168.0]
    model = ip.Model.from_antimony(DAYS_MODEL, drugs={"x": "S1"})
    with pytest.raises(RegimenError, match="counts days in 'h'"):
        ip.simulate(model, regimen, t_end=10)
    in_days = ip.Regimen.from_nonmem(df.assign(CMT=1), unit="nmol", time_unit="d", model=model)
    assert in_days.time_unit == "d" and [d.time for d in in_days.doses] == [0.0, 7.0]
    assert ip.Regimen.from_nonmem(df, unit="nmol").time_unit is None  # TIME as it is


def test_a_changed_value_the_model_does_not_read_is_refused():
    """human.with_values(cl=50, v_central=0.5) simulated the default model exactly as
    the unchanged set (it reads neither: its PK is allometric), while sweep and the
    command line refused the same change. The built-in values pass."""
    human = ip.parameter_sets.load("human")
    with pytest.raises(ip.ParameterError, match=r"does not use parameter 'cl' \(it does not "
                                                r"read it\), so its value 50 L/h"):
        ip.simulate(ip.Model(), ip.Dose(30), human.with_values(cl=50.0), t_end=2)
    cyno = ip.parameter_sets.load("cynomolgus")
    mixed = human.with_values(cl=cyno.value("cl"))  # another built-in set's value
    ip.simulate(ip.Model(), ip.Dose(30), mixed, t_end=2)
    ip.simulate(ip.Model.pk_only(compartments=1), ip.Dose(30), human.with_values(cl=50.0),
                t_end=2)


def test_a_dose_adds_to_a_regimen_on_either_side():
    """Regimen + Dose raised Python's bare 'unsupported operand type(s)'."""
    weekly = ip.Regimen.weekly(ip.Dose(30), weeks=2)
    extra = ip.Dose(1.0, drug="il15", time=12.0)
    for combined in (weekly + extra, extra + weekly):
        assert sorted((d.time, d.drug) for d in combined.doses) == [
            (0.0, None), (12.0, "il15"), (168.0, None)]
    assert (weekly + extra).time_unit == weekly.time_unit
    with pytest.raises(TypeError):
        weekly + 3


def test_an_unknown_swept_name_is_offered_the_model_s_own_names():
    """grid={'dose_mab': ...} on Model() listed about 150 names, v1's `cl` and `kp_nk`
    among them, which Model() then refuses to sweep."""
    with pytest.raises(ip.ParameterError) as caught:
        ip.sweep(ip.Model(), ip.Dose(1), grid={"dose_mab": [1, 2]}, t_end=5)
    known = str(caught.value).split("Known: ")[1]
    assert "'dose_il15'" in known and "'kp_nk_il15'" in known
    assert "'cl'" not in known and "'kp_nk'" not in known


def test_a_set_made_for_an_extended_model_runs_its_base_model():
    """A set made for a model with a stage of the user's carries that stage's values;
    the base model ignores them (review: the unread-value check refused them)."""
    human = ip.parameter_sets.load("human")
    extended = human.with_values(cl=50.0)  # a built-in parameter, changed: refused
    with pytest.raises(ip.ParameterError, match="does not use parameter 'cl'"):
        ip.simulate(ip.Model(), ip.Dose(30), extended, t_end=2)
    model = ip.Model.from_antimony(DAYS_MODEL, drugs={"x": "S1"})
    plain = ip.Model.from_antimony(DAYS_MODEL)
    ip.simulate(plain, None, model.default_parameters().with_values(mw_x=20.0), t_end=2)


def test_a_nonmem_dataset_read_for_a_model_says_its_time_unit():
    """Dataset.from_nonmem(model=hours model) without time_unit left the regimens'
    unit open, so a fit to a model in days read the hours as days (review)."""
    df = pd.DataFrame({"ID": [1] * 4, "TIME": [0, 1, 2, 3], "AMT": [10, 0, 0, 0],
                       "EVID": [1, 0, 0, 0], "DV": [0, 9.0, 8.1, 7.3], "MDV": [1, 0, 0, 0],
                       "CMT": [1] * 4})
    days = ip.Model.from_antimony(DAYS_MODEL, drugs={"x": "S1"})
    hours = ip.Model.from_antimony(DAYS_MODEL.replace("unit day = 86400 second", "unit hr = "
                                                      "3600 second").replace("= day", "= hr"),
                                   drugs={"x": "S1"})
    assert (hours.time_unit, days.time_unit) == ("h", "d")
    data = ip.Dataset.from_nonmem(df, amount_unit="nmol", model=hours, dvid={1: "S1"})
    assert data.regimens[1].time_unit == "h"
    with pytest.raises(RegimenError, match=r"regimen of subject 1 .* counts days in 'h'"):
        ip.fit(days, data, days.default_parameters(), free=["k"])


def test_a_boolean_body_weight_is_refused():
    """WT=True was read as a body weight of 1 kg (per-kg doses 70 times too small)."""
    df = pd.DataFrame({"ID": [1] * 3, "TIME": [0, 1, 2], "AMT": [30, 0, 0],
                       "EVID": [1, 0, 0], "DV": [0, 1.0, 0.5], "MDV": [1, 0, 0],
                       "WT": [True] * 3})
    with pytest.raises(ip.DataError, match="is the body weight, a number of kg; got True"):
        ip.Dataset.from_nonmem(df)


def test_a_swept_parameter_the_set_lacks_is_named_as_such():
    """A parameter the model reads but the set lacks was 'unknown parameter 'x'; did you
    mean 'x'?' (review)."""
    x = ip.model.definition.symbols("k_own")[0]
    stage = ip.Stage("own", "a decay", states=(ip.State("y", "1", "y", initial=1.0),),
                     parameters=(ip.ParameterSpec("k_own", "1/h", 0.0, 10.0, "rate"),),
                     rates={"y": -x * sp.Symbol("y")}, time_unit="h")
    model = ip.Model.v1().with_stage(stage)
    with pytest.raises(ip.ParameterError, match="parameter set 'human' has no value for "
                                                "'k_own', which"):
        ip.sweep(model, ip.Dose(30), grid={"k_own": [0.1, 0.2]}, t_end=2)
