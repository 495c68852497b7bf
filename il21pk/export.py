"""Write a model, its parameter values and a regimen as Antimony/SBML.

This lets users take the model to libRoadRunner, COPASI, Tellurium or AMICI,
and lets the benchmarks time libRoadRunner on exactly our model. The
equations below mirror the compiled stage right-hand sides; the test suite
checks that both give the same trajectories.
"""

from __future__ import annotations

from .model import K_BIND, K_CELL, K_IFN, K_PK, K_SIG, Model
from .parameters import ParameterSet
from .regimen import Regimen
from .simulate import check_regimen, parameter_columns
from .stages import binding, cells, ifn, pk, signalling
from .stages.dosing import compile_events

# Model-wide units: time in hours, amounts in nmol, volume in litres (so a
# species of size-1 compartment reads as nmol or nM, as in il21pk).
_UNITS = """
  unit time_unit = 3600 second
  unit substance = 1e-9 mole
  unit volume = litre
"""

_PK_EQUATIONS = """
  conc := il21_central / v_central
  J_abs: il21_depot -> il21_central; ka * il21_depot
  J_inf: -> il21_central; infusion_rate
  J_el: il21_central -> ; cl * conc
  J_dist: il21_central -> il21_peripheral; q * conc - q * il21_peripheral / v_peripheral
  J_auc: -> il21_auc; conc
"""

_CHAIN_EQUATIONS = """
  fold := (nk_blood + nk_marginated + cd8_blood + cd8_marginated) / (nk_b0 + nk_m0 + cd8_b0 + cd8_m0)
  b1 := kon * conc * il21r_free - koff * il21_il21r
  b2 := k_fwd * gc_free * il21_il21r / fold - koff_gc * signalling_complex
  J_uptake: il21_central -> ; b1 * v_central
  J_r: -> il21r_free; kdeg_r * (r0 * fold - il21r_free) - b1
  J_c1: -> il21_il21r; b1 - b2 - kint_1 * il21_il21r
  J_c2: -> signalling_complex; b2 - kint_2 * signalling_complex
  J_g: -> gc_free; kdeg_gc * (g0 * fold - gc_free) - b2
  J_deg: -> il21_degraded; (kint_1 * il21_il21r + kint_2 * signalling_complex) * v_central
  occupancy := (il21_il21r + signalling_complex) / (il21r_free + il21_il21r + signalling_complex)
  complexes := max(signalling_complex * per_cell / fold, 0)
  drive := complexes^hill / (ec50^hill + complexes^hill)
  J_t1: -> pstat3_transit_1; ktr * (drive - pstat3_transit_1)
  J_t2: -> pstat3_transit_2; ktr * (pstat3_transit_1 - pstat3_transit_2)
  J_t3: -> pstat3; ktr * (pstat3_transit_2 - pstat3)
  push := 1 + emax_margination * occupancy
  nk_total := nk_blood + nk_marginated
  cd8_total := cd8_blood + cd8_marginated
  rate_nk := g_nk * pstat3 + k_homeostasis * ((nk_b0 + nk_m0) / nk_total - nk_total / (nk_b0 + nk_m0))
  rate_cd8 := g_cd8 * pstat3 + k_homeostasis * ((cd8_b0 + cd8_m0) / cd8_total - cd8_total / (cd8_b0 + cd8_m0))
  ex_nk := k_return * nk_m0 / nk_b0 * push * nk_blood - k_return * nk_marginated
  ex_cd8 := k_return * cd8_m0 / cd8_b0 * push * cd8_blood - k_return * cd8_marginated
  J_nkb: -> nk_blood; rate_nk * nk_blood - ex_nk
  J_nkm: -> nk_marginated; rate_nk * nk_marginated + ex_nk
  J_cd8b: -> cd8_blood; rate_cd8 * cd8_blood - ex_cd8
  J_cd8m: -> cd8_marginated; rate_cd8 * cd8_marginated + ex_cd8
  J_f: -> effector_fraction; k_activation * pstat3 * (1 - effector_fraction) - k_deactivation * (effector_fraction - f0)
  activity := (w_nk * nk_total / (nk_b0 + nk_m0) + (1 - w_nk) * cd8_total / (cd8_b0 + cd8_m0)) * effector_fraction / f0
  J_ifn: -> ifng_plasma; k_ifng * (ifng_0 * activity - ifng_plasma)
  J_ifn_auc: -> ifng_auc; ifng_plasma
"""


def to_antimony(model: Model, params: ParameterSet, regimen: Regimen) -> str:
    """Antimony text of `model` with `params` and `regimen` (doses as events).

    Supports the full model and the PK-only model. Amounts are in nmol,
    concentrations in nM and time in hours, as in :func:`il21pk.simulate`.
    """
    if model.kind == "in_vitro":
        raise ValueError("to_antimony supports Model() and Model.pk_only(); got an in vitro model")
    regimen = check_regimen(model, regimen)
    cols = parameter_columns(model, params)
    k, y0 = model.prepare(cols)
    k, y0 = k[0], y0[0]
    names: list[tuple[str, float]] = list(zip(pk.KERNEL_PARAMETERS, k[K_PK:K_BIND], strict=True))
    if model.kind == "full":
        for stage, lo, hi in ((binding, K_BIND, K_SIG), (signalling, K_SIG, K_CELL),
                              (cells, K_CELL, K_IFN), (ifn, K_IFN, k.shape[0])):
            names += list(zip(stage.KERNEL_PARAMETERS, k[lo:hi], strict=True))
    lines = ["model il21pk_model()", _UNITS]
    lines.append(_PK_EQUATIONS)
    if model.kind == "full":
        lines.append(_CHAIN_EQUATIONS)
    lines += [f"  {state} = {float(value)!r}" for state, value in zip(model.state_names, y0, strict=True)]
    lines += [f"  {name} = {float(value)!r}" for name, value in names]
    lines.append("  infusion_rate = 0")
    events = compile_events(regimen, mw=cols["mw"], body_weight=cols["body_weight"],
                            f_sc=cols["f_sc"], tlag_sc=cols["tlag_sc"])
    for i, t in enumerate(events.times):
        assignments = [f"infusion_rate = {float(events.infusion_rate[i, 0])!r}"]
        if events.depot_bolus[i, 0]:
            assignments.append(f"il21_depot = il21_depot + {float(events.depot_bolus[i, 0])!r}")
        if events.central_bolus[i, 0]:
            assignments.append(
                f"il21_central = il21_central + {float(events.central_bolus[i, 0])!r}")
        lines.append(f"  E{i}: at (time >= {float(t)!r}), t0=false: {', '.join(assignments)}")
    lines.append("end")
    return "\n".join(lines)


def to_sbml(model: Model, params: ParameterSet, regimen: Regimen, path=None) -> str:
    """SBML Level 3 of `model` with `params` and `regimen` (doses as events).

    Built from :func:`to_antimony` with the antimony library and checked with
    python-libsbml (install both: ``pip install antimony python-libsbml``).
    Parameters are exported as the internal values the right-hand side uses
    (``koff = kd * kon``, receptor baselines ``r0``/``g0`` ...), in hours,
    nmol and nM; see ``docs/model.md`` for how they derive from the
    documented parameters. The t = 0 dose is an event that fires at the
    start (``t0=false``).

    Returns the SBML text (also written to `path` if given).

    Raises
    ------
    ValueError
        If libsbml reports an error in the generated document.
    """
    import antimony
    import libsbml

    antimony.clearPreviousLoads()
    if antimony.loadAntimonyString(to_antimony(model, params, regimen)) < 0:
        raise ValueError(f"antimony could not read the model: {antimony.getLastError()}")
    sbml = antimony.getSBMLString("il21pk_model")
    document = libsbml.readSBMLFromString(sbml)
    document.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, False)
    document.checkConsistency()
    errors = [document.getError(i) for i in range(document.getNumErrors())
              if document.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
    if errors:
        raise ValueError("generated SBML is invalid: " + "; ".join(e.getMessage().strip()
                                                                   for e in errors[:3]))
    if path is not None:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(sbml)
    return sbml
