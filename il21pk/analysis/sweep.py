"""sweep(): many simulations over a grid or a frame of samples, as one tidy frame.

Runs are grouped into chunks of parameter sets that share a regimen; each
chunk goes through the batched engine in one call, on the chosen executor.
Failed runs stay in the output with ``success=False`` and the solver's
message. With ``out=`` finished chunks are streamed to a parquet directory,
and a rerun with the same arguments skips them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..checks import is_integer, is_real
from ..errors import InputTypeError, OptionError, ParameterError
from ..model import Model
from ..model.inputs import check_regimen, model_inputs, parameter_columns, resolve_params
from ..parameters import ParameterSet, unknown_name_error
from ..regimen import Dose, Regimen
from ..units import as_floats, name_member
from . import executors
from .metrics import METRICS, metric_unit, summarise
from .results import bolus_times
from .simulate import check_options, default_grid, run_batch

#: Swept quantities that are not parameters.
SPECIAL = ("dose", "regimen")
OUTPUTS = ("summary", "trajectories")
#: Column names a sweep writes itself, so they cannot be swept.
RESERVED = ("run", "time_h", "variable", "metric", "value", "unit", "success", "message")
#: Most runs in one sweep (grid product or sample rows), checked before the
#: runs are built.
MAX_RUNS = 10_000_000
#: Most rows of an in-memory result (runs x variables x times, or x metrics);
#: stream larger sweeps to parquet with ``out=``.
MAX_ROWS = 50_000_000
#: Most runs x output times in one chunk: bounds the worker's state array
#: (runs x times x states x 8 bytes). A chunk is made smaller when needed,
#: which changes nothing in the result.
MAX_CHUNK_POINTS = 2_500_000


@dataclass(frozen=True)
class _Chunk:
    """Everything one worker needs to simulate a chunk of runs."""

    index: int
    model: Model
    regimen: Regimen
    base: dict[str, np.ndarray]
    runs: pd.DataFrame  # run id + swept columns (parameters, dose, regimen label)
    t_eval: np.ndarray
    t_end: float
    output: str
    variables: tuple[str, ...]
    metrics: tuple[str, ...]
    options: dict


def sweep(model: Model, regimen: Regimen | Dose | None, params: ParameterSet | None = None, *,
          grid: Mapping[str, Sequence] | None = None, samples: pd.DataFrame | None = None,
          t_end: float, t_eval=None, output: str = "summary",
          variables: Sequence[str] | None = None, metrics: Sequence[str] | None = None,
          executor=None, chunk_size: int = 250, out: str | Path | None = None,
          progress: bool | None = None, method: str = "numba-bdf", rtol: float = 1e-6,
          atol: float = 1e-9, max_steps: int = 200_000) -> pd.DataFrame | Path:
    """Simulate every combination of a grid, or every row of a sample frame.

    Parameters
    ----------
    model, regimen, params
        As for :func:`il21pk.simulate` (regimen None: no doses; params None:
        the model's own values); `params` gives the values not swept.
    grid : mapping of str to sequence, optional
        Values per swept quantity; runs are the Cartesian product (first key
        varies slowest). Keys are parameter names, ``"dose"`` (replaces every
        dose amount, in each dose's unit), ``"dose_<drug>"`` (replaces the
        doses of one drug: a grid over two drugs' doses is a combination
        surface) or ``"regimen"`` (a mapping
        ``{label: Regimen}`` or a list of regimens, labelled by their words).
    samples : pandas.DataFrame, optional
        One run per row; columns are parameter names and/or dose columns (e.g.
        from :func:`virtual_population` or :func:`latin_hypercube`). A
        ``subject`` column is carried through. Give `grid` or `samples`.
    t_end, t_eval, method, rtol, atol, max_steps
        As for :func:`il21pk.simulate`.
    output : {'summary', 'trajectories'}, optional
        ``"summary"``: one row per run x variable x metric (columns ``run``,
        the swept columns, ``variable, metric, value, unit, success,
        message``). ``"trajectories"``: one row per run x time x variable
        (``run``, swept columns, ``time_h, variable, value, unit, success,
        message``). Times, ``tmax``/``tmin`` and AUCs are in the model's time
        unit (``Model.time_unit``; ``frame.attrs["time_unit"]``).
    variables, metrics : sequence of str, optional
        Restrict the output (default: every reported variable; every metric of
        :data:`il21pk.analysis.metrics.METRICS`; metrics with ``"summary"`` only).
    executor : optional
        ``None``, ``"serial"``, ``"processes"``, a worker count, a
        ``concurrent.futures.Executor`` or a ``dask.distributed.Client``.
    chunk_size : int, optional
        Runs per chunk sent to a worker (default 250). In a sweep of more
        than 4 chunks the last ``2 chunk_size`` runs go in chunks of
        ``chunk_size // 4``, so that the workers finish together.
    out : str or pathlib.Path, optional
        Directory to stream finished chunks to as parquet parts: a new or
        empty one, or one this sweep wrote (a rerun with the same arguments
        skips the parts already there). Parts follow the
        chunks, which group runs by regimen: when ``grid`` sweeps
        ``"regimen"`` after another key, ``pandas.read_parquet(out)`` gives
        the rows out of run order; ``.sort_values("run", kind="stable")``
        restores the in-memory frame's order.
    progress : bool, optional
        Show a progress bar (default: only on a terminal with several chunks).

    Returns
    -------
    pandas.DataFrame or pathlib.Path
        The tidy frame, or `out` when given (read it with ``pandas.read_parquet``).
    """
    if not isinstance(model, Model):
        raise InputTypeError(f"`model` must be an il21pk Model; got {type(model).__name__}")
    params = resolve_params(model, params)
    t_end, grid_t = check_options(t_end=t_end, t_eval=t_eval, method=method, rtol=rtol,
                                  atol=atol, max_steps=max_steps, time_unit=model.time_unit)
    executors.check(executor)
    if not isinstance(output, str) or output not in OUTPUTS:
        raise OptionError(f"`output` must be one of {list(OUTPUTS)}; got {output!r}")
    if not is_integer(chunk_size) or chunk_size < 1:
        raise OptionError(f"`chunk_size` must be an integer >= 1; got {chunk_size!r}")
    chunk_size = int(chunk_size)
    if out is not None and not isinstance(out, (str, Path)):
        raise InputTypeError(f"`out` must be a directory path (str or Path); got "
                             f"{type(out).__name__}")
    if progress is not None and not isinstance(progress, bool):
        raise InputTypeError(f"`progress` must be True, False or None; got {progress!r}")
    regimen = check_regimen(model, regimen)
    variables = _choose(variables, [v.name for v in model.variables], "variables")
    if metrics is not None and output != "summary":
        raise OptionError(f"`metrics` apply to output='summary' only; got metrics={metrics!r} "
                          f"with output={output!r}")
    metrics = _choose(metrics, list(METRICS), "metrics")
    runs, regimens = _runs(model, regimen, params, grid, samples)
    base = parameter_columns(model, params)
    options = {"method": method, "rtol": rtol, "atol": atol, "max_steps": max_steps}
    grids = {label: default_grid(reg, t_end) if grid_t is None else grid_t
             for label, reg in regimens.items()}
    n_times = max(g.shape[0] for g in grids.values())
    per_run = len(variables) * (len(metrics) if output == "summary" else n_times)
    if out is None and len(runs) * per_run > MAX_ROWS:
        raise OptionError(
            f"the sweep would return {len(runs) * per_run:,} rows ({len(runs):,} runs x "
            f"{per_run:,}); at most MAX_ROWS = {MAX_ROWS:,} are kept in memory. Stream it to "
            "parquet with out=<directory>, or restrict `variables`, `metrics` or `t_eval`")
    chunk_size = max(1, min(chunk_size, MAX_CHUNK_POINTS // n_times))
    chunks = []
    for label, group in _groups(runs, chunk_size):
        reg = regimens[label]
        chunks.append(_Chunk(len(chunks), model, reg, base, group, grids[label], t_end, output,
                             variables, metrics, options))
    # the frame's time unit, and with trajectories its bolus times (which nca of
    # the frame warns about); streamed parts carry them too (read_parquet restores them)
    attrs = {"time_unit": model.time_unit}
    if output == "trajectories":
        attrs["bolus_times"] = tuple(sorted({t for reg in regimens.values()
                                             for t in bolus_times(reg)}))
    if out is not None:
        return _stream(chunks, Path(out), executor, progress, _fingerprint(
            model, regimens, params, runs, chunks, options), attrs)
    frames = list(_progress(executors.ordered_map(_run_chunk, chunks, executor),
                            len(chunks), progress))
    frame = pd.concat(frames, ignore_index=True)
    if "regimen" in runs:  # chunks were grouped by regimen: restore run order
        frame = frame.sort_values("run", kind="stable", ignore_index=True)
    frame.attrs.update(attrs)
    return frame


# -- building the runs ---------------------------------------------------------------


def _runs(model, regimen, params, grid, samples) -> tuple[pd.DataFrame, dict[str, Regimen]]:
    if (grid is None) == (samples is None):
        raise OptionError("give exactly one of `grid` (values per swept quantity) or `samples` "
                          "(a DataFrame with one run per row)")
    regimens = {"": regimen}
    if grid is not None:
        if not isinstance(grid, Mapping) or not grid:
            raise InputTypeError("`grid` must be a non-empty mapping {name: values}; got "
                                 f"{grid!r}"[:200])
        for name in grid:
            if name in RESERVED or name == "subject":
                raise OptionError(f"grid key {name!r} is a column the sweep writes itself; "
                                  "sweep parameters, 'dose' or 'regimen'")
        sizes = [len(v) if isinstance(v, (Mapping, Sequence, np.ndarray, pd.Series))
                 and not isinstance(v, str) else 1 for v in grid.values()]
        if math.prod(sizes) > MAX_RUNS:
            raise OptionError(f"the grid has {math.prod(sizes):,} combinations; at most "
                              f"MAX_RUNS = {MAX_RUNS:,} runs are allowed")
        axes = {}
        for name, values in grid.items():
            if name == "regimen":
                if isinstance(values, Mapping):
                    labelled = dict(values)
                elif isinstance(values, (Regimen, Dose, str)) or not isinstance(
                        values, (Sequence, np.ndarray)):
                    raise InputTypeError("grid['regimen'] must be a mapping {label: Regimen} "
                                         f"or a list of regimens; got {type(values).__name__}")
                else:
                    values = [Regimen.none() if r is None else r for r in values]
                    labels = [r.in_words() if isinstance(r, Regimen) else repr(r) for r in values]
                    if len(set(labels)) != len(labels):
                        labels = [f"regimen {i}" for i in range(len(values))]
                    labelled = dict(zip(labels, values, strict=True))
                if not labelled:
                    raise OptionError("grid['regimen'] must hold at least one regimen")
                if len({str(label) for label in labelled}) != len(labelled):
                    raise OptionError("grid['regimen'] labels must differ as text (they "
                                      "label the runs); got "
                                      f"{[str(label) for label in labelled]}"[:300])
                for label, reg in labelled.items():
                    regimens[str(label)] = check_regimen(model, reg,
                                                         f"grid['regimen'][{label!r}]")
                axes[name] = [str(k) for k in labelled]
            else:
                try:
                    # the elements as given: an array of [True, 1.0] no longer holds a bool
                    given = values if isinstance(values, (list, tuple)) else \
                        np.atleast_1d(values)
                    if isinstance(values, (str, bytes)) or any(
                            isinstance(v, (str, bytes, bool, np.bool_)) for v in given):
                        raise TypeError("text and bools are not numbers here")
                    axes[name] = list(np.atleast_1d(np.asarray(values, dtype=float)))
                except (TypeError, ValueError, OverflowError):
                    raise ParameterError(
                        f"grid[{name!r}] must be numbers (not text or bools); got "
                        f"{values!r}"[:300]) from None
                if not axes[name]:
                    raise ParameterError(f"grid[{name!r}] must hold at least one value")
                if np.ndim(values) > 1:
                    raise ParameterError(f"grid[{name!r}] must be a flat list of values; got "
                                         f"an array of shape {np.shape(values)}")
        runs = pd.DataFrame(list(itertools.product(*axes.values())), columns=list(axes))
    else:
        if not isinstance(samples, pd.DataFrame) or samples.empty:
            raise InputTypeError("`samples` must be a non-empty pandas DataFrame, one run per "
                                 "row")
        if "regimen" in samples.columns:
            raise OptionError("`samples` cannot hold a 'regimen' column; sweep regimens with "
                              "grid={'regimen': {...}}")
        names = [str(c) for c in samples.columns]
        dup = sorted({c for c in names if names.count(c) > 1})
        if dup:
            raise ParameterError(f"`samples` has duplicate column(s) {dup}")
        reserved = [c for c in samples.columns if c in RESERVED]
        if reserved:
            raise ParameterError(f"`samples` column(s) {reserved} are written by the sweep "
                                 "itself; rename them")
        if len(samples) > MAX_RUNS:
            raise OptionError(f"`samples` has {len(samples):,} rows; at most MAX_RUNS = "
                              f"{MAX_RUNS:,} runs are allowed")
        runs = samples.reset_index(drop=True).copy()
    readable = model_inputs(model)
    dose_keys = dose_columns(model)
    for name in runs.columns:
        if name in ("regimen", "subject"):
            continue
        if name not in dose_keys and name not in params:
            if name in readable:
                raise ParameterError(f"parameter set {params.name!r} has no value for {name!r}, "
                                     f"which {model!r} reads; give one with "
                                     "model.parameter_set({name: (value, source)}, base=...)")
            raise unknown_name_error(name, sorted(readable) + list(SPECIAL)
                                     + list(dose_keys)[1:])
        if name not in dose_keys and name not in readable:
            raise ParameterError(f"{model!r} does not use parameter {name!r}, so sweeping it "
                                 "would change nothing")
        if runs[name].dtype.kind not in "iuf":  # text and bools are no numbers here
            wrong = [i for i, v in enumerate(runs[name]) if not is_real(v)]
            if wrong:
                value = runs[name].iloc[wrong[0]]
                raise ParameterError(f"swept {name!r} must be numbers; run {wrong[0]} has "
                                     f"{value!r} ({type(value).__name__})")
        values = as_floats(runs[name])
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise ParameterError(f"swept {name!r} must be finite numbers; run {bad[0]} has "
                                 f"{_plain(runs[name].iloc[bad[0]])!r}")
        low, high, unit = ((0.0, math.inf, "dose unit") if name in dose_keys else
                           (params[name].lower, params[name].upper, params[name].unit))
        bad = np.flatnonzero((values < low) | (values > high))
        if bad.size:
            raise ParameterError(f"swept {name!r} must be within [{low:g}, {high:g}] {unit}; "
                                 f"run {bad[0]} has {values[bad[0]]:g}")
        runs[name] = values
    _check_swept_doses(model, runs, regimens, dose_keys)
    runs.insert(0, "run", np.arange(len(runs)))
    return runs, regimens


def _check_swept_doses(model, runs, regimens, dose_keys) -> None:
    """Every swept dose column replaces some dose of at least one regimen it runs
    with (else the column would be written beside results it did not change; an
    arm it leaves alone, a control or a monotherapy, is a valid design)."""
    swept = {c: dose_keys[c] for c in runs.columns if c in dose_keys}
    if not swept:
        return
    own = {drug for drug in swept.values() if drug is not None}
    used = {k: r for k, r in regimens.items() if k or "regimen" not in runs.columns}
    dosed = {label: {model.drug(d.drug).name for d in getattr(regimen, "doses", ())}
             for label, regimen in used.items()}
    for column, drug in swept.items():
        if not any(d - own if drug is None else d & {drug} for d in dosed.values()):
            what = (f"the doses of {drug!r}" if drug is not None else
                    "every dose of a drug without a dose_<drug> column of its own")
            given = "; ".join(f"{label or 'the regimen'}: {sorted(d) or 'nothing'}"
                              for label, d in dosed.items())
            raise OptionError(f"swept {column!r} sets {what}, and no regimen has one "
                              f"({given}); it would change nothing")


def dose_columns(model: Model) -> dict[str, str | None]:
    """Swept dose columns -> the drug whose doses they replace (None: every dose):
    ``"dose"`` and, for each drug the model declares, ``"dose_<drug>"``."""
    return {"dose": None, **{f"dose_{d.name}": d.name for d in model.drugs}}


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _choose(chosen, available: list[str], what: str) -> tuple[str, ...]:
    if chosen is None:
        return tuple(available)
    if not isinstance(chosen, (str, Sequence, np.ndarray, pd.Index)):
        raise InputTypeError(f"`{what}` must be a name or a list of names; got "
                             f"{type(chosen).__name__}")
    chosen = [chosen] if isinstance(chosen, str) else list(chosen)
    if not chosen:
        raise OptionError(f"`{what}` must name at least one of {available} (or be None for "
                          "all); got []")
    for name in chosen:
        if not isinstance(name, str) or name not in available:
            raise unknown_name_error(name, available, what=what[:-1])
    if len(set(chosen)) != len(chosen):
        raise OptionError(f"`{what}` names an entry twice: {chosen}")
    return tuple(chosen)


def _groups(runs: pd.DataFrame, chunk_size: int):
    """Chunks of at most `chunk_size` runs sharing a regimen (runs keep their ids);
    the last group's tail is cut finer (:func:`chunk_bounds`)."""
    if "regimen" in runs:
        runs = runs.sort_values("regimen", kind="stable")
    groups = list(runs.groupby(runs["regimen"] if "regimen" in runs else np.zeros(len(runs)),
                               sort=False))
    for i, (label, group) in enumerate(groups):
        bounds = chunk_bounds(len(group), chunk_size, taper=i == len(groups) - 1)
        for start, stop in itertools.pairwise(bounds):
            yield (label if "regimen" in runs else ""), \
                group.iloc[start:stop].reset_index(drop=True)


def chunk_bounds(n: int, size: int, *, taper: bool) -> list[int]:
    """Where `n` runs are cut into chunks of `size`. With `taper`, when there are
    more than 4 chunks, the last ``2 size`` runs (or a little more) go in chunks of
    ``size // 4``: the chunks are handed to workers in order, so a worker that
    draws the last full chunk would otherwise run alone for up to one chunk's
    time while the others wait (0.5 to 1 s of a 14 s sweep on 2 workers)."""
    if not taper or n <= 4 * size:
        return [*range(0, n, size), n]
    cut = (n - 2 * size) // size * size
    pieces = -(-(n - cut) // max(1, size // 4))  # ceil: chunks of at most size // 4
    return [*range(0, cut, size), *(cut + (n - cut) * i // pieces for i in range(pieces)), n]


# -- running a chunk (in a worker) ------------------------------------------------------

def _run_chunk(chunk: _Chunk) -> pd.DataFrame:
    columns = dict(chunk.base)
    for name in chunk.runs.columns:
        if name in chunk.base:
            columns[name] = chunk.runs[name].to_numpy(dtype=float)
    n = len(chunk.runs)
    columns = {k: np.broadcast_to(v, (n,)) for k, v in columns.items()}
    keys = dose_columns(chunk.model)
    dose = {keys[name]: chunk.runs[name].to_numpy(dtype=float)
            for name in chunk.runs.columns if name in keys} or None
    try:
        batch = run_batch(chunk.model, chunk.regimen, columns, t_eval=chunk.t_eval,
                          t_end=chunk.t_end, dose=dose, **chunk.options)
    except ParameterError as error:  # a dosing value: name the run, not the chunk's member
        raise name_member(error, [f"sweep run {r}" for r in chunk.runs["run"]]) from None
    units = {v.name: v.unit for v in chunk.model.variables}
    variables = list(chunk.variables)
    if chunk.output == "summary":
        times, curves = batch.curves()
        summary = summarise(times, {v: curves[v] for v in variables}, batch.exact_auc,
                            batch.baseline)
        values = np.stack([summary[v][m] for v in variables for m in chunk.metrics], axis=1)
        var_codes = np.repeat(np.arange(len(variables)), len(chunk.metrics))
        metric_codes = np.tile(np.arange(len(chunk.metrics)), len(variables))
        per_run = values.shape[1]
        body = {
            "variable": pd.Categorical.from_codes(np.tile(var_codes, n), categories=variables),
            "metric": pd.Categorical.from_codes(np.tile(metric_codes, n),
                                                categories=list(chunk.metrics)),
            "value": values.ravel(),
            "unit": _categorical([metric_unit(m, units[v], chunk.model.time_unit)
                                  for v in variables for m in chunk.metrics], n),
        }
    else:
        n_t = batch.times.shape[0]
        values = np.stack([batch.outputs[v] for v in variables], axis=1)  # (N, V, T)
        per_run = len(variables) * n_t
        body = {
            "time_h": np.tile(batch.times, n * len(variables)),
            "variable": pd.Categorical.from_codes(
                np.tile(np.repeat(np.arange(len(variables)), n_t), n), categories=variables),
            "value": values.ravel(),
            "unit": _categorical(np.repeat([units[v] for v in variables], n_t), n),
        }
    frame = pd.DataFrame({name: np.repeat(chunk.runs[name].to_numpy(), per_run)
                          for name in chunk.runs.columns})
    for name, column in body.items():
        frame[name] = column
    failed = ~batch.success
    frame.loc[np.repeat(failed, per_run), "value"] = np.nan
    frame["success"] = np.repeat(batch.success, per_run)
    frame["message"] = np.repeat(np.asarray(batch.message, dtype=object), per_run)
    return frame


def _categorical(labels, repeats: int) -> pd.Categorical:
    """`labels` (one run's rows) repeated for `repeats` runs, as a categorical."""
    categories, codes = np.unique(np.asarray(labels, dtype=object), return_inverse=True)
    return pd.Categorical.from_codes(np.tile(codes, repeats), categories=list(categories))


# -- progress and streaming -----------------------------------------------------------

def _progress(iterator, total: int, progress: bool | None):
    from tqdm.auto import tqdm

    class Bar(tqdm):
        # no monitor thread: a thread running when the local pool starts would
        # make it start its workers from a forkserver, not by a fork (executors)
        monitor_interval = 0

    disable = (None if total > 1 else True) if progress is None else not progress
    yield from Bar(iterator, total=total, disable=disable, unit="chunk", desc="il21pk sweep")


def _fingerprint(model, regimens, params, runs, chunks, options) -> str:
    h = hashlib.sha256()
    # hash exact values (JSON would round floats to 10 digits)
    h.update(pd.util.hash_pandas_object(runs, index=True).to_numpy().tobytes())
    # the definition's identity, not repr(model) (kind, name and stage names: two
    # models named alike with other rates would share a directory's results); it
    # holds the fixed values (Model.in_vitro's well volume), drugs and time unit too
    for part in (model.definition.identity(),
                 repr(sorted((k, repr(r.doses)) for k, r in regimens.items())),
                 repr(sorted(params.values().items())), repr(list(runs.columns)),
                 repr(options),
                 repr([(c.output, c.variables, c.metrics, len(c.runs),
                        c.t_eval.tobytes().hex(), c.t_end) for c in chunks])):
        h.update(part.encode())
    return h.hexdigest()


def _stream(chunks: list[_Chunk], out: Path, executor, progress, key: str,
            attrs: dict) -> Path:
    meta = out / "_sweep.json"
    if meta.exists():
        if json.loads(meta.read_text())["key"] != key:
            raise OptionError(f"`out` {str(out)!r} holds parts of a different sweep; choose a new "
                             "path or delete it")
    else:
        if out.exists() and not out.is_dir():
            raise OptionError(f"`out` {str(out)!r} is a file; give a directory for the "
                              "parquet parts")
        if out.exists() and any(not p.name.startswith((".", "_")) for p in out.iterdir()):
            # pandas.read_parquet(out) would read those files too (or only them); it
            # skips hidden files and those starting with "_" (.DS_Store, _SUCCESS)
            raise OptionError(f"`out` {str(out)!r} holds files that are not a sweep's; "
                              "choose a new or empty directory")
        out.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"key": key, "chunks": len(chunks)}))
    todo = [c for c in chunks if not (out / f"part-{c.index:05d}.parquet").exists()]
    results = executors.ordered_map(_run_chunk, todo, executor)
    for chunk, frame in zip(todo, _progress(results, len(todo), progress), strict=True):
        tmp = out / f".part-{chunk.index:05d}.tmp"
        frame.attrs.update(attrs)
        frame.to_parquet(tmp, index=False)
        tmp.rename(out / f"part-{chunk.index:05d}.parquet")
    return out
