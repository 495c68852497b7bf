"""Command line: sub-commands that call the public API and hold no logic of their own.

User mistakes print one line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import tomllib

from . import parameter_sets
from .data import read_csv
from .dose_response import dose_response
from .errors import Il21pkError
from .fitting import fit
from .model import Model
from .nca import nca
from .regimen import Dose, Regimen
from .simulate import simulate
from .sweep import sweep

SCHEDULES = ("single", "repeat", "5on9off", "days1-5+15-19", "tiw", "weekly")


def _numbers(text: str, flag: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"{flag} takes comma-separated numbers; got {text!r}") from None


def _parse_grid(items: list[str]) -> dict[str, list[float]]:
    grid = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep:
            raise ValueError(f"--grid takes name=v1,v2,...; got {item!r}")
        grid[name.strip()] = _numbers(values, f"--grid {name}")
    return grid


def _write(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)


def _apply_spec(args: argparse.Namespace) -> None:
    """Fill options from a TOML spec file; flags given on the command line win."""
    if not getattr(args, "spec", None):
        return
    with open(args.spec, "rb") as handle:
        spec = tomllib.load(handle)
    for key, value in spec.items():
        attr = key.replace("-", "_")
        if not hasattr(args, attr):
            raise ValueError(f"spec {args.spec}: unknown key {key!r}")
        if key == "grid":
            args.grid = [f"{k}={','.join(map(str, v))}" for k, v in value.items()] + args.grid
        elif key == "set":
            args.set = [f"{k}={v}" for k, v in value.items()] + args.set
        elif getattr(args, attr) == args.parser_defaults.get(attr):
            setattr(args, attr, value)


def _parse_set(items: list[str]) -> dict[str, float]:
    values = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set takes name=value; got {item!r}")
        try:
            values[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--set {name}: value must be a number; got {value!r}") from None
    return values


def _regimen(args: argparse.Namespace) -> Regimen:
    dose = Dose(args.dose, unit=args.unit, route=args.route, duration=args.duration)
    if args.schedule == "single":
        return Regimen.single(dose)
    if args.schedule == "repeat":
        return Regimen.repeat(dose, every=args.every, count=args.count)
    if args.schedule == "5on9off":
        return Regimen.five_on_nine_off(dose, cycles=args.cycles)
    if args.schedule == "days1-5+15-19":
        return Regimen.days(dose, [1, 2, 3, 4, 5, 15, 16, 17, 18, 19], course_days=42,
                            courses=args.cycles)
    if args.schedule == "tiw":
        return Regimen.three_times_weekly(dose, weeks=args.cycles)
    return Regimen.weekly(dose, weeks=args.cycles)


def _params(args: argparse.Namespace):
    return parameter_sets.load(args.params).with_values(_parse_set(args.set))


def _cmd_params(args: argparse.Namespace) -> int:
    frame = _params(args).to_frame()
    if args.out:
        frame.to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    else:
        print(frame.to_string(index=False))
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    params = _params(args)
    regimen = _regimen(args)
    result = simulate(Model(), regimen, params, t_end=args.t_end)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result.to_csv(out)
    metrics_path = out.with_name(out.stem + "_metrics.csv")
    result.metrics().to_csv(metrics_path, index=False)
    print(f"{regimen.in_words()}\nwrote {out} ({len(result.frame)} rows) and {metrics_path}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from .plotting import overview

        axes = overview(result.frame, title=f"{params.name}: {regimen.in_words()}")
        plot = Path(args.plot)
        plot.parent.mkdir(parents=True, exist_ok=True)
        axes[0].figure.savefig(plot, dpi=120)
        print(f"wrote {plot}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    frame = sweep(Model(), _regimen(args), _params(args), grid=_parse_grid(args.grid),
                  t_end=args.t_end, output=args.output, executor=args.executor,
                  variables=args.variables or None, metrics=args.metrics or None)
    _write(frame, Path(args.out))
    print(f"wrote {args.out} ({len(frame)} rows, {frame['run'].nunique()} runs, "
          f"{int((~frame.drop_duplicates('run')['success']).sum())} failed)")
    return 0


def _cmd_dose_response(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    regimen = _regimen(args)
    params = _params(args)
    frames, summaries, results = [], [], []
    for item in args.responses.split(","):
        response, _, metric = item.partition(":")
        res = dose_response(Model(), regimen, params, doses=_numbers(args.doses, "--doses"),
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
                "unit"]].to_string(index=False))
    print(f"wrote {out / 'dose_response.csv'}, {out / 'dose_response_fit.csv'} and "
          f"{out / 'dose_response.png'}")
    return 0


def _cmd_nca(args: argparse.Namespace) -> int:
    path = Path(args.data)
    data = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    by = args.by.split(",") if args.by else None
    dose = args.dose
    if dose is not None:
        try:
            dose = float(dose)
        except ValueError:
            pass  # a column name
    table = nca(data, time=args.time, value=args.value, by=by, dose=dose, route=args.route,
                method=args.method)
    _write(table, Path(args.out))
    print(table.to_string(index=False, max_cols=12))
    print(f"wrote {args.out}")
    return 0


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{flag} takes name=value; got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _cmd_fit(args: argparse.Namespace) -> int:
    units = _pairs(args.units, "--units")
    if args.nonmem:
        data = read_csv(args.data, nonmem=True, units=units)
    else:
        data = read_csv(args.data, regimen=_regimen(args), units=units,
                        **_pairs(args.columns, "--columns"))
    model = Model.pk_only() if args.model == "pk" else Model()
    errors = _pairs(args.error, "--error") if any("=" in e for e in args.error) else \
        (args.error[0] if args.error else "proportional")
    result = fit(model, data, _params(args), free=args.free, error_model=errors,
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

    model = {"full": Model, "pk": Model.pk_only,
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
    for parameter, text in mapping(args.covariate, "--covariate").items():
        parts = str(text).split(":")
        if parts[0] not in kinds or len(parts) < 2:
            raise ValueError(f"--covariate {parameter}: give KIND:COLUMN[:REFERENCE[:VALUE"
                             f"[:estimate]]] with KIND one of {list(kinds)}; got {text!r}")
        estimate = parts[-1] == "estimate"
        numbers = [p for p in parts[2:] if p != "estimate"]
        try:
            values = [float(x) for x in numbers]
        except ValueError:
            raise ValueError(f"--covariate {parameter}: reference and value must be numbers; "
                             f"got {text!r}") from None
        if parts[0] == "categorical":
            effect = Categorical(parts[1], reference=values[0] if values else None)
        elif parts[0] == "power":
            effect = Power(parts[1], values[0] if values else 70.0,
                           values[1] if len(values) > 1 else 0.75, estimate)
        else:
            effect = kinds[parts[0]](parts[1], values[0] if values else 0.0,
                                     values[1] if len(values) > 1 else 0.0, True)
        covariates.setdefault(parameter, []).append(effect)
    options = mapping(args.settings, "--settings")
    cls = SaemSettings if args.method == "saem" else FoceiSettings
    fields = cls.__dataclass_fields__
    for key, value in options.items():
        if key not in fields:
            raise ValueError(f"--settings {key}: unknown {cls.__name__} field; known: "
                             f"{sorted(fields)}")
        if isinstance(value, str):
            value = value.strip()
            value = {"true": True, "false": False}.get(value.lower(), value)
            if isinstance(value, str):
                value = float(value) if any(c in value for c in ".e") else int(value)
        options[key] = value
    units = mapping(args.units, "--units")
    if args.nonmem:
        data = read_csv(args.data, nonmem=True, units=units)
    else:
        data = read_csv(args.data, regimen=_regimen(args), units=units,
                        **mapping(args.columns, "--columns"))
    result = fit_population(model, data, _params(args), free=args.free, iiv=iiv,
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
    parser = argparse.ArgumentParser(prog="il21pk", description="IL-21 PK/PD model")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_params(p: argparse.ArgumentParser) -> None:
        p.add_argument("--params", default="human", help="parameter set (default: human)")
        p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                       help="override a parameter, e.g. --set cl=4 (repeatable)")

    p = sub.add_parser("params", help="print or save a parameter set")
    add_params(p)
    p.add_argument("--out", help="CSV file to write instead of printing")
    p.set_defaults(func=_cmd_params)

    def add_regimen(p: argparse.ArgumentParser) -> None:
        p.add_argument("--dose", type=float, default=30.0, help="dose amount (default 30)")
        p.add_argument("--unit", default="ug/kg", help="dose unit (default ug/kg)")
        p.add_argument("--route", default="iv", help="iv or sc (default iv)")
        p.add_argument("--duration", type=float, default=0.0, help="infusion duration [h]")
        p.add_argument("--schedule", choices=SCHEDULES, default="5on9off")
        p.add_argument("--every", type=float, default=24.0, help="interval [h] for 'repeat'")
        p.add_argument("--count", type=int, default=5, help="number of doses for 'repeat'")
        p.add_argument("--cycles", type=int, default=2,
                       help="cycles/courses/weeks for the clinical schedules (default 2)")
        p.add_argument("--t-end", type=float, default=28 * 24.0,
                       help="end time [h] (default 672)")

    p = sub.add_parser("simulate", help="simulate one regimen; write the tidy CSV (+ plot)")
    add_params(p)
    add_regimen(p)
    p.add_argument("--out", default="results/simulation.csv", help="tidy CSV to write")
    p.add_argument("--plot", help="PNG of the time courses to write")
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
    p.add_argument("--executor", default=None, help="serial or processes (default: auto)")
    p.add_argument("--out", default="results/sweep.csv", help=".csv or .parquet to write")
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("dose-response", help="dose-response table, Emax/Hill fits and figure")
    add_params(p)
    add_regimen(p)
    p.add_argument("--spec", help="TOML file with any of these options")
    p.add_argument("--doses", default="1,2,3,5,10,20,30,50,100",
                   help="comma-separated doses in --unit (default 1..100)")
    p.add_argument("--responses", default="nk_total:peak_fold_change,ifng_plasma:auc",
                   help="variable:metric pairs, comma-separated")
    p.add_argument("--executor", default=None, help="serial or processes (default: auto)")
    p.add_argument("--out", default="results", help="directory for the table and figure")
    p.set_defaults(func=_cmd_dose_response)

    p = sub.add_parser("fit", help="fit the model to a CSV of observations")
    add_params(p)
    add_regimen(p)
    p.add_argument("--data", required=True, help="CSV with the observations")
    p.add_argument("--nonmem", action="store_true",
                   help="NONMEM layout (ID, TIME, AMT, DV, EVID, MDV, CMT, DVID, ...)")
    p.add_argument("--columns", nargs="*", default=[], metavar="ARG=COLUMN",
                   help="column mapping for a plain CSV, e.g. time=Time value=Conc "
                        "variable=il21_plasma subject=ID dose=Dose")
    p.add_argument("--units", nargs="*", default=[], metavar="VARIABLE=UNIT",
                   help="units of the observations, e.g. il21_plasma=ng/mL")
    p.add_argument("--model", choices=("full", "pk"), default="full")
    p.add_argument("--free", nargs="+", required=True, help="parameters to estimate")
    p.add_argument("--error", nargs="*", default=["proportional"],
                   help="one error model for all, or VARIABLE=MODEL pairs")
    p.add_argument("--n-starts", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--executor", default=None, help="serial or processes (default: auto)")
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
                   help="NONMEM layout (ID, TIME, AMT, DV, EVID, MDV, CMT, DVID, WT, ...)")
    p.add_argument("--columns", nargs="*", default=[], metavar="ARG=COLUMN",
                   help="column mapping for a plain CSV (as for `fit`)")
    p.add_argument("--units", nargs="*", default=[], metavar="VARIABLE=UNIT")
    p.add_argument("--model", choices=("full", "pk", "pk1", "pk1-closed-form"), default="full",
                   help="full IL-21 model, PK only (2 compartments), PK only 1 compartment, "
                        "or its closed form (first-order absorption, IV bolus; fastest)")
    p.add_argument("--free", nargs="+", default=[], help="typical values to estimate")
    p.add_argument("--iiv", nargs="+", default=[], metavar="NAME=OMEGA",
                   help="between-subject variability: initial SD of eta, e.g. cl=0.3")
    p.add_argument("--method", choices=("saem", "focei"), default="saem")
    p.add_argument("--covariance", default="diagonal", choices=("diagonal", "full"),
                   help="structure of Omega")
    p.add_argument("--covariate", nargs="*", default=[], metavar="PARAM=KIND:COLUMN:...",
                   help="e.g. cl=power:body_weight:70:0.75:estimate, "
                        "v_central=categorical:sex:0, cl=exponential:age:50")
    p.add_argument("--error", nargs="*", default=["proportional"],
                   help="one error model for all, or VARIABLE=MODEL pairs")
    p.add_argument("--settings", nargs="*", default=[], metavar="FIELD=VALUE",
                   help="SaemSettings/FoceiSettings fields, e.g. k1=200 is_draws=2000")
    p.add_argument("--n-starts", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vpc-n", type=int, default=200, help="VPC replicates (default 200)")
    p.add_argument("--executor", default=None, help="serial, processes or a worker count")
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
    p.add_argument("--out", default="results/nca.csv", help=".csv or .parquet to write")
    p.set_defaults(func=_cmd_nca)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for user mistakes)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    sub = parser._subparsers._group_actions[0].choices[args.command]  # noqa: SLF001
    args.parser_defaults = {a.dest: a.default for a in sub._actions}  # noqa: SLF001
    try:
        _apply_spec(args)
        if getattr(args, "executor", None) not in (None, "serial", "processes"):
            args.executor = int(args.executor)
        return args.func(args)
    except (Il21pkError, ValueError, TypeError, OSError, tomllib.TOMLDecodeError) as exc:
        print(f"il21pk {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
