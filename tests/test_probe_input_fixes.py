"""Inputs misread instead of refused, found by a read-only probe; each test failed
before its fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import il21pk as ip
from il21pk.errors import DataError, OptionError, ParameterError, RegimenError
from il21pk.parameters import ParameterSpec


@pytest.mark.parametrize("pair", ["19", b"19", (True, 5), ("0.1", "1"), {0.1: 1, 2: 3},
                                  np.array([True, False])])
@pytest.mark.parametrize("sampler", [ip.latin_hypercube, ip.sobol_samples])
def test_sampling_bounds_must_be_a_pair_of_real_numbers(pair, sampler, human):
    """"19" was read as bounds (1, 9), (True, 5) as (1, 5) and a mapping by its keys."""
    with pytest.raises(ParameterError, match=r"bounds\['kd'\] must be a \(low, high\) pair "
                                             r"of numbers \(real, not text, booleans or a "
                                             r"mapping\); got "):
        sampler({"kd": pair}, 4, seed=1, params=human)


def test_parameter_set_get_returns_the_default_for_a_name_it_does_not_hold(human):
    """get() raised the ParameterError of params[name] instead of returning the default."""
    assert human.get("nope") is None
    assert human.get("nope", 3.0) == 3.0
    assert human.get("kd") is human["kd"]
    with pytest.raises(ParameterError, match="unknown parameter 'nope'"):
        human["nope"]


@pytest.mark.parametrize(("t_eval", "shown"), [
    (["0", "1"], r"t_eval\[0\] is str '0'"),
    ([False, True], r"t_eval\[0\] is bool False"),
    ([0.0, True], r"t_eval\[1\] is bool True"),
    (np.array([0, 1], dtype=bool), r"t_eval\[0\] is bool False"),
])
def test_t_eval_refuses_text_and_booleans(t_eval, shown, human):
    """t_eval=["0", "1"] and [False, True] were simulated as the times 0 and 1 h."""
    with pytest.raises(OptionError, match=r"`t_eval` must hold numbers of hours; " + shown):
        ip.simulate(ip.Model.pk_only(compartments=1), ip.Dose(1.0), human, t_end=48.0,
                    t_eval=t_eval)


@pytest.mark.parametrize(("column", "flags"), [
    ("AMT", [True, False]), ("EVID", [True, False]), ("ADDL", [True, False]),
    ("TIME", [False, True])])
def test_nonmem_columns_refuse_booleans(column, flags):
    """AMT=True gave a dose of 1, EVID=True a dose record, ADDL=True an extra dose."""
    df = pd.DataFrame({"ID": [1, 1], "TIME": [0.0, 1.0], "AMT": [10.0, 0.0], "EVID": [1, 0],
                       "ADDL": [0, 0], "II": [24.0, 0.0], "DV": [0.0, 1.0], "MDV": [1, 0]})
    df[column] = flags
    match = rf"NONMEM column {column} must hold numbers, not booleans .*; row 0 has {flags[0]}"
    with pytest.raises(RegimenError, match=match):
        ip.Regimen.from_nonmem(df)
    with pytest.raises(DataError, match=match):
        ip.Dataset.from_nonmem(df)


def test_nonmem_refuses_a_negative_interdose_interval():
    """II=-5 on a dose record (with ADDL=0) was accepted silently."""
    df = pd.DataFrame({"ID": [7, 7], "TIME": [0.0, 1.0], "AMT": [0.0, 10.0], "EVID": [0, 1],
                       "II": [0.0, -5.0]})
    with pytest.raises(RegimenError, match=r"NONMEM column II \(interdose interval\) must be "
                                           r">= 0; row 1 \(ID=7\) has -5"):
        ip.Regimen.from_nonmem(df)


@pytest.mark.parametrize("amount", [np.nan, np.inf])
def test_dose_to_nmol_says_a_non_finite_amount_must_be_finite(amount):
    """NaN was reported as a conversion that 'overflows the float range'."""
    with pytest.raises(RegimenError, match=rf"amount must be a finite number of ug; got "
                                           rf"{amount}$"):
        ip.units.dose_to_nmol(amount, "ug", mw=15.4, body_weight=70.0)


@pytest.mark.parametrize("name", [5, "a b", "class", ""])
def test_a_parameter_spec_name_must_be_an_identifier(name):
    """ParameterSpec(name=5, ...) was built; only a Stage refused it later."""
    with pytest.raises(ParameterError, match=r"ParameterSpec: a parameter name must be a "
                                             r"Python identifier; got "):
        ParameterSpec(name, "1", 0.0, 1.0, "x")


def test_a_boolean_dv_is_refused_and_flag_columns_take_booleans():
    """DV=True was read as an observation of 1.0 (review); MDV and BLQ are 0/1 flags,
    where True means 1 as written."""
    df = pd.DataFrame({"ID": [1, 1, 1], "TIME": [0.0, 1.0, 2.0], "AMT": [10.0, 0.0, 0.0],
                       "EVID": [1, 0, 0], "DV": [0.0, 1.0, 0.5], "MDV": [True, False, False]})
    assert ip.Dataset.from_nonmem(df, amount_unit="nmol").observations["value"].tolist() == \
        [1.0, 0.5]
    df["DV"] = [False, True, True]
    with pytest.raises(DataError, match=r"NONMEM column DV must hold numbers, not booleans"):
        ip.Dataset.from_nonmem(df, amount_unit="nmol")
