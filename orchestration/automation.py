"""When loads run without anyone at the keyboard: the nightly schedule, the inbox sensor and
the run-failure sensor that tells monitors. Schedules and sensors start RUNNING (Dagster's
default is STOPPED, stack-notes pitfall 20), so enabling the daemon is enough."""

import hashlib
import json
import os
from pathlib import Path

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition as JobTarget

from orchestration.resources import WarehouseSettings

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "Asia/Shanghai"


def nightly_schedule(job: JobTarget) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="nightly_load_schedule", job=job,
        cron_schedule=os.environ.get("ITP_SCHEDULE_CRON", DEFAULT_CRON),
        execution_timezone=os.environ.get("ITP_SCHEDULE_TIMEZONE", DEFAULT_TIMEZONE),
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="The nightly load of everything new in the inbox.",
    )


def new_content(known: set[str], hashes: list[str]) -> list[str]:
    """Content hashes never seen before: a resend (same bytes) is not new."""
    return sorted({h for h in hashes if h not in known})


def inbox_sensor(job: JobTarget) -> dg.SensorDefinition:
    @dg.sensor(name="inbox_sensor", job=job, minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Starts a load when a file with new content appears in the inbox.")
    def _sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseSettings):
        from sources.inbox import discover

        known = set(json.loads(context.cursor)) if context.cursor else set()
        files, _ = discover(Path(warehouse.inbox))
        new = new_content(known, [f.sha256 for f in files])
        if not new:
            return dg.SkipReason("no new content in the inbox")
        run_key = hashlib.sha256("".join(new).encode()).hexdigest()[:16]
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=f"inbox-{run_key}", tags={"itp/trigger": "inbox",
                                                                           "itp/new_files": str(len(new))})],
            cursor=json.dumps(sorted(known | set(new))),
        )

    return _sensor


def failure_sensor(job: JobTarget) -> dg.SensorDefinition:
    @dg.run_failure_sensor(name="load_failure_alert", monitored_jobs=[job],
                           default_status=dg.DefaultSensorStatus.RUNNING,
                           description="Tells the monitors (ITP_ALERT_URLS) that a load failed and why.")
    def _sensor(context: dg.RunFailureSensorContext):
        from orchestration.alerting import CLI_ALERTS_TAG, alert_failed_load

        if context.dagster_run.tags.get(CLI_ALERTS_TAG):
            return
        reason = context.failure_event.message or "the load failed"
        step_failures = [e.message for e in context.get_step_failure_events() if e.message]
        alert_failed_load(context.dagster_run.run_id, step_failures or [reason])

    return _sensor
