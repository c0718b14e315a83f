"""Value types passed from `sources` (reading) to `quality` (checking) and the loader.

They are deliberately plain: a reader yields ParsedChunk objects; everything a person needs
to fix a refused row travels in a RowError.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd


class FileRefused(Exception):
    """A whole file cannot be loaded; `reason` is shown to monitors as is, `code` is its stable
    code (sources.reason_codes; quality.file_manifest.reason_code)."""

    def __init__(self, reason: str, code: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.code = code

    def __reduce__(self):  # a worker process sends it back whole (ingest.prefetch)
        return type(self), (self.reason, self.code)


@dataclass(frozen=True)
class ExportName:
    """What a file name says: <SITE>_<DOMAIN>_<YYYYMMDD>.<ext>."""
    site: str
    domain: str
    export_date: date
    ext: str          # "csv" | "xlsx"


@dataclass(frozen=True)
class InboxFile:
    path: Path        # absolute path (inside the inbox; never outside it)
    rel_path: str     # path relative to the inbox, "/"-separated; the manifest's file_path
    sha256: str
    size: int

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class RowError:
    """One row that goes to quarantine instead of the warehouse."""
    source_row: int
    check_name: str          # e.g. "parse.date", "unit.unknown", "required", "plausibility"
    reason: str              # English, precise: which column, which value, what was expected
    raw_record: dict[str, str | None]   # the row's cells, specification columns only
    subject_id: str | None = None


@dataclass
class ParsedChunk:
    """A slice of a file: typed rows ready for raw.<domain> (columns of Domain.raw_columns(),
    provenance included) and the rows that failed parsing."""
    rows: pd.DataFrame
    errors: list[RowError] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return len(self.rows) + len(self.errors)
