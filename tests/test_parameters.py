"""Parameters and parameter sets: sources, units, bounds, errors."""

from __future__ import annotations

import pandas as pd
import pytest

import il21pk as ip
from il21pk.references import REFERENCES


@pytest.mark.parametrize("name", ip.parameter_sets.available())
def test_every_parameter_has_unit_bounds_and_a_source(name):
    params = ip.parameter_sets.load(name)
    frame = params.to_frame()
    assert list(frame.columns) == ["name", "value", "unit", "lower", "upper", "source",
                                   "description"]
    assert frame["unit"].str.len().gt(0).all() and frame["description"].str.len().gt(0).all()
    for row in frame.itertuples():
        assert row.lower <= row.value <= row.upper
        head = row.source.split(":")[0]
        assert head in REFERENCES or head in ("assumed", "derived"), (row.name, row.source)


def test_default_alias_and_unknown_set():
    assert ip.parameter_sets.load("default").name == "human"
    with pytest.raises(ip.ParameterError, match=r"unknown parameter set 'humna'; did you mean "
                                                r"'human'"):
        ip.parameter_sets.load("humna")


def test_kd_is_70_pm(human):
    assert human["kd"].value == 0.07 and human["kd"].unit == "nM"
    assert human["kd"].source.startswith("Zhang2003")


def test_with_values_returns_a_new_set(human):
    new = human.with_values(cl=2.0)
    assert new["cl"].value == 2.0 and new["cl"].source == "user"
    assert human["cl"].value == 5.0


def test_unknown_parameter_name_suggests_close_names(human):
    with pytest.raises(ip.ParameterError, match=r"unknown parameter 'kon_' ?; did you mean 'kon'"):
        human.with_values(kon_=1.0)
    with pytest.raises(ip.ParameterError, match=r"did you mean 'cl'"):
        human["cll"]


@pytest.mark.parametrize("name,value,match", [
    ("ka", -0.3, r"parameter 'ka' must be within \[0, 1000\] 1/h; got -0.3"),
    ("f_sc", 1.5, r"parameter 'f_sc' must be within \[0, 1\] 1; got 1.5"),
    ("cl", float("nan"), r"parameter 'cl' must be finite \[L/h\]; got nan"),
    ("cl", "1", r"parameter 'cl' must be a real number \[L/h\]; got '1'"),
])
def test_values_outside_hard_bounds_are_rejected(human, name, value, match):
    with pytest.raises(ip.ParameterError, match=match):
        human.with_values(**{name: value})


def test_references_are_full_citations(human):
    refs = human.references()
    assert "Zhang2003" in refs and "Biochem Biophys Res Commun" in refs["Zhang2003"]


def test_cynomolgus_differs_where_the_species_does(human, cyno):
    diff = pd.merge(human.to_frame(), cyno.to_frame(), on="name")
    changed = set(diff.loc[diff["value_x"] != diff["value_y"], "name"])
    # v1: body weight, PK and receptor-bearing cells; v2 scales PK allometrically from body
    # weight and adds monkey anti-drug antibodies, platelet count and the body's B-cell
    # antigen (scaled by body weight, as the receptor-bearing cells)
    assert changed == {"body_weight", "v_central", "cl", "q", "v_peripheral", "receptor_cells",
                       "ada_sensitisation", "platelets_0", "b_cell_antigen_0"}


def test_build_set_lists_every_problem():
    from il21pk.parameters import ParameterSpec, build_set

    specs = [ParameterSpec("a", "1", 0, 1, "a"), ParameterSpec("b", "1", 0, 1, "b")]
    with pytest.raises(ip.ParameterError, match=r"missing values for \['a', 'b'\] and values "
                                                r"for unknown parameters \['c'\]"):
        build_set(specs, {"c": (1.0, "assumed: x")}, name="t")


def test_parameter_set_entries_are_checked_as_with_values_checks_them():
    # model.parameter_set took (True, src) as 1.0 and ("2.5", src) as 2.5; "abc" and a
    # bare 2.0 raised raw ValueError / TypeError; a spec with lower > upper refused all
    model = ip.Model.pk_only(compartments=1)
    for entry, match in (((True, "a"), "must be a real number"),
                         (("2.5", "a"), "must be a real number"),
                         (("abc", "a"), "must be a real number"),
                         (2.0, r"must be a \(value, source\) pair; got 2.0")):
        with pytest.raises(ip.ParameterError, match=match):
            model.parameter_set({"cl": entry}, base="human")
    with pytest.raises(ip.ParameterError, match=r"needs numbers lower <= upper; got \[10, 0\]"):
        ip.ParameterSpec("k", "1/h", 10, 0, "a rate")


def test_sampling_scale_and_params_are_checked():
    # scale={"fsc": ...} for bounds f_sc was ignored (log scale used); params={...} a raw
    # AttributeError
    with pytest.raises(ip.ParameterError, match=r"scale names \['fsc'\]"):
        ip.latin_hypercube({"f_sc": (0.1, 0.9)}, 10, scale={"fsc": "linear"}, seed=1)
    with pytest.raises(TypeError, match="params must be a ParameterSet; got dict"):
        ip.latin_hypercube({"kd": (0.1, 1.0)}, 4, params={"kd": 1})


def test_the_b_cell_antigen_equals_the_product_its_source_states(human, cyno):
    """Its source says 3e11 B cells x 1e5 CD20 each; the value was 0.05 nmol, a
    thousandth of that product (3e16 molecules = 49.8 nmol), so the antibody's
    target-mediated clearance was a thousandth of the stated one (probe of model v2)."""
    source = human["b_cell_antigen_0"].source
    assert "3e11 B cells" in source and "1e5 CD20" in source
    nmol = 3e11 * 1e5 / 6.02214076e23 * 1e9
    assert human.value("b_cell_antigen_0") == pytest.approx(nmol, rel=0.01)
    assert cyno.value("b_cell_antigen_0") == pytest.approx(
        human.value("b_cell_antigen_0") * cyno.value("body_weight") / human.value("body_weight"))
