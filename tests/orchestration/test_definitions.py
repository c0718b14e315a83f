"""The Dagster code location loads and holds what data engineers rely on."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from tests.conftest import REPO


def test_dagster_definitions_validate_passes(tmp_path):
    dagster = Path(sys.executable).parent / "dagster"
    env = {**os.environ, "ITP_HOME": str(tmp_path), "DO_NOT_TRACK": "1"}
    env.pop("DAGSTER_HOME", None)
    proc = subprocess.run([str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All code locations passed validation" in proc.stdout + proc.stderr


def test_definitions_hold_the_job_schedule_sensors_and_dbt_assets(tmp_path):
    from orchestration.definitions import build_definitions
    from orchestration.resources import WarehouseSettings

    defs = build_definitions(WarehouseSettings(home=str(tmp_path), inbox=str(tmp_path / "inbox"),
                                               sites_file=str(tmp_path / "sites.yaml")))
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    assert repo.has_job("nightly_load")
    schedule = repo.get_schedule_def("nightly_load_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Asia/Shanghai"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert {s.name for s in repo.sensor_defs} >= {"inbox_sensor", "load_failure_alert"}
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {"raw/labs", "marts/endpoint_initial_response", "published/warehouse"} <= keys
