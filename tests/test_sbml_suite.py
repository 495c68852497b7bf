"""SBML Test Suite conformance of the importer + reference simulator, and of
``Model.from_sbml`` + ``simulate`` (the compiled engine).

The 517-case subset is extracted once per session and every case is run
once; the tests then check the pass rate, that every failure is a listed,
expected one (so a regression fails), that the list holds no stale entries,
that the committed conformance page is current, and the run time.

The compiled engine compiles each case's small kernels; in CI it runs a fixed
subset (:func:`~il21pk.io.sbml_conformance.engine_subset`: the 72 cases with
events and every 5th other case, 161 cases) against the same criterion and
its own expected-failures list; the full set runs with ``IL21PK_SBML_FULL=1``
(``.venv/bin/python -m pytest -q -m slow tests/test_sbml_suite.py``).
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path

import pytest

from il21pk.io.sbml_conformance import (
    ENGINE_HEADING,
    CaseResult,
    conformance_markdown,
    engine_subset,
    extract,
    run_suite,
    simulate_engine,
)

REPO = Path(__file__).resolve().parent.parent
SUITE = Path(
    os.environ.get(
        "IL21PK_SBML_SUITE",
        REPO.parent / "shared" / "reference" / "sbml" / "sbml-test-suite-subset.tar.gz",
    )
)
EXPECTED_FAILURES = REPO / "tests" / "sbml_suite_expected_failures.txt"
ENGINE_EXPECTED_FAILURES = REPO / "tests" / "sbml_suite_engine_expected_failures.txt"
CONFORMANCE_PAGE = REPO / "docs" / "sbml_conformance.md"
N_CASES = 517
MAX_SECONDS = 60.0
#: Cases in the engine's CI subset, and its time budget (compiling the shared
#: engine once, then each case's kernels).
N_ENGINE_SUBSET = 161
MAX_ENGINE_SECONDS = 60.0
FULL_ENGINE_RUN = os.environ.get("IL21PK_SBML_FULL") == "1"

pytestmark = pytest.mark.skipif(
    not SUITE.is_file(), reason=f"SBML Test Suite archive not found at {SUITE}"
)


@pytest.fixture(scope="session")
def suite_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return extract(SUITE, tmp_path_factory.mktemp("sbml_suite"))


@pytest.fixture(scope="session")
def suite_run(suite_root: Path) -> tuple[list[CaseResult], float]:
    """(results of every case, wall time of the whole run in seconds)."""
    start = time.perf_counter()
    results = run_suite(suite_root)
    return results, time.perf_counter() - start


@pytest.fixture(scope="session")
def engine_run(suite_root: Path) -> tuple[list[CaseResult], float]:
    """(the engine's results on the CI subset, CPU time of this process in seconds).

    CPU time rather than wall time: compiling is single-threaded, so on an idle
    machine the two agree, and CPU time does not grow when other jobs share it.
    """
    start = time.process_time()
    results = run_suite(suite_root, simulate_engine, engine_subset(suite_root))
    return results, time.process_time() - start


def _expected_failures(path: Path = EXPECTED_FAILURES) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
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

    page = CONFORMANCE_PAGE.read_text().split(ENGINE_HEADING)[0]
    assert without_time(page).rstrip() == without_time(fresh).rstrip(), (
        "regenerate it: python -m il21pk.io.sbml_conformance "
        f"{SUITE} docs/sbml_conformance.md --failures tests/{EXPECTED_FAILURES.name} --engine "
        f"--engine-failures tests/{ENGINE_EXPECTED_FAILURES.name}"
    )


def test_suite_runs_in_under_a_minute(suite_run):
    _, seconds = suite_run
    assert seconds < MAX_SECONDS, f"the suite took {seconds:.1f} s"


# -- the compiled engine ------------------------------------------------------------------

def test_engine_subset_is_the_documented_one(suite_root):
    cases = engine_subset(suite_root)
    assert len(cases) == N_ENGINE_SUBSET >= 150


def test_engine_passes_the_subset_with_only_listed_failures(engine_run):
    results, _ = engine_run
    expected = _expected_failures(ENGINE_EXPECTED_FAILURES)
    passed = sum(r.passed for r in results)
    assert passed >= math.ceil(0.99 * len(results)), (
        f"{passed}/{len(results)} passed; failures: "
        + "; ".join(f"{r.case}: {r.reason}" for r in results if not r.passed)
    )
    unexpected = [f"{r.case}: {r.reason}" for r in results
                  if not r.passed and r.case not in expected]
    assert not unexpected, "engine regressions (not in the expected-failures list):\n" + \
        "\n".join(unexpected)
    now_passing = [r.case for r in results if r.passed and r.case in expected]
    assert not now_passing, f"these cases pass now; remove them from {ENGINE_EXPECTED_FAILURES}"


def test_engine_page_section_lists_the_expected_failures():
    """The committed page's engine section names every case of the engine's list."""
    section = CONFORMANCE_PAGE.read_text().split(ENGINE_HEADING)[1]
    for case in _expected_failures(ENGINE_EXPECTED_FAILURES):
        assert f"| {case} |" in section


def test_engine_subset_runs_in_under_a_minute(engine_run):
    _, seconds = engine_run
    assert seconds < MAX_ENGINE_SECONDS, f"the engine subset took {seconds:.1f} s of CPU"


@pytest.mark.slow
@pytest.mark.skipif(not FULL_ENGINE_RUN, reason="the full engine run: set IL21PK_SBML_FULL=1")
def test_engine_passes_every_case_but_the_listed_ones(suite_root):
    results = run_suite(suite_root, simulate_engine)
    assert len(results) == N_CASES
    passed = sum(r.passed for r in results)
    assert passed >= math.ceil(0.99 * N_CASES)
    expected = _expected_failures(ENGINE_EXPECTED_FAILURES)
    failed = {r.case for r in results if not r.passed}
    assert failed == set(expected), "\n".join(
        f"{r.case}: {r.reason}" for r in results if not r.passed and r.case not in expected)
