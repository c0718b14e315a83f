"""Issue 20's hostile deliveries through the real reader and intake, into real DuckDB files: each
case is built from its file content and asserts the outcome of site-exports.md v1.2 and the
reason's wording. The loads through the CLI (holds, release, faults) are in test_hostile_loads.py."""
from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from quality import site_queries
from ingest.intake import ingest_inbox, prepare_warehouse
from sources.bounds import ReadLimits
from sources.inbox import discover
from sources.model import FileRefused
from sources.naming import parse_file_name
from sources.readers import open_export
from sources.registry import RegistryError, load_registry
from tests.conftest import write_csv
from tests.hostile import deliveries as d
from tests.privacy.leaks import values_containing

NOW = datetime(2021, 6, 1, 12)


@pytest.fixture
def site(tmp_path):
    (tmp_path / "sites.yaml").write_text(d.REGISTRY)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return tmp_path, inbox, load_registry(tmp_path / "sites.yaml")


def ingest(tmp_path: Path, inbox: Path, registry, load_id: str = "L1") -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    prepare_warehouse(conn)
    ingest_inbox(conn, inbox, registry, load_id, NOW)
    return conn


def manifest(conn, path: str) -> tuple:
    return conn.execute("SELECT status, reason, rows_read, rows_accepted, rows_quarantined FROM quality.file_manifest "
                        "WHERE file_path = ?", [path]).fetchone()


def quarantined(conn) -> dict[int, tuple[str, str, str, str]]:
    return {row[0]: row[1:] for row in conn.execute(
        "SELECT source_row, check_name, reason, subject_id, raw_record FROM quality.quarantine ORDER BY 1").fetchall()}


# --- 1. garbled text ----------------------------------------------------------------------

def test_a_utf8_file_at_a_gb18030_site_is_refused_naming_both_encodings(site):
    root, inbox, registry = site
    rows = [["GBS", "GBS-001", "华法林片", "other", "2021-03-01", "", "", ""]]
    write_csv(inbox / "GBS_conmeds_20210401.csv", d.CONMEDS, rows, encoding="utf-8")
    write_csv(inbox / "GBS_conmeds_20210402.csv", d.CONMEDS, rows, encoding="gb18030")   # control
    conn = ingest(root, inbox, registry)
    status, reason, *counts = manifest(conn, "GBS_conmeds_20210401.csv")
    assert status == "refused" and counts == [0, 0, 0]
    assert reason.startswith("the file is UTF-8 text, but the site's declared encoding is GB18030: read as GB18030 "
                             "its Chinese text would turn into other characters")
    assert manifest(conn, "GBS_conmeds_20210402.csv")[0] == "loaded"
    assert conn.execute("SELECT drug_name FROM raw.conmeds").fetchall() == [("华法林片",)]


def test_a_utf8_header_at_a_gb18030_site_is_refused_for_its_encoding_not_missing_columns(site):
    root, inbox, registry = site
    header = ["site_id", "subject_id", "采样日期", "test_code", "value", "unit"]
    write_csv(inbox / "GBS_labs_20210401.csv", header, [["GBS", "GBS-001", "2021-02-01", "PLT", "50", "10^9/L"]])
    status, reason, *_ = manifest(ingest(root, inbox, registry), "GBS_labs_20210401.csv")
    assert status == "refused"
    assert "UTF-8 text, but the site's declared encoding is GB18030" in reason
    assert "required column" not in reason


# --- 2. look-alike subject ids and an orphan ----------------------------------------------

def test_look_alike_ids_are_row_errors_never_new_subjects_and_an_orphan_opens_a_site_query(site):
    root, inbox, registry = site
    d.subjects(inbox, "WXR", ["WXR-001", "WXR-003", "WXR-004", "WXR-005"])
    rows = [d.lab_row("WXR", "WXR-001", 1)] + [d.lab_row("WXR", s, 2) for s in d.LOOK_ALIKES] + [
        d.lab_row("WXR", d.ORPHAN, 3), d.lab_row("WXR", d.ORPHAN, 4)]
    write_csv(inbox / "WXR_labs_20210401.csv", d.LABS, rows)
    conn = ingest(root, inbox, registry)
    assert manifest(conn, "WXR_labs_20210401.csv")[2:] == (6, 3, 3)
    held = quarantined(conn)
    for number, look_alike in zip((3, 4, 5), d.LOOK_ALIKES):
        check, reason = d.LOOK_ALIKES[look_alike]
        assert held[number][0] == check
        assert re.search("column subject_id: " + reason, held[number][1]), held[number][1]
    # never normalised into another subject: the three real subjects have no lab row
    assert conn.execute("SELECT DISTINCT subject_id FROM raw.labs ORDER BY 1").fetchall() == [("WXR-001",), (d.ORPHAN,)]

    site_queries.update_site_queries(conn, "L1")
    orphan = conn.execute("SELECT subject_id, domain, status, message FROM quality.site_query "
                          "WHERE check_name = 'subject_id.orphan'").fetchall()
    assert orphan == [(d.ORPHAN, "labs", "open",
                       "subject WXR-009 has 2 labs rows (rows 6, 7 of WXR_labs_20210401.csv) but is not in the "
                       "site's current subjects export (WXR_subjects_20210401.csv); the rows are kept and left out "
                       "of the study's tables until it is: add the subject to the subjects export, or correct the "
                       "subject_id")]
    # the next subjects snapshot lists the subject: the query resolves, the rows stay
    d.subjects(inbox, "WXR", ["WXR-001", "WXR-003", "WXR-004", "WXR-005", d.ORPHAN], export="20210501")
    ingest_inbox(conn, inbox, registry, "L2", NOW)
    site_queries.update_site_queries(conn, "L2")
    assert conn.execute("SELECT status, resolved_load_id FROM quality.site_query "
                        "WHERE check_name = 'subject_id.orphan'").fetchall() == [("resolved", "L2")]


def test_a_subject_id_pattern_that_is_not_a_regular_expression_is_a_registry_error(tmp_path):
    (tmp_path / "sites.yaml").write_text('sites:\n  WXR:\n    subject_id_pattern: "WXR-[0-9"\n')
    with pytest.raises(RegistryError, match=r"site 'WXR': subject_id_pattern 'WXR-\[0-9': is not a valid regular "
                                            r"expression \(unterminated character set"):
        load_registry(tmp_path / "sites.yaml")


# --- 3. identifiers in shifted cells ------------------------------------------------------

def test_identifiers_in_shifted_cells_are_refused_and_masked_in_every_stored_copy(site):
    root, inbox, registry = site
    d.subjects(inbox, "WXR", ["WXR-001"])
    header = d.LABS[:2] + ["id_number"] + d.LABS[2:] + ["phone"]
    good = [["WXR", "WXR-001", "x", f"2021-02-{i:02d}", "PLT", "150", "10^9/L", "125", "350", "y"] for i in (1, 2)]
    # the row lost its subject_id cell: everything after site_id moved one column left
    write_csv(inbox / "WXR_labs_20210401.csv", header, good + [d.shifted_row()])
    conn = ingest(root, inbox, registry)
    assert manifest(conn, "WXR_labs_20210401.csv")[2:] == (3, 2, 1)
    check, reason, subject_id, raw_record = quarantined(conn)[4]
    assert check == "identifier.direct"
    assert reason.startswith("column subject_id: the cell holds what looks like a resident ID number (shown masked): "
                             "a patient's direct identifiers are never stored; if the row's cells are shifted")
    record = json.loads(raw_record)
    assert record["subject_id"] == "[masked resident ID number]"
    site_queries.update_site_queries(conn, "L1")
    assert conn.execute("SELECT count(*) FROM quality.site_query WHERE row_key LIKE '%masked%' OR "
                        "subject_id LIKE '%masked%'").fetchone()[0] >= 1
    # positive control, then the needles: nowhere in any table in clear
    assert ("raw.labs.subject_id", "WXR-001") in values_containing(conn, ["WXR-001"])
    assert values_containing(conn, d.IDENTIFIERS) == []


def test_a_mobile_number_in_a_text_column_refuses_the_row_and_is_masked(site):
    root, inbox, registry = site
    d.subjects(inbox, "WXR", ["WXR-001"])
    write_csv(inbox / "WXR_conmeds_20210401.csv", d.CONMEDS,
              [["WXR", "WXR-001", f"call +86 139 1234 5678", "other", "2021-03-01", "", "", ""],
               ["WXR", "WXR-001", "Prednisone", "glucocorticoid", "2021-03-01", "", "", ""]])
    conn = ingest(root, inbox, registry)
    check, reason, _, raw_record = quarantined(conn)[2]
    assert check == "identifier.direct" and "looks like a mobile phone number" in reason
    assert json.loads(raw_record)["drug_name"] == "call [masked mobile phone number]"
    assert values_containing(conn, ["139 1234 5678"]) == []


# --- 7. dates before 1900 -----------------------------------------------------------------

def test_year_0021_is_a_row_error_never_a_date(site):
    root, inbox, registry = site
    d.subjects(inbox, "WXR", ["WXR-001"])
    write_csv(inbox / "WXR_labs_20210401.csv", d.LABS,
              [d.lab_row("WXR", "WXR-001", 1), ["WXR", "WXR-001", "0021-06-12", "PLT", 150, "10^9/L", 125, 350]])
    conn = ingest(root, inbox, registry)
    check, reason, *_ = quarantined(conn)[3]
    assert check == "parse.date_before_1900"
    assert reason == ('column sample_date: "0021-06-12" is a date in the year 21, before 1900-01-01: no date of this '
                      "study is that early; most likely the year lost digits (write it as yyyy-mm-dd (%Y-%m-%d) "
                      "with a four-digit year)")
    assert conn.execute("SELECT min(sample_date) FROM raw.labs").fetchone()[0].year == 2021


# --- 4. bounded work ----------------------------------------------------------------------

def _open(inbox: Path, registry, name: str, limits: ReadLimits | None = None):
    files, _ = discover(inbox)
    file = next(f for f in files if f.name == name)
    reader = open_export(file, parse_file_name(file.name, registry), registry.get(name[:3]), limits=limits)
    return reader, list(reader)


def test_an_xlsx_that_expands_hundreds_of_times_is_refused_before_it_is_inflated(site):
    root, inbox, registry = site
    path = d.expanding_xlsx(inbox / "WXR_labs_20210401.xlsx")
    assert path.stat().st_size < 5_000_000
    with zipfile_sizes(path) as expanded:
        assert expanded > 100 * path.stat().st_size
    with pytest.raises(FileRefused, match=r"the workbook's parts expand to 524\.\d MB, \d+ times its \d\.\d MB "
                                          r"\(a workbook may expand at most 100 times, ITP_XLSX_MAX_EXPANSION\): "
                                          r"not read"):
        _open(inbox, registry, path.name)


def zipfile_sizes(path: Path):
    import contextlib
    import zipfile

    @contextlib.contextmanager
    def sizes():
        with zipfile.ZipFile(path) as z:
            yield sum(i.file_size for i in z.infolist())
    return sizes()


def test_a_file_slower_to_read_than_the_limit_is_refused_while_it_is_read(site):
    root, inbox, registry = site
    write_csv(inbox / "WXR_labs_20210401.csv", d.LABS, d.good_labs("WXR", [f"WXR-{i:03d}" for i in range(100)], 28))
    reader, chunks = _open(inbox, registry, "WXR_labs_20210401.csv")
    assert sum(c.rows_read for c in chunks) == 2800   # control: the default limit reads it
    with pytest.raises(FileRefused, match=r"reading the file took longer than 0\.001 s, the limit per file "
                                          r"\(ITP_FILE_READ_SECONDS\), and was stopped after"):
        _open(inbox, registry, "WXR_labs_20210401.csv", ReadLimits(seconds=0.001))


# --- reasons that name the likely cause ----------------------------------------------------

def test_a_semicolon_file_at_a_comma_site_names_the_delimiter(site):
    root, inbox, registry = site
    write_csv(inbox / "WXR_labs_20210401.csv", d.LABS, [d.lab_row("WXR", "WXR-001", 1)], delimiter=";")
    with pytest.raises(FileRefused) as refused:
        _open(inbox, registry, "WXR_labs_20210401.csv")
    assert refused.value.reason == (
        'the header row names 0 column(s) of labs when split at ",", the site\'s declared delimiter, but 8 when '
        'split at ";" (site_id, subject_id, sample_date, test_code, value, unit, ref_low, ref_high): the file uses '
        '";" as its delimiter; export it with ",", or correct the site\'s delimiter in the site registry')


def test_data_on_the_second_sheet_names_the_sheet(site):
    import openpyxl
    root, inbox, registry = site
    workbook = openpyxl.Workbook()
    workbook.active.title = "Notes"
    data = workbook.create_sheet("Labs")
    for row in [d.LABS, d.lab_row("WXR", "WXR-001", 1)]:
        data.append(row)
    workbook.save(inbox / "WXR_labs_20210401.xlsx")
    with pytest.raises(FileRefused, match=r'the workbook\'s first sheet is empty, and the data seem to be on another '
                                          r'sheet: "Labs" \(sheet 2\); the warehouse reads the first sheet only'):
        _open(inbox, registry, "WXR_labs_20210401.xlsx")


def test_a_20_mb_line_names_the_line_length_not_a_quote(site):
    root, inbox, registry = site
    path = write_csv(inbox / "WXR_labs_20210401.csv", d.LABS, [d.lab_row("WXR", "WXR-001", 1)])
    path.write_bytes(path.read_bytes() + b"WXR," + b"9" * 20_000_000 + b"\n")
    with pytest.raises(FileRefused) as refused:
        _open(inbox, registry, path.name)
    reason = refused.value.reason
    assert reason.startswith("a value near line 3 is longer than 131072 characters: line 3 alone is 20,000,004 "
                             "characters long without a line break, and it has no quote; no export line is that long")
    assert "quote (\") opens a value" not in reason


def test_a_last_line_cut_mid_row_is_reported_cut_short(site):
    root, inbox, registry = site
    path = write_csv(inbox / "WXR_labs_20210401.csv", d.LABS, d.good_labs("WXR", ["WXR-001"], 5))
    content = path.read_bytes()
    path.write_bytes(content[:int(len(content) * 0.6)])
    reader, chunks = _open(inbox, registry, path.name)
    assert re.fullmatch(r"the file looks cut short \(an interrupted transfer\?\): its last line \(row \d\) ends "
                        r"without a line break and (has \d of the header's 8 cells|is not a valid row)", reader.cut_short)
    # a complete last row without a line break is not cut
    path.write_bytes(content.rstrip(b"\n"))
    assert _open(inbox, registry, path.name)[0].cut_short is None
