from __future__ import annotations

import json
from datetime import date

import duckdb
import pandas as pd
import pytest

from sources.domains import DOMAINS
from sources.model import FileRefused
from sources.readers import PANDAS_DTYPES
from tests.sources.conftest import csv_bytes, open_in, read_all, registry_with, write_xlsx

LAB_HEADER = ["site_id", "subject_id", "sample_date", "test_code", "value", "unit", "ref_low", "ref_high"]

# One valid row per domain, in the spec's column order, site format defaults.
VALID = {
    "subjects": (["BJH", "BJH-001", "F", "1980", "2019-05-01", "2021-02-01"],
                 {"sex": "F", "birth_year": 1980, "diagnosis_date": date(2019, 5, 1)}),
    "dosing": (["BJH", "BJH-001", "2021-03-01", "", "25", "2"],
               {"start_date": date(2021, 3, 1), "end_date": None, "dose_mg": 25.0, "doses_per_day": 2}),
    "labs": (["BJH", "BJH-001", "2021-03-01", "PLT", "23", "10^9/L", "125", "350"],
             {"value": 23.0, "unit": "10^9/L", "ref_high": 350.0, "conversion_factor": 1.0}),
    "bleeding": (["BJH", "BJH-001", "2021-03-01", "2"], {"who_grade": 2}),
    "conmeds": (["BJH", "BJH-001", "Prednisone", "Glucocorticoid", "2021-02-01", "", "30", "mg"],
                {"drug_class": "glucocorticoid", "daily_dose": 30.0, "end_date": None}),
    "adverse_events": (["BJH", "BJH-001", "Headache", "2021-03-05", "", "1", "N", "y"],
                       {"ctcae_grade": 1, "serious": False, "related": True}),
    "disposition": (["BJH", "BJH-001", "withdrawn", "2021-06-01", "epidemic"],
                    {"status": "withdrawn", "reason": "epidemic"}),
}


@pytest.mark.parametrize("domain", list(DOMAINS))
def test_each_domain_reads_into_its_raw_table(read_csv, domain):
    cells, expected = VALID[domain]
    read = read_csv(f"BJH_{domain}_20210701.csv", csv_bytes(DOMAINS[domain].spec_columns, [cells]))
    assert read.errors == []
    assert list(read.rows.columns) == list(DOMAINS[domain].raw_columns())
    row = read.rows.iloc[0]
    for column, value in expected.items():
        assert (row[column] is pd.NA and value is None) or row[column] == value, column
    assert (row["source_file"], row["source_row"], row["export_date"], row["site_id"]) == (
        f"BJH_{domain}_20210701.csv", 2, date(2021, 7, 1), "BJH")
    assert row["source_sha256"] == read.reader.file.sha256
    assert {c: str(read.rows[c].dtype) for c in read.rows.columns} == {
        c: str(pd.Series([], dtype=PANDAS_DTYPES[t]).dtype) for c, t in DOMAINS[domain].raw_columns().items()}


@pytest.mark.parametrize("domain", list(DOMAINS))
def test_rows_insert_into_the_raw_ddl_as_the_loader_does(read_csv, domain):
    cells, _ = VALID[domain]
    read = read_csv(f"BJH_{domain}_20210701.csv", csv_bytes(DOMAINS[domain].spec_columns, [cells, cells]))
    cols = DOMAINS[domain].raw_columns()
    with duckdb.connect() as conn:
        conn.execute("CREATE SCHEMA raw")
        conn.execute(DOMAINS[domain].ddl())
        conn.register("chunk", read.rows)
        conn.execute(f"INSERT INTO raw.{domain} SELECT {', '.join(f'CAST({c} AS {t})' for c, t in cols.items())} "
                     "FROM chunk")
        assert conn.execute(f"SELECT count(*), count(source_row) FROM raw.{domain}").fetchone() == (2, 2)


@pytest.mark.parametrize("encoding, bom", [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("gb18030", b"")])
def test_encodings(read_csv, encoding, bom):
    header = DOMAINS["conmeds"].spec_columns
    content = bom + csv_bytes(header, [["BJH", "BJH-001", "Prednisone", "glucocorticoid", "2021-03-01", "", "", ""],
                                       ["BJH", "BJH-002", "醋酸泼尼松片", "glucocorticoid", "2021-03-01", "", "", ""]],
                              encoding=encoding)
    read = read_csv("BJH_conmeds_20210401.csv", content, encoding=encoding)
    assert read.errors == []
    assert list(read.rows["drug_name"]) == ["Prednisone", "醋酸泼尼松片"]
    assert read.reader.header_map["site_id"] == "site_id"  # the BOM is not part of the first header


def test_gb18030_with_chinese_header_aliases(read_csv):
    aliases = {"labs": {"site_id": "中心", "subject_id": "受试者编号", "sample_date": "采样日期",
                        "test_code": "项目", "value": "结果", "unit": "单位"}}
    content = csv_bytes(["中心", "受试者编号", "采样日期", "项目", "结果", "单位", "姓名"],
                        [["BJH", "BJH-001", "2021-03-01", "PLT", "<5", "10^9/L", "张三"]], encoding="gb18030")
    read = read_csv("BJH_labs_20210401.csv", content, encoding="gb18030", aliases=aliases)
    assert read.errors == []
    assert read.reader.dropped_columns == ["姓名"]
    row = read.rows.iloc[0]
    assert (row["value"], row["value_qualifier"], row["original_value"]) == (5.0, "<", "<5")
    assert read.reader.header_map["结果"] == "value"


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("decimal", [".", ","])
def test_delimiters_and_decimal_separators(read_csv, delimiter, decimal):
    quote = '"' if decimal == delimiter else ""
    content = csv_bytes(LAB_HEADER, [["BJH", "BJH-001", "2021-03-01", "HGB", f"{quote}1{decimal}5{quote}", "g/dL",
                                      f"{quote}11{decimal}5{quote}", "17"]], delimiter=delimiter)
    read = read_csv("BJH_labs_20210401.csv", content, delimiter=delimiter, decimal=decimal)
    assert read.errors == []
    row = read.rows.iloc[0]
    assert (row["value"], row["ref_low"], row["ref_high"], row["original_value"]) == (15.0, 115.0, 170.0, f"1{decimal}5")


@pytest.mark.parametrize("fmt, text", [("%Y-%m-%d", "2021-03-04"), ("%d.%m.%Y", "04.03.2021"),
                                        ("%Y/%m/%d", "2021/03/04"), ("%m/%d/%Y", "03/04/2021")])
def test_date_formats(read_csv, fmt, text):
    content = csv_bytes(DOMAINS["bleeding"].spec_columns, [["BJH", "BJH-001", text, "0"]])
    read = read_csv("BJH_bleeding_20210401.csv", content, date_format=fmt)
    assert list(read.rows["assessment_date"]) == [date(2021, 3, 4)]


def test_an_impossible_date_is_quarantined_not_guessed(read_csv):
    content = csv_bytes(DOMAINS["bleeding"].spec_columns, [["BJH", "BJH-001", "31.02.2021", "0"],
                                                           ["BJH", "BJH-001", "28.02.2021", "0"]])
    read = read_csv("BJH_bleeding_20210401.csv", content, date_format="%d.%m.%Y")
    assert len(read.rows) == 1
    error = read.error_at(2)
    assert error.check_name == "parse.date"
    assert error.reason == ('column assessment_date: "31.02.2021" is not a valid date in the site\'s format '
                            "dd.mm.yyyy (%d.%m.%Y): that day does not exist")
    assert error.raw_record == {"site_id": "BJH", "subject_id": "BJH-001", "assessment_date": "31.02.2021",
                                "who_grade": "0"}
    assert error.subject_id == "BJH-001"


def test_an_ambiguous_date_under_an_iso_site_is_an_error(read_csv):
    content = csv_bytes(DOMAINS["bleeding"].spec_columns, [["BJH", "BJH-001", "03/04/2021", "0"]])
    read = read_csv("BJH_bleeding_20210401.csv", content)
    assert read.rows.empty
    assert "is not a valid date in the site's format yyyy-mm-dd" in read.error_at(2).reason


def test_headers_ignore_case_and_surrounding_spaces(read_csv):
    content = csv_bytes([" SITE_ID", "Subject_Id ", "  Assessment_Date  ", "WHO_GRADE"],
                        [["BJH", "BJH-001", "2021-03-04", "1"]])
    read = read_csv("BJH_bleeding_20210401.csv", content)
    assert read.errors == [] and len(read.rows) == 1
    assert read.reader.header_map == {"SITE_ID": "site_id", "Subject_Id": "subject_id",
                                      "Assessment_Date": "assessment_date", "WHO_GRADE": "who_grade"}


def test_an_alias_and_the_canonical_name_both_work(read_csv):
    aliases = {"bleeding": {"who_grade": "Bleeding Score"}}
    by_alias = read_csv("BJH_bleeding_20210401.csv", csv_bytes(
        ["site_id", "subject_id", "assessment_date", " bleeding score "], [["BJH", "S1", "2021-03-04", "1"]]),
        aliases=aliases)
    by_name = read_csv("BJH_bleeding_20210402.csv", csv_bytes(
        DOMAINS["bleeding"].spec_columns, [["BJH", "S1", "2021-03-04", "1"]]), aliases=aliases)
    assert list(by_alias.rows["who_grade"]) == list(by_name.rows["who_grade"]) == [1]


def test_a_column_present_twice_after_aliases_refuses_the_file(read_csv):
    aliases = {"bleeding": {"who_grade": "score"}}
    content = csv_bytes(["site_id", "subject_id", "assessment_date", "who_grade", "Score"], [["BJH", "S1", "2021-03-04", "1", "1"]])
    with pytest.raises(FileRefused) as refused:
        read_csv("BJH_bleeding_20210401.csv", content, aliases=aliases)
    assert refused.value.reason == "duplicate columns: 'who_grade' (column 4) and 'Score' (column 5) are both who_grade"


def test_a_missing_required_column_is_named_with_the_headers_seen(read_csv):
    content = csv_bytes(["site_id", "subject_id", "date", "result", "unit"], [["BJH", "S1", "2021-03-04", "1", "g/L"]])
    with pytest.raises(FileRefused) as refused:
        read_csv("BJH_labs_20210401.csv", content, aliases={"labs": {"value": "结果"}})
    assert refused.value.reason == (
        "required column(s) missing for labs: sample_date, test_code, value; headers found: site_id, subject_id, "
        "date, result, unit (the site's declared aliases: value = '结果')")


def test_a_file_without_header_is_refused_without_echoing_its_first_row(read_csv):
    content = csv_bytes(["BJH", "Zhang San", "2021-03-04", "0"], [["BJH", "S1", "2021-03-04", "0"]])
    with pytest.raises(FileRefused) as refused:
        read_csv("BJH_bleeding_20210401.csv", content)
    assert refused.value.reason == ("no header row: the first row names none of the columns of bleeding "
                                    "(expected site_id, subject_id, assessment_date, who_grade)")


def test_missing_tokens_are_missing_values(read_csv):
    content = csv_bytes(DOMAINS["dosing"].spec_columns, [
        ["BJH", "S1", "2021-03-01", "NA", "25", "2"], ["BJH", "S2", "2021-03-01", "n/a", "25", "2"],
        ["BJH", "S3", "2021-03-01", "-", "25", "2"], ["BJH", "S4", "2021-03-01", ".", "25", "2"],
        ["BJH", "S5", "2021-03-01", "ND", "25", "2"], ["BJH", "S6", "2021-03-01", "", "ND", "2"],
    ])
    read = read_csv("BJH_dosing_20210401.csv", content)
    assert list(read.rows["end_date"]) == [None] * 5
    error = read.error_at(7)
    assert (error.check_name, error.reason) == ("required", 'column dose_mg: a value is required but the cell is empty ("ND")')


def test_every_problem_of_a_row_is_in_its_one_error(read_csv):
    content = csv_bytes(LAB_HEADER, [["SH", "S1", "2021-13-01", "PLT", "1.5", "10^9/L", "", ""]])
    read = read_csv("BJH_labs_20210401.csv", content, decimal=",")
    assert len(read.errors) == 1
    error = read.errors[0]
    assert error.check_name == "parse.date"
    assert error.reason.split("; ") == [
        'column sample_date: "2021-13-01" is not a valid date in the site\'s format yyyy-mm-dd (%Y-%m-%d)',
        'column value: "1.5" is not a number in this site\'s format: the decimal separator is "," and "." is '
        "not accepted (no thousands separators)",
        'column site_id: "SH" is not the site of the file name (BJH)',
    ]


def test_site_id_is_compared_ignoring_case_and_stored_as_the_file_site(read_csv):
    content = csv_bytes(DOMAINS["bleeding"].spec_columns, [["bjh", "S1", "2021-03-04", "0"], ["SH", "S2", "2021-03-04", "0"]])
    read = read_csv("BJH_bleeding_20210401.csv", content)
    assert list(read.rows["site_id"]) == ["BJH"]
    assert read.error_at(3).check_name == "site_id.mismatch"


def test_lab_units_qualifiers_and_conversion(read_csv):
    content = csv_bytes(LAB_HEADER, [
        ["BJH", "S1", "2021-03-01", "plt", "150000", "/uL", "125000", "350000"],
        ["BJH", "S1", "2021-03-01", "BUN", "14", "mg/dL", "", ""],
        ["BJH", "S1", "2021-03-01", "NEUT", "< 0.1", "x10^9/L", "", ""],
        ["BJH", "S1", "2021-03-01", "HGB", "12", "mg/L", "", ""],
        ["BJH", "S1", "2021-03-01", "PLAT", "12", "10^9/L", "", ""],
        ["BJH", "S1", "2021-03-01", "ALT", "<=40", "U/L", "", ""],
    ])
    read = read_csv("BJH_labs_20210401.csv", content)
    plt, bun, neut = (read.rows.iloc[i] for i in range(3))
    assert (plt["test_code"], plt["value"], plt["unit"], plt["ref_low"], plt["ref_high"], plt["conversion_factor"],
            plt["original_value"], plt["original_unit"]) == ("PLT", 150.0, "10^9/L", 125.0, 350.0, 0.001, "150000", "/uL")
    assert (bun["test_code"], bun["original_test_code"], bun["unit"], bun["value"]) == ("UREA", "BUN", "mmol/L", 4.998)
    assert (neut["value"], neut["value_qualifier"], neut["original_unit"]) == (0.1, "<", "x10^9/L")
    assert pd.isna(plt["value_qualifier"])
    assert read.error_at(5).check_name == "unit.unknown"
    assert read.error_at(5).reason == ('column unit: "mg/L" is not an accepted unit for HGB (accepted: g/L, g/dL, '
                                       "mmol/L; a site may declare its own spelling of one in the registry's "
                                       "unit_aliases)")
    assert read.error_at(6).check_name == "test_code.unknown"
    assert read.error_at(7).check_name == "parse.qualifier"


def test_the_sites_unit_aliases_convert_and_other_sites_spellings_do_not(read_csv):
    """site-exports.md §3-§4 (v1.1): built-in spellings for everyone, declared ones per site."""
    content = csv_bytes(LAB_HEADER, [
        ["BJH", "S1", "2021-03-01", "PLT", "85", "10^9个/L", "100", "300"],
        ["BJH", "S1", "2021-03-01", "WBC", "4.2", "THOU/uL", "3.5", "9.5"],
        ["BJH", "S1", "2021-03-01", "HGB", "12.5", "克/分升", "11.5", "17.5"],
        ["BJH", "S1", "2021-03-01", "HGB", "125", "10^9个/L", "", ""],
    ])
    declared = read_csv("BJH_labs_20210401.csv", content, unit_aliases={"10^9个/L": "GI/L", "克/分升": "g/dL"})
    assert [tuple(r) for r in declared.rows[["test_code", "value", "unit", "original_unit", "ref_low"]].itertuples(
        index=False)] == [("PLT", 85.0, "10^9/L", "10^9个/L", 100.0), ("WBC", 4.2, "10^9/L", "THOU/uL", 3.5),
                          ("HGB", 125.0, "g/L", "克/分升", 115.0)]
    assert declared.error_at(5).reason.startswith(
        'column unit: "10^9个/L" (the site\'s unit alias of 10^9/L) is not an accepted unit for HGB')
    plain = read_csv("BJH_labs_20210402.csv", content)
    assert [e.source_row for e in plain.errors] == [2, 4, 5]
    assert all(e.check_name == "unit.unknown" for e in plain.errors)


IDENTIFIERS = ["Zhang San", "13800138000", "1980-05-17", "MRN-778812"]


def test_identifying_columns_are_dropped_and_never_leave_the_reader(read_csv):
    header = ["site_id", "patient_name", "subject_id", "Phone", "sex", "birth_year", "date_of_birth",
              "enrollment_date", "hospital record no"]
    rows = [["BJH", IDENTIFIERS[0], "S1", IDENTIFIERS[1], "F", "1980", IDENTIFIERS[2], "2021-02-01", IDENTIFIERS[3]],
            ["BJH", IDENTIFIERS[0], "S2", IDENTIFIERS[1], "X", "1980", IDENTIFIERS[2], "2021-02-01", IDENTIFIERS[3]]]
    read = read_csv("BJH_subjects_20210401.csv", csv_bytes(header, rows))
    assert read.reader.dropped_columns == ["patient_name", "Phone", "date_of_birth", "hospital record no"]
    assert len(read.rows) == 1 and len(read.errors) == 1
    assert not set(read.rows.columns) & {"patient_name", "Phone", "date_of_birth"}
    everything = read.rows.to_json() + json.dumps([(e.reason, e.raw_record, e.subject_id) for e in read.errors])
    for identifier in IDENTIFIERS:
        assert identifier not in everything
    assert set(read.errors[0].raw_record) == set(DOMAINS["subjects"].spec_columns)


def test_a_value_beyond_the_header_is_a_misaligned_row(read_csv):
    content = csv_bytes(DOMAINS["conmeds"].spec_columns, [
        ["BJH", "S1", "Prednisone", " 5mg", "glucocorticoid", "2021-02-01", "", "30", "mg"],
        ["BJH", "S2", "Rituximab", "rituximab", "2021-02-01", "", "", "", "", ""],
    ])
    read = read_csv("BJH_conmeds_20210401.csv", content)
    error = read.error_at(2)
    assert error.check_name == "parse.row_shape"
    assert error.reason.startswith('the row has a value in column 9, beyond the 8 columns of the header: the row '
                                   'may be misaligned (a "," inside a value without quotes?)')
    assert list(read.rows["subject_id"]) == ["S2"]  # trailing empty cells are harmless


def test_blank_rows_are_not_data_rows_but_keep_row_numbers(read_csv):
    content = (b"site_id,subject_id,assessment_date,who_grade\n\nBJH,S1,2021-03-04,0\n , ,,\n"
               b"BJH,S2,2021-03-04,9\nBJH,S3,2021-03-04,1\n")
    read = read_csv("BJH_bleeding_20210401.csv", content, chunk_rows=1)
    assert list(read.rows["source_row"]) == [3, 6]
    assert [e.source_row for e in read.errors] == [5]
    assert read.reader.empty_rows == 2
    assert read.chunks == 3
    assert sum(len(c.rows) + len(c.errors) for c in read.reader) == 3  # rows read = accepted + errors


def test_chunks_add_up_to_the_same_rows(read_csv):
    rows = [["BJH", f"S{i}", "2021-03-04", str(i % 6)] for i in range(11)]
    content = csv_bytes(DOMAINS["bleeding"].spec_columns, rows)
    small = read_csv("BJH_bleeding_20210401.csv", content, chunk_rows=3)
    whole = read_csv("BJH_bleeding_20210402.csv", content)
    assert (small.chunks, whole.chunks) == (4, 1)
    assert len(small.rows) + len(small.errors) == 11
    assert len(small.errors) == 1  # who_grade 5
    pd.testing.assert_frame_equal(small.rows.drop(columns=["source_file", "export_date", "source_sha256"]),
                                  whole.rows.drop(columns=["source_file", "export_date", "source_sha256"]))


def test_a_header_only_file_has_no_rows(read_csv):
    read = read_csv("BJH_bleeding_20210401.csv", b"site_id,subject_id,assessment_date,who_grade\n")
    assert (read.chunks, len(read.rows), read.errors) == (1, 0, [])
    assert list(read.rows.columns) == list(DOMAINS["bleeding"].raw_columns())


@pytest.mark.parametrize("content, encoding, expected", [
    (b"", "utf-8", "the file is empty (0 bytes)"),
    (b"\n\n", "utf-8", "the first row is empty: the first row must be the header"),
    (b",,\nBJH,S1,1\n", "utf-8", "the first row is empty"),
    ("site_id,受试者\n".encode("gb18030"), "utf-8", "the file is not valid utf-8 text: byte(s) ca at byte offset 8 (line 1)"),
    ("\ufeffsite_id\n".encode("utf-8"), "gb18030", "starts with a UTF-8 byte-order mark"),
    ("site_id,subject_id\n".encode("utf-16"), "utf-8", "the file is UTF-16 text"),
    (b'site_id,"subject_id\n', "utf-8", "the file is not well-formed CSV near line 1"),
    (b"site_id,subject_id,assessment_date,who_grade\nBJH,S\x001,2021-03-04,0\n", "utf-8", "the file contains a NUL character (line 2)"),
])
def test_whole_file_problems_refuse_the_file(read_csv, content, encoding, expected):
    with pytest.raises(FileRefused) as refused:
        read_csv("BJH_bleeding_20210401.csv", content, encoding=encoding)
    assert expected in refused.value.reason


def test_a_bad_byte_deep_in_the_file_refuses_it_while_streaming(inbox, tmp_path):
    good = csv_bytes(DOMAINS["bleeding"].spec_columns, [["BJH", "S1", "2021-03-04", "0"]] * 3)
    (inbox / "BJH_bleeding_20210401.csv").write_bytes(good + b"BJH,S\xff,2021-03-04,0\n")
    reader = open_in(inbox, "BJH_bleeding_20210401.csv", registry_with(tmp_path), chunk_rows=2)
    chunks = iter(reader)
    assert len(next(chunks).rows) == 2  # streamed before the bad line was read
    offset = len(good) + len(b"BJH,S")
    with pytest.raises(FileRefused, match=rf"byte\(s\) ff at byte offset {offset} \(line 5\)"):
        list(chunks)


def test_broken_quoting_after_the_header_refuses_the_file(read_csv):
    content = b'site_id,subject_id,assessment_date,who_grade\nBJH,"S1"x,2021-03-04,0\n'
    with pytest.raises(FileRefused, match="not well-formed CSV near line 2"):
        read_csv("BJH_bleeding_20210401.csv", content)


def test_a_quoted_value_may_hold_the_delimiter_and_a_line_break(read_csv):
    content = (b'site_id,subject_id,drug_name,drug_class,start_date,end_date,daily_dose,dose_unit\n'
               b'BJH,S1,"Prednisone, 5mg\ntablets",glucocorticoid,2021-02-01,,30,mg\nBJH,S2,IVIG,ivig,2021-02-01,,,\n')
    read = read_csv("BJH_conmeds_20210401.csv", content)
    assert list(read.rows["drug_name"]) == ["Prednisone, 5mg\ntablets", "IVIG"]
    assert list(read.rows["source_row"]) == [2, 3]  # a record is one row, as a person sees it


def test_rows_read_equals_rows_plus_errors_on_a_mixed_file(read_csv):
    header = ["site_id", "subject_id", "onset_date", "serious", "ctcae_grade", "related", "ae_term"]
    rows = [["BJH", f"S{i}", "2021-02-30" if i % 3 == 0 else "2021-03-04", "N", "1", "", "" if i % 5 == 0 else "Rash"]
            for i in range(30)]
    read = read_csv("BJH_adverse_events_20210401.csv", csv_bytes(header, rows), chunk_rows=7)
    bad = [i for i in range(30) if i % 3 == 0 or i % 5 == 0]
    assert sorted(e.source_row for e in read.errors) == [i + 2 for i in bad]
    assert sorted(read.rows["source_row"]) == [i + 2 for i in range(30) if i not in bad]
    assert read.error_at(2).reason.split("; ") == [
        'column ae_term: a value is required but the cell is empty',
        'column onset_date: "2021-02-30" is not a valid date in the site\'s format yyyy-mm-dd (%Y-%m-%d): '
        "that day does not exist"]


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_a_reader_iterated_twice_reads_the_same_rows(tmp_path, inbox, ext):
    """The first iteration goes on from the header open_export read; a second one reopens."""
    rows = [["BJH", f"S{i}", "2021-03-04", str(i % 6)] for i in range(7)]
    name = f"BJH_bleeding_20210401.{ext}"
    if ext == "csv":
        (inbox / name).write_bytes(csv_bytes(DOMAINS["bleeding"].spec_columns, rows))
    else:
        write_xlsx(inbox / name, [DOMAINS["bleeding"].spec_columns, *rows])
    reader = open_in(inbox, name, registry_with(tmp_path), chunk_rows=3)
    first, second = read_all(reader), read_all(reader)
    assert first.chunks == second.chunks == 3
    assert len(first.rows) == 6 and [e.source_row for e in first.errors] == [7]  # who_grade 5
    pd.testing.assert_frame_equal(first.rows, second.rows)
    assert [e.reason for e in first.errors] == [e.reason for e in second.errors]
