"""`itp-warehouse adam` on the published demo warehouse (../shared/spec/adam.md): required
variables, types and labels; a write -> read round trip of every XPT file with two readers;
define.xml valid against the Define-XML 2.1 XSD; endpoints.md §9 counted again from the
package's files alone; the demo's Chinese adverse-event terms (Parquet written, XPT withheld,
exit 2, conformance.csv names the rows); and the bad inputs of adam.md §3."""
from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyreadstat
import pytest

from orchestration.adam.define import DefineError, validate_define
from orchestration.adam.metadata import adam_datasets
from orchestration.adam.reconcile import compare, recount
from orchestration.adam.xpt import SAS_EPOCH
from tests.adam.conftest import copy_home
from tests.conftest import cli
from tests.e2e.test_demo_cohort import assert_reproduces_section_9

# adam.md §2's starred variables, written out here (not read from the yml under test), with
# the ADaMIG type each must have.
REQUIRED = {
    "ADSL": "STUDYID USUBJID SUBJID SITEID SEX AGE AGEU TRT01P TRT01A TRTSDT TRTEDT TRTDURD SAFFL FASFL EOSSTT",
    "ADLB": "STUDYID USUBJID SITEID ASEQ PARAMCD PARAM PARAMN AVAL ADT ADY AVISIT AVISITN ABLFL BASE CHG "
            "ANRLO ANRHI ANRIND BNRIND ATOXGR ONTRTFL",
    "ADRS": "PARAMCD AVALC AVAL ADT AVISIT AVISITN",
    "ADTTE": "PARAMCD STARTDT ADT AVAL CNSR EVNTDESC",
    "ADAE": "STUDYID USUBJID SITEID AESEQ AETERM ASTDT ASTDY AETOXGR AESER TRTEMFL",
}
NUMERIC = {"AGE", "TRTSDT", "TRTEDT", "TRTDURD", "ASEQ", "PARAMN", "AVAL", "ADT", "ADY", "AVISITN", "BASE",
           "CHG", "ANRLO", "ANRHI", "STARTDT", "CNSR", "AESEQ", "ASTDT", "ASTDY"}
DATES = {"TRTSDT", "TRTEDT", "ADT", "STARTDT", "ASTDT"}
META = {ds.name: ds for ds in adam_datasets()}


def _table(home: Path, name: str) -> pd.DataFrame:
    ds = META[name]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        columns = {r[0] for r in conn.execute(f"DESCRIBE {ds.table}").fetchall()}
        order = ", ".join(k for k in ds.keys if k in columns)
        return conn.execute(f"SELECT * FROM {ds.table} ORDER BY {order}").df()


def _xpts(package) -> list[Path]:
    return sorted(package.out.glob("*.xpt"))


def _conformance(out: Path) -> list[dict[str, str]]:
    with open(out / "conformance.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _package_frames(out: Path) -> dict[str, pd.DataFrame]:
    """The datasets as a statistician reads them: the XPT files (pyreadstat) and, for a
    withheld one, its Parquet file. Empty text is missing, as in SAS."""
    frames = {}
    for path in sorted(out.glob("*.xpt")):
        frame, _ = pyreadstat.read_xport(str(path))
        frames[path.stem.upper()] = frame.replace({"": None})
    for path in sorted(out.glob("*.parquet")):
        frames[path.stem.upper()] = duckdb.sql(f"SELECT * FROM '{path}'").df()
    return frames


# ---------------------------------------------------------------- the demo package


def test_the_demo_package_is_written_with_adae_withheld(demo_package):
    assert demo_package.proc.returncode == 2, demo_package.proc.stdout + demo_package.proc.stderr
    names = {p.name for p in demo_package.out.iterdir()}
    assert {"adsl.xpt", "adlb.xpt", "adrs.xpt", "adtte.xpt", "adbleed.xpt", "define.xml", "define.html",
            "conformance.csv", "adae.parquet"} <= names
    assert "adae.xpt" not in names
    assert "adae.xpt withheld" in demo_package.proc.stdout


def test_conformance_names_every_chinese_adverse_event_row(demo_package):
    adae = duckdb.sql(f"SELECT * FROM '{demo_package.out / 'adae.parquet'}'").df()
    assert len(adae) == len(_table(demo_package.home, "ADAE"))
    chinese = {i + 1 for i, term in enumerate(adae["AETERM"]) if not term.isascii()}
    assert chinese, "the demo cohort's PKUPH site writes its AE terms in Chinese"
    named = {int(r["row"]) for r in _conformance(demo_package.out)
             if r["dataset"] == "ADAE" and r["variable"] == "AETERM" and r["rule"] == "ascii"}
    assert named == chinese
    row = next(r for r in _conformance(demo_package.out) if r["dataset"] == "ADAE")
    assert row["outcome"] == "XPT withheld, Parquet written"
    assert row["value"] == adae.loc[int(row["row"]) - 1, "AETERM"] and row["usubjid"].startswith("IGU-ITP-01-")


@pytest.mark.parametrize("name", list(REQUIRED))
def test_required_variables_types_and_labels(demo_package, name):
    path = demo_package.out / f"{name.lower()}.xpt"
    if path.exists():
        _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
        columns = meta.column_names
        types = meta.readstat_variable_types
        labels = meta.column_names_to_labels
        assert meta.table_name == name and meta.file_label == META[name].label
    else:  # ADAE of the demo: Parquet
        frame = duckdb.sql(f"SELECT * FROM '{demo_package.out / (name.lower() + '.parquet')}'").df()
        columns = list(frame.columns)
        types = {c: "double" if pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_datetime64_any_dtype(frame[c])
                 else "string" for c in columns}
        labels = {v.name: v.label for v in META[name].variables}
    required = REQUIRED[name].split()
    assert [v for v in required if v not in columns] == []
    for v in required:
        assert types[v] == ("double" if v in NUMERIC else "string"), v
    for v in META[name].variables:
        if v.name in columns:
            assert labels[v.name] == v.label and len(v.label) <= 40
    assert all(len(c) <= 8 and c == c.upper() for c in columns)


def test_dates_are_sas_dates_with_date9(demo_package):
    for path in _xpts(demo_package):
        _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
        for column in set(meta.column_names) & DATES:
            assert meta.original_variable_types[column] == "DATE9", (path.name, column)


@pytest.mark.parametrize("name", ["ADSL", "ADLB", "ADRS", "ADTTE", "ADBLEED"])
def test_xpt_round_trip_with_pyreadstat_and_pandas(demo_package, name):
    assert_round_trip(demo_package.home, demo_package.out, name)


def assert_round_trip(home: Path, out: Path, name: str) -> None:
    """The XPT file read back by pyreadstat and by pandas equals the adam table."""
    path = out / f"{name.lower()}.xpt"
    table = _table(home, name)
    by_readstat, _ = pyreadstat.read_xport(str(path))
    by_pandas = pd.read_sas(str(path), format="xport", encoding="ascii")
    assert list(by_readstat.columns) == list(by_pandas.columns) == [v.name for v in META[name].variables]
    assert len(by_readstat) == len(by_pandas) == len(table) > 0
    for v in META[name].variables:
        want = table[v.name]
        if v.type == "Char":
            expected = want.map(lambda x: "" if x is None or x is pd.NA else str(x)).tolist()
            assert by_readstat[v.name].tolist() == expected, v.name
            assert by_pandas[v.name].fillna("").tolist() == expected, v.name
            continue
        if v.is_date:
            expected_days = ((pd.to_datetime(want) - SAS_EPOCH).dt.days).astype("float64").to_numpy()
            got_dates = pd.to_datetime(by_readstat[v.name])
            assert ((got_dates - SAS_EPOCH).dt.days.to_numpy(dtype="float64") == expected_days)[~np.isnan(expected_days)].all()
            assert np.array_equal(np.isnan(expected_days), got_dates.isna().to_numpy()), v.name
            got_pandas = by_pandas[v.name].to_numpy(dtype="float64")
        else:
            expected_days = pd.to_numeric(want).astype("float64").to_numpy()
            assert np.allclose(by_readstat[v.name].to_numpy(dtype="float64"), expected_days, equal_nan=True,
                               rtol=1e-12, atol=0), v.name
            got_pandas = by_pandas[v.name].to_numpy(dtype="float64")
        # pandas' xport reader decodes 0 as 5.397605e-79 (shared/notes/clinical-reference.md)
        got_pandas = np.where(np.abs(got_pandas) < 1e-70, 0.0, got_pandas)
        assert np.allclose(got_pandas, expected_days, equal_nan=True, rtol=1e-12, atol=0), v.name


def test_define_xml_is_valid_define_21_and_describes_what_was_written(demo_package):
    define = demo_package.out / "define.xml"
    validate_define(define)
    text = define.read_text(encoding="utf-8")
    assert 'def:DefineVersion="2.1.0"' in text and "IGU-ITP-01" in text
    for ds in adam_datasets():
        file_name = f"{ds.file_stem}.xpt" if (demo_package.out / f"{ds.file_stem}.xpt").exists() else f"{ds.file_stem}.parquet"
        assert f'xlink:href="{file_name}"' in text, ds.name
        assert f'SASDatasetName="{ds.name}"' in text
    assert "admiral" in text and "birth year" in text and "MedDRA" in text   # what adam.md asks define.xml to say
    html = (demo_package.out / "define.html").read_text(encoding="utf-8")
    assert "ADSL" in html and "Subject-Level Analysis Dataset" in html and "IGU-ITP-01" in html


def test_an_invalid_define_xml_fails_the_schema(demo_package, tmp_path):
    broken = tmp_path / "define.xml"
    text = (demo_package.out / "define.xml").read_text(encoding="utf-8")
    broken.write_text(text.replace('<def:Class Name="SUBJECT LEVEL ANALYSIS DATASET"', '<def:Class Name="NOT A CLASS"'),
                      encoding="utf-8")
    with pytest.raises(DefineError):
        validate_define(broken)


def test_section_9_counted_from_the_package_alone_equals_endpoint_summary(demo_package):
    frames = _package_frames(demo_package.out)
    assert set(frames) == set(META)
    counts = recount(frames)
    with duckdb.connect(str(demo_package.home / "warehouse.duckdb"), read_only=True) as conn:
        summary = conn.execute("SELECT endpoint, timepoint, n, denominator FROM marts.endpoint_summary").df()
    assert compare(counts, summary) == []
    by_key = {(c.endpoint, c.timepoint): (c.n, c.denominator) for c in counts}
    assert_reproduces_section_9(by_key)
    reduced = {t: n for (e, t), (n, _) in by_key.items() if e == "conmed_reduced" and t != "month_3_to_6"}
    assert set(sorted(reduced, key=reduced.get, reverse=True)[:2]) == {"glucocorticoid_month_3_to_6",
                                                                       "rituximab_month_3_to_6"}


def test_the_adam_schema_holds_what_the_files_hold(demo_package):
    with duckdb.connect(str(demo_package.home / "warehouse.duckdb"), read_only=True) as conn:
        schema = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'adam'").fetchall()}
    assert schema == {ds.file_stem for ds in adam_datasets()}


# ---------------------------------------------------------------- bad input (adam.md §3)


def _alter(home: Path, *statements: str) -> None:
    with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
        for sql in statements:
            conn.execute(sql)


def test_missing_studyid_writes_nothing_and_exits_1(demo_home, tmp_path):
    home = copy_home(demo_home, tmp_path)
    _alter(home, "UPDATE adam.adsl SET STUDYID = NULL")
    out = tmp_path / "out"
    proc = cli("adam", "--home", str(home), "--out", str(out))
    assert proc.returncode == 1
    assert "STUDYID" in proc.stderr and "ITP_STUDY_ID" in proc.stderr
    assert not out.exists() or not any(out.iterdir())


def test_no_published_warehouse_exits_1(tmp_path):
    proc = cli("adam", "--home", str(tmp_path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 1 and "no published warehouse" in proc.stderr


def test_a_value_over_200_bytes_withholds_that_xpt_only(demo_home, tmp_path):
    home = copy_home(demo_home, tmp_path)
    _alter(home, "UPDATE adam.adsl SET DCSREAS = repeat('X', 201) WHERE USUBJID = (SELECT min(USUBJID) FROM adam.adsl)")
    out = tmp_path / "out"
    proc = cli("adam", "--home", str(home), "--out", str(out))
    assert proc.returncode == 2
    assert (out / "adsl.parquet").exists() and not (out / "adsl.xpt").exists() and (out / "adlb.xpt").exists()
    rows = [r for r in _conformance(out) if r["dataset"] == "ADSL"]
    assert [(r["rule"], r["variable"], r["row"]) for r in rows] == [("length_200", "DCSREAS", "1")]


def test_ascii_only_data_write_every_xpt_and_exit_0(demo_home, tmp_path):
    home = copy_home(demo_home, tmp_path)
    _alter(home, "UPDATE adam.adae SET AETERM = 'ADVERSE EVENT' WHERE NOT AETERM ~ '^[ -~]*$'",
           "UPDATE adam.adcm SET CMTRT = 'DRUG' WHERE NOT CMTRT ~ '^[ -~]*$'",
           "UPDATE adam.adcm SET CMDOSU = 'mg' WHERE NOT CMDOSU ~ '^[ -~]*$'")
    out = tmp_path / "out"
    proc = cli("adam", "--home", str(home), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {p.name for p in out.glob("*.xpt")} == {f"{ds.file_stem}.xpt" for ds in adam_datasets()}
    assert not list(out.glob("*.parquet")) and _conformance(out) == []
    for name in ("ADAE", "ADCM"):   # the two the demo withholds: their XPT files read back too
        assert_round_trip(home, out, name)


@pytest.mark.parametrize("statement, dataset, rule", [
    # a second baseline record for one subject and parameter
    # (adam.adlb is a view of intermediate.int_lab_results_analysed)
    ("""UPDATE intermediate.int_lab_results_analysed SET ABLFL = 'Y' WHERE ABLFL IS NULL AND PARAMCD = 'PLT'
        AND USUBJID = (SELECT min(USUBJID) FROM adam.adlb WHERE ABLFL = 'Y' AND PARAMCD = 'PLT')""", "ADLB", "one_baseline"),
    # a study day 0 (adam.adrs is a view of intermediate.int_platelet_responses_analysed)
    ("""UPDATE intermediate.int_platelet_responses_analysed SET ADY = 0 WHERE ADY IS NOT NULL
        AND USUBJID = (SELECT min(USUBJID) FROM adam.adrs WHERE ADY IS NOT NULL)""", "ADRS", "study_day"),
    # a censored record whose AVAL no longer is ADT - STARTDT
    ("UPDATE adam.adtte SET AVAL = AVAL + 1 WHERE USUBJID = (SELECT min(USUBJID) FROM adam.adtte)", "ADTTE",
     "aval_is_adt_minus_startdt"),
    # an AE lost: the ADaM counts no longer equal marts.endpoint_summary
    ("DELETE FROM adam.adae WHERE USUBJID = (SELECT min(USUBJID) FROM adam.adae WHERE TRTEMFL = 'Y')", "ADAE",
     "reconciliation"),
], ids=["two_baselines", "day_0", "duration", "lost_event"])
def test_a_broken_structure_rule_writes_nothing_for_that_dataset(demo_home, tmp_path, statement, dataset, rule):
    home = copy_home(demo_home, tmp_path)
    _alter(home, statement)
    out = tmp_path / "out"
    proc = cli("adam", "--home", str(home), "--out", str(out))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    stem = dataset.lower()
    assert not (out / f"{stem}.xpt").exists() and not (out / f"{stem}.parquet").exists()
    assert f"{dataset} not written" in proc.stdout
    assert any(r["dataset"] == dataset and r["rule"] == rule and r["outcome"] == "dataset not written"
               for r in _conformance(out))
    assert (out / "adsl.xpt").exists() and f'SASDatasetName="{dataset}"' not in (out / "define.xml").read_text()


def test_the_demo_writes_the_package_and_says_where_in_one_line(demo_home):
    lines = [line for line in (demo_home / "demo_stdout.txt").read_text().splitlines() if "ADaM" in line]
    assert lines == [lines[0]] and lines[0].startswith(f"ADaM package: {demo_home.resolve() / 'adam'} (")
    assert (demo_home / "adam" / "adsl.xpt").exists() and (demo_home / "adam" / "define.xml").exists()
