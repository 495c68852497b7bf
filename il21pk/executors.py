"""Where many simulations run: serially, in a local process pool, or on Dask.

Every many-simulation verb takes one ``executor`` argument:

- ``None`` (default): serial for a single chunk, otherwise a local process pool;
- ``"serial"``;
- ``"processes"`` or an int (number of worker processes);
- any :class:`concurrent.futures.Executor`;
- a ``dask.distributed.Client``.

Work is sent as chunks of parameter sets; results come back in submission
order, so the output is identical row for row whichever executor ran it.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any


def check(executor: object) -> None:
    """Raise TypeError/ValueError unless `executor` is one of the accepted kinds."""
    if executor is None or executor in ("serial", "processes"):
        return
    if isinstance(executor, bool):
        raise TypeError("`executor` must be None, 'serial', 'processes', an int, a "
                        "concurrent.futures.Executor or a dask Client; got a bool")
    if isinstance(executor, int):
        if executor < 1:
            raise ValueError(f"`executor` as a number of workers must be >= 1; got {executor}")
        return
    if isinstance(executor, str):
        raise ValueError(f"`executor` must be 'serial' or 'processes'; got {executor!r}")
    if isinstance(executor, Executor) or _is_dask_client(executor):
        return
    raise TypeError("`executor` must be None, 'serial', 'processes', an int, a "
                    f"concurrent.futures.Executor or a dask Client; got {type(executor).__name__}")


def _is_dask_client(obj: object) -> bool:
    return type(obj).__module__.startswith("distributed") and hasattr(obj, "gather")


def ordered_map(fn: Callable[[Any], Any], tasks: list, executor: object) -> Iterator[Any]:
    """Yield ``fn(task)`` for each task, in order, on the chosen executor.

    At most a few tasks per worker are in flight, and a result is dropped as
    soon as it has been yielded, so a long streamed sweep holds only a window
    of chunks in memory.
    """
    check(executor)
    if executor == "serial" or (executor is None and len(tasks) <= 1) or executor == 1:
        yield from map(fn, tasks)
        return
    if executor is None or executor == "processes" or isinstance(executor, int):
        workers = executor if isinstance(executor, int) else (os.cpu_count() or 1)
        workers = min(workers, len(tasks))
        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            yield from _windowed(pool.submit, fn, tasks, 4 * workers)
        return
    if _is_dask_client(executor):
        workers = max(len(executor.scheduler_info().get("workers", {})), 1)
        yield from _windowed(lambda f, t: executor.submit(f, t, pure=False), fn, tasks,
                             4 * workers)
        return
    yield from _windowed(executor.submit, fn, tasks, 2 * (os.cpu_count() or 1))


def _windowed(submit, fn, tasks: list, window: int) -> Iterator[Any]:
    """Submit tasks `window` ahead of the one being yielded; release each when done."""
    pending: deque = deque()
    upcoming = iter(tasks)
    for task in itertools.islice(upcoming, window):
        pending.append(submit(fn, task))
    while pending:
        result = pending.popleft().result()
        for task in itertools.islice(upcoming, 1):
            pending.append(submit(fn, task))
        yield result
