"""Dagster's own bookkeeping on PostgreSQL (dagster-postgres): the nightly job runs with its
run, event-log and schedule storage in the real server, and the CLI and Dagster's own
commands read it back from there. The load also publishes the warehouse to PostgreSQL
(ITP_POSTGRES_URL): the step `published/postgres` of a successful load."""
from __future__ import annotations

import os
import subprocess

import dagster as dg
import psycopg

from orchestration.alerting import POSTGRES_STEP
from orchestration.loading import run_load
from orchestration.resources import WarehouseSettings
from tests.conftest import BIN, REPO
from tests.orchestration.homes import add_changed_labs, copy_home, first_load
from tests.postgres.warehouse import live_load_id

# The URL comes from the environment, never from the file (operations.md, "Team setup").
DAGSTER_YAML = """\
telemetry:
  enabled: false
storage:
  postgres:
    postgres_url:
      env: ITP_DAGSTER_PG_URL
"""


def test_the_nightly_job_runs_with_its_dagster_instance_in_postgres(tmp_path_factory, tmp_path, postgres_server,
                                                                    monkeypatch):
    loaded = copy_home(first_load(tmp_path_factory), tmp_path / "copy")
    add_changed_labs(loaded.inbox)
    url = postgres_server.create_database("dagster")
    instance_dir = tmp_path / "dagster-home"
    instance_dir.mkdir()
    (instance_dir / "dagster.yaml").write_text(DAGSTER_YAML)
    monkeypatch.setenv("DAGSTER_HOME", str(instance_dir))
    # psycopg2 named: SQLAlchemy 2.1 takes plain postgresql:// for psycopg 3, whose server-side
    # parameters break dagster-postgres's `NOTIFY run_events, %(id)s` (docs/decisions.md, #17).
    monkeypatch.setenv("ITP_DAGSTER_PG_URL", url.replace("postgresql://", "postgresql+psycopg2://"))
    # The load also publishes the warehouse to PostgreSQL (another database of the server).
    warehouse_url = postgres_server.create_database("warehouse")
    monkeypatch.setenv("ITP_POSTGRES_URL", warehouse_url)

    outcome = run_load(WarehouseSettings(home=str(loaded.home), inbox=str(loaded.inbox), sites_file=str(loaded.sites)))
    assert outcome.status == "published" and not outcome.postgres_failed, outcome.messages
    assert any("PostgreSQL" in m and outcome.load_id in m for m in outcome.messages), outcome.messages
    assert live_load_id(warehouse_url) == outcome.load_id

    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        run = instance.get_run_by_id(outcome.load_id)
        assert run.job_name == "nightly_load" and run.status == dg.DagsterRunStatus.SUCCESS
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT status FROM runs WHERE run_id = %s", [outcome.load_id]).fetchone() == ("SUCCESS",)
        steps = {s for (s,) in conn.execute(
            "SELECT step_key FROM event_logs WHERE run_id = %s AND dagster_event_type = 'STEP_SUCCESS'",
            [outcome.load_id])}
        assert {"site_exports", "warehouse_dbt_models", "published__warehouse", POSTGRES_STEP} <= steps

    # Schedule storage: stopping the nightly schedule (RUNNING by default) is stored there.
    env = {**os.environ, "ITP_HOME": str(loaded.home), "ITP_INBOX": str(loaded.inbox), "ITP_SITES": str(loaded.sites)}
    stop = subprocess.run([str(BIN / "dagster"), "schedule", "stop", "nightly_load_schedule", "-w", "workspace.yaml"],
                          cwd=REPO, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    with psycopg.connect(url) as conn:
        stored = conn.execute("SELECT job_body FROM jobs WHERE job_body LIKE '%%nightly_load_schedule%%'").fetchall()
    assert len(stored) == 1 and '"InstigatorStatus.STOPPED"' in stored[0][0]
