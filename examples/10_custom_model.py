"""Write your own model, extend the IL-21 chain, replace one of its stages.

(a) a model from scratch: one-compartment PK driving an indirect-response
    turnover (inhibition of production);
(b) the built-in chain plus a tumour stage: cells growing logistically and
    killed by activated NK cells (reads `nk_total` and `effector_fraction`);
(c) the built-in chain with your own three-compartment PK instead of ours.

Every verb takes these models as it takes ``ip.Model()``. Extending and
replacing stages is shown on model v1 (``ip.Model.v1()``), whose PK stage is
the two-compartment ``pk`` replaced here. Their code is
generated and compiled on first use and cached (``~/.cache/il21pk``), so
later runs start at once.

Run: python examples/10_custom_model.py [output-directory]
"""

import sys
from pathlib import Path

import matplotlib
import sympy as sp

matplotlib.use("Agg")

import il21pk as ip
from il21pk import ParameterSpec


# -- (a) a model from scratch ------------------------------------------------------
def turnover_model() -> ip.Model:
    """One-compartment PK (IV) inhibiting the production of a response R."""
    amount, conc, response = sp.symbols("drug_central drug_plasma response")
    v, cl, kin, kout, imax, ic50, infusion = sp.symbols(
        "v_drug cl_drug kin kout imax ic50 infusion_drug")
    pk = ip.Stage(
        "pk", "One-compartment PK of a drug given IV.",
        states=(ip.State("drug_central", "nmol", "drug in the body"),),
        parameters=(ParameterSpec("mw_drug", "kDa", 1e-3, 1e4, "molecular weight"),
                    ParameterSpec("v_drug", "L", 1e-6, 1e4, "volume of distribution"),
                    ParameterSpec("cl_drug", "L/h", 0.0, 1e4, "clearance")),
        quantities=(ip.Quantity("drug_plasma", amount / v, "nM", "plasma concentration",
                                reported=True),),
        rates={"drug_central": infusion - cl * conc},
        drugs=(ip.Drug("drug", mw="mw_drug", central="drug_central"),),
    )
    turnover = ip.Stage(
        "response", "Indirect response: the drug inhibits the production of R.",
        states=(ip.State("response", "1", "the response, at kin/kout before dosing",
                         initial=kin / kout),),
        parameters=(ParameterSpec("kin", "1/h", 0.0, 1e3, "zero-order production"),
                    ParameterSpec("kout", "1/h", 1e-9, 1e3, "first-order loss"),
                    ParameterSpec("imax", "1", 0.0, 1.0, "maximal inhibition"),
                    ParameterSpec("ic50", "nM", 1e-9, 1e6, "half-maximal concentration")),
        rates={"response": kin * (1 - imax * conc / (ic50 + conc)) - kout * response},
        inputs={"drug_plasma": None},
    )
    return ip.Model.compose(pk, turnover, name="turnover")


TURNOVER_VALUES = {"mw_drug": (1.0, "assumed"), "v_drug": (10.0, "assumed"),
                   "cl_drug": (2.0, "assumed"), "kin": (5.0, "assumed"),
                   "kout": (0.5, "assumed"), "imax": (0.9, "assumed"),
                   "ic50": (3.0, "assumed")}


# -- (b) a stage added to the IL-21 chain -----------------------------------------------
def tumour_stage() -> ip.Stage:
    """Tumour cells with logistic growth, killed by activated NK cells."""
    tumour, nk, fraction = sp.symbols("tumour_cells nk_total effector_fraction")
    growth, capacity, k_kill, t0 = sp.symbols("k_tumour_growth tumour_capacity k_nk_kill "
                                              "tumour_cells_0")
    return ip.Stage(
        "tumour", "Logistic tumour growth; killing by activated NK cells (mass action).",
        states=(ip.State("tumour_cells", "cells", "tumour cells", initial=t0),),
        parameters=(ParameterSpec("tumour_cells_0", "cells", 0.0, 1e13, "initial tumour cells"),
                    ParameterSpec("k_tumour_growth", "1/h", 0.0, 1.0, "growth rate"),
                    ParameterSpec("tumour_capacity", "cells", 1.0, 1e14, "carrying capacity"),
                    ParameterSpec("k_nk_kill", "uL/(cell*h)", 0.0, 1.0,
                                  "killing per activated NK cell per uL")),
        # killed per hour: activated NK cells (per uL) x tumour cells x rate constant
        rates={"tumour_cells": growth * tumour * (1 - tumour / capacity)
               - k_kill * nk * fraction * tumour},
        inputs={"nk_total": None, "effector_fraction": None},
    )


TUMOUR_VALUES = {"tumour_cells_0": (1e9, "assumed"), "k_tumour_growth": (0.005, "assumed"),
                 "tumour_capacity": (1e11, "assumed"), "k_nk_kill": (5e-5, "assumed")}


# -- (c) the chain with your own PK --------------------------------------------------------
def three_compartment_pk() -> ip.Stage:
    """Three-compartment IL-21 PK with SC absorption, replacing the built-in PK stage.

    It keeps the names the rest of the chain reads (``il21_plasma``,
    ``v_central``) and the uptake it returns (``il21_uptake``).
    """
    depot, central, p1, p2, conc, uptake, infusion = sp.symbols(
        "il21_depot il21_central il21_peripheral il21_deep il21_plasma il21_uptake "
        "infusion_il21")
    ka, cl, vc, q, vp, q2, vd = sp.symbols("ka cl v_central q v_peripheral q_deep v_deep")
    spec = ParameterSpec
    return ip.Stage(
        "pk", "Three-compartment PK with first-order SC absorption.",
        states=(ip.State("il21_depot", "nmol", "SC depot"),
                ip.State("il21_central", "nmol", "central amount", reported=False),
                ip.State("il21_peripheral", "nmol", "shallow peripheral amount"),
                ip.State("il21_deep", "nmol", "deep peripheral amount")),
        parameters=(spec("mw", "kDa", 1e-3, 1e4, "molecular weight"),
                    spec("body_weight", "kg", 0.01, 500.0, "body weight"),
                    spec("v_central", "L", 1e-9, 1e4, "central volume"),
                    spec("cl", "L/h", 0.0, 1e4, "clearance"),
                    spec("q", "L/h", 0.0, 1e4, "shallow distribution clearance"),
                    spec("v_peripheral", "L", 1e-9, 1e4, "shallow peripheral volume"),
                    spec("q_deep", "L/h", 0.0, 1e4, "deep distribution clearance"),
                    spec("v_deep", "L", 1e-9, 1e4, "deep peripheral volume"),
                    spec("ka", "1/h", 0.0, 1e3, "SC absorption rate"),
                    spec("f_sc", "1", 0.0, 1.0, "SC bioavailability"),
                    spec("tlag_sc", "h", 0.0, 48.0, "SC lag")),
        quantities=(ip.Quantity("il21_plasma", central / vc, "nM", "plasma IL-21",
                                reported=True),),
        rates={"il21_depot": -ka * depot,
               "il21_central": ka * depot + infusion - cl * conc - q * (conc - p1 / vp)
               - q2 * (conc - p2 / vd) - uptake,
               "il21_peripheral": q * (conc - p1 / vp),
               "il21_deep": q2 * (conc - p2 / vd)},
        inputs={"il21_uptake": 0.0},
        drugs=(ip.Drug("il21", mw="mw", central="il21_central", depot="il21_depot",
                       bioavailability="f_sc", lag="tlag_sc",
                       cmt={1: "il21_depot", 2: "il21_central"}),),
    )


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
    out.mkdir(parents=True, exist_ok=True)

    # (a)
    model = turnover_model()
    params = model.parameter_set(TURNOVER_VALUES, base=None)
    regimen = ip.Regimen.repeat(ip.Dose(100, unit="nmol"), every=24, count=3)
    res = ip.simulate(model, regimen, params, t_end=96)
    print(model, res.metrics().query("variable == 'response' and metric == 'nadir_fold_change'"))
    ax = ip.plotting.time_course(res.frame, "response")
    ax.figure.savefig(out / "10_turnover.png", dpi=100)

    # (b)
    oncology = ip.Model.v1().with_stage(tumour_stage())
    params = oncology.parameter_set(TUMOUR_VALUES)  # the rest from the human set
    regimen = ip.Regimen.five_on_nine_off(ip.Dose(30, unit="ug/kg"), cycles=2)
    res = ip.simulate(oncology, regimen, params, t_end=28 * 24)
    print(res.metrics().query("variable == 'tumour_cells' and metric == 'nadir_fold_change'"))

    # (c)
    mine = ip.Model.v1().replace_stage("pk", three_compartment_pk())
    params = mine.parameter_set({"q_deep": (0.3, "assumed"), "v_deep": (10.0, "assumed")})
    res = ip.simulate(mine, regimen, params, t_end=28 * 24)
    print(res.metrics().query("variable == 'il21_plasma' and metric == 'cmax'"))
