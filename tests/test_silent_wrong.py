"""Silent wrong answers and lost data (issue 14): each test failed on the code the
issue was filed against, by returning a plausible but wrong result without a word."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import il21pk as ip


def _nonmem(**overrides) -> pd.DataFrame:
    base = {"ID": [1, 1, 1, 1], "TIME": [0.0, 1.0, 2.0, 4.0], "AMT": [10.0, 0, 0, 0],
            "EVID": [1, 0, 0, 0], "DV": [".", "2.0", "1.0", "0.25"],
            "MDV": ["1", "0", "0", "0"]}
    base.update(overrides)
    return pd.DataFrame(base)


# -- NONMEM "." and NaN -----------------------------------------------------------------

def test_nonmem_dot_in_dv_keeps_every_observation():
    # "." in DV makes both DV and MDV text columns; MDV "0" used to compare unequal to 0,
    # so every observation was dropped without a word
    obs = ip.Dataset.from_nonmem(_nonmem()).observations
    assert obs["time_h"].tolist() == [1.0, 2.0, 4.0]
    assert obs["value"].tolist() == [2.0, 1.0, 0.25]


def test_nonmem_dot_in_mdv_reads_as_zero_like_nm_tran():
    obs = ip.Dataset.from_nonmem(_nonmem(MDV=[1, ".", 0, 0])).observations
    assert obs["time_h"].tolist() == [1.0, 2.0, 4.0]


def test_nonmem_dot_in_dv_of_an_observation_row_is_an_error():
    with pytest.raises(ip.DataError, match=r"row 2: column 'DV' is '\.' on an observation row"):
        ip.Dataset.from_nonmem(_nonmem(DV=[".", "2.0", ".", "0.25"]))


def test_nonmem_text_in_mdv_or_blq_is_an_error_not_a_silent_drop():
    with pytest.raises(ip.DataError, match=r"NONMEM column MDV must be a number; row 2 has 'x'"):
        ip.Dataset.from_nonmem(_nonmem(MDV=[1, 0, "x", 0]))
    with pytest.raises(ip.DataError, match=r"NONMEM column MDV must be 0 or 1; row 1 has 2"):
        ip.Dataset.from_nonmem(_nonmem(MDV=[1, 2, 0, 0]))
    # BLQ given as text "1" used to compare unequal to 1: the flag was lost
    obs = ip.Dataset.from_nonmem(_nonmem(BLQ=["0", "0", "0", "1"], LLOQ=[".", ".", ".", "0.5"])
                                 ).observations
    assert obs["blq"].tolist() == [False, False, True]
    assert obs["value"].iloc[-1] == 0.5


def test_nonmem_dot_in_lloq_and_wt_means_missing():
    data = ip.Dataset.from_nonmem(_nonmem(LLOQ=[".", ".", "0.1", "."], WT=[".", "80", ".", "."]))
    assert np.isnan(data.observations["lloq"].iloc[0])
    assert data.observations["lloq"].iloc[1] == 0.1
    assert data.covariates["body_weight"].tolist() == [80.0]


def test_nonmem_nan_id_is_an_error_not_lost_doses():
    df = pd.DataFrame({"ID": [1, np.nan], "TIME": [0.0, 24.0], "AMT": [10.0, 10.0],
                       "EVID": [1, 1]})
    # used to return one dose: the second record vanished with its NaN ID
    with pytest.raises(ip.RegimenError, match=r"column ID must identify a subject on every "
                                              r"record; row 1 has nan"):
        ip.Regimen.from_nonmem(df)
    with pytest.raises(ip.DataError, match=r"row 1 has nan"):  # used to be KeyError: nan
        ip.Dataset.from_nonmem(_nonmem(ID=[1, np.nan, 1, 1]))


def test_from_frame_nan_subject_is_an_error():
    df = pd.DataFrame({"subject": [1, 1, np.nan], "time_h": [1.0, 2, 3], "value": [1.0, 2, 3]})
    with pytest.raises(ip.DataError, match=r"row 2: column 'subject' \(subject\) must identify"):
        ip.Dataset.from_frame(df, variable="il21_plasma", regimen=ip.Dose(1.0))


def test_nonmem_float16_ids_are_read():
    df = _nonmem(ID=np.array([1, 1, 1, 1], dtype=np.float16))  # NotImplementedError before
    assert ip.Dataset.from_nonmem(df).subjects == [1.0]
    assert len(ip.Regimen.from_nonmem(df)) == 1


def test_nonmem_fractional_dvid_is_not_truncated():
    with pytest.raises(ip.DataError, match=r"row 1: column DVID = 1.5 names no observed"):
        ip.Dataset.from_nonmem(_nonmem(DVID=[0, 1.5, 1, 1]))


# -- molecular weight and covariates ---------------------------------------------------------

@pytest.mark.parametrize("mw", [0, -15.4, np.inf, np.nan, "15.4", True])
def test_molecular_weight_is_validated(mw):
    df = pd.DataFrame({"time_h": [1.0, 2.0], "value": [5.0, 3.0]})
    with pytest.raises(ip.DataError, match=r"`mw` must be a molecular weight > 0 kDa"):
        ip.Dataset.from_frame(df, variable="il21_plasma", subject=None, regimen=ip.Dose(1.0),
                              units={"il21_plasma": "ng/mL"}, mw=mw)
    with pytest.raises(ip.DataError, match=r"`mw` must be a molecular weight > 0 kDa"):
        ip.Dataset.from_nonmem(_nonmem(), units={"il21_plasma": "ng/mL"}, mw=mw)


@pytest.mark.parametrize("wt,match", [
    ([np.inf] * 4, "must be finite; got inf"),
    ([70.0, 70.0, -np.inf, 70.0], "must be finite; got -inf"),
    ([70.0, 70.0, "heavy", 70.0], "must be a number; got 'heavy'"),
    ([70.0, 70.0, 80.0, 70.0], "'WT' changes within subject"),
])
def test_bad_covariates_are_data_errors(wt, match):
    with pytest.raises(ip.DataError, match=match):
        ip.Dataset.from_nonmem(_nonmem(WT=wt))
    df = pd.DataFrame({"time_h": [1.0, 2.0, 3.0, 4.0], "value": [5.0, 3.0, 2.0, 1.0], "WT": wt})
    with pytest.raises(ip.DataError, match=match):
        ip.Dataset.from_frame(df, variable="il21_plasma", subject=None, regimen=ip.Dose(1.0),
                              covariates={"WT": "body_weight"})


@pytest.mark.parametrize("wt,row,shown", [([0.0] * 4, 0, "0.0"),
                                          ([".", -70.0, ".", "."], 1, "-70.0")])
def test_a_body_weight_of_0_or_less_is_refused_when_read(wt, row, shown):
    # WT <= 0 was read without a word (the ug/kg dose converted with it), and only fit
    # refused the data
    match = (rf"row {row} \(subject 1\): covariate column 'WT' is the body weight, which "
             rf"must be finite and > 0 kg; got {shown}")
    with pytest.raises(ip.DataError, match=match):
        ip.Dataset.from_nonmem(_nonmem(WT=wt))
    df = pd.DataFrame({"id": [1] * 4, "time_h": [1.0, 2.0, 3.0, 4.0],
                       "value": [5.0, 3.0, 2.0, 1.0], "WT": [np.nan if w == "." else w
                                                             for w in wt]})
    with pytest.raises(ip.DataError, match=match):
        ip.Dataset.from_frame(df, variable="il21_plasma", subject="id", regimen=ip.Dose(1.0),
                              covariates={"WT": "body_weight"})


def test_a_subject_dosed_per_kg_needs_a_body_weight():
    # a WT missing on every row of a subject dosed in ug/kg was read as NaN
    with pytest.raises(ip.DataError, match=r"subject 1 is dosed in ug/kg \(per kg of body "
                                           r"weight\) and has no body weight: covariate column "
                                           r"'WT' is missing on every row of it"):
        ip.Dataset.from_nonmem(_nonmem(WT=["."] * 4))
    # a dose in nmol does not need one: the weight stays missing
    data = ip.Dataset.from_nonmem(_nonmem(WT=["."] * 4), amount_unit="nmol")
    assert np.isnan(data.covariates["body_weight"]).all()


def test_infinite_or_text_observations_are_errors_not_blq():
    df = pd.DataFrame({"time_h": [1.0, 2.0], "value": [np.inf, 3.0], "lloq": [0.1, 0.1]})
    # inf used to be read as missing and, with an LLOQ, as a BLQ sample at the LLOQ
    with pytest.raises(ip.DataError, match=r"row 0: column 'value' must be finite; got inf"):
        ip.Dataset.from_frame(df, variable="il21_plasma", subject=None, regimen=ip.Dose(1.0),
                              lloq="lloq")
    with pytest.raises(ip.DataError, match=r"row 1: column 'value' must be a number; got 'n/a'"):
        ip.Dataset.from_frame(df.assign(value=[1.0, "n/a"]), variable="il21_plasma",
                              subject=None, regimen=ip.Dose(1.0), lloq="lloq")


def test_dose_column_changing_within_a_subject_is_an_error():
    df = pd.DataFrame({"id": [1, 1], "time_h": [1.0, 2.0], "value": [5.0, 3.0],
                       "dose": [10.0, 30.0]})
    with pytest.raises(ip.DataError, match=r"column 'dose' changes within subject 1"):
        ip.Dataset.from_frame(df, variable="il21_plasma", subject="id", regimen=ip.Dose(1.0),
                              dose="dose")


# -- solver options and scipy methods ------------------------------------------------------

PK1 = ip.Model.pk_only(compartments=1)


def test_lsoda_does_not_report_success_with_nan(drug):
    reg = ip.Regimen((ip.Dose(1.0, unit="nmol"), ip.Dose(1.0, unit="nmol", time=1e-200)))
    res = ip.simulate(PK1, reg, drug, t_end=10.0, method="LSODA", raise_on_failure=False)
    # used to be success=True with 44 NaN values in the frame
    assert res.success == bool(np.isfinite(res.frame["value"]).all())
    if not res.success:
        assert "NaN" in res.message
        with pytest.raises(ip.SimulationError, match="LSODA"):
            ip.simulate(PK1, reg, drug, t_end=10.0, method="LSODA")


@pytest.mark.parametrize("method", ["LSODA", "BDF", "Radau", "RK45", "DOP853"])
def test_scipy_methods_honour_max_steps(model, human, method):
    # the solve_ivp methods ignored max_steps and reported success
    res = ip.simulate(model, ip.Dose(30.0), human, t_end=48.0, method=method, max_steps=3,
                      raise_on_failure=False)
    assert not res.success and "too many steps" in res.message


@pytest.mark.parametrize("method", ["RK45", "BDF"])
def test_stepped_solve_ivp_matches_the_compiled_solver(drug, method):
    reg = ip.Regimen.repeat(ip.Dose(5.0, unit="nmol", route="sc"), every=12.0, count=3)
    grid = np.linspace(0.0, 48.0, 97)
    kwargs = dict(t_end=48.0, t_eval=grid, rtol=1e-9, atol=1e-12)
    a = ip.simulate(PK1, reg, drug, method=method, **kwargs).frame["value"].to_numpy()
    b = ip.simulate(PK1, reg, drug, **kwargs).frame["value"].to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("rtol", [0.5, 0.1, 0.011, 1e-14])
def test_rtol_outside_the_sensible_range_is_refused(model, human, rtol):
    # rtol=0.5 used to give a receptor occupancy of 4.42 with success=True
    with pytest.raises(ip.errors.OptionError, match=r"`rtol` must be within \[1e-13, 0.01\]"):
        ip.simulate(model, ip.Dose(30.0), human, t_end=24.0, rtol=rtol)
    with pytest.raises(ValueError, match=r"`rtol` must be within"):
        ip.sweep(model, ip.Dose(30.0), human, grid={"cl": [1.0]}, t_end=24.0, rtol=rtol)


# -- virtual populations ----------------------------------------------------------------------

def test_omega_zero_fixes_a_parameter_instead_of_crashing(human):
    # used to raise numpy's LinAlgError from the Cholesky factorisation
    pop = ip.virtual_population(human, 200, {"cl": 0.0, "ka": 0.3}, seed=1)
    assert (pop["cl"] == human.value("cl")).all()
    assert pop["ka"].std() > 0
    # the varied parameter is drawn exactly as without the fixed one
    alone = ip.virtual_population(human, 200, {"ka": 0.3}, seed=1)
    np.testing.assert_array_equal(pop["ka"], alone["ka"])
    only_fixed = ip.virtual_population(human, 5, {"cl": 0.0}, seed=1)
    assert (only_fixed["cl"] == human.value("cl")).all()


def test_correlation_with_a_fixed_parameter_is_an_error(human):
    with pytest.raises(ip.ParameterError, match=r"correlations name 'cl', whose variability is 0"):
        ip.virtual_population(human, 5, {"cl": 0.0, "ka": 0.3}, correlations={("cl", "ka"): 0.5})


def test_scipy_solver_exceptions_are_solver_failures(model, human):
    # Radau's sparse LU raised RuntimeError("Factor is exactly singular") out of simulate
    res = ip.simulate(model, ip.Dose(30.0), human.with_values(il21r_per_cell=0.0), t_end=24.0,
                      method="Radau", raise_on_failure=False)
    assert res.success or "Radau failed" in res.message
    if not res.success:
        with pytest.raises(ip.SimulationError, match="Radau failed: .*singular"):
            ip.simulate(model, ip.Dose(30.0), human.with_values(il21r_per_cell=0.0),
                        t_end=24.0, method="Radau")


# -- dtypes and text that were read as numbers (probe of 2026-12-01) ---------------------

@pytest.mark.parametrize("column,values", [
    ("time_h", pd.to_timedelta([0, 1, 2], unit="h")),
    ("time_h", pd.to_datetime(["2020-01-01 00:00", "2020-01-01 01:00", "2020-01-01 02:00"])),
    ("value", np.array([5.0, 2.5, 1.25]) + 1j),
])
def test_nca_refuses_datetime_timedelta_and_complex_columns(column, values):
    # timedelta and datetime columns were read as nanosecond counts labelled hours
    # (tlast 7.2e12 for a 2-h profile); complex values lost their imaginary part
    frame = pd.DataFrame({"time_h": [0.0, 1.0, 2.0], "value": [5.0, 2.5, 1.25]})
    frame[column] = values
    with pytest.raises(ip.DataError, match=rf"nca column '{column}' must hold plain real"):
        ip.nca(frame)


@pytest.mark.parametrize("points", ["12", [], [24.0], [12.0, 12.0, 24.0]])
def test_nca_points_must_be_two_or_more_different_times(points):
    # "12" was read character by character as the times 1 and 2; [] and [24] gave a
    # silent NaN lambda_z; a repeated time was reported as "not a sampling time"
    t = np.array([0.0, 1.0, 2.0, 12.0, 24.0])
    frame = pd.DataFrame({"time_h": t, "value": 10 * np.exp(-0.1 * t)})
    with pytest.raises((TypeError, ValueError), match="`points` must be"):
        ip.nca(frame, points=points)


def test_dataset_dose_column_refuses_text():
    # text in the dose column became NaN and the subject's dose came from its other rows
    model = ip.Model.pk_only(compartments=1)
    frame = pd.DataFrame({"subject": [1, 1, 2, 2], "time_h": [1, 2, 1, 2],
                          "value": [1, 0.5, 2, 1], "D": [10, "x", 20, 20]})
    with pytest.raises(ip.DataError, match=r"row 1: column 'D' \(dose\) must be a number; "
                                           r"got 'x'"):
        ip.Dataset.from_frame(frame, variable="il21_plasma", regimen=ip.Dose(1, unit="nmol"),
                              dose="D", model=model)


@pytest.mark.parametrize("t_eval,match", [
    (np.array([0, 30, 60], dtype="timedelta64[m]"), "must hold plain real numbers"),
    (np.array([0.0, 1 + 2j, 3.0]), "must hold plain real numbers"),
    ([0.0, [1.0, 2.0]], "must be an array of hours"),  # ragged (the review of the check)
])
def test_simulate_refuses_timedelta_and_complex_output_times(t_eval, match):
    # 0, 30 and 60 minutes ran as 0, 30 and 60 hours; a complex time lost its imaginary part
    model = ip.Model.pk_only(compartments=1)
    with pytest.raises(ip.errors.OptionError, match=f"`t_eval` {match}"):
        ip.simulate(model, ip.Dose(10, unit="nmol"), None, t_end=72, t_eval=t_eval)


def test_nca_refuses_a_dosing_interval_below_the_time_resolution():
    # tau = 1e-320 overflowed start / tau inside the "start is a whole number of tau"
    # check (OverflowError from round), and below it NCA ran with numpy overflow warnings
    t = np.array([0.0, 1.0, 2.0, 4.0])
    frame = pd.DataFrame({"time_h": t, "value": np.exp(-t)})
    for tau in (1e-320, 1e-10):
        with pytest.raises(ip.errors.OptionError, match="`tau` must be longer than the time"):
            ip.nca(frame, tau=tau, start=1.0)


# -- options that were silently ignored (probe of 2026-12-01) ------------------------

def test_options_that_do_not_apply_are_refused():
    t = np.array([0.0, 1.0, 2.0, 4.0])
    frame = pd.DataFrame({"time_h": t, "value": np.exp(-t)})
    with pytest.raises(ip.errors.OptionError, match="`start` .* needs `tau`"):
        ip.nca(frame, start=1.0)  # was ignored
    model = ip.Model.pk_only(compartments=1)
    dose = ip.Dose(1.0, unit="nmol")
    with pytest.raises(ip.errors.OptionError, match="`threshold` applies to metric "
                                                    "'time_above' only"):
        ip.dose_response(model, dose, None, doses=[1.0, 2.0], response="il21_plasma",
                         metric="auc", threshold=1.0, t_end=4.0, fit=None)
    with pytest.raises(ip.errors.OptionError, match="`at` applies to metric 'value_at'"):
        ip.dose_response(model, dose, None, doses=[1.0, 2.0], response="il21_plasma",
                         metric="cmax", at=2.0, t_end=4.0, fit=None)
    with pytest.raises(ip.errors.OptionError, match="`bounds` are the ranges of the global"):
        # the local method used the bounds' names and ignored their ranges
        ip.sensitivity(model, dose, None, outputs="il21_plasma", method="local",
                       bounds={"cl": (1.0, 10.0)}, t_end=4.0)


def test_read_csv_takes_a_trailing_comma_and_refuses_extra_fields(tmp_path):
    # a trailing comma on the data lines made pandas take the first column as the index,
    # shifting every column left (ID read as TIME, TIME as DV, ...)
    path = tmp_path / "trailing.csv"
    path.write_text("ID,TIME,AMT,EVID,DV,MDV\n1,0,10,1,.,1,\n1,1,0,0,2.0,0,\n"
                    "1,2,0,0,1.0,0,\n")
    obs = ip.read_csv(path, nonmem=True).observations
    assert obs["time_h"].tolist() == [1.0, 2.0]
    assert obs["value"].tolist() == [2.0, 1.0]
    # two empty fields, a blank one, and lines without: the same records
    path.write_text("ID,TIME,AMT,EVID,DV,MDV,\n1,0,10,1,.,1,,\n1,1,0,0,2.0,0, ,\n"
                    "1,2,0,0,1.0,0\n")
    again = ip.read_csv(path, nonmem=True).observations
    pd.testing.assert_frame_equal(again, obs)
    # an empty file: pandas' EmptyDataError escaped
    path.write_text("")
    with pytest.raises(ip.DataError, match="no column names: the file is empty"):
        ip.read_csv(path, regimen=ip.Dose(1.0))
    for lines in ("1,0,10,1,.,1,3\n1,1,0,0,2.0,0,7\n",  # 3 and 7 were dropped (a warning)
                  "1,0,10,1,.,1\n1,1,0,0,2.0,0,7\n"):  # pandas' ParserError escaped
        path.write_text("ID,TIME,AMT,EVID,DV,MDV\n" + lines)
        with pytest.raises(ip.DataError, match="the header's 6"):
            ip.read_csv(path, nonmem=True)
