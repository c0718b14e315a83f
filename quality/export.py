"""Site queries as a file a site coordinator opens in a spreadsheet (CSV or xlsx by suffix).

Cells hold text the SITES wrote (a drug name, a subject id); a cell starting with `=`, `+`, `-`,
`@`, tab or carriage return would run as a formula in Excel/LibreOffice (CSV/formula
injection, OWASP). Such text cells are prefixed with a single quote; numbers stay numbers.
CSV is written as UTF-8 with BOM so Excel shows Chinese text correctly.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import duckdb

COLUMNS = ["query_id", "site_id", "subject_id", "domain", "check_name", "message", "file_name",
           "source_row", "status", "opened_load_id", "last_seen_load_id", "resolved_load_id"]
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _rows(conn: duckdb.DuckDBPyConnection, site: str | None, status: str | None) -> list[tuple]:
    exists = conn.execute(
        """SELECT count(*) FROM information_schema.tables
           WHERE table_schema = 'quality' AND table_name = 'site_query'""").fetchone()[0]
    if not exists:
        return []
    return conn.execute(
        f"""SELECT {', '.join(COLUMNS)} FROM quality.site_query
            WHERE (? IS NULL OR site_id = ?) AND (? IS NULL OR status = ?)
            ORDER BY site_id, subject_id, domain, check_name, query_id""",
        [site, site, status, status]).fetchall()


def _write_csv(out: Path, rows: list[list[Any]]) -> None:
    with open(out, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(rows)


def _write_xlsx(out: Path, rows: list[list[Any]]) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "site queries"
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append(row)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # belt and braces: never let openpyxl write a formula
    sheet.freeze_panes = "A2"
    book.save(out)


def write_site_queries(conn: duckdb.DuckDBPyConnection, out: Path, site: str | None = None,
                       status: str | None = "open") -> int:
    """Write the site queries (one site, or all; status `open`, `resolved`, or None for all)
    to `out` (.csv or .xlsx); returns the number of queries written."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValueError(f"cannot write site queries to {out.name}: use a .csv or .xlsx file name")
    rows = [[neutralise(v) for v in row] for row in _rows(conn, site, status)]
    out.parent.mkdir(parents=True, exist_ok=True)
    (_write_csv if suffix == ".csv" else _write_xlsx)(out, rows)
    return len(rows)
