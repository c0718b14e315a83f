"""One plain CSV file read natively (`sources.native_csv`) and row-checked by pandera, with the
outcome of the Python path: the same rows stored, the same row errors, the same counts.

- Rows the native reader could not prove clean go through the Python row path and the row
  checks, exactly as when the Python reader reads the file (`prefetch.checked_chunks`).
- The clean rows are checked by the same pandera schema (`schemas.check_rows`) on frames
  DuckDB builds. The few rows it refuses are converted and checked again by the Python path,
  so their reasons and raw records are the Python path's words; the rest is inserted into
  raw.<domain> by DuckDB, never through pandas.

The caller owns the transaction, as for any file (`quality.intake._load_file`).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import pandas as pd

from quality import schemas
from quality.prefetch import CheckedChunk
from sources import native_csv
from sources.bounds import ReadLimits
from sources.model import ExportName, InboxFile
from sources.registry import SiteConfig


@dataclass
class NativeRead:
    dropped_columns: list[str]
    chunks: list[CheckedChunk]   # the last one holds the rows DuckDB stored itself (`stored`)


def may_read(name: ExportName) -> bool:
    """Whether the file may go the native way (then no worker reads it ahead)."""
    return name.ext == "csv"


def _python_chunks(staged: native_csv.StagedCsv, batches, name: ExportName) -> Iterator[CheckedChunk]:
    for batch in batches:
        frame, errors = staged.reader.convert_rows(batch)
        accepted, failures = schemas.check_rows(name.domain, frame, name.export_date)
        yield CheckedChunk(accepted, list(errors) + failures, len(frame) + len(errors))


def read_native(conn: duckdb.DuckDBPyConnection, file: InboxFile, name: ExportName, site: SiteConfig,
                limits: ReadLimits | None = None) -> NativeRead | None:
    """Read, check and store the clean rows of a plain CSV; None when the file is not plain
    (nothing was stored: the caller reads it the Python way)."""
    staged = native_csv.stage(conn, file, name, site, limits)
    if staged is None:
        return None
    try:
        chunks = list(_python_chunks(staged, staged.unclean_rows(), name))
        refused: set[int] = set()
        for frame in staged.clean_frames():
            _, failures = schemas.check_rows(name.domain, frame, name.export_date)
            refused.update(e.source_row for e in failures)
        chunks += _python_chunks(staged, staged.rows(sorted(refused)), name)
        stored = staged.store_clean(sorted(refused))
        chunks.append(CheckedChunk(pd.DataFrame(), [], stored, stored=stored))
        return NativeRead(list(staged.layout.dropped_columns), chunks)
    finally:
        staged.close()
