"""dose_response() and the Emax/Hill fit."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

import il21pk as ip
from il21pk.analysis.dose_response import fit_emax, hill

matplotlib.use("Agg")


def test_fit_recovers_a_known_hill_curve_and_covers_it(rng):
    doses = np.geomspace(0.3, 300, 12)
    truth = (2.0, 10.0, 15.0, 1.4)
    noisy = hill(doses, *truth) + rng.normal(0, 0.1, doses.shape)
    fit = fit_emax(doses, noisy)
    table = fit.table.set_index("name")
    for name, value in zip(["e0", "emax", "ed50", "hill"], truth, strict=True):
        assert table.loc[name, "ci_low"] <= value <= table.loc[name, "ci_high"], name
        assert table.loc[name, "stderr"] > 0
    low, high = fit.band(doses)
    assert np.all(low <= fit.predict(doses)) and np.all(fit.predict(doses) <= high)


def test_hyperbolic_emax_fixes_hill(rng):
    doses = np.geomspace(1, 100, 8)
    fit = fit_emax(doses, hill(doses, 0.0, 5.0, 10.0, 1.0), hill_fixed=1.0)
    table = fit.table.set_index("name")
    assert table.loc["ed50", "estimate"] == pytest.approx(10.0, rel=1e-8)
    assert table.loc["hill", "stderr"] == 0.0


def test_dose_response_of_the_model(model, human):
    reg = ip.Regimen.five_on_nine_off(ip.Dose(30.0))
    doses = [0.1, 0.3, 1, 3, 10, 30, 100]  # brackets the ED50 (about 1 ug/kg)
    res = ip.dose_response(model, reg, human, doses=doses, response="ifng_plasma", metric="auc",
                           t_end=14 * 24.0)
    assert list(res.frame.columns) == ["dose", "unit", "response", "endpoint", "value",
                                       "value_unit", "success", "message"]
    assert np.all(np.diff(res.frame["value"]) > 0)
    assert res.summary["unit"].tolist() == ["pg/mL*h", "pg/mL*h", "ug/kg", "1"]
    single = ip.simulate(model, reg.scaled_to(10.0), human, t_end=14 * 24.0).metrics()
    expected = single.set_index(["variable", "metric"]).loc[("ifng_plasma", "auc"), "value"]
    assert res.frame.loc[4, "value"] == pytest.approx(expected, rel=1e-12)
    ax = res.plot()
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "dose [ug/kg]"
    assert "IFN-gamma [pg/mL*h]" in ax.get_ylabel()
    assert len(ax.collections) == 0  # deterministic output: no confidence band
    matplotlib.pyplot.close("all")


def test_time_above_and_value_at(model, human):
    reg = ip.Regimen.single(ip.Dose(30.0))
    above = ip.dose_response(model, reg, human, doses=[3, 30, 300], response="il21_plasma",
                             metric="time_above", threshold=0.1, t_end=24.0, fit=None)
    assert np.all(np.diff(above.frame["value"]) > 0) and above.frame["value_unit"][0] == "h"
    at = ip.dose_response(model, reg, human, doses=[3, 30], response="nk_blood",
                          metric="value_at", at=2.5, t_end=24.0, fit=None)
    assert at.frame["value"].iloc[1] < at.frame["value"].iloc[0] < 200.0


@pytest.mark.parametrize("kwargs,match", [
    ({"metric": "mean"}, "`metric` must be one of"),
    ({"metric": "time_above"}, "needs `threshold`"),
    ({"metric": "value_at"}, "needs `at`"),
    ({"doses": [-1, 2]}, "`doses` must be finite numbers >= 0"),
    ({"fit": "logistic"}, "`fit` must be"),
])
def test_dose_response_errors(model, human, kwargs, match):
    args = {"doses": [1, 10], "response": "ifng_plasma", "t_end": 24.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        ip.dose_response(model, ip.Regimen.single(ip.Dose(1.0)), human, **args)


def test_uncertainty_columns_must_be_names(model, human):
    # an integer column name raised AttributeError: 'int' object has no attribute 'startswith'
    draws = pd.DataFrame({0: [2.0, 2.5, 3.0]})
    with pytest.raises(TypeError, match=r"`uncertainty` columns must be parameter names .*got 0"):
        ip.dose_response(model, ip.Regimen.single(ip.Dose(1.0)), human, doses=[1, 10],
                         response="ifng_plasma", t_end=24.0, uncertainty=draws)
