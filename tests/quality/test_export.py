"""Site queries exported for coordinators: CSV (UTF-8 with BOM) or xlsx, formula injection
neutralised, numbers kept as numbers."""
from __future__ import annotations

import csv
from datetime import date

import pytest
from openpyxl import load_workbook

from quality.export import COLUMNS, write_site_queries
from quality.site_queries import update_site_queries
from tests.quality.loads import load_file

EXPORT = date(2021, 6, 30)
NASTY = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=2"]


@pytest.fixture
def queries(conn):
    rows = [{"subject_id": sid, "drug_name": "prednisone", "drug_class": "steroid", "start_date": date(2021, 1, 1)}
            for sid in NASTY]
    load_file(conn, "conmeds", "BJH", EXPORT, rows, load_id="L1")
    load_file(conn, "conmeds", "SHH", EXPORT, [{"subject_id": "SHH-001", "drug_name": "华法林", "drug_class": "x",
                                                "start_date": date(2021, 1, 1)}], load_id="L1")
    update_site_queries(conn, "L1")
    return conn


def test_csv_neutralises_formulas_and_keeps_chinese(queries, tmp_path):
    out = tmp_path / "queries.csv"
    assert write_site_queries(queries, out) == len(NASTY) + 1
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == COLUMNS
    bjh = sorted(r["subject_id"] for r in rows if r["site_id"] == "BJH")
    assert bjh == sorted("'" + v for v in NASTY)
    shh = [r for r in rows if r["site_id"] == "SHH"]
    assert shh[0]["message"].startswith("drug_class 'x' is not one of")
    assert write_site_queries(queries, tmp_path / "shh.csv", site="SHH") == 1
    assert write_site_queries(queries, tmp_path / "none.csv", status="resolved") == 0


def test_xlsx_has_no_formula_and_numbers_stay_numbers(queries, tmp_path):
    out = tmp_path / "queries.xlsx"
    assert write_site_queries(queries, out, site="BJH") == len(NASTY)
    sheet = load_workbook(out).active
    header = [c.value for c in sheet[1]]
    assert header == COLUMNS
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
    assert all(c.data_type != "f" for c in cells)
    subjects = sorted(row[header.index("subject_id")].value.replace("\r", "\n")
                      for row in sheet.iter_rows(min_row=2))
    # A carriage return comes back as a line feed when openpyxl writes through the standard
    # library's XML, as itself when it writes through lxml (installed since #15, for define.html):
    # either way the neutralising quote is what matters
    assert subjects == sorted("'" + v.replace("\r", "\n") for v in NASTY)
    source_rows = sorted(row[header.index("source_row")].value for row in sheet.iter_rows(min_row=2))
    assert source_rows == list(range(2, 2 + len(NASTY)))


def test_unknown_suffix_is_refused(conn, tmp_path):
    with pytest.raises(ValueError, match=".csv or .xlsx"):
        write_site_queries(conn, tmp_path / "queries.txt")
