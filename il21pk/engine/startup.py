"""A model's first simulations, before its machine code exists.

numba compiles the engine specialised for a model (:func:`il21pk.engine.bdf.
specialise`) the first time the model is simulated on a machine: about 20 s
for the default model, after which the machine code is cached on disk and loads
in a fraction of a second. A small batch (at most
:data:`INTERPRETED_MEMBERS` parameter sets) run before that point does not
wait for it: it runs the same engine code in the Python interpreter
(:func:`il21pk.engine.interpreted.interpret`; the same operations, so the
same numbers, one to a few seconds per member), and the compilation
starts afterwards in a child process (:mod:`il21pk.engine.compile_job`),
which leaves the machine code in numba's disk cache, so that later and
larger batches, in this process or the next, run compiled. A larger batch
compiles first, as before. Imported models (SBML, Antimony) share the
generic engine (:func:`il21pk.engine.bdf.bind_generic`; one compilation for
models without events, one for models with, 9-17 s each once per
machine): until it exists, their small batches are interpreted the same way.

The compilation runs in another process, not a thread, because numba
compiling in a thread of this process holds numba's compiler lock (another
model's kernels would wait for it) and swaps the process's warning filters
while the caller's code runs (a ``warnings.catch_warnings`` block around a
first simulation could leave its filters in force for good). A compilation
that fails says so in a ``RuntimeWarning`` here, at the next simulation of
any model (the interpreted results stand); that model's next simulation
then compiles in the foreground, and raises the error if it is the
engine's. The child runs in a session of its own, so the user's Ctrl-C
stops the simulation, not the compilation. A process that ends, or forks,
waits for its compilations first, so the machine code is cached for the next.
"""

from __future__ import annotations

import atexit
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import typing
import warnings
from dataclasses import dataclass

import numba
import numpy as np

from .interpreted import interpret

#: Largest batch run by the interpreter while its machine code is not compiled.
INTERPRETED_MEMBERS = 2


@dataclass(frozen=True)
class _Job:
    """A compilation in a child process: the model's module it is for, the
    pickled job file and the file its errors go to (no process: it could not
    be started)."""

    module: str
    path: str
    process: subprocess.Popen | None = None
    errors: typing.IO[str] | None = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


#: Compilations started, by the dispatcher they compile (a specialised
#: engine's own; the generic engine's, shared by every imported model).
_JOBS: dict[object, _Job] = {}
_ENDED: set[object] = set()
_INTERPRETED: dict[str, object] = {}
_LOCK = threading.Lock()


def state(engine: object) -> str:
    """``"compiled"`` (in this process or cached on disk), ``"compiling"`` (in
    the background) or ``"not compiled"``, for a model's engine (the
    ``engine`` of :func:`il21pk.engine.kernels.compiled`)."""
    _report_failures()
    solve, _ = batch_dispatcher(engine)
    if solve.signatures or _cached_on_disk(solve):
        return "compiled"
    job = _JOBS.get(solve)
    return "compiling" if job is not None and job.running() else "not compiled"


def batch_dispatcher(engine: object) -> tuple[object, tuple]:
    """The numba function that runs a batch of `engine`, and the arguments it
    takes after the batch's: for the generic engine of imported models, the one
    compilation all of them share, which takes the model's tuple last."""
    if hasattr(engine, "shared_solve_batch"):
        return engine.shared_solve_batch, (engine.model,)
    return engine.solve_batch, ()


def _cached_on_disk(dispatcher: object) -> bool:
    """Whether numba's disk cache holds machine code of `dispatcher` (its index
    file exists; when numba's internals cannot tell, assume it does, which
    compiles in the foreground as without this module)."""
    try:
        return os.path.exists(dispatcher._cache._cache_file._index_path)
    except AttributeError:
        return True


def solve_batch(module: object, engine: object, args: tuple) -> None:
    """Run ``engine.solve_batch(*args)``, or its interpreted twin (see above)."""
    _report_failures()
    if args[0].shape[0] > INTERPRETED_MEMBERS or not _interpretable(engine):
        engine.solve_batch(*args)
        return
    outputs = args[-4:]  # states, status, t_fail, counts: written in place
    scratch = [np.array(a) for a in outputs]
    scalars = tuple(np.float64(a) if isinstance(a, float) else
                    np.int64(a) if isinstance(a, int) else a for a in args[:-4])
    try:
        interpreter = _interpreter(module)
        with np.errstate(all="ignore"):  # as numba's error model: inf and nan, silently
            interpreter.solve_batch(*scalars, *scratch)
    except (ArithmeticError, TypeError, ValueError, OSError, NotImplementedError):
        # Python arithmetic can raise where numba's gives inf (a Python float
        # divided by 0, an overflowing power), and a module's source may be
        # unreadable (OSError) or hold a `**=`: the compiled engine decides
        engine.solve_batch(*args)
        return
    for target, values in zip(outputs, scratch, strict=True):
        target[...] = values
    _compile_in_background(module, engine, args)


def _interpretable(engine: object) -> bool:
    """Not compiled, and either compiling or never tried (a background compile
    that failed leaves the foreground compile to report why)."""
    now = state(engine)
    return now == "compiling" or (now == "not compiled"
                                  and batch_dispatcher(engine)[0] not in _JOBS)


def _interpreter(module: object) -> object:
    if module.__name__ not in _INTERPRETED:
        _INTERPRETED[module.__name__] = interpret(module)
    return _INTERPRETED[module.__name__]


def _compile_in_background(module: object, engine: object, args: tuple) -> None:
    """Start :mod:`il21pk.engine.compile_job` on `module`'s engine for batches
    typed as `args`: once per dispatcher and process, and one at a time (while
    another runs, this model's next small batch is interpreted and asks again)."""
    dispatcher = batch_dispatcher(engine)[0]
    with _LOCK:
        if dispatcher in _JOBS or any(job.running() for job in _JOBS.values()):
            return
        with tempfile.NamedTemporaryFile("wb", suffix=".il21pk-job", delete=False) as handle:
            pickle.dump({"module": module.__name__, "file": module.__file__,
                         "types": tuple(numba.typeof(a) for a in args)}, handle)
        job = _Job(module.__name__, handle.name)
        try:
            job = _start(job)
        except Exception as error:  # noqa: BLE001 - no process to start: said, and compiled later
            _forget(job)
            warnings.warn(f"cannot compile the engine of {job.module} in the background "
                          f"({type(error).__name__}: {error}); the next simulation of this "
                          "model compiles first", RuntimeWarning, stacklevel=3)
        _JOBS[dispatcher] = job  # without a process, the next batch compiles in the foreground


def _start(job: _Job) -> _Job:
    """`job` with its child process started: in a session of its own (the
    user's Ctrl-C stops this process, not the compilation), importing il21pk
    from where this process did, its errors to a temporary file."""
    env = {**os.environ, "PYTHONPATH": _child_path()}
    errors = tempfile.TemporaryFile("w+")
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "il21pk.engine.compile_job", job.path], env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors,
            start_new_session=True)
    except BaseException:
        errors.close()
        raise
    return _Job(job.module, job.path, process, errors)


def _child_path() -> str:
    """PYTHONPATH for the child: the directory il21pk was imported from, then
    this process's ``sys.path`` as absolute paths (the child starts elsewhere
    and later; entries that are not paths are left out)."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    paths = [here] + [os.path.abspath(os.fspath(p)) for p in sys.path
                      if isinstance(p, (str, os.PathLike)) and os.fspath(p)]
    return os.pathsep.join(dict.fromkeys(paths))


def _forget(job: _Job) -> None:
    """Remove the job file (the child removes it once read) and the error file."""
    if os.path.exists(job.path):
        os.remove(job.path)
    if job.errors is not None:
        job.errors.close()


def _report_failures() -> None:
    """Say once, as a RuntimeWarning, each compilation that has failed (and
    remove what the ended ones left)."""
    for dispatcher, job in list(_JOBS.items()):
        if dispatcher in _ENDED or job.process is None or job.running():
            continue
        _ENDED.add(dispatcher)
        job.errors.seek(0)
        lines = [line for line in job.errors.read().splitlines() if line.strip()]
        _forget(job)
        if job.process.returncode == 0:
            continue
        why = lines[-1] if lines else f"exit status {job.process.returncode}"
        warnings.warn(f"compiling the engine of {job.module} in the background failed: {why}. "
                      "The results so far came from the interpreter and stand; the next "
                      "simulation of this model compiles in the foreground (and raises the "
                      "error if it is the engine's)", RuntimeWarning, stacklevel=3)


def wait() -> None:
    """Wait until every background compilation has finished."""
    for job in list(_JOBS.values()):
        if job.process is not None:
            job.process.wait()


def _at_exit() -> None:
    wait()
    _report_failures()  # and close what the jobs left open


atexit.register(_at_exit)
os.register_at_fork(before=wait)
