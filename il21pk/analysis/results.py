"""Results: the arrays of a batch of simulations (:class:`BatchResult`) and the
tidy frame of one simulation plus what produced it (:class:`SimulationResult`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..units import time_unit_label
from . import metrics as _metrics
from .metrics import FullCurves

if TYPE_CHECKING:
    from ..model import Model
    from ..parameters import ParameterSet
    from ..regimen import Regimen

FRAME_COLUMNS = ["time_h", "stage", "variable", "value", "unit"]


@dataclass(frozen=True)
class BatchResult:
    """Outputs of N simulations on a shared time grid.

    Attributes
    ----------
    times : numpy.ndarray, shape (T,)
    outputs : mapping of str to numpy.ndarray of shape (N, T)
        Reported variables in the model's order.
    exact_auc : dict of str to numpy.ndarray of shape (N,)
        Solver-integrated AUC over ``[times[0], times[-1]]``.
    baseline : dict of str to numpy.ndarray of shape (N,)
        Each variable at t=0 before any dose.
    success : numpy.ndarray of bool, shape (N,)
    message : list of str
    t_fail : numpy.ndarray, shape (N,)
    full_curves : FullCurves, optional
        The outputs on the grid plus the points around each bolus, which the
        metrics read (see :meth:`curves`).
    """

    times: np.ndarray
    outputs: Mapping[str, np.ndarray]
    exact_auc: dict[str, np.ndarray]
    baseline: dict[str, np.ndarray]
    success: np.ndarray
    message: list[str]
    t_fail: np.ndarray
    full_curves: FullCurves | None = None

    def curves(self) -> tuple[np.ndarray, Mapping[str, np.ndarray]]:
        """``(times, outputs)`` of the curves the metrics read: :attr:`full_curves`
        where the engine added points around the doses, else the grid's."""
        if self.full_curves is None:
            return self.times, self.outputs
        return self.full_curves.times, self.full_curves.outputs


def _labels(values: list[str], n_repeat: int) -> pd.Categorical:
    """Each of `values` repeated `n_repeat` times, as a categorical in first-seen order."""
    categories = list(dict.fromkeys(values))
    codes = np.repeat(np.array([categories.index(v) for v in values], dtype=np.int16), n_repeat)
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories),
                                     validate=False)


def tidy_frame(times: np.ndarray, outputs: dict[str, np.ndarray], model: Model,
               member: int = 0) -> pd.DataFrame:
    """Long frame ``time_h, stage, variable, value, unit`` for one member.

    The text columns are categoricals (in model order), which keeps frames of
    thousands of runs small and fast to build. ``time_h`` is in the model's
    time unit, which ``frame.attrs["time_unit"]`` records (:func:`with_time_unit`).
    """
    variables = model.variables
    n_t = times.shape[0]
    return with_time_unit(pd.DataFrame({
        "time_h": np.tile(times, len(variables)),
        "stage": _labels([v.stage for v in variables], n_t),
        "variable": _labels([v.name for v in variables], n_t),
        "value": np.concatenate([outputs[v.name][member] for v in variables]),
        "unit": _labels([v.unit for v in variables], n_t),
    }), model.time_unit)


def with_time_unit(frame: pd.DataFrame, time_unit: str | None) -> pd.DataFrame:
    """`frame` with ``attrs["time_unit"]`` set: the unit of its ``time_h`` column
    (and of its time metrics), which :func:`frame_time_unit` reads. Returns `frame`."""
    frame.attrs["time_unit"] = time_unit
    return frame


def bolus_times(regimen: Regimen) -> tuple[float, ...]:
    """The times of a regimen's IV boluses, which a simulation frame records in
    ``attrs["bolus_times"]``: at such a time the frame holds only the value after
    the dose, which :func:`il21pk.nca` of the frame warns about."""
    return tuple(sorted({d.time for d in regimen.doses
                         if d.route == "iv" and not d.is_infusion}))


def frame_time_unit(frame: pd.DataFrame) -> str | None:
    """The unit of a frame's ``time_h`` column: ``frame.attrs["time_unit"]`` (see
    :func:`with_time_unit`), hours if the frame does not record one (il21pk's
    unit; e.g. a frame read back from CSV)."""
    return frame.attrs.get("time_unit", "h")


def time_axis_label(frame: pd.DataFrame) -> str:
    """``"time [d]"``: the label of an axis of a frame's own times."""
    return f"time [{time_unit_label(frame_time_unit(frame))}]"


class SimulationResult:
    """The result of :func:`il21pk.simulate`.

    Attributes
    ----------
    frame : pandas.DataFrame
        Tidy: one row per time x variable, columns ``time_h, stage, variable,
        value, unit``, sorted by variable (in model order) then time.
    model : Model
    regimen : Regimen
    params : ParameterSet
    options : dict
        Solver options used (method, rtol, atol, max_step, t_end) and
        ``time_unit``, the model's (:attr:`time_unit`).
    success : bool
        False only when ``raise_on_failure=False`` and the solver failed.
    message : str
        The solver's message.
    """

    def __init__(self, frame: pd.DataFrame, *, model: Model, regimen: Regimen,
                 params: ParameterSet, options: dict, success: bool, message: str,
                 batch: BatchResult) -> None:
        self.frame = frame
        self.model = model
        self.regimen = regimen
        self.params = params
        self.options = dict(options)
        self.success = success
        self.message = message
        self._batch = batch

    @classmethod
    def from_batch(cls, batch: BatchResult, *, model: Model, regimen: Regimen,
                   params: ParameterSet, options: dict) -> SimulationResult:
        """Wrap member 0 of a batch."""
        frame = tidy_frame(batch.times, batch.outputs, model)
        frame.attrs["bolus_times"] = bolus_times(regimen)
        return cls(frame, model=model, regimen=regimen, params=params, options=options,
                   success=bool(batch.success[0]), message=batch.message[0], batch=batch)

    def __repr__(self) -> str:
        return (f"SimulationResult({self.model!r}, {len(self.regimen)} doses, "
                f"t_end={self.options['t_end']:g} {time_unit_label(self.time_unit)}, "
                f"success={self.success})")

    @property
    def time_unit(self) -> str | None:
        """The unit of every time in the result: the model's (``'h'`` for
        il21pk's models; None if an imported model declares none)."""
        return self.model.time_unit

    @property
    def times(self) -> np.ndarray:
        """Output times, in :attr:`time_unit` (a copy)."""
        return self._batch.times.copy()

    def wide(self) -> pd.DataFrame:
        """One row per time, one column per variable labelled ``"name [unit]"``."""
        data = {"time_h": self._batch.times}
        for v in self.model.variables:
            data[f"{v.name} [{v.unit}]"] = self._batch.outputs[v.name][0]
        return with_time_unit(pd.DataFrame(data), self.time_unit)

    def metrics(self) -> pd.DataFrame:
        """Long frame ``variable, metric, value, unit``.

        Metrics per variable: baseline (the value before any dose), cmax,
        tmax, cmin, tmin, auc, peak_fold_change (cmax/baseline) and
        nadir_fold_change (cmin/baseline); NaN where the baseline is 0. The
        AUC is solver-integrated for ``ifng_plasma`` and for each drug's
        ``<drug>_plasma`` where the model has its ``<drug>_auc`` state (the
        built-in PK stages), else the linear trapezoid on the output grid. At
        each bolus time the curve holds the values just before and after the
        dose, so a dose is a jump, not a ramp over the grid step before it,
        and cmin/tmin see the troughs there; between each bolus and the next
        output time it also holds 24 log-spaced points
        (:data:`il21pk.analysis.simulate.AFTER_DOSE`), so a transient that peaks
        within minutes of a dose is seen on an hourly grid. Times and AUCs are in
        the model's :attr:`time_unit` (units ``d`` and ``nmol*d`` for a model in
        days).
        """
        b = self._batch
        summary = _metrics.summarise(*b.curves(), b.exact_auc, b.baseline)
        frame = _metrics.to_frame(summary, {v.name: v.unit for v in self.model.variables},
                                  time_unit=self.time_unit)
        return with_time_unit(frame, self.time_unit)

    def to_csv(self, path: str | Path) -> Path:
        """Write the tidy frame to CSV and return the path."""
        path = Path(path)
        self.frame.to_csv(path, index=False)
        return path

    def references(self) -> dict[str, str]:
        """Citations behind the parameter values used."""
        return self.params.references()
