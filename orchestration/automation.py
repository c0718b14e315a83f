"""When loads run without anyone at the keyboard: the nightly schedule, the inbox sensor and
the run-failure sensor that tells monitors. Schedules and sensors start RUNNING (Dagster's
default is STOPPED, stack-notes pitfall 20), so enabling the daemon is enough."""

import hashlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition as JobTarget

from orchestration.alerting import CLI_ALERTS_TAG, alert_failed_load, only_postgres_failed, step_failure_reasons
from orchestration.resources import WarehouseSettings
from sources.inbox import IGNORED_FOLDERS, file_sha256
from sources.inbox import is_os_clutter
from sources.naming import snapshot_of

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_SETTLE_SECONDS = 60.0
SENSOR_INTERVAL_SECONDS = 60

# Dagster stores the cursor with every sensor tick (one a minute): 16 hex digits (64 bits) of
# each file's sha256 tell new content from old just as well and keep the cursor a third of
# the size. The load itself always compares full sha256s.
DIGEST_CHARS = 16
CURSOR_VERSION = 1


def nightly_schedule(job: JobTarget) -> dg.ScheduleDefinition:
    cron = os.environ.get("ITP_SCHEDULE_CRON", DEFAULT_CRON).strip()
    timezone = os.environ.get("ITP_SCHEDULE_TIMEZONE", DEFAULT_TIMEZONE).strip()
    try:
        return dg.ScheduleDefinition(
            name="nightly_load_schedule", job=job, cron_schedule=cron, execution_timezone=timezone,
            default_status=dg.DefaultScheduleStatus.RUNNING,
            description="The nightly load of everything new in the inbox.",
        )
    except dg.DagsterInvalidDefinitionError as exc:
        # Dagster names the schedule, not the setting the operator has to fix.
        raise dg.DagsterInvalidDefinitionError(
            f"{exc} Check ITP_SCHEDULE_CRON ({cron!r}; expected 5 cron fields such as "
            f"{DEFAULT_CRON!r}) and ITP_SCHEDULE_TIMEZONE ({timezone!r}; expected an IANA name "
            f"such as {DEFAULT_TIMEZONE!r}).") from exc


def settle_seconds() -> float:
    """How long a file must be left alone before a load may read it (env ITP_SENSOR_SETTLE_SECONDS)."""
    raw = os.environ.get("ITP_SENSOR_SETTLE_SECONDS", str(DEFAULT_SETTLE_SECONDS))
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"ITP_SENSOR_SETTLE_SECONDS={raw!r} is not a number of seconds >= 0")
    return value


@dataclass(frozen=True)
class Fingerprint:
    """What the sensor remembers of one inbox entry: while size and mtime are unchanged, the
    content is assumed unchanged and the file is not read again."""
    size: int
    mtime_ns: int
    digest: str


@dataclass
class InboxScan:
    entries: dict[str, Fingerprint] = field(default_factory=dict)  # settled entries by inbox path
    unsettled: list[str] = field(default_factory=list)             # still being written
    hashed: list[str] = field(default_factory=list)                # read this time (not cached)


def _walk(inbox: Path) -> list[Path]:
    """Every entry a load would look at (files, links, special files), without following
    links: the loader decides what to refuse; the sensor only notices that something came."""
    found = []
    for folder, dirnames, filenames in os.walk(inbox, followlinks=False):
        here = Path(folder)
        for name in list(dirnames):
            if name in IGNORED_FOLDERS or (here / name).is_symlink():
                dirnames.remove(name)
                if name not in IGNORED_FOLDERS:
                    found.append(here / name)
        found += [here / name for name in filenames if not is_os_clutter(name)]
    return found


def _digest(path: Path, info: os.stat_result) -> str:
    """Content digest of a regular file; other entries (links, FIFOs) are never opened: their
    kind and link text stand for them."""
    if path.is_symlink() or not path.is_file():
        target = os.readlink(path) if path.is_symlink() else ""
        return hashlib.sha256(f"{info.st_mode:o}\0{target}".encode()).hexdigest()[:DIGEST_CHARS]
    try:
        return file_sha256(path)[:DIGEST_CHARS]
    except OSError as exc:  # unreadable: the load will refuse it with the reason; still news
        return hashlib.sha256(f"unreadable\0{exc.errno}".encode()).hexdigest()[:DIGEST_CHARS]


def scan_inbox(inbox: Path, cache: dict[str, Fingerprint], *, now: float, settle: float) -> InboxScan:
    """Fingerprint the inbox, reading only files whose (size, mtime) differ from `cache`.
    An entry modified less than `settle` seconds before `now` is still being uploaded."""
    scan = InboxScan()
    for path in _walk(inbox):
        rel_path = path.relative_to(inbox).as_posix()
        try:
            info = path.lstat()
        except FileNotFoundError:  # removed while we looked: it is simply not there
            continue
        if now - info.st_mtime < settle:
            scan.unsettled.append(rel_path)
            continue
        known = cache.get(rel_path)
        if known and (known.size, known.mtime_ns) == (info.st_size, info.st_mtime_ns):
            scan.entries[rel_path] = known
            continue
        scan.entries[rel_path] = Fingerprint(info.st_size, info.st_mtime_ns, _digest(path, info))
        scan.hashed.append(rel_path)
    return scan


def parse_cursor(cursor: str | None) -> dict[str, Fingerprint]:
    """The entries of the last tick; anything unreadable (first tick, older cursor format)
    means "nothing seen yet": the worst case is one load that finds nothing new."""
    try:
        data = json.loads(cursor) if cursor else None
    except json.JSONDecodeError:
        return {}
    if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION:
        return {}
    return {path: Fingerprint(*values) for path, values in data.get("files", {}).items()}


def dump_cursor(entries: dict[str, Fingerprint]) -> str:
    files = {path: [f.size, f.mtime_ns, f.digest] for path, f in sorted(entries.items())}
    return json.dumps({"v": CURSOR_VERSION, "files": files}, separators=(",", ":"))


def snapshot_identity(rel_path: str, fingerprint: Fingerprint) -> tuple[str, str, str] | tuple[str]:
    """What tells one snapshot from another, as the load decides it (site-exports.md §1):
    (site, domain, content); (content,) for a name that is not an export name, which the load
    compares by content alone. Two sites' empty snapshots are the same bytes and still two
    snapshots."""
    parts = snapshot_of(rel_path.rsplit("/", 1)[-1])
    return (fingerprint.digest,) if parts is None else (*parts, fingerprint.digest)


def new_content(known: set[tuple[str, ...]], identities: list[tuple[str, ...]]) -> list[str]:
    """Snapshot identities never seen before, as text: a resend (same bytes, same site and
    domain, or a name that is not an export name) is not new."""
    digests = {identity[-1] for identity in known}
    return sorted({"/".join(i) for i in identities
                   if i not in known and (len(i) > 1 or i[-1] not in digests)})


def evaluate_inbox(inbox: Path, cursor: str | None, *, now: float, settle: float) -> dg.SensorResult | dg.SkipReason:
    """One tick of the inbox sensor, apart from Dagster so it can be reasoned about alone."""
    if not inbox.is_dir():
        return dg.SkipReason(f"the inbox {inbox} is not a folder: check ITP_INBOX")
    previous = parse_cursor(cursor)
    scan = scan_inbox(inbox, previous, now=now, settle=settle)
    if scan.unsettled:
        # No load while an upload is in progress: the load would read a half-written file.
        # The cursor stays as it was, so what is new now is still new at the next tick.
        shown = ", ".join(scan.unsettled[:5]) + (" ..." if len(scan.unsettled) > 5 else "")
        return dg.SkipReason(f"waiting for {len(scan.unsettled)} file(s) modified less than "
                             f"{settle:g} s ago (still being written?): {shown}")
    new = new_content({snapshot_identity(p, f) for p, f in previous.items()},
                      [snapshot_identity(p, f) for p, f in scan.entries.items()])
    cursor_now = dump_cursor(scan.entries)
    if not new:
        return dg.SensorResult(skip_reason=dg.SkipReason("no new content in the inbox"), cursor=cursor_now)
    run_key = hashlib.sha256("".join(new).encode()).hexdigest()[:16]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"inbox-{run_key}",
                                    tags={"itp/trigger": "inbox", "itp/new_files": str(len(new))})],
        cursor=cursor_now,
    )


def inbox_sensor(job: JobTarget) -> dg.SensorDefinition:
    @dg.sensor(name="inbox_sensor", job=job, minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Starts a load when a file with new content appears in the inbox and "
                           "no upload is in progress (ITP_SENSOR_SETTLE_SECONDS).")
    def _sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseSettings):
        return evaluate_inbox(Path(warehouse.inbox), context.cursor, now=time.time(), settle=settle_seconds())

    return _sensor


def failure_sensor(job: JobTarget) -> dg.SensorDefinition:
    @dg.run_failure_sensor(name="load_failure_alert", monitored_jobs=[job],
                           default_status=dg.DefaultSensorStatus.RUNNING,
                           description="Tells the monitors (ITP_ALERT_URLS) that a load failed and why.")
    def _sensor(context: dg.RunFailureSensorContext):
        if context.dagster_run.tags.get(CLI_ALERTS_TAG):
            return
        failures = context.get_step_failure_events()
        alert_failed_load(context.dagster_run.run_id,
                          step_failure_reasons(failures) or [context.failure_event.message or "the load failed"],
                          duckdb_published=only_postgres_failed(failures))

    return _sensor
