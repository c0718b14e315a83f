"""One fixed path through which dbt sees the load's candidate warehouse.

dbt re-parses the whole project (about 4 s a load) when its profile or its `--vars` change:
the profile's `path` is part of the parse state. Each load builds a new candidate file
(write-audit-publish), so the profile points at a fixed symbolic link,
`dbt_project/target/warehouse.duckdb`, re-pointed at the candidate for the length of one
`dbt build`, and the cutoff comes from the candidate's own `quality.load_log` (no `--vars`).
The saved parse of `dbt parse` then serves every load.

The fixed name is also the catalog name dbt writes into the views it creates, so the views of
the published `warehouse.duckdb` resolve when analysts open it under its own name.

DuckDB writes its write-ahead log beside the path it was given, the link: a stale log left by
a killed dbt would be replayed into the next candidate, so it is removed before the link is
re-pointed, and whatever dbt left in it is checkpointed into the candidate afterwards. A lock
file keeps two loads of two HOMEs from sharing the link at once.
"""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

LINK_NAME = "warehouse.duckdb"


def link_path(target_dir: Path) -> Path:
    return target_dir / LINK_NAME


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _remove(path: Path) -> None:
    if path.is_symlink() or path.exists():
        path.unlink()


@contextmanager
def linked_candidate(target_dir: Path, candidate: Path) -> Iterator[Path]:
    """Point the fixed link at `candidate` while the block runs (one load at a time); yield the
    link's path, the path dbt must be given."""
    target_dir.mkdir(parents=True, exist_ok=True)
    link = link_path(target_dir)
    with open(link.with_name(LINK_NAME + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            _remove(_wal(link))
            _remove(link)
            os.symlink(candidate.resolve(), link)
            yield link
        finally:
            try:
                _settle(link)
            finally:
                _remove(_wal(link))
                _remove(link)


def _settle(link: Path) -> None:
    """Move what dbt left in the link's write-ahead log into the candidate itself (a dbt that
    exits normally leaves none)."""
    if link.exists() and _wal(link).exists():
        with duckdb.connect(str(link)) as conn:
            conn.execute("CHECKPOINT")
