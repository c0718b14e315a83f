"""xlsx against CSV, per row: the largest lab workbook the full load read, and the same rows
written as the site's CSV, each ingested alone (`ingest.intake.ingest_inbox`: read, row
checks, store; a fresh DuckDB file each, no worker processes). Issue #16's target: an xlsx
row costs at most 1.5x a CSV row.

The CSV is written from the workbook's own cells in the site's conventions (its delimiter,
encoding, decimal mark and date format), so both files hold the same rows and the same values.
"""
from __future__ import annotations

import csv
import shutil
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import openpyxl

from bench.cohort import BenchCohort, InboxEntry
from sources.registry import SiteConfig, SiteRegistry


@dataclass(frozen=True)
class XlsxCsv:
    file: str            # the workbook (inbox-relative)
    rows: int            # rows read from each file
    xlsx_s: float
    csv_s: float
    ratio: float         # per row: xlsx_s / csv_s (the same rows)


def _text(value: object, site: SiteConfig) -> str:
    if value is None:
        return ""
    if isinstance(value, (datetime, date)):
        return value.strftime(site.date_format)
    if isinstance(value, float):
        return repr(value).replace(".", site.decimal)
    return str(value)


def _as_csv(workbook: Path, target: Path, site: SiteConfig) -> None:
    book = openpyxl.load_workbook(workbook, read_only=True, data_only=False)
    try:
        with open(target, "w", encoding=site.encoding, newline="") as out:
            writer = csv.writer(out, delimiter=site.delimiter, lineterminator="\n")
            for row in book.worksheets[0].iter_rows(values_only=True):
                writer.writerow([_text(v, site) for v in row])
    finally:
        book.close()


def _ingest_alone(source: Path, rel_path: str, site: SiteConfig, scratch: Path) -> tuple[int, float]:
    from ingest import intake   # the load's own code, imported when measured

    inbox = scratch / "inbox"
    shutil.rmtree(inbox, ignore_errors=True)
    (inbox / rel_path).parent.mkdir(parents=True)
    shutil.copyfile(source, inbox / rel_path)
    db = scratch / "xlsx-csv.duckdb"
    db.unlink(missing_ok=True)
    with duckdb.connect(str(db)) as conn:
        intake.prepare_warehouse(conn)
        started = time.perf_counter()
        report = intake.ingest_inbox(conn, inbox, SiteRegistry({site.code: site}), "bench", datetime.now(),
                                     workers=0)
        seconds = time.perf_counter() - started
    db.unlink(missing_ok=True)
    [entry] = report.files
    return entry.rows_read, seconds


def measure_xlsx_vs_csv(cohort: BenchCohort, entries: list[InboxEntry], loaded: set[str],
                        scratch: Path) -> XlsxCsv | None:
    """None when the full load read no lab workbook."""
    books = [e for e in entries if e.name.domain == "labs" and e.name.ext == "xlsx" and e.rel_path in loaded]
    if not books:
        return None
    book = max(books, key=lambda e: (cohort.inbox / e.rel_path).stat().st_size)
    site = cohort.registry.get(book.name.site)
    scratch.mkdir(parents=True, exist_ok=True)
    as_csv = scratch / Path(book.rel_path).with_suffix(".csv").name
    _as_csv(cohort.inbox / book.rel_path, as_csv, site)
    rows_x, xlsx_s = _ingest_alone(cohort.inbox / book.rel_path, book.rel_path, site, scratch)
    rows_c, csv_s = _ingest_alone(as_csv, str(Path(book.rel_path).with_suffix(".csv")), site, scratch)
    if rows_x != rows_c:
        raise RuntimeError(f"{book.rel_path}: {rows_x} rows from the workbook but {rows_c} from its CSV copy")
    return XlsxCsv(book.rel_path, rows_x, round(xlsx_s, 3), round(csv_s, 3),
                   round(xlsx_s / csv_s, 2) if csv_s > 0 else 0.0)
