"""Helpers for the `sources` tests: small real files on tmp_path, read by the real readers."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from sources.inbox import discover
from sources.model import RowError
from sources.naming import parse_file_name
from sources.readers import ExportReader, open_export
from sources.registry import SiteRegistry, load_registry

SITE = "BJH"


def registry_with(tmp_path: Path, **settings) -> SiteRegistry:
    """A registry with one site BJH and the given settings (defaults otherwise)."""
    path = tmp_path / "sites.yaml"
    path.write_text(yaml.safe_dump({"sites": {SITE: settings}}, allow_unicode=True), encoding="utf-8")
    return load_registry(path)


def csv_bytes(header: list[str], rows: list[list[object]], *, delimiter: str = ",",
              encoding: str = "utf-8") -> bytes:
    lines = [delimiter.join(header)] + [delimiter.join("" if v is None else str(v) for v in r) for r in rows]
    return ("\n".join(lines) + "\n").encode(encoding)


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    """Rows as written, from sheet row 1; a None row leaves a blank sheet row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row or [], 1):
            if value is not None:
                ws.cell(row=r, column=c, value=value)
    wb.create_sheet("ignored").append(["not", "read"])
    wb.save(path)
    return path


@dataclass
class Read:
    reader: ExportReader
    rows: pd.DataFrame
    errors: list[RowError]
    chunks: int

    def error_at(self, row: int) -> RowError:
        return next(e for e in self.errors if e.source_row == row)


def open_in(inbox: Path, file_name: str, registry: SiteRegistry, chunk_rows: int = 50_000) -> ExportReader:
    files, _ = discover(inbox)
    file = next(f for f in files if f.name == file_name)
    name = parse_file_name(file.name, registry)
    return open_export(file, name, registry.get(name.site), chunk_rows=chunk_rows)


def read_all(reader: ExportReader) -> Read:
    chunks = list(reader)
    rows = pd.concat([c.rows for c in chunks], ignore_index=True)
    return Read(reader, rows, [e for c in chunks for e in c.errors], len(chunks))


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    path = tmp_path / "inbox"
    path.mkdir()
    return path


@pytest.fixture
def read_csv(tmp_path: Path, inbox: Path):
    """read_csv(file_name, content_bytes, **site_settings) -> Read (or FileRefused raised)."""
    def read(file_name: str, content: bytes, chunk_rows: int = 50_000, **settings) -> Read:
        (inbox / file_name).write_bytes(content)
        return read_all(open_in(inbox, file_name, registry_with(tmp_path, **settings), chunk_rows))
    return read
