"""Held files (site-exports.md §5, endpoints.md §8, v1.2): a snapshot the warehouse keeps but
does not make current, so one site's bad file never holds back the others and a cut upload
is never read as mass deletion.

A file is held
- at arrival, when it looks cut short: its last line has no line break and is not a complete
  row (`cut_short`, found by the reader), or it would delete more than `max_deleted_share` of
  the rows of the site's current snapshot of that domain (`deletion_reason`);
- after the load's checks, when more than `max_failing_share` of its rows were quarantined
  (`hold_failing_files`; the share is `quality.gate`'s, which blocked the whole load before v1.2).

Held means: status `held` in quality.file_manifest with the reason, never `is_current`; its
rows stay in raw (history) and in quarantine; the site's previous snapshot of the domain stays
current; the monitors' alert and `itp-warehouse status` name it. A hold is cleared by the next
snapshot of that site and domain that loads normally (`outstanding` no longer lists it), or by
a release: a monitor who confirmed with the site that the file is right (the deletions are
real) runs `itp-warehouse release`, which records who and when; the next load applies the
release (`apply_releases`): the file becomes `loaded` and, being the latest, current.

Deciding deletions (spec silent on how rows are matched): a row of the current snapshot is
deleted when no accepted row of the new snapshot has its key (`DOMAINS[d].key`); the new
snapshot's quarantined rows may be some of those rows sent again with an error, so they are
not counted as deletions (the share is (missing keys - quarantined rows) / current rows).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from quality import gate, home_records
from sources import manifest
from sources import reason_codes as rc
from sources.domains import DOMAINS
from sources.model import ExportName

# Reason codes of held files (docs/reasons.md); each reason starts with what happened.
HOLD_CUT = "hold.cut_short"
HOLD_DELETIONS = "hold.deletions"
HOLD_QUARANTINE_SHARE = "hold.quarantine_share"

RELEASE_DDL = """
CREATE TABLE IF NOT EXISTS quality.file_release (
  file_path VARCHAR NOT NULL,
  sha256 VARCHAR NOT NULL,
  site_id VARCHAR,
  domain VARCHAR,
  held_reason VARCHAR,
  released_by VARCHAR NOT NULL,
  released_at TIMESTAMP NOT NULL,
  note VARCHAR,
  applied_load_id VARCHAR NOT NULL
)
"""
RELEASES_DIR = "releases"


def _release_hint(domain: str) -> str:
    return (f"the site's previous {domain} snapshot stays current; send the complete file again, or, "
            "if the site confirms the file is right, a monitor releases it (`itp-warehouse release`)")


def cut_reason(cut_short: str, domain: str) -> str:
    return f"held: {cut_short}; {_release_hint(domain)}"


def deletion_reason(conn: duckdb.DuckDBPyConnection, name: ExportName, sha256: str, rows_quarantined: int,
                    max_deleted_share: float) -> str | None:
    """Why a newly stored snapshot would delete too much of the current one (None: it would not).
    Call before the new file becomes current."""
    current = conn.execute(
        """SELECT sha256, file_path FROM quality.file_manifest
           WHERE is_current AND site_id = ? AND domain = ?""", [name.site, name.domain]).fetchone()
    if current is None:
        return None
    key = ", ".join(DOMAINS[name.domain].key)
    table = f"raw.{name.domain}"
    before, missing = conn.execute(
        f"""WITH cur AS (SELECT DISTINCT {key} FROM {table} WHERE source_sha256 = ? AND site_id = ?),
                 new AS (SELECT DISTINCT {key} FROM {table} WHERE source_sha256 = ? AND site_id = ?)
            SELECT (SELECT count(*) FROM cur),
                   (SELECT count(*) FROM (SELECT * FROM cur EXCEPT SELECT * FROM new))""",
        [current[0], name.site, sha256, name.site]).fetchone()
    deleted = max(0, missing - rows_quarantined)
    if before == 0 or deleted <= max_deleted_share * before:
        return None
    return (f"held: this snapshot would delete {deleted} of the {before} rows ({100 * deleted / before:.1f}%) "
            f"of the current {name.domain} snapshot ({current[1]}), more than the {100 * max_deleted_share:g}% "
            "a snapshot may delete at once (ITP_MAX_DELETED_SHARE): a cut or partial upload? "
            f"{_release_hint(name.domain)[0].upper()}{_release_hint(name.domain)[1:]}")


def _hold(conn: duckdb.DuckDBPyConnection, file_path: str, sha256: str, reason: str, code: str) -> None:
    row = conn.execute("SELECT site_id, domain FROM quality.file_manifest WHERE file_path = ? AND sha256 = ?",
                       [file_path, sha256]).fetchone()
    conn.execute("""UPDATE quality.file_manifest SET status = 'held', reason = ?, reason_code = ?, is_current = false
                    WHERE file_path = ? AND sha256 = ?""", [reason, code, file_path, sha256])
    if row is not None:
        manifest.refresh_current(conn, row[0], row[1])


def hold_failing_files(conn: duckdb.DuckDBPyConnection, load_id: str, max_failing_share: float) -> list[str]:
    """Hold the files of this load that lost more than the share of their rows; their sites'
    previous snapshots become current again. Returns the held files' paths."""
    held = []
    for path, sha256, share_reason in gate.files_over_share(conn, load_id, max_failing_share):
        domain = conn.execute("SELECT domain FROM quality.file_manifest WHERE file_path = ? AND sha256 = ?",
                              [path, sha256]).fetchone()[0]
        _hold(conn, path, sha256, f"held: {share_reason}; {_release_hint(domain)}", HOLD_QUARANTINE_SHARE)
        held.append(path)
    return held


@dataclass(frozen=True)
class HeldFile:
    file_path: str
    site_id: str | None
    domain: str | None
    reason: str
    load_id: str


def outstanding(conn: duckdb.DuckDBPyConnection) -> list[HeldFile]:
    """Held files not yet cleared: the current snapshot of their site and domain is not a later
    one (a later export date, or the same date arrived later)."""
    rows = conn.execute(
        """SELECT h.file_path, h.site_id, h.domain, h.reason, h.load_id FROM quality.file_manifest AS h
           WHERE h.status = 'held' AND NOT EXISTS (
             SELECT 1 FROM quality.file_manifest AS m
             WHERE m.is_current AND m.site_id = h.site_id AND m.domain = h.domain
               AND (m.export_date > h.export_date OR (m.export_date = h.export_date AND m.loaded_at > h.loaded_at)))
           ORDER BY h.loaded_at, h.file_path""").fetchall()
    return [HeldFile(*row) for row in rows]


# --- releases -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ReleaseRequest:
    """`itp-warehouse release`: a monitor confirmed a held file with its site."""
    file_path: str
    sha256: str
    released_by: str
    released_at: datetime
    note: str = ""

    def to_json(self) -> str:
        return json.dumps({"file_path": self.file_path, "sha256": self.sha256, "released_by": self.released_by,
                           "released_at": self.released_at.isoformat(), "note": self.note}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ReleaseRequest:
        data = json.loads(text)
        return cls(data["file_path"], data["sha256"], data["released_by"],
                   datetime.fromisoformat(data["released_at"]), data.get("note") or "")


def write_request(home: Path, request: ReleaseRequest) -> Path:
    """Record the request under HOME/releases/ (the published warehouse is read-only: the next
    load applies it). One file per held file (its path and bytes: two sites may hold the same
    bytes, an empty snapshot); a second release of the same file replaces it."""
    folder = home / RELEASES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    held_file = hashlib.sha256(f"{request.file_path}\0{request.sha256}".encode()).hexdigest()
    path = folder / f"{held_file[:16]}.json"
    home_records.write_whole(path, (request.to_json() + "\n").encode("utf-8"))
    return path


def read_requests(home: Path) -> list[ReleaseRequest]:
    return home_records.read_all(home / RELEASES_DIR, ReleaseRequest.from_json,
                                 order=lambda r: (r.released_at, r.file_path))


def pending(conn: duckdb.DuckDBPyConnection, requests: list[ReleaseRequest]) -> list[ReleaseRequest]:
    """The requests whose file is still held in this warehouse."""
    return [r for r in requests if conn.execute(
        "SELECT count(*) FROM quality.file_manifest WHERE file_path = ? AND sha256 = ? AND status = 'held'",
        [r.file_path, r.sha256]).fetchone()[0]]


def apply_releases(conn: duckdb.DuckDBPyConnection, requests: list[ReleaseRequest], load_id: str) -> list[str]:
    """Make each released held file `loaded` (and current if it is the latest), recording the
    release in quality.file_release. Returns the released paths."""
    conn.execute(RELEASE_DDL)
    released = []
    for r in pending(conn, requests):
        site, domain, reason = conn.execute(
            "SELECT site_id, domain, reason FROM quality.file_manifest WHERE file_path = ? AND sha256 = ?",
            [r.file_path, r.sha256]).fetchone()
        note = f" ({r.note})" if r.note else ""
        conn.execute(
            """UPDATE quality.file_manifest SET status = 'loaded', reason = ?, reason_code = ?
               WHERE file_path = ? AND sha256 = ? AND status = 'held'""",
            [f"released by {r.released_by} at {r.released_at:%Y-%m-%d %H:%M} UTC{note}; was {reason}",
             rc.HOLD_RELEASED, r.file_path, r.sha256])
        conn.execute("INSERT INTO quality.file_release VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [r.file_path, r.sha256, site, domain, reason, r.released_by, r.released_at, r.note or None,
                      load_id])
        manifest.refresh_current(conn, site, domain)
        released.append(r.file_path)
    return released
