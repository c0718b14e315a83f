"""`itp-warehouse status` on a real home: a published load with a quarantined row and an open
site query, a failed Dagster run, and a rejected candidate."""
from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from orchestration.loading import run_load
from orchestration.publishing import WarehouseHome, create_candidate, reject_candidate
from orchestration.resources import WarehouseSettings
from orchestration.status import collect_status, print_status
from quality import check_results
from quality.check_results import CheckResult
from tests.conftest import cli
from tests.e2e.test_cli_load import make_inbox
from tests.orchestration.homes import BAD_BLEEDING_SUBJECT, copy_home, first_load, sha256

REJECTED_LOAD = "rejected-load-0001"


@pytest.fixture(scope="module")
def troubled_home(tmp_path_factory):
    """The first load, then a run that failed (invalid registry) and a candidate the gate
    refused (a failed error-severity check), as they are left on disk."""
    loaded = copy_home(first_load(tmp_path_factory), tmp_path_factory.mktemp("status") / "copy")
    mp = pytest.MonkeyPatch()
    mp.delenv("DAGSTER_HOME", raising=False)
    bad_registry = loaded.root / "bad_sites.yaml"
    bad_registry.write_text("sites:\n  tst lower:\n    encoding: latin-9\n")
    try:
        failed = run_load(WarehouseSettings(home=str(loaded.home), inbox=str(loaded.inbox),
                                            sites_file=str(bad_registry)))
    finally:
        mp.undo()
    assert failed.status == "failed"

    home = WarehouseHome(loaded.home)
    with duckdb.connect(str(create_candidate(home, REJECTED_LOAD))) as conn:
        conn.execute("INSERT INTO quality.load_log (load_id, started_at, finished_at, cutoff_date, files_seen, "
                     "files_new, rows_accepted, rows_quarantined, status) "
                     "VALUES (?, ?, NULL, DATE '2021-05-01', 4, 1, 10, 0, 'rejected')",
                     [REJECTED_LOAD, datetime(2030, 1, 2, 3, 4, 5)])
        check_results.record(conn, [CheckResult(
            REJECTED_LOAD, "not_null_fct_lab_result_value", "dbt", "marts.fct_lab_result", "error", 30, 2, False,
            "2 rows with a NULL value")])
    reject_candidate(home, REJECTED_LOAD)
    return loaded, failed.load_id


def test_nothing_published_yet_is_explained_and_nothing_is_created(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    assert print_status(home) == 1
    err = capsys.readouterr().err
    assert f"Nothing is published yet: there is no {home / 'warehouse.duckdb'}" in err
    assert "itp-warehouse load" in err
    assert list(home.iterdir()) == []


def test_a_failed_first_load_is_shown_although_nothing_is_published(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    make_inbox(tmp_path)
    bad_registry = tmp_path / "bad_sites.yaml"
    bad_registry.write_text("sites:\n  tst lower:\n    encoding: latin-9\n")
    home = tmp_path / "home"
    failed = run_load(WarehouseSettings(home=str(home), inbox=str(tmp_path / "inbox"), sites_file=str(bad_registry)))
    assert failed.status == "failed"
    assert print_status(home) == 1
    captured = capsys.readouterr()
    assert "Nothing is published yet" in captured.err
    assert f"run {failed.load_id}  nightly_load  FAILURE\n      site_exports: site registry " in captured.out


def test_status_shows_loads_runs_queries_checks_and_rejected_candidates(troubled_home):
    loaded, failed_run = troubled_home
    published_before = sha256(loaded.published)
    files_before = sorted(p for p in loaded.home.rglob("*") if "dagster" not in p.parts)

    proc = cli("status", "--home", str(loaded.home))

    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    [version] = WarehouseHome(loaded.home).versions()
    assert f"Published warehouse: {loaded.published}\n  version versions/{version.name}\n" in out
    assert "files: 4 loaded, 0 duplicate, 0 superseded, 0 refused, 0 held  50 rows accepted, 1 quarantined" in out
    assert "Held files (not current: the site's previous snapshot is; a newer good snapshot or `itp-warehouse release` clears them):\n  none" in out
    assert "Open site queries by site:\n  TST: 1\n" in out
    assert f"run {failed_run}  nightly_load  FAILURE\n      site_exports: site registry " in out
    assert "nightly_load  SUCCESS" in out
    rejected = loaded.home / "rejected" / f"{REJECTED_LOAD}.duckdb"
    assert f"  {rejected}\n      2030-01-02 03:04:05 UTC  load {REJECTED_LOAD}  rejected  cutoff 2021-05-01" in out
    assert ("      [error] dbt not_null_fct_lab_result_value on marts.fct_lab_result, 2 failing: "
            "2 rows with a NULL value") in out
    # Read only: the published file and everything under HOME (but Dagster's own storage) untouched.
    assert sha256(loaded.published) == published_before
    assert sorted(p for p in loaded.home.rglob("*") if "dagster" not in p.parts) == files_before


def test_failed_checks_of_the_last_published_load_are_listed(troubled_home):
    loaded, _ = troubled_home
    status = collect_status(loaded.home)
    assert status.last_published is not None and status.last_published.status == "published"
    failing = [c for c in status.failed_checks if c.target.startswith("raw.bleeding")]
    assert failing and all(c.severity == "warn" for c in failing)
    with duckdb.connect(str(loaded.published), read_only=True) as conn:
        quarantined = conn.execute("SELECT subject_id FROM quality.quarantine").fetchall()
    assert quarantined == [(BAD_BLEEDING_SUBJECT,)]
