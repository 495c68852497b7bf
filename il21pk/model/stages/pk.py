"""Pharmacokinetics of one drug: SC depot, central and peripheral compartments.

States are amounts [nmol]: the SC absorption depot, the central and the
peripheral compartment, plus the running AUC of the plasma concentration
[nM h]. IV boluses jump the central amount, IV infusions add their rate
[nmol/h], SC doses (times the bioavailability, after the lag) jump the
depot. Elimination is linear (renal) clearance; the uptake by receptors
[nmol/h] is read from the binding stage (zero when there is none). A
one-compartment model fixes ``q = 0``. Since linear elimination is
``cl * C``, the amount eliminated by that route up to t is exactly
``cl * AUC(t)``.
"""

from __future__ import annotations

from ...parameters import ParameterSpec
from ..definition import Drug, Quantity, Stage, State, symbols


def pk_states(d: str, description: str) -> tuple[State, ...]:
    """A drug's PK states (depot, central, peripheral, AUC), named after `d`."""
    return (
        State(f"{d}_depot", "nmol", f"{description} in the SC absorption depot",
              nonnegative=True),
        State(f"{d}_central", "nmol", f"{description} amount in the central compartment",
              reported=False, nonnegative=True),
        State(f"{d}_peripheral", "nmol", f"{description} in the peripheral compartment",
              nonnegative=True),
        State(f"{d}_auc", "nM*h", f"area under the plasma {description} curve from t=0",
              nonnegative=True),
    )


def pk(drug: str = "il21", *, prefix: str = "", compartments: int = 2, uptake: str | None = None,
       description: str = "IL-21") -> Stage:
    """A linear PK stage for `drug`.

    Parameters
    ----------
    drug : str
        Drug name; states are ``<drug>_depot``, ``<drug>_central``,
        ``<drug>_peripheral``, ``<drug>_auc`` and the concentration
        ``<drug>_plasma`` [nM].
    prefix : str
        Prefix of the parameter names (``""`` for the default drug: ``cl``,
        ``v_central``, ...; e.g. ``"il15_"`` for a second drug).
    compartments : {1, 2}
        With 1, there is no peripheral distribution (``q`` is fixed to 0 by
        the model that uses it; the stage is the same).
    uptake : str, optional
        Name of the receptor uptake [nmol/h] read from another stage; default
        ``<drug>_uptake`` (0 when no stage provides it).
    description : str
        Drug description used in the state descriptions.
    """
    d = drug
    names = {k: f"{prefix}{k}" for k in ("mw", "body_weight", "v_central", "cl", "q",
                                           "v_peripheral", "ka", "f_sc", "tlag_sc")}
    if prefix:
        names["body_weight"] = "body_weight"
    depot, central, peripheral, auc, plasma = symbols(
        f"{d}_depot {d}_central {d}_peripheral {d}_auc {d}_plasma")
    ka, cl, vc, q, vp = symbols(" ".join(names[k] for k in ("ka", "cl", "v_central", "q",
                                                             "v_peripheral")))
    uptake_name = uptake or f"{d}_uptake"
    (infusion, uptake_rate) = symbols(f"infusion_{d} {uptake_name}")
    absorbed = ka * depot
    distributed = q * plasma - q * peripheral / vp
    parameters = [
        ParameterSpec(names["mw"], "kDa", 1e-3, 1e4, "molecular weight of the drug"),
        ParameterSpec(names["v_central"], "L", 1e-9, 1e4, "central volume of distribution"),
        ParameterSpec(names["cl"], "L/h", 0.0, 1e4,
                      "linear (renal) clearance from the central compartment"),
        ParameterSpec(names["q"], "L/h", 0.0, 1e4, "inter-compartmental clearance"),
        ParameterSpec(names["v_peripheral"], "L", 1e-9, 1e4, "peripheral volume of distribution"),
        ParameterSpec(names["ka"], "1/h", 0.0, 1e3, "first-order SC absorption rate constant"),
        ParameterSpec(names["f_sc"], "1", 0.0, 1.0, "SC bioavailability"),
        ParameterSpec(names["tlag_sc"], "h", 0.0, 48.0, "SC absorption lag time"),
    ]
    if not prefix:
        parameters.insert(1, ParameterSpec("body_weight", "kg", 0.01, 500.0,
                                           "body weight used for per-kg doses"))
    return Stage(
        name="pk" if not prefix else f"pk_{d}",
        description=__doc__,
        states=pk_states(d, description),
        parameters=tuple(parameters),
        quantities=(Quantity(f"{d}_plasma", central / vc, "nM",
                             f"free {description} concentration in plasma", reported=True),),
        rates={
            f"{d}_depot": -absorbed,
            f"{d}_central": absorbed + infusion - cl * plasma - distributed - uptake_rate,
            f"{d}_peripheral": distributed,
            f"{d}_auc": plasma,
        },
        inputs={uptake_name: 0.0},
        drugs=(Drug(d, mw=names["mw"], central=f"{d}_central", depot=f"{d}_depot",
                    bioavailability=names["f_sc"], lag=names["tlag_sc"],
                    cmt={1: f"{d}_depot", 2: f"{d}_central"} if not prefix else {},
                    description=description),),
        report=(f"{d}_depot", f"{d}_plasma", f"{d}_peripheral", f"{d}_auc"),
        time_unit="h",
    )
