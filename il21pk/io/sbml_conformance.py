"""Run SBML Test Suite cases against an importer + simulator, and tabulate the outcome.

A case is a folder ``NNNNN/`` with ``NNNNN-sbml-l3v1.xml`` (or another
level), ``NNNNN-settings.txt`` and ``NNNNN-results.csv``. It passes when
every requested variable at every requested time satisfies
``|simulated - expected| <= absolute + relative * |expected|`` with the
tolerances of its settings file.

The simulator is a parameter (default: :func:`simulate_reference`); the
compiled engine runs the same cases through :func:`simulate_engine`
(``Model.from_sbml`` + ``simulate``). Run as a module to rebuild
``docs/sbml_conformance.md`` (``--engine``: also every case on the engine)::

    python -m il21pk.io.sbml_conformance SUITE.tar.gz docs/sbml_conformance.md \\
        --failures tests/sbml_suite_expected_failures.txt --engine \\
        --engine-failures tests/sbml_suite_engine_expected_failures.txt
"""

from __future__ import annotations

import argparse
import tarfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .ode_system import OdeSystem
from .reference_sim import simulate_reference
from .sbml_errors import SbmlError
from .sbml_import import read_sbml

#: ``simulator(system, times, variables=[...])`` -> DataFrame with ``time`` + one column each.
Simulator = Callable[..., pd.DataFrame]


@dataclass(frozen=True)
class CaseSettings:
    """The parsed ``NNNNN-settings.txt`` of one case."""

    start: float
    duration: float
    steps: int
    variables: tuple[str, ...]
    absolute: float
    relative: float
    amount: tuple[str, ...]
    concentration: tuple[str, ...]

    @property
    def times(self) -> np.ndarray:
        """The output times the results file lists."""
        return np.linspace(self.start, self.start + self.duration, self.steps + 1)

    def column(self, variable: str) -> str:
        """libRoadRunner's name for a variable: ``[S]`` if it is compared as a concentration."""
        return f"[{variable}]" if variable in self.concentration else variable


@dataclass(frozen=True)
class CaseResult:
    """Outcome of one case."""

    case: str
    passed: bool
    reason: str
    seconds: float


def parse_settings(text: str) -> CaseSettings:
    """Parse the settings file of a test case."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if ":" in line:
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()

    def names(key: str) -> tuple[str, ...]:
        return tuple(v.strip() for v in fields.get(key, "").split(",") if v.strip())

    return CaseSettings(
        start=float(fields["start"]),
        duration=float(fields["duration"]),
        steps=int(float(fields["steps"])),
        variables=names("variables"),
        absolute=float(fields["absolute"]),
        relative=float(fields["relative"]),
        amount=names("amount"),
        concentration=names("concentration"),
    )


def model_file(case_dir: Path) -> Path:
    """The case's SBML file, preferring Level 3 Version 1 (then L3V2, then Level 2)."""
    case = case_dir.name
    for suffix in ("l3v1", "l3v2", "l2v5", "l2v4", "l2v3"):
        path = case_dir / f"{case}-sbml-{suffix}.xml"
        if path.is_file():
            return path
    found = sorted(case_dir.glob(f"{case}-sbml-*.xml"))
    if not found:
        raise FileNotFoundError(f"case {case}: no SBML file in {case_dir}")
    return found[-1]


def compare(simulated: pd.DataFrame, expected: pd.DataFrame, settings: CaseSettings) -> str | None:
    """``None`` if every variable is within tolerance, else a sentence naming the worst miss.

    `simulated` holds the time and then the settings' variables, in order;
    `expected` is the results file (time first, then a column per variable).
    """
    worst: tuple[float, str] | None = None
    for j, variable in enumerate(settings.variables):
        column = settings.column(variable)
        want = _expected_column(expected, settings, j).to_numpy(dtype=float)
        got = simulated.iloc[:, 1 + j].to_numpy(dtype=float)
        both_nan = np.isnan(want) & np.isnan(got)
        same_inf = np.isinf(want) & (want == got)
        with np.errstate(invalid="ignore"):
            error = np.abs(got - want)
        allowed = settings.absolute + settings.relative * np.abs(want)
        bad = ~(both_nan | same_inf) & ~(error <= allowed)
        if bad.any():
            i = int(np.argmax(np.where(bad, np.nan_to_num(error / allowed, nan=np.inf), -1)))
            excess = float(error[i] / allowed[i]) if np.isfinite(error[i]) else np.inf
            message = (
                f"{column} at t={expected.iloc[i, 0]:g}: got {got[i]:.6g}, "
                f"expected {want[i]:.6g} ({int(bad.sum())} point(s) out of tolerance)"
            )
            if worst is None or excess > worst[0]:
                worst = (excess, message)
    return None if worst is None else worst[1]


def _expected_column(expected: pd.DataFrame, settings: CaseSettings, j: int) -> pd.Series:
    """The results-file column of the j-th variable (by position when the header matches)."""
    header = [str(c).strip() for c in expected.columns[1:]]
    if len(header) == len(settings.variables) and all(
        h == v or h.startswith(v + ".") for h, v in zip(header, settings.variables, strict=True)
    ):
        return expected.iloc[:, 1 + j]
    return expected[settings.variables[j]]


def run_case(case_dir: Path, simulator: Simulator = simulate_reference) -> CaseResult:
    """Import, simulate and compare one case folder."""
    start = time.perf_counter()
    case = case_dir.name
    try:
        settings = parse_settings((case_dir / f"{case}-settings.txt").read_text())
        expected = pd.read_csv(case_dir / f"{case}-results.csv")
        expected.columns = [c.strip() for c in expected.columns]
        system = read_sbml(model_file(case_dir))
        columns = [settings.column(v) for v in settings.variables]
        times = expected.iloc[:, 0].to_numpy(dtype=float)
        simulated = simulator(system, times, variables=columns)
        miss = compare(simulated, expected, settings)
        passed, reason = miss is None, miss or ""
    except SbmlError as error:
        passed, reason = False, f"unsupported: {error}"
    except Exception as error:  # noqa: BLE001 - a harness records every failure
        passed, reason = False, f"{type(error).__name__}: {error}"
    return CaseResult(case, passed, reason, time.perf_counter() - start)


#: Tolerances of the compiled engine in the conformance run (the suite asks for
#: a relative 1e-4 and absolute tolerances down to 1e-9).
ENGINE_RTOL, ENGINE_ATOL = 1e-10, 1e-12


def simulate_engine(
    system: OdeSystem,
    times: np.ndarray,
    *,
    variables: list[str],
    rtol: float = ENGINE_RTOL,
    atol: float = ENGINE_ATOL,
) -> pd.DataFrame:
    """The compiled engine as a suite simulator: ``Model`` of the system + ``simulate``.

    The model reports exactly `variables` (libRoadRunner names); it is simulated
    without doses at its own parameter values, on the case's output times.
    """
    from ..analysis.simulate import simulate
    from ..model import Model
    from ..regimen import Regimen
    from .sbml_model import model_from_system

    definition, _ = model_from_system(system, report=variables)
    model = Model(definition, kind="sbml")
    times = np.asarray(times, dtype=float)
    result = simulate(model, Regimen.none(), model.default_parameters(), t_end=float(times[-1]),
                      t_eval=times, rtol=rtol, atol=atol)
    outputs = result._batch.outputs
    frame = pd.DataFrame({v: outputs[v][0] for v in variables}, columns=variables)
    frame.insert(0, "time", times, allow_duplicates=True)
    return frame


#: The engine's CI subset: every case with events, and every ENGINE_STRIDE-th of the others.
ENGINE_STRIDE = 5


def has_events(case_dir: Path) -> bool:
    """Whether the case's model has events."""
    return "<listOfEvents" in model_file(case_dir).read_text(encoding="utf-8", errors="replace")


def engine_subset(root: Path) -> list[str]:
    """The cases the compiled engine runs in CI: every case with events (the
    engine's own event code), and every :data:`ENGINE_STRIDE`-th other case in
    number order (from the first), so that compiling one small model per case
    stays within the test suite's time budget."""
    out, others = [], 0
    for d in case_dirs(root):
        if has_events(d):
            out.append(d.name)
        else:
            if others % ENGINE_STRIDE == 0:
                out.append(d.name)
            others += 1
    return out


def case_dirs(root: Path) -> list[Path]:
    """The case folders under an extracted suite, sorted by number."""
    return sorted(p.parent for p in root.glob("**/*-settings.txt"))


def extract(tarball: Path, destination: Path) -> Path:
    """Extract the suite archive; return the folder that holds the cases."""
    with tarfile.open(tarball) as archive:
        try:
            archive.extractall(destination, filter="data")
        except TypeError:  # Python without extraction filters (before 3.10.12)
            archive.extractall(destination)  # noqa: S202 - the suite archive is trusted
    return destination


def run_suite(
    root: Path, simulator: Simulator = simulate_reference, cases: Iterable[str] | None = None
) -> list[CaseResult]:
    """Run every case under `root` (or only `cases`, by number)."""
    wanted = set(cases) if cases is not None else None
    return [run_case(d, simulator) for d in case_dirs(root) if wanted is None or d.name in wanted]


def categorise(reason: str) -> str:
    """A short category for a failure reason."""
    if reason.startswith("unsupported:"):
        return "unsupported by design"
    if " at t=" in reason and "expected" in reason:
        return "wrong values"
    return "error"


#: The line that starts the compiled engine's part of the conformance page.
ENGINE_HEADING = "## On the compiled engine"


def conformance_markdown(results: list[CaseResult], *, simulator_name: str, source: str,
                         engine: list[CaseResult] | None = None) -> str:
    """The conformance page: pass count, then every failing case and why (and
    the same for the compiled engine, if `engine` results are given)."""
    passed = sum(r.passed for r in results)
    failed = [r for r in results if not r.passed]
    total_time = sum(r.seconds for r in results)
    lines = [
        "# SBML conformance",
        "",
        "<!-- generated by `python -m il21pk.io.sbml_conformance`; do not edit by hand -->",
        "",
        f"The SBML importer (`il21pk.io.read_sbml`) with `{simulator_name}` on {len(results)} "
        f"cases of the SBML Test Suite ({source}).",
        "",
        "A case passes when every requested variable at every requested time satisfies "
        "|simulated - expected| <= absolute + relative x |expected|, with the tolerances from "
        "its settings file.",
        "",
        "| cases | passed | failed | pass rate | run time |",
        "|---:|---:|---:|---:|---:|",
        f"| {len(results)} | {passed} | {len(failed)} | "
        f"{100.0 * passed / max(len(results), 1):.1f} % | {total_time:.1f} s |",
        "",
        "## Failing cases",
        "",
    ]
    if not failed:
        lines.append("None.")
    else:
        lines += ["| case | category | reason |", "|---|---|---|"]
        for r in failed:
            reason = r.reason.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {r.case} | {categorise(r.reason)} | {reason} |")
    lines.append("")
    if engine is not None:
        lines += _engine_section(engine)
    return "\n".join(lines)


def _engine_section(results: list[CaseResult]) -> list[str]:
    passed = sum(r.passed for r in results)
    failed = [r for r in results if not r.passed]
    total_time = sum(r.seconds for r in results)
    lines = [
        ENGINE_HEADING,
        "",
        "The same cases imported with `Model.from_sbml` and simulated by `il21pk.simulate` "
        f"(the compiled engine; rtol {ENGINE_RTOL:g}, atol {ENGINE_ATOL:g}), with the same "
        "pass criterion. The run time is that of a warm cache (every model compiled before); "
        "the first run also compiles the shared engine and each case's small kernels.",
        "",
        "| cases | passed | failed | pass rate | run time |",
        "|---:|---:|---:|---:|---:|",
        f"| {len(results)} | {passed} | {len(failed)} | "
        f"{100.0 * passed / max(len(results), 1):.1f} % | {total_time:.1f} s |",
        "",
        "CI runs a fixed subset (`il21pk.io.sbml_conformance.engine_subset`: every case with "
        f"events and every {ENGINE_STRIDE}th of the others); the full set runs with "
        "`IL21PK_SBML_FULL=1 .venv/bin/python -m pytest -q -m slow tests/test_sbml_suite.py` "
        "or the module command above.",
        "",
        "### Failing cases on the engine",
        "",
    ]
    if not failed:
        lines.append("None.")
    else:
        lines += ["| case | category | reason |", "|---|---|---|"]
        for r in failed:
            reason = r.reason.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {r.case} | {categorise(r.reason)} | {reason} |")
    lines.append("")
    return lines


def expected_failures_text(results: list[CaseResult]) -> str:
    """The committed list of expected failures: ``case<TAB>category<TAB>reason`` per line."""
    lines = ["# SBML Test Suite cases expected to fail, with the reason (tab separated)."]
    for r in results:
        if not r.passed:
            lines.append(f"{r.case}\t{categorise(r.reason)}\t{r.reason}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the suite from an archive and write the conformance page (and the failure list)."""
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tarball", type=Path)
    parser.add_argument("markdown", type=Path)
    parser.add_argument("--failures", type=Path, help="also write the expected-failures list")
    parser.add_argument("--engine", action="store_true",
                        help="also run every case on the compiled engine")
    parser.add_argument("--engine-failures", type=Path,
                        help="write the engine's expected-failures list")
    args = parser.parse_args(argv)
    engine = None
    with tempfile.TemporaryDirectory() as tmp:
        root = extract(args.tarball, Path(tmp))
        results = run_suite(root)
        if args.engine:
            engine = run_suite(root, simulate_engine)
    args.markdown.write_text(
        conformance_markdown(results, simulator_name="simulate_reference",
                             source=args.tarball.name, engine=engine)
    )
    if args.failures:
        args.failures.write_text(expected_failures_text(results))
    if args.engine_failures and engine is not None:
        args.engine_failures.write_text(expected_failures_text(engine))
    passed = sum(r.passed for r in results)
    print(f"{passed}/{len(results)} passed; wrote {args.markdown}")
    if engine is not None:
        print(f"engine: {sum(r.passed for r in engine)}/{len(engine)} passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
