"""A raw warehouse file as the Python ingestion leaves it (docs/architecture.md), built from
hand-made rows, and a real `dbt build` on it."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from ingest.intake import prepare_warehouse
from sources.domains import DOMAINS
from sources.study_parameters import DBT_PROJECT_DIR

DBT = Path(sys.executable).parent / "dbt"


@dataclass
class ExportFile:
    """One loaded site export: its manifest row and its accepted rows (domain columns only;
    provenance is added on insert)."""
    site: str
    domain: str
    export_date: date
    rows: list[dict[str, Any]]
    is_current: bool = True

    @property
    def file_name(self) -> str:
        return f"{self.site}_{self.domain}_{self.export_date:%Y%m%d}.csv"

    @property
    def sha256(self) -> str:
        payload = json.dumps([self.file_name, self.rows], default=str, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class RawWarehouse:
    path: Path
    files: list[ExportFile] = field(default_factory=list)

    def write(self) -> None:
        from ingest.intake import prepare_warehouse

        with duckdb.connect(str(self.path)) as conn:
            prepare_warehouse(conn)   # every table a load writes, site queries' lifecycle included
            for f in self.files:
                self._insert(conn, f)

    def _insert(self, conn: duckdb.DuckDBPyConnection, f: ExportFile) -> None:
        columns = list(DOMAINS[f.domain].raw_columns())
        unknown = {k for row in f.rows for k in row} - set(columns)
        if unknown:
            raise ValueError(f"{f.file_name}: columns not in raw.{f.domain}: {sorted(unknown)}")
        provenance = {"source_file": f"{f.site}/{f.file_name}", "source_sha256": f.sha256,
                      "export_date": f.export_date, "site_id": f.site}
        placeholders = ", ".join("?" for _ in columns)
        for source_row, row in enumerate(f.rows, start=2):
            values = {**provenance, "source_row": source_row, **row}
            conn.execute(f"INSERT INTO raw.{f.domain} ({', '.join(columns)}) VALUES ({placeholders})",
                         [values.get(c) for c in columns])
        conn.execute(
            """INSERT INTO quality.file_manifest (file_name, file_path, sha256, site_id, domain,
                 export_date, status, rows_read, rows_accepted, rows_quarantined, is_current,
                 load_id, loaded_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 'test', ?)""",
            [f.file_name, provenance["source_file"], f.sha256, f.site, f.domain, f.export_date,
             "loaded" if f.is_current else "superseded", len(f.rows), len(f.rows), f.is_current,
             datetime(2022, 7, 1)],
        )


def dbt_build(warehouse: Path, work_dir: Path, dbt_vars: dict[str, str] | None, *args: str,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """One real `dbt build`; target and log paths stay inside work_dir so concurrent runs
    never share artefacts. Without dbt_vars the models take the cutoff from the warehouse's
    quality.load_log, as in a load. `env`: more variables (the postgres target's PG*)."""
    env = {**os.environ, "DO_NOT_TRACK": "1", "ITP_WAREHOUSE_PATH": str(warehouse), **(env or {})}
    return subprocess.run(
        [str(DBT), "build", "--profiles-dir", str(DBT_PROJECT_DIR), "--project-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs"),
         *(["--vars", json.dumps(dbt_vars)] if dbt_vars else []), *args],
        capture_output=True, text=True, env=env, cwd=DBT_PROJECT_DIR,
    )


def run_results(work_dir: Path) -> list[dict[str, Any]]:
    return json.loads((work_dir / "target" / "run_results.json").read_text())["results"]
