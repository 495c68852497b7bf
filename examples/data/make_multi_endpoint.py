"""Generate examples/data/multi_endpoint.csv: a synthetic rIL-21 study in NONMEM layout.

Three dose groups (10, 30, 100 ug/kg IV daily x5), 14 days of serum IL-21
(ng/mL, LLOQ 0.05 ng/mL), circulating NK cells (cells/uL) and plasma IFN-gamma
(pg/mL), simulated from the human set with known changes ("truth" below) and
seeded residual error (proportional 15 % IL-21, 8 % NK, 12 % IFN-gamma).

Run: python examples/data/make_multi_endpoint.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

import il21pk as ip

TRUTH = {"cl": 4.0, "v_central": 3.5, "emax_margination": 3.0, "kp_nk": 0.006,
         "k_activation": 0.08, "ifng_0": 4.0}
DOSES = (10.0, 30.0, 100.0)
# troughs are drawn just before the next dose (23.9 h ...), away from the dose times
PK_TIMES = np.array([0.083, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 23.9, 96.25, 97.0, 100.0])
PD_TIMES = np.array([0.0, 4.0, 23.9, 47.9, 95.9, 120.0, 168.0, 240.0, 336.0])
ERROR = {"il21_plasma": 0.15, "nk_blood": 0.08, "ifng_plasma": 0.12}
DVID = {"il21_plasma": 1, "nk_blood": 2, "ifng_plasma": 4}
LLOQ_NGML = 0.05


def main(path: Path | None = None) -> pd.DataFrame:
    path = path or Path(__file__).with_name("multi_endpoint.csv")
    rng = np.random.default_rng(2026)
    params = ip.parameter_sets.load("human").with_values(TRUTH, source="truth")
    mw = params.value("mw")
    rows = []
    for subject, dose in enumerate(DOSES, start=1):
        regimen = ip.Regimen.repeat(ip.Dose(dose), every=24, count=5)
        grid = np.union1d(PK_TIMES, PD_TIMES)
        wide = ip.simulate(ip.Model.v1(), regimen, params, t_end=336.0, t_eval=grid,
                           rtol=1e-9, atol=1e-12).wide().set_index("time_h")
        rows.append(dict(ID=subject, TIME=0.0, AMT=dose, DV=0.0, EVID=1, MDV=1, CMT=2, DVID=0,
                         II=24.0, ADDL=4, LLOQ=np.nan, WT=70.0))
        for var, times in (("il21_plasma", PK_TIMES), ("nk_blood", PD_TIMES),
                           ("ifng_plasma", PD_TIMES)):
            column = [c for c in wide.columns if c.startswith(var + " ")][0]
            f = wide.loc[times, column].to_numpy()
            if var == "il21_plasma":
                f = f * mw  # nM -> ng/mL
            y = f * (1 + ERROR[var] * rng.standard_normal(f.size))
            lloq = LLOQ_NGML if var == "il21_plasma" else np.nan
            for t, value in zip(times, y, strict=True):
                rows.append(dict(ID=subject, TIME=t, AMT=0.0, DV=max(value, 0.0), EVID=0, MDV=0,
                                 CMT=2, DVID=DVID[var], II=0.0, ADDL=0, LLOQ=lloq, WT=70.0))
    df = pd.DataFrame(rows).sort_values(["ID", "TIME", "EVID"], ascending=[True, True, False],
                                        kind="stable")
    df.to_csv(path, index=False)
    return df


if __name__ == "__main__":
    print(main().head(12))
