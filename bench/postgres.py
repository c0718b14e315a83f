"""The PostgreSQL publication at scale, against its floor: a plain COPY of the same rows.

Both run on a fresh durable server (Debian's package, fsync on; tests/postgres_server.py) from
the warehouse the full load published:
- **plain COPY**: every published table exported to CSV by DuckDB beforehand (untimed), then,
  timed, `CREATE TABLE` and `COPY ... FROM STDIN` of those files through psycopg in one
  transaction: what a bare bulk load of these rows costs, nothing else;
- **publication**: `orchestration.pg_publishing.publish_to_postgres`, whole: reading DuckDB,
  COPY into fresh schemas, roles, grants and row-level security for every site, ANALYZE, the
  locked swap and the history row.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import duckdb
import psycopg
from psycopg import sql

from orchestration.pg_publishing import COPY_BLOCK, publish_to_postgres, published_tables
from tests.postgres_server import PostgresUnavailable, find_bindir, running_server


@dataclass
class PostgresResult:
    server: str                # PostgreSQL major version
    tables: int
    rows: int
    roles: int                 # site roles + analyst + monitor
    plain_copy_s: float
    publication_s: float
    ratio: float               # publication / plain COPY


def postgres_available() -> str | None:
    """None when the server can be started, else why not."""
    try:
        find_bindir()
    except PostgresUnavailable as exc:
        return str(exc)
    return None


def _plain_copy(warehouse: Path, url: str, scratch: Path) -> tuple[float, int]:
    scratch.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse), read_only=True) as duck:
        tables = published_tables(duck)
        files = []
        for t in tables:
            csv = scratch / f"{t.schema}.{t.name}.csv"
            duck.execute(f"COPY (SELECT * FROM \"{t.schema}\".\"{t.name}\") TO '{csv}' (FORMAT csv, HEADER false)")
            files.append((t, csv))
    rows = 0
    started = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for t, csv in files:
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(t.schema)))
            target = sql.Identifier(t.schema, t.name)
            cur.execute(sql.SQL("CREATE TABLE {} ({})").format(target, sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(ty)) for c, ty in t.columns)))
            with cur.copy(sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(target)) as copy, open(csv, "rb") as f:
                while block := f.read(COPY_BLOCK):
                    copy.write(block)
            rows += cur.rowcount
    seconds = time.perf_counter() - started
    for _, csv in files:
        csv.unlink()
    return seconds, rows


def measure_postgres(warehouse: Path, sites: Iterable[str], scratch: Path) -> PostgresResult:
    with running_server(durable=True, prefix="itp-bench-pg-") as server:
        plain_s, rows = _plain_copy(warehouse, server.create_database("plain_copy"), scratch)
        url = server.create_database("publication")   # before the clock, as for the plain COPY
        started = time.perf_counter()
        done = publish_to_postgres(warehouse, url, sites)
        publication_s = time.perf_counter() - started
        with psycopg.connect(server.url("publication")) as conn:
            roles = conn.execute("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'itp\\_%%'").fetchone()[0]
    if done.rows != rows:
        raise RuntimeError(f"the publication copied {done.rows:,} rows, the plain COPY {rows:,}")
    return PostgresResult(server=server.bindir.parent.name, tables=done.tables, rows=rows, roles=int(roles),
                          plain_copy_s=round(plain_s, 3), publication_s=round(publication_s, 3),
                          ratio=round(publication_s / plain_s, 2))
