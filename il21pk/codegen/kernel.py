"""Model definition -> the source of its compiled module.

One generated module per model holds everything the engine and the results
need, and nothing typed by hand:

- ``kernel_values(p)``: numpy, parameters (N, n_parameters) -> the kernel
  vector per member (parameters, then the constants derived from them, then
  every subexpression of the rates and the Jacobian that reads kernel values
  alone, so the right-hand side computes none of them per call);
- ``initial_states(k)``: numpy, baselines (N, n_states);
- ``outputs(y, k)``: numpy, every reported variable from integrated states;
- ``rhs(t, y, dy, k, u)``: numba, dy/dt of one member (``u``: infusion rates);
  ``rhs_inline``, the same inlined into its caller (the engine's Newton loop);
- ``jacobian(t, y, k, u, jac)``: numba, the analytic Jacobian's structural
  non-zeros (sympy derivatives, common subexpressions eliminated);
- ``factor`` / ``solve``: numba, the written-out sparse LU of ``I - c J``
  (:mod:`il21pk.codegen.sparse_lu`);
- ``stacked_rhs(t, y, k, u)``: numba, N members stacked, for scipy's solvers.

A power with an exponent known only at run time (a Hill coefficient) is
printed as a call of :func:`il21pk.codegen.runtime.power`, imported by the
modules that need it.

Names in the generated code are prefixed by kind (``s_`` state, ``k_``
kernel value, ``u_`` input, ``_x`` common subexpression), so no user name can
clash with another or with the code's own.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.core.relational import Relational
from sympy.logic.boolalg import BooleanFunction
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.pycode import PythonCodePrinter

from ..model.compose import ModelDefinition
from ..model.definition import TIME
from .sparse_lu import PIVOT_THRESHOLD, column_groups, lu_source

#: Bumped whenever the generated text changes for the same definition.
CODEGEN_VERSION = 12


def _integer(expr: sp.Integer) -> str:
    """An integer literal; past int64, a float (numba refuses a larger literal,
    and sympy folds 10**20 into one)."""
    value = int(expr)
    return repr(float(value)) if abs(value) >= 2**63 else str(value)


class _ScalarPrinter(PythonCodePrinter):
    """Python scalar code for numba: floats that round-trip, ``max``/``min`` builtins."""

    def _print_Float(self, expr: sp.Float) -> str:
        return repr(float(expr))

    def _print_Integer(self, expr: sp.Integer) -> str:
        return _integer(expr)

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        # an exponent known only at run time (a Hill coefficient, a parameter)
        if not expr.exp.is_number:
            return f"_power({self._print(expr.base)}, {self._print(expr.exp)})"
        return super()._print_Pow(expr, rational=rational)

    # floor and ceiling are reals (SBML): math.floor's integer is int64 in numba,
    # which wraps past 2**63 and turns 2**floor(t) into an integer power
    def _print_floor(self, expr: sp.Basic) -> str:
        return f"numpy.floor({self._print(expr.args[0])})"

    def _print_ceiling(self, expr: sp.Basic) -> str:
        return f"numpy.ceil({self._print(expr.args[0])})"

    def _print_Max(self, expr: sp.Max) -> str:
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Min(self, expr: sp.Min) -> str:
        return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        # no branch for every value: NaN where none holds, as sympy evaluates it (and
        # numpy's select); sympy prints None there, which the compiled code cannot
        # return. Added when printing: a nan inside the maths breaks the Jacobian's
        # rewrites, which compare the branches (Max, Min, Abs)
        if expr.args[-1].cond is not sp.true:
            expr = sp.Piecewise(*expr.args, (sp.nan, True))
        return super()._print_Piecewise(expr)

    # booleans of imported (SBML) models
    def _print_BooleanTrue(self, expr: sp.Basic) -> str:
        return "True"

    def _print_BooleanFalse(self, expr: sp.Basic) -> str:
        return "False"

    def _print_Xor(self, expr: sp.Basic) -> str:
        return "(" + " ^ ".join(f"bool({self._print(a)})" for a in expr.args) + ")"

    def _print_Equivalent(self, expr: sp.Basic) -> str:
        first = self._print(expr.args[0])
        return "(" + " and ".join(f"(bool({first}) == bool({self._print(a)}))"
                                  for a in expr.args[1:]) + ")"

    def _print_Implies(self, expr: sp.Basic) -> str:
        a, b = expr.args
        return f"((not ({self._print(a)})) or ({self._print(b)}))"


class _ArrayPrinter(NumPyPrinter):
    """numpy code that broadcasts: element-wise max/min, ``select`` for Piecewise."""

    def _print_Float(self, expr: sp.Float) -> str:
        return repr(float(expr))

    def _print_Integer(self, expr: sp.Integer) -> str:
        return _integer(expr)

    def _print_Max(self, expr: sp.Max) -> str:
        out = self._print(expr.args[0])
        for a in expr.args[1:]:
            out = f"numpy.maximum({out}, {self._print(a)})"
        return out

    def _print_Min(self, expr: sp.Min) -> str:
        out = self._print(expr.args[0])
        for a in expr.args[1:]:
            out = f"numpy.minimum({out}, {self._print(a)})"
        return out

    # functions and booleans of imported (SBML) models
    def _print_gamma(self, expr: sp.Basic) -> str:
        return self._elementwise("math.gamma", expr)

    # numpy has no erf or log-gamma; sympy's NumPyPrinter prints math's, which take
    # no arrays (the scalar code calls the same math functions)
    def _print_erf(self, expr: sp.Basic) -> str:
        return self._elementwise("math.erf", expr)

    def _print_erfc(self, expr: sp.Basic) -> str:
        return self._elementwise("math.erfc", expr)

    def _print_loggamma(self, expr: sp.Basic) -> str:
        return self._elementwise("math.lgamma", expr)

    def _elementwise(self, function: str, expr: sp.Basic) -> str:
        return f"numpy.vectorize({function}, otypes=[float])({self._print(expr.args[0])})"

    def _print_Xor(self, expr: sp.Basic) -> str:
        out = self._print(expr.args[0])
        for a in expr.args[1:]:
            out = f"numpy.logical_xor({out}, {self._print(a)})"
        return out

    def _print_Equivalent(self, expr: sp.Basic) -> str:
        first = self._print(expr.args[0])
        out = "True"
        for a in expr.args[1:]:
            out = f"numpy.logical_and({out}, numpy.equal(numpy.asarray({first}, dtype=bool), " \
                  f"numpy.asarray({self._print(a)}, dtype=bool)))"
        return out

    def _print_Implies(self, expr: sp.Basic) -> str:
        a, b = expr.args
        return f"numpy.logical_or(numpy.logical_not({self._print(a)}), {self._print(b)})"

    def _print_ITE(self, expr: sp.Basic) -> str:
        c, a, b = expr.args
        return f"numpy.where({self._print(c)}, {self._print(a)}, {self._print(b)})"


def _heaviside_as_piecewise(expr: sp.Expr) -> sp.Expr:
    """Replace Heaviside (from derivatives of Max/Min) by a printable Piecewise."""
    return expr.replace(sp.Heaviside,
                        lambda x, *_: sp.Piecewise((1.0, x > 0), (0.0, True)))


class _Names:
    """Symbol -> code name for one model (states ``s_``, kernel ``k_``, inputs ``u_``)."""

    def __init__(self, d: ModelDefinition) -> None:
        self.states = [sp.Symbol(n) for n in d.state_names]
        self.kernel = [sp.Symbol(p.name) for p in d.all_parameters] + [sp.Symbol(n) for n, _ in
                                                                       d.constants]
        self.inputs = [sp.Symbol(n) for n in d.inputs]
        self.code = {s: sp.Symbol(f"s_{s.name}") for s in self.states}
        self.code.update({s: sp.Symbol(f"k_{s.name}") for s in self.kernel})
        self.code.update({s: sp.Symbol(f"u_{s.name}") for s in self.inputs})
        self.code[TIME] = sp.Symbol("t")

    def add_kernel(self, names: list[str]) -> None:
        """Append kernel values named `names` (after the parameters and constants)."""
        symbols = [sp.Symbol(n) for n in names]
        self.kernel += symbols
        self.code.update({s: sp.Symbol(f"k_{s.name}") for s in symbols})


def _expanded(d: ModelDefinition) -> tuple[list[sp.Expr], dict[sp.Symbol, sp.Expr]]:
    """Rates with every algebraic quantity substituted, and the substitution."""
    algebraic: dict[sp.Symbol, sp.Expr] = {}
    for name, expr in d.algebraic:  # topological order: earlier ones are already expanded
        algebraic[sp.Symbol(name)] = expr.xreplace(algebraic)
    return [r.xreplace(algebraic) for r in d.rates], algebraic


#: Functions whose derivative is zero wherever it exists (steps).
_STEPS = (sp.floor, sp.ceiling, sp.sign)


def _derivative(rate: sp.Expr, s: sp.Symbol) -> sp.Expr:
    """d rate / d s, printable: Abs as a Piecewise, steps (floor, ceiling, sign)
    with derivative 0, and NaN for what has no printable derivative (the engine
    then takes grouped differences)."""
    if rate.has(sp.Abs):
        rate = rate.replace(sp.Abs, lambda a: sp.Piecewise((a, a >= 0), (-a, True)))
    derivative = sp.diff(rate, s)
    if derivative.has(sp.Derivative, sp.Subs):
        derivative = derivative.replace(
            lambda e: isinstance(e, (sp.Derivative, sp.Subs)) and e.has(*_STEPS),
            lambda e: sp.Integer(0))
    if derivative.has(sp.Derivative, sp.Subs, sp.polygamma, sp.re, sp.im):
        return sp.nan
    return derivative


def jacobian_entries(d: ModelDefinition) -> list[tuple[int, int, sp.Expr]]:
    """(row, column, derivative) of every structurally non-zero Jacobian entry."""
    rates, _ = _expanded(d)
    states = [sp.Symbol(n) for n in d.state_names]
    index = {s: j for j, s in enumerate(states)}
    out = []
    for i, rate in enumerate(rates):
        for s in sorted(rate.free_symbols & set(states), key=lambda s: index[s]):
            derivative = _heaviside_as_piecewise(sp.powsimp(_derivative(rate, s)))
            if derivative != 0:
                out.append((i, index[s], derivative))
    return out


def _hoisted(exprs: list[sp.Expr], kernel: list[sp.Symbol]
             ) -> tuple[list[sp.Expr], list[tuple[str, sp.Expr]]]:
    """`exprs` with every subexpression of kernel values alone taken out as a new
    kernel value (computed once per member), and the new values (name, expr).

    A subexpression is taken out whole (``k_p50**k_hill``, ``1/k_v``) and so are
    the kernel factors or terms of a product or sum that also reads states
    (``k_q*s/k_v`` reads one value, ``k_q/k_v``): the right-hand side and the
    Jacobian then divide, raise to powers and multiply constants no more. A
    number times one kernel value (``-k_a``) stays, it costs nothing. The names
    start with underscores that no kernel name starts with.
    """
    known = set(kernel)
    prefix = "_hoisted"
    while any(s.name.startswith(prefix) for s in kernel):
        prefix = "_" + prefix
    table: dict[sp.Expr, sp.Symbol] = {}

    def constant(e: sp.Basic) -> bool:
        return isinstance(e, sp.Expr) and bool(e.free_symbols) and e.free_symbols <= known

    def trivial(e: sp.Expr) -> bool:
        return e.is_Atom or (e.is_Mul and len(e.args) == 2 and e.args[0].is_Number
                             and e.args[1].is_Atom)

    def value(e: sp.Expr) -> sp.Expr:
        if trivial(e):
            return e
        if e not in table:
            table[e] = sp.Symbol(f"{prefix}{len(table)}")
        return table[e]

    def hoist(e: sp.Basic) -> sp.Basic:
        if e.is_Atom:
            return e
        if constant(e):
            return value(e)
        if isinstance(e, (sp.Add, sp.Mul)):
            fixed = [a for a in e.args if constant(a)]
            rest = [hoist(a) for a in e.args if not constant(a)]
            if fixed:
                rest.append(value(e.func(*fixed)))
            return e.func(*rest)
        return e.func(*(hoist(a) for a in e.args))

    out = [hoist(e) for e in exprs]
    return out, [(symbol.name, expr) for expr, symbol in table.items()]


def _assignments(exprs: list[sp.Expr], targets: list[str], names: _Names,
                 printer: PythonCodePrinter, indent: str = "    ") -> list[str]:
    """Lines computing `exprs` into `targets`, with common subexpressions shared."""
    code = [e.xreplace(names.code) for e in exprs]
    temps, reduced = sp.cse(code, symbols=sp.numbered_symbols("_x"), order="none")
    lines = [f"{indent}{t} = {printer.doprint(e)}" for t, e in temps]
    lines += [f"{indent}{target} = {printer.doprint(e)}"
              for target, e in zip(targets, reduced, strict=True)]
    return lines


def _straight_line(exprs: list[sp.Expr], targets: list[str], names: _Names,
                   printer: PythonCodePrinter, indent: str = "    ") -> list[str]:
    """Lines computing `exprs` into `targets`, read late and written early.

    Common subexpressions are shared (sympy ``cse``); each output is stored as
    soon as the temporaries it needs exist, each temporary is computed just
    before its first use, and each state, kernel value or input is loaded just
    before its first use. Fewer values are live at once than when every load
    comes first and every store last, so fewer spill to the stack (the
    right-hand side runs ~20 % fewer instructions this way).
    """
    code = [e.xreplace(names.code) for e in exprs]
    temps, reduced = sp.cse(code, symbols=sp.numbered_symbols("_x"), order="none")
    loads = {names.code[s]: f"y[{i}]" for i, s in enumerate(names.states)}
    loads.update({names.code[s]: f"k[{i}]" for i, s in enumerate(names.kernel)})
    loads.update({names.code[s]: f"u[{i}]" for i, s in enumerate(names.inputs)})
    temp_expr = dict(temps)
    position = {t: i for i, (t, _) in enumerate(temps)}
    lines: list[str] = []
    done: set[sp.Symbol] = set()

    def load(expr: sp.Expr) -> None:
        for symbol in sorted(expr.free_symbols & loads.keys() - done, key=lambda x: x.name):
            lines.append(f"{indent}{symbol} = {loads[symbol]}")
            done.add(symbol)

    for target, expr in zip(targets, reduced, strict=True):
        needed: set[sp.Symbol] = set()
        stack = [expr]
        while stack:
            for symbol in stack.pop().free_symbols:
                if symbol in temp_expr and symbol not in needed:
                    needed.add(symbol)
                    stack.append(temp_expr[symbol])
        for temp in sorted(needed - done, key=position.__getitem__):
            load(temp_expr[temp])
            lines.append(f"{indent}{temp} = {printer.doprint(temp_expr[temp])}")
            done.add(temp)
        load(expr)
        lines.append(f"{indent}{target} = {printer.doprint(expr)}")
    return lines


def _reads(exprs: list[sp.Expr], names: _Names, indent: str = "    ") -> list[str]:
    """Lines loading the states, kernel values and inputs `exprs` read into locals."""
    used = set().union(*(e.free_symbols for e in exprs)) if exprs else set()
    lines = [f"{indent}s_{s.name} = y[{i}]" for i, s in enumerate(names.states) if s in used]
    lines += [f"{indent}k_{s.name} = k[{i}]" for i, s in enumerate(names.kernel) if s in used]
    lines += [f"{indent}u_{s.name} = u[{i}]" for i, s in enumerate(names.inputs) if s in used]
    return lines


def _numpy_lines(d: ModelDefinition, names: _Names,
                 hoisted: list[tuple[str, sp.Expr]]) -> list[str]:
    """numpy functions: kernel values (the parameters, the model's constants, the
    `hoisted` values of :func:`_hoisted`), baselines and reported outputs."""
    printer = _ArrayPrinter({"fully_qualified_modules": True})
    n_par = len(d.all_parameters)
    lines = ["", "", "def kernel_values(p):",
             '    """Kernel vector (N, N_KERNEL) from parameters (N, N_PARAMETERS)."""',
             "    k = numpy.empty((p.shape[0], N_KERNEL))",
             f"    k[:, :{n_par}] = p"]
    computed = [*d.constants, *hoisted]
    read = set().union(*(e.free_symbols for _, e in computed)) if computed else set()
    lines += [f"    k_{s.name} = p[:, {i}]" for i, s in enumerate(names.kernel[:n_par])
              if s in read]
    for j, (name, expr) in enumerate(computed):
        lines.append(f"    k_{name} = k[:, {n_par + j}] = "
                     f"{printer.doprint(expr.xreplace(names.code))}")
    lines.append("    return k")
    lines += ["", "", "def initial_states(k):",
              '    """Baselines before any dose (N, N_STATES) from the kernel vector."""',
              "    y = numpy.zeros((k.shape[0], N_STATES))"]
    lines += [f"    k_{s.name} = k[:, {i}]" for i, s in enumerate(names.kernel)
              if any(s in e.free_symbols for e in d.initial)]
    for i, expr in enumerate(d.initial):
        if not expr.is_zero:
            lines.append(f"    y[:, {i}] = {printer.doprint(expr.xreplace(names.code))}")
    lines.append("    return y")
    sources = getattr(d, "sources", {})  # result label -> state or quantity (imported models)
    reported = {sources.get(v.name, v.name) for v in d.variables}
    states = set(d.state_names)
    needed = set(reported - states)
    for name, expr in reversed(d.algebraic):
        if name in needed:
            needed |= {s.name for s in expr.free_symbols}
    lines += ["", "", "def outputs(y, k):",
              '    """Reported variables from states y (..., N_STATES) and kernel values k',
              '    (..., N_KERNEL) that broadcast against each other."""']
    lines += [f"    s_{name} = y[..., {i}]" for i, name in enumerate(d.state_names)
              if name in needed or name in reported]
    lines += [f"    k_{s.name} = k[..., {i}]" for i, s in enumerate(names.kernel)
              if s.name in needed]
    algebraic_code = {sp.Symbol(n): sp.Symbol(f"q_{n}") for n, _ in d.algebraic}
    lines += [f"    q_{name} = k_{name}" for name, _ in d.constants if name in reported]
    for name, expr in d.algebraic:
        if name in needed:
            code = expr.xreplace(algebraic_code).xreplace(names.code)
            lines.append(f"    q_{name} = {printer.doprint(code)}")
    out = ", ".join(f"{v.name!r}: {'s_' if source in states else 'q_'}{source}"
                    for v in d.variables for source in [sources.get(v.name, v.name)])
    lines.append(f"    return {{{out}}}")
    return lines


def source(d: ModelDefinition) -> str:
    """The text of the generated module for `d`."""
    names = _Names(d)
    printer = _ScalarPrinter()
    rates, _ = _expanded(d)
    entries = jacobian_entries(d)
    n = len(d.state_names)
    code, hoisted = _hoisted(rates + [e for _, _, e in entries], names.kernel)
    names.add_kernel([name for name, _ in hoisted])
    rates = code[:n]
    entries = [(i, j, e) for (i, j, _), e in zip(entries, code[n:], strict=True)]
    pattern = np.zeros((n, n), dtype=bool)
    for i, j, _ in entries:
        pattern[i, j] = True
    lu_text, nnz = lu_source(pattern)
    group = column_groups(pattern)
    order = sorted(range(len(entries)), key=lambda e: (group[entries[e][1]], e))
    entries = [entries[e] for e in order]
    n_groups = max(group) + 1 if group else 0
    group_columns = [j for g in range(n_groups) for j in range(n) if group[j] == g]
    group_start = [0]
    entry_start = [0]
    for g in range(n_groups):
        group_start.append(group_start[-1] + sum(1 for j in range(n) if group[j] == g))
        entry_start.append(entry_start[-1] + sum(1 for _, j, _ in entries if group[j] == g))
    header = [
        f'"""Compiled kernels of model {d.name!r}; generated by il21pk.codegen '
        f"(version {CODEGEN_VERSION}) from",
        f"its definition (key {d.key()}): do not edit.",
        '"""',
        "",
        "import math  # noqa: F401",
        "",
        "import numpy",
        "from numba import njit",
        "",
        f"KEY = {d.key()!r}",
        f"N_STATES = {n}",
        f"N_PARAMETERS = {len(d.all_parameters)}",
        f"N_KERNEL = {len(names.kernel)}",
        f"N_INPUTS = {max(len(d.inputs), 1)}",
        f"NNZ = {nnz}",
        f"PIVOT_THRESHOLD = {PIVOT_THRESHOLD!r}",
        f"STATES = {tuple(d.state_names)!r}",
        "# Jacobian pattern (entries ordered by column group) and its column groups",
        f"JAC_ROWS = {tuple(i for i, _, _ in entries)!r}",
        f"JAC_COLS = {tuple(j for _, j, _ in entries)!r}",
        f"GROUP_START = {tuple(group_start)!r}",
        f"GROUP_COLUMNS = {tuple(group_columns)!r}",
        f"ENTRY_START = {tuple(entry_start)!r}",
        f"KERNEL = {tuple(s.name for s in names.kernel)!r}",
    ]
    # the body is inlined (numba level) where it is hot, the Newton iteration, and
    # called as `rhs` elsewhere: one copy less to optimise per cold call site
    rhs = ["", "", '@njit(cache=True, error_model="numpy", inline="always")',
           "def rhs_inline(t, y, dy, k, u):",
           '    """Write dy/dt of one member into `dy` (t: absolute time [h])."""']
    rhs += _straight_line(rates, [f"dy[{i}]" for i in range(n)], names, printer)
    rhs += ["", "", '@njit(cache=True, error_model="numpy")',
            "def rhs(t, y, dy, k, u):",
            '    """:func:`rhs_inline`, called (not inlined)."""',
            "    rhs_inline(t, y, dy, k, u)"]
    derivatives = [e for _, _, e in entries]
    jac = ["", "", '@njit(cache=True, error_model="numpy")',
           "def jacobian(t, y, k, u, jac):",
           '    """Write the structural non-zeros of d(dy/dt)/dy into `jac` (others are',
           '    not written)."""']
    jac += _straight_line(derivatives, [f"jac[{i}, {j}]" for i, j, _ in entries], names,
                          printer)
    if not entries:
        jac.append("    return")
    stacked = ["", "", '@njit(cache=True, error_model="numpy")',
               "def stacked_rhs(t, y, k, u):",
               '    """dy/dt of N members stacked member-major (for the scipy solvers)."""',
               "    dy = numpy.empty_like(y)",
               "    for m in range(k.shape[0]):",
               "        a = m * N_STATES",
               "        rhs(t, y[a:a + N_STATES], dy[a:a + N_STATES], k[m], u[m])",
               "    return dy"]
    if getattr(d, "engine", None) == GENERIC:
        header.append(f"ENGINE = {GENERIC!r}")
    code = _event_lines(d, names, printer) + _numpy_lines(d, names, hoisted) + rhs + jac \
        + stacked
    if any("_power(" in line for line in code):
        at = header.index("from numba import njit") + 1
        header[at:at] = ["", _POWER_IMPORT]
    body = header + code
    return "\n".join(body) + lu_text


#: The import of :func:`il21pk.codegen.runtime.power` (``x**p`` for an exponent
#: known only at run time), into the modules that raise to one.
_POWER_IMPORT = "from il21pk.codegen.runtime import power as _power"

#: The engine shared by imported models (see :func:`il21pk.engine.bdf.generic_engine`).
GENERIC = "generic"
#: Codes of the relational operators of event triggers, as the engine reads them.
ATOM_OPS = {">": 0, ">=": 1, "==": 2, "!=": 3}


def events(d: ModelDefinition) -> list:
    """The events of `d`'s stages (SBML events of imported models), in order."""
    return [e for stage in d.stages for e in getattr(stage, "events", ())]


def trigger_atoms(triggers: list[sp.Basic]) -> tuple[list[tuple[str, sp.Expr, sp.Expr]],
                                                    list[sp.Basic]]:
    """Split triggers into their relationals ("atoms") and booleans of the atoms.

    Returns ``(atoms, booleans)``: each atom is ``(op, lhs, rhs)`` with `op` in
    :data:`ATOM_OPS` (``<`` and ``<=`` are turned around), equal atoms shared;
    each boolean reads the atoms as symbols ``b0``, ``b1``, ...
    """
    atoms: list[tuple[str, sp.Expr, sp.Expr]] = []
    keys: dict[tuple[str, sp.Expr], int] = {}

    def split(expr: sp.Basic) -> sp.Basic:
        if expr in (sp.true, sp.false):
            return expr
        if isinstance(expr, Relational):
            op, lhs, rhs = expr.rel_op, expr.lhs, expr.rhs
            if op in ("<", "<="):
                op, lhs, rhs = {"<": ">", "<=": ">="}[op], rhs, lhs
            key = (op, lhs - rhs)
            if key not in keys:
                keys[key] = len(atoms)
                atoms.append((op, lhs, rhs))
            return sp.Symbol(f"b{keys[key]}")
        if isinstance(expr, BooleanFunction):
            return expr.func(*[split(a) for a in expr.args], evaluate=False)
        raise ValueError(f"event trigger {expr} is not a boolean of relationals")

    booleans = [split(t) for t in triggers]
    return atoms, booleans


#: Codes of the postfix programs that compute triggers from the relationals'
#: truth (:func:`trigger_program`; evaluated by ``il21pk.engine.bdf._triggers``).
PUSH_FALSE, PUSH_TRUE, PUSH_ATOM, NOT, AND, OR, XOR = range(7)


def trigger_program(expr: sp.Basic) -> list[int]:
    """A trigger (a boolean of symbols ``b<i>``, from :func:`trigger_atoms`) as a
    postfix program: ``PUSH_ATOM i``, ``NOT``, ``AND n``, ``OR n``, ``XOR n``, ...
    Implies, Equivalent and ITE are written with these."""
    from sympy.logic.boolalg import ITE, And, Equivalent, Implies, Not, Or, Xor

    if expr is sp.true:
        return [PUSH_TRUE]
    if expr is sp.false:
        return [PUSH_FALSE]
    if isinstance(expr, sp.Symbol):
        return [PUSH_ATOM, int(expr.name[1:])]
    if isinstance(expr, Not):
        return trigger_program(expr.args[0]) + [NOT]
    if isinstance(expr, (And, Or, Xor)):
        code = {And: AND, Or: OR, Xor: XOR}[type(expr)]
        return [op for a in expr.args for op in trigger_program(a)] + [code, len(expr.args)]
    if isinstance(expr, Implies):
        a, b = expr.args
        return trigger_program(a) + [NOT] + trigger_program(b) + [OR, 2]
    if isinstance(expr, Equivalent):  # all true or all false
        n = len(expr.args)
        each = [op for a in expr.args for op in trigger_program(a)]
        return (each + [AND, n] + [op for a in expr.args for op in trigger_program(a) + [NOT]]
                + [AND, n] + [OR, 2])
    if isinstance(expr, ITE):
        c, a, b = expr.args
        return (trigger_program(c) + trigger_program(a) + [AND, 2] + trigger_program(c) + [NOT]
                + trigger_program(b) + [AND, 2] + [OR, 2])
    raise ValueError(f"event trigger {expr} is not a boolean of relationals")


def _flags(values: list[int]) -> str:
    """A tuple literal for numba (never empty: numba cannot index an empty tuple)."""
    return repr(tuple(values) if values else (0,))


def _event_lines(d: ModelDefinition, names: _Names, printer: PythonCodePrinter) -> list[str]:
    """Constants and numba functions of the model's events (nothing without events).

    ``event_atoms`` writes both sides of every relational of the triggers and
    ``event_values`` the values of one event's assignments and its priority
    (-inf without one); ``TRIGGER_CODE`` holds the triggers as postfix programs
    of the relationals' truth (:func:`trigger_program`). The engine locates the
    relationals' sign changes and executes the events (:mod:`il21pk.engine.bdf`).
    """
    evs = events(d)
    if not evs:
        return []
    _, algebraic = _expanded(d)
    atoms, booleans = trigger_atoms([e.trigger for e in evs])
    states = set(names.states)
    index = {name: i for i, name in enumerate(d.state_names)}
    sides = [side.xreplace(algebraic) for _, lhs, rhs in atoms for side in (lhs, rhs)]
    reads_state = [int(bool((sides[2 * i].free_symbols | sides[2 * i + 1].free_symbols)
                            & states)) for i in range(len(atoms))]
    start, targets = [0], []
    for e in evs:
        targets += [index[target] for target, _ in e.assignments]
        start.append(len(targets))
    program_start, program = [0], []
    for boolean in booleans:
        program += trigger_program(boolean)
        program_start.append(len(program))
    max_assign = max(1, max(len(e.assignments) for e in evs))
    lines = [
        "# events: trigger relationals (op: 0 '>', 1 '>=', 2 '==', 3 '!='), flags, targets",
        f"N_EVENTS = {len(evs)}",
        f"N_ATOMS = {len(atoms)}",
        f"EVENT_MAX_ASSIGN = {max_assign}",
        f"EVENTS = {tuple(e.name for e in evs)!r}",
        f"ATOM_OP = {_flags([ATOM_OPS[op] for op, _, _ in atoms])}",
        f"ATOM_READS_STATE = {_flags(reads_state)}",
        f"EVENT_PERSISTENT = {_flags([int(e.persistent) for e in evs])}",
        f"EVENT_INITIAL_VALUE = {_flags([int(e.initial_value) for e in evs])}",
        f"EVENT_TRIGGER_TIME_VALUES = "
        f"{_flags([int(e.use_values_from_trigger_time) for e in evs])}",
        f"EVENT_TARGET_START = {tuple(start)!r}",
        f"EVENT_TARGETS = {_flags(targets)}",
        f"TRIGGER_START = {tuple(program_start)!r}",
        f"TRIGGER_CODE = {_flags(program)}",
        "", "",
        '@njit(cache=True, error_model="numpy")',
        "def event_atoms(t, y, k, u, lhs, rhs):",
        '    """Write both sides of every relational of the event triggers."""']
    lines += _reads(sides, names)
    lines += _assignments(sides, [f"{'lhs' if j % 2 == 0 else 'rhs'}[{j // 2}]"
                                  for j in range(len(sides))], names, printer)
    if not sides:
        lines.append("    return")
    lines += ["", "", '@njit(cache=True, error_model="numpy")',
              "def event_values(i, t, y, k, u, out):",
              '    """Write the values of the assignments of event i (before any is applied)',
              '    and, in out[EVENT_MAX_ASSIGN], its priority (-inf without one)."""']
    for i, e in enumerate(evs):
        values = [v.xreplace(algebraic) for _, v in e.assignments]
        targets = [f"out[{j}]" for j in range(len(values))]
        if e.priority is not None:
            values.append(e.priority.xreplace(algebraic))
            targets.append(f"out[{max_assign}]")
        lines.append(f"    {'if' if i == 0 else 'elif'} i == {i}:")
        lines += _reads(values, names, "        ")
        lines += _assignments(values, targets, names, printer, "        ")
        if e.priority is None:
            lines.append(f"        out[{max_assign}] = -math.inf")
    return lines
