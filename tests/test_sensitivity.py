"""Sensitivity: known answers (1-compartment AUC, Ishigami, an inert parameter)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import il21pk as ip


def test_local_sensitivity_of_auc_to_cl_is_minus_one_and_to_v_is_zero(drug):
    model = ip.Model.pk_only(compartments=1)
    sens = ip.sensitivity(model, ip.Regimen.single(ip.Dose(50.0, unit="nmol")), drug,
                          outputs=["il21_plasma"], metrics=["auc", "cmax"],
                          parameters=["cl", "v_central"], t_end=200.0, executor="serial",
                          rtol=1e-10, atol=1e-14, t_eval=np.arange(201.0))  # cmax at t = 0
    assert list(sens.columns) == ["parameter", "output", "metric", "index", "value", "conf"]
    s = sens.set_index(["parameter", "metric"])["value"]
    assert s["cl", "auc"] == pytest.approx(-1.0, abs=1e-6)
    assert s["v_central", "auc"] == pytest.approx(0.0, abs=1e-6)
    assert s["v_central", "cmax"] == pytest.approx(-1.0, abs=1e-6)  # C0 = dose / V


def _ishigami(x: pd.DataFrame) -> np.ndarray:
    a, b = 7.0, 0.1
    x1, x2, x3 = x["x1"], x["x2"], x["x3"]
    return (np.sin(x1) + a * np.sin(x2) ** 2 + b * x3**4 * np.sin(x1)).to_numpy()


def test_sobol_reproduces_the_ishigami_indices():
    bounds = {f"x{i}": (-np.pi, np.pi) for i in (1, 2, 3)}
    table = ip.global_indices(_ishigami, bounds, method="sobol", n=4096, scale="linear",
                              seed=1)
    got = table.set_index(["parameter", "index"])["value"]
    # analytic values for a = 7, b = 0.1
    expected = {("x1", "S1"): 0.3139, ("x2", "S1"): 0.4424, ("x3", "S1"): 0.0,
                ("x1", "ST"): 0.5576, ("x2", "ST"): 0.4424, ("x3", "ST"): 0.2437}
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=0.03), key
    assert (table["conf"] > 0).all()


def test_morris_ranks_an_inert_parameter_last(model, human):
    reg = ip.Regimen.single(ip.Dose(10.0))
    sens = ip.sensitivity(model, reg, human, outputs=["il21_plasma"], metrics=["auc"],
                          method="morris", n=8, parameters=["cl", "v_central", "ka"],
                          t_end=48.0, executor="serial", seed=3)
    mu = sens[sens["index"] == "mu_star"].set_index("parameter")["value"]
    assert mu.idxmin() == "ka"  # IV dosing: absorption plays no part
    assert mu["ka"] == pytest.approx(0.0, abs=1e-9)
    assert mu["cl"] > 0


def test_sobol_of_the_model_is_seeded(model, human):
    reg = ip.Regimen.single(ip.Dose(10.0))
    kwargs = dict(outputs=["il21_plasma"], metrics=["auc"], method="sobol", n=16,
                  parameters=["cl", "kd"], t_end=48.0, executor="serial", seed=5)
    a = ip.sensitivity(model, reg, human, **kwargs)
    b = ip.sensitivity(model, reg, human, **kwargs)
    pd.testing.assert_frame_equal(a, b)
    st = a[a["index"] == "ST"].set_index("parameter")["value"]
    assert st["cl"] > st["kd"]


@pytest.mark.parametrize("kwargs,match", [
    ({"method": "fast"}, "`method` must be one of"),
    ({"parameters": ["cll"]}, "unknown parameter 'cll'"),
    ({"method": "sobol", "n": 10, "parameters": ["cl"]}, "power of 2"),
    # span was not checked: 0 raised ZeroDivisionError, "2" a raw TypeError, -2 and NaN
    # errors about bounds the user never gave; [] an error about `samples`
    ({"method": "morris", "parameters": ["cl"], "span": 0}, r"`span` must be .* got 0"),
    ({"method": "morris", "parameters": ["cl"], "span": "2"}, r"`span` must be .* got '2'"),
    ({"method": "morris", "parameters": ["cl"], "span": -2.0}, r"`span` must be"),
    ({"method": "morris", "parameters": ["cl"], "span": float("nan")}, r"`span` must be"),
    ({"method": "morris", "parameters": []}, r"`parameters` must name at least one"),
])
def test_sensitivity_errors(model, human, kwargs, match):
    # il21pk's own error classes (they were builtin ValueErrors)
    with pytest.raises(ip.Il21pkError, match=match) as caught:
        ip.sensitivity(model, ip.Regimen.single(ip.Dose(1.0)), human, t_end=10.0, **kwargs)
    assert isinstance(caught.value, ValueError)


def test_sensitivity_names_an_unknown_option_and_passes_the_known_ones(model, human):
    # an unknown keyword was reported as "sweep() got an unexpected keyword argument"
    reg = ip.Regimen.single(ip.Dose(1.0))
    with pytest.raises(ip.errors.InputTypeError, match=r"sensitivity got unknown option\(s\) "
                                                       r"\['foo'\]"):
        ip.sensitivity(model, reg, human, t_end=10.0, parameters=["cl"], foo=1)
    with pytest.raises(ip.errors.OptionError, match="`rtol`"):  # rtol reaches sweep
        ip.sensitivity(model, reg, human, t_end=10.0, parameters=["cl"], rtol=-1.0)


@pytest.mark.parametrize("kwargs,error,match", [
    # seed -1 and num_levels 0 raised numpy's errors from inside SALib
    ({"seed": -1}, ip.errors.OptionError, r"`seed` must be an integer >= 0, .* got -1"),
    ({"seed": 1.5}, ip.errors.OptionError, r"`seed` must be None, an integer"),
    ({"method": "morris", "num_levels": 0}, ip.errors.OptionError, r"`num_levels`"),
])
def test_global_indices_checks_its_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        ip.global_indices(lambda df: df["a"].to_numpy(), {"a": (1, 2), "b": (1, 2)}, n=4,
                          **kwargs)


def test_global_indices_refuses_outputs_that_are_not_numbers():
    # "could not convert string to float" from numpy
    with pytest.raises(ip.errors.InputTypeError, match="`evaluate` must return real numbers"):
        ip.global_indices(lambda df: ["x"] * len(df), {"a": (1, 2), "b": (1, 2)}, n=4)


def test_sobol_indices_of_a_constant_output_are_undefined():
    # SALib reported S1 = ST = 0 for an output with no variance, after a RuntimeWarning
    def evaluate(df):
        return np.column_stack([np.ones(len(df)), df["a"].to_numpy()])

    with pytest.warns(UserWarning, match="output 0 is 1 at every sample"):
        table = ip.global_indices(evaluate, {"a": (1, 2), "b": (1, 2)}, n=8)
    assert table.loc[table["output"] == 0, "value"].isna().all()
    varied = table[(table["output"] == 1) & (table["index"] == "ST")].set_index("parameter")
    assert varied.loc["a", "value"] > 0.5 > varied.loc["b", "value"]


def test_tornado_and_sobol_plots(drug):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model = ip.Model.pk_only(compartments=1)
    reg = ip.Regimen.single(ip.Dose(50.0, unit="nmol"))
    local = ip.sensitivity(model, reg, drug, outputs=["il21_plasma"], metrics=["auc"],
                           parameters=["cl", "v_central", "mw"], t_end=100.0,
                           executor="serial")
    ax = ip.plotting.tornado(local)
    bars = [p.get_width() for p in ax.patches]
    assert bars[-1] == pytest.approx(-1.0, abs=1e-4)  # cl (or mw) on top
    assert "d ln auc(il21_plasma)" in ax.get_xlabel()
    table = ip.global_indices(_ishigami, {f"x{i}": (-np.pi, np.pi) for i in (1, 2, 3)},
                              n=2048, scale="linear", seed=0)
    table = table.assign(output="y", metric="f")
    ax = ip.plotting.sobol_bars(table)
    assert len(ax.patches) == 6 and [t.get_text() for t in ax.get_xticklabels()][0] == "x1"
    plt.close("all")


def test_default_ranges_stay_within_hard_bounds(model, human):
    # f_sc = 0.6 x span 2 = 1.2 left f_sc's bounds [0, 1]: "swept 'f_sc' ... has 1.2"
    reg = ip.Regimen.single(ip.Dose(10.0, route="sc"))
    sens = ip.sensitivity(model, reg, human.with_values(f_sc=0.6), outputs=["il21_plasma"],
                          metrics=["auc"], method="morris", n=4, parameters=["f_sc", "cl"],
                          t_end=24.0, executor="serial", seed=1)
    mu = sens[sens["index"] == "mu_star"].set_index("parameter")["value"]
    assert mu["f_sc"] > 0 and mu["cl"] > 0


@pytest.mark.parametrize("method", ["sobol", "morris"])
@pytest.mark.parametrize("bounds,match", [
    ({"f_sc": (0.5, 1.5)}, r"bounds\['f_sc'\] = \(0.5, 1.5\) leave the hard bounds \[0, 1\]"),
    ({"cl": (-1.0, 2.0)}, r"bounds\['cl'\] = \(-1.0, 2.0\) leave the hard bounds \[0, "),
])
def test_bounds_outside_the_hard_bounds_are_named(model, human, method, bounds, match):
    # the error was the sweep's about a run: "swept 'f_sc' must be within [0, 1] 1; run 1
    # has 1.5", naming neither `bounds` nor the range given
    with pytest.raises(ip.ParameterError, match=match):
        ip.sensitivity(model, ip.Regimen.single(ip.Dose(10.0, route="sc")), human,
                       outputs=["il21_plasma"], method=method, bounds=bounds, n=4,
                       t_end=24.0, scale="linear")


@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_a_non_finite_output_is_refused_not_an_index_of_0(method):
    # SALib's Sobol estimator turned one NaN in 3,072 evaluations into S1 = ST = 0
    # for every input (Morris: masked values); the indices here are 0.2 and 0.8
    def f(x: pd.DataFrame) -> np.ndarray:
        y = np.log(x["a"].to_numpy()) + 2 * np.log(x["b"].to_numpy())
        y[3] = np.nan
        return y

    bounds = {"a": (1.0, np.e), "b": (1.0, np.e)}
    with pytest.raises(ValueError, match=r"returned 1 non-finite value\(s\) of \d+ \(first: "
                                         r"output 0 at sample 3"):
        ip.global_indices(f, bounds, method=method, n=64, seed=1)
    with pytest.raises(ValueError, match=r"one output .* per sample: \d+ samples gave an "
                                         r"array of shape \(3,\)"):
        ip.global_indices(lambda x: np.ones(3), bounds, method=method, n=64, seed=1)


def test_sensitivity_with_failed_runs_is_an_error_naming_them(drug):
    # with max_steps too small every run fails; the indices were all 0 +- 0 before
    model = ip.Model.pk_only(compartments=1)
    with pytest.raises(ip.SimulationError, match=r"sensitivity: 8 of 8 runs failed \(first: "
                                                 r"\{'cl': .*too many steps"):
        ip.sensitivity(model, ip.Regimen.single(ip.Dose(50.0, unit="nmol", route="sc")), drug,
                       outputs=["il21_plasma"], metrics=["auc"], method="sobol", n=2,
                       bounds={"cl": (2.5, 10.0), "ka": (0.1, 30.0)}, t_end=48.0,
                       executor="serial", max_steps=3)


@pytest.mark.parametrize("method", ["morris", "sobol"])
def test_global_indices_take_numpy_integer_seeds(method):
    # SALib's Morris refused np.int64 seeds ("Unsupported seed type")
    def evaluate(df):
        return df["a"].to_numpy() + 0.1 * df["b"].to_numpy()

    bounds = {"a": (1, 2), "b": (1, 2)}
    a = ip.global_indices(evaluate, bounds, method=method, n=8, seed=np.int64(3),
                          num_levels=np.int64(4))
    pd.testing.assert_frame_equal(a, ip.global_indices(evaluate, bounds, method=method, n=8,
                                                       seed=3))


def test_global_indices_take_generators_like_every_sampler():
    # the library's samplers take a numpy Generator (or None); global_indices took only ints
    def evaluate(df):
        return df["a"].to_numpy() + 0.1 * df["b"].to_numpy()

    bounds = {"a": (1, 2), "b": (1, 2)}
    a = ip.global_indices(evaluate, bounds, n=8, seed=np.random.default_rng(5))
    b = ip.global_indices(evaluate, bounds, n=8, seed=np.random.default_rng(5))
    pd.testing.assert_frame_equal(a, b)
    assert len(ip.global_indices(evaluate, bounds, n=8, seed=None)) == len(a)
