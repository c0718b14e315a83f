"""Simulated loads for the quality tests: real DuckDB files, the real quality functions, the
real manifest; only the file reading (sources.readers) is replaced by typed rows written here,
so these tests do not depend on the readers being finished."""
from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from quality import quarantine, schemas
from quality.records import show
from sources import manifest
from sources.domains import DOMAINS
from sources.manifest import ManifestEntry
from sources.model import ExportName

_clock = count()


def new_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(path))
    conn.execute("CREATE SCHEMA IF NOT EXISTS raw")
    conn.execute("CREATE SCHEMA IF NOT EXISTS quality")
    for domain in DOMAINS.values():
        conn.execute(domain.ddl())
    conn.execute(manifest.MANIFEST_DDL)
    quarantine.ensure_tables(conn)
    return conn


def file_path(site: str, domain: str, export_date: date, folder: str = "") -> str:
    return f"{folder}{site}_{domain}_{export_date:%Y%m%d}.csv"


def typed_rows(domain: str, site: str, export_date: date, rows: list[dict[str, Any]], *,
               path: str, sha256: str) -> pd.DataFrame:
    """What a reader yields: raw columns, provenance filled, first data row = 2."""
    out = []
    for i, given in enumerate(rows):
        row: dict[str, Any] = {c: None for c in DOMAINS[domain].raw_columns()}
        row.update(source_file=path, source_sha256=sha256, source_row=i + 2, export_date=export_date,
                   site_id=site)
        if domain == "labs":
            row.update(original_test_code=given.get("test_code"), conversion_factor=1.0,
                       original_unit=given.get("unit"), original_value=show(given.get("value")))
        row.update(given)
        out.append(row)
    return pd.DataFrame(out, columns=list(DOMAINS[domain].raw_columns()))


def lab(subject: str, sample_date: date, test_code: str, value: float, unit: str, **extra: Any) -> dict[str, Any]:
    return dict(subject_id=subject, sample_date=sample_date, test_code=test_code, value=value, unit=unit, **extra)


def load_file(conn: duckdb.DuckDBPyConnection, domain: str, site: str, export_date: date,
              rows: list[dict[str, Any]], *, load_id: str, folder: str = "") -> ManifestEntry:
    """Check and store one export the way ingest.intake does (row checks, raw insert,
    quarantine, duplicate keys, manifest)."""
    path = file_path(site, domain, export_date, folder)
    sha = hashlib.sha256(f"{path}|{load_id}|{rows!r}".encode()).hexdigest()
    frame = typed_rows(domain, site, export_date, rows, path=path, sha256=sha)
    accepted, errors = schemas.check_rows(domain, frame, export_date)
    cols = DOMAINS[domain].raw_columns()
    if len(accepted):
        conn.register("chunk", accepted)
        select = ", ".join(f"CAST(chunk.{c} AS {t})" for c, t in cols.items())
        conn.execute(f"INSERT INTO raw.{domain} ({', '.join(cols)}) SELECT {select} FROM chunk")
        conn.unregister("chunk")
    quarantine.write_errors(conn, file_name=path, sha256=sha, domain=domain, site_id=site,
                            errors=errors, load_id=load_id)
    entry = ManifestEntry(path, "loaded", site_id=site, domain=domain, sha256=sha, rows_read=len(frame),
                          rows_accepted=len(accepted), rows_quarantined=len({e.source_row for e in errors}))
    current = manifest.current_export_date(conn, site, domain)
    if current is not None and export_date < current:
        entry.status = "superseded"
    moved = quarantine.move_to_quarantine(conn, domain, schemas.check_snapshot(conn, domain, sha), load_id)
    entry.rows_accepted -= moved
    entry.rows_quarantined += moved
    loaded_at = datetime(2030, 1, 1) + timedelta(seconds=next(_clock))
    manifest.record(conn, entry, ExportName(site, domain, export_date, "csv"), load_id=load_id, loaded_at=loaded_at)
    manifest.refresh_current(conn)
    return entry


def manifest_counts(conn: duckdb.DuckDBPyConnection, path: str) -> tuple[int, int, int]:
    return conn.execute(
        "SELECT rows_read, rows_accepted, rows_quarantined FROM quality.file_manifest WHERE file_path = ?",
        [path]).fetchone()


def quarantine_rows(conn: duckdb.DuckDBPyConnection, **where: Any) -> list[tuple]:
    cond = " AND ".join(f"{k} = ?" for k in where) or "true"
    return conn.execute(
        f"""SELECT source_row, check_name, reason FROM quality.quarantine WHERE {cond}
            ORDER BY source_row, check_name""", list(where.values())).fetchall()
