"""JAK1/JAK3-STAT3 signalling: pSTAT3 follows signalling complexes per cell
through a chain of transit compartments (the transduction delay).

The drive is a Hill function of the signalling complexes per cell (binding
stage); three transit compartments with rate 3 / MTT delay it. pSTAT3 is
the last one, the fraction of the maximal response (0 at baseline, at most 1).
"""

from __future__ import annotations

import sympy as sp

from ...parameters import ParameterSpec
from ..definition import Quantity, Stage, State, symbols

N_TRANSIT = 3


def signalling() -> Stage:
    """pSTAT3 through three transit compartments."""
    t1, t2, p3, complexes = symbols("pstat3_transit_1 pstat3_transit_2 pstat3 complexes_per_cell")
    ec50, hill, mtt, ktr, drive = symbols(
        "ec50_pstat3 hill_pstat3 mtt_pstat3 k_transit_pstat3 pstat3_drive")
    signal = sp.Max(complexes, 0)
    return Stage(
        name="signalling",
        description=__doc__,
        states=(
            State("pstat3_transit_1", "1", "first signal transit compartment", reported=False,
                  nonnegative=True),
            State("pstat3_transit_2", "1", "second signal transit compartment", reported=False,
                  nonnegative=True),
            State("pstat3", "1", "phospho-STAT3, fraction of the maximal response",
                  nonnegative=True),
        ),
        parameters=(
            ParameterSpec("ec50_pstat3", "1/cell", 1e-9, 1e7,
                          "signalling complexes per cell giving half-maximal pSTAT3"),
            ParameterSpec("hill_pstat3", "1", 0.1, 10.0, "Hill coefficient of pSTAT3 activation"),
            ParameterSpec("mtt_pstat3", "h", 1e-6, 1e3,
                          "mean transit time from receptor to pSTAT3"),
        ),
        quantities=(
            Quantity("k_transit_pstat3", N_TRANSIT / mtt, "1/h", "transit rate constant"),
            # h = 1 (the default) is written out so the compiled kernel skips two pow() calls
            Quantity("pstat3_drive", sp.Piecewise(
                (signal / (ec50 + signal), sp.Eq(hill, 1)),
                (signal**hill / (ec50**hill + signal**hill), True)), "1",
                "pSTAT3 drive from signalling complexes per cell"),
        ),
        rates={
            "pstat3_transit_1": ktr * (drive - t1),
            "pstat3_transit_2": ktr * (t1 - t2),
            "pstat3": ktr * (t2 - p3),
        },
        inputs={"complexes_per_cell": None},
        time_unit="h",
    )
