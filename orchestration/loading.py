"""Run one load: the `nightly_load` job of the Dagster definitions, in process, recorded in
the Dagster instance under HOME. The CLI and the tests use this; the schedule and the sensor
launch the very same job."""
from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import dagster as dg

from orchestration import exits, progress
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
    log_file: Path | None = None      # HOME/logs/<load_id>.log: the load's full Dagster and dbt log

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


# Dagster's whole event log (with the stack traces of failed steps) goes to the console logger,
# which writes to stderr: into the load's log file, and on the terminal too with --verbose.
RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "DEBUG"}}}}


class _Tee:
    """A text stream writing to several (the terminal and the log file, with --verbose)."""

    def __init__(self, *streams: TextIO) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()

    def isatty(self) -> bool:
        return False


@contextmanager
def full_log(path: Path, echo: bool) -> Iterator[None]:
    """Everything written to stdout and stderr inside (Dagster's event log, dbt's lines as
    dagster-dbt re-emits them, warnings) goes to `path`, and with `echo` to the terminal too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as log:
        out, err = (_Tee(sys.stdout, log), _Tee(sys.stderr, log)) if echo else (log, log)
        with redirect_stdout(out), redirect_stderr(err):
            yield


def _postgres_sentence(materialization: dg.AssetMaterialization) -> str:
    meta = {k: v.value for k, v in materialization.metadata.items()}
    return f"PostgreSQL ({meta['target']}): load {meta['load_id']} {meta['status']} ({meta['rows']:,} rows)"


def run_load(settings: WarehouseSettings, verbose: bool = False, console=None) -> LoadOutcome:
    """One load. Its full log goes to HOME/logs/<load_id>.log (and to the terminal with
    `verbose`); `console` (orchestration.console.LoadConsole) shows its stages meanwhile."""
    home = Path(settings.home)
    home.mkdir(parents=True, exist_ok=True)
    load_id = str(uuid.uuid4())
    log_file = WarehouseHome(home).log_file(load_id)
    if console is not None:
        console.start(load_id, log_file)
    with full_log(log_file, echo=verbose), \
            progress.reporting_ingest(console.ingest_progress if console is not None else None):
        job = build_definitions(settings).resolve_job_def(NIGHTLY_JOB)
        with dagster_instance(home) as instance:
            if console is not None:
                instance.add_event_listener(load_id, console.on_event)
            result = job.execute_in_process(instance=instance, run_id=load_id, raise_on_error=False,
                                            run_config=RUN_CONFIG, tags={CLI_ALERTS_TAG: "true"})
    outcome = _outcome(result, home)
    outcome.log_file = log_file
    return outcome


def _outcome(result: dg.ExecuteInProcessResult, home: Path) -> LoadOutcome:
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
    if materialized:
        # The build ran, yet the publish step was skipped (a dependency it waits for was not
        # yielded): never report that as "unchanged".
        discard_candidate(WarehouseHome(home), result.run_id)
        return LoadOutcome(result.run_id, "failed",
                           ["the warehouse was built but its publish step did not run (a step it depends on "
                            "was skipped): nothing was published; the full log says which"], exits.INTERNAL)
    return LoadOutcome(result.run_id, "unchanged",
                       ["no new file in the inbox and the same cutoff: the published warehouse is unchanged"])
