"""Dose-response of NK expansion and IFN-gamma with Emax/Hill fits (no CIs: the model
output is deterministic; pass uncertainty=<parameter draws> for intervals).

Run: python examples/06_dose_response.py [output-directory]
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import il21pk as ip

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
out.mkdir(parents=True, exist_ok=True)
params = ip.parameter_sets.load("human")
regimen = ip.Regimen.five_on_nine_off(ip.Dose(30, unit="ug/kg"), cycles=2)
for response, metric in (("nk_total", "peak_fold_change"), ("ifng_plasma", "auc")):
    # no doses=: a grid from 0 upwards that spans the response (10-90 % of Emax)
    dr = ip.dose_response(ip.Model(), regimen, params, response=response, metric=metric,
                          t_end=672, executor="serial")
    print(dr.summary)
    dr.plot().figure.savefig(out / f"06_{response}.png", dpi=90)
