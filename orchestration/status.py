"""`itp-warehouse status`: what a data engineer on call needs to see first. Which loads ran
and how they ended (the warehouse's own load log and the Dagster run history), what the
published file is, which site queries are open, which checks failed, and which candidates
were refused. Everything is read; nothing under HOME is created or changed."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import yaml

from orchestration.publishing import WarehouseHome
from ingest import holds

RECENT = 10          # loads and runs shown
CHECK_LINES = 10     # failed checks shown per load
REJECTED_DIR = "rejected"
FILE_STATUSES = ("loaded", "duplicate", "superseded", "refused", "held")


@dataclass(frozen=True)
class FailedCheck:
    severity: str
    tool: str
    check_name: str
    target: str
    rows_failed: int | None
    details: str | None

    def line(self) -> str:
        count = f", {self.rows_failed} failing" if self.rows_failed else ""
        text = f"[{self.severity}] {self.tool} {self.check_name} on {self.target}{count}"
        return f"{text}: {self.details}" if self.details else text


@dataclass(frozen=True)
class LoadRecord:
    """One row of quality.load_log with the fate of the files that load received."""
    load_id: str
    started_at: datetime | None
    cutoff: date | None
    status: str | None
    rows_accepted: int | None
    rows_quarantined: int | None
    files: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RunLine:
    """One Dagster run, with the reasons of its failed steps."""
    run_id: str
    job: str
    status: str
    started_at: datetime | None
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RejectedCandidate:
    path: Path
    load_id: str
    rejected_at: datetime
    load: LoadRecord | None
    failed_checks: list[FailedCheck]
    error: str | None = None


@dataclass
class WarehouseStatus:
    home: WarehouseHome
    published: bool
    current_version: Path | None = None
    versions: list[Path] = field(default_factory=list)
    loads: list[LoadRecord] = field(default_factory=list)
    open_queries: dict[str, int] = field(default_factory=dict)
    held: list[holds.HeldFile] = field(default_factory=list)
    releases: list[holds.ReleaseRequest] = field(default_factory=list)   # pending: the next load applies them
    failed_checks: list[FailedCheck] = field(default_factory=list)
    instance_dir: Path | None = None
    runs: list[RunLine] = field(default_factory=list)
    runs_error: str | None = None
    rejected: list[RejectedCandidate] = field(default_factory=list)
    error: str | None = None

    @property
    def last_published(self) -> LoadRecord | None:
        return next((load for load in self.loads if load.status == "published"), None)


def dagster_instance_dir(home: Path) -> Path:
    """Where the loads of this HOME record their runs: DAGSTER_HOME when set (a team's shared
    instance), else HOME/dagster. The same rule as `loading.dagster_instance`."""
    return Path(os.environ.get("DAGSTER_HOME") or home / "dagster")


def _tables(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """Tables present: an old or half-built file may lack some, and status must still answer."""
    return {f"{s}.{t}" for s, t in conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables").fetchall()}


def _loads(conn: duckdb.DuckDBPyConnection, tables: set[str], *, load_id: str | None = None) -> list[LoadRecord]:
    if "quality.load_log" not in tables:
        return []
    where, params = ("WHERE load_id = ?", [load_id]) if load_id else ("", [])
    rows = conn.execute(
        f"""SELECT load_id, started_at, cutoff_date, status, rows_accepted, rows_quarantined
            FROM quality.load_log {where} ORDER BY started_at DESC LIMIT {RECENT}""", params).fetchall()
    files: dict[str, dict[str, int]] = {}
    if "quality.file_manifest" in tables and rows:
        for lid, status, n in conn.execute(
                "SELECT load_id, status, count(*) FROM quality.file_manifest WHERE load_id IN "
                f"({', '.join('?' * len(rows))}) GROUP BY ALL", [r[0] for r in rows]).fetchall():
            files.setdefault(lid, {})[status] = n
    return [LoadRecord(*row, files=files.get(row[0], {})) for row in rows]


def _failed_checks(conn: duckdb.DuckDBPyConnection, tables: set[str], load_id: str) -> list[FailedCheck]:
    if "quality.check_result" not in tables:
        return []
    rows = conn.execute(
        """SELECT severity, tool, check_name, target, rows_failed, details FROM quality.check_result
           WHERE load_id = ? AND NOT passed
           ORDER BY severity = 'error' DESC, tool, check_name, target""", [load_id]).fetchall()
    return [FailedCheck(*row) for row in rows]


def _open_queries(conn: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, int]:
    if "quality.site_query" not in tables:
        return {}
    return dict(conn.execute(
        """SELECT coalesce(site_id, '(no site)'), count(*) FROM quality.site_query
           WHERE status = 'open' GROUP BY 1 ORDER BY 1""").fetchall())


def _read_published(status: WarehouseStatus) -> None:
    with duckdb.connect(str(status.home.published), read_only=True) as conn:
        tables = _tables(conn)
        status.loads = _loads(conn, tables)
        status.open_queries = _open_queries(conn, tables)
        if "quality.file_manifest" in tables:
            status.held = holds.outstanding(conn)
            status.releases = holds.pending(conn, holds.read_requests(status.home.root))
        last = status.last_published
        if last is not None:
            status.failed_checks = _failed_checks(conn, tables, last.load_id)


def _read_rejected(home: WarehouseHome) -> list[RejectedCandidate]:
    """Candidates a load refused to publish, newest first; named <load_id>.duckdb."""
    folder = home.root / REJECTED_DIR
    paths = sorted(folder.glob("*.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.is_dir() else []
    out = []
    for path in paths:
        when = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
        try:
            with duckdb.connect(str(path), read_only=True) as conn:
                tables = _tables(conn)
                loads = _loads(conn, tables, load_id=path.stem)
                checks = _failed_checks(conn, tables, path.stem)
        except duckdb.Error as exc:
            out.append(RejectedCandidate(path, path.stem, when, None, [], error=f"cannot be opened: {exc}"))
            continue
        out.append(RejectedCandidate(path, path.stem, when, loads[0] if loads else None, checks))
    return out


def _has_run_history(directory: Path) -> bool:
    """Whether opening the instance can show runs. Opening one that has no storage yet would
    create it, and status changes nothing: SQLite history must exist already; a dagster.yaml
    naming other storage (PostgreSQL) is opened as is."""
    if (directory / "history" / "runs.db").exists():
        return True
    config = directory / "dagster.yaml"
    if not config.exists():
        return False
    settings = yaml.safe_load(config.read_text()) or {}
    return isinstance(settings, dict) and any(k in settings for k in ("storage", "run_storage"))


def _read_runs(status: WarehouseStatus) -> None:
    """The last runs of the Dagster instance, with the reasons of failed steps."""
    directory = dagster_instance_dir(status.home.root)
    if not _has_run_history(directory):
        return
    status.instance_dir = directory
    import dagster as dg

    from orchestration.alerting import step_failure_reasons

    try:
        with dg.DagsterInstance.from_config(str(directory)) as instance:
            for record in instance.get_run_records(limit=RECENT):
                run = record.dagster_run
                reasons = []
                if run.status == dg.DagsterRunStatus.FAILURE:
                    entries = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
                    reasons = step_failure_reasons(e.dagster_event for e in entries if e.dagster_event)
                started = datetime.fromtimestamp(record.start_time, timezone.utc) if record.start_time else None
                status.runs.append(RunLine(run.run_id, run.job_name, run.status.value, started, reasons))
    except Exception as exc:  # noqa: BLE001 - status must report, not crash, on a broken instance
        status.runs_error = f"{type(exc).__name__}: {exc}"


def collect_status(home: Path) -> WarehouseStatus:
    wh = WarehouseHome(home)
    status = WarehouseStatus(home=wh, published=wh.published.exists(), versions=wh.versions())
    if status.published:
        status.current_version = wh.current_version()
        try:
            _read_published(status)
        except duckdb.Error as exc:
            status.error = f"the published warehouse {wh.published} cannot be read: {exc}"
    status.rejected = _read_rejected(wh)
    _read_runs(status)
    return status


def _when(value: datetime | None) -> str:
    if value is None:
        return "(not started)"
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")  # load_log times are naive UTC


def _load_line(load: LoadRecord) -> str:
    files = ", ".join(f"{load.files.get(s, 0)} {s}" for s in FILE_STATUSES)
    rows = f"{load.rows_accepted or 0} rows accepted, {load.rows_quarantined or 0} quarantined"
    return (f"{_when(load.started_at)}  load {load.load_id}  {load.status or 'unfinished'}  "
            f"cutoff {load.cutoff or '-'}  files: {files}  {rows}")


def _published_lines(status: WarehouseStatus) -> list[str]:
    wh = status.home
    lines = [f"Published warehouse: {wh.published}"]
    if status.current_version is not None:
        lines.append(f"  version {status.current_version.relative_to(wh.root)}")
    else:
        lines.append("  the published file is none of the kept versions (rollback cannot start from it)")
    lines.append(f"  {len(status.versions)} version(s) kept under {wh.versions_dir}")
    last = status.last_published
    if last is not None:
        lines.append(f"  published by load {last.load_id}, data cutoff {last.cutoff}")
    return lines


def _section(title: str, body: list[str], empty: str) -> list[str]:
    return ["", title, *(f"  {line}" for line in body)] if body else ["", title, f"  {empty}"]


def _held_lines(status: WarehouseStatus) -> list[str]:
    requested = {r.file_path: r for r in status.releases}
    lines = []
    for held in status.held:
        lines.append(f"{held.file_path} (site {held.site_id}, {held.domain}, load {held.load_id}): {held.reason}")
        if (r := requested.get(held.file_path)) is not None:
            lines.append(f"    release requested by {r.released_by} at {r.released_at:%Y-%m-%d %H:%M} UTC: "
                         "the next load makes it current")
    return lines


def render_status(status: WarehouseStatus) -> str:
    lines: list[str] = []
    if status.published:
        lines += _published_lines(status)
        if status.error:
            lines.append(f"  {status.error}")
        lines += _section("Loads recorded in the published warehouse (newest first):",
                          [_load_line(load) for load in status.loads], "none")
        last = status.last_published
        title = f"Failed checks of load {last.load_id}:" if last else "Failed checks of the last load:"
        checks = [c.line() for c in status.failed_checks[:CHECK_LINES]]
        if len(status.failed_checks) > CHECK_LINES:
            checks.append(f"... and {len(status.failed_checks) - CHECK_LINES} more in quality.check_result")
        lines += _section(title, checks, "none: every check passed")
        lines += _section("Open site queries by site:",
                          [f"{site}: {n}" for site, n in status.open_queries.items()], "none")
        lines += _section("Held files (not current: the site's previous snapshot is; a newer good snapshot "
                          "or `itp-warehouse release` clears them):", _held_lines(status), "none")
    if status.instance_dir is not None:
        runs = []
        for run in status.runs:
            note = " (still running, or its process was killed)" if run.status == "STARTED" else ""
            runs.append(f"{_when(run.started_at)}  run {run.run_id}  {run.job}  {run.status}{note}")
            runs += [f"    {reason}" for reason in run.reasons]
        if status.runs_error:
            runs.append(f"the run history cannot be read: {status.runs_error}")
        lines += _section(f"Dagster runs in {status.instance_dir} (newest first):", runs, "none")
    rejected = []
    for cand in status.rejected:
        rejected.append(f"{_when(cand.rejected_at)}  {cand.path}" + (f": {cand.error}" if cand.error else ""))
        if cand.load is not None:
            rejected.append(f"    {_load_line(cand.load)}")
        rejected += [f"    {c.line()}" for c in cand.failed_checks[:CHECK_LINES]]
    lines += _section(f"Rejected candidates under {status.home.root / REJECTED_DIR} (never published):",
                      rejected, "none")
    return "\n".join(lines).lstrip("\n") + "\n"


def print_status(home: Path) -> int:
    status = collect_status(home)
    if not status.published:
        print(f"Nothing is published yet: there is no {status.home.published}. Run "
              f"`itp-warehouse load --inbox DIR --sites sites.yaml --home {home}` (or let the "
              "nightly schedule run); what earlier attempts left is below.", file=sys.stderr)
    print(render_status(status), end="")
    return 0 if status.published and status.error is None else 1
