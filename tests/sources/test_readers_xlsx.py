from __future__ import annotations

import zipfile
from datetime import date, datetime

import pytest

from sources.domains import DOMAINS
from sources.model import FileRefused
from tests.sources.conftest import open_in, read_all, registry_with, write_xlsx

LAB_HEADER = ["site_id", "subject_id", "sample_date", "test_code", "value", "unit", "ref_low", "ref_high"]


def read_xlsx(tmp_path, inbox, rows, name="BJH_labs_20210401.xlsx", **settings):
    write_xlsx(inbox / name, rows)
    return read_all(open_in(inbox, name, registry_with(tmp_path, **settings)))


def test_date_cells_text_dates_and_numeric_cells(tmp_path, inbox):
    rows = [
        [" Site_ID", "SUBJECT_ID", "sample_date", "test_code", "value", "unit", "ref_low", "ref_high", "Patient Name"],
        ["BJH", "S1", date(2021, 3, 4), "PLT", 1.5, "10^9/L", 125, 350, "Li Si"],
        None,  # a blank sheet row: not data, but row numbers stay the sheet's
        ["BJH", "S2", datetime(2021, 3, 5, 14, 30), "HGB", "1,5", "g/dL", "11,5", 17.5, "Li Si"],
        ["BJH", "S3", "06.03.2021", "CREAT", "<44", "umol/L", None, None, "Li Si"],
        ["BJH", 4, "2021-03-07", "WBC", 2, "10^9/L", None, None, None],
    ]
    read = read_xlsx(tmp_path, inbox, rows, decimal=",", date_format="%d.%m.%Y")
    assert read.reader.dropped_columns == ["Patient Name"]
    assert list(read.rows["source_row"]) == [2, 4, 5]
    assert list(read.rows["sample_date"]) == [date(2021, 3, 4), date(2021, 3, 5), date(2021, 3, 6)]
    # numeric cells are numbers (no decimal-comma parsing); text cells follow the site's decimal
    assert list(read.rows["value"]) == [1.5, 15.0, 44.0]
    assert list(read.rows["original_value"]) == ["1.5", "1,5", "<44"]
    assert list(read.rows["ref_low"])[:2] == [125.0, 115.0]
    assert list(read.rows["value_qualifier"])[2] == "<"
    error = read.error_at(6)
    assert error.reason == ('column sample_date: "2021-03-07" is not a valid date in the site\'s format '
                            "dd.mm.yyyy (%d.%m.%Y)")
    assert error.raw_record["subject_id"] == "4" and error.raw_record["value"] == "2"
    assert "Li Si" not in str(read.rows.to_dict()) + str(read.errors)


def test_native_cells_in_every_kind_of_column(tmp_path, inbox):
    rows = [DOMAINS["adverse_events"].spec_columns,
            ["BJH", "S1", "Rash", date(2021, 3, 4), None, 2.0, "y", True],
            ["BJH", "S2", "Rash", 44259, None, 2.5, False, None]]
    read = read_xlsx(tmp_path, inbox, rows, name="BJH_adverse_events_20210401.xlsx")
    row = read.rows.iloc[0]
    assert (row["onset_date"], row["ctcae_grade"], row["serious"], row["related"]) == (date(2021, 3, 4), 2, True, True)
    assert read.error_at(3).reason.split("; ") == [
        'column onset_date: "44259" is a number, not a date: format the cell as a date or write it as '
        "yyyy-mm-dd (%Y-%m-%d)",
        'column ctcae_grade: "2.5" is not a whole number',
    ]


def test_the_header_must_be_the_sheet_first_row(tmp_path, inbox):
    with pytest.raises(FileRefused, match="the first row is empty"):
        read_xlsx(tmp_path, inbox, [None, LAB_HEADER, ["BJH", "S1", date(2021, 3, 4), "PLT", 1, "10^9/L"]])


def test_an_empty_first_sheet_is_refused_naming_the_sheet_that_has_data(tmp_path, inbox):
    """write_xlsx puts a second sheet "ignored" with cells: the reason points at it."""
    with pytest.raises(FileRefused, match=r'first sheet is empty, and the data seem to be on another sheet: '
                                          r'"ignored" \(sheet 2\); the warehouse reads the first sheet only'):
        read_xlsx(tmp_path, inbox, [])


def test_an_empty_workbook_is_refused(tmp_path, inbox):
    import openpyxl
    openpyxl.Workbook().save(inbox / "BJH_labs_20210401.xlsx")
    with pytest.raises(FileRefused, match="the file has no rows"):
        open_in(inbox, "BJH_labs_20210401.xlsx", registry_with(tmp_path))


@pytest.mark.parametrize("content", [b"site_id,subject_id\nBJH,S1\n", b"PK\x03\x04 not really a zip"])
def test_text_or_junk_named_xlsx_is_refused(tmp_path, inbox, content):
    (inbox / "BJH_labs_20210401.xlsx").write_bytes(content)
    with pytest.raises(FileRefused, match="not a valid xlsx workbook"):
        open_in(inbox, "BJH_labs_20210401.xlsx", registry_with(tmp_path))


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path, inbox):
    with zipfile.ZipFile(inbox / "BJH_labs_20210401.xlsx", "w") as z:
        z.writestr("data.csv", "site_id\n")
    with pytest.raises(FileRefused, match=r"not a valid xlsx workbook \(KeyError"):
        open_in(inbox, "BJH_labs_20210401.xlsx", registry_with(tmp_path))


def test_rows_read_equals_rows_plus_errors(tmp_path, inbox):
    rows = [LAB_HEADER] + [["BJH", f"S{i}", date(2021, 3, 4), "PLT" if i % 4 else "XYZ", i, "10^9/L", None, None]
                           for i in range(20)]
    write_xlsx(inbox / "BJH_labs_20210401.xlsx", rows)
    reader = open_in(inbox, "BJH_labs_20210401.xlsx", registry_with(tmp_path), chunk_rows=6)
    chunks = list(reader)
    assert len(chunks) == 4
    assert sum(c.rows_read for c in chunks) == 20
    assert sum(len(c.errors) for c in chunks) == 5
