"""SBML math (libsbml ``ASTNode``) to sympy, per SBML Level 2 and Level 3 core.

Names are resolved by a callback supplied by the importer, so this module
knows nothing about species or compartments: it turns MathML operators into
sympy ones, inlines function definitions (lambda substitution at the AST
level, so arguments are never captured), and rejects what it cannot
represent (``delay``, unknown csymbols, MathML outside SBML's subset).

``rateOf(x)`` becomes the placeholder ``RATE_OF(Symbol(x))``; the importer
replaces it by the rate of ``x`` once the rates are known.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy
from sympy.core.relational import Relational
from sympy.logic.boolalg import Boolean, BooleanAtom, BooleanFunction

from .sbml_errors import SbmlError

#: Placeholder for ``rateOf(x)`` until the rates are known.
RATE_OF = sympy.Function("rateOf")

#: Avogadro's number as the SBML Level 3 specification defines it.
AVOGADRO = 6.02214179e23


@dataclass(frozen=True)
class FunctionDef:
    """A function definition: argument names and its body (a libsbml ASTNode)."""

    name: str
    arguments: tuple[str, ...]
    body: Any


def is_boolean(expr: sympy.Basic) -> bool:
    """Whether `expr` is a truth value (a relational, logic or true/false; not a Symbol)."""
    return isinstance(expr, (Relational, BooleanFunction, BooleanAtom))


def as_number(expr: sympy.Basic) -> sympy.Expr:
    """A numeric expression: booleans become 1 (true) or 0 (false)."""
    if is_boolean(expr):
        if expr is sympy.true:
            return sympy.Integer(1)
        if expr is sympy.false:
            return sympy.Integer(0)
        return sympy.Piecewise((sympy.Integer(1), expr), (sympy.Integer(0), True))
    return expr


def as_boolean(expr: sympy.Basic) -> Boolean:
    """A boolean expression: numbers are true when non-zero."""
    if is_boolean(expr):
        return expr
    return sympy.Ne(expr, 0)


def _recip(x: sympy.Expr) -> sympy.Expr:
    return sympy.Integer(1) / x


def _factorial(x: sympy.Expr) -> sympy.Expr:
    if x.is_Integer and x >= 0:
        return sympy.factorial(x)
    return sympy.gamma(x + 1)


def _unary_table() -> dict[int, Callable[[sympy.Expr], sympy.Expr]]:
    import libsbml

    return {
        libsbml.AST_FUNCTION_ABS: sympy.Abs,
        libsbml.AST_FUNCTION_ARCCOS: sympy.acos,
        libsbml.AST_FUNCTION_ARCCOSH: sympy.acosh,
        libsbml.AST_FUNCTION_ARCCOT: lambda x: sympy.atan(_recip(x)),
        libsbml.AST_FUNCTION_ARCCOTH: lambda x: sympy.atanh(_recip(x)),
        libsbml.AST_FUNCTION_ARCCSC: lambda x: sympy.asin(_recip(x)),
        libsbml.AST_FUNCTION_ARCCSCH: lambda x: sympy.asinh(_recip(x)),
        libsbml.AST_FUNCTION_ARCSEC: lambda x: sympy.acos(_recip(x)),
        libsbml.AST_FUNCTION_ARCSECH: lambda x: sympy.acosh(_recip(x)),
        libsbml.AST_FUNCTION_ARCSIN: sympy.asin,
        libsbml.AST_FUNCTION_ARCSINH: sympy.asinh,
        libsbml.AST_FUNCTION_ARCTAN: sympy.atan,
        libsbml.AST_FUNCTION_ARCTANH: sympy.atanh,
        libsbml.AST_FUNCTION_CEILING: sympy.ceiling,
        libsbml.AST_FUNCTION_COS: sympy.cos,
        libsbml.AST_FUNCTION_COSH: sympy.cosh,
        libsbml.AST_FUNCTION_COT: lambda x: _recip(sympy.tan(x)),
        libsbml.AST_FUNCTION_COTH: lambda x: _recip(sympy.tanh(x)),
        libsbml.AST_FUNCTION_CSC: lambda x: _recip(sympy.sin(x)),
        libsbml.AST_FUNCTION_CSCH: lambda x: _recip(sympy.sinh(x)),
        libsbml.AST_FUNCTION_EXP: sympy.exp,
        libsbml.AST_FUNCTION_FACTORIAL: _factorial,
        libsbml.AST_FUNCTION_FLOOR: sympy.floor,
        libsbml.AST_FUNCTION_LN: sympy.log,
        libsbml.AST_FUNCTION_SEC: lambda x: _recip(sympy.cos(x)),
        libsbml.AST_FUNCTION_SECH: lambda x: _recip(sympy.cosh(x)),
        libsbml.AST_FUNCTION_SIN: sympy.sin,
        libsbml.AST_FUNCTION_SINH: sympy.sinh,
        libsbml.AST_FUNCTION_TAN: sympy.tan,
        libsbml.AST_FUNCTION_TANH: sympy.tanh,
    }


def _relational_table() -> dict[int, type]:
    import libsbml

    return {
        libsbml.AST_RELATIONAL_EQ: sympy.Eq,
        libsbml.AST_RELATIONAL_NEQ: sympy.Ne,
        libsbml.AST_RELATIONAL_GT: sympy.Gt,
        libsbml.AST_RELATIONAL_GEQ: sympy.Ge,
        libsbml.AST_RELATIONAL_LT: sympy.Lt,
        libsbml.AST_RELATIONAL_LEQ: sympy.Le,
    }


class MathConverter:
    """Converts libsbml ASTs of one model to sympy.

    Parameters
    ----------
    resolve : callable
        ``resolve(name, context)`` returns the sympy expression an SBML id
        stands for in math (e.g. ``S / C`` for a species in concentration) or
        raises :class:`SbmlError`.
    functions : mapping of str to FunctionDef
        The model's function definitions.
    time_symbol : sympy.Symbol
        The symbol for the ``time`` csymbol.
    """

    def __init__(
        self,
        resolve: Callable[[str, str], sympy.Expr],
        functions: Mapping[str, FunctionDef],
        time_symbol: sympy.Symbol,
    ) -> None:
        import libsbml

        self._lib = libsbml
        self._resolve = resolve
        self._functions = dict(functions)
        self._time = time_symbol
        self._unary = _unary_table()
        self._relational = _relational_table()

    def convert(
        self, ast: Any, context: str, local: Mapping[str, sympy.Expr] | None = None
    ) -> sympy.Basic:
        """Convert one math element.

        Parameters
        ----------
        ast : libsbml.ASTNode
            The math (``None`` raises).
        context : str
            What the math belongs to, for messages (``"kinetic law of reaction 'R1'"``).
        local : mapping, optional
            Names that shadow model ids (kinetic-law local parameters).
        """
        if ast is None:
            raise SbmlError(f"{context} has no math")
        return self._convert(ast, context, dict(local or {}), bound=None, depth=0)

    # -- the recursive walk ------------------------------------------------------

    def _name(
        self, name: str, context: str, local: dict[str, sympy.Expr], bound: dict | None
    ) -> sympy.Basic:
        if bound is not None:
            if name in bound:
                return bound[name]
            raise SbmlError(
                f"{context}: a function definition refers to {name!r}, which is not one of "
                "its arguments; SBML function bodies may use only their arguments"
            )
        if name in local:
            return local[name]
        return self._resolve(name, context)

    def _convert(
        self,
        ast: Any,
        context: str,
        local: dict[str, sympy.Expr],
        bound: dict[str, sympy.Basic] | None,
        depth: int,
    ) -> sympy.Basic:
        lib = self._lib
        if depth > 200:
            raise SbmlError(f"{context}: math nested too deeply (recursive function definitions?)")
        kind = ast.getType()

        def child(i: int) -> sympy.Basic:
            return self._convert(ast.getChild(i), context, local, bound, depth + 1)

        def children() -> list[sympy.Basic]:
            return [child(i) for i in range(ast.getNumChildren())]

        def nums() -> list[sympy.Expr]:
            return [as_number(c) for c in children()]

        # numbers and constants
        if kind == lib.AST_INTEGER:
            return sympy.Integer(ast.getInteger())
        if kind == lib.AST_RATIONAL:
            return sympy.Rational(ast.getNumerator(), ast.getDenominator())
        if kind in (lib.AST_REAL, lib.AST_REAL_E):
            return _float(ast.getReal())
        if kind == lib.AST_CONSTANT_E:
            return sympy.E
        if kind == lib.AST_CONSTANT_PI:
            return sympy.pi
        if kind == lib.AST_CONSTANT_TRUE:
            return sympy.true
        if kind == lib.AST_CONSTANT_FALSE:
            return sympy.false
        if kind == lib.AST_NAME_TIME:
            return self._time
        if kind == lib.AST_NAME_AVOGADRO:
            return sympy.Float(AVOGADRO)
        if kind == lib.AST_NAME:
            return self._name(ast.getName(), context, local, bound)

        # arithmetic
        if kind == lib.AST_PLUS:
            return sympy.Add(*nums())
        if kind == lib.AST_TIMES:
            return sympy.Mul(*nums())
        if kind == lib.AST_MINUS:
            args = nums()
            if len(args) == 1:
                return -args[0]
            if len(args) == 2:
                return args[0] - args[1]
            raise SbmlError(f"{context}: minus takes 1 or 2 arguments; got {len(args)}")
        if kind == lib.AST_DIVIDE:
            a, b = self._exactly(nums(), 2, "divide", context)
            return a / b
        if kind in (lib.AST_POWER, lib.AST_FUNCTION_POWER):
            a, b = self._exactly(nums(), 2, "power", context)
            return a**b
        if kind == lib.AST_FUNCTION_ROOT:
            args = nums()
            if len(args) == 1:
                return sympy.sqrt(args[0])
            degree, x = self._exactly(args, 2, "root", context)
            return x ** (sympy.Integer(1) / degree)
        if kind == lib.AST_FUNCTION_LOG:
            args = nums()
            if len(args) == 1:
                return sympy.log(args[0], 10)
            base, x = self._exactly(args, 2, "log", context)
            return sympy.log(x) / sympy.log(base)
        if kind in self._unary:
            (x,) = self._exactly(nums(), 1, ast.getName() or "function", context)
            return self._unary[kind](x)
        if kind == lib.AST_FUNCTION_MAX:
            return sympy.Max(*nums())
        if kind == lib.AST_FUNCTION_MIN:
            return sympy.Min(*nums())
        if kind == lib.AST_FUNCTION_QUOTIENT:
            a, b = self._exactly(nums(), 2, "quotient", context)
            return _trunc(a / b)
        if kind == lib.AST_FUNCTION_REM:
            a, b = self._exactly(nums(), 2, "rem", context)
            return a - b * _trunc(a / b)

        # logic
        if kind == lib.AST_LOGICAL_AND:
            return sympy.And(*[as_boolean(c) for c in children()])
        if kind == lib.AST_LOGICAL_OR:
            return sympy.Or(*[as_boolean(c) for c in children()])
        if kind == lib.AST_LOGICAL_XOR:
            return sympy.Xor(*[as_boolean(c) for c in children()])
        if kind == lib.AST_LOGICAL_NOT:
            (x,) = self._exactly(children(), 1, "not", context)
            return sympy.Not(as_boolean(x))
        if kind == lib.AST_LOGICAL_IMPLIES:
            a, b = self._exactly(children(), 2, "implies", context)
            return sympy.Implies(as_boolean(a), as_boolean(b))
        if kind in self._relational:
            return self._relational_chain(kind, children(), context)
        if kind == lib.AST_FUNCTION_PIECEWISE:
            return _piecewise(children(), context)

        # calls
        if kind == lib.AST_FUNCTION:
            return self._call(ast, context, local, bound, depth)
        if kind == lib.AST_FUNCTION_DELAY:
            raise SbmlError(
                f"{context} uses delay(); delay differential equations are not supported"
            )
        if kind == lib.AST_FUNCTION_RATE_OF:
            if ast.getNumChildren() != 1 or ast.getChild(0).getType() != lib.AST_NAME:
                raise SbmlError(f"{context}: rateOf() must be applied to one model id")
            name = ast.getChild(0).getName()
            if name in local:
                return sympy.Integer(0)  # local parameters are constant
            if bound is not None:
                raise SbmlError(
                    f"{context}: rateOf() inside a function definition is not supported"
                )
            return RATE_OF(sympy.Symbol(name))
        if kind == lib.AST_LAMBDA:
            raise SbmlError(f"{context}: a lambda may appear only in a function definition")
        label = ast.getName() or lib.formulaToL3String(ast)
        raise SbmlError(
            f"{context} uses the MathML construct {label!r}, which SBML core does not allow"
        )

    @staticmethod
    def _exactly(args: Sequence, n: int, what: str, context: str) -> Sequence:
        if len(args) != n:
            raise SbmlError(f"{context}: {what} takes {n} argument(s); got {len(args)}")
        return args

    def _relational_chain(self, kind: int, args: list[sympy.Basic], context: str) -> Boolean:
        lib = self._lib
        if len(args) < 2:
            raise SbmlError(f"{context}: a relational operator needs at least 2 arguments")
        if kind == lib.AST_RELATIONAL_NEQ and len(args) != 2:
            raise SbmlError(f"{context}: neq takes exactly 2 arguments; got {len(args)}")
        op = self._relational[kind]
        parts = []
        for a, b in zip(args[:-1], args[1:], strict=True):
            if kind in (lib.AST_RELATIONAL_EQ, lib.AST_RELATIONAL_NEQ) and (
                is_boolean(a) and is_boolean(b)
            ):
                same = sympy.Equivalent(a, b)
                parts.append(same if kind == lib.AST_RELATIONAL_EQ else sympy.Not(same))
            else:
                parts.append(op(as_number(a), as_number(b)))
        return sympy.And(*parts)

    def _call(
        self,
        ast: Any,
        context: str,
        local: dict[str, sympy.Expr],
        bound: dict[str, sympy.Basic] | None,
        depth: int,
    ) -> sympy.Basic:
        name = ast.getName()
        fd = self._functions.get(name)
        if fd is None:
            raise SbmlError(f"{context} calls {name!r}, which is not a function definition")
        args = [
            self._convert(ast.getChild(i), context, local, bound, depth + 1)
            for i in range(ast.getNumChildren())
        ]
        if len(args) != len(fd.arguments):
            raise SbmlError(
                f"{context} calls function {name!r} with {len(args)} argument(s); "
                f"it takes {len(fd.arguments)}"
            )
        inner = dict(zip(fd.arguments, args, strict=True))
        return self._convert(fd.body, f"function definition {name!r}", {}, inner, depth + 1)


def _float(value: float) -> sympy.Expr:
    if math.isnan(value):
        return sympy.nan
    if math.isinf(value):
        return sympy.oo if value > 0 else -sympy.oo
    return sympy.Float(value)


def _trunc(x: sympy.Expr) -> sympy.Expr:
    """Round toward zero."""
    return sympy.sign(x) * sympy.floor(sympy.Abs(x))


def _piecewise(args: list[sympy.Basic], context: str) -> sympy.Basic:
    """SBML piecewise(value1, cond1, value2, cond2, ..., [otherwise])."""
    pairs = [(args[i], as_boolean(args[i + 1])) for i in range(0, len(args) - 1, 2)]
    otherwise = args[-1] if len(args) % 2 == 1 else None
    values = [v for v, _ in pairs] + ([otherwise] if otherwise is not None else [])
    if not values:
        raise SbmlError(f"{context}: piecewise has no pieces")
    if all(is_boolean(v) for v in values):
        result: Boolean = otherwise if otherwise is not None else sympy.false
        for value, cond in reversed(pairs):
            result = sympy.Or(sympy.And(cond, value), sympy.And(sympy.Not(cond), result))
        return result
    pieces = [(as_number(v), c) for v, c in pairs]
    pieces.append((as_number(otherwise) if otherwise is not None else sympy.nan, sympy.true))
    return sympy.Piecewise(*pieces)


def read_function_definitions(model: Any) -> dict[str, FunctionDef]:
    """The function definitions of a libsbml Model, by id."""
    out: dict[str, FunctionDef] = {}
    for fd in model.getListOfFunctionDefinitions():
        if fd.getMath() is None or fd.getBody() is None:
            continue  # without a body it cannot be called; a call is reported as unknown
        args = tuple(fd.getArgument(i).getName() for i in range(fd.getNumArguments()))
        out[fd.getId()] = FunctionDef(fd.getId(), args, fd.getBody())
    return out
