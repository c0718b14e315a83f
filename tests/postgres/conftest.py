"""Loads that publish to the session's PostgreSQL server (tests/postgres_server.py)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestration.publishing import WarehouseHome
from tests.conftest import cli
from tests.orchestration.homes import LoadedHome, add_changed_labs, copy_home, first_load


@dataclass(frozen=True)
class PublishedLoads:
    """A HOME with two published loads (the ops first load, then changed labs); the second
    was loaded with ITP_POSTGRES_URL set, so the load itself published it to `url`."""
    loaded: LoadedHome
    url: str
    load_output: str

    @property
    def versions(self) -> list[Path]:
        return WarehouseHome(self.loaded.home).versions()


@pytest.fixture(scope="session")
def published_loads(tmp_path_factory, postgres_server) -> PublishedLoads:
    loaded = copy_home(first_load(tmp_path_factory), tmp_path_factory.mktemp("pg-loads") / "copy")
    add_changed_labs(loaded.inbox)
    url = postgres_server.create_database("loads")
    proc = cli(*loaded.load_args(), env={"ITP_POSTGRES_URL": url})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return PublishedLoads(loaded, url, proc.stdout + proc.stderr)
