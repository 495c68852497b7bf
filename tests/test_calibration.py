"""The default parameter sets reproduce what is known about rIL-21 (one test per fact)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import series

import il21pk as ip


def _metric(result, variable, metric):
    return result.metrics().set_index(["variable", "metric"]).loc[(variable, metric), "value"]


def test_human_auc_is_dose_proportional_over_3_to_100_ug_kg(model, human):
    """Thompson 2008: serum rIL-21 rose dose-proportionally over 3-100 ug/kg IV."""
    doses = np.array([3.0, 10.0, 30.0, 100.0])
    auc = [_metric(ip.simulate(model, ip.Dose(d), human, t_end=72.0), "il21_plasma", "auc")
           for d in doses]
    slope = np.polyfit(np.log(doses), np.log(auc), 1)[0]
    assert 0.95 <= slope <= 1.05  # power model: 1 is exact proportionality


def test_cynomolgus_iv_half_life_and_no_accumulation(model, cyno):
    """Waggie 2012: IV terminal t1/2 0.4-0.8 h; no accumulation on daily x5 dosing."""
    grid = np.arange(0.0, 120.0 + 1e-9, 0.25)
    reg = ip.Regimen.repeat(ip.Dose(1.0, unit="mg/kg"), every=24, count=5)
    t, c = series(ip.simulate(model, reg, cyno, t_end=120.0, t_eval=grid), "il21_plasma")
    terminal = (t >= 2.0) & (t <= 8.0)
    half_life = np.log(2) / -np.polyfit(t[terminal], np.log(c[terminal]), 1)[0]
    assert 0.4 <= half_life <= 0.8
    peaks = c[np.isin(t, [0.0, 24.0, 48.0, 72.0, 96.0])]
    assert peaks[-1] / peaks[0] == pytest.approx(1.0, abs=0.01)


def test_circulating_nk_and_cd8_dip_while_dosing_and_recover_in_the_rest(model, human):
    """Frederiksen 2008: dose-dependent fall of NK and T cells on 5+9, back at baseline."""
    nadir = {}
    for dose in (3.0, 30.0):
        res = ip.simulate(model, ip.Regimen.five_on_nine_off(ip.Dose(dose)), human,
                          t_end=14 * 24.0)
        for cell in ("nk_blood", "cd8_blood"):
            t, n = series(res, cell)
            block = t <= 5 * 24
            nadir[dose, cell] = n[block].min() / n[0]
            assert n[-1] / n[0] == pytest.approx(1.0, abs=0.05)  # recovered by day 14
    for cell in ("nk_blood", "cd8_blood"):
        assert nadir[30.0, cell] < 0.9
        assert nadir[30.0, cell] < nadir[3.0, cell] < 1.0  # dose dependent


def test_ifn_gamma_rises_with_dose(model, human):
    auc = [_metric(ip.simulate(model, ip.Regimen.five_on_nine_off(ip.Dose(d)), human,
                               t_end=14 * 24.0), "ifng_plasma", "auc") for d in (1, 10, 100)]
    baseline = human.value("ifng_0") * 14 * 24.0
    assert baseline < auc[0] < auc[1] < auc[2]


def test_nk_expand_more_with_more_background_il15(model, human):
    """IL-21 synergises with IL-15 (Toomey 2003, Zeng 2005)."""
    reg = ip.Regimen.five_on_nine_off(ip.Dose(30.0))
    peak = [_metric(ip.simulate(model, reg, human.with_values(il15_background=il15),
                                t_end=14 * 24.0), "nk_marginated", "peak_fold_change")
            for il15 in (0.0, 2.0, 20.0)]
    assert peak[0] < peak[1] < peak[2]
