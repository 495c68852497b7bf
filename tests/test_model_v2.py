"""Model v2 (the default ``Model()``, also ``Model.v2()``; ``Model.oncology()``,
``Model.in_vitro()``): structure, invariants, numerics. What it reproduces of the
literature is tests/test_validation_dossier.py."""

from __future__ import annotations

import numpy as np
import pytest

import il21pk as ip
from il21pk.parameter_sets import all_specs


@pytest.fixture(scope="module")
def v2() -> ip.Model:
    return ip.Model.v2()


@pytest.fixture(scope="module")
def culture() -> ip.Model:
    return ip.Model.in_vitro_v2()


def _wide(result: ip.SimulationResult):
    w = result.wide()
    w.columns = [c.split(" [")[0] for c in w.columns]
    return w.set_index("time_h")


def test_v1_model_is_unchanged_and_reads_only_its_own_parameters(human):
    v1 = ip.Model.v1()
    assert v1.kind == "v1" and v1.n_states == 19
    assert set(v1.parameter_names) < set(human)
    assert {"il15_mw", "kon_il21", "ada_titer"}.isdisjoint(v1.parameter_names)


def test_v2_declares_two_drugs_and_the_public_names(v2):
    assert [d.name for d in v2.drugs] == ["il21", "il15"]
    names = {v.name for v in v2.variables}
    assert {"il21_plasma", "il15_plasma", "pstat3", "pstat5", "nk_blood", "nk_total",
            "cd8_blood", "cd8_total", "effector_fraction", "ifng_plasma", "scd25_plasma",
            "ada_titer", "alt_fold", "platelets", "receptor_occupancy"} <= names
    onc = ip.Model.oncology()
    assert [d.name for d in onc.drugs] == ["il21", "il15", "mab"]
    assert {"tumour_cells", "tumour_fraction", "mab_plasma", "b_cells"} <= \
        {v.name for v in onc.variables}


def test_sets_hold_every_builtin_models_parameters():
    specs = {p.name for p in all_specs()}
    for model in (ip.Model.v1(), ip.Model.v2(), ip.Model.oncology(), ip.Model.in_vitro_v2()):
        assert set(model.parameter_names) <= specs
    for name in ip.parameter_sets.available():
        assert set(ip.parameter_sets.load(name)) == specs


def test_without_doses_every_variable_stays_at_its_baseline(v2, human, cyno):
    for params in (human, cyno):
        w = _wide(ip.simulate(v2, ip.Regimen.none(), params, t_end=240.0))
        w = w.drop(columns=[c for c in w.columns if c.endswith("_auc")])
        drift = (w - w.iloc[0]).abs().max() / w.iloc[0].abs().clip(lower=1e-9)
        assert drift.max() < 1e-7, drift.idxmax()


def test_oncology_baseline_is_steady_but_the_tumour_grows():
    onc = ip.Model.oncology()
    w = _wide(ip.simulate(onc, ip.Regimen.none(), t_end=240.0))
    still = w.drop(columns=["tumour_cells", "tumour_fraction", "il21_auc", "il15_auc",
                            "ifng_auc"])
    assert ((still - still.iloc[0]).abs().max() / still.iloc[0].abs().clip(lower=1e-9)).max() \
        < 1e-7
    assert w["tumour_fraction"].iloc[-1] > 1.0


def test_adcc_kills_only_an_antigen_positive_tumour(human):
    """The tumour's ADCC read the kill rate of coated B cells whatever its own antigen:
    rituximab shrank an antigen-negative tumour (tumour_antigen_per_cell = 0) to 0.29
    of its size, as a CD20+ one (sixth review). And antibody bound to tumour cells was
    lost at the B cells' kill rate, not the tumour's (accessibility x that rate)."""
    onc = ip.Model.oncology()
    rituximab = ip.Regimen.weekly(ip.Dose(675, unit="mg", drug="mab", duration=4.0), weeks=4)
    t_end = 16 * 7 * 24.0

    def final(regimen, params, variable):
        return _wide(ip.simulate(onc, regimen, params, t_end=t_end))[variable].iloc[-1]

    untreated = final(ip.Regimen.none(), human, "tumour_fraction")
    negative = final(rituximab, human.with_values(tumour_antigen_per_cell=0.0), "tumour_fraction")
    positive = final(rituximab, human.with_values(tumour_antigen_per_cell=1e5),
                     "tumour_fraction")
    assert negative == pytest.approx(untreated, rel=1e-4)
    assert positive < 0.5 * untreated
    # a tumour ADCC does not reach (access 0) loses no antibody by ADCC: with no
    # internalisation its antigen changes the antibody's plasma curve by nothing
    hidden = human.with_values(tumour_adcc_access=0.0, mab_k_internalisation=0.0)
    curves = [final(rituximab, hidden.with_values(tumour_antigen_per_cell=a), "mab_plasma")
              for a in (0.0, 1e5)]
    assert curves[1] == pytest.approx(curves[0], rel=1e-6)
    # the same for B cells (review): without antigen they are not killed, and with
    # nothing to coat NK cells engage nothing (IFN-gamma as without the antibody)
    bare = final(rituximab, human.with_values(b_cell_antigen_0=0.0), "b_cells")
    assert bare == pytest.approx(human.value("b_cells_0"), rel=1e-9)

    def ifng_peak(regimen, params):
        return _wide(ip.simulate(onc, regimen, params, t_end=t_end))["ifng_plasma"].max()

    # nothing to coat: no B cells, and tumour antigen but no tumour (review)
    for nothing in (human.with_values(b_cells_0=0.0),
                    human.with_values(b_cells_0=0.0, tumour_antigen_per_cell=1e5,
                                      tumour_cells_0=0.0)):
        assert ifng_peak(rituximab, nothing) == \
            pytest.approx(ifng_peak(ip.Regimen.none(), nothing), rel=1e-9)


def test_no_b_cells_is_a_valid_oncology_case(human):
    """b_cells_0 = 0 (within its bounds) made the B-cell antigen 0/0: "right-hand side
    returned NaN or inf" at t = 0 (sixth review). Without B cells (and an
    antigen-negative tumour) the antibody's PK is linear: the plasma peak of a 4-h
    infusion scales exactly with the dose."""
    onc = ip.Model.oncology()
    params = human.with_values(b_cells_0=0.0)
    peaks = []
    for mg in (100.0, 1000.0):
        infusion = ip.Regimen.single(ip.Dose(mg, unit="mg", drug="mab", duration=4.0))
        w = _wide(ip.simulate(onc, infusion, params, t_end=48.0))
        assert (w["b_cells"] == 0.0).all()
        peaks.append(w["mab_plasma"].max())
    assert peaks[1] / peaks[0] == pytest.approx(10.0, rel=1e-6)


def test_allometry_one_reference_clearance_for_both_species(human, cyno):
    """CL = CL_ref (BW/70)^0.75: the cynomolgus IL-21 terminal slope is the scaled value."""
    v2 = ip.Model.v2()
    grid = np.arange(0.0, 6.0 + 1e-9, 0.25)
    for params in (human, cyno):
        w = _wide(ip.simulate(v2, ip.Dose(1.0, unit="mg/kg"), params, t_end=6.0, t_eval=grid))
        k = -np.polyfit(w.index[4:], np.log(w["il21_plasma"].iloc[4:]), 1)[0]
        size = params.value("body_weight") / 70.0
        cl = params.value("il21_cl_ref") * size ** params.value("allometric_exponent_cl")
        vc = params.value("il21_v_central_ref") * size ** params.value("allometric_exponent_v")
        assert k == pytest.approx(cl / vc, rel=0.02)  # receptor uptake is < 2 % at 1 mg/kg
    assert human.value("il21_cl_ref") == cyno.value("il21_cl_ref")


def test_culture_conserves_il21_and_il15(culture, human):
    """Added = free + bound to the cells + degraded, for both cytokines (no clearance)."""
    reg = ip.Regimen((ip.Dose(0.2, unit="ng", drug="il21"), ip.Dose(0.2, unit="ng", drug="il15")))
    w = _wide(ip.simulate(culture, reg, human, t_end=48.0, t_eval=np.linspace(0, 48, 25)))
    litres = culture.culture.volume_ml * 1e-3
    for drug, mw in (("il21", human.value("mw")), ("il15", human.value("il15_mw"))):
        added = 0.2e-3 / mw  # nmol
        total = w[f"{drug}_plasma"] * litres + w[f"{drug}_bound"] + w[f"{drug}_degraded"]
        assert np.allclose(total, added, rtol=1e-5, atol=0)
        assert w[f"{drug}_degraded"].iloc[-1] > 0.01 * added


def _accounted_nmol(row, params: ip.ParameterSet, drug: str) -> float:
    """Where the dosed cytokine is at one time [nmol]: depot + central + peripheral +
    bound to cells + cleared (CL x AUC) + degraded."""
    size = params.value("body_weight") / 70.0
    vc = params.value(f"{drug}_v_central_ref") * size ** params.value("allometric_exponent_v")
    cl = params.value(f"{drug}_cl_ref") * size ** params.value("allometric_exponent_cl")
    return (row[f"{drug}_depot"] + row[f"{drug}_plasma"] * vc + row[f"{drug}_peripheral"]
            + row[f"{drug}_bound"] + cl * row[f"{drug}_auc"] + row[f"{drug}_degraded"])


@pytest.mark.parametrize("drug", ["il21", "il15"])
def test_body_conserves_il21_and_il15_while_cells_expand_and_contract(v2, human, drug):
    """Dosed = depot + central + peripheral + bound to cells + cleared + degraded, while
    IL-15 expands the NK cells and homeostasis contracts them (dying cells take the
    cytokine bound to them to the degraded pool). ADA are off in the human set."""
    regimen = (ip.Regimen.repeat(ip.Dose(30.0), every=24, count=3)
               + ip.Regimen.single(ip.Dose(30.0, route="sc", time=12.0))
               + ip.Regimen.repeat(ip.Dose(1.0, drug="il15", duration=2.0), every=24, count=3))
    res = ip.simulate(v2, regimen, human, t_end=120.0, rtol=1e-9, atol=1e-13,
                      t_eval=np.array([0.0, 30.0, 60.0, 120.0]))
    w = _wide(res)
    weight = human.value("body_weight")
    dosed = ((3 + human.value("f_sc")) * 30.0 * weight / human.value("mw") if drug == "il21"
             else 3 * 1.0 * weight / human.value("il15_mw"))
    assert _accounted_nmol(w.loc[120.0], human, drug) == pytest.approx(dosed, rel=1e-7)
    # the test means something: cells expanded, then contracted while holding cytokine
    assert w["nk_total"].max() > 1.5 * w["nk_total"].iloc[0]
    assert w["nk_total"].loc[120.0] < w["nk_total"].max()
    assert w[f"{drug}_bound"].loc[60.0] > 1e-4 * dosed


def test_body_conserves_the_cytokines_when_a_pool_without_baseline_holds_cells(human):
    """A pool whose baseline is 0 does not change, so its cells are not births: they
    diluted the complexes of every cell (found by the review of the mass balance)."""
    from il21pk.model.v2 import v2_chain

    model = ip.Model.compose(*v2_chain(), name="nk_without_baseline",
                             initial={"nk_blood": 100.0})
    params = human.with_values(nk_blood_0=0.0)
    regimen = (ip.Regimen.repeat(ip.Dose(30.0), every=24, count=2)
               + ip.Regimen.repeat(ip.Dose(1.0, drug="il15"), every=24, count=2))
    w = _wide(ip.simulate(model, regimen, params, t_end=72.0, rtol=1e-9, atol=1e-13,
                          t_eval=np.array([0.0, 72.0])))
    weight = params.value("body_weight")
    for drug, amount, mw in (("il21", 30.0, "mw"), ("il15", 1.0, "il15_mw")):
        dosed = 2 * amount * weight / params.value(mw)
        assert _accounted_nmol(w.loc[72.0], params, drug) == pytest.approx(dosed, rel=1e-7)


def test_receptor_downregulation_keeps_a_steady_signal(culture, human):
    """At saturating IL-21 surface IL-21R falls, but signalling complexes settle at the
    synthesis rate times their lifetime instead of running out (v1's failure)."""
    dose = ip.Dose(100.0 * 0.2e-3 * human.value("mw") * 1e3, unit="ng")  # 100 nM
    w = _wide(ip.simulate(culture, dose, human, t_end=48.0, t_eval=np.array([0, 1, 24, 48.0])))
    assert w["il21r_fraction"].loc[24.0] < 0.1
    s = human.value("k_endo") * human.value("il21r_per_cell") * (
        1 - human.value("k_recycle") * (1 - human.value("f_sort"))
        / (human.value("k_recycle") * (1 - human.value("f_sort"))
           + human.value("k_lysosome") * human.value("f_sort")))
    lifetime = 1 / (human.value("k_endo") + human.value("k_endo_active_il21")) \
        + human.value("endosome_signal_weight") / human.value("k_lysosome")
    assert w["complexes_per_cell"].loc[48.0] == pytest.approx(s * lifetime, rel=0.05)


def test_in_vitro_v2_takes_culture_doses_only(culture):
    with pytest.raises(ip.RegimenError):
        ip.simulate(culture, ip.Dose(30.0), t_end=1.0)


def test_il15_competes_with_il21_for_gamma_c(culture, human):
    """IL-15 binds IL-2R-beta, which recruits the gamma-c IL-21 needs: less free gamma-c."""
    il21 = ip.Dose(1.0, unit="ng", drug="il21")
    il15 = ip.Dose(20.0, unit="ng", drug="il15")
    alone = _wide(ip.simulate(culture, il21, human, t_end=2.0))
    both = _wide(ip.simulate(culture, ip.Regimen((il21, il15)), human, t_end=2.0))
    assert both["pstat5"].iloc[-1] > 0.5 and alone["pstat5"].iloc[-1] < 1e-12
    assert both["complexes_per_cell"].iloc[-1] <= alone["complexes_per_cell"].iloc[-1]


def test_ada_are_off_in_humans_and_can_be_switched_off_in_monkeys(v2, human, cyno):
    reg = ip.Regimen.five_on_nine_off(ip.Dose(100.0), cycles=2)
    assert _wide(ip.simulate(v2, reg, human, t_end=28 * 24.0))["ada_titer"].max() == 0.0
    assert _wide(ip.simulate(v2, reg, cyno, t_end=28 * 24.0))["ada_titer"].max() > 0.0
    off = cyno.with_values(ada_sensitisation=0.0)
    assert _wide(ip.simulate(v2, reg, off, t_end=28 * 24.0))["ada_titer"].max() == 0.0


def test_ada_act_within_the_first_cycle_as_the_ada_stage_says(v2, cyno):
    """The ADA stage's text said antibodies are negligible in the first cycle; a
    probe found the fifth daily dose's IL-21 AUC 20 % below the first's in
    cynomolgus (the stage has no delay). The text now says so; this holds it to
    the model: 15-25 % with ADA, under 0.2 % without."""
    reg = ip.Regimen.five_on_nine_off(ip.Dose(100.0), cycles=1)
    times = np.arange(0.0, 121.0, 1.0)

    def per_dose(params):
        auc = _wide(ip.simulate(v2, reg, params, t_end=120.0, t_eval=times))["il21_auc"]
        return np.diff(auc.to_numpy()[[0, 24, 96, 120]])[[0, 2]]  # doses 1 and 5

    first, fifth = per_dose(cyno)
    assert 0.15 < 1 - fifth / first < 0.25
    first, fifth = per_dose(cyno.with_values(ada_sensitisation=0.0))
    assert abs(1 - fifth / first) < 0.002


def test_n803_set_changes_only_the_il15_drug(human):
    n803 = ip.parameter_sets.load("human_n803")
    changed = {k for k in human if human[k].value != n803[k].value}
    assert changed == {"il15_mw", "il15_cl_ref", "il15_ka", "kd_il15"}


def test_compiled_engine_agrees_with_scipy_radau(v2, human):
    reg = ip.Regimen.repeat(ip.Dose(10.0), every=24, count=2) + \
        ip.Regimen.single(ip.Dose(1.0, drug="il15", time=6.0))
    grid = np.arange(0.0, 72.0 + 1e-9, 2.0)
    a = _wide(ip.simulate(v2, reg, human, t_end=72.0, t_eval=grid))
    b = _wide(ip.simulate(v2, reg, human, t_end=72.0, t_eval=grid, method="Radau", rtol=1e-8,
                          atol=1e-12))
    scale = (a.max() - a.min()).clip(lower=1e-9)
    assert ((a - b).abs().max() / scale).max() < 1e-3


@pytest.mark.parametrize("kind", ["v1", "v2"])
def test_engine_error_against_a_tight_solution_is_within_100_rtol(kind, human):
    """Ten parameter sets, both cycles of both cytokines 5 on / 9 off: every
    reported variable at rtol 1e-4, 1e-6 and 1e-8 (atol 1e-9) against rtol
    1e-11, as a fraction of its range, is within 100 rtol. Measured: v2
    4.1e-4, 7.4e-6 and 2.4e-7, v1 3.1e-4, 6.6e-6 and 6.8e-7 (a Newton
    tolerance of 1 % of the local error budget at every rtol gave v1 1.6e-6 at
    rtol 1e-8)."""
    from il21pk.analysis.simulate import default_grid, parameter_columns, run_batch

    model = ip.Model.v1() if kind == "v1" else ip.Model.v2()
    regimen = ip.Regimen.five_on_nine_off(ip.Dose(30.0), cycles=2)
    if kind == "v2":
        regimen = regimen + ip.Regimen.five_on_nine_off(ip.Dose(0.3, drug="il15"), cycles=2)
    rng = np.random.default_rng(7)
    columns = {**parameter_columns(model, human),
               "kon_il21": np.exp(rng.uniform(np.log(0.5), np.log(5.0), 10)),
               "kp_nk_il15": np.exp(rng.uniform(np.log(0.02), np.log(0.06), 10)),
               "il21_cl_ref": np.exp(rng.uniform(np.log(0.8), np.log(3.0), 10))}
    columns = {k: v for k, v in columns.items() if k in model.parameter_names}
    grid = default_grid(regimen, 672.0)
    tight = run_batch(model, regimen, columns, t_eval=grid, t_end=672.0, rtol=1e-11, atol=1e-14)
    for rtol in (1e-4, 1e-6, 1e-8):
        run = run_batch(model, regimen, columns, t_eval=grid, t_end=672.0, rtol=rtol, atol=1e-9)
        assert run.success.all() and tight.success.all()
        for name, ref in tight.outputs.items():
            span = np.maximum(np.ptp(ref, axis=1, keepdims=True), 1e-12)
            error = float(np.max(np.abs(run.outputs[name] - ref) / span))
            assert error <= 100 * rtol, (name, rtol, error)


def test_sbml_export_runs_in_libroadrunner_like_il21pk(v2, human):
    """Model v2's SBML export (both drugs dosed) simulated by libRoadRunner (CVODE)."""
    roadrunner = pytest.importorskip("roadrunner")
    reg = ip.Regimen.repeat(ip.Dose(30.0), every=24, count=2) + \
        ip.Regimen.single(ip.Dose(1.0, drug="il15", time=6.0, duration=2.0))
    rr = roadrunner.RoadRunner(v2.to_sbml(human, reg))
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.setValue("absolute_tolerance", [1e-13] * v2.n_states)
    rr.timeCourseSelections = ["time", *v2.state_names]
    theirs = np.asarray(rr.simulate(0.0, 72.0, 73))[:, 1:]
    ours = ip.simulate(v2, reg, human, t_end=72.0, t_eval=np.arange(73.0), rtol=1e-10,
                       atol=1e-13)
    for name in ("il21_plasma", "il15_plasma", "pstat3", "pstat5", "nk_blood", "cd8_total",
                 "ifng_plasma", "scd25_plasma", "alt_fold", "platelets"):
        if name not in v2.state_names:
            continue
        a = ours._batch.outputs[name][0]
        b = theirs[:, v2.state_names.index(name)]
        assert np.max(np.abs(a - b)) <= 1e-6 * max(np.ptp(a), 1e-12), name


def test_virtual_population_for_the_default_model_leaves_its_pk_allometry_to_it(human):
    """Model v2 scales CL and volumes with body_weight itself: a population made
    for it varies body_weight (and the receptor-bearing cells) only, so a sweep
    runs, and a heavier subject given the same flat dose sees less IL-21."""
    model = ip.Model()
    pop = ip.virtual_population(human, 4, {"kp_nk_il21": 0.2}, body_weight={"median": 70,
                                "cv": 0.3}, model=model, seed=3)
    assert set(pop.columns) == {"subject", "kp_nk_il21", "body_weight", "receptor_cells"}
    v1 = ip.virtual_population(human, 4, {"kp_nk": 0.2}, body_weight={"median": 70, "cv": 0.3},
                               model=ip.Model.v1(), seed=3)
    assert {"cl", "q", "v_central", "v_peripheral", "receptor_cells"} <= set(v1.columns)
    summary = ip.sweep(model, ip.Dose(2000, unit="ug"), human, samples=pop, t_end=48.0,
                       variables=["il21_plasma"], metrics=["auc"], executor="serial")
    auc = summary.set_index("subject")["value"]
    weight = pop.set_index("subject")["body_weight"]
    assert (auc.loc[weight.idxmax()] < auc.loc[weight.idxmin()])
    with pytest.raises(TypeError, match="`model` must be an il21pk Model"):
        ip.virtual_population(human, 4, {"kp_nk_il21": 0.2}, model="v2")


def test_oncology_howto_runs_and_its_numbers_are_the_models():
    """docs/howto/oncology.md: its code runs, and the figures its text quotes are
    what that code computes (deepest tumour fraction and B cells, the ORR)."""
    import contextlib
    import io
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "howto" / "oncology.md").read_text()
    code = "\n".join(re.findall(r"```python\n(.*?)```", text, re.S))
    scope: dict = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "oncology.md", "exec"), scope)  # noqa: S102 - our own docs
    rows = [line.rsplit(" ", 2) for line in printed.getvalue().splitlines()]
    (alone, alone_tumour, alone_b), (both, both_tumour, both_b) = rows
    assert (alone, both) == ("rituximab", "rituximab + IL-21")
    assert f"{float(alone_tumour):.2f} with\nrituximab alone and {float(both_tumour):.2f}" in text
    assert f"fall to {float(alone_b):.0f}\nand {float(both_b):.0f} cells/uL" in text
    assert f"the snippet gives {scope['orr']:.2f}" in text
