"""Cumulative snapshots through the real intake (sources readers + quality checks + manifest)
on a real DuckDB file, across loads: resend, late snapshot, corrections and deletions."""
from __future__ import annotations

import shutil
from datetime import datetime

import duckdb

from ingest.intake import default_cutoff, ingest_inbox, prepare_warehouse
from sources.registry import load_registry
from tests.conftest import SIMPLE_REGISTRY, write_csv

HEADER = ["site_id", "subject_id", "sample_date", "test_code", "value", "unit", "ref_low", "ref_high"]


def _labs(inbox, date, rows):
    return write_csv(inbox / f"TST_labs_{date}.csv", HEADER,
                     [["TST", s, d, "PLT", v, "10^9/L", 125, 350] for s, d, v in rows])


def _load(conn, inbox, registry, load_id):
    # Two-row snapshots: any deletion is over the share that holds a snapshot (v1.2, tested in
    # tests/hostile/test_deliveries.py); here the snapshot semantics themselves are tested.
    return ingest_inbox(conn, inbox, registry, load_id, datetime(2021, 6, 1, 12), max_deleted_share=1.0)


def _current_values(conn):
    return conn.execute(
        """SELECT subject_id, sample_date::VARCHAR, value FROM raw.labs AS l
           JOIN quality.file_manifest AS m ON m.sha256 = l.source_sha256 AND m.is_current
           ORDER BY 1, 2""").fetchall()


def test_snapshots_resends_and_late_files_across_loads(tmp_path):
    (tmp_path / "sites.yaml").write_text(SIMPLE_REGISTRY)
    registry = load_registry(tmp_path / "sites.yaml")
    inbox = tmp_path / "inbox"
    _labs(inbox, "20210301", [("TST-001", "2021-02-01", 200), ("TST-002", "2021-02-02", 15)])
    # The March snapshot corrects TST-001's value and deletes TST-002's row.
    _labs(inbox, "20210331", [("TST-001", "2021-02-01", 20), ("TST-003", "2021-03-10", 40)])
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        prepare_warehouse(conn)
        first = _load(conn, inbox, registry, "load-1")
        assert [(f.file_path, f.status) for f in first.files] == [
            ("TST_labs_20210301.csv", "loaded"), ("TST_labs_20210331.csv", "loaded")]
        assert _current_values(conn) == [("TST-001", "2021-02-01", 20.0), ("TST-003", "2021-03-10", 40.0)]
        assert conn.execute("SELECT count(*) FROM raw.labs").fetchone() == (4,)  # history kept

        # Second load: a resend (same bytes, other folder) and a late February snapshot.
        (inbox / "resend").mkdir()
        shutil.copyfile(inbox / "TST_labs_20210331.csv", inbox / "resend" / "TST_labs_20210331.csv")
        _labs(inbox, "20210215", [("TST-001", "2021-02-01", 999)])
        second = _load(conn, inbox, registry, "load-2")
        statuses = {f.file_path: f.status for f in second.files}
        assert statuses == {"resend/TST_labs_20210331.csv": "duplicate", "TST_labs_20210215.csv": "superseded"}
        assert "older than the current snapshot" in next(f.reason for f in second.files if f.status == "superseded")
        assert _current_values(conn) == [("TST-001", "2021-02-01", 20.0), ("TST-003", "2021-03-10", 40.0)]
        assert default_cutoff(conn).isoformat() == "2021-03-31"

        # Third load of the same inbox: nothing is new, nothing is added.
        third = _load(conn, inbox, registry, "load-3")
        assert third.files == []
        assert conn.execute("SELECT count(*) FROM quality.file_manifest").fetchone() == (4,)
        counts = conn.execute(
            "SELECT count(*) FROM quality.file_manifest WHERE rows_read <> rows_accepted + rows_quarantined"
        ).fetchone()
        assert counts == (0,)


def test_identity_is_site_domain_and_content(tmp_path):
    """Two sites' header-only files are the same bytes and two snapshots (site-exports.md §1),
    read by the loader alone and with worker processes alike."""
    (tmp_path / "sites.yaml").write_text(SIMPLE_REGISTRY + "  OTH:\n    name: Other Hospital\n")
    registry = load_registry(tmp_path / "sites.yaml")
    inbox = tmp_path / "inbox"
    for site in ("TST", "OTH"):
        write_csv(inbox / f"{site}_labs_20210301.csv", HEADER, [])
    write_csv(inbox / "resend" / "OTH_labs_20210301.csv", HEADER, [])   # a resend by the same site
    write_csv(inbox / "OTH_labs_copy.csv", HEADER, [])                   # no export name: by content
    for workers in (0, 2):
        with duckdb.connect(str(tmp_path / f"w{workers}.duckdb")) as conn:
            prepare_warehouse(conn)
            ingest_inbox(conn, inbox, registry, "load-1", datetime(2021, 6, 1, 12), workers=workers)
            rows = conn.execute("SELECT file_path, status, reason, is_current FROM quality.file_manifest "
                                "ORDER BY file_path").fetchall()
        assert rows == [
            ("OTH_labs_20210301.csv", "loaded", None, True),
            ("OTH_labs_copy.csv", "duplicate", "same content as OTH_labs_20210301.csv, already received", False),
            ("TST_labs_20210301.csv", "loaded", None, True),
            ("resend/OTH_labs_20210301.csv", "duplicate", "same content as OTH_labs_20210301.csv, already received",
             False),
        ], workers
