"""Where a value could leak to, searched exhaustively: every text column of every table of a
DuckDB file, and the bytes of every file under a folder.

Both searches are checked against a value that IS there (see the tests' positive controls),
so an empty result means "not there", not "the search did not look".
"""
from __future__ import annotations

from pathlib import Path

import duckdb


def text_columns(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(schema, table, column) of every VARCHAR column of every table (views only show what
    tables hold)."""
    return conn.execute(
        """SELECT c.table_schema, c.table_name, c.column_name
           FROM information_schema.columns AS c JOIN information_schema.tables AS t
             USING (table_catalog, table_schema, table_name)
           WHERE c.data_type = 'VARCHAR' AND t.table_type = 'BASE TABLE'
             AND c.table_catalog = current_database()
           ORDER BY ALL""").fetchall()


def values_containing(conn: duckdb.DuckDBPyConnection, needles: list[str]) -> list[tuple[str, str]]:
    """(schema.table.column, needle) for every needle found inside a text value."""
    hits = []
    for schema, table, column in text_columns(conn):
        for needle in needles:
            found = conn.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" WHERE contains("{column}", ?)', [needle]).fetchone()[0]
            if found:
                hits.append((f"{schema}.{table}.{column}", needle))
    return hits


def database_values_containing(path: Path, needles: list[str]) -> list[tuple[str, str]]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return values_containing(conn, needles)


def files_containing(root: Path, needles: dict[str, bytes]) -> list[tuple[str, str]]:
    """(file relative to root, needle name) for every needle found in a file's bytes. Links are
    not followed: what is under root is what the load wrote."""
    hits = []
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        hits += [(path.relative_to(root).as_posix(), name) for name, needle in needles.items() if needle in data]
    return hits
