"""The command line keeps every option it is given, or says why not (a probe of
2026-12-01 found pairs, flags and covariate settings dropped without a word)."""

from __future__ import annotations

import pytest

import il21pk.analysis.population as population
from il21pk.analysis.population.covariates import Exponential, Power
from il21pk.cli import main

NONMEM = ("ID,TIME,AMT,EVID,MDV,CMT,DV,WT,AGE\n"
          "1,0,100,1,1,1,.,70,50\n1,1,0,0,0,2,2.6,70,50\n1,4,0,0,0,2,2.5,70,50\n"
          "2,0,100,1,1,1,.,80,60\n2,1,0,0,0,2,2.4,80,60\n2,4,0,0,0,2,2.2,80,60\n")

ANTIMONY_DAYS = """model decay()
  unit time_unit = 86400 second
  compartment C = 1
  species S in C
  S' = -k*S
  S = 0
  k = 0.5
end"""


class Stop(BaseException):
    """Raised by the stubbed fit_population once it has the arguments the command line
    built (a BaseException: the command line reports every Exception as one line)."""


@pytest.fixture
def captured(monkeypatch):
    """The keyword arguments `il21pk fit-population` passes to fit_population."""
    seen = {}

    def stub(*args, **kwargs):
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(population, "fit_population", stub)
    return seen


def _fit_population(tmp_path, *extra):
    data = tmp_path / "nm.csv"
    data.write_text(NONMEM)
    argv = ["fit-population", "--data", str(data), "--nonmem", "--model", "pk1-closed-form",
            "--free", "ka", "v_central", "cl", "--iiv", "cl=0.3", "--out",
            str(tmp_path / "out"), *extra]
    return main(argv)


def test_several_covariates_on_one_parameter_are_all_kept(tmp_path, captured):
    # the second pair replaced the first: the power effect of WT on cl was dropped
    with pytest.raises(Stop):
        _fit_population(tmp_path, "--covariate", "cl=power:WT:70:0.75",
                        "cl=exponential:AGE:50:0.02:fixed")
    effects = captured["covariates"]["cl"]
    assert effects == [Power("WT", 70.0, 0.75), Exponential("AGE", 50.0, 0.02, estimate=False)]


def test_covariate_estimate_flags_and_defaults(tmp_path, captured):
    # exponential and linear effects were estimated whatever the text said
    with pytest.raises(Stop):
        _fit_population(tmp_path, "--covariate", "cl=power:WT:70:0.75:estimate",
                        "v_central=exponential:AGE:50")
    assert captured["covariates"]["cl"] == [Power("WT", 70.0, 0.75, estimate=True)]
    assert captured["covariates"]["v_central"] == [Exponential("AGE", 50.0, 0.0)]
    assert captured["covariates"]["v_central"][0].estimate  # the effect's own default


@pytest.mark.parametrize("flag,pairs", [
    ("--iiv", ["cl=0.3", "cl=0.5"]),  # the last omega won
    ("--units", ["il21_plasma=ng/mL", "il21_plasma=nM"]),  # a 15.4-fold choice, silently
    ("--settings", ["k1=10", "k1=20"]),
])
def test_a_name_given_twice_is_refused(tmp_path, capsys, captured, flag, pairs):
    assert _fit_population(tmp_path, flag, *pairs) == 2
    err = capsys.readouterr().err
    assert f"{flag} gives '{pairs[0].split('=')[0]}' twice" in err
    assert not captured  # refused before fitting


def test_settings_values_that_are_not_numbers_name_the_field(tmp_path, capsys, captured):
    # "invalid literal for int() with base 10: 'abc'"
    assert _fit_population(tmp_path, "--settings", "k1=abc") == 2
    assert "--settings k1: value must be a number, true or false; got 'abc'" in \
        capsys.readouterr().err


def test_fit_population_takes_a_worker_count(tmp_path, captured):
    # "--executor 2" was refused although the help offers a worker count
    with pytest.raises(Stop):
        _fit_population(tmp_path, "--executor", "2")
    assert captured["executor"] == 2


def test_metrics_do_not_apply_to_trajectories(tmp_path, capsys):
    out = tmp_path / "sweep.csv"
    assert main(["sweep", "--model", "pk", "--grid", "cl=4,5", "--output", "trajectories",
                 "--metrics", "cmax", "--t-end", "24", "--out", str(out)]) == 2
    assert "`metrics` apply to output='summary' only" in capsys.readouterr().err
    assert not out.exists()


def test_a_dose_the_grid_replaces_is_refused(tmp_path, capsys):
    out = tmp_path / "sweep.csv"
    assert main(["sweep", "--model", "pk", "--dose", "5", "--grid", "dose=1,10",
                 "--t-end", "24", "--out", str(out)]) == 2
    assert "--dose is replaced by the dose values of --grid" in capsys.readouterr().err
    folder = tmp_path / "dr"
    assert main(["dose-response", "--model", "pk", "--dose", "5", "--doses", "1,10",
                 "--responses", "il21_plasma:auc", "--t-end", "24", "--out", str(folder)]) == 2
    assert "--dose sets the default dose grid, which --doses replaces" in \
        capsys.readouterr().err
    assert not folder.exists()  # the output folder was made before the options were checked


def test_sbml_model_dose_options_need_a_drug_and_times_are_in_its_unit(tmp_path, capsys):
    model = tmp_path / "decay.xml"
    import il21pk as ip

    model.write_text(ip.Model.from_antimony(ANTIMONY_DAYS).to_sbml())
    out = tmp_path / "sim.csv"
    # --dose without --drug ran with no doses and exit 0
    assert main(["simulate", "--model", str(model), "--unit", "nmol", "--dose", "10",
                 "--schedule", "single", "--t-end", "4", "--out", str(out)]) == 2
    assert "--dose describes doses" in capsys.readouterr().err
    # the regimen was described in hours though the model runs in days
    assert main(["simulate", "--model", str(model), "--drug", "S", "--unit", "nmol",
                 "--dose", "10", "--duration", "0.5", "--schedule", "single", "--t-end", "4",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "over 0.5 d" in printed and "0.5 h" not in printed


def test_nonmem_data_refuse_regimen_options(tmp_path, capsys, captured):
    # --dose, --schedule and --route were dropped without a word: the file's records dose
    assert _fit_population(tmp_path, "--schedule", "weekly") == 2
    assert "--schedule describes a regimen, and --nonmem data carry theirs" in \
        capsys.readouterr().err
    with pytest.raises(Stop):  # --unit is the AMT unit, which applies
        _fit_population(tmp_path, "--unit", "nmol")


def test_a_spec_covariate_table_takes_a_list_of_effects(tmp_path, captured):
    # [covariate] cl = [..., ...] was read as one text "['power:...', ...]" and refused
    data = tmp_path / "nm.csv"
    data.write_text(NONMEM)
    spec = tmp_path / "fit.toml"
    spec.write_text(f'data = "{data}"\nnonmem = true\nmodel = "pk1-closed-form"\n'
                    'free = ["ka", "v_central", "cl"]\n[iiv]\ncl = 0.3\n[covariate]\n'
                    'cl = ["power:WT:70:0.75", "exponential:AGE:50"]\n')
    with pytest.raises(Stop):
        main(["fit-population", "--spec", str(spec), "--out", str(tmp_path / "out")])
    assert [type(e).__name__ for e in captured["covariates"]["cl"]] == ["Power", "Exponential"]


def test_a_text_setting_is_kept_as_text(tmp_path, captured):
    # --settings standard_errors=r was refused as "must be a number, true or false"
    with pytest.raises(Stop):
        _fit_population(tmp_path, "--method", "focei", "--settings", "standard_errors=s")
    assert captured["settings"].standard_errors == "s"


def test_a_model_parameter_named_dose_something_may_be_swept_with_dose(tmp_path):
    # any grid name starting with "dose_" was taken for a dose column
    model = tmp_path / "gain.xml"
    import il21pk as ip

    model.write_text(ip.Model.from_antimony(ANTIMONY_DAYS.replace(
        "S' = -k*S", "S' = -k*dose_gain*S").replace("k = 0.5", "k = 0.5\n  dose_gain = 1"))
        .to_sbml())
    out = tmp_path / "sweep.csv"
    assert main(["sweep", "--model", str(model), "--drug", "S", "--unit", "nmol", "--dose",
                 "5", "--schedule", "single", "--grid", "dose_gain=1,2", "--t-end", "4",
                 "--executor", "serial", "--out", str(out)]) == 0


def test_dose_response_refuses_an_out_file_before_it_simulates(tmp_path, capsys, monkeypatch):
    # the file was found only when the results were written, after every simulation
    import il21pk.cli as cli

    monkeypatch.setattr(cli, "dose_response", lambda *a, **k: pytest.fail("simulated"))
    taken = tmp_path / "taken"
    taken.write_text("")
    assert main(["dose-response", "--model", "pk", "--responses", "il21_plasma:auc",
                 "--t-end", "24", "--out", str(taken)]) == 2
    assert "is a file" in capsys.readouterr().err
