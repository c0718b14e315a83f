"""Moving stored rows to quarantine keeps rows_read = rows_accepted + rows_quarantined."""
from __future__ import annotations

import json
from datetime import date

import pandas as pd

from quality.quarantine import FAILURE_COLUMNS, move_to_quarantine
from tests.quality.loads import lab, load_file, manifest_counts

EXPORT = date(2021, 6, 30)


def _labs(conn):
    day = date(2021, 5, 1)
    return load_file(conn, "labs", "BJH", EXPORT, [
        lab("BJH-001", day, "PLT", 50.0, "10^9/L"),
        lab("BJH-001", day, "UREA", 3.57, "mmol/L", original_test_code="BUN", original_value="10",
            original_unit="mg/dL", conversion_factor=0.357),
        lab("BJH-002", day, "PLT", 60.0, "10^9/L"),
    ], load_id="L1")


def test_counts_add_up_when_a_row_fails_two_checks(conn):
    entry = _labs(conn)
    failures = pd.DataFrame([
        (entry.sha256, 2, "gx.plausibility", "first problem"),
        (entry.sha256, 2, "gx.differential_above_wbc", "second problem"),
        (entry.sha256, 3, "gx.plausibility", "third problem"),
    ], columns=FAILURE_COLUMNS)
    assert move_to_quarantine(conn, "labs", failures, "L2") == 2
    read, accepted, quarantined = manifest_counts(conn, entry.file_path)
    assert (read, accepted, quarantined) == (3, 1, 2)
    assert read == accepted + quarantined
    assert conn.execute("SELECT count(*) FROM raw.labs").fetchone()[0] == 1
    reasons = conn.execute(
        "SELECT source_row, reason, load_id, file_name, subject_id FROM quality.quarantine ORDER BY 1, 2").fetchall()
    assert reasons == [(2, "first problem", "L2", entry.file_path, "BJH-001"),
                       (2, "second problem", "L2", entry.file_path, "BJH-001"),
                       (3, "third problem", "L2", entry.file_path, "BJH-001")]


def test_raw_record_is_rebuilt_as_the_site_wrote_it(conn):
    entry = _labs(conn)
    move_to_quarantine(conn, "labs", pd.DataFrame(
        [(entry.sha256, 3, "x", "y")], columns=FAILURE_COLUMNS), "L1")
    record = json.loads(conn.execute("SELECT raw_record FROM quality.quarantine").fetchone()[0])
    assert record == {"site_id": "BJH", "subject_id": "BJH-001", "sample_date": "2021-05-01",
                      "test_code": "BUN", "value": "10", "unit": "mg/dL", "ref_low": None, "ref_high": None}


def test_rows_already_moved_are_not_counted_twice(conn):
    entry = _labs(conn)
    failure = pd.DataFrame([(entry.sha256, 2, "x", "y")], columns=FAILURE_COLUMNS)
    assert move_to_quarantine(conn, "labs", failure, "L1") == 1
    assert move_to_quarantine(conn, "labs", failure, "L1") == 0
    assert manifest_counts(conn, entry.file_path) == (3, 2, 1)
    assert conn.execute("SELECT count(*) FROM quality.quarantine").fetchone()[0] == 1
