"""One fixed path through which dbt sees the load's candidate warehouse.

dbt re-parses the whole project (about 4 s a load) when its profile or its `--vars` change:
the profile's path is part of the parse state. Each load builds a new candidate file
(write-audit-publish), so the profile attaches a fixed symbolic link,
`dbt_project/target/warehouse.duckdb`, re-pointed at the candidate for the length of one
`dbt build`, and the cutoff comes from the candidate's own `quality.load_log` (no `--vars`).
The saved parse of `dbt parse` then serves every load.

DuckDB follows the link for the file and for its write-ahead log (the log lies beside the
candidate, not beside the link), so a killed dbt leaves nothing at the link that a later
load could pick up. A lock file keeps two loads of two HOMEs from sharing the link at once.
"""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LINK_NAME = "warehouse.duckdb"


def link_path(target_dir: Path) -> Path:
    return target_dir / LINK_NAME


@contextmanager
def linked_candidate(target_dir: Path, candidate: Path) -> Iterator[Path]:
    """Point the fixed link at `candidate` while the block runs (one load at a time); yield the
    link's path, the path dbt must be given."""
    target_dir.mkdir(parents=True, exist_ok=True)
    link = link_path(target_dir)
    with open(link.with_name(LINK_NAME + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            link.unlink(missing_ok=True)
            os.symlink(candidate.resolve(), link)
            yield link
        finally:
            link.unlink(missing_ok=True)
