"""Reading the same tables from the DuckDB warehouse and from PostgreSQL, to compare them
row for row (as multisets: neither engine promises an order)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

from orchestration.pg_access import PublishedTable
from orchestration.pg_publishing import published_tables


def duckdb_tables(path: Path) -> list[PublishedTable]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return published_tables(conn)


def duckdb_rows(path: Path, schema: str, table: str, where: str = "") -> Counter:
    with duckdb.connect(str(path), read_only=True) as conn:
        return Counter(conn.execute(f'SELECT * FROM "{schema}"."{table}" {where}').fetchall())


def pg_rows(url: str, schema: str, table: str) -> Counter:
    with psycopg.connect(url) as conn:
        return Counter(conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, table))).fetchall())


def live_load_id(url: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT load_id FROM itp_publication.history ORDER BY id DESC LIMIT 1").fetchone()[0]


def signature_query(tables: list[PublishedTable]) -> sql.Composable:
    """One statement reading every published table: row count and an order-free content hash
    of each. Two publications of different loads give different signatures; a statement that
    read some tables of one and some of the other would give a third."""
    parts = [sql.SQL("(SELECT count(*) || ':' || coalesce(sum(hashtext(t::text)::bigint), 0) FROM {} t)")
             .format(sql.Identifier(tb.schema, tb.name)) for tb in tables]
    return sql.SQL("SELECT ") + sql.SQL(", ").join(parts)
