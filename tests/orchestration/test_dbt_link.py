"""dbt sees each load's candidate through one fixed link (orchestration.dbt_link), and a load
tells dbt to rebuild its incremental models whole when the dbt project changed
(orchestration.assets.dbt._prepare_build). Real DuckDB files, a real killed writer."""
from __future__ import annotations

import subprocess
import sys
from datetime import date

import dagster as dg
import duckdb
import pytest

from orchestration.assets.dbt import _prepare_build, dbt_project_hash
from orchestration.dbt_link import link_path, linked_candidate
from ingest.intake import prepare_warehouse


def _candidate(path, rows=(1, 2, 3)):
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE TABLE t AS SELECT unnest(?) AS x", [list(rows)])
    return path


def test_the_link_points_at_the_candidate_only_while_dbt_runs(tmp_path):
    target = tmp_path / "target"
    candidate = _candidate(tmp_path / "load-1.duckdb")
    with linked_candidate(target, candidate) as link:
        assert link == link_path(target) and link.resolve() == candidate.resolve()
        with duckdb.connect(":memory:") as conn:    # as dbt's profile does: attached as `warehouse`
            conn.execute(f"ATTACH '{link}' AS warehouse")
            assert conn.execute("SELECT sum(x) FROM warehouse.t").fetchone() == (6,)
    assert not link.exists() and not link.is_symlink()


def test_a_killed_writer_leaves_its_log_beside_the_candidate_not_the_link(tmp_path):
    target = tmp_path / "target"
    candidate = _candidate(tmp_path / "load-2.duckdb")
    with linked_candidate(target, candidate) as link:
        # A writer killed before DuckDB could checkpoint, as a killed dbt would be.
        code = (f"import duckdb, os; c = duckdb.connect({str(link)!r}); "
                "c.execute('INSERT INTO t VALUES (4)'); os._exit(0)")
        subprocess.run([sys.executable, "-c", code], check=True)
        assert not (target / "warehouse.duckdb.wal").exists()
        assert (tmp_path / "load-2.duckdb.wal").exists()
    with duckdb.connect(str(candidate), read_only=True) as conn:   # the commit is the candidate's
        assert conn.execute("SELECT sum(x) FROM t").fetchone() == (10,)
    assert sorted(p.name for p in target.iterdir()) == ["warehouse.duckdb.lock"]


def _warehouse_with_loads(path, *loads):
    with duckdb.connect(str(path)) as conn:
        prepare_warehouse(conn)
        for i, (load_id, status, cutoff, project_hash) in enumerate(loads):
            conn.execute("INSERT INTO quality.load_log (load_id, started_at, cutoff_date, status, dbt_project_hash) "
                         "VALUES (?, TIMESTAMP '2026-01-01' + to_days(?), ?, ?, ?)",
                         [load_id, i, cutoff, status, project_hash])
    return path


def _recorded_hash(path, load_id):
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute("SELECT dbt_project_hash FROM quality.load_log WHERE load_id = ?", [load_id]).fetchone()[0]


@pytest.mark.parametrize("previous, rebuild", [
    ("same", False),            # the published warehouse was built by this dbt project
    ("other", True),            # by another one: its incremental rows are of the old derivation
    (None, True),               # before the fingerprint existed
])
def test_a_changed_dbt_project_rebuilds_incremental_models_whole(tmp_path, previous, rebuild):
    published_hash = dbt_project_hash() if previous == "same" else previous
    candidate = _warehouse_with_loads(tmp_path / "c.duckdb",
                                      ("old", "published", date(2026, 1, 31), published_hash),
                                      ("rejected-one", "rejected", date(2026, 2, 28), "whatever"),
                                      ("now", "building", date(2026, 3, 31), None))
    assert _prepare_build(candidate, "now") is rebuild
    assert _recorded_hash(candidate, "now") == dbt_project_hash()


def test_the_first_load_builds_whole_and_a_load_without_cutoff_builds_nothing(tmp_path):
    first = _warehouse_with_loads(tmp_path / "first.duckdb", ("now", "building", date(2026, 3, 31), None))
    assert _prepare_build(first, "now") is True
    empty = _warehouse_with_loads(tmp_path / "empty.duckdb", ("now", "building", None, None))
    with pytest.raises(dg.Failure, match="no data cutoff"):
        _prepare_build(empty, "now")
