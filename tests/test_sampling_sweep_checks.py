"""Virtual populations and sweeps: inputs that gave a plausible but wrong answer, a
leaked numpy warning or a raw library error (found by a probe, 2026-12-01). Each
test failed before the fix."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import il21pk as ip
from il21pk.errors import OptionError

REG = ip.Regimen.repeat(ip.Dose(30.0), every=24, count=2)


# -- virtual_population ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["tlag_sc", "il21_q_ref"])
def test_variability_on_a_typical_value_of_zero_is_refused(human, name):
    # every draw used to be 0 x exp(eta) = 0: the asked-for variability was silently absent
    assert human.value(name) == 0.0
    with pytest.raises(ip.ParameterError, match=rf"variability\['{name}'\] = 0.3, but its "
                                                r"typical value is 0"):
        ip.virtual_population(human, 50, {name: 0.3}, seed=1)


def test_variability_on_a_typical_value_of_zero_may_still_be_zero(human):
    # omega 0 fixes the parameter, which is what a typical value of 0 gives anyway
    pop = ip.virtual_population(human, 5, {"tlag_sc": 0.0}, seed=1)
    assert (pop["tlag_sc"] == 0.0).all()


def test_allometry_without_body_weights_is_refused(human):
    # used to be ignored: clearances kept their typical value in every individual
    with pytest.raises(ip.ParameterError, match=r"`allometry` scales parameters with body "
                                                r"weights drawn by `body_weight`"):
        ip.virtual_population(human, 20, {"ka": 0.3}, allometry={"cl": 0.75}, seed=1)


def test_allometry_cannot_scale_the_weight_itself(human):
    # {"body_weight": 1} used to rescale every drawn weight by itself (w^2 / 70)
    with pytest.raises(ip.ParameterError, match=r"allometry names 'body_weight'"):
        ip.virtual_population(human, 20, {}, body_weight={"median": 70.0, "cv": 0.3},
                              allometry={"body_weight": 1.0, "cl": 0.75}, seed=1)


def test_allometry_with_body_weights_still_scales(human):
    pop = ip.virtual_population(human, 400, {}, body_weight={"median": 70.0, "cv": 0.3},
                                allometry={"cl": 0.75}, seed=3)
    expected = human.value("cl") * (pop["body_weight"] / human.value("body_weight")) ** 0.75
    np.testing.assert_allclose(pop["cl"], expected, rtol=1e-14)


def test_a_huge_omega_is_refused_by_name_without_a_numpy_warning(human):
    # exp(1000 eta) overflowed with numpy's RuntimeWarning before the bounds error, and
    # underflowed to a silent 0 (seed 5) or 2e-284 (seed 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for n, seed in ((200, 1), (1, 5)):
            with pytest.raises(ip.ParameterError, match=r"samples of 'ka' are not finite, 0 "
                                                        r"\(from a typical value of"):
                ip.virtual_population(human, n, {"ka": 1000.0}, seed=seed)


def test_a_negative_typical_value_varies_in_magnitude():
    # an imported parameter may be negative (unbounded): its sign stays, its size varies
    model = ip.Model.from_antimony("base = -2\nx = 0\nx' = base\n")
    pop = ip.virtual_population(model.default_parameters(), 500, {"base": 0.3}, seed=1)
    assert (pop["base"] < 0).all()
    np.testing.assert_allclose(np.log(-pop["base"]).std(), 0.3, rtol=0.1)


@pytest.mark.parametrize("sample", [
    lambda seed: ip.latin_hypercube({"cl": (1.0, 10.0)}, 8, seed=seed),
    lambda seed: ip.sobol_samples({"cl": (1.0, 10.0)}, 8, seed=seed),
    lambda seed: ip.virtual_population(ip.parameter_sets.load("human"), 8, {"cl": 0.3},
                                       seed=seed),
])
def test_a_legacy_random_state_seeds_every_sampler_reproducibly(sample):
    # the quasi-random samplers raised scipy's AttributeError ('NoneType' has no 'spawn')
    first = sample(np.random.RandomState(0))
    pd.testing.assert_frame_equal(first, sample(np.random.RandomState(0)))
    assert not first.equals(sample(np.random.RandomState(1)))


def test_allometry_without_weights_may_be_empty(human):
    pop = ip.virtual_population(human, 5, {"ka": 0.3}, allometry={}, seed=1)
    assert list(pop.columns) == ["subject", "ka"]


# -- sweep -------------------------------------------------------------------------------

@pytest.mark.parametrize("values", [[True, False], np.array([True, False]), [True, 2.0]])
def test_grid_refuses_bools(model, human, values):
    # used to run cl = 1.0 and 0.0 from [True, False]; samples= refused bools already
    with pytest.raises(ip.ParameterError, match=r"grid\['cl'\] must be numbers \(not text or "
                                                r"bools\)"):
        ip.sweep(model, REG, human, grid={"cl": values}, t_end=48.0)


def test_chunk_size_takes_a_numpy_integer(model, human):
    # np.int64 (a length divided by a count, say) used to be refused as "not an integer"
    grid = {"cl": [2.0, 5.0, 8.0]}
    numpy_int = ip.sweep(model, REG, human, grid=grid, t_end=48.0, chunk_size=np.int64(2))
    plain = ip.sweep(model, REG, human, grid=grid, t_end=48.0, chunk_size=2)
    pd.testing.assert_frame_equal(numpy_int, plain)
    with pytest.raises(OptionError, match=r"`chunk_size` must be an integer >= 1"):
        ip.sweep(model, REG, human, grid=grid, t_end=48.0, chunk_size=np.bool_(True))
