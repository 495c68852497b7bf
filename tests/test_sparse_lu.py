"""The written-out sparse LU of the full model's Newton matrix (il21pk._lu_full)."""

from __future__ import annotations

import numpy as np
import pytest

import il21pk as ip
from il21pk import _lu_full, lugen
from il21pk.model import FULL, member_rhs
from il21pk.simulate import parameter_columns
from il21pk.solver import _jacobian


def test_generated_module_matches_the_model():
    on_disk = lugen.TARGET.read_text()
    assert on_disk == lugen.source(), "run `python -m il21pk.lugen` to regenerate _lu_full.py"


def _newton_matrices(model, params):
    """J and c of I - c J at states along a 30 ug/kg course, c from tiny to huge."""
    reg = ip.Regimen.five_on_nine_off(ip.Dose(30.0, unit="ug/kg"))
    res = ip.simulate(model, reg, params, t_end=200.0, t_eval=[0.01, 0.5, 4.0, 30.0, 200.0])
    states = res.frame.pivot_table(index="time_h", columns="variable", values="value")
    k, _ = model.prepare(parameter_columns(model, params))
    n = model.n_states
    for _, row in states.iterrows():
        y = np.array([row[name] if name in row else 0.0 for name in model.state_names])
        if "il21_central" in model.state_names:  # reported as plasma concentration
            y[model.state_names.index("il21_central")] = \
                row["il21_plasma"] * params["v_central"].value
        f0 = np.empty(n)
        member_rhs(FULL, 0.0, y, f0, k[0], 0.0)
        jac = np.zeros((n, n))
        _jacobian(FULL, 0.0, y, f0, jac, k[0], 0.0, 1e-6, 1e-9)
        for c in np.logspace(-6, 3, 10):
            yield jac, c


@pytest.mark.parametrize("set_name", ["human", "cynomolgus"])
def test_sparse_lu_solves_the_model_newton_matrices(model, set_name):
    params = ip.parameter_sets.load(set_name)
    rng = np.random.default_rng(3)
    solved = 0
    for jac, c in _newton_matrices(model, params):
        lu = np.empty(_lu_full.NNZ)
        if not _lu_full.factor(jac, c, lu):
            continue
        a = np.eye(jac.shape[0]) - c * jac
        b = rng.normal(size=a.shape[0])
        x = b.copy()
        _lu_full.solve(lu, x)
        np.testing.assert_allclose(a @ x, b, rtol=0, atol=1e-9 * np.abs(b).max())
        solved += 1
    assert solved >= 45  # of 50: the fixed pivot order is the rule, not the exception


def test_sparse_lu_refuses_an_unstable_pivot():
    rng = np.random.default_rng(4)
    jac = 0.1 * rng.normal(size=(_lu_full.N, _lu_full.N))
    lu = np.empty(_lu_full.NNZ)
    assert _lu_full.factor(jac, 1.0, lu)
    first = lugen.minimum_degree_order(lugen.pattern())[0]
    jac[first, first] = 1.0  # the first fixed pivot, 1 - c * J[first, first], vanishes
    assert not _lu_full.factor(jac, 1.0, lu)
    jac[first, first] = np.nan
    assert not _lu_full.factor(jac, 1.0, lu)


def test_grouped_jacobian_equals_column_by_column(model):
    """The written-out grouped differences give every column's own differences."""
    params = ip.parameter_sets.load("human")
    k, y0 = model.prepare(parameter_columns(model, params))
    rng = np.random.default_rng(5)
    n = model.n_states
    for _ in range(5):
        y = y0[0] * rng.uniform(0.5, 2.0, n) + rng.uniform(0.01, 1.0, n)
        f0, f1 = np.empty(n), np.empty(n)
        member_rhs(FULL, 0.0, y, f0, k[0], 0.0)
        jac = np.zeros((n, n))
        _jacobian(FULL, 0.0, y, f0, jac, k[0], 0.0, 1e-6, 1e-9)
        for j in range(n):
            w = y.copy()
            step = 1.4901161193847656e-08 * max(abs(y[j]), 1e-9 / 1e-6)
            w[j] = y[j] + step
            member_rhs(FULL, 0.0, w, f1, k[0], 0.0)
            np.testing.assert_array_equal(jac[:, j], (f1 - f0) / (w[j] - y[j]))
