"""One real `dbt build` per session on the hand-made cohort (each build costs ~10-20 s)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.dbt.cohort import ALL_FILES, CUTOFF, STUDY_ID
from tests.dbt.warehouse import RawWarehouse, dbt_build, run_results


@dataclass
class BuiltWarehouse:
    path: Path
    target: Path          # dbt's target directory of the build (manifest.json, run_results.json)
    results: list[dict[str, Any]]

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        with duckdb.connect(str(self.path), read_only=True) as conn:
            return conn.execute(sql, params or []).fetchall()

    def one(self, sql: str, params: list[Any] | None = None) -> tuple:
        rows = self.rows(sql, params)
        assert len(rows) == 1, f"expected one row, got {rows}"
        return rows[0]


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> BuiltWarehouse:
    work = tmp_path_factory.mktemp("dbt")
    raw = RawWarehouse(work / "warehouse.duckdb", ALL_FILES)
    raw.write()
    proc = dbt_build(raw.path, work, {"cutoff_date": CUTOFF.isoformat(), "load_id": "test", "study_id": STUDY_ID})
    if proc.returncode != 0:
        pytest.fail("dbt build failed:\n" + "\n".join((proc.stdout + proc.stderr).splitlines()[-60:]))
    return BuiltWarehouse(raw.path, work / "target", run_results(work))
