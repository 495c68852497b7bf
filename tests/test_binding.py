"""Receptor binding: equilibrium, conservation and mass balance of IL-21."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import series

import il21pk as ip

AVOGADRO_PER_NMOL = 6.02214076e14


def _closed_system(human):
    """No clearance, no turnover, no internalisation, no gamma-c, no cell changes."""
    return human.with_values(cl=0.0, q=0.0, kint_complex=0.0, kint_signalling=0.0,
                             kdeg_receptor=0.0, kdeg_gc=0.0, k_fwd_gc=0.0, kp_nk=0.0,
                             kp_cd8=0.0, emax_margination=0.0)


@pytest.mark.parametrize("ligand_nm", [0.02, 0.2, 2.0])
def test_binding_reaches_the_quadratic_equilibrium_with_ligand_depletion(human, model,
                                                                           ligand_nm):
    p = _closed_system(human)
    vc, kd = p.value("v_central"), p.value("kd")
    r0 = p.value("il21r_per_cell") * p.value("receptor_cells") / (AVOGADRO_PER_NMOL * vc)
    res = ip.simulate(model, ip.Dose(ligand_nm * vc, unit="nmol"), p, t_end=10.0,
                      t_eval=[0.0, 10.0], rtol=1e-10, atol=1e-15)
    complex_nm = series(res, "il21_il21r")[1][-1]
    b = ligand_nm + r0 + kd
    expected = (b - np.sqrt(b * b - 4 * ligand_nm * r0)) / 2
    assert complex_nm == pytest.approx(expected, rel=1e-7)
    free = series(res, "il21_plasma")[1][-1]
    assert free == pytest.approx(ligand_nm - expected, rel=1e-7)


def test_total_receptor_and_gamma_c_are_conserved_without_turnover(human, model):
    p = human.with_values(kdeg_receptor=0.0, kdeg_gc=0.0, kint_complex=0.0,
                          kint_signalling=0.0, kp_nk=0.0, kp_cd8=0.0)
    reg = ip.Regimen.repeat(ip.Dose(30.0), every=24, count=3)
    res = ip.simulate(model, reg, p, t_end=96.0, rtol=1e-10, atol=1e-15)
    r, c1, c2, g = (series(res, v)[1] for v in
                    ("il21r_free", "il21_il21r", "signalling_complex", "gc_free"))
    np.testing.assert_allclose(r + c1 + c2, r[0], rtol=1e-8)
    np.testing.assert_allclose(g + c2, g[0], rtol=1e-8)
    assert c2.max() > 0.1 * r[0]  # the test means something: receptors were engaged


@pytest.mark.parametrize("route,duration", [("iv", 0.0), ("iv", 2.0), ("sc", 0.0)])
def test_il21_mass_balance_closes(human, model, route, duration):
    amount_ug_kg = 10.0
    reg = ip.Regimen.repeat(ip.Dose(amount_ug_kg, route=route, duration=duration), every=24,
                            count=3)
    res = ip.simulate(model, reg, human, t_end=100.0, rtol=1e-9, atol=1e-13)
    dose_nmol = 3 * amount_ug_kg * human.value("body_weight") / human.value("mw")
    if route == "sc":
        dose_nmol *= human.value("f_sc")
    w = res.wide().iloc[-1]
    vc = human.value("v_central")
    in_body = (w["il21_depot [nmol]"] + w["il21_plasma [nM]"] * vc + w["il21_peripheral [nmol]"]
               + (w["il21_il21r [nM]"] + w["signalling_complex [nM]"]) * vc)
    eliminated = human.value("cl") * w["il21_auc [nM*h]"]
    degraded = w["il21_degraded [nmol]"]
    assert in_body + eliminated + degraded == pytest.approx(dose_nmol, rel=1e-7)
    assert degraded > 1e-3 * dose_nmol  # receptor-mediated clearance is in play


def test_receptor_sink_grows_with_the_cells(human, model):
    """More receptor-bearing cells (e.g. after expansion) clear more IL-21."""
    reg = ip.Regimen.single(ip.Dose(0.3))
    auc = {}
    for cells in (1e11, 2e11, 8e11):
        res = ip.simulate(model, reg, human.with_values(receptor_cells=cells), t_end=72.0)
        auc[cells] = res.metrics().set_index(["variable", "metric"])["value"][
            "il21_plasma", "auc"]
    assert auc[1e11] > auc[2e11] > auc[8e11]


def test_occupancy_is_between_zero_and_one_and_peaks_after_dosing(human, model):
    res = ip.simulate(model, ip.Regimen.single(ip.Dose(30.0)), human, t_end=48.0)
    t, occ = series(res, "receptor_occupancy")
    assert occ[0] == 0.0
    assert np.all((occ >= -1e-9) & (occ <= 1.0 + 1e-9))
    assert occ.max() > 0.5
