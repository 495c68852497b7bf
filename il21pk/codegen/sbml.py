"""Model definition -> Antimony / SBML Level 3, the model users would edit.

Generated from the same definition as the compiled kernels, so the two
cannot drift. Parameters are the user-level ones (``v_central``, ``kd``,
``il21r_per_cell``, ...) with their values; constants derived from them and
the algebraic quantities are assignment rules, baselines are initial
assignments, so changing a parameter in libRoadRunner or COPASI rescales
everything as in il21pk. Each state has a rate rule: the amounts (in the
model's substance unit, nmol) are species in a unit compartment, the other
states (concentrations, fractions, cells, receptors per cell, AUCs)
parameters. Every state, parameter and quantity whose unit string
:func:`il21pk.codegen.sbml_units.unit_terms` reads carries its unit
(``pg/mL``, ``cells/uL``, ``nM*h``, ...); one it cannot read (``fold``) carries
none rather than a wrong one. An imported model's species are amounts in
the compartments they came from (``hasOnlySubstanceUnits``), so ``[S]`` is
their concentration after a round trip too, and its other states stay
parameters or compartments with rate rules. Doses are events whose amounts
are expressions in the body weight, molecular weight and bioavailability.
The model-wide units are the model's own
(:attr:`ModelDefinition.unit_definitions`): hours, nmol and litres for
il21pk's models, what an imported model declared for it.
"""

from __future__ import annotations

from pathlib import Path

import sympy as sp
from sympy.printing.str import StrPrinter

from ..model import TIME, Model
from ..model.compose import UnitTerms
from ..model.inputs import check_regimen, parameter_columns, resolve_params
from ..parameters import ParameterSet
from ..regimen import Dose, Regimen
from ..units import dose_nmol_expression
from .sbml_units import unit_terms

#: Model-wide unit -> the id Antimony declares it by.
_UNIT_IDS = {"time": "time_unit", "substance": "substance", "volume": "volume"}


#: Words Antimony or libsbml's infix maths reserve (keywords, constants, function
#: names), compared in lower case: a model name that is one is written with a
#: trailing underscore.
RESERVED = frozenset("""
after and at compartment const delete end event ext formula function gene has import in is
model module operator or not xor reaction species var unit substanceonly dna time avogadro true
false pi exponentiale inf nan notanumber infinity delay rateof piecewise abs ln log log10 exp
sqrt sqr root floor ceil ceiling sin cos tan sec csc cot sinh cosh tanh sech csch coth arcsin
arccos arctan arcsec arccsc arccot arcsinh arccosh arctanh arcsech arccsch arccoth asin acos atan
asinh acosh atanh factorial min max pow power quotient rem implies eq neq geq leq gt lt plus
times minus divide body""".split())


def antimony_names(names: list[str]) -> dict[str, str]:
    """Model name -> its name in the Antimony export (reserved words renamed)."""
    taken = set(names)
    out = {}
    for name in names:
        if name.lower() in RESERVED:
            new = f"{name}_"
            while new in taken:
                new += "_"
            taken.add(new)
            out[name] = new
    return out


class _AntimonyPrinter(StrPrinter):
    """Antimony infix maths: ``^`` powers, ``piecewise``, ``max``, ``time``."""

    def __init__(self, escape: dict[str, str] | None = None,
                 clocks: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.escape = dict(escape or {})
        self.clocks = clocks  # states that integrate time: written as `time`

    def name(self, name: str) -> str:
        """`name` as written in the export."""
        return self.escape.get(name, name)

    def _print_Float(self, expr: sp.Float) -> str:
        return repr(float(expr))

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        base, exp = expr.as_base_exp()
        if exp == -1:
            return f"1/({self._print(base)})"
        return f"({self._print(base)})^({self._print(exp)})"

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        parts = []
        for value, condition in expr.args:
            if condition == sp.true:
                parts.append(self._print(value))
            else:
                parts += [self._print(value), self._print(condition)]
        if expr.args[-1][1] != sp.true:  # undefined where no branch holds: NaN, as simulated
            parts.append(self._print(sp.nan))
        return "piecewise(" + ", ".join(parts) + ")"

    def _print_Max(self, expr: sp.Max) -> str:
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Min(self, expr: sp.Min) -> str:
        return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Relational(self, expr: sp.core.relational.Relational) -> str:
        op = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[expr.rel_op]
        return f"({self._print(expr.lhs)} {op} {self._print(expr.rhs)})"

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return "time" if expr == TIME or expr.name in self.clocks else self.name(expr.name)

    # booleans and functions of imported (SBML) models, in libsbml's infix syntax
    def _print_And(self, expr: sp.Basic) -> str:
        return "(" + " && ".join(self._print(a) for a in expr.args) + ")"

    def _print_Or(self, expr: sp.Basic) -> str:
        return "(" + " || ".join(self._print(a) for a in expr.args) + ")"

    def _print_Not(self, expr: sp.Basic) -> str:
        return f"!({self._print(expr.args[0])})"

    def _print_Xor(self, expr: sp.Basic) -> str:
        return "xor(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_BooleanTrue(self, expr: sp.Basic) -> str:
        return "true"

    def _print_BooleanFalse(self, expr: sp.Basic) -> str:
        return "false"

    def _print_Abs(self, expr: sp.Basic) -> str:
        return f"abs({self._print(expr.args[0])})"

    def _print_ceiling(self, expr: sp.Basic) -> str:
        return f"ceil({self._print(expr.args[0])})"

    def _print_log(self, expr: sp.Basic) -> str:
        return f"ln({self._print(expr.args[0])})"

    def _print_Function(self, expr: sp.Basic) -> str:
        # libsbml's infix names of the inverse trigonometric and hyperbolic functions
        name = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh",
                "acosh": "arccosh", "atanh": "arctanh"}.get(
                    type(expr).__name__)
        if name is None:
            return super()._print_Function(expr)
        return f"{name}({', '.join(self._print(a) for a in expr.args)})"

    def _print_gamma(self, expr: sp.Basic) -> str:
        return f"factorial({self._print(expr.args[0])} - 1)"

    def _print_Exp1(self, expr: sp.Basic) -> str:
        return "exponentiale"

    def _print_Infinity(self, expr: sp.Basic) -> str:
        return "INF"

    def _print_NegativeInfinity(self, expr: sp.Basic) -> str:
        return "-INF"

    def _print_NaN(self, expr: sp.Basic) -> str:
        return "NaN"


def to_antimony(model: Model, params: ParameterSet | None = None,
                regimen: Regimen | Dose | None = None) -> str:
    """Antimony text of `model` with `params` and `regimen` (doses as events).

    Amounts are in nmol, concentrations in nM and time in hours, as in
    :func:`il21pk.simulate`; an imported model keeps the time, substance and
    volume units its SBML declared (undeclared ones stay undeclared).
    `params` None: the model's own values (as for :func:`il21pk.simulate`);
    `regimen` None: no doses.
    """
    d = model.definition
    regimen = check_regimen(model, regimen)
    cols = parameter_columns(model, resolve_params(model, params))
    names = [*d.state_names, *(p.name for p in d.all_parameters),
             *(n for n, _ in d.constants + d.algebraic), *d.inputs,
             *(_sbml_id(e.name) for stage in d.stages for e in getattr(stage, "events", ()))]
    generated = getattr(d, "generated", frozenset())
    clocks = frozenset(name for name, rate in zip(d.state_names, d.rates, strict=True)
                       if name in generated and rate == 1)
    escape = _with_original_ids(antimony_names(names), names, getattr(d, "renamed", {}))
    printer = _AntimonyPrinter(_with_dosed_ids(escape, names, getattr(d, "dosed", {})), clocks)
    n = printer.name
    states = [(name, rate, init) for name, rate, init
              in zip(d.state_names, d.rates, d.initial, strict=True) if name not in generated]
    # an imported model's species go back to their compartments (a point one's to
    # `body`), as amounts, so that rates, events and values stay amounts and [S]
    # is S / C, and its other states (parameters, compartments) stay what they
    # were; il21pk's amounts are species in the unit compartment `body` (a model
    # id `body` is exported as `body_`), its other states parameters in their units
    imported = hasattr(d, "compartments")
    species = getattr(d, "compartments", {})
    units = {} if imported else _declared_units(d)
    terms = {unit: unit_terms(unit) for unit in set(units.values())}  # each read once
    amount = d.unit_definitions.get("substance")
    in_body = [name for name, _, _ in states if name in units and terms[units[name]] == amount]
    lines = [f"model {_sbml_id(d.name)}()", *_unit_lines(d.unit_definitions)]
    unit_ids = _unit_ids({unit: terms[unit] for name, unit in units.items()
                          if name not in in_body},
                         d.unit_definitions, {printer.name(name) for name in names})
    lines += [f"  unit {unit_id} = {_unit_text(terms[unit])}"
              for unit, unit_id in unit_ids.items() if unit_id not in _UNIT_IDS.values()]
    lines += ["  compartment body = 1"] if in_body or None in species.values() else []
    lines += [f"  compartment {n(c)}" for c in dict.fromkeys(species.values()) if c]
    lines += [f"  substanceOnly species {n(s)} in {n(c) if c else 'body'}"
              for s, c in species.items()]
    lines += [f"  substanceOnly species {n(name)} in body" for name in in_body]
    lines += [f"  {n(name)}' = {printer.doprint(rate)}" for name, rate, _ in states]
    lines += [f"  {n(name)} := {printer.doprint(expr)}"
              for name, expr in d.constants + d.algebraic if name not in generated]
    lines += [f"  {n(name)} = {printer.doprint(init)}" for name, _, init in states]
    lines += [f"  {n(name)} = {float(cols[name][0])!r}" for name in d.parameter_names]
    lines += [f"  {n(name)} = {_number(value)}" for name, value in d.fixed.items()]  # model's
    lines += [f"  {n(name)} = 0" for name in d.inputs]
    lines += [f"  {n(name)} has {unit_ids[unit]}" for name, unit in units.items()
              if name not in in_body and name not in generated]
    lines += _model_events(model, printer)
    lines += _dose_events(model, regimen, printer,
                          {printer.name(name) for name in names})
    lines.append("end")
    return "\n".join(lines)


def _with_original_ids(escape: dict[str, str], names: list[str],
                       renamed: dict[str, str]) -> dict[str, str]:
    """`escape` with each id an imported model renamed (``lambda`` -> ``lambda_``,
    ``_k`` -> ``k``) written under its SBML id again, so that the id means the
    same after a round trip; not an id Antimony reserves (``in``) or one the
    export already writes for another name."""
    escape = dict(escape)
    taken = {escape.get(name, name) for name in names}
    for sbml_id, name in renamed.items():
        if name in names and sbml_id.lower() not in RESERVED and sbml_id not in taken:
            taken.discard(escape.get(name, name))
            taken.add(sbml_id)
            escape[name] = sbml_id
    return escape


def _with_dosed_ids(escape: dict[str, str], names: list[str],
                    dosed: dict[str, str]) -> dict[str, str]:
    """`escape` with each dosed constant's state (``k_dosed``) written under the
    constant's id (``k``) and the constant, its initial value, under
    ``k_before_doses``: the id then means in the export what it meant in the
    model (the dosed value)."""
    escape = dict(escape)
    taken = {escape.get(name, name) for name in names}
    for constant, state in dosed.items():
        written = escape.get(constant, constant)
        fresh = f"{written}_before_doses"
        while fresh in taken:
            fresh += "_"
        taken.add(fresh)
        escape[state], escape[constant] = written, fresh
    return escape


def _unit_lines(definitions: dict[str, UnitTerms]) -> list[str]:
    """``unit time_unit = 86400 second``: the model-wide units, exactly as defined."""
    return [f"  unit {_UNIT_IDS[name]} = {_unit_text(terms)}"
            for name, terms in definitions.items()]


def _unit_text(terms: UnitTerms) -> str:
    """``1e-09 mole * 1.0 litre^-1``: SBML unit terms as Antimony reads them."""
    def power(exponent: float) -> str:
        return "" if exponent == 1 else f"^{int(exponent) if exponent % 1 == 0 else exponent}"

    return " * ".join(f"{factor!r} {kind}{power(exponent)}" for kind, exponent, factor in terms)


def _declared_units(d: object) -> dict[str, str]:
    """Name -> unit string of each state, quantity and parameter of il21pk's own model
    whose unit :func:`unit_terms` reads."""
    units = {p.name: p.unit for p in d.all_parameters}
    units.update({x.name: x.unit for stage in d.stages
                  for x in (*stage.states, *stage.quantities)})
    return {name: unit for name, unit in units.items() if unit_terms(unit) is not None}


def _unit_ids(units: dict[str, UnitTerms], definitions: dict[str, UnitTerms],
              taken: set[str]) -> dict[str, str]:
    """An Antimony id for each unit string: the model-wide unit's (``time_unit``) for
    one that equals it, else a new one (``'1/(nM*h)'`` -> ``unit_per_nM_h``) none in
    `taken` (the model's names). (Antimony would merge a second definition of the
    model's time unit with it, under the second id.)"""
    model_wide = {tuple(terms): _UNIT_IDS[name] for name, terms in definitions.items()}
    taken = taken | set(model_wide.values())
    ids: dict[str, str] = {}
    for unit in sorted(units):
        if units[unit] in model_wide:
            ids[unit] = model_wide[units[unit]]
            continue
        stem = unit.replace(" ", "")
        stem = "per_" + stem[2:] if stem.startswith("1/") else stem
        for old, new in (("/", "_per_"), ("*", "_"), ("^", "pow"), ("-", "m"), (".", "p"),
                         ("µ", "u")):
            stem = stem.replace(old, new)
        unit_id = "unit_" + "".join(ch for ch in stem if ch.isalnum() or ch == "_")
        while unit_id in taken:
            unit_id += "_"
        taken.add(unit_id)
        ids[unit] = unit_id
    return ids


def _model_events(model: Model, printer: _AntimonyPrinter) -> list[str]:
    """The model's own events (an imported model's SBML events), as they were."""
    lines = []
    for stage in model.definition.stages:
        for e in getattr(stage, "events", ()):
            if not e.assignments:
                continue  # an event that assigns nothing changes nothing
            options = [] if e.priority is None else [f"priority={printer.doprint(e.priority)}"]
            options += [f"t0={'true' if e.initial_value else 'false'}",
                        f"persistent={'true' if e.persistent else 'false'}",
                        f"fromTrigger={'true' if e.use_values_from_trigger_time else 'false'}"]
            change = ", ".join(f"{printer.name(target)} = {printer.doprint(value)}"
                               for target, value in e.assignments)
            lines.append(f"  {printer.name(_sbml_id(e.name))}: at ({printer.doprint(e.trigger)}), "
                         f"{', '.join(options)}: {change}")
    return lines


def _dose_events(model: Model, regimen: Regimen, printer: _AntimonyPrinter,
                 taken: set[str]) -> list[str]:
    """One event per dose (two per infusion), amounts as expressions in the
    user-level parameters (body weight, molecular weight, bioavailability),
    so changing them in another tool rescales the doses as in il21pk. Their
    ids (``D0``, ``D0_end``, ...) avoid the ids in `taken` (the model's: an
    SBML event ``D0`` would be replaced)."""
    lines = []
    prefix = "D"
    while any(f"{prefix}{i}" in taken or f"{prefix}{i}_end" in taken
              for i in range(len(regimen.doses))):
        prefix += "_"
    for i, dose in enumerate(regimen.doses):
        drug = model.drug(dose.drug)
        nmol = dose_nmol_expression(sp.Float(dose.amount), dose.unit, mw=sp.Symbol(drug.mw),
                                    body_weight=sp.Symbol("body_weight"))
        at = sp.Float(dose.time)
        if dose.route == "sc":
            if drug.lag:
                at = at + sp.Symbol(drug.lag)
            if drug.bioavailability:
                nmol = nmol * sp.Symbol(drug.bioavailability)
            target = printer.name(drug.depot)
            change = [f"{target} = {target} + {printer.doprint(nmol)}"]
        elif dose.is_infusion:
            rate = printer.name(drug.infusion_input)
            change = [f"{rate} = {rate} + {printer.doprint(nmol / dose.duration)}"]
            stop = [f"{rate} = {rate} - {printer.doprint(nmol / dose.duration)}"]
            end = printer.doprint(at + dose.duration)
            lines.append(f"  {prefix}{i}_end: at (time >= {end}), t0=false, priority=1: "
                         + ", ".join(stop))
        else:
            target = printer.name(drug.central)
            change = [f"{target} = {target} + {printer.doprint(nmol)}"]
        lines.append(f"  {prefix}{i}: at (time >= {printer.doprint(at)}), t0=false: "
                     f"{', '.join(change)}")
    return lines


def _number(value: float) -> str:
    """A number as Antimony reads it (``NaN``, ``INF`` and ``-INF`` included)."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "INF" if value > 0 else "-INF"
    return repr(float(value))


def _sbml_id(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name) or "model"


def to_sbml(model: Model, params: ParameterSet | None = None,
            regimen: Regimen | Dose | None = None, path: str | Path | None = None) -> str:
    """SBML Level 3 of `model` with `params` and `regimen` (doses as events).

    `params` None: the model's own values (as for :func:`il21pk.simulate`);
    `regimen` None: no doses.

    Built from :func:`to_antimony` with the antimony library and checked with
    python-libsbml (install both: ``pip install antimony python-libsbml``).
    The t = 0 dose is an event that fires at the start (``t0=false``).

    Returns the SBML text (also written to `path` if given).

    Raises
    ------
    ValueError
        If libsbml reports an error in the generated document.
    """
    import antimony
    import libsbml

    text = to_antimony(model, params, regimen)
    antimony.clearPreviousLoads()
    if antimony.loadAntimonyString(text) < 0:
        raise ValueError(f"antimony could not read the model: {antimony.getLastError()}")
    sbml = antimony.getSBMLString(_sbml_id(model.definition.name))
    document = libsbml.readSBMLFromString(sbml)
    document.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, False)
    document.checkConsistency()
    errors = [document.getError(i) for i in range(document.getNumErrors())
              if document.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
    if errors:
        raise ValueError("generated SBML is invalid: " + "; ".join(e.getMessage().strip()
                                                                   for e in errors[:3]))
    if path is not None:
        Path(path).write_text(sbml, encoding="utf-8")
    return sbml
