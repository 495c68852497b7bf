"""The population fit's two predictors agree: the closed-form one-compartment model
against the compiled engine it is the analytic solution of, subject by subject."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import il21pk as ip
from il21pk.analysis.population import OneCompartmentOral
from il21pk.analysis.population.predictors import ModelPredictor

PK1 = ip.Model.pk_only(compartments=1)
TIMES = np.array([0.25, 0.5, 1.0, 1.5, 2.0, 3.5, 6.0, 12.0])


def test_closed_form_reads_covariates_named_like_its_parameters():
    """Each subject's lag, bioavailability and body weight come from the data (a
    covariate named like a parameter is the subject's value). The closed form
    used the parameter set's values for all but body weight: every subject got
    the same curve, and a fit put V at 64 L where the truth was 32."""
    lag, f, weight = [0.0, 0.5, 1.0, 2.0], [1.0, 0.5, 0.25, 0.8], [50.0, 70.0, 90.0, 110.0]
    n = len(lag)
    frame = pd.DataFrame({"id": np.repeat(np.arange(1, n + 1), TIMES.size),
                          "t": np.tile(TIMES, n), "conc": 1.0,
                          "TLAG": np.repeat(lag, TIMES.size), "F": np.repeat(f, TIMES.size),
                          "WT": np.repeat(weight, TIMES.size)})
    regimen = ip.Regimen.single(ip.Dose(30.0, unit="ug/kg", route="sc"))
    data = ip.Dataset.from_frame(frame, time="t", value="conc", variable="il21_plasma",
                                 subject="id", model=PK1, regimen=regimen,
                                 covariates={"TLAG": "tlag_sc", "F": "f_sc",
                                             "WT": "body_weight"})
    params = ip.parameter_sets.load("human").with_values(ka=1.2, v_central=32.0, cl=2.8,
                                                         f_sc=0.9, tlag_sc=0.25)
    names = ["cl", "v_central"]
    values = {k: np.full((1, n), params.value(k)) for k in names}
    engine = ModelPredictor(PK1, data, params, names, {"rtol": 1e-10, "atol": 1e-14})(values)
    closed = OneCompartmentOral().bind(data, params)(values)
    np.testing.assert_allclose(closed, engine, rtol=1e-6, atol=1e-12)
    # and the covariates matter: the subjects' curves differ in the way they should
    obs = data.observations
    first = [closed[0, np.flatnonzero(obs["subject"].to_numpy() == s)] for s in range(1, n + 1)]
    assert first[0][0] > 0 and first[3][TIMES < 2.0].max() == 0.0  # lag 2 h: nothing before


@pytest.mark.parametrize(("column", "name", "value"), [("F", "f_sc", -0.5),
                                                       ("TLAG", "tlag_sc", -1.0),
                                                       ("F", "f_sc", 1.5)])
@pytest.mark.parametrize("model", [OneCompartmentOral(), PK1], ids=["closed form", "engine"])
def test_a_covariate_outside_its_parameters_bounds_is_refused_for_both(model, column, name,
                                                                        value):
    # fit_population checks the data once (fitting.check_data) before either predictor
    # is built: neither takes a bioavailability of -0.5 or 1.5 or a lag of -1 h
    frame = pd.DataFrame({"id": np.repeat([1, 2], TIMES.size), "t": np.tile(TIMES, 2),
                          "conc": 1.0, column: np.repeat([0.5, value], TIMES.size)})
    regimen = ip.Regimen.single(ip.Dose(30.0, unit="ug/kg", route="sc"))
    data = ip.Dataset.from_frame(frame, time="t", value="conc", variable="il21_plasma",
                                 subject="id", model=PK1, regimen=regimen,
                                 covariates={column: name})
    with pytest.raises(ip.DataError, match=rf"covariate '{name}' must be given and within its "
                                           rf"hard bounds .*subject\(s\) \[2\] have"):
        ip.fit_population(model, data, ip.parameter_sets.load("human"), free=["cl"],
                          iiv={"cl": 0.3}, method="focei")
