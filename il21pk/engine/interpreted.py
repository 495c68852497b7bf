"""The engine run by the Python interpreter: nothing to compile.

:func:`interpret` builds the engine of :func:`il21pk.engine.bdf.specialise`
from the same Python source, the engine's functions and the model's
generated ones, without numba, for a model's first runs while numba compiles
(:mod:`il21pk.engine.startup`). The numbers must be the compiled engine's,
bit for bit, and Python computes every operation as numba does but one:
``a ** b``. numba raises to an integer power by repeated squaring (``x**2``
is ``x*x``, ``x**3`` is ``x*(x*x)``) and to a float power with the C
library's ``pow``, except the literal exponents LLVM rewrites (``x**0.5`` is
``sqrt(x)``, ``x**-1.0`` is ``1/x``, ``x**2.0`` is ``x*x``), while numpy's
scalar power and ``pow`` itself can differ from those in the last bit. So
each ``**`` of that source is rewritten as a call of :func:`numba_power`,
which computes it numba's way.
"""

from __future__ import annotations

import ast
import inspect
import math
import types

import numpy as np

from . import bdf

#: Float exponents that LLVM replaces by cheaper exact operations when they are
#: literals in the source (its pow simplifications without fast-math).
_LITERAL = {0.0: lambda a: 1.0, 1.0: lambda a: a, 2.0: lambda a: a * a,
            -1.0: lambda a: np.float64(1.0) / a,
            0.5: lambda a: np.inf if a == -np.inf else abs(np.sqrt(np.float64(a)))}


def numba_power(a, b, literal: bool = False):
    """``a ** b`` as numba computes it (see the module docstring); `literal`:
    `b` is a literal of the source.

    Raises where numba would give inf or nan (``0.0 ** -1.5``, a negative base
    to a fractional power): Python's errors, which the caller treats as "run
    the compiled engine instead".
    """
    if literal and isinstance(b, float) and b in _LITERAL:
        return _LITERAL[b](a)
    if isinstance(b, (int, np.integer)) and not isinstance(b, bool):
        if isinstance(a, (int, np.integer)):
            return a ** b
        result, base, exponent = 1.0, float(a), abs(int(b))
        while exponent:
            if exponent & 1:
                result *= base
            exponent >>= 1
            base *= base
        return 1.0 / result if b < 0 else result
    return math.pow(a, b)


class _NumbaPower(ast.NodeTransformer):
    """``a ** b`` -> ``numba_power(a, b)``."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.op, ast.Pow):
            return node
        right = node.right
        if isinstance(right, ast.UnaryOp) and isinstance(right.op, ast.USub) \
                and isinstance(right.operand, ast.Constant):
            right = ast.copy_location(ast.Constant(-right.operand.value), right)
        literal = isinstance(right, ast.Constant)
        call = ast.Call(func=ast.Name("numba_power", ast.Load()), args=[node.left, right],
                        keywords=[ast.keyword("literal", ast.Constant(literal))])
        return ast.copy_location(call, node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        if isinstance(node.op, ast.Pow):
            raise NotImplementedError("`**=` in engine or model code")
        return self.generic_visit(node)


def _python(function: types.FunctionType, namespace: dict) -> types.FunctionType:
    """`function` compiled from its source with `namespace` as its globals,
    without decorators and with numba's power."""
    tree = bdf.source_tree(function)
    tree.body[0].decorator_list = []
    tree = ast.fix_missing_locations(_NumbaPower().visit(tree))
    scope: dict = {}
    exec(compile(tree, inspect.getsourcefile(function), "exec"), namespace, scope)  # noqa: S102
    return scope[function.__name__]


def _interpreted(namespace: dict) -> dict:
    """A copy of `namespace` in which every numba function is its Python
    source (:func:`_python`), bound to the copy, so what it calls is Python too."""
    out = dict(namespace, numba_power=numba_power)
    for name, value in namespace.items():
        python = getattr(value, "py_func", None)
        if python is not None and getattr(python, "__globals__", None) is not None:
            out[name] = _python(python, out)
    return out


def interpret(module: types.ModuleType) -> types.SimpleNamespace:
    """The engine of :func:`il21pk.engine.bdf.specialise` for `module`, in Python
    (for a module of the generic engine, that engine as bound to it).

    Every function of :data:`il21pk.engine.bdf.SPECIALISED` and everything it
    calls, the engine's helpers and the model's generated functions, from
    their source. About a second per member of the default model instead of
    milliseconds. Arguments must be numpy arrays and numpy scalars (a Python
    float divided by zero raises where numba gives inf).
    """
    model = _interpreted(vars(module))
    namespace = _interpreted(vars(bdf))
    if getattr(module, "ENGINE", None) == "generic":  # as bdf.bind_generic compiles it
        for name, value in bdf.generic_model(module).items():
            namespace[name] = model[name] if value is getattr(module, name, None) else value
        for name, substitute in bdf.GENERIC_SUBSTITUTES.items():
            namespace[name] = namespace[substitute]
    else:
        for name in bdf.MODEL_NAMES:
            namespace[name] = model.get(name, bdf.NO_EVENTS.get(name))
        namespace["ANALYTIC_JACOBIAN"] = getattr(module, "ANALYTIC_JACOBIAN", 1)
        namespace["newton_rhs"] = model.get("rhs_inline", model["rhs"])
    out = {}
    for function in bdf.SPECIALISED:
        namespace[function.__name__] = out[function.__name__] = _python(function, namespace)
    return types.SimpleNamespace(**out)
