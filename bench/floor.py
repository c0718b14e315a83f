"""The DuckDB floor: the fastest the warehouse could possibly take in the same lab files,
`CREATE TABLE t AS SELECT * FROM read_csv([...])` in DuckDB's C++ reader, no checks at all.
Stage costs are reported as multiples of it, so a number means the same on any machine.

Each site dialect (delimiter, decimal mark) is one read_csv over all its files. DuckDB reads
UTF-8 natively but needs a downloaded extension for GB18030, and nothing is downloaded here,
so GB18030 files are first re-encoded to UTF-8 copies, outside the timed part.
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import duckdb

from bench.cohort import BenchCohort, InboxEntry

NATIVE_ENCODINGS = ("utf-8",)


@dataclass(frozen=True)
class Floor:
    files: int
    rows: int
    seconds: float
    rows_per_s: float
    reencoded_files: int      # GB18030 files read from UTF-8 copies


def _readable_copy(source: Path, encoding: str, scratch: Path) -> Path:
    if encoding in NATIVE_ENCODINGS:
        return source
    target = scratch / "utf8" / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source.read_text(encoding=encoding), encoding="utf-8")
    return target


def measure_floor(cohort: BenchCohort, entries: list[InboxEntry], scratch: Path) -> Floor:
    """Read `entries` (CSV files) into tables of a new DuckDB file under scratch."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    reencoded = 0
    for e in entries:
        site = cohort.registry.get(e.name.site)
        source = cohort.inbox / e.rel_path
        path = _readable_copy(source, site.encoding, scratch)
        if path != source:
            reencoded += 1
        groups[(site.delimiter, site.decimal)].append(str(path))
    db = scratch / "floor.duckdb"
    db.unlink(missing_ok=True)
    with duckdb.connect(str(db)) as conn:
        started = time.perf_counter()
        for i, ((delimiter, decimal), files) in enumerate(sorted(groups.items())):
            conn.execute(f"CREATE TABLE floor_{i} AS SELECT * FROM read_csv($files, delim = $delim, "
                         "decimal_separator = $decimal, header = true, union_by_name = true)",
                         {"files": files, "delim": delimiter, "decimal": decimal})
        conn.execute("CHECKPOINT")   # the warehouse's rows are on disk at the end of a step too
        seconds = time.perf_counter() - started
        rows = sum(conn.execute(f"SELECT count(*) FROM floor_{i}").fetchone()[0] for i in range(len(groups)))
    db.unlink(missing_ok=True)
    return Floor(files=len(entries), rows=int(rows), seconds=round(seconds, 3),
                 rows_per_s=round(rows / seconds, 1) if seconds > 0 else 0.0, reencoded_files=reencoded)
