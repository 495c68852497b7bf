"""Round trip: ``Model.from_sbml(model.to_sbml(params, regimen))`` simulates as ``model``.

For every built-in model (with IV bolus, SC and infusion doses, which the
export writes as events) and for SBML Test Suite cases imported with
``Model.from_sbml`` (events included), the re-imported model agrees with the
original to 1e-8 of each variable's range at tight tolerances, and an
imported model's labels (``[S]`` included) mean the same after the round
trip. CI runs the built-in models and a fixed sample of suite cases;
``IL21PK_SBML_FULL=1`` runs every case. Imported models written in Antimony
check what the suite does not reach (dosed compartments and constants, events
named like the export's own ids) against closed forms.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import il21pk as ip
from il21pk.codegen.sbml import RESERVED, antimony_names
from il21pk.io import read_sbml
from il21pk.io.sbml_conformance import case_dirs, extract, has_events, model_file, parse_settings
from il21pk.io.sbml_model import model_from_system

TIGHT = {"rtol": 1e-11, "atol": 1e-13}
TOLERANCE = 1e-8
REPO = Path(__file__).resolve().parent.parent
SUITE = Path(os.environ.get(
    "IL21PK_SBML_SUITE",
    REPO.parent / "shared" / "reference" / "sbml" / "sbml-test-suite-subset.tar.gz"))
FULL = os.environ.get("IL21PK_SBML_FULL") == "1"
#: The CI sample: the first of every 8 cases with events and of every 24 without.
EVENT_STRIDE, PLAIN_STRIDE = 8, 24


def worst_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a - b| / range of a (equal values, NaN or infinities included, count as 0)."""
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    finite = a[np.isfinite(a)]
    scale = np.ptp(finite) if finite.size else 0.0
    if scale == 0.0:
        scale = np.max(np.abs(finite)) if finite.size and np.max(np.abs(finite)) > 0 else 1.0
    with np.errstate(invalid="ignore"):  # inf - inf where both are the same infinity
        error = np.where(same, 0.0, np.abs(a - b)) / scale
    return float(np.max(np.nan_to_num(error, nan=np.inf)))


BUILT_IN = {
    "full": (ip.Model.v1, ip.Regimen((ip.Dose(30.0, unit="ug/kg"),
                                   ip.Dose(10.0, unit="ug/kg", route="sc", time=30.0),
                                   ip.Dose(20.0, unit="ug/kg", time=50.0, duration=4.0)))),
    "pk_only_1": (lambda: ip.Model.pk_only(compartments=1),
                  ip.Regimen((ip.Dose(30.0, unit="ug/kg"),
                              ip.Dose(10.0, unit="ug/kg", route="sc", time=30.0),
                              ip.Dose(20.0, unit="ug/kg", time=50.0, duration=4.0)))),
    "pk_only_2": (lambda: ip.Model.pk_only(compartments=2),
                  ip.Regimen((ip.Dose(30.0, unit="ug/kg"),
                              ip.Dose(10.0, unit="ug/kg", route="sc", time=30.0),
                              ip.Dose(20.0, unit="ug/kg", time=50.0, duration=4.0)))),
    "in_vitro": (ip.Model.in_vitro_v1, ip.Regimen.single(ip.Dose(10.0, unit="ng"))),
}


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_built_in_models_round_trip(name):
    make, regimen = BUILT_IN[name]
    model = make()
    params = model.default_parameters()
    back = ip.Model.from_sbml(model.to_sbml(params, regimen), report="all")
    times = np.linspace(0.0, 120.0, 241)
    a = ip.simulate(model, regimen, params, t_end=120.0, t_eval=times, **TIGHT)
    b = ip.simulate(back, None, t_end=120.0, t_eval=times, **TIGHT)
    for v in model.variables:
        error = worst_error(a._batch.outputs[v.name][0], b._batch.outputs[v.name][0])
        assert error <= TOLERANCE, f"{name} {v.name}: {error:.2e} of the range"


def _round_trip(case_dir: Path) -> None:
    times = parse_settings((case_dir / f"{case_dir.name}-settings.txt").read_text()).times
    definition, _ = model_from_system(read_sbml(model_file(case_dir)), report="all")
    model = ip.Model(definition, kind="sbml")
    a = ip.simulate(model, None, t_end=float(times[-1]), t_eval=times, **TIGHT)
    back = ip.Model.from_sbml(model.to_sbml(model.default_parameters(), ip.Regimen.none()),
                              report="all")
    b = ip.simulate(back, None, t_end=float(times[-1]), t_eval=times, **TIGHT)
    d = definition
    exported = antimony_names([*d.state_names, *(p.name for p in d.all_parameters),
                               *(n for n, _ in d.constants + d.algebraic), *d.inputs])
    sources = []
    for v in model.variables:
        # a label names the same variable after the round trip, [S] included (the
        # species are back in their compartments) and ids il21pk renamed (lambda ->
        # lambda_), except ids Antimony reserves: under the export's name ('_' added)
        concentration = v.name.startswith("[")
        sbml_id = v.name[1:-1] if concentration else v.name
        internal = d.renamed.get(sbml_id, sbml_id)
        kept = sbml_id in d.renamed and sbml_id.lower() not in RESERVED
        source = sbml_id if kept else exported.get(internal, internal)
        source = f"[{source}]" if concentration else source
        sources.append(source)
        error = worst_error(a._batch.outputs[v.name][0], b._batch.outputs[source][0])
        assert error <= TOLERANCE, f"case {case_dir.name} {v.name}: {error:.2e} of the range"
    # and nothing is added but the unit compartment of point-compartment species and
    # the kinetic laws' local parameters, global in the export
    local = {exported.get(p.name, p.name) for p in d.system.parameters
             if p.kind == "local_parameter"}
    added = {v.name for v in back.variables} - set(sources) - local - {"body"}
    assert not added, f"case {case_dir.name}: the round trip adds {sorted(added)}"


@pytest.fixture(scope="module")
def suite_cases(tmp_path_factory) -> list[Path]:
    if not SUITE.is_file():
        pytest.skip(f"SBML Test Suite archive not found at {SUITE}")
    return case_dirs(extract(SUITE, tmp_path_factory.mktemp("sbml_roundtrip")))


def test_suite_cases_round_trip(suite_cases):
    with_events = [d for d in suite_cases if has_events(d)]
    without = [d for d in suite_cases if not has_events(d)]
    sample = with_events[::EVENT_STRIDE] + without[::PLAIN_STRIDE]
    assert len(sample) >= 25
    for case_dir in sample:
        _round_trip(case_dir)


@pytest.mark.slow
@pytest.mark.skipif(not FULL, reason="every suite case: set IL21PK_SBML_FULL=1")
def test_every_suite_case_round_trips(suite_cases):
    failures = []
    for case_dir in suite_cases:
        try:
            _round_trip(case_dir)
        except AssertionError as error:
            failures.append(str(error).splitlines()[0])
    assert not failures, "\n".join(failures)


def _before_and_after(text, drugs=None, regimen=None, t_end=6.0, points=13):
    """Output times and outputs of an Antimony model and of its SBML export
    re-imported (both with ``report="all"``), and the two models."""
    model = ip.Model.from_antimony(text, drugs=drugs, report="all")
    back = ip.Model.from_sbml(model.to_sbml(model.default_parameters(), regimen), report="all")
    times = np.linspace(0.0, t_end, points)
    a = ip.simulate(model, regimen, t_end=t_end, t_eval=times, **TIGHT)._batch.outputs
    b = ip.simulate(back, None, t_end=t_end, t_eval=times, **TIGHT)._batch.outputs
    return times, a, b, model, back


def _assert_same(a, b, names):
    """The variables `names` agree before and after the round trip."""
    for name in names:
        np.testing.assert_allclose(b[name][0], a[name][0], rtol=1e-9, err_msg=name)


def _decay(name, *lines):
    """Antimony text: S (5 in V = 1) decaying at k = 0.1, plus `lines`."""
    body = ["  compartment V = 1", "  species S in V", "  S = 5", "  J0: S -> ; k*S",
            "  k = 0.1", *(f"  {line}" for line in lines)]
    return "\n".join([f"model {name}()", *body, "end"])


COMPARTMENTS = """
model compartments()
  compartment V = 2, W = 1
  W' = 0.1                 # a growing compartment
  species S in V, P in W, Q in V
  const species K in V
  S = 5; P = 1; K = 3      # concentrations: amounts 10, 1 and 6
  J0: S -> P; k*S
  Q := 0.5*S               # a species by assignment
  c_s := S/V               # the user's own S / V survives the export
  k = 0.1
end
"""


def test_concentrations_mean_the_same_after_a_round_trip():
    # before, the export put every species in a unit compartment: [S] read the
    # amount (10 for 5 at t = 0) after re-import
    times, a, b, model, back = _before_and_after(COMPARTMENTS, t_end=10.0, points=11)
    assert sorted(v.name for v in back.variables) == sorted(v.name for v in model.variables)
    assert b["[S]"][0, 0] == pytest.approx(5.0) and b["[K]"][0, 0] == pytest.approx(3.0)
    s_amount = 10.0 * np.exp(-0.05 * times)  # closed form: amount' = -k [S] = -k S / V
    np.testing.assert_allclose(b["[S]"][0], s_amount / 2.0, rtol=1e-9)
    np.testing.assert_allclose(b["[Q]"][0], 0.5 * s_amount / 2.0, rtol=1e-9)
    np.testing.assert_allclose(b["[P]"][0], (1.0 + 10.0 - s_amount) / (1.0 + 0.1 * times),
                               rtol=1e-9)
    _assert_same(a, b, ("[S]", "[P]", "[Q]", "[K]", "c_s", "W"))


def test_a_dosed_compartment_keeps_its_concentrations():
    # a drug dosing the compartment V: the species are in the state V_dosed, so
    # [S] is S / V_dosed after a round trip too (it was S / V: 2.744 for 1.829)
    text = """
    model dosed()
      compartment V = 2
      species S in V
      const substanceOnly species K in V
      S = 5; K = 3
      J0: S -> ; k*S
      k = 0.1
    end
    """
    regimen = ip.Regimen.single(ip.Dose(1.0, unit="nmol", drug="x", time=2.0))
    times, a, b, *_ = _before_and_after(text, {"x": "V"}, regimen)
    volume = np.where(times < 2.0, 2.0, 3.0)
    np.testing.assert_allclose(b["[K]"][0], 3.0 / volume, rtol=1e-12)  # an amount of 3
    _assert_same(a, b, ("S", "[S]", "[K]"))


def test_ids_il21pk_renames_keep_their_sbml_ids():
    # lambda, t and _k are no il21pk names (lambda_, t_, k inside the model); the
    # export wrote the inside names, so after a round trip the labels were lambda_,
    # t_ and k
    text = """
    model renamed()
      x' = -lambda*x + 0*t
      x = 1; lambda = 0.1; t = 2; _k = 3
      y := _k*x
    end
    """
    times, a, b, model, back = _before_and_after(text)
    assert sorted(v.name for v in model.variables) == ["_k", "lambda", "t", "x", "y"]
    assert sorted(v.name for v in back.variables) == ["_k", "lambda", "t", "x", "y"]
    np.testing.assert_allclose(b["y"][0], 3.0 * np.exp(-0.1 * times), rtol=1e-9)
    assert b["t"][0, 0] == 2.0 and b["lambda"][0, 0] == 0.1 and b["_k"][0, 0] == 3.0
    _assert_same(a, b, ("x", "y", "lambda", "t", "_k"))


def test_an_event_named_like_an_antimony_word_is_exported():
    # an event with the id `body` (the export's unit compartment) stopped the export;
    # the engine reports a state at an event's time after the event
    text = """
    model named()
      x' = -k*x
      x = 1; k = 0.1
      body: at (time > 3): x = 1
    end
    """
    times, a, b, *_ = _before_and_after(text)
    np.testing.assert_allclose(b["x"][0], np.exp(-0.1 * (times - np.where(times >= 3, 3, 0))),
                               rtol=1e-9)
    _assert_same(a, b, ("x",))


def test_a_dosed_constant_keeps_its_meaning():
    # the label k of a dosed constant reads the dosed value; after a round trip it
    # read the constant (0.1 for 1.1)
    text = _decay("dosed_rate")
    regimen = ip.Regimen.single(ip.Dose(1.0, unit="nmol", drug="x", time=2.0))
    times, a, b, *_ = _before_and_after(text, {"x": "k"}, regimen)
    np.testing.assert_allclose(b["k"][0], np.where(times < 2.0, 0.1, 1.1), rtol=1e-12)
    _assert_same(a, b, ("k", "S", "[S]"))


def test_reports_that_read_time_round_trip_as_they_were():
    # the import integrates time as a state for reports that read it; the export
    # wrote it as a species, so each round trip added sbml_time, [sbml_time], body
    text = _decay("clock", "d := S*time")
    times, a, b, model, back = _before_and_after(text)
    assert sorted(v.name for v in back.variables) == sorted(v.name for v in model.variables)
    np.testing.assert_allclose(b["d"][0], 5.0 * np.exp(-0.1 * times) * times, rtol=1e-9)
    _assert_same(a, b, ("d",))
    again = ip.Model.from_sbml(back.to_sbml(), report="all")
    assert sorted(v.name for v in again.variables) == sorted(v.name for v in model.variables)


def test_an_event_named_like_a_dose_event_still_fires():
    # the export names dose events D0, D1, ...: an SBML event D0 was replaced by
    # the first dose's and never fired after the round trip (S 9.09 for 2.0)
    text = _decay("named_d0", "D0: at (time > 4): S = 1")
    regimen = ip.Regimen.single(ip.Dose(5.0, unit="nmol", drug="x", time=2.0))
    times, a, b, *_ = _before_and_after(text, {"x": "S"}, regimen)
    late = times > 4
    np.testing.assert_allclose(b["S"][0][late], np.exp(-0.1 * (times[late] - 4)), rtol=1e-9)
    _assert_same(a, b, ("S",))


def test_two_drugs_dose_one_constant():
    # the second drug into a constant made a second dosed state and the first
    # drug's doses went nowhere
    text = _decay("two_drugs")
    regimen = ip.Regimen((ip.Dose(1.0, unit="nmol", drug="x", time=1.0),
                          ip.Dose(2.0, unit="nmol", drug="y", time=3.0)))
    times, a, b, *_ = _before_and_after(text, {"x": "k", "y": "k"}, regimen)
    k = 0.1 + np.where(times >= 1.0, 1.0, 0.0) + np.where(times >= 3.0, 2.0, 0.0)
    np.testing.assert_allclose(a["k"][0], k, rtol=1e-12)
    np.testing.assert_allclose(b["k"][0], k, rtol=1e-12)


def test_a_dosed_constant_species_keeps_its_concentration():
    # a drug dosing a constant species: [K] was lost after a round trip
    text = _decay("dosed_species", "const substanceOnly species K in V", "K = 3")
    regimen = ip.Regimen.single(ip.Dose(2.0, unit="nmol", drug="x", time=1.0))
    times, a, b, *_ = _before_and_after(text, {"x": "K"}, regimen)
    np.testing.assert_allclose(b["[K]"][0], np.where(times < 1.0, 3.0, 5.0), rtol=1e-12)
    _assert_same(a, b, ("K", "[K]", "S"))


def test_an_event_named_like_a_generated_name_is_exported():
    # an event k_dosed clashed with the state the import makes for a dosed k
    text = _decay("event_k_dosed", "k_dosed: at (time > 4): S = 1")
    regimen = ip.Regimen.single(ip.Dose(1.0, unit="nmol", drug="x", time=2.0))
    times, a, b, *_ = _before_and_after(text, {"x": "k"}, regimen)
    _assert_same(a, b, ("k", "S"))
    late = times > 4  # the event set S to 1 at t = 4; k is 1.1 after the dose
    np.testing.assert_allclose(b["S"][0][late], np.exp(-1.1 * (times[late] - 4)), rtol=1e-9)
