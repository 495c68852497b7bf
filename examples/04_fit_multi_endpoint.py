"""Fit PK, NK counts and IFN-gamma from three dose groups at once.

The data (examples/data/multi_endpoint.csv, NONMEM layout, IL-21 in ng/mL)
come from examples/data/make_multi_endpoint.py, which states the truth.

Run: python examples/04_fit_multi_endpoint.py [output-directory]
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import il21pk as ip

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
out.mkdir(parents=True, exist_ok=True)
model = ip.Model.v1()  # the data were made with model v1 (its parameters are fitted below)
data = ip.read_csv(Path(__file__).parent / "data" / "multi_endpoint.csv", nonmem=True,
                   units={"il21_plasma": "ng/mL"}, model=model)
print(data.observations.groupby("variable").size())

fit = ip.fit(model, data, ip.parameter_sets.load("human"),
             free=["cl", "v_central", "emax_margination", "kp_nk", "k_activation", "ifng_0"],
             error_model="proportional", gradient="forward", rtol=1e-6, atol=1e-9,
             fd_step=1e-3)
print(fit.report())

fig, axes = plt.subplots(2, 3, figsize=(14, 8), layout="constrained")
ip.plotting.goodness_of_fit(fit, "observed_vs_predicted", ax=axes[0, 0], log=True)
ip.plotting.goodness_of_fit(fit, "wres_vs_time", ax=axes[0, 1])
ip.plotting.posterior_predictive_check(fit, "nk_blood", n=100, seed=1, ax=axes[0, 2])
for ax, variable in zip(axes[1], ["il21_plasma", "nk_blood", "ifng_plasma"], strict=True):
    ip.plotting.individual_fit(fit, 3, variable, ax=ax)
fig.savefig(out / "04_fit_diagnostics.png", dpi=90)
