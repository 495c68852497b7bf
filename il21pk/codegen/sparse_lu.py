"""Straight-line sparse LU code for a fixed Jacobian pattern.

The Newton iteration matrix ``I - c J`` of a model is small and sparse. A
general pivoted LU spends most of a simulation in short, branchy loops over
that sparsity; code written out for the fixed pattern (a fill-reducing
order, every update and substitution as one line) keeps the vector in
registers and runs several times faster. The generated ``factor`` refuses a
pivot below :data:`PIVOT_THRESHOLD` of its column (threshold pivoting), and
the engine then falls back to a pivoted dense LU.

The test is made on the equilibrated matrix (each column scaled by its largest
entry, then each row by its largest scaled entry), so that it does not depend
on the units of the states: a model whose states span many orders of
magnitude (nmol of drug beside receptors per cell) has Newton matrices whose
raw entries differ by 1e6 between rows of one column, and a raw column test
refuses pivots that are stable (model v2's factors solve to 1e-11 or better
in the solver's weighted norm), handing the step to the dense LU. The scales
change neither the factors nor the solution, only which pivots are judged
small: threshold pivoting after equilibration, as static-pivoting sparse
solvers do (Li & Demmel 2003, "SuperLU_DIST", ACM TOMS 29:110-140).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Threshold pivoting: a fixed pivot must be at least this fraction of the
#: largest entry it eliminates in its column (rows and columns equilibrated),
#: else the engine pivots.
PIVOT_THRESHOLD = 1e-3


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
    group: list[int] = []
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


def _largest(terms: list[str]) -> str:
    """Code of the largest of `terms`, an operand of ``*`` or ``/`` (one term:
    itself, in parentheses if it is a product)."""
    if len(terms) > 1:
        return f"max({', '.join(terms)})"
    return f"({terms[0]})" if " " in terms[0] else terms[0]


def _equilibration(nonzero: np.ndarray, v: Callable[[int, int], str]) -> list[str]:
    """Lines computing the row scales ``s{r}`` of the permuted matrix (entries
    named by ``v(r, c)``, structural non-zeros `nonzero`): ``q{c}`` is 1 over
    the largest entry of column c, ``s{r}`` 1 over the largest of row r's
    entries times their column's ``q``."""
    n = nonzero.shape[0]
    lines = [f"    q{c} = 1.0 / "
             + _largest([f"abs({v(r, c)})" for r in range(n) if nonzero[r, c]])
             for c in range(n)]
    lines += [f"    s{r} = 1.0 / "
              + _largest([f"abs({v(r, c)}) * q{c}" for c in range(n) if nonzero[r, c]])
              for r in range(n)]
    return lines


def lu_source(nonzero: np.ndarray) -> tuple[str, int]:
    """Source of ``factor(jac, c, lu)`` and ``solve(lu, b)`` for the pattern
    `nonzero` (the Jacobian's structural non-zeros; the diagonal is added),
    and the number of entries of L + U."""
    nonzero = nonzero | np.eye(nonzero.shape[0], dtype=bool)
    order = minimum_degree_order(nonzero)
    f = filled(nonzero, order)
    n = f.shape[0]
    entries = [(r, c) for r in range(n) for c in range(n) if f[r, c]]
    pos = {e: i for i, e in enumerate(entries)}

    def v(r: int, c: int) -> str:
        return f"a{r}_{c}"

    factor = ["    ok = True"]
    for r, c in entries:
        i, j = order[r], order[c]
        if not nonzero[i, j]:
            factor.append(f"    {v(r, c)} = 0.0")
        elif i == j:
            factor.append(f"    {v(r, c)} = 1.0 - c * jac[{i}, {j}]")
        else:
            factor.append(f"    {v(r, c)} = -c * jac[{i}, {j}]")
    factor += _equilibration(nonzero[np.ix_(order, order)], v)
    for k in range(n):
        below = [i for i in range(k + 1, n) if f[i, k]]
        right = [j for j in range(k + 1, n) if f[k, j]]
        if below:
            biggest = _largest([f"abs({v(i, k)}) * s{i}" for i in below])
            factor.append(f"    ok &= abs({v(k, k)}) * s{k} >= PIVOT_THRESHOLD * {biggest}")
        else:
            factor.append(f"    ok &= abs({v(k, k)}) > 0.0")
        factor.append(f"    d{k} = 1.0 / {v(k, k)}")
        for i in below:
            factor.append(f"    {v(i, k)} *= d{k}")
            for j in right:
                factor.append(f"    {v(i, j)} -= {v(i, k)} * {v(k, j)}")
    # the checks are branch-free (one test at the end): a branch per pivot
    # splits the function into many blocks, which costs compile time, not speed
    factor.append("    if not ok:")
    factor.append("        return False")
    for r, c in entries:
        factor.append(f"    lu[{pos[r, c]}] = {f'd{r}' if r == c else v(r, c)}")
    factor.append("    return True")

    solve = [f"    x{r} = b[{order[r]}]" for r in range(n)]
    for r in range(n):
        solve += [f"    x{r} -= lu[{pos[r, c]}] * x{c}" for c in range(r) if f[r, c]]
    # each row subtracts its terms in the order their unknowns were solved, so
    # only the last subtraction waits for the unknown solved just before it
    for r in reversed(range(n)):
        solve += [f"    x{r} -= lu[{pos[r, c]}] * x{c}"
                  for c in reversed(range(r + 1, n)) if f[r, c]]
        solve.append(f"    x{r} *= lu[{pos[r, r]}]")
    solve += [f"    b[{order[r]}] = x{r}" for r in range(n)]

    text = '''

@njit(cache=True, error_model="numpy")
def sparse_factor(jac, c, lu):
    """LU of ``I - c * jac`` in a fixed order into `lu` (NNZ,); False if a
    pivot is below PIVOT_THRESHOLD of its column, rows and columns
    equilibrated (or not finite)."""
''' + "\n".join(factor) + '''


@njit(cache=True, error_model="numpy", inline="always")
def sparse_solve(lu, b):
    """Solve with the factors of :func:`sparse_factor`, in place."""
''' + "\n".join(solve) + "\n"
    return text, len(entries)
