"""Simulate the 5 on / 9 off rIL-21 schedule and look at the whole chain.

Run: python examples/01_simulate_clinical_schedule.py [output-directory]
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import il21pk as ip

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
out.mkdir(parents=True, exist_ok=True)

params = ip.parameter_sets.load("human")
regimen = ip.Regimen.five_on_nine_off(ip.Dose(30, unit="ug/kg", route="iv"), cycles=2)
print(regimen.in_words())

result = ip.simulate(ip.Model(), regimen, params, t_end=28 * 24)
metrics = result.metrics()
print(metrics[metrics["variable"].isin(["il21_plasma", "nk_blood", "ifng_plasma"])
              & metrics["metric"].isin(["cmax", "auc", "nadir_fold_change"])])

axes = ip.plotting.overview(result.frame, title="30 ug/kg IV, 5 on / 9 off")
axes[0].figure.savefig(out / "01_time_course.png", dpi=100)
result.to_csv(out / "01_simulation.csv")
