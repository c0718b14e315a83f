"""The intake gate: every row that `sources` reads passes the row checks here before it is
stored, and every file seen in the inbox ends in the manifest with a status and counts.

Nothing is lost: a row is either appended to raw.<domain> or written to quality.quarantine,
and rows_read = rows_accepted + rows_quarantined holds per file. One bad file never stops the
others: whole-file problems are recorded as `refused` and the loop goes on.
"""
from __future__ import annotations

import functools
import logging
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from ingest import holds, native_intake, prefetch
from quality import check_results, quarantine, query_lifecycle, schemas, site_queries
from sources import manifest
from sources import reason_codes as rc
from sources.bounds import ReadLimits
from sources.manifest import ManifestEntry
from sources.domains import DOMAINS
from sources.inbox import HashCache, discover
from sources.model import ExportName, FileRefused, InboxFile
from sources.naming import parse_file_name
from sources.readers import open_export
from sources.registry import SiteConfig, SiteRegistry

log = logging.getLogger(__name__)

LOAD_LOG_DDL = """
CREATE TABLE IF NOT EXISTS quality.load_log (
  load_id VARCHAR PRIMARY KEY,
  started_at TIMESTAMP NOT NULL,
  finished_at TIMESTAMP,
  cutoff_date DATE,
  files_seen INTEGER,
  files_new INTEGER,
  rows_accepted BIGINT,
  rows_quarantined BIGINT,
  status VARCHAR,
  dbt_project_hash VARCHAR,
  study_id VARCHAR
)
"""
# Warehouses published before dbt_project_hash existed (the first load after the upgrade then
# rebuilds every incremental model: no hash to compare with), or before study_id (#15).
LOAD_LOG_MIGRATIONS = (
    "ALTER TABLE quality.load_log ADD COLUMN IF NOT EXISTS dbt_project_hash VARCHAR",
    "ALTER TABLE quality.load_log ADD COLUMN IF NOT EXISTS study_id VARCHAR",
)


def prepare_warehouse(conn: duckdb.DuckDBPyConnection) -> None:
    """Create every table the loader writes (idempotent: candidates start from a copy)."""
    conn.execute("CREATE SCHEMA IF NOT EXISTS raw")
    conn.execute("CREATE SCHEMA IF NOT EXISTS quality")
    for domain in DOMAINS.values():
        conn.execute(domain.ddl())
    conn.execute(manifest.MANIFEST_DDL)
    for migration in manifest.MANIFEST_MIGRATIONS:
        conn.execute(migration)
    conn.execute(LOAD_LOG_DDL)
    for migration in LOAD_LOG_MIGRATIONS:
        conn.execute(migration)
    quarantine.ensure_tables(conn)
    conn.execute(check_results.CHECK_RESULT_DDL)
    conn.execute(site_queries.SITE_QUERY_DDL)
    query_lifecycle.ensure_tables(conn)  # #18's columns of site_query and its history
    conn.execute(holds.RELEASE_DDL)


@dataclass
class IntakeReport:
    load_id: str
    files: list[ManifestEntry]
    # The files DuckDB read (ingest.native_intake); every other file was read the Python way.
    read_natively: list[str] = field(default_factory=list)

    @property
    def new_sha256s(self) -> list[str]:
        return [f.sha256 for f in self.files if f.status in ("loaded", "superseded", "held") and f.sha256]

    def by_status(self, status: str) -> list[ManifestEntry]:
        return [f for f in self.files if f.status == status]


def _order(files: list[InboxFile], registry: SiteRegistry, today: date) -> list[tuple[InboxFile, ExportName | FileRefused]]:
    """Parse names first, then process snapshots oldest first, so that within one load the
    newest export of a site and domain ends current and nothing is wrongly `superseded`."""
    parsed: list[tuple[InboxFile, ExportName | FileRefused]] = []
    for f in files:
        try:
            name = parse_file_name(f.name, registry)
        except FileRefused as refused:
            parsed.append((f, refused))
            continue
        if name.export_date > today + timedelta(days=1):
            # It would stay the current snapshot until that date: a typo, never a real cut.
            # (One day of slack: a site ahead of UTC may already be on tomorrow's date.)
            parsed.append((f, FileRefused(f"export date {name.export_date} in the file name is in "
                                          f"the future (today is {today})", code=rc.NAME_FUTURE_DATE)))
        else:
            parsed.append((f, name))

    def key(item: tuple[InboxFile, ExportName | FileRefused]) -> tuple:
        f, name = item
        when = name.export_date if isinstance(name, ExportName) else date.max
        return (when, f.rel_path)

    return sorted(parsed, key=key)


def _insert_rows(conn: duckdb.DuckDBPyConnection, domain: str, rows) -> None:
    if rows.empty:
        return
    cols = DOMAINS[domain].raw_columns()
    select = ", ".join(f"CAST(chunk.{c} AS {t})" for c, t in cols.items())
    conn.register("chunk", rows)
    try:
        conn.execute(f"INSERT INTO raw.{domain} ({', '.join(cols)}) SELECT {select} FROM chunk")
    finally:
        conn.unregister("chunk")


def _load_file(conn, f: InboxFile, name: ExportName, registry: SiteRegistry, out: ManifestEntry,
               load_id: str, read_ahead: prefetch.FileRead | None, limits: ReadLimits | None,
               native: bool) -> tuple[str | None, bool]:
    """Read (natively, or take what a worker read ahead, or read it here), check and store one
    file inside one transaction: all of it or none of it. Returns why the file looks cut short
    (or None), and whether DuckDB read it."""
    reader = None
    cut_short = None
    natively = (native_intake.read_native(conn, f, name, registry.get(name.site), limits)
                if native and read_ahead is None and native_intake.may_read(name) else None)
    if natively is not None:   # a plain CSV: its lines all end, so it is never cut short
        out.dropped_columns = natively.dropped_columns
        chunks = natively.chunks
    elif read_ahead is None:
        reader = open_export(f, name, registry.get(name.site), limits=limits)
        out.dropped_columns = list(reader.dropped_columns)
        chunks: Iterable[prefetch.CheckedChunk] = prefetch.checked_chunks(reader, name)
    elif read_ahead.refused is not None:
        raise read_ahead.refused
    elif read_ahead.failure is not None:
        raise prefetch.ReadFailed(read_ahead.failure)
    else:
        out.dropped_columns = read_ahead.dropped_columns
        chunks = read_ahead.chunks
        cut_short = read_ahead.cut_short
        if read_ahead.rows_file is not None:   # read natively by the worker: its stored rows
            native_intake.insert_rows_file(conn, name.domain, read_ahead.rows_file,
                                           sum(chunk.stored for chunk in chunks))
    for chunk in chunks:
        _insert_rows(conn, name.domain, chunk.accepted)
        quarantine.write_errors(conn, file_name=f.rel_path, sha256=f.sha256, domain=name.domain,
                                site_id=name.site, errors=chunk.errors, load_id=load_id)
        out.rows_read += chunk.rows_read
        out.rows_accepted += len(chunk.accepted) + chunk.stored
        out.rows_quarantined += len({e.source_row for e in chunk.errors})
    dup_keys = schemas.check_snapshot(conn, name.domain, f.sha256)
    if len(dup_keys):
        moved = quarantine.move_to_quarantine(conn, name.domain, dup_keys, load_id)
        out.rows_accepted -= moved
        out.rows_quarantined += moved
    read_by_duckdb = natively is not None or (read_ahead is not None and read_ahead.rows_file is not None)
    return (reader.cut_short if reader is not None else cut_short), read_by_duckdb


def _hold_at_arrival(conn, name: ExportName, out: ManifestEntry, cut_short: str | None,
                     max_deleted_share: float) -> None:
    """A new snapshot that looks cut short is held, never read as mass deletion (ingest.holds)."""
    if out.status != "loaded":
        return
    if cut_short:
        reason, code = holds.cut_reason(cut_short, name.domain), holds.HOLD_CUT
    else:
        reason = holds.deletion_reason(conn, name, out.sha256, out.rows_quarantined, max_deleted_share)
        code = holds.HOLD_DELETIONS
    if reason:
        out.status, out.reason, out.reason_code = "held", reason, code


def _read_plan(ordered: list[tuple[InboxFile, ExportName | FileRefused]], known: manifest.KnownFiles,
               registry: SiteRegistry) -> list[tuple[InboxFile, ExportName, SiteConfig]]:
    """The files the loop below will read, in its order: new content, a valid name, a known site."""
    plan, snapshots = [], set()
    for f, name in ordered:
        if isinstance(name, FileRefused) or known.seen(f.rel_path, f.sha256):
            continue
        identity = (name.site, name.domain, f.sha256)
        if (identity in snapshots or known.path_of(f.sha256, name.site, name.domain) is not None
                or name.site not in registry.sites):
            continue
        plan.append((f, name, registry.get(name.site)))
        snapshots.add(identity)
    return plan


def read_ahead_workers(sizes: list[int], cores: int) -> int:
    """Worker processes to read a load's files ahead, given the sizes of the files it reads:
    as many as there are cores (up to 4) when there are 2+ and the files are large enough to
    repay starting them. Workers read every kind of file, the plain CSVs natively, each in its
    own DuckDB (docs/decisions.md, "Native CSVs read ahead in workers"); counting only the
    files that were not native left a 10,000-subject load's CSVs and workbooks to the loader's
    one core."""
    if cores < 2 or sum(sizes) < prefetch.PARALLEL_MIN_BYTES:
        return 0
    return cores


def ingest_inbox(conn: duckdb.DuckDBPyConnection, inbox: Path, registry: SiteRegistry,
                 load_id: str, loaded_at: datetime, workers: int | None = None, *,
                 max_deleted_share: float = 0.2, limits: ReadLimits | None = None,
                 progress: Callable[[int, int], None] | None = None, native: bool = True,
                 hash_cache: Path | None = None) -> IntakeReport:
    """Load every file of the inbox that the manifest has not seen yet.

    `native`: plain CSV files are read by DuckDB (ingest.native_intake; the same outcome as the
    Python reader's, which reads every other file); False reads every file the Python way.
    `workers` processes read the next files ahead (ingest.prefetch; the plain CSVs natively
    too, in their own DuckDB); None: `read_ahead_workers`.
    `max_deleted_share`: a new snapshot deleting more of the current one is held;
    `limits`: the bounds of reading one file (sources.bounds);
    `progress(bytes done, bytes in all)`: called before the first new file and after each;
    `hash_cache`: the file of sources.inbox.HashCache (None: every file is hashed)."""
    cache = HashCache(hash_cache) if hash_cache is not None else None
    files, unreadable = discover(inbox, cache)
    if cache is not None:
        cache.save()
    reopened = manifest.reopen_stale_duplicates(conn, {(f.rel_path, f.sha256) for f in files})
    known = manifest.known_files(conn)
    ordered = _order(files, registry, loaded_at.date())
    plan = _read_plan(ordered, known, registry)
    if workers is None:
        workers = read_ahead_workers([f.size for f, _, _ in plan], prefetch.default_workers())
    recorded = None if progress is None else _bytes_progress(
        progress, [f for f, _ in ordered if not known.seen(f.rel_path, f.sha256)])
    # With workers, they read the plain CSVs natively too, each in its own DuckDB, and hand the
    # rows over as Parquet files in `scratch` (native_intake.read_ahead); without, the loader does.
    with tempfile.TemporaryDirectory(prefix="itp-read-ahead-") as scratch:
        reader = functools.partial(native_intake.read_ahead, scratch=scratch) if native else prefetch.read_whole
        ahead = prefetch.Prefetcher(plan, workers, limits, reader=reader)
        try:
            return _ingest(conn, ordered, unreadable, known, registry, load_id, loaded_at, ahead,
                           max_deleted_share, limits, reopened, recorded, native)
        finally:
            ahead.close()


def _bytes_progress(report: Callable[[int, int], None], new_files: list[InboxFile]) -> Callable[[str], None]:
    """progress(path of a recorded file) -> report(bytes of the new files recorded, bytes in all)."""
    sizes = {f.rel_path: f.size for f in new_files}
    total, done = sum(sizes.values()), 0
    report(0, total)

    def recorded(path: str) -> None:
        nonlocal done
        done += sizes.pop(path, 0)
        report(done, total)

    return recorded


def _ingest(conn, ordered, unreadable, known: manifest.KnownFiles, registry: SiteRegistry, load_id: str,
            loaded_at: datetime, ahead: prefetch.Prefetcher, max_deleted_share: float,
            limits: ReadLimits | None, reopened: dict[str, str],
            recorded: Callable[[str], None] | None, native: bool) -> IntakeReport:
    outcomes: list[ManifestEntry] = []
    natively: list[str] = []

    def record(out: ManifestEntry, name: ExportName | None) -> None:
        if out.file_path in reopened and out.status in ("loaded", "superseded", "held"):
            note = (f"received again: it was marked duplicate under the hash-only identity "
                    f"({reopened[out.file_path]})")
            out.reason = f"{out.reason}; {note}" if out.reason else note
        manifest.record(conn, out, name, load_id=load_id, loaded_at=loaded_at)
        outcomes.append(out)
        if recorded is not None:
            recorded(out.file_path)
        parsed = name if isinstance(name, ExportName) else None
        known.add(out.file_path, out.sha256, parsed.site if parsed else None, parsed.domain if parsed else None)

    for entry in unreadable:
        if not known.seen(entry.rel_path, entry.sha256):
            record(ManifestEntry(entry.rel_path, "refused", entry.reason, sha256=entry.sha256,
                                 reason_code=entry.code), None)

    for f, name in ordered:
        if known.seen(f.rel_path, f.sha256):
            continue  # not a new arrival: a second load of the same inbox changes nothing
        parsed = name if isinstance(name, ExportName) else None
        first = known.path_of(f.sha256, parsed.site if parsed else None, parsed.domain if parsed else None)
        if first is not None:
            record(ManifestEntry(f.rel_path, "duplicate", f"same content as {first}, already received",
                                 sha256=f.sha256, reason_code=rc.SNAPSHOT_DUPLICATE), parsed)
            continue
        if isinstance(name, FileRefused):
            record(ManifestEntry(f.rel_path, "refused", name.reason, sha256=f.sha256, reason_code=name.code), None)
            continue
        out = ManifestEntry(f.rel_path, "loaded", site_id=name.site, domain=name.domain, sha256=f.sha256)
        current = manifest.current_export_date(conn, name.site, name.domain)
        if current is not None and name.export_date < current:
            out.status = "superseded"
            out.reason = (f"export date {name.export_date} is older than the current snapshot "
                          f"({current}); kept in history, not used")
            out.reason_code = rc.SNAPSHOT_SUPERSEDED
        conn.execute("BEGIN TRANSACTION")
        try:
            cut_short, read_natively = _load_file(conn, f, name, registry, out, load_id, ahead.take(f), limits,
                                                  native)
            _hold_at_arrival(conn, name, out, cut_short, max_deleted_share)
        except FileRefused as refused:
            conn.execute("ROLLBACK")
            record(ManifestEntry(f.rel_path, "refused", refused.reason, name.site, name.domain,
                                 f.sha256, reason_code=refused.code), name)
            continue
        except Exception as exc:  # an unreadable file must never stop the other files
            conn.execute("ROLLBACK")
            # The exception text may quote a cell (an identifier): only its type is kept.
            kind = exc.kind if isinstance(exc, prefetch.ReadFailed) else type(exc).__name__
            log.error("file %s could not be stored: %s", f.rel_path, kind)
            record(ManifestEntry(f.rel_path, "refused",
                                 f"the file could not be stored ({kind}); nothing of it was "
                                 "loaded: send it to the warehouse team", name.site, name.domain, f.sha256,
                                 reason_code=rc.FILE_STORE_FAILED), name)
            continue
        record(out, name)
        manifest.refresh_current(conn, name.site, name.domain)
        conn.execute("COMMIT")
        if read_natively:
            natively.append(out.file_path)
    manifest.refresh_current(conn)
    return IntakeReport(load_id, outcomes, natively)


def default_cutoff(conn: duckdb.DuckDBPyConnection) -> date | None:
    """endpoints.md §1: the latest export date seen. A `duplicate` counts: an unchanged
    cumulative export under a newer date (same bytes) still says the data hold up to then."""
    row = conn.execute(
        "SELECT max(export_date) FROM quality.file_manifest WHERE status <> 'refused'"
    ).fetchone()
    return row[0] if row else None


def last_cutoff(conn: duckdb.DuckDBPyConnection) -> date | None:
    """The cutoff of the last published load (None on the first load)."""
    row = conn.execute(
        "SELECT cutoff_date FROM quality.load_log ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    return row[0] if row else None


def resolve_cutoff(conn: duckdb.DuckDBPyConnection, requested: str | None) -> date | None:
    if requested:
        return date.fromisoformat(requested)
    return default_cutoff(conn)


@dataclass
class PostIntakeOutcome:
    passed: bool
    metadata: dict


def _cross_domain(conn: duckdb.DuckDBPyConnection, load_id: str) -> None:
    for domain, failures in schemas.check_cross_domain(conn).items():
        if len(failures):
            quarantine.move_to_quarantine(conn, domain, failures, load_id)


def run_post_intake_checks(conn: duckdb.DuckDBPyConnection, report: IntakeReport,
                           docs_dir: Path, max_failing_share: float = 0.2) -> PostIntakeOutcome:
    """Checks that need whole files or several domains, after every row is in: the Great
    Expectations lab suite and cross-domain consistency. Failing rows move to quarantine.
    Then a file that lost more than `max_failing_share` of its rows is held (ingest.holds),
    and, its site's previous snapshot being current again, the cross-domain checks run again."""
    from quality import expectations  # great_expectations is slow to import

    lab = expectations.run_lab_expectations(conn, load_id=report.load_id,
                                            sha256s=report.new_sha256s, docs_dir=docs_dir)
    if len(lab.failures):
        quarantine.move_to_quarantine(conn, "labs", lab.failures, report.load_id)
    check_results.record(conn, lab.check_results)
    _cross_domain(conn, report.load_id)
    held = holds.hold_failing_files(conn, report.load_id, max_failing_share)
    if held:
        _cross_domain(conn, report.load_id)
        for entry in report.files:
            if entry.file_path in held:
                entry.status = "held"
    _record_row_checks(conn, report)
    failed = [r for r in lab.check_results if not r.passed]
    return PostIntakeOutcome(
        passed=not failed,
        metadata={
            "rows_quarantined": len(lab.failures),
            "failed_expectations": ", ".join(sorted({r.check_name for r in failed})) or "none",
            "data_docs": str(lab.data_docs_index) if lab.data_docs_index else "not written",
        },
    )


def _record_row_checks(conn: duckdb.DuckDBPyConnection, report: IntakeReport) -> None:
    """One pandera check_result per domain and load: rows read vs rows quarantined."""
    rows = conn.execute(
        """SELECT domain, sum(rows_read), sum(rows_quarantined) FROM quality.file_manifest
           WHERE load_id = ? AND status IN ('loaded', 'superseded', 'held') GROUP BY domain""",
        [report.load_id],
    ).fetchall()
    check_results.record(conn, [
        check_results.CheckResult(
            load_id=report.load_id, check_name="row_checks", tool="pandera", target=f"raw.{domain}",
            severity="warn", rows_checked=int(read), rows_failed=int(failed), passed=failed == 0,
        )
        for domain, read, failed in rows
    ])


def start_load_log(conn: duckdb.DuckDBPyConnection, report: IntakeReport, cutoff: date | None,
                   study_id: str | None = None) -> None:
    """The load's row; its cutoff and study id are what dbt builds this load with (macros
    cutoff_date and study_id)."""
    conn.execute(
        """INSERT INTO quality.load_log (load_id, started_at, cutoff_date, files_seen, files_new,
             rows_accepted, rows_quarantined, status, study_id)
           SELECT ?, now(), ?, (SELECT count(*) FROM quality.file_manifest), ?,
                  coalesce(sum(rows_accepted), 0), coalesce(sum(rows_quarantined), 0), 'building', ?
           FROM quality.file_manifest WHERE load_id = ?""",
        [report.load_id, cutoff, len(report.files), study_id or None, report.load_id],
    )


def finish_load_log(conn: duckdb.DuckDBPyConnection, load_id: str, status: str) -> None:
    conn.execute("UPDATE quality.load_log SET finished_at = now(), status = ? WHERE load_id = ?",
                 [status, load_id])


@dataclass
class CheckSummary:
    accepted: dict[str, int]
    quarantined: dict[str, int]
    by_check: dict[str, dict[str, int]]


def check_summary(conn: duckdb.DuckDBPyConnection, load_id: str) -> CheckSummary:
    accepted = dict(conn.execute(
        "SELECT domain, sum(rows_accepted)::BIGINT FROM quality.file_manifest WHERE load_id = ? GROUP BY domain",
        [load_id]).fetchall())
    quarantined = dict(conn.execute(
        "SELECT domain, sum(rows_quarantined)::BIGINT FROM quality.file_manifest WHERE load_id = ? GROUP BY domain",
        [load_id]).fetchall())
    by_check: dict[str, dict[str, int]] = {}
    for domain, check, n in conn.execute(
        "SELECT domain, check_name, count(*) FROM quality.quarantine WHERE load_id = ? GROUP BY ALL",
        [load_id]).fetchall():
        by_check.setdefault(domain, {})[check] = int(n)
    return CheckSummary({k: int(v or 0) for k, v in accepted.items() if k},
                        {k: int(v or 0) for k, v in quarantined.items() if k}, by_check)
