"""fit_population's arguments: mistakes get a clear error or a warning, not a
garbled message or a silent change (probe of population fitting, 2026-12-01)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import il21pk as ip
from il21pk.analysis.population import Categorical, OneCompartmentOral, SaemSettings

TIMES = np.array([0.5, 1.0, 2.0, 4.0, 8.0, 12.0])
PK1 = ip.Model.pk_only(compartments=1)
START = ip.parameter_sets.load("human").with_values(mw=1.0, f_sc=1.0, tlag_sc=0.0, ka=1.0,
                                                    v_central=25.0, cl=2.0)
QUICK = SaemSettings(k1=20, k2=10, is_draws=100)


def _data(sex=None) -> ip.Dataset:
    rng = np.random.default_rng(3)
    n = 6
    cl = 2.8 * np.exp(0.3 * rng.standard_normal(n))[:, None]
    k = cl / 32.0
    f = 320.0 * 1.5 / (32.0 * (1.5 - k)) * (np.exp(-k * TIMES) - np.exp(-1.5 * TIMES))
    frame = pd.DataFrame({"id": np.repeat(np.arange(1, n + 1), TIMES.size),
                          "t": np.tile(TIMES, n),
                          "conc": (f * (1 + 0.1 * rng.standard_normal(f.shape))).ravel()})
    covariates = None
    if sex is not None:
        frame["SEX"] = sex
        covariates = {"SEX": "sex"}
    return ip.Dataset.from_frame(frame, time="t", value="conc", variable="il21_plasma",
                                 subject="id", model=PK1, covariates=covariates,
                                 regimen=ip.Regimen.single(ip.Dose(320.0, unit="nmol",
                                                                   route="sc")))


def _fit(data, **kw):
    args = dict(free=["ka", "v_central", "cl"], iiv={"ka": 0.3, "v_central": 0.3, "cl": 0.3},
                seed=1, settings=QUICK)
    return ip.fit_population(OneCompartmentOral(), data, START, **{**args, **kw})


@pytest.mark.parametrize("covariance,error,match", [
    (["cl", "v_central"], TypeError, r"a list of lists\); got the block 'cl'"),
    (5, TypeError, r"e.g. \[\['cl', 'v_central'\]\]; got int 5"),
    ([["cl", "cl"]], ValueError, r"covariance block \['cl', 'cl'\] names a parameter twice"),
])
def test_covariance_blocks_are_checked(covariance, error, match):
    """A flat list of names (a common slip) was read as blocks of letters:
    "covariance block names ['c', 'l']"; 5 gave "'int' object is not iterable";
    a name twice in a block was taken."""
    with pytest.raises(error, match=match):
        _fit(_data(), covariance=covariance)


def test_table_with_on_a_saem_fit_says_what_it_is_for():
    """It said "must be one of [] for this saem fit"."""
    result = _fit(_data())
    with pytest.raises(ValueError, match=r"table_with is for FOCEi fits .* this saem fit has "
                                         r"only its own standard errors"):
        result.table_with("sandwich")


def test_a_categorical_covariate_with_one_level_is_dropped_with_a_warning():
    """Every subject with SEX = 1: the effect has nothing to estimate and was left
    out without a word."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _fit(_data(sex=1.0), covariates={"cl": Categorical("sex")})
    assert not result.table["name"].str.startswith("beta_").any()
    assert any("covariate 'sex' on 'cl': every subject has the level 1.0" in str(w.message)
               for w in caught), [str(w.message) for w in caught]
