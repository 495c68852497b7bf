"""A virtual population of 200 patients on 5 on / 9 off, summarised and plotted.

Run: python examples/05_sweep_virtual_population.py [output-directory]
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
pop = ip.virtual_population(params, 200, {"il21_cl_ref": 0.3, "kp_nk_il21": 0.4,
                                           "emax_margination_il21": 0.3},
                            body_weight={"median": 75, "cv": 0.2}, model=ip.Model(), seed=42)
traj = ip.sweep(ip.Model(), regimen, params, samples=pop, t_end=336, output="trajectories",
                variables=["nk_blood", "ifng_plasma"], executor="serial")
summary = ip.sweep(ip.Model(), regimen, params, samples=pop, t_end=336,
                   variables=["nk_blood"], metrics=["nadir_fold_change"], executor="serial")
print(summary["value"].describe())
ax = ip.plotting.population(traj, "nk_blood")
ax.figure.savefig(out / "05_population.png", dpi=90)
