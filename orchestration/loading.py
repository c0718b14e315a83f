"""Run one load: the `nightly_load` job of the Dagster definitions, in process, recorded in
the Dagster instance under HOME. The CLI and the tests use this; the schedule and the sensor
launch the very same job."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from orchestration import exits
from orchestration.alerting import CLI_ALERTS_TAG, alert_failed_load, only_postgres_failed, step_failure_reasons
from orchestration.assets.postgres import POSTGRES_KEY
from orchestration.assets.publish import PUBLISHED_KEY
from orchestration.definitions import NIGHTLY_JOB, build_definitions
from orchestration.publishing import WarehouseHome, discard_candidate
from orchestration.resources import WarehouseSettings
from orchestration.status import dagster_instance_dir

DAGSTER_YAML = """\
# Dagster instance of this warehouse home (runs, event log, schedules): SQLite by default.
# For a team, point run/event storage at PostgreSQL (dagster-postgres): see README.
telemetry:
  enabled: false
"""


@dataclass
class LoadOutcome:
    load_id: str
    status: str                       # published | unchanged | failed
    messages: list[str] = field(default_factory=list)
    exit_code: int = exits.OK
    postgres_failed: bool = False     # published to DuckDB, but PostgreSQL still serves the last load

    @property
    def ok(self) -> bool:
        return self.status in ("published", "unchanged")


def dagster_instance(home: Path) -> dg.DagsterInstance:
    """The instance under HOME/dagster, unless DAGSTER_HOME already names one."""
    instance_dir = dagster_instance_dir(home)
    instance_dir.mkdir(parents=True, exist_ok=True)
    config = instance_dir / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return dg.DagsterInstance.from_config(str(instance_dir))


def _run_config(verbose: bool) -> dict:
    """Dagster's console log: every event with --verbose (stack traces of failed steps included);
    otherwise none: the CLI says how the load ended in one line, and the whole run log stays
    in the Dagster instance (`itp-warehouse status`, `dagster dev`)."""
    return {"loggers": {"console": {"config": {"log_level": "DEBUG" if verbose else "CRITICAL"}}}}


def _postgres_sentence(materialization: dg.AssetMaterialization) -> str:
    meta = {k: v.value for k, v in materialization.metadata.items()}
    return f"PostgreSQL ({meta['target']}): load {meta['load_id']} {meta['status']} ({meta['rows']:,} rows)"


def run_load(settings: WarehouseSettings, verbose: bool = False) -> LoadOutcome:
    home = Path(settings.home)
    home.mkdir(parents=True, exist_ok=True)
    job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
    with dagster_instance(home) as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=_run_config(verbose),
                                        tags={CLI_ALERTS_TAG: "true"})
    if not result.success:
        discard_candidate(WarehouseHome(home), result.run_id)   # a rejected one was moved aside already
        messages = step_failure_reasons(result.all_events) or ["the load failed (see the Dagster run log)"]
        duckdb_published = only_postgres_failed(result.all_events)
        alert_failed_load(result.run_id, messages, duckdb_published=duckdb_published)
        if duckdb_published:
            return LoadOutcome(result.run_id, "published", messages, postgres_failed=True)
        return LoadOutcome(result.run_id, "failed", messages, exits.exit_code_of(result.all_events))
    materialized = {e.event_specific_data.materialization.asset_key: e.event_specific_data.materialization
                    for e in result.get_asset_materialization_events()}
    if PUBLISHED_KEY in materialized:
        postgres = materialized.get(POSTGRES_KEY)
        return LoadOutcome(result.run_id, "published", [_postgres_sentence(postgres)] if postgres else [])
    return LoadOutcome(result.run_id, "unchanged",
                       ["no new file in the inbox and the same cutoff: the published warehouse is unchanged"])
