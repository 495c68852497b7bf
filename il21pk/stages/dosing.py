"""Regimen -> dose events: bolus jumps and infusion rates per simulated member.

No ODE states. Doses are converted to nmol here, per member, because per-kg
doses depend on ``body_weight`` and mass doses on ``mw``; SC doses are
multiplied by ``f_sc`` and shifted by ``tlag_sc``. The integrator restarts at
every event time, so no dose is ever stepped over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..regimen import Regimen
from ..units import dose_to_nmol


@dataclass(frozen=True)
class Events:
    """Dose events shared by N members.

    Attributes
    ----------
    times : numpy.ndarray, shape (K,)
        Sorted, unique event times [h] (dose times and infusion edges).
    depot_bolus, central_bolus : numpy.ndarray, shape (K, N)
        Amount added to the SC depot / central compartment at each time [nmol].
    infusion_rate : numpy.ndarray, shape (K, N)
        IV infusion rate into the central compartment from ``times[k]`` until
        the next event time [nmol/h].
    """

    times: np.ndarray
    depot_bolus: np.ndarray
    central_bolus: np.ndarray
    infusion_rate: np.ndarray


def compile_events(regimen: Regimen, *, mw: np.ndarray, body_weight: np.ndarray,
                   f_sc: np.ndarray, tlag_sc: np.ndarray,
                   amount: np.ndarray | None = None) -> Events:
    """Turn a regimen into per-member event arrays (all inputs shape (N,)).

    `amount`, if given, replaces every dose amount (each in its own unit) per
    member: this is how dose sweeps vary the dose within one batch.
    """
    n = mw.shape[0]
    records: list[tuple[np.ndarray, str, np.ndarray]] = []  # (times (N,), kind, amount (N,))
    for dose in regimen.doses:
        given = dose.amount if amount is None else amount
        amount_nmol = np.broadcast_to(dose_to_nmol(given, dose.unit, mw=mw,
                                                   body_weight=body_weight), (n,))
        start = np.full(n, dose.time)
        if dose.route == "sc":
            records.append((start + tlag_sc, "depot", amount_nmol * f_sc))
        elif dose.is_infusion:
            rate = amount_nmol / dose.duration
            records.append((start, "rate", rate))
            records.append((start + dose.duration, "rate", -rate))
        else:
            records.append((start, "central", amount_nmol))
    times = np.unique(np.concatenate([r[0] for r in records])) if records else np.zeros(0)
    k = times.shape[0]
    depot, central, rate_change = np.zeros((k, n)), np.zeros((k, n)), np.zeros((k, n))
    target = {"depot": depot, "central": central, "rate": rate_change}
    members = np.arange(n)
    for when, kind, value in records:
        np.add.at(target[kind], (np.searchsorted(times, when), members), value)
    rate = np.cumsum(rate_change, axis=0)
    if k:  # clear the round-off left where overlapping infusions end
        rate[np.abs(rate) < 1e-12 * np.abs(rate_change).max()] = 0.0
    return Events(times, depot, central, rate)
