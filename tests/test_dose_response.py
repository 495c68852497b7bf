"""dose_response() and the Emax/Hill fit."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

import il21pk as ip
from il21pk.analysis.dose_response import fit_emax, hill
from il21pk.errors import OptionError

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


def test_a_step_through_noise_gets_no_wald_intervals():
    # pure noise around 5: the fit ends on a step between two doses, where ED50 and Hill
    # move nothing; pinv gave them variance 0 (ED50 1.2476 [1.2476, 1.2476]) and an emax
    # interval excluding 0
    from il21pk.analysis.dose_response import fit_emax

    doses = np.repeat([0, 0.1, 0.3, 1, 3, 10, 30, 100.0], 2)
    noise = 5.0 + np.random.default_rng(0).normal(0.0, 1.0, doses.size)
    with pytest.warns(UserWarning, match="do not determine every parameter"):
        fitted = fit_emax(doses, noise)
    assert fitted.table[["stderr", "ci_low", "ci_high"]].isna().all().all()
    assert np.isnan(fitted.band(np.array([0.5, 2.0]))).all()


def test_the_wald_band_uses_the_t_quantile_of_the_parameter_intervals():
    # the band used a normal quantile with 4 degrees of freedom: at dose 0 it was
    # narrower than the e0 interval of the same fit ([8.09, 13.77] inside [6.90, 14.96])
    from il21pk.analysis.dose_response import fit_emax, hill

    doses = np.array([0, 0.3, 1, 3, 10, 30, 100.0])
    truth = (10.0, 50.0, 3.0, 1.0)
    y = hill(doses, *truth) + np.random.default_rng(0).normal(0.0, 3.0, doses.size)
    fitted = fit_emax(doses, y, hill_fixed=1.0)
    low, high = fitted.band(np.array([0.0]))
    e0 = fitted.table.set_index("name").loc["e0"]
    assert low[0] == pytest.approx(e0["ci_low"], rel=1e-6)
    assert high[0] == pytest.approx(e0["ci_high"], rel=1e-6)


@pytest.mark.parametrize("kwargs,match", [
    ({"dose": [-1.0, 0.0, 1.0, 10.0, 100.0]}, r"doses >= 0"),
    ({"dose": [0.0, 1.0, 3.0, 10.0, np.inf]}, r"finite doses"),  # was dropped silently
    ({"hill_fixed": -1.0}, r"`hill_fixed` must be a finite number > 0; got -1.0"),
    ({"hill_fixed": np.nan}, r"`hill_fixed` must be a finite number > 0"),
    ({"response": [1.0, 2.0, np.inf, 8.0, 9.0]}, r"finite responses"),
])
def test_fit_emax_inputs_are_checked(kwargs, match):
    from il21pk.analysis.dose_response import fit_emax

    args = {"dose": [0.0, 1.0, 3.0, 10.0, 100.0], "response": [1.0, 2.0, 5.0, 8.0, 9.0],
            **kwargs}
    with pytest.raises(ip.FitError, match=match):
        fit_emax(np.array(args.pop("dose")), np.array(args.pop("response")), **args)


def test_a_response_below_the_solver_tolerance_does_not_change(human):
    # plasma IL-15 under IL-21 doses: 7.7e-48 at dose 0 and 0 elsewhere was fitted as a
    # curve (ED50 7.6e-32 ug/kg)
    with pytest.raises(ip.FitError, match=r"no more than the solver's absolute tolerance"):
        ip.dose_response(ip.Model(), ip.Regimen.single(ip.Dose(30.0)), human,
                         doses=[0.0, 10.0], response="il15_plasma", metric="auc", t_end=24.0)


@pytest.mark.parametrize("units", [1e-8, 1e8])
def test_wald_intervals_do_not_depend_on_the_response_units(rng, units):
    # the test for an undetermined direction compared e0's column (1) with ED50's
    # (which scales with Emax): responses in 1e-8 units lost every interval
    doses = np.geomspace(0.3, 300, 12)
    noisy = hill(doses, 2.0, 10.0, 15.0, 1.4) + rng.normal(0, 0.1, doses.shape)
    plain = fit_emax(doses, noisy).table.set_index("name")
    scaled = fit_emax(doses, noisy * units).table.set_index("name")
    for name in ("e0", "emax"):
        for column in ("estimate", "ci_low", "ci_high"):
            assert scaled.loc[name, column] == pytest.approx(plain.loc[name, column] * units,
                                                             rel=1e-5), (name, column)
    for name in ("ed50", "hill"):
        for column in ("estimate", "ci_low", "ci_high"):
            assert scaled.loc[name, column] == pytest.approx(plain.loc[name, column],
                                                             rel=1e-5), (name, column)


def test_a_fit_over_failed_doses_is_refused(drug):
    # doses whose runs failed were left out of the fit without a word (ED50 5.7 -> 0.15)
    model = ip.Model.pk_only(compartments=1)
    args = {"doses": [0.0, 1.0, 10.0, 100.0, 1000.0], "response": "il21_plasma",
            "metric": "auc", "t_end": 24.0, "max_steps": 3}
    regimen = ip.Regimen.single(ip.Dose(1.0, unit="nmol", route="sc"))
    with pytest.raises(ip.FitError, match=r"the runs at 5 dose\(s\) failed \(0, 1, 10, "
                                          r"100, 1000 nmol; first: too many steps"):
        ip.dose_response(model, regimen, drug, **args)
    values = ip.dose_response(model, regimen, drug, fit=None, **args).frame
    assert not values["success"].any() and values["value"].isna().all()
    draws = pd.DataFrame({"cl": [1.5, 2.0, 2.5]})
    with pytest.warns(UserWarning, match=r"up to 3 of 3 draws failed at a dose"):
        drawn = ip.dose_response(model, regimen, drug, fit=None, uncertainty=draws, **args)
    assert drawn.frame["draws_ok"].tolist() == [0] * 5


# the default dose grid (0, then 30 x 10^-3 .. 30 x 10^2 ug/kg, two a decade)
DEFAULT_DOSES = np.concatenate([[0.0], 30.0 * 10.0 ** np.arange(-3.0, 2.01, 0.5)])


@pytest.mark.parametrize("wald", [False, True])
def test_an_ed50_run_off_to_the_float_range_is_a_fit_error(wald):
    # a response that keeps changing as a power of the dose: the fit ran ED50 and Emax
    # off together and reported ED50 = 1.797e+308 (with Wald intervals, numpy's overflow
    # warning); an ED50 10 times smaller fits as well
    response = np.array([0.0, 2.0, 2.0, 0.0, 2.0, 2.0, 1.0, 1.0, 0.0, 2.0, 2.0, 2.0])
    with pytest.raises(ip.FitError, match=r"the data do not determine the ED50: the fit "
                                          r"ended at ED50 = .* times (larger|smaller) fits "
                                          r"them as well"):
        fit_emax(DEFAULT_DOSES, response, wald=wald)


def test_dose_response_refuses_an_ed50_the_doses_do_not_determine(human):
    # NK-cell tmax falls from 168 h to 0 only at the highest dose: the Emax fit ran to
    # ED50 = 1.8e10 ug/kg (Emax -2.8e9 h) with only the extrapolation warning
    with pytest.raises(ip.FitError, match=r"the data do not determine the ED50: the fit "
                                          r"ended at ED50 = 1\.\d+e\+10 .* an ED50 10 times "
                                          r"larger fits them as well"):
        ip.dose_response(ip.Model(), ip.Dose(30.0, route="sc"), human,
                         doses=[1, 3, 10, 30, 100, 300, 1000], response="nk_blood",
                         metric="tmax", t_end=168.0, fit="emax")


def test_an_unbounded_wald_interval_of_ed50_reaches_inf_without_a_warning():
    # noise fitted with a step: log ED50 +/- t SE overflowed exp, with numpy's warning
    response = np.array([1.0, 1.0, 0.0, 0.0, 2.0, 0.0, 1.0, 1.0, 2.0, 1.0, 2.0, 1.0])
    table = fit_emax(DEFAULT_DOSES, response).table.set_index("name")
    assert table.loc["ed50", "ci_high"] == np.inf and table.loc["hill", "ci_high"] == np.inf


def test_doses_of_two_drugs_or_units_are_not_scaled_as_one():
    """IL-21 10 ug/kg with IL-15 0.07 mg: without `drug=` every dose was given the
    first dose's unit, so the IL-15 Cmax at 'dose 10' was that of 10 ug/kg of IL-15
    (19.4 nM) where sweep's dose 10 (each dose in its own unit) gave 10 mg (277 nM),
    and which unit won depended on the order of the doses (probe of 2026-12-01)."""
    model = ip.Model()
    both = ip.Regimen.single(ip.Dose(10.0)) + ip.Regimen.single(
        ip.Dose(0.07, unit="mg", drug="il15"))
    with pytest.raises(OptionError, match=r"holds doses of the drugs \['il15', 'il21'\]: "
                                             r"name the one to scale with `drug=`"):
        ip.dose_response(model, both, doses=[0.0, 10.0], response="il15_plasma",
                         metric="cmax", t_end=24.0)
    mixed = ip.Regimen.single(ip.Dose(10.0)) + ip.Regimen.single(
        ip.Dose(0.5, unit="mg", time=24.0))
    with pytest.raises(OptionError, match=r"the doses to scale are in \['mg', 'ug/kg'\]: "
                                             r"give the unit of `doses` with `unit=`"):
        ip.dose_response(model, mixed, doses=[0.0, 10.0], response="il21_plasma",
                         metric="cmax", t_end=48.0)
    # one drug named: its doses are scaled, the other's stay as given
    result = ip.dose_response(model, both, doses=[0.0, 10.0], response="il15_plasma",
                              metric="cmax", t_end=24.0, drug="il21", fit=None)
    assert result.frame["unit"].eq("ug/kg").all()
