"""The monitors' day on a copy of the session's demo warehouse (tests/monitors/planted.py): the
query workbook exported and answered, the answers imported (`itp-warehouse queries --answers`),
then the next delivery loaded (`itp-warehouse load`) with the monitors' alert going to a real
local webhook. One extra load, shared by every test of this folder (session scope): the state
is read, never changed, by the tests."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.conftest import cli
from tests.monitors.planted import ANSWERS, copy_demo, fill_answers, next_delivery
from tests.orchestration.homes import LoadedHome
from tests.webhook import json_webhook

MONITOR = "monitor Wang"


@dataclass(frozen=True)
class MonitoredDay:
    home: LoadedHome
    workbook: Path
    filled: Path
    imported: subprocess.CompletedProcess
    after_import: dict[tuple[str, str], tuple]        # (site, check) -> query row right after the import
    history_after_import: list[tuple]
    versions_before_import: list[str]
    load: subprocess.CompletedProcess
    alerts: list[tuple[str, dict]]

    @property
    def load_id(self) -> str:
        with duckdb.connect(str(self.home.published), read_only=True) as conn:
            return conn.execute("SELECT load_id FROM quality.load_log ORDER BY started_at DESC LIMIT 1").fetchone()[0]

    def sql(self, query: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.home.published), read_only=True) as conn:
            return conn.execute(query, params or []).fetchall()


def query_rows(published: Path) -> dict[tuple[str, str], tuple]:
    with duckdb.connect(str(published), read_only=True) as conn:
        rows = conn.execute("""SELECT site_id, check_name, query_id, status, answer, answered_by, answered_at,
                                      answer_comment, file_name FROM quality.site_query""").fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


@pytest.fixture(scope="session")
def monitored(demo_home, tmp_path_factory) -> MonitoredDay:
    m = copy_demo(demo_home, tmp_path_factory.mktemp("monitors"))
    workbook = m.root / "queries.xlsx"
    from quality.export import write_site_queries   # what `itp-warehouse queries --out` runs, in process

    with duckdb.connect(str(m.published), read_only=True) as conn:
        write_site_queries(conn, workbook)
    filled = m.root / "queries-answered.xlsx"
    fill_answers(workbook, filled, ANSWERS)
    versions = sorted(p.name for p in (m.home / "versions").glob("*")) if (m.home / "versions").exists() else []
    imported = cli("queries", "--home", str(m.home), "--answers", str(filled), "--by", MONITOR)
    after_import = query_rows(m.published)
    with duckdb.connect(str(m.published), read_only=True) as conn:
        history = conn.execute("SELECT * FROM quality.site_query_history ORDER BY changed_at, query_id").fetchall()
    next_delivery(m)
    with json_webhook() as (received, port):
        load = cli(*m.load_args(), env={"ITP_ALERT_URLS": f"json://127.0.0.1:{port}/hooks/itp"})
    if load.returncode != 0:
        pytest.fail("the monitors' next load failed:\n" + "\n".join((load.stdout + load.stderr).splitlines()[-40:]))
    return MonitoredDay(m, workbook, filled, imported, after_import, history, versions, load, list(received))
