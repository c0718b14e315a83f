"""One plain CSV file read natively (`sources.native_csv`) and row-checked by pandera, with the
outcome of the Python path: the same rows stored, the same row errors, the same counts.

- Rows the native reader could not prove clean go through the Python row path and the row
  checks, exactly as when the Python reader reads the file (`prefetch.checked_chunks`).
- The clean rows are checked by the same pandera schema (`schemas.check_rows`) on frames
  DuckDB builds. The few rows it refuses are converted and checked again by the Python path,
  so their reasons and raw records are the Python path's words; the rest is inserted into
  raw.<domain> by DuckDB, with the rows the Python path accepted, in file order.

The caller owns the transaction, as for any file (`ingest.intake._load_file`).
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from bisect import bisect_left
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from quality import schemas
from ingest import prefetch
from ingest.prefetch import CheckedChunk, FileRead
from sources import native_csv
from sources.bounds import ReadLimits
from sources.domains import DOMAINS
from sources.model import ExportName, InboxFile, RowError
from sources.registry import SiteConfig


@dataclass
class NativeRead:
    dropped_columns: list[str]
    chunks: list[CheckedChunk]   # one: the row errors; its rows DuckDB stored itself (`stored`)


def may_read(name: ExportName) -> bool:
    """Whether the file may go the native way (then no worker reads it ahead)."""
    return name.ext == "csv"


@dataclass
class _PythonRows:
    """What the Python row path decided for the rows sent to it."""
    accepted: list[pd.DataFrame] = field(default_factory=list)
    reader_errors: list[RowError] = field(default_factory=list)
    check_errors: list[RowError] = field(default_factory=list)
    empty: list[int] = field(default_factory=list)   # numbers of the fully empty rows (not data rows)
    rows_read: int = 0

    def take(self, staged: native_csv.StagedCsv, batches, name: ExportName) -> None:
        for batch in batches:
            frame, errors = staged.reader.convert_rows(batch)
            kept = set(frame["source_row"]) | {e.source_row for e in errors}
            self.empty += [number for number, _ in batch if number not in kept]
            accepted, failures = schemas.check_rows(name.domain, frame, name.export_date)
            if len(accepted):
                self.accepted.append(accepted)
            self.reader_errors += errors
            self.check_errors += failures
            self.rows_read += len(frame) + len(errors)


def _in_python_order(python: _PythonRows, chunk_rows: int) -> list[RowError]:
    """The row errors in the order the Python path writes them: chunk by chunk (a chunk ends
    when `chunk_rows` data rows are read; fully empty rows do not count), in each chunk the
    reader's errors, then the row checks' failures, each in row order (a row's failures in
    rule order, as `schemas.check_rows` gives them)."""
    empty = sorted(python.empty)

    def chunk(row: int) -> int:
        return (row - 2 - bisect_left(empty, row)) // chunk_rows   # header = row 1

    tagged = [(e, 0) for e in python.reader_errors] + [(e, 1) for e in python.check_errors]
    return [e for e, _ in sorted(tagged, key=lambda item: (chunk(item[0].source_row), item[1], item[0].source_row))]


def read_native(conn: duckdb.DuckDBPyConnection, file: InboxFile, name: ExportName, site: SiteConfig,
                limits: ReadLimits | None = None) -> NativeRead | None:
    """Read, check and store a plain CSV; None when the file is not plain (nothing was stored:
    the caller reads it the Python way). The rows go to raw.<domain> in file order, the row
    errors in the Python path's order (`_in_python_order`)."""
    staged = native_csv.stage(conn, file, name, site, limits)
    if staged is None:
        return None
    try:
        python = _PythonRows()
        python.take(staged, staged.unclean_rows(), name)
        rows_read = python.rows_read + staged.clean_count()
        refused: set[int] = set()
        for frame in staged.clean_frames():
            _, failures = schemas.check_rows(name.domain, frame, name.export_date)
            refused.update(e.source_row for e in failures)
        python.take(staged, staged.rows(sorted(refused)), name)   # their reasons, in the Python path's words
        accepted = pd.concat(python.accepted, ignore_index=True) if python.accepted else None
        stored = staged.store(sorted(refused), accepted)
        return NativeRead(list(staged.layout.dropped_columns),
                          [CheckedChunk(pd.DataFrame(), _in_python_order(python, staged.reader.chunk_rows),
                                        rows_read, stored=stored)])
    finally:
        staged.close()


def read_ahead(file: InboxFile, name: ExportName, site: SiteConfig, limits: ReadLimits | None = None, *,
               scratch: str) -> FileRead:
    """Worker entry point of the native path (`prefetch.Prefetcher`'s reader): a plain CSV is
    read, checked and stored by `read_native` in the worker's own in-memory DuckDB, and its
    stored rows are handed to the loader as a Parquet file in `scratch` (`FileRead.rows_file`),
    with the row errors and counts; any other file is read the Python way (`read_whole`).

    Why: the native path's Python half (each distinct cell's parser, the pandera checks of the
    clean rows) kept the loader's core busy while the other core idled once the workbooks were
    read. The rows and errors are those `read_native` gives in the loader (the same code);
    Parquet keeps raw.<domain>'s types exactly (text, whole numbers, doubles, dates, booleans)."""
    if not may_read(name):
        return prefetch.read_whole(file, name, site, limits)
    return prefetch.guarded(lambda: _read_natively(file, name, site, limits, scratch))


def _read_natively(file: InboxFile, name: ExportName, site: SiteConfig, limits: ReadLimits | None,
                   scratch: str) -> FileRead:
    """`read_native` in an in-memory DuckDB, its stored rows written to a Parquet file in the
    order they were stored (file order); a file that is not plain is read the Python way."""
    with duckdb.connect(":memory:", config={"threads": 1}) as conn:
        conn.execute("CREATE SCHEMA raw")
        conn.execute(DOMAINS[name.domain].ddl())
        natively = read_native(conn, file, name, site, limits)
        if natively is not None:
            fd, rows_file = tempfile.mkstemp(prefix="native-rows-", suffix=".parquet", dir=scratch)
            os.close(fd)
            target = rows_file.replace("'", "''")
            conn.execute(f"COPY raw.{name.domain} TO '{target}' (FORMAT parquet)")
            return FileRead(dropped_columns=natively.dropped_columns, chunks=natively.chunks, rows_file=rows_file)
    return prefetch.read_whole(file, name, site, limits)


def insert_rows_file(conn: duckdb.DuckDBPyConnection, domain: str, rows_file: str, expected: int) -> None:
    """Store the rows a worker read natively (`read_ahead`), in file order, and remove the file."""
    columns = ", ".join(DOMAINS[domain].raw_columns())
    try:
        stored = int(conn.execute(f"INSERT INTO raw.{domain} ({columns}) SELECT {columns} FROM read_parquet(?) "
                                  "ORDER BY source_row", [rows_file]).fetchone()[0])
    finally:
        os.unlink(rows_file)
    if stored != expected:   # cannot happen: the file holds what the worker stored
        raise RuntimeError(f"{stored} rows in the worker's file, {expected} stored by the worker")
