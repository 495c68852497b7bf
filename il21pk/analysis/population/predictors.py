r"""Prediction functions: individual parameters of many subjects -> predictions.

Every population algorithm calls one function,

    ``predict(values) -> (C, n_obs)``

where ``values`` maps each estimated parameter to an array (C, N): C
replicates (MCMC chains, finite-difference points, importance draws) of the
N subjects' values. The result holds the prediction of every observation of
the dataset for each replicate (NaN where a simulation failed).

Two implementations share this interface:

- :class:`ModelPredictor`: the compiled engine
  (:func:`il21pk.simulate.run_batch`). Subjects that share a dosing schedule
  (amounts may differ) and all replicates are integrated in one compiled
  call on the union of their sampling times.
- :class:`OneCompartmentOral`: the closed-form one-compartment model with
  first-order absorption (Bateman function) and IV boluses, for exact
  reference tests and benchmarks against other NLME tools.

Any object with a ``bind(dataset, params) -> callable`` method and a
``parameter_names`` attribute can be passed as the model of
:func:`il21pk.fit_population`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
from scipy import sparse

from ...errors import OptionError
from ...io.data import Dataset
from ...model import Model
from ...parameters import ParameterSet
from .. import executors
from ..fitting import sampling_grid, subject_plans
from ..simulate import run_batch


def _schedule_key(regimen):
    """Doses with their amounts removed, and the shared amount (None if they differ)."""
    amounts = {d.amount for d in regimen.doses}
    if len(amounts) == 1:
        return tuple(dataclasses.replace(d, amount=0.0) for d in regimen.doses), amounts.pop()
    return tuple(regimen.doses), None


def _run_chunk(task: tuple) -> tuple[dict, np.ndarray]:
    """Integrate one chunk of members (runs in a worker)."""
    model, regimen, columns, grid, t_end, dose, predose, variables, options = task
    batch = run_batch(model, regimen, columns, t_eval=grid, t_end=t_end, dose=dose,
                      predose=predose, **options)
    return {v: batch.outputs[v] for v in variables}, batch.success


class ModelPredictor:
    """Predictions of the compiled model for a dataset, batched across subjects.

    Parameters
    ----------
    model : Model
    dataset : Dataset
    params : ParameterSet
        Values of every parameter that is not estimated.
    names : sequence of str
        The estimated parameters, supplied per call.
    options : mapping
        Solver options for :func:`~il21pk.simulate.run_batch` (method, rtol, atol).
    executor : optional
        Where chunks of members run (see :mod:`il21pk.executors`); None runs
        each batch in this process.
    """

    def __init__(self, model: Model, dataset: Dataset, params: ParameterSet, names,
                 options: Mapping | None = None, executor=None) -> None:
        self.model = model
        self.names = tuple(names)
        self.options = dict(options or {})
        self.executor = executor
        plans = subject_plans(model, dataset, params)
        self.n_obs = len(dataset.observations)
        self.n_subjects = len(plans)
        groups: dict = {}
        for j, plan in enumerate(plans):
            key, amount = _schedule_key(plan["regimen"])
            groups.setdefault((key, amount is not None), []).append((j, plan, amount))
        self.groups = []
        for members in groups.values():
            idx = np.array([j for j, _, _ in members])
            grid, predose, where_all = sampling_grid(
                np.concatenate([p["grid"][p["where"]] for _, p, _ in members]),
                np.concatenate([p["predose"][p["where"]] for _, p, _ in members]))
            columns = {}
            for name in members[0][1]["columns"]:
                if name in self.names:
                    continue
                columns[name] = np.array([float(p["columns"][name][0]) for _, p, _ in members])
            amounts = [a for _, _, a in members]
            dose = np.array(amounts, dtype=float) if amounts[0] is not None else None
            rows = np.concatenate([p["rows"] for _, p, _ in members])
            member = np.concatenate([np.full(p["rows"].size, m)
                                     for m, (_, p, _) in enumerate(members)])
            where = where_all
            variables = dataset.observations["variable"].to_numpy()[rows]
            per_var = [(v, rows[variables == v], member[variables == v], where[variables == v])
                       for v in np.unique(variables)]
            var = [v for v, *_ in per_var]
            self.groups.append({"subjects": idx, "regimen": members[0][1]["regimen"],
                                "grid": grid, "predose": predose, "columns": columns,
                                "dose": dose, "per_var": per_var, "variables": var,
                                "t_end": max(float(grid[-1]), 1e-9)})

    def __call__(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        first = next(iter(values.values()))
        c = first.shape[0]
        out = np.full((c, self.n_obs), np.nan)
        for g in self.groups:
            idx = g["subjects"]
            n_g = idx.size
            columns = {k: np.tile(v, c) for k, v in g["columns"].items()}
            for name in self.names:
                columns[name] = np.ascontiguousarray(values[name][:, idx]).ravel()
            dose = None if g["dose"] is None else np.tile(g["dose"], c)
            outputs, success = self._integrate(g, columns, dose, c * n_g)
            for var, rows, member, where in g["per_var"]:
                block = outputs[var].reshape(c, n_g, -1)
                out[:, rows] = block[:, member, where]
            failed = ~success.reshape(c, n_g)
            if failed.any():
                bad_c, bad_m = np.nonzero(failed)
                for cc, mm in zip(bad_c, bad_m, strict=True):
                    out[cc, np.concatenate([r[m == mm] for _, r, m, _ in g["per_var"]])] = np.nan
        return out

    def _integrate(self, g: dict, columns: dict, dose, n: int):
        workers = self._workers()
        if workers <= 1 or n < 2 * workers:
            return _run_chunk((self.model, g["regimen"], columns, g["grid"], g["t_end"], dose,
                               g["predose"], g["variables"], self.options))
        edges = np.linspace(0, n, workers + 1).astype(int)
        tasks = []
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            cols = {k: v[a:b] for k, v in columns.items()}
            tasks.append((self.model, g["regimen"], cols, g["grid"], g["t_end"],
                          None if dose is None else dose[a:b], g["predose"], g["variables"],
                          self.options))
        parts = list(executors.ordered_map(_run_chunk, tasks, self.executor))
        outputs = {v: np.concatenate([p[0][v] for p in parts]) for v in g["variables"]}
        return outputs, np.concatenate([p[1] for p in parts])

    def _workers(self) -> int:
        ex = self.executor
        if ex is None or ex == "serial":
            return 1
        if isinstance(ex, int):
            return ex
        if ex == "processes":
            import os

            return os.cpu_count() or 1
        max_workers = getattr(ex, "_max_workers", None)
        if max_workers:
            return int(max_workers)
        if hasattr(ex, "scheduler_info"):
            return max(len(ex.scheduler_info().get("workers", {})), 1)
        return 2


class OneCompartmentOral:
    r"""Closed-form one-compartment model: first-order absorption and IV boluses.

    For each dose :math:`D` [nmol] given at :math:`t_d`, with
    :math:`k = CL/V` and :math:`\tau = t - t_d`,

    .. math::
        C_{sc}(t) = \frac{F D k_a}{V (k_a - k)} \left(e^{-k(\tau - t_{lag})} -
                    e^{-k_a(\tau - t_{lag})}\right), \qquad
        C_{iv}(t) = \frac{D}{V} e^{-k\tau},

    summed over doses (superposition). It is the analytic solution of
    ``Model.pk_only(compartments=1)`` and reports ``il21_plasma`` [nM].
    Parameters: ``ka`` [1/h], ``cl`` [L/h], ``v_central`` [L], ``f_sc`` [1],
    ``tlag_sc`` [h]; doses are converted with ``mw`` and ``body_weight`` as
    in the engine. A covariate of the dataset named like one of these
    parameters is the subject's value, as in the engine. IV infusions are not
    supported.
    """

    parameter_names = ("ka", "cl", "v_central", "f_sc", "tlag_sc", "mw", "body_weight")
    variables = ("il21_plasma",)

    def __repr__(self) -> str:
        return "OneCompartmentOral()"

    def bind(self, dataset: Dataset, params: ParameterSet) -> _ClosedFormPredictor:
        """The prediction function for `dataset` with `params` for fixed values."""
        return _ClosedFormPredictor(dataset, params)


class _ClosedFormPredictor:
    """Vectorised over (dose, observation) pairs: one array expression per call."""

    def __init__(self, dataset: Dataset, params: ParameterSet) -> None:
        from ...units import dose_unit_parts

        obs = dataset.observations
        if set(obs["variable"]) - {"il21_plasma"}:
            raise OptionError("OneCompartmentOral predicts only 'il21_plasma'")
        subjects = [s for s in dataset.regimens if (obs["subject"] == s).any()]
        position = {s: j for j, s in enumerate(subjects)}
        self.n_obs = len(obs)
        subject = np.array([position[s] for s in obs["subject"]])
        time = obs["time_h"].to_numpy(dtype=float)
        predose = obs["predose"].to_numpy(dtype=bool)
        cov = dataset.covariates.set_index("subject")
        self.fixed = {n: float(params[n].value) for n in OneCompartmentOral.parameter_names
                      if n in params}
        # a covariate named like a parameter is that subject's value (as in the engine)
        per_subject = {n: np.array([float(cov.loc[s, n]) for s in subjects])
                       for n in OneCompartmentOral.parameter_names if n in cov.columns}
        row, tau, sc, base, per_kg, mass = [], [], [], [], [], []
        for s in subjects:
            rows = np.flatnonzero(subject == position[s])
            for d in dataset.regimens[s].doses:
                if d.route == "iv" and d.duration > 0:
                    raise OptionError("OneCompartmentOral does not support IV infusions")
                factor, kg, is_mass = dose_unit_parts(d.unit)
                t = time[rows] - d.time
                # a sample at the dose time is taken after the dose unless pre-dose
                keep = np.where(predose[rows], t > 0, t >= 0)
                n_keep = int(keep.sum())
                row.append(rows[keep])
                tau.append(t[keep])
                sc.append(np.full(n_keep, d.route == "sc"))
                base.append(np.full(n_keep, d.amount * factor))
                per_kg.append(np.full(n_keep, kg))
                mass.append(np.full(n_keep, is_mass))

        def cat(parts, dtype):
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

        self.row = cat(row, int)
        self.subject = subject[self.row]
        self.tau = cat(tau, float)
        self.sc = cat(sc, bool)
        self.base = cat(base, float)
        self.per_kg = cat(per_kg, bool)
        self.mass = cat(mass, bool)
        self.per_subject = {n: v[self.subject][None, :] for n, v in per_subject.items()}
        self.unique_rows = np.unique(self.row).size == self.row.size
        self.scatter = sparse.csr_matrix(
            (np.ones(self.row.size), (self.row, np.arange(self.row.size))),
            shape=(self.n_obs, self.row.size))

    def __call__(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        c = next(iter(values.values())).shape[0]

        def get(name):
            if name in values:
                return values[name][:, self.subject]
            if name in self.per_subject:
                return self.per_subject[name]
            if name == "body_weight":
                return self.fixed.get(name, np.nan)
            return self.fixed[name]

        ka, cl, v = get("ka"), get("cl"), get("v_central")
        f, lag, mw = get("f_sc"), get("tlag_sc"), get("mw")
        nmol = self.base * np.where(self.per_kg, get("body_weight"), 1.0)
        nmol = np.where(self.mass, nmol / mw, nmol)
        k = cl / v
        # ka == k is a removable singularity: move ka by a relative 1e-7
        ka = np.where(np.abs(ka - k) < 1e-7 * k, k * (1 + 1e-7), ka)
        t = np.where(self.sc, self.tau - lag, self.tau)
        on = t >= 0
        t = np.where(on, t, 0.0)
        e_k = np.exp(-k * t)
        oral = f * ka / (ka - k) * (e_k - np.exp(-ka * t))
        conc = nmol / v * np.where(self.sc, oral, e_k) * on
        if self.unique_rows:
            out = np.zeros((c, self.n_obs))
            out[:, self.row] = conc
            return out
        return np.asarray(self.scatter @ conc.T).T  # superposition of the doses


def make_predictor(model, dataset: Dataset, params: ParameterSet, names,
                   options: Mapping | None = None, executor=None):
    """The prediction function of `model` (an il21pk Model or a closed form)."""
    if isinstance(model, Model):
        return ModelPredictor(model, dataset, params, names, options, executor)
    return model.bind(dataset, params)
