"""Site queries as a file a site coordinator opens in a spreadsheet (CSV or xlsx by suffix).

Cells hold text the SITES wrote (a drug name, a subject id); a cell starting with `=`, `+`, `-`,
`@`, tab or carriage return would run as a formula in Excel/LibreOffice (CSV/formula
injection, OWASP). Such text cells are prefixed with a single quote; numbers stay numbers.
CSV is written as UTF-8 with BOM so Excel shows Chinese text correctly.

Since #18 the export lists the queries still waiting for the site (open and answered), with
the answer columns the site fills in; an xlsx is the answerable workbook of
`quality.query_workbook` (drop-down of answers, keys locked) that
`itp-warehouse queries --answers` imports.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import duckdb

QUERY_COLUMNS = ["query_id", "site_id", "subject_id", "domain", "check_name", "message", "file_name",
                 "source_row", "status", "opened_load_id", "last_seen_load_id", "resolved_load_id"]
# What the site fills in (quality.query_workbook); the answer as its label of seed query_answers.
ANSWER_COLUMNS = ["answer", "answer_comment", "answered_by", "answered_at"]
COLUMNS = QUERY_COLUMNS + ANSWER_COLUMNS
UNRESOLVED = ("open", "answered")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _columns(conn: duckdb.DuckDBPyConnection) -> set[str] | None:
    """The columns of quality.site_query, or None when there is none."""
    names = {r[0] for r in conn.execute(
        """SELECT column_name FROM information_schema.columns
           WHERE table_schema = 'quality' AND table_name = 'site_query'""").fetchall()}
    return names or None


def _rows(conn: duckdb.DuckDBPyConnection, site: str | None, statuses: tuple[str, ...] | None) -> list[list[Any]]:
    from quality.query_answers import label_of

    present = _columns(conn)
    if present is None:
        return []
    # A warehouse published before #18 has no answer columns yet: they export empty.
    select = [c if c in present else f"NULL AS {c}" for c in COLUMNS]
    rows = conn.execute(
        f"""SELECT {', '.join(select)} FROM quality.site_query
            WHERE (? IS NULL OR site_id = ?) AND (? IS NULL OR list_contains(?, status))
            ORDER BY site_id, subject_id, domain, check_name, query_id""",
        [site, site, statuses and list(statuses), statuses and list(statuses)]).fetchall()
    answer = COLUMNS.index("answer")
    return [[label_of(v) if i == answer and v else v for i, v in enumerate(row)] for row in rows]


def _write_csv(out: Path, rows: list[list[Any]]) -> None:
    with open(out, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(rows)


def _exported(conn: duckdb.DuckDBPyConnection) -> str:
    """When, and from which load: a property of the workbook (quality.query_workbook)."""
    from datetime import datetime, timezone

    stamp = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
    try:
        row = conn.execute("""SELECT load_id FROM quality.load_log WHERE status = 'published'
                              ORDER BY started_at DESC LIMIT 1""").fetchone()
    except duckdb.Error:
        row = None
    return f"{stamp}, load {row[0]}" if row else stamp


def write_site_queries(conn: duckdb.DuckDBPyConnection, out: Path, site: str | None = None,
                       status: str | tuple[str, ...] | None = UNRESOLVED) -> int:
    """Write the site queries (one site, or all; a status or several, None for all; default
    those waiting for the site: open and answered) to `out` (.csv or .xlsx, the answerable
    workbook); returns the number of queries written."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValueError(f"cannot write site queries to {out.name}: use a .csv or .xlsx file name")
    statuses = (status,) if isinstance(status, str) else status
    rows = [[neutralise(v) for v in row] for row in _rows(conn, site, statuses)]
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        _write_csv(out, rows)
    else:
        from quality.query_workbook import write_workbook

        write_workbook(out, rows, site=site, exported=_exported(conn))
    return len(rows)
