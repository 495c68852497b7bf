"""PK against closed-form solutions (PK-only model, so no receptor uptake)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import series

import il21pk as ip

T = np.linspace(0.0, 48.0, 97)


def test_one_compartment_iv_bolus_matches_closed_form(drug):
    res = ip.simulate(ip.Model.pk_only(compartments=1), ip.Dose(50.0, unit="nmol"), drug,
                      t_end=48.0, t_eval=T, rtol=1e-10, atol=1e-14)
    t, c = series(res, "il21_plasma")
    np.testing.assert_allclose(c, 50.0 / 10.0 * np.exp(-0.2 * t), rtol=1e-7)


def test_mass_dose_uses_molecular_weight_and_body_weight(drug):
    # 2 mg/kg x 70 kg of a 1 kDa drug = 140 mg = 140,000 nmol
    res = ip.simulate(ip.Model.pk_only(compartments=1), ip.Dose(2.0, unit="mg/kg"), drug,
                      t_end=1.0, t_eval=[0.0])
    assert res.frame.query("variable == 'il21_plasma'")["value"].item() == pytest.approx(
        140_000 / 10.0, rel=1e-12)


def test_infusion_approaches_rate_over_clearance_then_decays(drug):
    rate, duration = 4.0, 30.0  # nmol/h for 30 h
    dose = ip.Dose(rate * duration, unit="nmol", duration=duration)
    res = ip.simulate(ip.Model.pk_only(compartments=1), dose, drug, t_end=48.0, t_eval=T,
                      rtol=1e-10, atol=1e-14)
    t, c = series(res, "il21_plasma")
    k = 0.2
    expected = np.where(t <= duration, rate / 2.0 * (1 - np.exp(-k * t)),
                        rate / 2.0 * (1 - np.exp(-k * duration)) * np.exp(-k * (t - duration)))
    np.testing.assert_allclose(c, expected, rtol=1e-7, atol=1e-12)
    assert c[t == duration].item() == pytest.approx(rate / 2.0, rel=0.003)  # Css = rate / CL


def test_sc_dose_follows_bateman_curve(drug):
    res = ip.simulate(ip.Model.pk_only(compartments=1), ip.Dose(100.0, unit="nmol", route="sc"),
                      drug, t_end=48.0, t_eval=T, rtol=1e-10, atol=1e-14)
    t, c = series(res, "il21_plasma")
    ka, k, f = 0.8, 0.2, 0.6
    expected = f * 100.0 * ka / (10.0 * (ka - k)) * (np.exp(-k * t) - np.exp(-ka * t))
    np.testing.assert_allclose(c, expected, rtol=1e-7, atol=1e-12)


def test_sc_lag_time_shifts_the_curve(drug):
    lagged = drug.with_values(tlag_sc=2.0)
    model = ip.Model.pk_only(compartments=1)
    dose = ip.Dose(100.0, unit="nmol", route="sc")
    late = series(ip.simulate(model, dose, lagged, t_end=48.0, t_eval=T), "il21_plasma")[1]
    early = series(ip.simulate(model, dose.at(2.0), drug, t_end=48.0, t_eval=T),
                   "il21_plasma")[1]
    np.testing.assert_allclose(late, early, rtol=1e-6, atol=1e-12)


def test_two_compartment_bolus_is_biexponential(drug):
    p = drug.with_values(q=3.0, v_peripheral=20.0)
    res = ip.simulate(ip.Model.pk_only(), ip.Dose(50.0, unit="nmol"), p, t_end=48.0,
                      t_eval=T, rtol=1e-10, atol=1e-13)
    t, c = series(res, "il21_plasma")
    k10, k12, k21 = 2.0 / 10.0, 3.0 / 10.0, 3.0 / 20.0
    s = k10 + k12 + k21
    alpha = (s + np.sqrt(s * s - 4 * k10 * k21)) / 2
    beta = (s - np.sqrt(s * s - 4 * k10 * k21)) / 2
    expected = 50.0 / 10.0 * ((alpha - k21) / (alpha - beta) * np.exp(-alpha * t)
                              + (k21 - beta) / (alpha - beta) * np.exp(-beta * t))
    np.testing.assert_allclose(c, expected, rtol=1e-7)


def test_repeated_doses_superpose(drug):
    p = drug.with_values(q=3.0, v_peripheral=20.0)
    model = ip.Model.pk_only()
    dose = ip.Dose(10.0, unit="nmol", route="sc")
    grid = np.linspace(0.0, 120.0, 241)
    total = series(ip.simulate(model, ip.Regimen.repeat(dose, every=24, count=4), p,
                               t_end=120.0, t_eval=grid, rtol=1e-10, atol=1e-13),
                   "il21_plasma")[1]
    single = series(ip.simulate(model, dose, p, t_end=120.0, t_eval=grid, rtol=1e-10,
                                atol=1e-13), "il21_plasma")[1]
    shifted = sum(np.interp(grid - 24 * i, grid, single, left=0.0) for i in range(4))
    np.testing.assert_allclose(total, shifted, rtol=1e-6, atol=1e-12)


def test_plasma_auc_equals_dose_over_clearance(drug):
    res = ip.simulate(ip.Model.pk_only(compartments=1), ip.Dose(50.0, unit="nmol"), drug,
                      t_end=200.0, rtol=1e-10, atol=1e-14)
    m = res.metrics().set_index(["variable", "metric"])["value"]
    assert m["il21_plasma", "auc"] == pytest.approx(50.0 / 2.0, rel=1e-7)
