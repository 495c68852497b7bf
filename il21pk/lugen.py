"""Generate ``il21pk/_lu_full.py``: straight-line Jacobian and sparse LU for the full model.

The Newton iteration matrix ``I - c J`` of the full model is 19 x 19 with 87
structural non-zeros. A general pivoted LU spends most of a simulation in
short, branchy loops over that sparsity; code written out for the fixed
pattern (a fill-reducing order, every update and substitution as one line)
keeps the vector in registers and runs several times faster. The same
pattern gives the grouped finite-difference Jacobian (9 right-hand side
calls instead of 19), written out too. The pattern is found by probing
:func:`il21pk.model.member_rhs`; a test regenerates the module and fails
when the model's dependencies have changed (run ``python -m il21pk.lugen``).
:mod:`il21pk.solver` falls back to the pivoted LU whenever the fixed pivot
order would be unstable.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from . import parameter_sets
from .model import FULL, Model, member_rhs
from .simulate import parameter_columns

TARGET = Path(__file__).with_name("_lu_full.py")
#: Threshold pivoting: a fixed pivot must be at least this fraction of the
#: largest entry it eliminates in its column, else the solver pivots.
PIVOT_THRESHOLD = 1e-3


def pattern(n_probes: int = 30, seed: int = 0) -> np.ndarray:
    """Structural non-zeros of the full model's Jacobian, plus the diagonal.

    Each state of random positive states (around the human and cynomolgus
    baselines) is perturbed in turn; an entry is structural if any probe
    changes it.
    """
    model = Model()
    rng = np.random.default_rng(seed)
    n = model.n_states
    found = np.eye(n, dtype=bool)
    for name in ("human", "cynomolgus"):
        k, y0 = model.prepare(parameter_columns(model, parameter_sets.load(name)))
        for _ in range(n_probes):
            y = y0[0] * rng.uniform(0.5, 2.0, n) + rng.uniform(0.01, 1.0, n)
            f0, f1 = np.empty(n), np.empty(n)
            member_rhs(FULL, 0.0, y, f0, k[0], 0.0)
            for j in range(n):
                w = y.copy()
                w[j] = 1.3 * w[j] + 0.05
                member_rhs(FULL, 0.0, w, f1, k[0], 0.0)
                found[:, j] |= f1 != f0
    return found


def minimum_degree_order(nonzero: np.ndarray) -> list[int]:
    """Greedy minimum-degree elimination order of the symmetrised pattern."""
    graph = nonzero | nonzero.T
    left = list(range(graph.shape[0]))
    order = []
    while left:
        v = min(left, key=lambda i: (int(graph[i, left].sum()), i))
        order.append(v)
        left.remove(v)
        neighbours = [u for u in left if graph[v, u]]
        for a in neighbours:
            graph[a, neighbours] = True
    return order


def column_groups(nonzero: np.ndarray) -> list[int]:
    """Greedy grouping of columns whose row patterns do not overlap.

    One right-hand side evaluation with every column of a group perturbed
    gives all of their finite differences (Curtis, Powell & Reid 1974).
    """
    group = []
    rows_of: list[np.ndarray] = []
    for j in range(nonzero.shape[1]):
        for g, rows in enumerate(rows_of):
            if not (rows & nonzero[:, j]).any():
                rows |= nonzero[:, j]
                group.append(g)
                break
        else:
            rows_of.append(nonzero[:, j].copy())
            group.append(len(rows_of) - 1)
    return group


def filled(nonzero: np.ndarray, order: list[int]) -> np.ndarray:
    """Pattern of L + U in the permuted order (no pivoting)."""
    f = nonzero[np.ix_(order, order)].copy()
    for k in range(f.shape[0]):
        for i in np.flatnonzero(f[k + 1:, k]) + k + 1:
            f[i, k + 1:] |= f[k, k + 1:]
    return f


def source() -> str:
    """The text of ``_lu_full.py`` for the current model."""
    nonzero = pattern()
    order = minimum_degree_order(nonzero)
    f = filled(nonzero, order)
    n = f.shape[0]
    entries = [(r, c) for r in range(n) for c in range(n) if f[r, c]]
    pos = {e: i for i, e in enumerate(entries)}

    def v(r, c):
        return f"a{r}_{c}"

    factor = []
    for r, c in entries:
        i, j = order[r], order[c]
        if not nonzero[i, j]:
            factor.append(f"    {v(r, c)} = 0.0")
        elif i == j:
            factor.append(f"    {v(r, c)} = 1.0 - c * jac[{i}, {j}]")
        else:
            factor.append(f"    {v(r, c)} = -c * jac[{i}, {j}]")
    for k in range(n):
        below = [i for i in range(k + 1, n) if f[i, k]]
        right = [j for j in range(k + 1, n) if f[k, j]]
        if below:
            biggest = ", ".join(f"abs({v(i, k)})" for i in below)
            factor.append(f"    if not abs({v(k, k)}) >= PIVOT_THRESHOLD * max({biggest}):")
        else:
            factor.append(f"    if not abs({v(k, k)}) > 0.0:")
        factor.append("        return False")
        factor.append(f"    d{k} = 1.0 / {v(k, k)}")
        for i in below:
            factor.append(f"    {v(i, k)} *= d{k}")
            for j in right:
                factor.append(f"    {v(i, j)} -= {v(i, k)} * {v(k, j)}")
    for r, c in entries:
        factor.append(f"    lu[{pos[r, c]}] = {f'd{r}' if r == c else v(r, c)}")
    factor.append("    return True")

    solve = [f"    x{r} = b[{order[r]}]" for r in range(n)]
    for r in range(n):
        solve += [f"    x{r} -= lu[{pos[r, c]}] * x{c}" for c in range(r) if f[r, c]]
    for r in reversed(range(n)):
        solve += [f"    x{r} -= lu[{pos[r, c]}] * x{c}" for c in range(r + 1, n) if f[r, c]]
        solve.append(f"    x{r} *= lu[{pos[r, r]}]")
    solve += [f"    b[{order[r]}] = x{r}" for r in range(n)]

    group = column_groups(nonzero)
    jacobian = []
    for g in range(max(group) + 1):
        columns = [j for j in range(n) if group[j] == g]
        jacobian += [f"    work[{j}] = y[{j}] + steps[{j}]" for j in columns]
        jacobian.append("    member_rhs(FULL, t, work, f1, k, infusion)")
        jacobian += [f"    jac[{i}, {j}] = (f1[{i}] - f0[{i}]) / steps[{j}]"
                     for j in columns for i in np.flatnonzero(nonzero[:, j])]
        jacobian += [f"    work[{j}] = y[{j}]" for j in columns]
    header = f'''"""Jacobian and sparse LU of the full model's {n} x {n} Newton matrix, written out.

Generated by ``python -m il21pk.lugen`` from the model's Jacobian pattern
({int(nonzero.sum())} non-zeros, {len(entries)} in L + U, {max(group) + 1} column groups): do not
edit.
"""

from numba import njit

from .model import FULL, member_rhs

N = {n}
NNZ = {len(entries)}
PIVOT_THRESHOLD = {PIVOT_THRESHOLD!r}


@njit(cache=True, error_model="numpy")
def difference_jacobian(t, y, f0, steps, work, f1, jac, k, infusion):
    """Forward differences into the structural non-zeros of `jac` (others are
    not written); columns with disjoint row patterns are perturbed together
    (Curtis, Powell & Reid 1974). `work` must equal `y` on entry, and does on exit."""
''' + "\n".join(jacobian) + '''


@njit(cache=True, error_model="numpy")
def factor(jac, c, lu):
    """LU of ``I - c * jac`` in a fixed order into `lu` (NNZ,); False if a
    pivot is below PIVOT_THRESHOLD of its column (or not finite)."""
'''
    middle = '''

@njit(cache=True, error_model="numpy", inline="always")
def solve(lu, b):
    """Solve with the factors of :func:`factor`, in place."""
'''
    return header + "\n".join(factor) + middle + "\n".join(solve) + "\n"


def main() -> None:
    """Write ``il21pk/_lu_full.py``."""
    TARGET.write_text(source())
    print(f"wrote {TARGET}", file=sys.stderr)


if __name__ == "__main__":
    main()
