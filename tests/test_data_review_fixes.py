"""Data-input fixes from the second review of the data layer: '#' records in NONMEM
files, the dose column with a {subject: Regimen} mapping, datetime/timedelta/complex
columns, and observations told apart by CMT without a DVID column."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

import il21pk as ip
from il21pk.errors import DataError

CLEAN = ("ID,TIME,AMT,EVID,CMT,DV\n"
         "1,0,30,1,2,.\n"
         "1,1,0,0,2,3.0\n"
         "1,2,0,0,2,0.3\n"
         "2,0,30,1,2,.\n"
         "2,1,0,0,2,2.8\n")


def _assert_same_dataset(got: ip.Dataset, expected: ip.Dataset) -> None:
    assert got.subjects == expected.subjects
    pd.testing.assert_frame_equal(got.observations, expected.observations)
    assert got.regimens == expected.regimens


def test_nonmem_records_commented_out_with_hash_are_skipped(tmp_path):
    """NM-TRAN skips a record whose first non-blank character is '#' (IGNORE=#); it was
    read as a subject '#1' and every ID became text."""
    clean = tmp_path / "clean.csv"
    clean.write_text(CLEAN)
    lines = CLEAN.splitlines()
    commented = "\n".join(lines[:4] + ["#1,4,0,0,2,99",  # an outlier taken out
                                       "  # checked 2024-01-02, by JD, see memo, 7, 8, 9",
                                       "#"] + lines[4:]) + "\n"
    hashed = tmp_path / "hash.csv"
    hashed.write_text(commented)
    expected = ip.read_csv(clean, nonmem=True)
    assert expected.subjects == [1, 2]
    assert expected.observations["value"].tolist() == [3.0, 0.3, 2.8]
    _assert_same_dataset(ip.read_csv(hashed, nonmem=True), expected)
    packed = tmp_path / "hash.csv.gz"
    packed.write_bytes(gzip.compress(commented.encode()))
    _assert_same_dataset(ip.read_csv(packed, nonmem=True), expected)


def test_nonmem_header_commented_with_hash_names_the_columns(tmp_path):
    """A header written '#ID,TIME,...' (after other comment lines, or none) names the
    columns; it was read as a column '#ID' and the file was refused for lacking ID."""
    clean = tmp_path / "clean.csv"
    clean.write_text(CLEAN)
    expected = ip.read_csv(clean, nonmem=True)
    for header in ("#ID,TIME,AMT,EVID,CMT,DV", "# exported by X\n# ID,TIME,AMT,EVID,CMT,DV",
                   "# exported by X\nID,TIME,AMT,EVID,CMT,DV"):
        path = tmp_path / "header.csv"
        path.write_text(header + "\n" + CLEAN.split("\n", 1)[1])
        _assert_same_dataset(ip.read_csv(path, nonmem=True), expected)
    path.write_text("# exported by X\n\n#1,0,30,1,2,.\n")
    with pytest.raises(DataError, match=r"header.csv: no column names: every line is blank "
                                        r"or a '#' comment"):
        ip.read_csv(path, nonmem=True)


def test_plain_csv_comment_lines_are_refused_not_read(tmp_path):
    """A '#' line in a plain CSV was read as a record ("row 1: unknown variable nan") or,
    before the header, as the only column name; either now says what it is."""
    body = "subject,time_h,variable,value,unit\n1,1,il21_plasma,2.0,nM\n"
    inside = tmp_path / "inside.csv"
    inside.write_text(body + "# repeat sample\n1,2,il21_plasma,1.0,nM\n")
    with pytest.raises(DataError, match=r"inside.csv: data row 2 starts with '#' \('# repeat "
                                        r"sample.*no comment lines; remove them"):
        ip.read_csv(inside)
    above = tmp_path / "above.csv"
    above.write_text("# exported 2026-11-30\n" + body)
    with pytest.raises(DataError, match=r"above.csv: the header starts with '#'"):
        ip.read_csv(above)
    plain = tmp_path / "plain.csv"
    plain.write_text(body)
    assert len(ip.read_csv(plain, regimen=ip.Dose(10.0)).observations) == 1


def test_nonmem_data_without_records_are_refused(tmp_path):
    """A header and nothing else (every record commented out) crashed with IndexError."""
    path = tmp_path / "empty.csv"
    path.write_text("ID,TIME,AMT,EVID,CMT,DV\n#1,0,30,1,2,.\n")
    columns = r"\['ID', 'TIME', 'AMT', 'EVID', 'CMT', 'DV'\]"
    with pytest.raises(DataError, match=rf"NONMEM data have no records \(rows\); got only the "
                                        rf"columns {columns}"):
        ip.read_csv(path, nonmem=True)
    with pytest.raises(ip.RegimenError, match=rf"no records \(rows\); got only the columns "
                                              rf"{columns}"):
        ip.Regimen.from_nonmem(pd.DataFrame(columns=["ID", "TIME", "AMT", "EVID", "CMT", "DV"]))


def test_dose_column_sets_the_doses_of_a_mapped_regimen():
    """dose=<column> was ignored when `regimen` was a {subject: Regimen} mapping
    (amounts 1 and 1 instead of 10 and 30)."""
    df = pd.DataFrame({"ID": [1, 1, 2, 2], "t": [1, 2, 1, 2], "conc": [1.0, 0.5, 3.0, 1.5],
                       "Dose": [10, 10, 30, 30]})
    once = ip.Regimen.single(ip.Dose(1, unit="nmol"))
    daily = ip.Regimen.repeat(ip.Dose(1, unit="nmol"), every=24.0, count=3)
    mapping = {1: once, 2: daily}
    data = ip.Dataset.from_frame(df, time="t", value="conc", variable="il21_plasma",
                                 subject="ID", regimen=mapping, dose="Dose")
    assert data.regimens == {1: ip.Regimen.single(ip.Dose(10.0, unit="nmol")),
                             2: ip.Regimen.repeat(ip.Dose(30.0, unit="nmol"), every=24.0,
                                                  count=3)}
    assert mapping == {1: once, 2: daily}  # the user's mapping is not changed
    mixed = ip.Regimen((ip.Dose(1, unit="nmol"), ip.Dose(2, unit="nmol", time=24.0)))
    with pytest.raises(DataError, match=r"in subject 2's regimen the doses differ \(1 nmol, "
                                        r"2 nmol\), which would be lost"):
        ip.Dataset.from_frame(df, time="t", value="conc", variable="il21_plasma",
                              subject="ID", regimen={1: once, 2: mixed}, dose="Dose")


_HOURS = pd.to_timedelta([1, 2, 4], unit="h")
_CONSTANT = pd.to_timedelta([70, 70, 70], unit="s")  # a valid amount were it a number


@pytest.mark.parametrize(("column", "values", "dtype"), [
    ("time", _HOURS, "timedelta64"),
    ("time", pd.Timestamp("2024-01-01") + _HOURS, "datetime64"),
    ("time", pd.Timestamp("2024-01-01", tz="UTC") + _HOURS, "datetime64"),
    ("time", np.array([1, 2, 4], dtype=complex), "complex128"),
    ("value", np.array([1.0, 0.5, 0.2 + 1j]), "complex128"),
    ("lloq", _CONSTANT, "timedelta64"),
    ("Dose", _CONSTANT, "timedelta64"),
    ("WT", _CONSTANT, "timedelta64"),
])
def test_from_frame_refuses_datetime_timedelta_and_complex_columns(column, values, dtype):
    """A timedelta time column was read as nanoseconds (time 3.6e9 h), a complex value
    lost its imaginary part; each is refused naming the column, its dtype and a fix."""
    df = pd.DataFrame({"time": [1.0, 2.0, 4.0], "value": [1.0, 0.5, 0.2],
                       "lloq": [0.1, 0.1, 0.1], "Dose": [30.0] * 3, "WT": [70.0] * 3})
    df[column] = values
    before = df.copy()
    with pytest.raises(DataError, match=rf"column '{column}' \(.+\) must hold plain real "
                                        rf"numbers; got dtype {dtype}"):
        ip.Dataset.from_frame(df, time="time", subject=None, variable="il21_plasma", lloq="lloq",
                              dose="Dose", covariates={"WT": "body_weight"},
                              regimen=ip.Dose(1.0))
    pd.testing.assert_frame_equal(df, before)


def test_time_errors_say_how_to_convert_and_the_conversion_reads_exactly():
    df = pd.DataFrame({"time": _HOURS, "value": [1.0, 0.5, 0.2]})
    with pytest.raises(DataError, match=r"df\['time'\]\.dt\.total_seconds\(\) / 3600 for hours"):
        ip.Dataset.from_frame(df, time="time", subject=None, variable="il21_plasma",
                              regimen=ip.Dose(1.0))
    hours = df.assign(time=df["time"].dt.total_seconds() / 3600)
    data = ip.Dataset.from_frame(hours, time="time", subject=None, variable="il21_plasma",
                                 regimen=ip.Dose(1.0))
    assert data.observations["time_h"].tolist() == [1.0, 2.0, 4.0]


def test_nonmem_wt_of_timedelta_dtype_is_refused():
    """WT went through as_floats unchecked: a timedelta weight became nanoseconds."""
    df = pd.DataFrame({"ID": [1, 1], "TIME": [0.0, 1.0], "AMT": [30.0, 0.0], "EVID": [1, 0],
                       "DV": [np.nan, 1.0], "WT": pd.to_timedelta([70, 70], unit="s")})
    with pytest.raises(DataError, match=r"column 'WT' \(covariate body_weight\) must hold "
                                        r"plain real numbers; got dtype timedelta64"):
        ip.Dataset.from_nonmem(df)


def test_observations_with_several_cmt_and_no_dvid_are_refused():
    """Without a DVID column every observation is DVID 1: rows measured in CMT 1, 2 and 4
    all became il21_plasma in silence."""
    df = pd.DataFrame({"ID": [1, 1, 1, 1], "TIME": [0, 1, 1, 2], "AMT": [30, 0, 0, 0],
                       "EVID": [1, 0, 0, 0], "CMT": [2, 1, 2, 4], "DV": [".", 0.5, 250.0, 12.0]})
    before = df.copy()
    with pytest.raises(DataError, match=r"no DVID column, so every observation is DVID 1 "
                                        r"\(il21_plasma\), but the observation rows have CMT "
                                        r"1, 2, 4: .* add a DVID column .*\{1: 'il21_plasma', "
                                        r"2: 'nk_blood', 3: 'cd8_blood', 4: 'ifng_plasma'\}"):
        ip.Dataset.from_nonmem(df)
    pd.testing.assert_frame_equal(df, before)
    # with DVID the rows are told apart; one CMT (or a missing one, ".") needs no DVID
    named = ip.Dataset.from_nonmem(df.assign(DVID=[".", 1, 2, 4]))
    assert named.observations["variable"].tolist() == ["il21_plasma", "nk_blood",
                                                       "ifng_plasma"]
    same = ip.Dataset.from_nonmem(df.assign(CMT=[1, 2, ".", 2]))
    assert same.observations["variable"].tolist() == ["il21_plasma"] * 3
    assert same.observations["value"].tolist() == [0.5, 250.0, 12.0]
