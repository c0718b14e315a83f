"""dbt's documentation site for analysts: every mart, column, test and lineage, generated from
the published warehouse (on a private copy: dbt opens its database read-write)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from orchestration.assets.dbt import dbt_executable
from sources.study_parameters import DBT_PROJECT_DIR


def generate_docs(home: Path, out_dir: Path) -> Path:
    """Write dbt's docs (static_index.html: one self-contained file) to out_dir."""
    published = home / "warehouse.duckdb"
    if not published.exists():
        raise FileNotFoundError(f"no published warehouse at {published}")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="itp-docs-") as tmp:
        copy = Path(tmp) / "warehouse.duckdb"
        shutil.copyfile(published, copy)
        os.chmod(copy, 0o644)
        target = Path(tmp) / "target"
        env = {**os.environ, "ITP_WAREHOUSE_PATH": str(copy), "DO_NOT_TRACK": "1"}
        subprocess.run(
            [dbt_executable(), "docs", "generate", "--static", "--project-dir", str(DBT_PROJECT_DIR),
             "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path", str(Path(tmp) / "logs"),
             "--vars", '{"cutoff_date": "1900-01-01", "load_id": "docs"}'],
            env=env, check=True, capture_output=True, text=True)
        for name in ("static_index.html", "index.html", "manifest.json", "catalog.json"):
            if (target / name).exists():
                shutil.copyfile(target / name, out_dir / name)
    return out_dir / "static_index.html"
