"""Command line: sub-commands that call the public API and hold no logic of their own.

User mistakes (bad options, bad files, bad values, failed simulations or fits)
print one line to stderr and exit with status 2; there is never a traceback
(set ``IL21PK_TRACEBACK=1`` to see one while debugging). Warnings are printed
as one line each, ``il21pk <command>: warning: ...``, and only when the
command succeeds.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tomllib
import warnings
from dataclasses import replace
from pathlib import Path

import pandas as pd

from . import parameter_sets
from .analysis.dose_response import dose_response
from .analysis.fitting import fit
from .analysis.nca import nca
from .analysis.simulate import simulate
from .analysis.sweep import dose_columns, sweep
from .checks import is_integer, is_real
from .errors import Il21pkError
from .io.data import read_csv, read_table
from .model import Model
from .model.inputs import model_inputs, resolve_params
from .parameters import ParameterSet
from .regimen import Dose, Regimen
from .units import TIME_UNITS

SCHEDULES = ("single", "repeat", "5on9off", "days1-5+15-19", "tiw", "weekly")


class _UsageError(Exception):
    """An argparse error, printed as one line instead of a usage block."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # noqa: D102 - argparse's hook
        raise _UsageError(message)


def _numbers(text: str, flag: str) -> list[float]:
    try:
        values = [float(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"{flag} takes comma-separated numbers; got {text!r}") from None
    if not values:
        raise ValueError(f"{flag} takes comma-separated numbers; got {text!r}")
    return values


def _executor(text: str) -> str | int:
    if text in ("serial", "processes"):
        return text
    try:
        workers = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be 'serial', 'processes' or a number of workers; got {text!r}") from None
    if workers < 1:
        raise argparse.ArgumentTypeError(f"a number of workers must be >= 1; got {workers}")
    return workers


def _parse_grid(items: list[str]) -> dict[str, list[float]]:
    grid = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--grid takes name=v1,v2,...; got {item!r}")
        if name.strip() in grid:
            raise ValueError(f"--grid gives {name.strip()!r} twice")
        grid[name.strip()] = _numbers(values, f"--grid {name}")
    if not grid:
        raise ValueError("sweep needs at least one --grid name=v1,v2,... (or a [grid] table "
                         "in --spec)")
    return grid


#: Compressions pandas infers from a CSV file's last suffix (``results.csv.gz``).
_CSV_COMPRESSIONS = (".gz", ".bz2", ".xz", ".zip")  # the standard library writes these


def _table_suffix(path: Path) -> str | None:
    """The table suffix of `path` (``.csv``, ``.csv.gz``, ``.parquet``; ``""`` for a
    name without one, written as CSV), or None if it names another format."""
    suffixes = [x.lower() for x in path.suffixes]
    if suffixes[-2:-1] == [".csv"] and suffixes[-1:][0] in _CSV_COMPRESSIONS:
        return "".join(path.suffixes[-2:])
    suffix = path.suffix.lower()
    if suffix in (".csv", ".parquet"):
        return path.suffix
    return "" if suffix == "" or suffix[1:].isdigit() else None  # run0.5: a name


def _table_path(text: str) -> Path:
    """A table file to write: .csv (also .csv.gz, .bz2, .xz, .zip), .parquet, or
    a name without a suffix (written as CSV); checked before any work."""
    path = Path(text)
    if text.endswith(("/", os.sep)) or path.is_dir():
        raise ValueError(f"--out {text!r} is a directory; give a .csv or .parquet file")
    if _table_suffix(path) is None:
        raise ValueError(f"--out {text!r}: give a .csv (or .csv.gz, .csv.bz2, .csv.xz, "
                         f".csv.zip) or .parquet file; got suffix {path.suffix!r}")
    return path


def _beside(path: Path, label: str) -> Path:
    """The file next to table `path` named ``<name>_<label>`` in the same format."""
    suffix = _table_suffix(path) or ""
    stem = path.name[:len(path.name) - len(suffix)]
    return path.with_name(f"{stem}_{label}{suffix or '.csv'}")


def _write(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)  # compression from the suffix (pandas infers it)


def _apply_spec(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Fill options from a TOML spec file; flags given on the command line win."""
    if not getattr(args, "spec", None):
        return
    with open(args.spec, "rb") as handle:
        try:
            spec = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"spec {args.spec}: {exc}") from None
    actions = {a.dest: a for a in parser._actions if a.dest not in ("help", "spec")}  # noqa: SLF001
    spelled: dict[str, str] = {}
    for key in spec:
        attr = key.replace("-", "_")
        if attr in spelled:
            raise ValueError(f"spec {args.spec}: {spelled[attr]!r} and {key!r} set the same "
                             "option")
        spelled[attr] = key
    for key, value in spec.items():
        attr = key.replace("-", "_")
        if attr not in actions:
            raise ValueError(f"spec {args.spec}: unknown key {key!r}; known: "
                             f"{sorted(k.replace('_', '-') for k in actions)}")
        if key in ("grid", "set"):
            if not isinstance(value, dict) or not value:
                raise ValueError(f"spec {args.spec}: {key!r} must be a table of name = "
                                 f"{'[values]' if key == 'grid' else 'value'}; got {value!r}")
            for name, item in value.items():
                items = item if key == "grid" and isinstance(item, list) else [item]
                if (key == "grid" and not isinstance(item, list)) or not items or not all(
                        _is_number(v) for v in items):
                    raise ValueError(f"spec {args.spec}: {key}.{name} must be "
                                     f"{'a list of numbers' if key == 'grid' else 'a number'}; "
                                     f"got {item!r}")
            # a name also typed with --grid / --set: the command line wins
            typed = {item.partition("=")[0].strip() for item in getattr(args, key)}
            if key == "grid":
                args.grid = [f"{k}={','.join(map(repr, v))}" for k, v in value.items()
                             if k not in typed] + args.grid
            else:
                args.set = [f"{k}={v!r}" for k, v in value.items() if k not in typed] \
                    + args.set
            continue
        if isinstance(value, dict) and actions[attr].nargs in ("*", "+") and \
                "=" in str(actions[attr].metavar):  # a table for NAME=VALUE pairs
            # a list value is several pairs of one name (covariate effects)
            value = [f"{k}={v}" for k, values in value.items()
                     for v in (values if isinstance(values, list) else [values])]
        _check_spec_value(args.spec, key, value, actions[attr])
        if attr not in args.given:
            setattr(args, attr, value)
            args.from_spec.add(attr)


def _given_options(parser: argparse.ArgumentParser, argv: list[str]) -> set[str]:
    """Destinations of the options typed in `argv` (long options may be abbreviated,
    as argparse allows, and take ``=value``)."""
    given = set()
    for token in argv:
        if not token.startswith("-") or token == "--":
            continue
        flag = token.split("=", 1)[0]
        exact = [a for a in parser._actions if flag in a.option_strings]  # noqa: SLF001
        prefix = [a for a in parser._actions  # noqa: SLF001
                  if flag.startswith("--") and any(o.startswith(flag) for o in a.option_strings)]
        for action in exact or (prefix if len(prefix) == 1 else []):
            given.add(action.dest)
    return given


def _is_number(value: object) -> bool:
    return is_real(value) and math.isfinite(value)


def _check_spec_value(path: str, key: str, value: object, action: argparse.Action) -> None:
    """A TOML value must have the type the command-line flag would give it."""
    kind = action.type
    if isinstance(action, argparse._StoreTrueAction):  # noqa: SLF001
        ok, want = isinstance(value, bool), "true or false"
    elif action.nargs in ("*", "+"):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value) and \
            (value or action.nargs == "*")
        want = "a list of strings"
    elif kind is float:
        ok, want = _is_number(value), "a number"
    elif kind is int:
        ok, want = is_integer(value), "an integer"
    elif kind is _executor:
        ok = (value in ("serial", "processes")) or (is_integer(value) and value >= 1)
        want = "'serial', 'processes' or a number of workers"
    else:
        ok, want = isinstance(value, str), "a string"
    if ok and action.choices is not None and value not in action.choices:
        ok, want = False, f"one of {list(action.choices)}"
    if not ok:
        raise ValueError(f"spec {path}: {key!r} must be {want}; got {value!r}")


def _parse_set(items: list[str]) -> dict[str, float]:
    values = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--set takes name=value; got {item!r}")
        if name.strip() in values:
            raise ValueError(f"--set {name.strip()} is given twice")
        try:
            values[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--set {name}: value must be a number; got {value!r}") from None
    return values


#: The options that describe the regimen (`_regimen`).
REGIMEN_OPTIONS = ("dose", "unit", "route", "duration", "schedule", "every", "count", "cycles")


def _typed(args: argparse.Namespace) -> set[str]:
    """The options the user gave, on the command line or in the --spec file."""
    return getattr(args, "given", set()) | getattr(args, "from_spec", set())


def _regimen(args: argparse.Namespace, time_unit: str | None = "h") -> Regimen:
    """The regimen the options describe; the clinical schedules count days in the
    model's `time_unit` (hours if it declares none)."""
    typed = _typed(args)
    unused = [o for o in ("every", "count") if o in typed and args.schedule != "repeat"]
    unused += ["cycles"] if "cycles" in typed and args.schedule in ("single", "repeat") else []
    if unused:
        raise ValueError(f"--{unused[0]} does not apply to --schedule {args.schedule} ("
                         f"--every/--count: --schedule repeat; --cycles: the clinical "
                         f"schedules); leave it out or choose the schedule it belongs to")
    dose = Dose(args.dose, unit=args.unit, route=args.route, duration=args.duration)
    unit = time_unit if time_unit in TIME_UNITS else "h"
    if args.schedule == "single":
        return Regimen.single(dose)
    if args.schedule == "repeat":
        return Regimen.repeat(dose, every=args.every, count=args.count)
    if args.schedule == "5on9off":
        return Regimen.five_on_nine_off(dose, cycles=args.cycles, time_unit=unit)
    if args.schedule == "days1-5+15-19":
        return Regimen.days(dose, [1, 2, 3, 4, 5, 15, 16, 17, 18, 19], course_days=42,
                            courses=args.cycles, time_unit=unit)
    if args.schedule == "tiw":
        return Regimen.three_times_weekly(dose, weeks=args.cycles, time_unit=unit)
    return Regimen.weekly(dose, weeks=args.cycles, time_unit=unit)


def _params(args: argparse.Namespace):
    return parameter_sets.load(args.params).with_values(_parse_set(args.set))


#: ``--model`` values naming il21pk's own models; anything else is an SBML file.
BUILT_IN_MODELS = {"full": Model, "v1": Model.v1, "pk": Model.pk_only}


def _setup(args: argparse.Namespace) -> tuple[Model, ParameterSet, Regimen]:
    """The model, parameter set and regimen a command runs.

    ``--model`` None or a built-in name: that model with ``--params``. An
    SBML file: its own values (what every verb defaults to, ``--set``
    overrides them) and the regimen's doses into ``--drug`` (no doses
    without it).
    """
    make = BUILT_IN_MODELS.get(args.model or "full")
    if make is not None:
        if args.drug:
            raise ValueError(f"--drug {args.drug!r} names an SBML species or parameter to "
                             f"dose: it needs --model <file.xml>; got --model {args.model}")
        model, params = make(), _params(args)  # an unknown name: the set's own error
        _check_set_names(model, args.set)
        return model, params, _regimen(args)
    if "params" in _typed(args):
        raise ValueError(f"--params {args.params!r} names a built-in parameter set; the SBML "
                         f"model {args.model} uses its own values (override them with --set)")
    model = Model.from_sbml(args.model, drugs={"drug": args.drug} if args.drug else None)
    params = resolve_params(model, None).with_values(_parse_set(args.set))
    _check_set_names(model, args.set)
    typed = sorted(_typed(args) & set(REGIMEN_OPTIONS))
    if typed and not args.drug:
        raise ValueError(f"--{typed[0]} describes doses, and an SBML model is dosed into the "
                         f"species or parameter --drug names: give --drug ID")
    regimen = _regimen(args, model.time_unit) if args.drug else Regimen.none()
    # in the model's unit, so that the regimen describes its times in it
    unit = model.time_unit if model.time_unit in TIME_UNITS else regimen.time_unit
    return model, params, replace(regimen, time_unit=unit, doses=tuple(
        replace(d, drug="drug") for d in regimen.doses))


def _check_set_names(model: object, items: list[str]) -> None:
    """Every ``--set`` name is a parameter the model reads (else it would change nothing)."""
    readable = model_inputs(model) if isinstance(model, Model) else set(model.parameter_names)
    for name in _parse_set(items):
        if name not in readable:
            raise ValueError(f"--set {name}: the model does not use parameter {name!r}, so "
                             "setting it would change nothing")


def _read_data(args: argparse.Namespace, model: object, params: ParameterSet,
               units: dict[str, str], regimen: Regimen | None, columns: dict[str, str]):
    """The observations: NONMEM rows (AMT in ``--unit``, CMT numbered as `model`
    numbers its compartments) or a table dosed by the regimen options; mass
    concentrations converted with the molecular weights in `params` (``--set mw=``)."""
    model = model if isinstance(model, Model) else None  # a closed form reads as Model()
    if args.nonmem:
        unused = sorted(_typed(args) & (set(REGIMEN_OPTIONS) - {"unit"}))
        if unused:
            raise ValueError(f"--{unused[0]} describes a regimen, and --nonmem data carry "
                             "theirs in their dosing records (AMT in --unit): leave it out")
        return read_csv(args.data, nonmem=True, units=units, model=model,
                        amount_unit=args.unit, mw=params)
    return read_csv(args.data, regimen=regimen, units=units, model=model, mw=params,
                    **columns)


def _cmd_params(args: argparse.Namespace) -> int:
    out = None if args.out is None else _table_path(args.out)
    frame = _params(args).to_frame()
    if out is not None:
        _write(frame, out)
        print(f"wrote {args.out}")
    else:
        print(frame.to_string(index=False))
    return 0


#: Figure formats matplotlib lists that need an external program (pgf: LaTeX).
_PLOT_NEEDS_PROGRAM = ("pgf",)


def _plot_path(text: str) -> Path:
    """``--plot``: a figure file in a format matplotlib writes by itself (checked
    before any work)."""
    from matplotlib.figure import Figure

    path = Path(text)
    formats = sorted(set(Figure().canvas.get_supported_filetypes()) - set(_PLOT_NEEDS_PROGRAM))
    if path.suffix.lower()[1:] not in formats:
        raise ValueError(f"--plot {text!r}: give a figure file ({', '.join(formats)}); "
                         f"got suffix {path.suffix!r}")
    return path


def _cmd_simulate(args: argparse.Namespace) -> int:
    out = _table_path(args.out)
    plot = None if args.plot is None else _plot_path(args.plot)
    model, params, regimen = _setup(args)
    result = simulate(model, regimen, params, t_end=args.t_end)
    _write(result.frame, out)
    metrics_path = _beside(out, "metrics")
    _write(result.metrics(), metrics_path)
    late = sum(d.time > args.t_end for d in regimen.doses)
    after = (f" ({late} of them after --t-end {args.t_end:g}, not given)" if late else "")
    print(f"{regimen.in_words()}{after}\nwrote {out} ({len(result.frame)} rows) and "
          f"{metrics_path}")
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        from .plotting import overview

        if model.kind == "sbml":
            from .plotting import time_course

            axes = [time_course(result.frame, model.variables[0].name)]
        else:  # the overview's chain, as far as this model reports it (pk: plasma IL-21)
            from .plotting import OVERVIEW

            reported = {v.name for v in model.variables}
            shown = [v for v in OVERVIEW if v in reported] or [model.variables[0].name]
            axes = overview(result.frame, shown, title=f"{params.name}: {regimen.in_words()}")
        plot.parent.mkdir(parents=True, exist_ok=True)
        axes[0].figure.savefig(plot, dpi=120)
        print(f"wrote {plot}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    out = _table_path(args.out)
    model, params, regimen = _setup(args)
    grid = _parse_grid(args.grid)
    if "dose" in _typed(args) and set(grid) & set(dose_columns(model)):
        raise ValueError("--dose is replaced by the dose values of --grid; leave it out")
    frame = sweep(model, regimen, params, grid=grid,
                  t_end=args.t_end, output=args.output, executor=args.executor,
                  variables=args.variables or None, metrics=args.metrics or None)
    _write(frame, out)
    print(f"wrote {args.out} ({len(frame)} rows, {frame['run'].nunique()} runs, "
          f"{int((~frame.drop_duplicates('run')['success']).sum())} failed)")
    return 0


def _default_responses(model: Model) -> str:
    """sCD25 (the biomarker every rIL-21 trial reported rising with dose) and
    IFN-gamma where the model has them; NK expansion and IFN-gamma in model v1."""
    names = {v.name for v in model.variables}
    first = "scd25_plasma" if "scd25_plasma" in names else "nk_total"
    return f"{first}:peak_fold_change,ifng_plasma:auc"


def _cmd_dose_response(args: argparse.Namespace) -> int:
    out = Path(args.out)  # created by the first _write, once the options are checked
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {args.out!r} is a file; give a folder for the table, the "
                         "fit and the figure")
    model, params, regimen = _setup(args)
    if not regimen.doses:
        raise ValueError(f"dose-response scales doses, and the SBML model {args.model} has none "
                         "to scale: name the species or parameter to dose with --drug ID")
    frames, summaries, results = [], [], []
    doses = None if args.doses is None else _numbers(args.doses, "--doses")
    if doses is not None and "dose" in _typed(args):
        raise ValueError("--dose sets the default dose grid, which --doses replaces; give "
                         "one of them")
    responses = args.responses or _default_responses(model)
    for item in responses.split(","):
        response, _, metric = item.partition(":")
        if not response.strip():
            raise ValueError(f"--responses takes variable:metric pairs; got {responses!r}")
        res = dose_response(model, regimen, params, doses=doses,
                            response=response.strip(), metric=(metric or "auc").strip(),
                            t_end=args.t_end, executor=args.executor)
        results.append(res)
        frames.append(res.frame)
        summaries.append(res.summary.assign(response=res.response, endpoint=res.endpoint))
    table = pd.concat(frames, ignore_index=True)
    fits = pd.concat(summaries, ignore_index=True)
    _write(table, out / "dose_response.csv")
    _write(fits, out / "dose_response_fit.csv")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.5 * len(results), 4.2),
                             layout="constrained", squeeze=False)
    for res, ax in zip(results, axes[0], strict=True):
        res.plot(ax=ax)
    fig.suptitle(f"{params.name}: {regimen.in_words()}", fontsize=9)
    fig.savefig(out / "dose_response.png", dpi=120)
    print(table.pivot_table(index="dose", columns=["response", "endpoint"],
                            values="value").to_string())
    print(fits[["response", "endpoint", "name", "estimate", "ci_low", "ci_high",
                "unit", "interval"]].to_string(index=False))
    print(f"wrote {out / 'dose_response.csv'}, {out / 'dose_response_fit.csv'} and "
          f"{out / 'dose_response.png'}")
    return 0


def _cmd_nca(args: argparse.Namespace) -> int:
    out = _table_path(args.out)
    path = Path(args.data)
    data = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else read_table(path)
    by = [name.strip() for name in args.by.split(",")] if args.by else None
    dose = args.dose
    if dose is not None:
        try:
            dose = float(dose)
        except ValueError:
            pass  # a column name
    lloq = args.lloq
    if lloq not in (None, "auto"):
        try:
            lloq = float(lloq)
        except ValueError:
            pass  # a column name
    table = nca(data, time=args.time, value=args.value, by=by, dose=dose, route=args.route,
                method=args.method, lloq=lloq, tau=args.tau, start=args.start)
    _write(table, out)
    print(table.to_string(index=False, max_cols=12))
    print(f"wrote {args.out}")
    return 0


def _pair_list(items: list[str], flag: str) -> list[tuple[str, str]]:
    """``["a=1", "b=2"]`` as ``[("a", "1"), ("b", "2")]``."""
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{flag} takes name=value; got {item!r}")
        out.append((key.strip(), value.strip()))
    return out


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    """``["a=1", "b=2"]`` as a mapping; a name given twice is an error (the last
    would win without a word)."""
    out: dict[str, str] = {}
    for key, value in _pair_list(items, flag):
        if key in out:
            raise ValueError(f"{flag} gives {key!r} twice ({out[key]!r} and {value!r}); give "
                             "each name once")
        out[key] = value
    return out


COLUMN_ARGS = ("time", "value", "variable", "subject", "dose", "lloq")


def _cmd_fit(args: argparse.Namespace) -> int:
    model, params, regimen = _setup(args)
    units = _pairs(args.units, "--units")
    columns = _pairs(args.columns, "--columns")
    unknown = sorted(set(columns) - set(COLUMN_ARGS))
    if unknown:
        raise ValueError(f"--columns takes {list(COLUMN_ARGS)}=<column>; got {unknown}")
    if columns.get("subject", "x").lower() in ("", "none"):
        columns["subject"] = None  # one subject, no subject column
    data = _read_data(args, model, params, units, regimen, columns)
    errors = _pairs(args.error, "--error") if any("=" in e for e in args.error) else \
        (args.error[0] if args.error else "proportional")
    result = fit(model, data, params, free=args.free, error_model=errors,
                 n_starts=args.n_starts, seed=args.seed, executor=args.executor)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(out / "fit_table.csv", index=False)
    result.residuals.to_csv(out / "fit_residuals.csv", index=False)
    (out / "fit_report.txt").write_text(result.report() + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import plotting

    fig, axes = plt.subplots(2, 2, figsize=(10, 8), layout="constrained")
    plotting.goodness_of_fit(result, "observed_vs_predicted", ax=axes[0, 0], log=True)
    plotting.goodness_of_fit(result, "wres_vs_time", ax=axes[0, 1])
    plotting.goodness_of_fit(result, "wres_vs_predicted", ax=axes[1, 0])
    plotting.vpc(result, data.variables[0], n=100, seed=args.seed, ax=axes[1, 1])
    fig.savefig(out / "fit_diagnostics.png", dpi=110)
    print(result.report())
    print(f"wrote {out}/fit_table.csv, fit_residuals.csv, fit_report.txt, fit_diagnostics.png")
    return 0


def _cmd_fit_population(args: argparse.Namespace) -> int:
    """Population fit (SAEM or FOCEi): tables, report and diagnostic plots in --out."""
    from .analysis.population import (
        FoceiSettings,
        OneCompartmentOral,
        SaemSettings,
        fit_population,
    )
    from .analysis.population.covariates import Categorical, Exponential, Linear, Power

    def mapping(value, flag):
        return dict(value) if isinstance(value, dict) else _pairs(value or [], flag)

    for flag in ("data", "free", "iiv"):
        if not getattr(args, flag):
            raise ValueError(f"give --{flag} (or `{flag}` in the --spec file)")

    model = {"full": Model, "v1": Model.v1, "pk": Model.pk_only,
             "pk1": lambda: Model.pk_only(compartments=1),
             "pk1-closed-form": OneCompartmentOral}[args.model]()
    iiv = {}
    for name, value in mapping(args.iiv, "--iiv").items():
        try:
            iiv[name] = float(value)
        except ValueError:
            raise ValueError(f"--iiv {name}: omega must be a number; got {value!r}") from None
    errors = args.error if isinstance(args.error, (dict, str)) else (
        _pairs(args.error, "--error") if any("=" in e for e in args.error) else
        (args.error[0] if args.error else "proportional"))
    kinds = {"power": Power, "exponential": Exponential, "linear": Linear,
             "categorical": Categorical}
    covariates: dict = {}
    # several effects on one parameter: repeated pairs (a --spec list gives them too)
    for parameter, text in _pair_list(args.covariate or [], "--covariate"):
        parts = str(text).split(":")
        if parts[0] not in kinds or len(parts) < 2:
            raise ValueError(f"--covariate {parameter}: give KIND:COLUMN[:REFERENCE[:VALUE]]"
                             f"[:estimate|:fixed] with KIND one of {list(kinds)}; got {text!r}")
        flag = parts[-1] if parts[-1] in ("estimate", "fixed") else None
        numbers = parts[2:-1] if flag else parts[2:]
        try:
            values = [float(x) for x in numbers]
        except ValueError:
            raise ValueError(f"--covariate {parameter}: reference and value must be numbers; "
                             f"got {text!r}") from None
        if parts[0] == "categorical":
            effect = Categorical(parts[1], reference=values[0] if values else None)
        elif parts[0] == "power":
            effect = Power(parts[1], values[0] if values else 70.0,
                           values[1] if len(values) > 1 else 0.75)
        else:
            effect = kinds[parts[0]](parts[1], values[0] if values else 0.0,
                                     values[1] if len(values) > 1 else 0.0)
        if flag:  # else the effect's own default: power fixed, the others estimated
            effect = replace(effect, estimate=flag == "estimate")
        covariates.setdefault(parameter, []).append(effect)
    options = mapping(args.settings, "--settings")
    cls = SaemSettings if args.method == "saem" else FoceiSettings
    fields = cls.__dataclass_fields__
    for key, value in options.items():
        if key not in fields:
            raise ValueError(f"--settings {key}: unknown {cls.__name__} field; known: "
                             f"{sorted(fields)}")
        if isinstance(value, str) and isinstance(fields[key].default, str):
            value = value.strip()  # a text field (FoceiSettings.standard_errors)
        elif isinstance(value, str):
            text = value.strip()
            value = {"true": True, "false": False}.get(text.lower(), text)
            if isinstance(value, str):
                try:
                    value = int(text)
                except ValueError:
                    try:
                        value = float(text)
                    except ValueError:
                        raise ValueError(f"--settings {key}: value must be a number, true or "
                                         f"false; got {text!r}") from None
        options[key] = value
    params = _params(args)
    _check_set_names(model, args.set)
    data = _read_data(args, model, params, mapping(args.units, "--units"),
                      None if args.nonmem else _regimen(args), mapping(args.columns, "--columns"))
    result = fit_population(model, data, params, free=args.free, iiv=iiv,
                            method=args.method, covariates=covariates or None,
                            error_model=errors, covariance=args.covariance, seed=args.seed,
                            settings=cls(**options), n_starts=args.n_starts,
                            executor=args.executor)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(out / "population_table.csv", index=False)
    result.individual.to_csv(out / "individual.csv", index=False)
    result.predictions.to_csv(out / "predictions.csv", index=False)
    result.convergence.to_csv(out / "convergence.csv")
    vpc = pd.concat([result.vpc(v, n=args.vpc_n, seed=args.seed).assign(variable=v)
                     for v in data.variables], ignore_index=True)
    vpc.to_csv(out / "vpc.csv", index=False)
    (out / "report.txt").write_text(result.report() + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variables = data.variables
    fig, axes = plt.subplots(len(variables), 4, figsize=(16, 3.6 * len(variables)),
                             layout="constrained", squeeze=False)
    for row, var in zip(axes, variables, strict=True):
        result.plot_gof("observed_vs_pred", variable=var, ax=row[0], log=True)
        result.plot_gof("observed_vs_ipred", variable=var, ax=row[1], log=True)
        result.plot_gof("cwres_vs_time", variable=var, ax=row[2])
        result.plot_vpc(var, ax=row[3], n=args.vpc_n, seed=args.seed)
    fig.savefig(out / "diagnostics.png", dpi=100)
    axes = result.plot_convergence()
    axes.ravel()[0].figure.savefig(out / "convergence.png", dpi=100)
    plt.close("all")
    print(result.report())
    print(f"wrote {out}/population_table.csv, individual.csv, predictions.csv, convergence.csv, "
          "vpc.csv, report.txt, diagnostics.png, convergence.png")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``il21pk`` argument parser."""
    parser = _Parser(prog="il21pk", description="IL-21 PK/PD model")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_params(p: argparse.ArgumentParser) -> None:
        p.add_argument("--params", default="human", help="parameter set (default: human)")
        p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                       help="override a parameter, e.g. --set cl=4 (repeatable)")

    p = sub.add_parser("params", help="print or save a parameter set")
    add_params(p)
    p.add_argument("--out", help="table to write instead of printing (.csv, .csv.gz, .parquet)")
    p.set_defaults(func=_cmd_params)

    def add_model(p: argparse.ArgumentParser, default: str | None = None) -> None:
        built_in = f"{', '.join(BUILT_IN_MODELS)} (default {default})" if default else \
            "default il21pk's full model"
        p.add_argument("--model", default=default, metavar="FILE.xml",
                       help=f"an SBML file to run instead (its own values; --set overrides "
                            f"them; times in its time unit), or {built_in}")
        p.add_argument("--drug", metavar="ID", help="with an SBML --model: dose this species or "
                       "parameter (amounts in the model's substance unit: use --unit nmol)")

    def add_regimen(p: argparse.ArgumentParser) -> None:
        p.add_argument("--dose", type=float, default=30.0, help="dose amount (default 30)")
        p.add_argument("--unit", default="ug/kg", help="dose unit (default ug/kg)")
        p.add_argument("--route", default="iv", help="iv or sc (default iv)")
        p.add_argument("--duration", type=float, default=0.0,
                       help="infusion duration [h; --model file.xml: its time unit]")
        p.add_argument("--schedule", choices=SCHEDULES, default="5on9off")
        p.add_argument("--every", type=float, default=24.0,
                       help="interval [h; --model file.xml: its time unit] for 'repeat'")
        p.add_argument("--count", type=int, default=5, help="number of doses for 'repeat'")
        p.add_argument("--cycles", type=int, default=2,
                       help="cycles/courses/weeks for the clinical schedules (default 2)")
        p.add_argument("--t-end", type=float, default=28 * 24.0,
                       help="end time [h; --model file.xml: its time unit] (default 672)")

    p = sub.add_parser("simulate", help="simulate one regimen; write the tidy CSV (+ plot)")
    add_params(p)
    add_regimen(p)
    p.add_argument("--out", default="results/simulation.csv",
                   help="tidy table to write (.csv, .csv.gz, .parquet); metrics beside it")
    p.add_argument("--plot", help="figure of the time courses to write (.png, .pdf, .svg ...)")
    add_model(p)
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser("sweep", help="sweep a grid; write a tidy CSV or parquet")
    add_params(p)
    add_regimen(p)
    p.add_argument("--spec", help="TOML file with any of these options and a [grid] table")
    p.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2",
                   help="swept values (repeatable); NAME is a parameter or 'dose'")
    p.add_argument("--output", choices=("summary", "trajectories"), default="summary")
    p.add_argument("--variables", nargs="*", help="variables to keep")
    p.add_argument("--metrics", nargs="*", help="metrics to keep (summary output)")
    p.add_argument("--executor", default=None, type=_executor,
                   help="serial, processes or a number of workers (default: auto)")
    add_model(p)
    p.add_argument("--out", default="results/sweep.csv", help=".csv, .csv.gz or .parquet to write")
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("dose-response", help="dose-response table, Emax/Hill fits and figure")
    add_params(p)
    add_regimen(p)
    p.add_argument("--spec", help="TOML file with any of these options")
    p.add_argument("--doses", default=None,
                   help="comma-separated doses in --unit (default: a grid that spans the "
                        "response, from 0 and 1e-3 x --dose upwards)")
    p.add_argument("--responses", default=None,
                   help="variable:metric pairs, comma-separated (default: "
                        "scd25_plasma:peak_fold_change,ifng_plasma:auc; model v1: "
                        "nk_total:peak_fold_change,ifng_plasma:auc)")
    p.add_argument("--executor", default=None, type=_executor,
                   help="serial, processes or a number of workers (default: auto)")
    add_model(p)
    p.add_argument("--out", default="results", help="directory for the table and figure")
    p.set_defaults(func=_cmd_dose_response)

    p = sub.add_parser("fit", help="fit the model to a CSV of observations")
    add_params(p)
    add_regimen(p)
    p.add_argument("--data", required=True, help="CSV with the observations")
    p.add_argument("--nonmem", action="store_true",
                   help="NONMEM layout (ID, TIME, AMT, DV, EVID, MDV, CMT, DVID, ...); "
                        "AMT in --unit")
    p.add_argument("--columns", nargs="*", default=[], metavar="ARG=COLUMN",
                   help="column mapping for a plain CSV, e.g. time=Time value=Conc "
                        "variable=il21_plasma subject=ID dose=Dose (subject=none: one subject)")
    p.add_argument("--units", nargs="*", default=[], metavar="VARIABLE=UNIT",
                   help="units of the observations, e.g. il21_plasma=ng/mL")
    add_model(p, default="full")
    p.add_argument("--free", nargs="+", required=True, help="parameters to estimate")
    p.add_argument("--error", nargs="*", default=["proportional"],
                   help="one error model for all, or VARIABLE=MODEL pairs")
    p.add_argument("--n-starts", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--executor", default=None, type=_executor,
                   help="serial, processes or a number of workers (default: auto)")
    p.add_argument("--out", default="results/fit", help="directory for tables and plots")
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser("fit-population",
                       help="population (NLME) fit by SAEM or FOCEi: tables and diagnostics")
    add_params(p)
    add_regimen(p)
    p.add_argument("--spec", help="TOML file with any of these options; tables [iiv], "
                   "[covariate], [settings], [columns], [units], [error] for the pairs")
    p.add_argument("--data", help="CSV with the observations")
    p.add_argument("--nonmem", action="store_true",
                   help="NONMEM layout (ID, TIME, AMT, DV, EVID, MDV, CMT, DVID, WT, ...); "
                        "AMT in --unit")
    p.add_argument("--columns", nargs="*", default=[], metavar="ARG=COLUMN",
                   help="column mapping for a plain CSV (as for `fit`)")
    p.add_argument("--units", nargs="*", default=[], metavar="VARIABLE=UNIT")
    p.add_argument("--model", choices=("full", "v1", "pk", "pk1", "pk1-closed-form"),
                   default="full",
                   help="the default IL-21 model (v2), model v1, PK only (2 compartments), PK "
                        "only 1 compartment, "
                        "or its closed form (first-order absorption, IV bolus; fastest)")
    p.add_argument("--free", nargs="+", default=[], help="typical values to estimate")
    p.add_argument("--iiv", nargs="+", default=[], metavar="NAME=OMEGA",
                   help="between-subject variability: initial SD of eta, e.g. cl=0.3")
    p.add_argument("--method", choices=("saem", "focei"), default="saem")
    p.add_argument("--covariance", default="diagonal", choices=("diagonal", "full"),
                   help="structure of Omega")
    p.add_argument("--covariate", nargs="*", default=[], metavar="PARAM=KIND:COLUMN:...",
                   help="KIND:COLUMN[:REFERENCE[:VALUE]][:estimate|:fixed], e.g. "
                        "cl=power:body_weight:70:0.75:estimate, v_central=categorical:sex:0, "
                        "cl=exponential:age:50 (power is fixed unless :estimate, the others "
                        "estimated unless :fixed; a parameter may take several)")
    p.add_argument("--error", nargs="*", default=["proportional"],
                   help="one error model for all, or VARIABLE=MODEL pairs")
    p.add_argument("--settings", nargs="*", default=[], metavar="FIELD=VALUE",
                   help="SaemSettings/FoceiSettings fields, e.g. k1=200 is_draws=2000")
    p.add_argument("--n-starts", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vpc-n", type=int, default=200, help="VPC replicates (default 200)")
    p.add_argument("--executor", default=None, type=_executor,
                   help="serial, processes or a worker count")
    p.add_argument("--out", default="results/population", help="directory for the outputs")
    p.set_defaults(func=_cmd_fit_population)

    p = sub.add_parser("nca", help="non-compartmental analysis of a CSV/parquet of curves")
    p.add_argument("--data", required=True, help="CSV or parquet with the curves")
    p.add_argument("--time", default="time_h", help="time column [h]")
    p.add_argument("--value", default="value", help="concentration/response column")
    p.add_argument("--by", help="comma-separated columns identifying a curve")
    p.add_argument("--dose", help="dose (number or column) for CL and Vz")
    p.add_argument("--route", choices=("iv", "extravascular"), default="iv")
    p.add_argument("--method", choices=("linear-up-log-down", "linear"),
                   default="linear-up-log-down")
    p.add_argument("--lloq", default="auto",
                   help="LLOQ: a number, a column, 'auto' (1e-6 x Cmax, default) or 'none'")
    p.add_argument("--tau", type=float, help="dosing interval [h] for multiple-dose statistics")
    p.add_argument("--start", type=float, help="start [h] of the dosing interval analysed")
    p.add_argument("--out", default="results/nca.csv", help=".csv, .csv.gz or .parquet to write")
    p.set_defaults(func=_cmd_nca)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for user mistakes and failed runs)."""
    parser = build_parser()
    command = "il21pk"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            args = parser.parse_args(argv)
            command = f"il21pk {args.command}"
            sub = parser._subparsers._group_actions[0].choices[args.command]  # noqa: SLF001
            args.given = _given_options(sub, sys.argv[1:] if argv is None else argv)
            args.from_spec = set()
            _apply_spec(args, sub)
            if args.command == "nca" and args.lloq == "none":
                args.lloq = None
            status = args.func(args)
        except _UsageError as exc:
            return _fail(command, str(exc))
        except (Il21pkError, ValueError, TypeError, OSError, tomllib.TOMLDecodeError) as exc:
            return _fail(command, str(exc))
        except Exception as exc:  # a bug, not a user mistake: still one line
            if os.environ.get("IL21PK_TRACEBACK"):
                raise
            return _fail(command, f"internal error {type(exc).__name__}: {exc} (please report "
                                  "it; IL21PK_TRACEBACK=1 shows the traceback)", status=1)
    for warning in caught:
        text = " ".join(str(warning.message).split())
        print(f"{command}: warning: {text}", file=sys.stderr)
    return status


def _fail(command: str, message: str, status: int = 2) -> int:
    """Print one line to stderr (never a traceback) and return `status`."""
    text = " ".join(message.split()) or "failed"
    print(f"{command}: error: {text}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
