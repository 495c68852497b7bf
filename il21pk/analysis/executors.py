"""Where many simulations run: serially, in a local process pool, or on Dask.

Every many-simulation verb takes one ``executor`` argument:

- ``None`` (default): serial for a single chunk, otherwise a local process pool;
- ``"serial"``;
- ``"processes"`` or an int (number of worker processes);
- any :class:`concurrent.futures.Executor`;
- a ``dask.distributed.Client``.

Work is sent as chunks of parameter sets; results come back in submission
order, so the output is identical row for row whichever executor ran it.

Local worker processes are started with ``"forkserver"`` where it exists
(Linux and other POSIX systems) and ``"spawn"`` elsewhere, never with a bare
``fork`` of the calling process: forking a process that runs threads (an
open Dask client, a BLAS pool, a GUI) can deadlock the child, and Python
3.12+ deprecates it. The default worker count is the number of CPUs this
process may run on (:func:`cpu_count`), not the number in the machine.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from ..errors import InputTypeError, OptionError

#: Start method of local worker processes (see the module docstring).
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() \
    else "spawn"


def cpu_count() -> int:
    """CPUs this process may use: its affinity mask where the OS has one, else all."""
    if hasattr(os, "sched_getaffinity"):
        try:
            return max(len(os.sched_getaffinity(0)), 1)
        except OSError:  # pragma: no cover - affinity not readable
            pass
    return os.cpu_count() or 1


def _context() -> multiprocessing.context.BaseContext:
    """The multiprocessing context of the local pool; workers preload il21pk."""
    context = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":
        context.set_forkserver_preload(["il21pk"])
    return context


def check(executor: object) -> None:
    """Raise InputTypeError/OptionError (TypeError/ValueError) unless `executor` is
    one of the accepted kinds."""
    if executor is None or executor in ("serial", "processes"):
        return
    if isinstance(executor, bool):
        raise InputTypeError("`executor` must be None, 'serial', 'processes', an int, a "
                             "concurrent.futures.Executor or a dask Client; got a bool")
    if isinstance(executor, int):
        if executor < 1:
            raise OptionError(f"`executor` as a number of workers must be >= 1; got {executor}")
        return
    if isinstance(executor, str):
        raise OptionError(f"`executor` must be 'serial' or 'processes'; got {executor!r}")
    if isinstance(executor, Executor) or _is_dask_client(executor):
        return
    raise InputTypeError("`executor` must be None, 'serial', 'processes', an int, a "
                         "concurrent.futures.Executor or a dask Client; got "
                         f"{type(executor).__name__}")


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
        workers = executor if isinstance(executor, int) else cpu_count()
        workers = min(workers, len(tasks))
        with ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
            yield from _windowed(pool.submit, fn, tasks, 4 * workers)
        return
    if _is_dask_client(executor):
        workers = max(len(executor.scheduler_info().get("workers", {})), 1)
        yield from _windowed(lambda f, t: executor.submit(f, t, pure=False), fn, tasks,
                             4 * workers)
        return
    yield from _windowed(executor.submit, fn, tasks, 2 * cpu_count())


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
