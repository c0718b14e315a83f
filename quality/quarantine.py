"""quality.quarantine: every row held back from the warehouse, with the reason a site
coordinator needs to fix it.

Two ways in:
- `write_errors`: rows refused while a file is read (parse errors, pandera row checks); they
  never reached raw.<domain>.
- `move_to_quarantine`: rows that were stored and fail a later check (duplicate keys in the file,
  Great Expectations lab checks, cross-domain checks); they leave raw.<domain>.

Counting rule (documented decision): the manifest counts ROWS, the quarantine keeps REASONS.
A row failing two checks is one quarantined row in quality.file_manifest and two quarantine
records, so rows_read = rows_accepted + rows_quarantined always holds, and the coordinator
still sees every problem of the row at once.

Neither function opens a transaction: the loader owns it (a file is loaded all or nothing).

Both write through `_insert`, which masks direct identifiers (`sources.identifiers.mask`) in
the three columns that hold a row's cells: subject_id, reason (reasons quote cells) and
raw_record. Site queries are built from these columns, so they hold only masked copies too.
"""
from __future__ import annotations

import json

import duckdb
import pandas as pd

from quality import check_results, records, site_queries
from sources import identifiers
from sources.domains import DOMAINS
from sources.model import RowError

QUARANTINE_DDL = """
CREATE TABLE IF NOT EXISTS quality.quarantine (
  file_name VARCHAR NOT NULL,
  sha256 VARCHAR NOT NULL,
  source_row INTEGER,
  domain VARCHAR NOT NULL,
  site_id VARCHAR,
  subject_id VARCHAR,
  check_name VARCHAR NOT NULL,
  reason VARCHAR NOT NULL,
  raw_record VARCHAR,
  load_id VARCHAR NOT NULL
)
"""

FAILURE_COLUMNS = ["source_sha256", "source_row", "check_name", "reason"]


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """The quality tables this package writes (idempotent)."""
    conn.execute("CREATE SCHEMA IF NOT EXISTS quality")
    conn.execute(QUARANTINE_DDL)
    conn.execute(check_results.CHECK_RESULT_DDL)
    conn.execute(site_queries.SITE_QUERY_DDL)


def empty_failures() -> pd.DataFrame:
    """The shape every later check returns and move_to_quarantine accepts."""
    return pd.DataFrame({"source_sha256": pd.Series(dtype="object"), "source_row": pd.Series(dtype="int64"),
                         "check_name": pd.Series(dtype="object"), "reason": pd.Series(dtype="object")})


def _masked_record(raw_record: str | None) -> str | None:
    """A raw_record (JSON) with identifiers masked cell by cell."""
    if not raw_record or not identifiers.find(raw_record):
        return raw_record
    return records.to_json(identifiers.mask_record(json.loads(raw_record)))


def _masked(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every stored copy of a cell masked (site-exports.md §5, v1.2)."""
    frame = frame.copy()
    frame["subject_id"] = [identifiers.mask(v) if isinstance(v, str) else v for v in frame["subject_id"]]
    frame["reason"] = [identifiers.mask(v) for v in frame["reason"]]
    frame["raw_record"] = [_masked_record(v) for v in frame["raw_record"]]
    return frame


def _insert(conn: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> None:
    frame = _masked(frame)
    conn.register("new_quarantine", frame)
    try:
        conn.execute(
            """INSERT INTO quality.quarantine (file_name, sha256, source_row, domain, site_id,
                 subject_id, check_name, reason, raw_record, load_id)
               SELECT file_name, sha256, CAST(source_row AS INTEGER), domain, site_id, subject_id,
                 check_name, reason, raw_record, load_id FROM new_quarantine""")
    finally:
        conn.unregister("new_quarantine")


def write_errors(conn: duckdb.DuckDBPyConnection, *, file_name: str, sha256: str, domain: str,
                 site_id: str, errors: list[RowError], load_id: str) -> None:
    if not errors:
        return
    frame = pd.DataFrame({
        "file_name": file_name, "sha256": sha256,
        "source_row": [e.source_row for e in errors], "domain": domain, "site_id": site_id,
        "subject_id": [e.subject_id or (e.raw_record or {}).get("subject_id") for e in errors],
        "check_name": [e.check_name for e in errors], "reason": [e.reason for e in errors],
        "raw_record": [records.to_json(e.raw_record or {}) for e in errors], "load_id": load_id,
    })
    _insert(conn, frame)


def move_to_quarantine(conn: duckdb.DuckDBPyConnection, domain: str, failures: pd.DataFrame,
                       load_id: str) -> int:
    """Move stored rows named by `failures` (source_sha256, source_row, check_name, reason) from
    raw.<domain> to quarantine and fix the manifest counts of their files.

    Returns the number of distinct rows moved. Failures naming a row that is no longer in raw
    (already moved by an earlier check) are ignored: that row is already counted and quarantined.
    """
    if failures is None or failures.empty:
        return 0
    DOMAINS[domain]  # unknown domain: KeyError before anything is touched
    wanted = failures[FAILURE_COLUMNS].drop_duplicates()
    conn.register("failing_rows", wanted)
    try:
        stored = conn.execute(
            f"""SELECT r.*, f.check_name AS _check_name, f.reason AS _reason
                FROM raw.{domain} AS r JOIN failing_rows AS f
                  ON r.source_sha256 = f.source_sha256 AND r.source_row = f.source_row
                ORDER BY r.source_sha256, r.source_row""").df()
        if stored.empty:
            return 0
        frame = pd.DataFrame({
            "file_name": stored["source_file"], "sha256": stored["source_sha256"],
            "source_row": stored["source_row"], "domain": domain, "site_id": stored["site_id"],
            "subject_id": stored["subject_id"], "check_name": stored["_check_name"],
            "reason": stored["_reason"],
            "raw_record": [records.to_json(records.raw_record(domain, row))
                           for row in stored.to_dict("records")],
            "load_id": load_id,
        })
        _insert(conn, frame)
        moved = stored[["source_sha256", "site_id", "source_row"]].drop_duplicates()
        per_file = moved.groupby(["source_sha256", "site_id"]).size().reset_index(name="n")
        conn.register("moved_per_file", per_file)
        try:
            conn.execute(
                """UPDATE quality.file_manifest AS m
                   SET rows_accepted = m.rows_accepted - p.n, rows_quarantined = m.rows_quarantined + p.n
                   FROM moved_per_file AS p
                   WHERE m.sha256 = p.source_sha256 AND m.site_id = p.site_id AND m.domain = ?
                     AND m.status IN ('loaded', 'superseded', 'held')""", [domain])
        finally:
            conn.unregister("moved_per_file")
        conn.execute(
            f"""DELETE FROM raw.{domain} AS r USING failing_rows AS f
                WHERE r.source_sha256 = f.source_sha256 AND r.source_row = f.source_row""")
        return len(moved)
    finally:
        conn.unregister("failing_rows")
