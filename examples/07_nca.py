"""NCA of simulated IL-21 after IV and SC doses, with the terminal phase marked.

Run: python examples/07_nca.py [output-directory]
"""

import sys
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")

import il21pk as ip

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
out.mkdir(parents=True, exist_ok=True)
params = ip.parameter_sets.load("human")
grid = np.r_[0, 0.083, 0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 24]
for route in ("iv", "sc"):
    res = ip.simulate(ip.Model(), ip.Dose(30, route=route), params, t_end=24, t_eval=grid)
    curve = res.frame[res.frame["variable"] == "il21_plasma"]
    dose_nmol = 30 * params.value("body_weight") / params.value("mw")
    table = ip.nca(curve, dose=dose_nmol, route="iv" if route == "iv" else "extravascular")
    apparent = ["cl", "vz"] if route == "iv" else ["cl_f", "vz_f"]  # CL/F, Vz/F after SC
    print(route, table[["cmax", "tmax", "auc_inf", "half_life", *apparent]].round(3))
    ax = ip.plotting.nca_profile(curve, table.iloc[0], variable="il21_plasma")
    ax.figure.savefig(out / f"07_nca_{route}.png", dpi=90)
