"""Monitors hear about every load that failed, by the URLs of ITP_ALERT_URLS (apprise). The
failure sensor and the CLI call the same function, so a run started either way alerts."""
from __future__ import annotations

import logging
import os
import re
from typing import Iterable

import dagster as dg

log = logging.getLogger(__name__)

# Runs started by the CLI alert by themselves; the failure sensor leaves them alone.
CLI_ALERTS_TAG = "itp/alerts_sent_by_cli"
POSTGRES_STEP = "published__postgres"  # the step of orchestration.assets.postgres

# "dagster._core.definitions.events.Failure: <sentence>": the prefix says nothing to a monitor.
_QUALIFIED_FAILURE = re.compile(r"^(?:\w+\.)+Failure: ")


def alert_urls() -> list[str]:
    return [u for u in re.split(r"[\s,]+", os.environ.get("ITP_ALERT_URLS", "")) if u]


def step_failure_reasons(events: Iterable[dg.DagsterEvent]) -> list[str]:
    """One line per failed step, `step: reason`. The load's assets raise dg.Failure with a
    sentence meant for people (its technical cause stays in the run log); any other exception
    reaches Dagster wrapped in a step execution error whose message names no cause, so its
    cause is the reason. Dagster's event message ("Execution of step X failed.") says nothing."""
    reasons = []
    for event in events:
        if not event.is_step_failure or event.step_failure_data.error is None:
            continue
        error = event.step_failure_data.error
        wrapped = error.cls_name != "Failure" and error.cause is not None and error.cause.message
        origin = error.cause if wrapped else error
        text = _QUALIFIED_FAILURE.sub("", (origin.message or "").strip())
        reasons.append(f"{event.step_key}: {text}" if text else f"{event.step_key}: {event.message}")
    return reasons


def only_postgres_failed(events: Iterable[dg.DagsterEvent]) -> bool:
    """The run failed in the PostgreSQL publication alone: it comes after the DuckDB
    publication, which therefore happened."""
    failed = {e.step_key for e in events if e.is_step_failure}
    return failed == {POSTGRES_STEP}


def alert_failed_load(load_id: str, reasons: list[str], *, duckdb_published: bool = False) -> bool:
    from monitoring.alerts import Alert, send_alert

    urls = alert_urls()
    if not urls:
        return False
    body = "\n".join(f"- {r}" for r in reasons)
    if duckdb_published:
        alert = Alert(title=f"itp-warehouse: load {load_id} published, its PostgreSQL publication FAILED",
                      body=f"The load {load_id} published the DuckDB warehouse; PostgreSQL still serves the "
                           f"previous load (`itp-warehouse publish-postgres` retries).\n\n{body}")
    else:
        alert = Alert(title=f"itp-warehouse: load {load_id} FAILED, nothing published",
                      body=f"The load {load_id} did not publish; the previous warehouse stays.\n\n{body}")
    sent = send_alert(alert, urls)
    log.info("failure alert for load %s %s", load_id, "sent" if sent else "NOT sent")
    return sent
