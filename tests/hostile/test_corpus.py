"""The hostile corpus through the real discovery and `ingest.intake.ingest_inbox`, into a real
DuckDB file: every entry ends refused with a reason or loaded with its bad rows quarantined,
nothing crashes, counts add up, and nothing outside the inbox is ever read."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from ingest.intake import IntakeReport, ingest_inbox, prepare_warehouse
from sources.domains import DOMAINS
from sources.parsing import MAX_CELL_CHARS, printable
from sources.registry import load_registry
from tests.hostile.corpus import (EXTRA_COLUMN_MARKER, OUTSIDE_MARKER, XXE_MARKER, Case, build_inbox, cases,
                                  outside_export)
from tests.privacy.leaks import values_containing

CASES = {c.name: c for c in cases()}
PASSWD_FIRST_LINE = Path("/etc/passwd").read_text().splitlines()[0]
NOT_FROM_THE_INBOX = [OUTSIDE_MARKER, XXE_MARKER, PASSWD_FIRST_LINE, EXTRA_COLUMN_MARKER]
# A person reads reasons and paths on a terminal or in an alert: no escape sequences, no bell.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass
class Ingested:
    db: Path
    report: IntakeReport
    second: IntakeReport
    manifest: dict[str, dict]
    quarantine: list[dict]
    stored_needles: list[tuple[str, str]]
    control_hits: list[tuple[str, str]]


def _rows(conn: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = conn.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> Ingested:
    root = tmp_path_factory.mktemp("hostile")
    inbox, sites, _ = build_inbox(root)
    registry = load_registry(sites)
    db = root / "candidate.duckdb"
    with duckdb.connect(str(db)) as conn:
        prepare_warehouse(conn)
        # The corpus's many snapshots of one site and domain hold different rows: each would be a
        # mass deletion of the one before it (held, tests/hostile/test_deliveries.py); here only
        # how each file is read matters.
        report = ingest_inbox(conn, inbox, registry, "load-1", datetime.now(), max_deleted_share=1.0)
        second = ingest_inbox(conn, inbox, registry, "load-2", datetime.now(), max_deleted_share=1.0)
        manifest = {r["file_path"]: r for r in _rows(conn, "SELECT * FROM quality.file_manifest")}
        quarantine = _rows(conn, "SELECT * FROM quality.quarantine")
        stored = values_containing(conn, NOT_FROM_THE_INBOX + ["BJH-001"])
        control = [(place, text) for place, text in conn.execute(
            """SELECT 'manifest ' || file_path, concat_ws(' ', file_path, reason, dropped_columns) FROM quality.file_manifest
               UNION ALL SELECT 'quarantine ' || file_name, file_name || ' ' || reason FROM quality.quarantine""").fetchall()
            if CONTROL.search(text)]
    return Ingested(db, report, second, manifest, quarantine, stored, control)


def entry(ingested: Ingested, case: Case) -> dict:
    return ingested.manifest[printable(case.rel_path)]


@pytest.mark.parametrize("name", list(CASES))
def test_each_hostile_entry_ends_as_expected(ingested, name):
    case = CASES[name]
    row = entry(ingested, case)
    assert row["status"] == case.status, row["reason"]
    if case.status == "refused":
        assert re.search(case.reason, row["reason"]), row["reason"]
        assert (row["rows_read"], row["rows_accepted"], row["rows_quarantined"]) == (0, 0, 0)
        return
    assert (row["rows_read"], row["rows_accepted"], row["rows_quarantined"]) == (
        case.rows_read, case.accepted, case.quarantined)
    assert re.fullmatch(case.dropped, row["dropped_columns"] or ""), row["dropped_columns"]
    held = [q for q in ingested.quarantine if q["file_name"] == row["file_path"]]
    assert len({q["source_row"] for q in held}) == case.quarantined
    for q in held:
        assert re.search(case.reason, q["reason"]), q["reason"]


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.unread])
def test_links_and_special_files_are_refused_without_being_opened(ingested, name):
    sha256 = entry(ingested, CASES[name])["sha256"]
    assert sha256.startswith("unread:")


def test_every_inbox_entry_is_in_the_manifest_exactly_once(ingested):
    expected = {printable(c.rel_path) for c in CASES.values()}
    assert set(ingested.manifest) == expected
    assert len(ingested.report.files) == len(expected)


def test_counts_add_up_for_every_file(ingested):
    for path, row in ingested.manifest.items():
        assert row["rows_read"] == row["rows_accepted"] + row["rows_quarantined"], path
    stored = {}
    with duckdb.connect(str(ingested.db), read_only=True) as conn:
        for table in DOMAINS:
            stored.update(dict(conn.execute(f"SELECT source_file, count(*) FROM raw.{table} GROUP BY ALL").fetchall()))
    assert stored == {p: r["rows_accepted"] for p, r in ingested.manifest.items() if r["rows_accepted"]}


def test_a_second_ingestion_of_the_same_inbox_records_nothing(ingested):
    assert ingested.second.files == []


def test_nothing_from_outside_the_inbox_or_from_dropped_columns_is_stored(ingested):
    # positive control: the scan finds a value that is stored
    assert ("raw.bleeding.subject_id", "BJH-001") in ingested.stored_needles
    assert [hit for hit in ingested.stored_needles if hit[1] != "BJH-001"] == []
    data = ingested.db.read_bytes()
    for needle in NOT_FROM_THE_INBOX + [outside_export().decode()]:
        assert needle.encode() not in data, needle


def test_quarantined_raw_records_hold_no_cell_longer_than_excel_allows(ingested):
    """The 1 MB cell is quarantined, but its raw_record shows an excerpt, not the megabyte."""
    cells = [v for q in ingested.quarantine for v in json.loads(q["raw_record"]).values() if v]
    assert max(len(v) for v in cells) <= MAX_CELL_CHARS
    assert "x" * 60 + "... (1048576 characters)" in cells


def test_reasons_and_paths_hold_no_control_characters(ingested):
    assert ingested.control_hits == []
