"""STUDYID is a setting of the load (adam.md §1): `load --study-id` wins over ITP_STUDY_ID,
which wins over the site registry's study_id; a warehouse loaded without any still publishes
its marts, and `itp-warehouse adam` then writes nothing and says why (exit 1)."""
from __future__ import annotations

import duckdb

from tests.conftest import SIMPLE_REGISTRY, cli
from tests.e2e.test_cli_load import make_inbox


def _study_ids(home) -> set:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return {r[0] for r in conn.execute("SELECT DISTINCT STUDYID FROM adam.adsl").fetchall()} | {
            r[0] for r in conn.execute("SELECT DISTINCT split_part(USUBJID, '-TST-', 1) FROM adam.adlb").fetchall()}


def test_the_cli_setting_wins_over_the_environment_and_the_registry(tmp_path):
    inbox, sites = make_inbox(tmp_path)
    sites.write_text("study_id: REG-STUDY\n" + SIMPLE_REGISTRY)
    home = tmp_path / "home"
    proc = cli("load", "--inbox", str(inbox), "--sites", str(sites), "--home", str(home),
               "--study-id", "CLI-STUDY", env={"ITP_STUDY_ID": "ENV-STUDY"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _study_ids(home) == {"CLI-STUDY"}
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT study_id FROM quality.load_log").fetchall() == [("CLI-STUDY",)]
    out = tmp_path / "adam"
    proc = cli("adam", "--home", str(home), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr   # ASCII only: every XPT written
    assert len(list(out.glob("*.xpt"))) == 7


def test_a_bad_study_id_stops_the_load_before_anything_is_built(tmp_path):
    inbox, sites = make_inbox(tmp_path)
    home = tmp_path / "home"
    proc = cli("load", "--inbox", str(inbox), "--sites", str(sites), "--home", str(home), "--study-id", "IGU ITP 01")
    assert proc.returncode != 0
    assert "not a study identifier" in proc.stdout + proc.stderr
    assert not (home / "warehouse.duckdb").exists()


def test_a_warehouse_loaded_without_study_id_publishes_but_gets_no_adam_package(tmp_path):
    inbox, sites = make_inbox(tmp_path)
    home = tmp_path / "home"
    proc = cli("load", "--inbox", str(inbox), "--sites", str(sites), "--home", str(home))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = cli("adam", "--home", str(home), "--out", str(tmp_path / "adam"))
    assert proc.returncode == 1
    assert "no STUDYID" in proc.stderr
    assert not (tmp_path / "adam").exists()
