"""The same stages as a PK-only model (any drug) and as a culture well.

Run: python examples/02_pk_only_and_in_vitro.py
"""

import il21pk as ip

human = ip.parameter_sets.load("human")

# PK only: a 1-compartment small molecule given orally-like (first-order absorption)
small_molecule = human.with_values(mw=0.35, v_central=40.0, cl=5.0, ka=1.2, f_sc=0.7,
                                   source="example drug")
pk = ip.simulate(ip.Model.pk_only(compartments=1),
                 ip.Regimen.repeat(ip.Dose(100, unit="mg", route="sc"), every=12, count=6),
                 small_molecule, t_end=96)
print(pk.metrics().query("variable == 'il21_plasma'"))

# In vitro: 10 ng/mL IL-21 added to 0.2 mL of culture with 1e5 NK and 2e5 CD8 cells
well = ip.Model.in_vitro(volume_ml=0.2, nk_cells=1e5, cd8_cells=2e5)
culture = ip.simulate(well, ip.Dose(2.0, unit="ng"), human, t_end=72)
print(culture.wide().iloc[[0, 1, 6, 24, 72]][["time_h", "il21_plasma [nM]",
                                              "receptor_occupancy [1]", "pstat3 [1]",
                                              "ifng_plasma [pg/mL]"]])
