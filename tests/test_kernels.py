"""The generated kernels: analytic Jacobian, grouped differences, sparse LU.

Checked against independent computations: the analytic Jacobian against
central differences of the generated right-hand side, the grouped
differences against column-by-column ones, and the written-out LU against
a dense solve of I - c J.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import il21pk as ip
from il21pk.analysis.simulate import run_batch
from il21pk.codegen.kernel import _hoisted
from il21pk.codegen.sparse_lu import minimum_degree_order
from il21pk.engine.events import compile_events
from il21pk.engine.integrate import integrate
from il21pk.engine.kernels import compiled, prepare
from il21pk.model.inputs import parameter_columns
from il21pk.parameters import ParameterSpec

MODELS = {"full": ip.Model.v1(), "pk_only": ip.Model.pk_only(), "in_vitro": ip.Model.in_vitro_v1()}


def _states_along_a_course(model, params, rng, times=(0.01, 0.5, 4.0, 30.0, 200.0)):
    """States of a 30 ug/kg course (or 10 ng in vitro) and random positive states."""
    dose = ip.Dose(10.0, unit="ng") if model.kind == "in_vitro" else ip.Dose(30.0)
    res = ip.simulate(model, dose, params, t_end=200.0, t_eval=list(times))
    k, y0 = prepare(model, parameter_columns(model, params))
    module = compiled(model).module
    batch = []
    for t in res.times:
        wide = res.wide().set_index("time_h").loc[t]
        y = y0[0].copy()
        for i, name in enumerate(model.state_names):
            match = [c for c in wide.index if c.split(" [")[0] == name]
            if match:
                y[i] = wide[match[0]]
        if "il21_central" in model.state_names:
            y[model.state_names.index("il21_central")] = \
                wide["il21_plasma [nM]"] * k[0, module.KERNEL.index("v_central")]
        batch.append(y)
    n = model.n_states
    batch += [y0[0] * rng.uniform(0.5, 2.0, n) + rng.uniform(0.01, 1.0, n) for _ in range(5)]
    return k[0], batch


@pytest.mark.parametrize("name", list(MODELS))
def test_analytic_jacobian_equals_central_differences(name, human):
    model = MODELS[name]
    module = compiled(model).module
    # during the response, where states are far from round-off and from the kink
    # of max(complexes, 0) at 0, and at random positive states
    k, states = _states_along_a_course(model, human, np.random.default_rng(1), (0.5, 4.0, 30.0))
    n = model.n_states
    u = np.zeros(module.N_INPUTS)
    for y in states:
        jac = np.zeros((n, n))
        module.jacobian(0.0, y, k, u, jac)
        numeric = np.zeros((n, n))
        for j in range(n):
            h = 1e-6 * max(abs(y[j]), 1e-3)
            up, down = y.copy(), y.copy()
            up[j] += h
            down[j] -= h
            f_up, f_down = np.empty(n), np.empty(n)
            module.rhs(0.0, up, f_up, k, u)
            module.rhs(0.0, down, f_down, k, u)
            numeric[:, j] = (f_up - f_down) / (up[j] - down[j])
        scale = np.abs(numeric).max(axis=1, keepdims=True) + 1e-12
        np.testing.assert_array_less(np.abs(jac - numeric) / scale, 1e-5)


def test_grouped_differences_equal_column_by_column(model, human):
    """The grouped secants give every column's own forward differences, bit for bit."""
    engine = compiled(model).engine
    module = compiled(model).module
    k, y0 = prepare(model, parameter_columns(model, human))
    rng = np.random.default_rng(5)
    n = model.n_states
    u = np.zeros(module.N_INPUTS)
    for _ in range(5):
        y = y0[0] * rng.uniform(0.5, 2.0, n) + rng.uniform(0.01, 1.0, n)
        jac = np.zeros((n, n))
        engine.evaluate_jacobian(0.0, y, k[0], u, jac, np.empty(n), np.empty(n), 1e-6, 1e-9,
                                 True)
        f0, f1 = np.empty(n), np.empty(n)
        module.rhs(0.0, y, f0, k[0], u)
        pattern = np.zeros((n, n), dtype=bool)
        pattern[module.JAC_ROWS, module.JAC_COLS] = True
        for j in range(n):
            w = y.copy()
            w[j] = y[j] + 1.4901161193847656e-08 * max(abs(y[j]), 1e-9 / 1e-6)
            module.rhs(0.0, w, f1, k[0], u)
            expected = np.where(pattern[:, j], (f1 - f0) / (w[j] - y[j]), 0.0)
            np.testing.assert_array_equal(jac[:, j], expected)


@pytest.mark.parametrize("set_name", ["human", "cynomolgus"])
def test_sparse_lu_solves_the_model_newton_matrices(model, set_name):
    params = ip.parameter_sets.load(set_name)
    module = compiled(model).module
    k, states = _states_along_a_course(model, params, np.random.default_rng(2))
    rng = np.random.default_rng(3)
    n = model.n_states
    solved = tried = 0
    for y in states:
        jac = np.zeros((n, n))
        module.jacobian(0.0, y, k, np.zeros(1), jac)
        for c in np.logspace(-6, 3, 10):
            tried += 1
            lu = np.empty(module.NNZ)
            if not module.sparse_factor(jac, c, lu):
                continue
            a = np.eye(n) - c * jac
            b = rng.normal(size=n)
            x = b.copy()
            module.sparse_solve(lu, x)
            np.testing.assert_allclose(a @ x, b, rtol=0, atol=1e-9 * np.abs(b).max())
            solved += 1
    assert solved >= 0.9 * tried  # the fixed pivot order is the rule, not the exception


def test_kernel_only_subexpressions_are_taken_out_exactly():
    """What reads kernel values alone leaves the rates as new kernel values (named
    apart from every kernel name), what reads a state stays, and putting the new
    values back gives the expressions unchanged."""
    q, v, hill, s, clash = sp.symbols("q v hill s _hoisted0")
    rates = [q * s / v - s**hill, q**hill / (s + q**hill), -q * s + clash]
    out, values = _hoisted(rates, [q, v, hill, clash])
    assert [name for name, _ in values] == ["__hoisted0", "__hoisted1"]
    assert {expr for _, expr in values} == {q / v, q**hill}
    back = {sp.Symbol(name): expr for name, expr in values}
    assert [e.xreplace(back) for e in out] == rates
    assert out[2] == rates[2]  # -q * s: a number times one kernel value stays


def test_a_run_time_power_is_printed_as_the_runtime_helper_and_agrees_with_pow():
    """Model v2's Hill coefficient (4) and platelet feedback (0.17) are parameters,
    so the generated code raises to them with ``runtime.power`` (``_power`` in the
    module). It agrees with libm's ``pow``: within a few ulp for a whole exponent
    from 1 to 8 (which it multiplies out; signs and integer bases included),
    exactly for any other."""
    module = compiled(ip.Model.v2()).module
    with open(module.__file__, encoding="utf-8") as handle:
        assert "_power(s_pstat5, k_hill_proliferation_il15)" in handle.read()
    bases = [0.0, -0.0, 1e-300, 3e-9, 0.37, 1.0, 2.5, 7e3, 1e38, -0.6, -4.0, np.inf, -np.inf,
             np.nan]
    for p in [1.0, 2.0, 3.0, 4.0, 7.0, 8.0]:
        for x in bases:
            got, want = module._power(x, p), np.power(x, p)
            if np.isnan(want):
                assert np.isnan(got), (x, p)
            else:
                assert got == pytest.approx(want, rel=8 * np.finfo(float).eps, abs=0.0), (x, p)
                assert np.signbit(got) == np.signbit(want), (x, p)
    # an integer base (a literal, floor()) is raised in floats, as pow would: no wraparound
    for x, p in [(1000, 7.0), (100000, 4.0), (-3, 3.0), (2, 8.0)]:
        assert module._power(x, p) == pytest.approx(float(x) ** p, rel=8 * np.finfo(float).eps)
    for p in [0.0, 0.17, 2.5, 9.0, -2.0, np.nan]:
        for x in [1e-30, 0.37, 2.5, 7e3]:
            got, want = module._power(x, p), math.pow(x, p)  # libm's pow, as numba's
            assert got == want or (np.isnan(got) and np.isnan(want)), (x, p)

def test_a_model_with_constant_rates_compiles_its_engine():
    """Constant rates give a Jacobian without a single non-zero (an empty
    pattern), which the specialised engine indexed as an empty tuple and numba
    refused to compile. Three members (more than the interpreter's first
    runs) compile it; x = 1 + k t exactly."""
    x, k = sp.symbols("x k")
    stage = ip.Stage(name="source", description="constant inflow",
                     states=(ip.State("x", "nmol", "amount", initial=1.0),),
                     parameters=(ParameterSpec("k", "nmol/h", 0.0, 10.0, "inflow"),),
                     rates={"x": k})
    model = ip.Model.compose(stage, name="constant_inflow")
    rates = np.array([0.5, 1.0, 2.0])
    t = np.linspace(0.0, 4.0, 9)
    batch = run_batch(model, ip.Regimen.none(), {"k": rates}, t_eval=t, t_end=4.0)
    assert batch.success.all()
    np.testing.assert_allclose(batch.outputs["x"], 1.0 + rates[:, None] * t, rtol=1e-9)


def test_sparse_lu_keeps_its_order_on_model_v2_newton_matrices(human):
    """v2's states span nmol of drug to receptors per cell, so the raw entries of
    a column of its Newton matrices differ by ~1e6: the pivot test on the
    equilibrated matrix still takes the fixed order (a test on the raw entries
    refuses every one of these states at c = 0.1 and 1), and its solution equals
    a pivoted dense solve to a millionth of the solver's tolerance."""
    model = ip.Model.v2()
    module = compiled(model).module
    regimen = ip.Regimen.five_on_nine_off(ip.Dose(30.0), cycles=1) + \
        ip.Regimen.five_on_nine_off(ip.Dose(0.3, drug="il15"), cycles=1)
    columns = parameter_columns(model, human)
    k, y0 = prepare(model, columns)
    times = np.array([0.01, 0.5, 3.0, 30.0, 96.5, 200.0])
    states = integrate(model, k, y0, compile_events(model, regimen, columns, n=1), times,
                       200.0).states[0]
    rng = np.random.default_rng(6)
    n = model.n_states
    lu = np.empty(module.NNZ)
    for y in states:
        jac = np.zeros((n, n))
        module.jacobian(0.0, y, k[0], np.zeros(module.N_INPUTS), jac)
        scale = 1e-9 + 1e-6 * np.abs(y)
        for c in np.logspace(-4, 0, 5):
            assert module.sparse_factor(jac, c, lu)
            b = rng.normal(size=n) * scale
            x = b.copy()
            module.sparse_solve(lu, x)
            expected = np.linalg.solve(np.eye(n) - c * jac, b)
            assert np.abs((x - expected) / scale).max() < 1e-6


def test_sparse_lu_refuses_an_unstable_pivot(model):
    module = compiled(model).module
    n = model.n_states
    rng = np.random.default_rng(4)
    pattern = np.eye(n, dtype=bool)
    pattern[module.JAC_ROWS, module.JAC_COLS] = True
    jac = np.where(pattern, 0.1 * rng.normal(size=(n, n)), 0.0)
    lu = np.empty(module.NNZ)
    assert module.sparse_factor(jac, 1.0, lu)
    first = minimum_degree_order(pattern)[0]
    jac[first, first] = 1.0  # the first fixed pivot, 1 - c * J[first, first], vanishes
    assert not module.sparse_factor(jac, 1.0, lu)
    jac[first, first] = np.nan
    assert not module.sparse_factor(jac, 1.0, lu)


def test_specialised_engine_cache_is_keyed_by_the_engine_source(model):
    """numba keys caches by file, name and line: an edited engine (same lines, a
    different constant) must not reuse machine code compiled from the old one."""
    from il21pk.engine import bdf

    engine = compiled(model).engine
    version = bdf._engine_version()
    assert len(version) == 12
    for name in ("integrate_member", "solve_batch"):
        assert getattr(engine, name).py_func.__qualname__ == f"{name}_{version}"
