"""Command line: sub-commands that call the public API and hold no logic of their own.

User mistakes print one line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import parameter_sets
from .errors import Il21pkError
from .model import Model
from .regimen import Dose, Regimen
from .simulate import simulate

SCHEDULES = ("single", "repeat", "5on9off", "days1-5+15-19", "tiw", "weekly")


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

    p = sub.add_parser("simulate", help="simulate one regimen; write the tidy CSV (+ plot)")
    add_params(p)
    p.add_argument("--dose", type=float, default=30.0, help="dose amount (default 30)")
    p.add_argument("--unit", default="ug/kg", help="dose unit (default ug/kg)")
    p.add_argument("--route", default="iv", help="iv or sc (default iv)")
    p.add_argument("--duration", type=float, default=0.0, help="infusion duration [h]")
    p.add_argument("--schedule", choices=SCHEDULES, default="5on9off")
    p.add_argument("--every", type=float, default=24.0, help="interval [h] for 'repeat'")
    p.add_argument("--count", type=int, default=5, help="number of doses for 'repeat'")
    p.add_argument("--cycles", type=int, default=2,
                   help="cycles/courses/weeks for the clinical schedules (default 2)")
    p.add_argument("--t-end", type=float, default=28 * 24.0, help="end time [h] (default 672)")
    p.add_argument("--out", default="results/simulation.csv", help="tidy CSV to write")
    p.add_argument("--plot", help="PNG of the time courses to write")
    p.set_defaults(func=_cmd_simulate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for user mistakes)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (Il21pkError, ValueError, TypeError) as exc:
        print(f"il21pk {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
