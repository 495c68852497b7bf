"""Where many simulations run: serially, in a local process pool, or on Dask.

Every many-simulation verb takes one ``executor`` argument:

- ``None`` (default): serial for a single chunk, otherwise a local process pool;
- ``"serial"``;
- ``"processes"`` or an int (number of worker processes);
- any :class:`concurrent.futures.Executor`;
- a ``dask.distributed.Client``.

Work is sent as chunks of parameter sets; results come back in submission
order, so the output is identical row for row whichever executor ran it.

Local worker processes (:func:`process_pool`) are forked from the calling
process on Linux while it runs no Python thread but the main one: the
workers then start in milliseconds, with the package imported and the model
compiled (a forkserver worker imports il21pk afresh and loads the compiled
model, about 2 s). A process running other Python threads (an open Dask
client, a Jupyter kernel, a GUI loop) is never forked, since a lock one of
them holds would be inherited locked
and could deadlock the child; nor is one on macOS, whose system libraries
are not fork-safe. Those start their workers with ``"forkserver"`` where it
exists (POSIX) and ``"spawn"`` elsewhere. Threads started outside Python's
``threading`` are not seen: numpy's and scipy's OpenBLAS (pthreads builds)
stop theirs at a fork, and pyarrow's jemalloc keeps its background thread
but handles the fork itself (Python 3.12+ notes that thread in a
DeprecationWarning, hidden by default). A BLAS built on GNU OpenMP is not
fork-safe: with one, pass your own
``ProcessPoolExecutor(mp_context=multiprocessing.get_context("forkserver"))``
as the executor. Scripts that use local workers must guard their top level
with ``if __name__ == "__main__":``, as every multiprocessing program does:
a forkserver or spawn worker imports the script again. The default worker
count is the number of CPUs this process may run on (:func:`cpu_count`),
not the number in the machine.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from ..checks import is_integer
from ..errors import InputTypeError, OptionError

#: Start method of local worker processes when forking is not safe (see the
#: module docstring).
SAFE_START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() \
    else "spawn"


def cpu_count() -> int:
    """CPUs this process may use: its affinity mask where the OS has one, else all."""
    if hasattr(os, "sched_getaffinity"):
        try:
            return max(len(os.sched_getaffinity(0)), 1)
        except OSError:  # pragma: no cover - affinity not readable
            pass
    return os.cpu_count() or 1


def start_method() -> str:
    """How local workers start now: ``"fork"`` on Linux while no Python thread
    but the main one runs, else :data:`SAFE_START_METHOD` (module docstring)."""
    if sys.platform == "linux" and threading.active_count() == 1:
        return "fork"
    return SAFE_START_METHOD


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A local pool of `workers` processes, started as :func:`start_method` says
    (forkserver workers preload il21pk)."""
    method = start_method()
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["il21pk"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def check(executor: object) -> None:
    """Raise InputTypeError/OptionError (TypeError/ValueError) unless `executor` is
    one of the accepted kinds."""
    if executor is None or executor in ("serial", "processes"):
        return
    if isinstance(executor, bool):
        raise InputTypeError("`executor` must be None, 'serial', 'processes', an int, a "
                             "concurrent.futures.Executor or a dask Client; got a bool")
    if is_integer(executor):  # numpy's too
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
    if executor is None or executor == "processes" or is_integer(executor):
        workers = int(executor) if is_integer(executor) else cpu_count()
        workers = min(workers, len(tasks))
        with process_pool(workers) as pool:
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
