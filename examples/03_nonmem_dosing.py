"""Dosing records in NONMEM layout (ID, TIME, AMT, EVID, CMT, RATE, II, ADDL).

Run: python examples/03_nonmem_dosing.py
"""

import pandas as pd

import il21pk as ip

records = pd.DataFrame({
    "ID":   [1, 1, 1],
    "TIME": [0.0, 0.0, 336.0],
    "AMT":  [30.0, 0.0, 30.0],     # ug/kg
    "EVID": [1, 0, 1],
    "CMT":  [2, 2, 2],             # 2 = central (IV), 1 = SC depot
    "RATE": [60.0, 0.0, 0.0],      # > 0: infusion of AMT/RATE h
    "II":   [24.0, 0.0, 24.0],
    "ADDL": [4, 0, 4],
})
regimen = ip.Regimen.from_nonmem(records, unit="ug/kg")
print(regimen.to_frame())
print(regimen.in_words())
res = ip.simulate(ip.Model(), regimen, ip.parameter_sets.load("human"), t_end=28 * 24)
print(res.metrics().query("metric in ['cmax', 'auc'] and variable == 'il21_plasma'"))
