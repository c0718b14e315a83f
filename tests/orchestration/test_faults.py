"""A load killed with SIGKILL at any point (also while dbt is writing) leaves the published
warehouse byte-identical, and the next load publishes normally.

The kills are chained on one home (each killed load starts over the debris of the one killed
before it, and a last load without fault must publish) instead of one home per fault point:
a recovery load costs a full dbt build, and chaining needs one instead of five while every
kind of debris is still followed by a load that must get past it."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from orchestration.faults import POINTS
from tests.conftest import cli
from tests.orchestration.homes import (CHANGED_SUBJECT, LoadedHome, add_changed_labs, copy_home, first_load,
                                       group_members, initial_response, sha256, start_load, wait_until)

DBT_RUNNING = "dbt-running"  # not a fault point: killed at whatever moment dbt is writing
CASES = ("ingest", "checks", DBT_RUNNING, "dbt", "publish")
assert set(CASES) - {DBT_RUNNING} == set(POINTS), "a fault point is not exercised"


def dbt_is_writing(pgid: int, loaded: LoadedHome) -> bool:
    """`dbt build` runs in the load's process group and has a candidate open for writing."""
    dbt_running = any(any(Path(a).name == "dbt" for a in cmd[:2]) and "build" in cmd
                      for cmd in group_members(pgid).values())
    return dbt_running and any((loaded.home / "build").glob("*.duckdb.wal"))


def kill_group(proc) -> None:
    """SIGKILL the load and every process it started (dbt), and wait until none is left."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 60
    while group_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert group_members(proc.pid) == {}, "a process of the killed load survived"


def kill_a_load(loaded: LoadedHome, case: str, workdir: Path) -> None:
    marker = workdir / f"paused-at-{case}"
    log = workdir / f"killed-at-{case}.log"
    fault = {} if case == DBT_RUNNING else {"ITP_FAULT_PAUSE_AT": case, "ITP_FAULT_MARKER": str(marker)}
    proc = start_load(loaded, log, fault)
    try:
        if case == DBT_RUNNING:
            wait_until(lambda: dbt_is_writing(proc.pid, loaded), proc, "dbt writing the candidate", log)
        else:
            wait_until(marker.exists, proc, f"the pause at fault point {case!r}", log)
            assert marker.read_text() == case
    finally:
        kill_group(proc)


def test_killed_loads_leave_the_published_warehouse_intact_and_the_next_load_publishes(tmp_path_factory, tmp_path):
    loaded = copy_home(first_load(tmp_path_factory), tmp_path / "copy")
    add_changed_labs(loaded.inbox)
    published_before = sha256(loaded.published)
    assert initial_response(loaded.published, CHANGED_SUBJECT) == "NR"

    for case in CASES:
        kill_a_load(loaded, case, tmp_path)
        assert sha256(loaded.published) == published_before, f"killed at {case}: the published file changed"
        assert not Path(f"{loaded.published}.wal").exists(), f"killed at {case}: a WAL beside the published file"
        assert any((loaded.home / "build").glob("*.duckdb")), f"killed at {case}: no candidate left to recover from"

    recovery = cli(*loaded.load_args())
    assert recovery.returncode == 0, recovery.stdout + recovery.stderr
    assert "published" in recovery.stdout
    assert sha256(loaded.published) != published_before
    assert initial_response(loaded.published, CHANGED_SUBJECT) == "R"
    # The killed loads' candidates are gone (only the HOME's load lock file stays).
    assert [p.name for p in (loaded.home / "build").iterdir()] == [".lock"]
