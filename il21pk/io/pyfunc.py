"""Compile sympy expressions into plain Python functions of ``(t, y, p)``.

Used by the reference simulator: each function unpacks the state list ``y``
and parameter list ``p`` into locals, computes the assignments its outputs
need (in order) and returns a list. Symbols are renamed to ``_x0``, ``_p0``,
``_a0``, ... so SBML ids that are Python keywords (``lambda``) or built-ins
cannot clash, and floats are printed with ``repr`` so no digit is lost.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import sympy
from sympy.printing.pycode import PythonCodePrinter


class _Printer(PythonCodePrinter):
    """Python printer that keeps every bit of a float and knows a few more booleans."""

    def _print_Float(self, expr: sympy.Float) -> str:
        return repr(float(expr))

    def _print_BooleanTrue(self, expr: sympy.Basic) -> str:
        return "True"

    def _print_BooleanFalse(self, expr: sympy.Basic) -> str:
        return "False"

    def _print_Xor(self, expr: sympy.Basic) -> str:
        return "(" + " ^ ".join(f"bool({self._print(a)})" for a in expr.args) + ")"

    def _print_Equivalent(self, expr: sympy.Basic) -> str:
        first = self._print(expr.args[0])
        return (
            "("
            + " and ".join(f"(bool({first}) == bool({self._print(a)}))" for a in expr.args[1:])
            + ")"
        )

    def _print_Implies(self, expr: sympy.Basic) -> str:
        a, b = expr.args
        return f"((not ({self._print(a)})) or ({self._print(b)}))"

    def _print_ITE(self, expr: sympy.Basic) -> str:
        c, a, b = expr.args
        return f"(({self._print(a)}) if ({self._print(c)}) else ({self._print(b)}))"


_PRINTER = _Printer({"fully_qualified_modules": True, "standard": "python3"})


def print_python(expr: sympy.Basic) -> str:
    """`expr` as a Python expression (``math`` functions, exact floats)."""
    return _PRINTER.doprint(expr)


class FunctionCompiler:
    """Turns expressions over named states, parameters and assignments into Python code.

    Parameters
    ----------
    time : sympy.Symbol
        The time symbol.
    states, parameters : sequence of str
        Names, in the order of the ``y`` and ``p`` lists the functions take.
    assignments : sequence of (str, sympy.Expr)
        Defined quantities in dependency order.
    """

    def __init__(
        self,
        time: sympy.Symbol,
        states: Sequence[str],
        parameters: Sequence[str],
        assignments: Sequence[tuple[str, sympy.Expr]],
    ) -> None:
        self._states = list(states)
        self._parameters = list(parameters)
        rename: dict[sympy.Symbol, sympy.Symbol] = {time: sympy.Symbol("_t")}
        rename.update({sympy.Symbol(n): sympy.Symbol(f"_x{i}") for i, n in enumerate(states)})
        rename.update({sympy.Symbol(n): sympy.Symbol(f"_p{i}") for i, n in enumerate(parameters)})
        rename.update(
            {sympy.Symbol(n): sympy.Symbol(f"_a{i}") for i, (n, _) in enumerate(assignments)}
        )
        self._rename = rename
        self._assignments = [(rename[sympy.Symbol(n)], e.xreplace(rename)) for n, e in assignments]
        self._reads = [{s for s in e.free_symbols} for _, e in self._assignments]

    def _needed(self, exprs: Sequence[sympy.Basic]) -> list[int]:
        """Indices of the assignments that `exprs` read, directly or indirectly."""
        wanted = set().union(*(e.free_symbols for e in exprs)) if exprs else set()
        keep = []
        for i in range(len(self._assignments) - 1, -1, -1):
            name, _ = self._assignments[i]
            if name in wanted:
                keep.append(i)
                wanted |= self._reads[i]
        return sorted(keep)

    def rename(self, expr: sympy.Basic) -> sympy.Basic:
        """`expr` with model names replaced by the generated local names."""
        return expr.xreplace(self._rename)

    def source(self, name: str, exprs: Sequence[sympy.Basic], *, boolean: bool = False) -> str:
        """Python source of ``def name(_t, _y, _p)`` returning the list of `exprs`."""
        renamed = [self.rename(sympy.sympify(e)) for e in exprs]
        lines = [f"def {name}(_t, _y, _p):"]
        used = set().union(*(e.free_symbols for e in renamed)) if renamed else set()
        needed = self._needed(renamed)
        for i in needed:
            used |= self._reads[i]
        if self._states:
            lines.append(
                "    "
                + ", ".join(f"_x{i}" for i in range(len(self._states)))
                + (", = _y" if len(self._states) == 1 else " = _y")
            )
        if self._parameters and any(str(s).startswith("_p") for s in used):
            lines.append(
                "    "
                + ", ".join(f"_p{i}" for i in range(len(self._parameters)))
                + (", = _p" if len(self._parameters) == 1 else " = _p")
            )
        for i in needed:
            target, expr = self._assignments[i]
            lines.append(f"    {target} = {_PRINTER.doprint(expr)}")
        body = ", ".join(
            (f"bool({_PRINTER.doprint(e)})" if boolean else _PRINTER.doprint(e)) for e in renamed
        )
        lines.append(f"    return [{body}]")
        return "\n".join(lines)

    def compile(
        self, name: str, exprs: Sequence[sympy.Basic], *, boolean: bool = False
    ) -> Callable[[float, Sequence[float], Sequence[float]], list]:
        """A Python function ``f(t, y, p) -> list`` computing `exprs`."""
        return compile_source(self.source(name, exprs, boolean=boolean), name)


def compile_source(source: str, name: str) -> Callable:
    """Execute generated source and return the function it defines."""
    namespace: dict[str, object] = {"math": math}
    exec(compile(source, f"<il21pk.io generated {name}>", "exec"), namespace)  # noqa: S102
    return namespace[name]  # type: ignore[return-value]
