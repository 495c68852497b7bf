"""Order definitions so that each comes after the ones it reads."""

from __future__ import annotations

from collections.abc import Mapping, Set

from .sbml_errors import SbmlError


def topological_order(reads: Mapping[str, Set[str]], *, what: str) -> list[str]:
    """Names of `reads` ordered so that every name follows the names it reads.

    Parameters
    ----------
    reads : mapping of str to set of str
        For each definition, the names its formula reads (names that are not
        keys, such as states and constants, are ignored).
    what : str
        What the definitions are, for the error message.

    Returns
    -------
    list of str
        A dependency order; ties keep the mapping's order.

    Raises
    ------
    SbmlError
        The definitions read each other in a cycle (the cycle is named).
    """
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(name: str, path: list[str]) -> None:
        mark = state.get(name)
        if mark == 2:
            return
        if mark == 1:
            cycle = path[path.index(name) :] + [name]
            raise SbmlError(f"{what} depend on each other in a cycle: {' -> '.join(cycle)}")
        state[name] = 1
        path.append(name)
        for dep in sorted(reads[name]):
            if dep in reads:
                visit(dep, path)
        path.pop()
        state[name] = 2
        order.append(name)

    for name in reads:
        visit(name, [])
    return order
