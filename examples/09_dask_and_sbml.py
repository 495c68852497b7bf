"""Run a sweep on a Dask cluster, then export the model as SBML.

Run: python examples/09_dask_and_sbml.py [output-directory]
(needs `pip install "dask[distributed]" antimony python-libsbml`)
"""

import sys
from pathlib import Path

from dask.distributed import Client, LocalCluster

import il21pk as ip

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
out.mkdir(parents=True, exist_ok=True)
params = ip.parameter_sets.load("human")
regimen = ip.Regimen.repeat(ip.Dose(30), every=24, count=5)
grid = {"dose": [3, 10, 30, 100], "kd": [0.02, 0.07, 0.2]}

if __name__ == "__main__":
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        df = ip.sweep(ip.Model(), regimen, params, grid=grid, t_end=168, chunk_size=4,
                      variables=["ifng_plasma"], metrics=["auc"], executor=client)
    print(df.pivot_table(index="dose", columns="kd", values="value"))
    ip.Model().to_sbml(params, regimen, out / "09_il21.xml")
    print("wrote", out / "09_il21.xml")
