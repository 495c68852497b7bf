"""Which parameters drive the IFN-gamma response? Local and Sobol sensitivity.

Run: python examples/08_sensitivity.py [output-directory]
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import il21pk as ip

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
out.mkdir(parents=True, exist_ok=True)
params = ip.parameter_sets.load("human")
regimen = ip.Regimen.five_on_nine_off(ip.Dose(30), cycles=1)
common = dict(outputs=["ifng_plasma"], metrics=["auc"], t_end=336, executor="serial")
local = ip.sensitivity(ip.Model(), regimen, params, method="local",
                       parameters=["il21_cl_ref", "kd", "kon_il21", "il21r_per_cell",
                                   "ec50_complexes_pstat3", "k_effector_on", "k_ifng",
                                   "ifng_0"], **common)
print(local.sort_values("value", key=abs, ascending=False).head())
ip.plotting.tornado(local).figure.savefig(out / "08_tornado.png", dpi=90)
sobol = ip.sensitivity(ip.Model(), regimen, params, method="sobol", n=32, seed=1,
                       parameters=["il21_cl_ref", "kd", "ec50_complexes_pstat3", "k_effector_on"],
                       **common)
print(sobol)
ip.plotting.sobol_bars(sobol).figure.savefig(out / "08_sobol.png", dpi=90)
