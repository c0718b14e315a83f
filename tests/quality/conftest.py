from __future__ import annotations

import pytest

from tests.quality.loads import new_warehouse


@pytest.fixture
def conn(tmp_path):
    connection = new_warehouse(tmp_path / "candidate.duckdb")
    yield connection
    connection.close()
