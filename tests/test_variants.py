"""Model variants built from the same stages: PK-only and in vitro."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import series

import il21pk as ip


def test_pk_only_model_has_only_pk_parameters_and_outputs():
    one = ip.Model.pk_only(compartments=1)
    assert "q" not in one.parameter_names and "kon" not in one.parameter_names
    assert [v.stage for v in one.variables] == ["pk"] * 4


def test_pk_only_equals_full_model_without_receptors(human):
    """The same pk stage serves both: with no receptors the full chain has the same PK."""
    reg = ip.Regimen.repeat(ip.Dose(10.0, route="sc"), every=24, count=3)
    no_receptors = human.with_values(il21r_per_cell=0.0)
    tight = {"t_end": 96.0, "rtol": 1e-10, "atol": 1e-14}
    full = series(ip.simulate(ip.Model.v1(), reg, no_receptors, **tight), "il21_plasma")[1]
    pk = series(ip.simulate(ip.Model.pk_only(), reg, human, **tight), "il21_plasma")[1]
    np.testing.assert_allclose(full, pk, rtol=1e-7, atol=1e-14)


def test_pk_only_small_molecule(drug):
    small = drug.with_values(mw=0.3)  # 300 g/mol: 3 mg = 10,000 nmol
    res = ip.simulate(ip.Model.pk_only(compartments=1), ip.Dose(3.0, unit="mg"), small,
                      t_end=1.0, t_eval=[0.0])
    assert series(res, "il21_plasma")[1][0] == pytest.approx(10_000 / 10.0)


def test_in_vitro_culture_depletes_cytokine_and_activates_cells(human):
    well = ip.Model.in_vitro_v1(volume_ml=0.2, nk_cells=1e5, cd8_cells=2e5)
    # 10 ng/mL in 0.2 mL = 2 ng
    res = ip.simulate(well, ip.Dose(2.0, unit="ng"), human, t_end=72.0)
    t, c = series(res, "il21_plasma")
    assert c[0] == pytest.approx(10.0 / human.value("mw"), rel=1e-12)  # 10 ng/mL in nM
    assert c[-1] < c[0]  # receptor-mediated uptake only: no renal clearance in a well
    assert series(res, "ifng_plasma")[1][0] == 0.0  # fresh medium
    assert series(res, "pstat3")[1].max() > 0.1  # 0 without IL-21
    fraction = series(res, "effector_fraction")[1]
    assert fraction[-1] > fraction[0]
    assert series(res, "nk_marginated")[1].max() == 0.0  # no margination in a well
    nk = series(res, "nk_blood")[1]
    assert nk[0] == pytest.approx(1e5 / 200.0)  # cells per uL


def test_in_vitro_ligand_mass_balance(human):
    well = ip.Model.in_vitro_v1(volume_ml=0.2, nk_cells=1e5, cd8_cells=2e5)
    res = ip.simulate(well, ip.Dose(0.05, unit="ng"), human, t_end=48.0, rtol=1e-9,
                      atol=1e-16)
    w = res.wide().iloc[-1]
    v = 0.2e-3
    total = (w["il21_plasma [nM]"] + w["il21_il21r [nM]"] + w["signalling_complex [nM]"]) * v \
        + w["il21_degraded [nmol]"]
    assert total == pytest.approx(0.05e-3 / human.value("mw"), rel=1e-7)  # ng -> ug -> nmol


@pytest.mark.parametrize("dose,match", [
    # the message listed ng, ug and nmol, while pmol, umol, mg and g are taken too
    (ip.Dose(1.0, unit="ug/kg"), r"in vitro model takes IV bolus doses of an amount \(nmol, "
                                 r"pmol, umol, ng, ug, mg, g: cytokine added to the well\)"),
    (ip.Dose(1.0, unit="ng", route="sc"), "in vitro model takes IV bolus doses"),
])
def test_in_vitro_rejects_doses_that_make_no_sense_in_a_well(human, dose, match):
    with pytest.raises(ip.RegimenError, match=match):
        ip.simulate(ip.Model.in_vitro_v1(), dose, human, t_end=10.0)


@pytest.mark.parametrize("kwargs,match", [
    ({"volume_ml": 0.0}, r"volume_ml must be > 0; got 0.0"),
    ({"nk_cells": -1.0}, r"nk_cells must be >= 0; got -1.0"),
    ({"nk_cells": 0.0, "cd8_cells": 0.0}, r"needs nk_cells \+ cd8_cells > 0"),
])
def test_in_vitro_culture_is_validated(kwargs, match):
    with pytest.raises(ip.ParameterError, match=match):
        ip.Model.in_vitro_v1(**kwargs)


def test_model_arguments_are_validated():
    with pytest.raises(ip.errors.OptionError, match="`compartments` must be 1 or 2; got 3"):
        ip.Model.pk_only(compartments=3)
    with pytest.raises(ip.errors.OptionError, match="got True"):  # was read as 1
        ip.Model.pk_only(compartments=True)
    for value in ("0.2", True, None, "abc"):  # "0.2" and True were read as 0.2 and 1 mL
        with pytest.raises(ip.errors.InputTypeError, match="volume_ml must be a number"):
            ip.Model.in_vitro(volume_ml=value)
