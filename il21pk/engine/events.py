"""Regimen -> dose events: bolus jumps into states and infusion rates per member.

Doses are converted to nmol here, per member, because per-kg doses depend on
``body_weight`` and mass doses on the drug's molecular weight; SC doses are
multiplied by the drug's bioavailability and shifted by its lag. Each dose
goes to the states its drug declares (:class:`~il21pk.model.Drug`). The
integrator restarts at every event time, so no dose is ever stepped over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import RegimenError
from ..model import Model
from ..regimen import Regimen
from ..units import DOSING_UNITS, check_dosing_value, dose_to_nmol, time_unit_label


@dataclass(frozen=True)
class Events:
    """Dose events shared by N members.

    Attributes
    ----------
    times : numpy.ndarray, shape (K,)
        Sorted, unique event times [h] (dose times and infusion edges).
    bolus_state : numpy.ndarray of int, shape (B,)
        Indices of the states that receive boluses (central and depot states).
    bolus : numpy.ndarray, shape (K, N, B)
        Amount added to each of those states at each time [nmol].
    rates : numpy.ndarray, shape (K, N, I)
        Infusion rate of each drug from ``times[k]`` until the next event [nmol/h].
    """

    times: np.ndarray
    bolus_state: np.ndarray
    bolus: np.ndarray
    rates: np.ndarray


def parameter_value(model: Model, values: Mapping[str, np.ndarray], name: str,
                    n: int) -> np.ndarray:
    """Values (n,) of parameter `name`: from `values`, else the model's fixed number."""
    if name in values:
        return np.broadcast_to(np.asarray(values[name], dtype=float), (n,))
    fixed = model.fixed_value(name)
    if fixed is None:
        raise RegimenError(f"dosing needs parameter {name!r}, which model {model.name!r} "
                           "neither reads nor fixes")
    return np.full(n, fixed)


def compile_events(model: Model, regimen: Regimen, values: Mapping[str, np.ndarray], *,
                   n: int, amounts: Mapping[str | None, np.ndarray] | None = None) -> Events:
    """Turn a regimen into per-member event arrays for `model`.

    `values` holds the parameters the doses read (molecular weights, body
    weight, bioavailability, lag), each of shape (n,) or scalar. `amounts`
    ``{drug: (n,)}`` replaces the amount of every dose of that drug (each in
    its own unit) per member, key None every other dose: this is how dose
    sweeps vary doses within one batch.

    Raises
    ------
    ParameterError
        If a dose reads a molecular weight or body weight that is not finite
        and > 0, or an SC dose a lag or bioavailability that is not finite and
        >= 0 (a negative lag would move the dose before its time, even before
        the start), naming the parameter, the value and the member.
    RegimenError
        If a drug cannot be given by a dose's route, or a dose or infusion
        rate overflows the float range.
    """
    drugs = model.drugs
    targets: list[int] = []
    for drug in drugs:
        targets += [model.state_names.index(s) for s in (drug.central, drug.depot)
                    if s is not None]
    slot = {state: i for i, state in enumerate(targets)}
    records: list[tuple[np.ndarray, str, int, np.ndarray]] = []  # (time, kind, slot, amount)
    amounts = amounts or {}
    for dose in regimen.doses:
        drug = model.drug(dose.drug)
        if dose.route not in drug.routes:
            raise RegimenError(f"drug {drug.name!r} of model {model.name!r} cannot be given by "
                               f"route {dose.route!r}; its routes: {list(drug.routes)}")
        given = amounts.get(drug.name, amounts.get(None, dose.amount))
        nmol = np.broadcast_to(dose_to_nmol(
            given, dose.unit, mw=parameter_value(model, values, drug.mw, n),
            body_weight=parameter_value(model, values, "body_weight", n)
            if dose.unit.endswith("/kg") else np.ones(n), field="Dose.amount",
            mw_name=drug.mw), (n,))
        start = np.full(n, dose.time)
        if dose.route == "sc":
            lag = check_dosing_value(
                parameter_value(model, values, drug.lag, n), drug.lag,
                time_unit_label(model.time_unit), positive=False,
                what=f"the lag of SC doses of drug {drug.name!r}") if drug.lag else 0.0
            f = check_dosing_value(
                parameter_value(model, values, drug.bioavailability, n), drug.bioavailability,
                DOSING_UNITS["bioavailability"], positive=False,
                what=f"the bioavailability of SC doses of drug {drug.name!r}") \
                if drug.bioavailability else 1.0
            depot = slot[model.state_names.index(drug.depot)]
            records.append((start + lag, "bolus", depot, nmol * f))
        elif dose.is_infusion:
            # the rate over the duration the end time represents: a very short infusion
            # late in a run ends earlier or later than start + duration in floats
            end = start + dose.duration
            if end[0] == start[0]:
                raise RegimenError(
                    f"the infusion of {dose.describe(model.time_unit)} ends when it "
                    f"starts (duration {dose.duration!r} is below the float resolution at time "
                    f"{dose.time!r}); give a bolus (duration 0) or a longer infusion")
            with np.errstate(over="ignore"):
                rate = nmol / (end - start)
            if not np.isfinite(rate).all():
                raise RegimenError(
                    f"the infusion of {nmol[~np.isfinite(rate)][0]:g} nmol over Dose.duration = "
                    f"{dose.duration:g} {time_unit_label(model.time_unit)} (at t="
                    f"{dose.time:g}) has a rate beyond the float range (at most "
                    f"{np.finfo(float).max:.4g} nmol per time unit); give a longer "
                    "Dose.duration or a smaller Dose.amount")
            index = drugs.index(drug)
            records.append((start, "rate", index, rate))
            records.append((end, "rate", index, -rate))
        else:
            records.append((start, "bolus", slot[model.state_names.index(drug.central)], nmol))
    times = np.unique(np.concatenate([r[0] for r in records])) if records else np.zeros(0)
    k = times.shape[0]
    bolus = np.zeros((k, n, len(targets)))
    rate_change = np.zeros((k, n, max(len(drugs), 1)))
    members = np.arange(n)
    with np.errstate(over="ignore", invalid="ignore"):
        for when, kind, index, value in records:
            target = bolus if kind == "bolus" else rate_change
            np.add.at(target, (np.searchsorted(times, when), members, index), value)
        rates = np.cumsum(rate_change, axis=0)
    summed = ~np.isfinite(bolus).all(axis=(1, 2)) | ~np.isfinite(rates).all(axis=(1, 2))
    if summed.any():
        raise RegimenError(f"the doses at t={times[np.argmax(summed)]:g} "
                           f"{time_unit_label(model.time_unit)} add up to more than the float "
                           f"range (at most {np.finfo(float).max:.4g} nmol, or nmol per time "
                           "unit for infusions running together); give smaller doses")
    if k:  # clear the round-off left where overlapping infusions end (each member's and
        # drug's own scale: a member dosed 1e12 times less than another keeps its rate)
        rates[np.abs(rates) < 1e-12 * np.abs(rate_change).max(axis=0, keepdims=True)] = 0.0
    return Events(times, np.array(targets, dtype=np.int64), bolus, rates)
