"""Loads that publish to the session's PostgreSQL server (tests/postgres_server.py)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestration.publishing import WarehouseHome
from tests.conftest import cli
from tests.orchestration.homes import LoadedHome, add_changed_labs, copy_home, first_load


URL_PASSWORD = "never-Printed-42"  # in the failing load's ITP_POSTGRES_URL: must appear nowhere


@dataclass(frozen=True)
class PublishedLoads:
    """A HOME with two published loads (the ops first load, then changed labs). The second was
    loaded with ITP_POSTGRES_URL naming a server that does not exist: DuckDB published it, the
    PostgreSQL publication failed and the load said so (`load_output`, `load_exit`); then
    `publish-postgres` published it to `url`. (A load that publishes to PostgreSQL by itself
    is tests/postgres/test_dagster_instance.py's: one load fewer in the suite.)"""
    loaded: LoadedHome
    url: str
    load_exit: int
    load_output: str

    @property
    def versions(self) -> list[Path]:
        return WarehouseHome(self.loaded.home).versions()


@pytest.fixture(scope="session")
def published_loads(tmp_path_factory, postgres_server) -> PublishedLoads:
    root = tmp_path_factory.mktemp("pg-loads")
    loaded = copy_home(first_load(tmp_path_factory), root / "copy")
    add_changed_labs(loaded.inbox)
    unreachable = f"postgresql://nobody:{URL_PASSWORD}@/warehouse?host={root}/no-server&port=5432"
    load = cli(*loaded.load_args(), env={"ITP_POSTGRES_URL": unreachable})
    url = postgres_server.create_database("loads")
    proc = cli("publish-postgres", "--home", str(loaded.home), "--sites", str(loaded.sites),
               env={"ITP_POSTGRES_URL": url})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return PublishedLoads(loaded, url, load.returncode, load.stdout + load.stderr)
