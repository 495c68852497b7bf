"""A model's compiled kernels: its generated module and the engine specialised
for it, built once per model definition and process.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..codegen.build import generated_module
from ..errors import ParameterError
from ..model import Model
from ..units import member_text
from . import bdf


@dataclass(frozen=True)
class CompiledModel:
    """A generated module (``kernel_values``, ``initial_states``, ``outputs``,
    ``rhs``, ...) and the engine specialised for it (``solve_batch``)."""

    module: types.ModuleType
    engine: types.SimpleNamespace


_COMPILED: dict[str, CompiledModel] = {}


def compiled(model: Model) -> CompiledModel:
    """The compiled kernels of `model` (generated and compiled on first use)."""
    key = model.definition.key()
    if key not in _COMPILED:
        module = generated_module(model.definition)
        _COMPILED[key] = CompiledModel(module, bdf.specialise(module))
    return _COMPILED[key]


def prepare(model: Model, values: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Kernel vectors (N, n_kernel) and baseline states (N, n_states).

    `values` maps each of the model's parameter names to an array of N values
    in the parameter's unit (or one value for all members); the parameters
    the model fixes take its own values.
    """
    fixed = model.definition.fixed
    names = [p.name for p in model.definition.all_parameters]
    arrays = [np.atleast_1d(np.asarray(fixed[name] if name in fixed else values[name],
                                       dtype=float)) for name in names]
    n = np.broadcast_shapes(*(a.shape for a in arrays))[0] if arrays else 1  # any number
    p = np.empty((n, len(names)))
    for i, a in enumerate(arrays):
        p[:, i] = a
    module = compiled(model).module
    with np.errstate(all="ignore"):  # guarded branches of Piecewise are evaluated too
        k = module.kernel_values(p)
        y0 = module.initial_states(k)
    _check_nonnegative_baselines(model, y0)
    return k, y0


def _check_nonnegative_baselines(model: Model, y0: np.ndarray) -> None:
    """A ParameterError for a non-negative state whose baseline is below 0 (the solver
    would stop with 'step size too small', or LSODA return a negative trajectory)."""
    below = nonnegative_mask(model)[None, :] & (y0 < 0)
    if not below.any():
        return
    member, i = (int(j) for j in np.argwhere(below)[0])
    name = model.state_names[i]
    initial = model.definition.initial[i]
    reads = sorted(str(s) for s in initial.free_symbols)
    raise ParameterError(
        f"state {name!r} is non-negative, but its baseline {initial} is "
        f"{y0[member, i]:g}{member_text(member, y0.shape[0]) if y0.shape[0] > 1 else ''}"
        f"{f': check {reads}' if reads else ''}")


def nonnegative_mask(model: Model) -> np.ndarray:
    """Which states the model declares non-negative (bool, one per state)."""
    return np.array([s.nonnegative for _, s in model.states], dtype=np.bool_)


def clip_undershoot(model: Model, states: np.ndarray, atol: float) -> None:
    """Set to 0, in place, values of non-negative states in [-atol, 0): the
    solver's undershoot of zero within its absolute tolerance (numba-bdf's
    between its step ends, which it keeps >= 0). Larger negative values, from
    the scipy methods, are kept, so a real error still shows."""
    mask = nonnegative_mask(model)
    if not mask.any():
        return
    if states.flags.c_contiguous:  # one compiled pass in place
        _clip_rows(states.reshape(-1, states.shape[-1]), mask, atol)
    else:
        np.copyto(states, 0.0, where=(states < 0) & (states >= -atol) & mask)


@njit(cache=True)
def _clip_rows(rows: np.ndarray, mask: np.ndarray, atol: float) -> None:
    for r in range(rows.shape[0]):
        for j in range(rows.shape[1]):
            if mask[j] and -atol <= rows[r, j] < 0.0:
                rows[r, j] = 0.0


def report(model: Model, states: np.ndarray, k: np.ndarray) -> dict[str, np.ndarray]:
    """Reported variables from integrated states.

    Parameters
    ----------
    states : numpy.ndarray, shape (N, T, n_states)
    k : numpy.ndarray, shape (N, n_kernel)

    Returns
    -------
    dict of str to numpy.ndarray of shape (N, T), in the model's variable order.
    """
    with np.errstate(all="ignore"):  # guarded branches of Piecewise are evaluated too
        out = compiled(model).module.outputs(states, k[:, None, :])
    shape = states.shape[:2]
    return {name: np.broadcast_to(np.asarray(v, dtype=float), shape) for name, v in out.items()}
