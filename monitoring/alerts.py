"""One message per load for the study monitors: what went wrong, where, and what was published.

Built from the tables of the candidate (manifest, quarantine, check results, site queries and,
when dbt built it, marts.safety_signal) so the alert says exactly what the warehouse says.
Sent with apprise to the URLs the caller passes (env ITP_ALERT_URLS). Those URLs carry
credentials: they are never logged, printed or put into an exception message, and apprise's
own logging is muted while sending because it may echo them.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import duckdb

from quality.records import rows_text

log = logging.getLogger(__name__)

MAX_SIGNAL_LINES = 50


@dataclass(frozen=True)
class Alert:
    title: str
    body: str


def _table_exists(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table]).fetchone()[0] > 0


def _load_status(conn: duckdb.DuckDBPyConnection, load_id: str) -> str | None:
    if not _table_exists(conn, "quality", "load_log"):
        return None
    row = conn.execute("SELECT status FROM quality.load_log WHERE load_id = ?", [load_id]).fetchone()
    return row[0] if row else None


def _safety_signals(conn: duckdb.DuckDBPyConnection, load_id: str) -> list[tuple]:
    """Signals found in the files this load received (each new snapshot is complete, so its
    signals are listed again: monitors see every signal of the data they are sent)."""
    if not _table_exists(conn, "marts", "safety_signal"):
        return []
    return conn.execute(
        """SELECT s.site_id, s.subject_id, s.signal, s.signal_date, s.value, s.detail, s.source_file
           FROM marts.safety_signal AS s
           WHERE s.source_file IN (SELECT file_path FROM quality.file_manifest WHERE load_id = ?)
           ORDER BY s.site_id, s.subject_id, s.signal_date, s.signal""", [load_id]).fetchall()


def _publication_line(status: str | None, published: bool | None) -> tuple[str, bool]:
    """(sentence, is_a_problem)."""
    if published is None and status in ("published", "rejected"):
        published = status == "published"
    if published is True:
        return "The load was PUBLISHED: analysts now see this data.", False
    if published is False:
        return "The load was NOT published: the previous warehouse stays in place.", True
    return "Publication of this load was not decided yet.", False


def build_load_alert(conn: duckdb.DuckDBPyConnection, load_id: str, *, data_docs: Path | None,
                     published: bool | None = None) -> Alert | None:
    """The monitors' message for a load, or None when the load had nothing to report.
    `published` overrides what quality.load_log says (for a caller that decided just now)."""
    refused = conn.execute(
        """SELECT file_path, reason FROM quality.file_manifest
           WHERE load_id = ? AND status = 'refused' ORDER BY file_path""", [load_id]).fetchall()
    held = conn.execute(
        """SELECT file_path, reason FROM quality.file_manifest
           WHERE load_id = ? AND status = 'held' ORDER BY file_path""", [load_id]).fetchall()
    released = (conn.execute(
        """SELECT file_path, released_by, released_at FROM quality.file_release
           WHERE applied_load_id = ? ORDER BY file_path""", [load_id]).fetchall()
        if _table_exists(conn, "quality", "file_release") else [])
    quarantined = conn.execute(
        """SELECT site_id, check_name, count(DISTINCT (sha256, source_row)) AS n_rows,
                  string_agg(DISTINCT file_name, ', ' ORDER BY file_name)
           FROM quality.quarantine WHERE load_id = ? GROUP BY ALL
           ORDER BY site_id, n_rows DESC, check_name""", [load_id]).fetchall()
    failed_checks = conn.execute(
        """SELECT severity, tool, check_name, target, rows_failed, details FROM quality.check_result
           WHERE load_id = ? AND NOT passed ORDER BY severity, tool, check_name, target""",
        [load_id]).fetchall()
    queries = conn.execute(
        """SELECT site_id, count(*) FILTER (WHERE status = 'open' AND opened_load_id = ?),
                  count(*) FILTER (WHERE status = 'resolved' AND resolved_load_id = ?),
                  count(*) FILTER (WHERE status = 'open')
           FROM quality.site_query GROUP BY site_id ORDER BY site_id""", [load_id, load_id]).fetchall()
    signals = _safety_signals(conn, load_id)
    publication, not_published = _publication_line(_load_status(conn, load_id), published)

    if not (refused or held or released or quarantined or failed_checks or signals or not_published):
        return None

    lines = [f"Load {load_id}", publication, ""]
    if held:
        lines.append(f"Files held, not made current ({len(held)}; the site's previous snapshot stays current):")
        lines += [f"- {path}: {reason}" for path, reason in held]
        lines.append("")
    if released:
        lines.append(f"Held files released and loaded ({len(released)}):")
        lines += [f"- {path}: released by {who} at {when:%Y-%m-%d %H:%M} UTC" for path, who, when in released]
        lines.append("")
    if refused:
        lines.append(f"Files refused ({len(refused)}):")
        lines += [f"- {path}: {reason}" for path, reason in refused]
        lines.append("")
    if quarantined:
        total = sum(n for _, _, n, _ in quarantined)
        lines.append(f"Rows quarantined by site and check ({total} row-check pairs):")
        lines += [f"- site {site}: {check}: {rows_text(n)} (files: {files})" for site, check, n, files in quarantined]
        lines.append("")
    if failed_checks:
        lines.append(f"Failed checks ({len(failed_checks)}):")
        for severity, tool, check, target, n, details in failed_checks:
            count = f", {n} failing" if n else ""
            lines.append(f"- [{severity}] {tool} {check} on {target}{count}" + (f": {details}" if details else ""))
        lines.append("")
    if any(opened or resolved for _, opened, resolved, _ in queries):
        lines.append("Site queries:")
        lines += [f"- site {site}: {opened} opened, {resolved} resolved, {still} open in total"
                  for site, opened, resolved, still in queries if opened or resolved]
        lines.append("")
    if signals:
        lines.append(f"Safety signals in the data of this load ({len(signals)}):")
        for site, subject, signal, when, value, detail, source in signals[:MAX_SIGNAL_LINES]:
            value_text = "" if value is None else f" value {value}"
            lines.append(f"- site {site}, subject {subject}: {signal} on {when}{value_text}"
                         + (f" ({detail})" if detail else "") + f" [{source}]")
        if len(signals) > MAX_SIGNAL_LINES:
            lines.append(f"- ... and {len(signals) - MAX_SIGNAL_LINES} more in marts.safety_signal")
        lines.append("")
    lines.append(f"Great Expectations Data Docs: {data_docs}" if data_docs else "No Data Docs were written for this load.")

    sites = sorted({s for s, *_ in quarantined if s})
    summary = []
    if not_published:
        summary.append("NOT published")
    if held:
        summary.append(f"{len(held)} file(s) held")
    if released:
        summary.append(f"{len(released)} held file(s) released")
    if refused:
        summary.append(f"{len(refused)} file(s) refused")
    if quarantined:
        summary.append("rows quarantined at " + ", ".join(sites) if sites else "rows quarantined")
    if failed_checks:
        summary.append(f"{len(failed_checks)} check(s) failed")
    if signals:
        summary.append(f"{len(signals)} safety signal(s)")
    return Alert(title=f"itp-warehouse load {load_id}: " + "; ".join(summary), body="\n".join(lines).rstrip() + "\n")


@contextlib.contextmanager
def _apprise_muted() -> Iterator[None]:
    logger = logging.getLogger("apprise")
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.CRITICAL + 1)
    logger.propagate = False
    try:
        yield
    finally:
        logger.setLevel(level)
        logger.propagate = propagate


def send_alert(alert: Alert, urls: list[str]) -> bool:
    """Send to every URL; True only if every destination accepted it."""
    return bool(urls) and not undelivered(alert, urls)


def undelivered(alert: Alert, urls: list[str]) -> list[int]:
    """Send to every URL; the positions (1 = the first of ITP_ALERT_URLS) that did not take it.
    Failures are logged by position (destination #2), never by URL: the URL holds the secret."""
    if not urls:
        return []
    import apprise

    failed: list[int] = []
    with _apprise_muted():
        for position, url in enumerate(urls, start=1):
            notifier = apprise.Apprise()
            try:
                if not notifier.add(url):
                    log.error("alert destination #%d of ITP_ALERT_URLS is not a valid apprise URL", position)
                    failed.append(position)
                    continue
                sent = notifier.notify(title=alert.title, body=alert.body,
                                       body_format=apprise.NotifyFormat.TEXT)
            except Exception as exc:  # noqa: BLE001 - the message may contain the URL: log its type only
                log.error("alert to destination #%d failed (%s)", position, type(exc).__name__)
                failed.append(position)
                continue
            if not sent:
                log.error("alert to destination #%d was not accepted", position)
                failed.append(position)
    return failed
