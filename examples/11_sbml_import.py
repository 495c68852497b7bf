"""Bring your own model: the published IL-21 tumour model BIOMD0000000761.

Cappuccio, Elishmereni & Agur (2006) model IL-21 (U), NK cells (X), CD8+ T
cells (Y), CD8 memory (M), cytotoxic protein (P) and the tumour (Z), in days.
This script

1. imports it from SBML and simulates it on il21pk's compiled engine,
2. doses its IL-21 (declared as a drug on the species U) and sweeps the dose,
3. runs a Sobol analysis of the tumour burden,
4. puts its tumour equations behind il21pk's own IL-21 chain (PK, receptor
   binding, signalling, cells), driven by a clinical ug/kg regimen.

The model is read from the BioModels file of the reference data
(``../shared/reference/sbml/BIOMD0000000761.xml`` beside the repository, or
the path in ``$IL21PK_BIOMD761``).

Run: python examples/11_sbml_import.py [output-directory]
"""

import os
import sys
from pathlib import Path

import matplotlib
import numpy as np
import sympy as sp

matplotlib.use("Agg")

import il21pk as ip
from il21pk import ParameterSpec

SBML = Path(os.environ.get("IL21PK_BIOMD761") or Path(__file__).resolve().parents[2]
            / "shared" / "reference" / "sbml" / "BIOMD0000000761.xml")
DAYS = 30.0


def tumour_behind_il21pk(imported: ip.Model) -> ip.Stage:
    """The SBML model's equations, with its IL-21 (U) replaced by il21pk's plasma IL-21.

    U was a state (tumour production, clearance, doses); here it follows
    il21pk's ``il21_plasma`` [nM] through ``u_per_nm`` (U per nM of plasma
    IL-21). Time: the SBML model's rates are per day, il21pk's per hour, so
    every rate is divided by 24.
    """
    stage = imported.definition.stages[0]
    u, plasma, scale = sp.symbols("U il21_plasma u_per_nm")
    replace = {u: scale * plasma}
    states = tuple(ip.State(s.name, s.unit, s.description, initial=s.initial, reported=True)
                   for s in stage.states if s.name != "U")
    rates = {s.name: stage.rates[s.name].xreplace(replace) / 24 for s in states}
    quantities = tuple(ip.Quantity(q.name, q.expression.xreplace(replace), q.unit,
                                   q.description) for q in stage.quantities)
    kept = {p.name for p in stage.parameters if not p.name.startswith("mw_")}
    return ip.Stage(
        "tumour", "BIOMD0000000761's NK/CD8/memory/cytotoxic-protein/tumour equations, "
        "driven by il21pk's plasma IL-21.",
        states=states, quantities=quantities,
        parameters=tuple(p for p in stage.parameters if p.name in kept)
        + (ParameterSpec("u_per_nm", "nmol/nM", 0.0, np.inf,
                         "the SBML model's U per nM of plasma IL-21"),),
        rates=rates, inputs={"il21_plasma": None})


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
    out.mkdir(parents=True, exist_ok=True)

    # 1. import and simulate -------------------------------------------------------------
    model = ip.Model.from_sbml(SBML, drugs={"il21": "U"})
    params = model.default_parameters()  # the SBML's own values
    print(model.name, "time unit:", model.definition.time_unit,
          "variables:", [v.name for v in model.variables])
    untreated = ip.simulate(model, None, params, t_end=DAYS)
    z = untreated.wide()["Z [nmol]"]
    print(f"untreated tumour Z: {z.iloc[0]:.3g} -> {z.iloc[-1]:.3g} at day {DAYS:g}")

    # 2. dose its IL-21 input: daily doses of U for 10 days, swept ------------------------
    regimen = ip.Regimen.repeat(ip.Dose(10.0, unit="nmol", drug="il21"), every=1.0, count=10)
    treated = ip.simulate(model, regimen, params, t_end=DAYS)
    ax = ip.plotting.time_course(treated.frame, "Z")
    ax.figure.savefig(out / "11_tumour.png", dpi=100)
    frame = ip.sweep(model, regimen, params, grid={"dose": [0.0, 10.0, 100.0, 1000.0, 10000.0]},
                     t_end=DAYS)
    burden = frame.query("variable == 'Z' and metric == 'auc'")[["dose", "value"]]
    print("tumour burden (AUC of Z, nmol x day) by daily U dose [nmol]:")
    print(burden.to_string(index=False))

    # 3. Sobol indices of the tumour burden ------------------------------------------------
    kinetic = ["mu1", "r1", "r2", "a", "b1", "k1", "k2", "c"]
    sobol = ip.sensitivity(model, regimen, params, method="sobol", outputs=("Z",),
                           metrics=("auc",), parameters=kinetic, n=64, span=1.5, t_end=DAYS)
    print(sobol.query("index == 'ST'").sort_values("value", ascending=False)
          [["parameter", "value", "conf"]].to_string(index=False))

    # 4. its tumour equations behind il21pk's IL-21 chain (model v1; time in hours) -------
    combined = ip.Model.v1().with_stage(tumour_behind_il21pk(model))
    values = {n: (v.value, "BIOMD0000000761") for n, v in params.items()
              if n in combined.parameter_names}
    values["u_per_nm"] = (1.0, "assumed: 1 U per nM of plasma IL-21")
    both = combined.parameter_set(values)  # the rest from the human set
    clinical = ip.Regimen.repeat(ip.Dose(30.0, unit="ug/kg"), every=24.0, count=5)
    for label, reg in (("no IL-21", None), ("30 ug/kg IV daily x5", clinical)):
        res = ip.simulate(combined, reg, both, t_end=DAYS * 24)
        wide = res.wide()
        print(f"{label}: tumour Z at day {DAYS:g} = {wide['Z [nmol]'].iloc[-1]:.4g}, "
              f"peak plasma IL-21 = {wide['il21_plasma [nM]'].max():.3g} nM")


if __name__ == "__main__":
    main()
