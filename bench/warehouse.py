"""What a measured load did, read back from the warehouse it published: the row counts that
turn stage times into rows per second."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from sources.domains import DOMAINS

READ_STATUSES = ("loaded", "superseded")   # files whose rows were read (not duplicates, refusals)


@dataclass(frozen=True)
class LoadFacts:
    files_new: int            # manifest rows of this load, whatever their status
    files_read: int
    rows_read: int            # rows of this load's files: accepted + quarantined
    rows_accepted: int
    rows_quarantined: int
    raw_rows_total: int       # rows in raw.* after the load: what dbt builds from
    read_paths: frozenset[str]


def load_facts(published: Path, load_id: str) -> LoadFacts:
    with duckdb.connect(str(published), read_only=True) as conn:
        files_new, files_read, read, accepted, quarantined = conn.execute(
            f"""SELECT count(*), count(*) FILTER (WHERE status IN {READ_STATUSES}),
                       coalesce(sum(rows_read), 0), coalesce(sum(rows_accepted), 0),
                       coalesce(sum(rows_quarantined), 0)
                FROM quality.file_manifest WHERE load_id = ?""", [load_id]).fetchone()
        paths = conn.execute(
            f"SELECT file_path FROM quality.file_manifest WHERE load_id = ? AND status IN {READ_STATUSES}",
            [load_id]).fetchall()
        raw_total = sum(conn.execute(f"SELECT count(*) FROM raw.{d}").fetchone()[0] for d in DOMAINS)
    return LoadFacts(int(files_new), int(files_read), int(read), int(accepted), int(quarantined),
                     int(raw_total), frozenset(p for (p,) in paths))


def dbt_slowest_nodes(home: Path, run_id: str, top: int = 8) -> list[list]:
    """[node, seconds] of the slowest dbt nodes of a load: where the dbt stage goes. The load
    keeps dbt's artifacts under HOME/logs/<load_id>.dbt/."""
    from orchestration.publishing import WarehouseHome

    run_results = WarehouseHome(home).dbt_artifacts(run_id) / "run_results.json"
    if not run_results.exists():
        return []
    results = json.loads(run_results.read_text())["results"]
    slowest = sorted(results, key=lambda r: -r["execution_time"])[:top]
    named = ((r["unique_id"].split(".", 2), r["execution_time"]) for r in slowest)   # type.project.name
    return [[f"{kind} {name}", round(seconds, 1)] for (kind, _, name), seconds in named]
