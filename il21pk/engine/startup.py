"""A model's first simulations, before its machine code exists.

numba compiles the engine specialised for a model (:func:`il21pk.engine.bdf.
specialise`) the first time the model is simulated on a machine: about 20 s
for the default model, after which the machine code is cached on disk and loads
in a fraction of a second. A small batch (at most
:data:`INTERPRETED_MEMBERS` parameter sets) run before that point does not
wait for it: it runs the same engine code in the Python interpreter
(:func:`il21pk.engine.interpreted.interpret`; the same operations, so the
same numbers, one to a few seconds per member), and the compilation
starts afterwards in a background thread, so that later and larger batches,
in this process or the next, run compiled. A larger batch compiles first, as
before. Imported models (SBML, Antimony) share one compilation of the
generic engine (:func:`il21pk.engine.bdf.bind_generic`, about 10 s once per
machine): until it exists, their small batches are interpreted the same way.

A background compilation that fails says so in a ``RuntimeWarning`` (the
interpreted results stand); the next simulation of the model then compiles
in the foreground and raises the error.

The thread is not a daemon: a process that ends while it runs waits for it,
so the machine code is cached for the next process. A process fork waits for
it too (a child must not inherit numba's compiler lock held by a thread it
does not have).
"""

from __future__ import annotations

import os
import threading
import warnings

import numba
import numpy as np
from numba.core.errors import NumbaExperimentalFeatureWarning

from .interpreted import interpret

#: Largest batch run by the interpreter while its machine code is not compiled.
INTERPRETED_MEMBERS = 2

_THREADS: dict[str, threading.Thread] = {}
_INTERPRETED: dict[str, object] = {}
_LOCK = threading.Lock()


def state(engine: object) -> str:
    """``"compiled"`` (in this process or cached on disk), ``"compiling"`` (in
    the background) or ``"not compiled"``, for a model's specialised engine
    (the ``engine`` of :func:`il21pk.engine.kernels.compiled`)."""
    solve, _ = _dispatcher(engine)
    if solve.signatures or _cached_on_disk(solve):
        return "compiled"
    thread = _THREADS.get(solve.py_func.__qualname__)
    return "compiling" if thread is not None and thread.is_alive() else "not compiled"


def _dispatcher(engine: object) -> tuple[object, tuple]:
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
    dispatcher, model = _dispatcher(engine)
    _compile_in_background(dispatcher, (*args, *model))


def _interpretable(engine: object) -> bool:
    """Not compiled, and either compiling or never tried (a background compile
    that failed leaves the foreground compile to report why)."""
    now = state(engine)
    return now == "compiling" or (now == "not compiled"
                                  and _dispatcher(engine)[0].py_func.__qualname__ not in _THREADS)


def _interpreter(module: object) -> object:
    if module.__name__ not in _INTERPRETED:
        _INTERPRETED[module.__name__] = interpret(module)
    return _INTERPRETED[module.__name__]


def _compile_in_background(dispatcher: object, args: tuple) -> None:
    with warnings.catch_warnings():  # typing the generic engine's tuple of functions
        warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
        signature = tuple(numba.typeof(a) for a in args)
    name = dispatcher.py_func.__qualname__
    with _LOCK:
        if name in _THREADS:
            return
        thread = threading.Thread(target=_compile, args=(dispatcher, signature),
                                  name=f"il21pk-compile-{name}", daemon=False)
        _THREADS[name] = thread
    thread.start()


def _compile(dispatcher: object, signature: tuple) -> None:
    try:
        # numba itself swaps the warning filters while it compiles, in any thread
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
            dispatcher.compile(signature)
    except Exception as error:  # noqa: BLE001 - said here, raised by the next compile
        warnings.warn(f"compiling the engine ({dispatcher.py_func.__qualname__}) in the "
                      f"background failed: {type(error).__name__}: {error}. The results so "
                      "far came from the interpreter and stand; the next simulation of this "
                      "model compiles in the foreground and raises this error",
                      RuntimeWarning, stacklevel=1)


def wait() -> None:
    """Wait until every background compilation has finished."""
    for thread in list(_THREADS.values()):
        thread.join()


os.register_at_fork(before=wait)
