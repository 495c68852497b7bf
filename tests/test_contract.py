"""The input contract: bad input raises il21pk's ValueError/TypeError subclasses that
name the field, the value and what is allowed; resource limits; safe environment.

Each test here reproduces an item of issue 14 that raised the wrong exception
(AttributeError, KeyError, OverflowError, ...) or a message that named nothing.
"""

from __future__ import annotations

import multiprocessing
import re
import tomllib
from pathlib import Path

from il21pk import executors

ROOT = Path(__file__).resolve().parents[1]


# -- environment: version floors and process start method --------------------------------

def test_version_floors_match_what_the_code_uses():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert re.search(r">=\s*3\.1[1-9]", meta["requires-python"])  # the CLI imports tomllib
    floors = {re.split(r"[<>=\[ ]", d, maxsplit=1)[0]: d for d in meta["dependencies"]}
    assert re.search(r">=\s*[2-9]\.", floors["numpy"])  # np.trapezoid is numpy 2.0
    assert re.search(r">=\s*0\.(6\d|[7-9]\d)", floors["numba"])  # numba for numpy 2
    assert any(d.startswith("hypothesis") for d in
               tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
                   "optional-dependencies"]["test"])


def test_local_pool_never_forks_the_calling_process():
    assert executors.START_METHOD in ("forkserver", "spawn")
    assert executors.START_METHOD in multiprocessing.get_all_start_methods()
    assert executors._context().get_start_method() == executors.START_METHOD


def test_cpu_count_honours_the_affinity_mask(monkeypatch):
    monkeypatch.setattr(executors.os, "sched_getaffinity", lambda pid: {3}, raising=False)
    monkeypatch.setattr(executors.os, "cpu_count", lambda: 64)
    assert executors.cpu_count() == 1
