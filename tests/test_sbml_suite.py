"""SBML Test Suite conformance of the importer + reference simulator.

The 517-case subset is extracted once per session and every case is run
once; the tests then check the pass rate, that every failure is a listed,
expected one (so a regression fails), that the list holds no stale entries,
that the committed conformance page is current, and the run time.
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path

import pytest

from il21pk.io.sbml_conformance import (
    CaseResult,
    conformance_markdown,
    extract,
    run_suite,
)

REPO = Path(__file__).resolve().parent.parent
SUITE = Path(
    os.environ.get(
        "IL21PK_SBML_SUITE",
        REPO.parent / "shared" / "reference" / "sbml" / "sbml-test-suite-subset.tar.gz",
    )
)
EXPECTED_FAILURES = REPO / "tests" / "sbml_suite_expected_failures.txt"
CONFORMANCE_PAGE = REPO / "docs" / "sbml_conformance.md"
N_CASES = 517
MAX_SECONDS = 60.0

pytestmark = pytest.mark.skipif(
    not SUITE.is_file(), reason=f"SBML Test Suite archive not found at {SUITE}"
)


@pytest.fixture(scope="session")
def suite_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[CaseResult], float]:
    """(results of every case, wall time of the whole run in seconds)."""
    root = extract(SUITE, tmp_path_factory.mktemp("sbml_suite"))
    start = time.perf_counter()
    results = run_suite(root)
    return results, time.perf_counter() - start


def _expected_failures() -> dict[str, str]:
    out = {}
    for line in EXPECTED_FAILURES.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            case, category, reason = line.split("\t", 2)
            out[case] = f"{category}: {reason}"
    return out


def test_every_case_ran(suite_run):
    results, _ = suite_run
    assert len(results) == N_CASES
    assert len({r.case for r in results}) == N_CASES


def test_pass_rate_at_least_99_percent(suite_run):
    results, _ = suite_run
    passed = sum(r.passed for r in results)
    assert passed >= math.ceil(0.99 * N_CASES), (
        f"{passed}/{N_CASES} passed; failures: "
        + "; ".join(f"{r.case}: {r.reason}" for r in results if not r.passed)
    )


def test_every_failure_is_expected(suite_run):
    results, _ = suite_run
    expected = _expected_failures()
    unexpected = [
        f"{r.case}: {r.reason}" for r in results if not r.passed and r.case not in expected
    ]
    assert not unexpected, "regressions (not in the expected-failures list):\n" + "\n".join(
        unexpected
    )


def test_expected_failures_list_is_not_stale(suite_run):
    results, _ = suite_run
    now_passing = [r.case for r in results if r.passed and r.case in _expected_failures()]
    assert not now_passing, f"these cases pass now; remove them from {EXPECTED_FAILURES.name}"


def test_conformance_page_is_current(suite_run):
    """docs/sbml_conformance.md matches this run (apart from the measured run time)."""
    results, _ = suite_run
    fresh = conformance_markdown(results, simulator_name="simulate_reference", source=SUITE.name)

    def without_time(text: str) -> str:
        return re.sub(r"\| [0-9.]+ s \|", "| - |", text)

    assert without_time(CONFORMANCE_PAGE.read_text()) == without_time(fresh), (
        "regenerate it: python -m il21pk.io.sbml_conformance "
        f"{SUITE} docs/sbml_conformance.md --failures tests/{EXPECTED_FAILURES.name}"
    )


def test_suite_runs_in_under_a_minute(suite_run):
    _, seconds = suite_run
    assert seconds < MAX_SECONDS, f"the suite took {seconds:.1f} s"
