"""What a model is made of: states, quantities, drugs and stages, as data.

A :class:`Stage` declares, once, everything about one box of a model: its
ODE states (unit, description, baseline), the parameters it reads (unit,
hard bounds), the quantities it computes, and the rate of change of each of
its states as a sympy expression. Names are the wiring: a stage reads
another stage's state or quantity by naming it in ``inputs``, never by
position. :class:`~il21pk.model.compose.ModelDefinition` composes stages and
checks that every name read is provided exactly once; everything that
depends on the equations (compiled kernels, Jacobian, sparse LU, SBML, the
equations in the docs) is generated from it by :mod:`il21pk.codegen`.
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.core.relational import Relational
from sympy.logic.boolalg import BooleanAtom, BooleanFunction

from ..checks import is_integer, is_real
from ..errors import InputTypeError, ParameterError
from ..parameters import ParameterSpec

#: Spellings of a time unit read as the units models state theirs in (an SBML
#: model's, formatted by il21pk.io.sbml_units, and il21pk's "h"). Case matters
#: for the one-letter symbols ("S" is not a second), not for words.
_TIME_WORDS = {"h": ("hr", "hrs", "hour", "hours"), "d": ("day", "days"),
               "min": ("minute", "minutes"), "s": ("sec", "second", "seconds"),
               "week": ("week", "weeks", "wk")}
TIME_UNIT_SPELLINGS = {spelling: unit for unit, words in _TIME_WORDS.items()
                       for word in words for spelling in (word, word.capitalize(), word.upper())}


def normal_time_unit(unit: str | None) -> str | None:
    """`unit` in the spelling models state their time unit in (``" Hours "`` -> ``"h"``)."""
    if unit is None:
        return None
    return TIME_UNIT_SPELLINGS.get(unit.strip(), unit.strip())


#: The symbol of time [h] since the start of the simulation.
TIME = sp.Symbol("t")

Expression = sp.Expr | float | int


def symbols(names: str) -> tuple[sp.Symbol, ...]:
    """Symbols for the space-separated `names`, e.g. ``R, C1 = symbols("il21r_free c1")``."""
    return tuple(sp.Symbol(name) for name in names.split())


#: What the conditions of a Piecewise may join comparisons with.
CONNECTIVES = (sp.And, sp.Or, sp.Not, sp.Xor, sp.Equivalent, sp.Implies, sp.ITE)
#: Numbers a Piecewise may take where it is undefined (SBML's piecewise without
#: an otherwise is NaN there); anywhere else they are refused.
UNDEFINED = (sp.nan, sp.oo, -sp.oo)
#: The sympy functions the code generator compiles, in the model's scalar code
#: (numba) and in the array code of reported quantities (numpy); others (LambertW,
#: besselj, erfinv, polygamma, re, ...) are refused when a stage is built.
#: ``factorial(x)`` is read as ``gamma(x + 1)``, and ``re(x)``, ``im(x)`` and
#: ``conjugate(x)`` (sympy writes ``abs(exp(x))`` as ``exp(re(x))``) as in real numbers.
COMPILABLE_FUNCTIONS = (
    sp.exp, sp.log, sp.sin, sp.cos, sp.tan, sp.sec, sp.csc, sp.cot, sp.asin, sp.acos,
    sp.atan, sp.acot, sp.asec, sp.acsc, sp.atan2, sp.sinh, sp.cosh, sp.tanh, sp.sech,
    sp.csch, sp.coth, sp.asinh, sp.acosh, sp.atanh, sp.acoth, sp.asech, sp.acsch, sp.sinc,
    sp.Abs, sp.sign, sp.floor, sp.ceiling, sp.frac, sp.Mod, sp.Min, sp.Max, sp.erf,
    sp.erfc, sp.gamma, sp.loggamma, sp.beta, sp.binomial,
)
#: What an expression may be made of, as error messages say it.
ALLOWED = ("real-valued expressions of states, parameters, inputs and time t made of finite "
           "real numbers and constants, +, -, *, /, powers, the functions "
           + ", ".join(f.__name__ for f in COMPILABLE_FUNCTIONS)
           + " (Heaviside is taken as a Piecewise, factorial(x) as gamma(x + 1)), and "
           "Piecewise((value, condition), ..., (value, True)) whose "
           "conditions compare numbers (<, <=, >, >=, Eq, Ne) joined by "
           + ", ".join(c.__name__ for c in CONNECTIVES))


def steps_as_piecewise(expr: sp.Basic) -> sp.Basic:
    """`expr` with each ``Heaviside(x, h0)`` as ``Piecewise((0, x < 0), (h0, Eq(x, 0)),
    (1, True))`` (``h0`` 1/2 unless given, as sympy's): the same values, and a
    derivative the code generator prints (a Heaviside's is a DiracDelta). SBML
    imports make them from ``max``/``min`` of time."""
    def piecewise(x, *h0):
        return sp.Piecewise((sp.Integer(0), x < 0), (h0[0] if h0 else sp.S.Half, sp.Eq(x, 0)),
                            (sp.Integer(1), True))
    return expr.replace(sp.Heaviside, piecewise) if expr.has(sp.Heaviside) else expr


def _unsupported(expr: sp.Basic) -> tuple[sp.Basic, str] | None:
    """The first part of `expr` the code generator cannot compile and why, or None.

    Parameters
    ----------
    expr : sympy.Basic
        A rate, quantity or baseline.

    Returns
    -------
    tuple of (sympy.Basic, str) or None
        The offending sub-expression and what is wrong with it.
    """
    todo: list[tuple[sp.Basic, bool]] = [(expr, False)]  # (part, is it a condition?)
    while todo:
        node, condition = todo.pop()
        if condition:
            if isinstance(node, Relational):
                todo += [(arg, False) for arg in node.args]
            elif isinstance(node, CONNECTIVES):
                todo += [(arg, True) for arg in node.args]
            elif not isinstance(node, BooleanAtom):
                return node, "a number or a name where a condition (a comparison) is needed"
        elif isinstance(node, sp.Symbol):
            continue
        elif node.is_Atom and node.is_number:
            if not node.is_finite:
                return node, "not a finite number (only a Piecewise value may be nan or oo)"
            if node.is_extended_real is False:
                return node, "a complex number; values must be real"
        elif isinstance(node, AppliedUndef):
            return node, "an undefined function"
        elif isinstance(node, sp.DiracDelta):
            return node, "a DiracDelta, which has no value to compile"
        elif isinstance(node, sp.Piecewise):
            for value, cond in node.args:
                todo += [(cond, True)] + ([] if value in UNDEFINED else [(value, False)])
        elif isinstance(node, sp.Function) and not isinstance(node, COMPILABLE_FUNCTIONS):
            return node, f"a function the code generator does not compile ({node.func})"
        elif isinstance(node, (sp.Add, sp.Mul, sp.Pow, sp.Min, sp.Max, sp.Function)):
            todo += [(arg, False) for arg in node.args]
        elif isinstance(node, (Relational, BooleanFunction, BooleanAtom)):
            return node, ("a truth value where a number is needed (for 1 where it holds "
                          "and 0 elsewhere, write Piecewise((1, condition), (0, True)))")
        else:
            return node, f"of a kind the code generator does not print ({type(node).__name__})"
    return None


def as_expression(value: Expression, where: str) -> sp.Expr:
    """`value` as a sympy expression the code generator can compile.

    Parameters
    ----------
    value : sympy expression or number
        A rate, quantity or baseline.
    where : str
        What `value` is, for error messages (``"Stage 'pk' rate of 'x'"``).

    Returns
    -------
    sympy.Expr

    Raises
    ------
    TypeError
        If `value` is neither a sympy expression nor a number.
    ParameterError
        If a part of it cannot be compiled (see :data:`ALLOWED`), naming that part.
    """
    if isinstance(value, bool) or not isinstance(value, (sp.Basic, int, float)):
        raise TypeError(f"{where} must be a sympy expression or a number; got "
                        f"{type(value).__name__} {value!r}")
    expr = steps_as_piecewise(sp.sympify(value))
    if expr.has(sp.factorial):  # of a real number, as SBML reads it
        expr = expr.replace(sp.factorial, lambda x: sp.gamma(x + 1))
    if expr.has(sp.re, sp.im, sp.conjugate):  # of a real-valued model: abs(exp(x)) is
        expr = expr.replace(sp.re, lambda x: x).replace(sp.im, lambda x: sp.S.Zero) \
            .replace(sp.conjugate, lambda x: x)  # exp(re(x)) for sympy's complex symbols
    # a symbol declared with assumptions (Symbol("k", positive=True)) is another symbol
    # than the model's Symbol("k"): it would be printed raw into the generated code
    plain = {s: sp.Symbol(s.name) for s in expr.free_symbols
             if isinstance(s, sp.Symbol) and s != sp.Symbol(s.name)}
    if plain:
        expr = expr.xreplace(plain)
    found = _unsupported(expr)
    if found is not None:
        part, why = found
        inside = "" if part == expr else f"in {str(expr)[:200]}, "
        raise ParameterError(f"{where} cannot be compiled: {inside}{str(part)[:200]} is {why}. "
                             f"Allowed: {ALLOWED}")
    return expr


def check_name(name: object, what: str) -> str:
    """A name must be a Python identifier (it becomes a variable in generated code)."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) \
            or name.startswith("_") or name == "t":
        raise ParameterError(f"{what} name must be a Python identifier not starting with '_' "
                             f"(and not 't', which is time); got {name!r}")
    return name


@dataclass(frozen=True)
class State:
    """One ODE state of a stage.

    Parameters
    ----------
    name : str
        Identifier, unique in a model (``il21_central``).
    unit : str
        Unit of the state (``nmol``, ``nM``, ``cells/uL``, ``1``).
    description : str
        One line.
    initial : sympy expression or float
        Baseline before any dose, as an expression in parameters and constant
        quantities (the steady state without drug, in closed form). Default 0.
    reported : bool
        Whether the state appears in simulation results.
    nonnegative : bool
        The state is an amount, a concentration, a count or a fraction, and
        its rate is >= 0 whenever it is 0. The ``numba-bdf`` engine keeps it
        >= 0 at every step's end (a step that would take it below 0 by more
        than its error tolerance is refused); an undershoot of 0 by less
        than the absolute tolerance (between step ends, or from the scipy
        methods) is reported as 0, and larger negatives from the scipy
        methods are kept, so a real error shows. A rate below 0 at 0 (a
        zero-order loss) makes ``numba-bdf`` fail with an error naming the
        state.
    """

    name: str
    unit: str
    description: str
    initial: Expression = 0.0
    reported: bool = True
    nonnegative: bool = False

    def __post_init__(self) -> None:
        check_name(self.name, "State")
        if not isinstance(self.unit, str):
            raise ParameterError(f"State {self.name!r} unit must be a string ('1' for none); "
                                 f"got {self.unit!r}")
        for flag in ("reported", "nonnegative"):  # "no" would count as True
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise InputTypeError(f"State {self.name!r} {flag} must be True or False; got "
                                     f"{getattr(self, flag)!r}")
        object.__setattr__(self, "initial", as_expression(self.initial,
                                                          f"State {self.name!r} initial"))

    @property
    def symbol(self) -> sp.Symbol:
        """The sympy symbol standing for this state in expressions."""
        return sp.Symbol(self.name)


@dataclass(frozen=True)
class Quantity:
    """A named expression: a constant derived from parameters, or an algebraic
    function of the states (an output or an intermediate another stage reads).

    Whether it is constant per simulated member is decided at composition
    from what it depends on; constants are computed once, before integrating.
    """

    name: str
    expression: Expression
    unit: str
    description: str
    reported: bool = False

    def __post_init__(self) -> None:
        check_name(self.name, "Quantity")
        if not isinstance(self.unit, str):
            raise ParameterError(f"Quantity {self.name!r} unit must be a string ('1' for "
                                 f"none); got {self.unit!r}")
        if not isinstance(self.reported, (bool, np.bool_)):
            raise InputTypeError(f"Quantity {self.name!r} reported must be True or False; got "
                                 f"{self.reported!r}")
        object.__setattr__(self, "expression", as_expression(self.expression,
                                                             f"Quantity {self.name!r}"))

    @property
    def symbol(self) -> sp.Symbol:
        """The sympy symbol standing for this quantity in expressions."""
        return sp.Symbol(self.name)


ROUTES = ("iv", "sc")


@dataclass(frozen=True)
class Drug:
    """A drug a model can be dosed with, and where its doses go.

    Parameters
    ----------
    name : str
        What users write in ``Dose(..., drug=name)``.
    mw : str
        Name of the parameter holding its molecular weight [kDa], used to
        convert mass doses to nmol.
    central : str
        State [nmol] that receives IV boluses; IV infusions enter its rate
        (the generated input ``infusion_<name>`` [nmol/h]).
    depot : str, optional
        State [nmol] that receives SC doses; ``None`` if the drug has no SC route.
    bioavailability, lag : str, optional
        Parameters scaling SC doses (fraction) and delaying them [h].
    cmt : mapping of int to str
        NONMEM ``CMT`` number -> the state it doses.
    description : str
        One line.
    """

    name: str
    mw: str
    central: str
    depot: str | None = None
    bioavailability: str | None = None
    lag: str | None = None
    cmt: Mapping[int, str] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        check_name(self.name, "Drug")
        if self.depot is None and (self.bioavailability or self.lag):
            raise ParameterError(f"Drug {self.name!r}: bioavailability and lag need a depot")
        cmt = dict(self.cmt)
        for number in cmt:  # NONMEM reads CMT as an integer: "1" or 1.5 would be another's
            if not is_integer(number) or number < 1:
                raise ParameterError(f"Drug {self.name!r}: cmt keys are NONMEM compartment "
                                     f"numbers, integers >= 1; got {number!r}")
        object.__setattr__(self, "cmt", {int(number): state for number, state in cmt.items()})

    @property
    def routes(self) -> tuple[str, ...]:
        """Routes this drug can be given by (``iv`` bolus/infusion, ``sc``)."""
        return ("iv", "sc") if self.depot is not None else ("iv",)

    @property
    def infusion_input(self) -> str:
        """Name of the infusion-rate input [nmol/h] added to the central state's rate."""
        return f"infusion_{self.name}"


@dataclass(frozen=True)
class Stage:
    """One box of a model: states, parameters, quantities and rates.

    Parameters
    ----------
    name : str
        Stage name (the ``stage`` column of results).
    description : str
        What the stage models, with its equations in LaTeX (shown in the docs).
    states : sequence of State
    parameters : sequence of ParameterSpec
        Parameters the stage reads, with units and hard bounds (values and
        sources live in parameter sets).
    quantities : sequence of Quantity
        Named expressions the stage defines (constants and algebraic outputs).
    rates : mapping of str to expression
        ``d state / dt`` for each state of the stage, keyed by state name.
    inputs : mapping of str to float or None
        Names the stage reads from other stages, with the value to use when no
        stage provides them (``None``: required).
    drugs : sequence of Drug
        Drugs dosed into this stage's states.
    report : sequence of str, optional
        Order of the reported states and quantities in results (default:
        reported states, then reported quantities).
    time_unit : str or None, optional
        The unit of time ``t`` in the stage's rates and parameters (``"h"``
        for il21pk's stages; an imported model's own). A model refuses a
        stage whose time unit differs from its own, which would read its
        rates in the wrong unit. None (default): the stage takes the model's
        time unit, whatever it is.
    """

    name: str
    description: str
    states: tuple[State, ...] = ()
    parameters: tuple[ParameterSpec, ...] = ()
    quantities: tuple[Quantity, ...] = ()
    rates: Mapping[str, Expression] = field(default_factory=dict)
    inputs: Mapping[str, float | None] = field(default_factory=dict)
    drugs: tuple[Drug, ...] = ()
    report: tuple[str, ...] | None = None
    time_unit: str | None = None

    def __post_init__(self) -> None:
        check_name(self.name, "Stage")
        if self.time_unit is not None:
            if not (isinstance(self.time_unit, str) and self.time_unit.strip()):
                raise ParameterError(f"Stage {self.name!r} time_unit must be a unit such as "
                                     f"'h' or 'd', or None (the model's); got "
                                     f"{self.time_unit!r}")
            object.__setattr__(self, "time_unit", normal_time_unit(self.time_unit))
        for attribute, kind in (("states", State), ("parameters", ParameterSpec),
                                ("quantities", Quantity), ("drugs", Drug)):
            items = tuple(getattr(self, attribute))
            for item in items:
                if not isinstance(item, kind):
                    raise TypeError(f"Stage {self.name!r} {attribute} must be {kind.__name__} "
                                    f"objects; got {type(item).__name__} {item!r}")
            object.__setattr__(self, attribute, items)
        for spec in self.parameters:  # a parameter `t` would replace time in every stage
            check_name(spec.name, f"Stage {self.name!r} parameter")
            if not isinstance(spec.unit, str):
                raise ParameterError(f"Stage {self.name!r} parameter {spec.name!r} unit must be "
                                     f"a string ('1' for none); got {spec.unit!r}")
        state_names = [s.name for s in self.states]
        kinds: dict[str, str] = {}
        for kind, names in (("state", state_names),
                            ("parameter", [p.name for p in self.parameters]),
                            ("quantity", [q.name for q in self.quantities]),
                            ("infusion input", [d.infusion_input for d in self.drugs])):
            for name in names:
                if name in kinds:
                    raise ParameterError(f"Stage {self.name!r} defines {name!r} twice (as a "
                                         f"{kinds[name]} and as a {kind}); names must be "
                                         "unique within a model")
                kinds[name] = kind
        rates = {}
        for name, rate in dict(self.rates).items():
            if name not in state_names:
                raise ParameterError(f"Stage {self.name!r} gives a rate for {name!r}, which is "
                                     f"not one of its states {state_names}")
            rates[name] = as_expression(rate, f"Stage {self.name!r} rate of {name!r}")
        missing = [name for name in state_names if name not in rates]
        if missing:
            raise ParameterError(f"Stage {self.name!r} has no rate for its states {missing}")
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "inputs", dict(self.inputs))
        own = self.names()
        for name, default in self.inputs.items():
            check_name(name, f"Stage {self.name!r} input")
            if name in own:
                raise ParameterError(f"Stage {self.name!r} both defines and reads {name!r}")
            if default is not None and not (is_real(default) and math.isfinite(default)):
                raise ParameterError(f"Stage {self.name!r} input {name!r}: the default must be "
                                     f"a finite number, or None for a required input; got "
                                     f"{default!r}")
        if self.report is not None:
            if isinstance(self.report, str):  # "xy" would report x and y
                raise InputTypeError(f"Stage {self.name!r} report must be a sequence of names; "
                                     f"got the string {self.report!r} (write ({self.report!r},))")
            object.__setattr__(self, "report", tuple(self.report))
            twice = sorted({n for n in self.report if self.report.count(n) > 1})
            if twice:
                raise ParameterError(f"Stage {self.name!r} reports {twice} twice")
            reportable = set(state_names) | {q.name for q in self.quantities}
            unknown = [name for name in self.report if name not in reportable]
            if unknown:
                raise ParameterError(f"Stage {self.name!r} reports {unknown}, which are not its "
                                     "states or quantities")
        readable = own | set(self.inputs) | {TIME.name}
        for what, expr in self.expressions():
            free = {s.name for s in expr.free_symbols} - readable
            if free:
                raise ParameterError(
                    f"Stage {self.name!r}: {what} reads {sorted(free)}, which the stage neither "
                    "defines nor lists in `inputs`")

    def names(self) -> set[str]:
        """Every name this stage defines (states, parameters, quantities)."""
        return ({s.name for s in self.states} | {p.name for p in self.parameters}
                | {q.name for q in self.quantities}
                | {d.infusion_input for d in self.drugs})

    def expressions(self) -> list[tuple[str, sp.Expr]]:
        """(what, expression) for every expression the stage declares."""
        out = [(f"the rate of {name!r}", rate) for name, rate in self.rates.items()]
        out += [(f"quantity {q.name!r}", q.expression) for q in self.quantities]
        out += [(f"the initial value of {s.name!r}", s.initial) for s in self.states]
        return out

    @property
    def reported(self) -> tuple[str, ...]:
        """Reported states and quantities, in report order."""
        if self.report is not None:
            return self.report
        return tuple([s.name for s in self.states if s.reported]
                     + [q.name for q in self.quantities if q.reported])
