"""Write-audit-publish on real files: atomic publish, versions kept, rollback."""
from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from orchestration.publishing import (LoadInProgress, WarehouseHome, create_candidate, drop_early_copy, publish,
                                      rollback, start_early_copy)


def _build(home: WarehouseHome, load_id: str, value: int) -> None:
    candidate = create_candidate(home, load_id)
    with duckdb.connect(str(candidate)) as conn:
        conn.execute("CREATE OR REPLACE TABLE t AS SELECT ? AS v", [value])


def _published_value(home: WarehouseHome) -> int:
    """Read in another process, as an analyst would (DuckDB shares one database instance per
    path inside a process, which would hide the swap)."""
    code = ("import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print(c.execute('SELECT v FROM t').fetchone()[0])")
    out = subprocess.run([sys.executable, "-c", code, str(home.published)], capture_output=True,
                         text=True, check=True)
    return int(out.stdout)


def test_candidate_starts_from_the_published_copy(tmp_path):
    home = WarehouseHome(tmp_path)
    _build(home, "a", 1)
    publish(home, "a")
    candidate = create_candidate(home, "b")
    with duckdb.connect(str(candidate)) as conn:
        assert conn.execute("SELECT v FROM t").fetchone()[0] == 1
        conn.execute("UPDATE t SET v = 2")
    assert _published_value(home) == 1  # the candidate is a copy, not the published file


def test_publish_keeps_versions_and_rollback_restores_the_previous(tmp_path):
    home = WarehouseHome(tmp_path)
    for i, load in enumerate(["a", "b", "c"], start=1):
        _build(home, load, i)
        publish(home, load, keep_versions=2)
    assert _published_value(home) == 3
    assert len(home.versions()) == 2
    restored = rollback(home)
    assert restored.name.endswith("_b.duckdb")
    assert _published_value(home) == 2
    with pytest.raises(RuntimeError, match="oldest"):
        rollback(home)
    assert _published_value(home) == 2


def test_a_reader_keeps_its_version_while_a_new_one_is_published(tmp_path):
    home = WarehouseHome(tmp_path)
    _build(home, "a", 1)
    publish(home, "a")
    reader = duckdb.connect(str(home.published), read_only=True)
    try:
        _build(home, "b", 2)
        publish(home, "b")
        assert reader.execute("SELECT v FROM t").fetchone()[0] == 1
        assert _published_value(home) == 2
    finally:
        reader.close()


def test_published_file_is_read_only(tmp_path):
    home = WarehouseHome(tmp_path)
    _build(home, "a", 1)
    publish(home, "a")
    assert home.published.stat().st_mode & 0o222 == 0


def test_a_second_load_process_on_the_same_home_stops_at_once(tmp_path):
    home = WarehouseHome(tmp_path)
    _build(home, "first", 1)
    publish(home, "first")
    create_candidate(home, "a")  # this process now holds the HOME's load lock
    code = ("import sys; from pathlib import Path; "
            "from orchestration.publishing import WarehouseHome, create_candidate, LoadInProgress\n"
            "try:\n    create_candidate(WarehouseHome(Path(sys.argv[1])), 'b')\n"
            "except LoadInProgress as e:\n    print('refused:', e); sys.exit(3)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 3, out.stderr
    assert "another load is running" in out.stdout
    assert home.candidate("a").exists()  # the running load's candidate was not touched


def _value(path) -> int:
    with duckdb.connect(str(path)) as conn:
        return conn.execute("SELECT v FROM t").fetchone()[0]


def test_an_early_copy_becomes_the_candidate(tmp_path):
    home = WarehouseHome(tmp_path)
    _build(home, "a", 1)
    publish(home, "a")
    assert start_early_copy(home)
    assert not start_early_copy(home)          # one copy at a time
    candidate = create_candidate(home, "b")
    assert _value(candidate) == 1
    assert sorted(p.name for p in home.build_dir.iterdir()) == [".lock", "b.duckdb"]
    with duckdb.connect(str(candidate)) as conn:
        conn.execute("UPDATE t SET v = 2")
    assert _published_value(home) == 1


def test_an_early_copy_of_a_version_no_longer_published_is_not_used(tmp_path):
    home = WarehouseHome(tmp_path)
    for i, load in enumerate(["a", "b"], start=1):
        _build(home, load, i)
        publish(home, load)
    assert start_early_copy(home)              # copies version b
    rollback(home)                             # a is published again while it copies
    candidate = create_candidate(home, "c")
    assert _value(candidate) == 1
    assert sorted(p.name for p in home.build_dir.iterdir()) == [".lock", "c.duckdb"]


def test_an_early_copy_a_load_never_took_is_removed(tmp_path):
    home = WarehouseHome(tmp_path)
    _build(home, "a", 1)
    publish(home, "a")
    assert start_early_copy(home)
    drop_early_copy(home)                      # the load ended before its candidate
    assert sorted(p.name for p in home.build_dir.iterdir()) == [".lock"]


def test_no_early_copy_while_another_load_holds_the_home(tmp_path):
    home = WarehouseHome(tmp_path)
    with duckdb.connect(str(home.published)) as conn:   # published by another process
        conn.execute("CREATE TABLE t AS SELECT 1 AS v")
    home.build_dir.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
         "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)", str(home.build_dir / ".lock")],
        stdout=subprocess.PIPE, text=True)
    try:   # another process: flock never blocks the process that holds the lock
        assert holder.stdout.readline().strip() == "held"
        assert not start_early_copy(home)
        with pytest.raises(LoadInProgress):
            create_candidate(home, "b")
        assert sorted(p.name for p in home.build_dir.iterdir()) == [".lock"]
    finally:
        holder.kill()
        holder.wait()
