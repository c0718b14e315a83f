"""Files read ahead by worker processes (the plain CSVs natively, in the workers' own DuckDB)
are stored exactly as files the loader reads itself: the demo cohort (gb18030, xlsx,
;-delimited files, a resend, bad rows, identifier columns) plus a refused file, ingested both
ways into two real DuckDB files, gives the same tables."""
from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from ingest import intake, prefetch
from demo.cohort import generate_cohort
from sources.registry import load_registry

LOADED_AT = datetime(2022, 7, 1, 2, 0)
TABLES = {
    "raw.labs": "source_sha256, source_row",
    "raw.subjects": "source_sha256, source_row",
    "raw.dosing": "source_sha256, source_row",
    "raw.bleeding": "source_sha256, source_row",
    "raw.conmeds": "source_sha256, source_row",
    "raw.adverse_events": "source_sha256, source_row",
    "raw.disposition": "source_sha256, source_row",
    "quality.quarantine": "sha256, source_row, check_name",
}
MANIFEST = ("SELECT file_path, status, reason, site_id, domain, rows_read, rows_accepted, rows_quarantined, "
            "dropped_columns FROM quality.file_manifest ORDER BY file_path")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("prefetch")
    cohort = generate_cohort(home)
    # A file the reader refuses (no header), so a refusal travels back from a worker too.
    (cohort.inbox / "PKUPH" / "PKUPH_bleeding_20220415.csv").write_bytes(b"PKUPH,P-001,01.03.2022,1\n")
    return home


def ingest(home: Path, db: Path, workers: int) -> intake.IntakeReport:
    with duckdb.connect(str(db)) as conn:
        intake.prepare_warehouse(conn)
        return intake.ingest_inbox(conn, home / "inbox", load_registry(home / "sites.yaml"), "load-1",
                                   LOADED_AT, workers=workers)


def contents(db: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as conn:
        out = {t: conn.execute(f"SELECT * EXCLUDE (load_id) FROM {t} ORDER BY {k}").fetchall()
               if t.startswith("quality") else conn.execute(f"SELECT * FROM {t} ORDER BY {k}").fetchall()
               for t, k in TABLES.items()}
        out["manifest"] = conn.execute(MANIFEST).fetchall()
    return out


def test_files_read_by_workers_are_stored_as_files_read_by_the_loader(cohort, tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))   # where the workers' Parquet files go
    by_loader = ingest(cohort, tmp_path / "alone.duckdb", workers=0)
    by_workers = ingest(cohort, tmp_path / "workers.duckdb", workers=2)
    # the plain CSVs were read by DuckDB both times: by the loader, then in the workers
    assert sorted(by_workers.read_natively) == sorted(by_loader.read_natively) != []
    assert list(scratch.iterdir()) == []   # the workers' rows files and their folder are gone
    alone, parallel = contents(tmp_path / "alone.duckdb"), contents(tmp_path / "workers.duckdb")
    assert {t: len(rows) for t, rows in parallel.items()} == {t: len(rows) for t, rows in alone.items()}
    for table in alone:
        assert parallel[table] == alone[table], table
    statuses = {row[1] for row in alone["manifest"]}
    assert {"loaded", "duplicate", "refused"} <= statuses
    assert len(alone["raw.labs"]) > 10_000 and len(alone["quality.quarantine"]) > 0


def test_only_new_readable_files_are_planned_once_each(cohort, tmp_path):
    registry = load_registry(cohort / "sites.yaml")
    with duckdb.connect(str(tmp_path / "plan.duckdb")) as conn:
        intake.prepare_warehouse(conn)
        from sources import manifest
        from sources.inbox import discover

        files, _ = discover(cohort / "inbox")
        ordered = intake._order(files, registry, LOADED_AT.date())
        plan = intake._read_plan(ordered, manifest.known_files(conn), registry)
    shas = [f.sha256 for f, _, _ in plan]
    assert len(shas) == len(set(shas))                        # the resend is not read twice
    assert not any("resend" in f.rel_path for f, _, _ in plan)  # its first copy is read instead
    assert [f.rel_path for f, _, _ in plan] == [f.rel_path for f, n in ordered if f in {p[0] for p in plan}]


def test_a_file_too_large_to_hold_is_left_to_the_loader(cohort):
    registry = load_registry(cohort / "sites.yaml")
    from sources.inbox import discover

    files, _ = discover(cohort / "inbox")
    plan = [(f, n, registry.get(n.site)) for f, n in intake._order(files, registry, LOADED_AT.date())
            if not isinstance(n, Exception) and n.site in registry.sites][:3]
    ahead = prefetch.Prefetcher(plan, workers=1)
    try:
        assert ahead.take(plan[0][0]) is not None       # read ahead
        big = plan[1][0]
        limit = prefetch.PREFETCH_MAX_BYTES[plan[1][1].ext]
        assert big.size <= limit
    finally:
        ahead.close()
    oversized = [(f.__class__(f.path, f.rel_path, f.sha256, 10**12), n, s) for f, n, s in plan]
    ahead = prefetch.Prefetcher(oversized, workers=1)
    try:
        assert ahead.take(oversized[0][0]) is None       # the loader streams it itself
    finally:
        ahead.close()


def test_the_read_ahead_window_is_counted_in_bytes_not_files():
    """Small files between two large ones must not keep the second large one from a worker."""
    big, small = 3 << 20, 20 << 10
    assert prefetch.window_has_room([big] + [small] * 6, big, min_files=3)
    assert not prefetch.window_has_room([big] * 10, big, min_files=3)               # bytes full
    assert prefetch.window_has_room([prefetch.WINDOW_BYTES] * 2, big, min_files=3)  # one per worker + 1
    assert not prefetch.window_has_room([1] * prefetch.WINDOW_FILES, 1, min_files=3)


def test_workers_read_ahead_when_the_load_is_large():
    big, small = prefetch.PARALLEL_MIN_BYTES, 1 << 20
    assert intake.read_ahead_workers([big - small, small], cores=2) == 2
    assert intake.read_ahead_workers([small, small], cores=2) == 0   # a small load: not worth starting them
    assert intake.read_ahead_workers([], cores=2) == 0
    assert intake.read_ahead_workers([big, small], cores=1) == 0     # one core
