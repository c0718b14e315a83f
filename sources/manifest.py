"""The file manifest: every file seen in the inbox (endpoints.md §8).

Decides what a newly seen file is (new snapshot, resend, late snapshot) and which snapshot of
each site and domain is current. Statuses are fixed at arrival; `is_current` moves.

A snapshot's identity is (site, domain, content hash), never the hash alone (site-exports.md
§1 v1.1): an empty snapshot (a header, no rows) is the same bytes at every site, and each
site that sends one has deleted its rows of that domain. A file whose name does not parse has
no site or domain; it is compared by hash alone (it is refused anyway).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb

from sources.identifiers import mask
from sources.model import ExportName

MANIFEST_DDL = """
CREATE TABLE IF NOT EXISTS quality.file_manifest (
  file_name VARCHAR NOT NULL,
  file_path VARCHAR NOT NULL,
  sha256 VARCHAR NOT NULL,
  site_id VARCHAR,
  domain VARCHAR,
  export_date DATE,
  status VARCHAR NOT NULL,
  reason VARCHAR,
  rows_read BIGINT,
  rows_accepted BIGINT,
  rows_quarantined BIGINT,
  dropped_columns VARCHAR,
  is_current BOOLEAN NOT NULL DEFAULT false,
  load_id VARCHAR NOT NULL,
  loaded_at TIMESTAMP NOT NULL,
  reason_code VARCHAR
)
"""
# Warehouses published before reason codes (#14): the column is added, NULL for their rows.
MANIFEST_MIGRATIONS = ("ALTER TABLE quality.file_manifest ADD COLUMN IF NOT EXISTS reason_code VARCHAR",)



@dataclass
class ManifestEntry:
    """One file's fate in a load: a row of quality.file_manifest."""
    file_path: str
    status: str                     # loaded | duplicate | superseded | refused | held
    reason: str | None = None
    site_id: str | None = None
    domain: str | None = None
    sha256: str | None = None
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    dropped_columns: list[str] = field(default_factory=list)
    reason_code: str | None = None  # sources.reason_codes (or ingest.holds), beside `reason`

    @property
    def file_name(self) -> str:
        return self.file_path.rsplit("/", 1)[-1]


class KnownFiles:
    """What the manifest has already seen: (path, sha256) pairs, and the first path of each
    snapshot identity: (site, domain, sha256) for a parsed name, the sha256 alone otherwise."""

    def __init__(self) -> None:
        self._pairs: set[tuple[str, str | None]] = set()
        self._first: dict[tuple[str, str, str], str] = {}
        self._first_any: dict[str, str] = {}

    def seen(self, path: str, sha256: str | None) -> bool:
        return (path, sha256) in self._pairs

    def path_of(self, sha256: str, site: str | None = None, domain: str | None = None) -> str | None:
        """The first path received with this identity; without a site (a name that does not
        parse), the first path with these bytes whatever its site."""
        if site is None or domain is None:
            return self._first_any.get(sha256)
        return self._first.get((site, domain, sha256))

    def add(self, path: str, sha256: str | None, site: str | None = None, domain: str | None = None) -> None:
        self._pairs.add((path, sha256))
        if not sha256 or sha256.startswith("unread:"):
            return  # only content that was actually read counts as "already received"
        self._first_any.setdefault(sha256, path)
        if site is not None and domain is not None:
            self._first.setdefault((site, domain, sha256), path)


def known_files(conn: duckdb.DuckDBPyConnection) -> KnownFiles:
    rows = conn.execute(
        "SELECT file_path, sha256, site_id, domain FROM quality.file_manifest ORDER BY loaded_at, file_path"
    ).fetchall()
    known = KnownFiles()
    for path, sha, site, domain in rows:
        known.add(path, sha, site, domain)
    return known


# `duplicate` rows written under the hash-only identity (before site-exports v1.1): a file
# marked as a copy of a file of another site or domain. Its own (site, domain, sha256) has no
# received original, so under the (site, domain, sha256) identity it was never received.
STALE_DUPLICATES_SQL = """
SELECT d.file_path, d.sha256, d.reason FROM quality.file_manifest AS d
WHERE d.status = 'duplicate' AND d.site_id IS NOT NULL AND d.domain IS NOT NULL
  AND NOT EXISTS (
    SELECT 1 FROM quality.file_manifest AS o
    WHERE o.status <> 'duplicate' AND o.site_id = d.site_id AND o.domain = d.domain AND o.sha256 = d.sha256)
ORDER BY d.loaded_at, d.file_path
"""


def reopen_stale_duplicates(conn: duckdb.DuckDBPyConnection, present: set[tuple[str, str]]) -> dict[str, str]:
    """Forget the stale `duplicate` rows (STALE_DUPLICATES_SQL) whose file is still in the
    inbox (`present`: (path, sha256) pairs), so that this load receives them as the new
    arrivals they are under the (site, domain, sha256) identity: a site's empty snapshot then
    becomes current and its deleted rows leave the marts. Rows whose file is gone stay as
    they are (nothing to read again). Returns path -> the old reason, for the new entry."""
    stale = [(p, s, r) for p, s, r in conn.execute(STALE_DUPLICATES_SQL).fetchall() if (p, s) in present]
    for path, sha, _ in stale:
        conn.execute("DELETE FROM quality.file_manifest WHERE status = 'duplicate' AND file_path = ? AND sha256 = ?",
                     [path, sha])
    return {path: reason for path, _, reason in stale}


def record(conn: duckdb.DuckDBPyConnection, entry: ManifestEntry, name: ExportName | None, *,
           load_id: str, loaded_at: datetime) -> None:
    conn.execute(
        """INSERT INTO quality.file_manifest (file_name, file_path, sha256, site_id, domain,
             export_date, status, reason, rows_read, rows_accepted, rows_quarantined,
             dropped_columns, is_current, load_id, loaded_at, reason_code)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false, ?, ?, ?)""",
        [entry.file_name, entry.file_path, entry.sha256 or "", entry.site_id or (name.site if name else None),
         entry.domain or (name.domain if name else None), name.export_date if name else None,
         entry.status, mask(entry.reason), entry.rows_read, entry.rows_accepted, entry.rows_quarantined,
         mask(", ".join(entry.dropped_columns)) or None, load_id, loaded_at, entry.reason_code],
    )


def current_export_date(conn: duckdb.DuckDBPyConnection, site: str, domain: str) -> date | None:
    row = conn.execute(
        "SELECT export_date FROM quality.file_manifest WHERE is_current AND site_id = ? AND domain = ?",
        [site, domain],
    ).fetchone()
    return row[0] if row else None


def refresh_current(conn: duckdb.DuckDBPyConnection, site: str | None = None, domain: str | None = None) -> None:
    """The current snapshot of a site and domain: the `loaded` file with the latest export
    date; on equal dates (a corrected re-export of the same day) the later arrival wins.
    Given a site and domain, only theirs is refreshed (after one file: the others cannot have
    changed, and a registry's manifest has thousands of files)."""
    where, params = ("", []) if site is None else (" AND site_id = ? AND domain = ?", [site, domain])
    conn.execute(f"UPDATE quality.file_manifest SET is_current = false WHERE is_current{where}", params)
    conn.execute(
        f"""UPDATE quality.file_manifest AS m SET is_current = true
           FROM (
             SELECT sha256, file_path, row_number() OVER (
               PARTITION BY site_id, domain ORDER BY export_date DESC, loaded_at DESC, file_path DESC
             ) AS rn
             FROM quality.file_manifest WHERE status = 'loaded'{where}
           ) AS ranked
           WHERE ranked.rn = 1 AND m.sha256 = ranked.sha256 AND m.file_path = ranked.file_path""",
        params,
    )
