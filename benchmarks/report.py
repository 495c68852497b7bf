"""Shared pieces of the benchmark scripts: the result table and the load of other processes."""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Row:
    """One line of the result table."""

    quantity: str
    measured: str
    target: str = ""
    passed: bool | None = None
    other_load: str = ""


def busy_cpu_seconds() -> tuple[float, float]:
    """CPU seconds used so far by the whole machine and by this process tree.

    The tree is this process, its reaped children (``children_user``/
    ``children_system``, e.g. a closed process pool) and its live descendants
    (e.g. Dask workers).
    """
    machine = psutil.cpu_times()
    own = psutil.Process()
    mine = sum(own.cpu_times()[:4])
    for child in own.children(recursive=True):
        try:
            mine += sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return sum(machine) - machine.idle - getattr(machine, "iowait", 0.0), mine


def print_table(rows: list[Row]) -> None:
    """The result table: PASS/FAIL for rows with a target, other processes' load for timings."""
    table = [("quantity", "measured", "target", "result", "others' CPU")] + [
        (r.quantity, r.measured, r.target,
         "" if r.passed is None else ("PASS" if r.passed else "FAIL"), r.other_load)
        for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(5)]
    for i, line in enumerate(table):
        print("  ".join(cell.rjust(w) if j == 1 else cell.ljust(w)
                        for j, (cell, w) in enumerate(zip(line, widths, strict=True))).rstrip())
        if i == 0:
            print("-" * (sum(widths) + 8))
    print("others' CPU: mean cores busy outside this process tree during the timing "
          f"(of {os.cpu_count()})")
