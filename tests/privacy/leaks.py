"""Where a value could leak to, searched exhaustively: every text column of every table of a
DuckDB file, and the bytes of every file under a folder.

Both searches are checked against a value that IS there (see the tests' positive controls),
so an empty result means "not there", not "the search did not look".
"""
from __future__ import annotations

import re
from pathlib import Path

import duckdb

from sources import identifiers

# Digests (sha256, md5) and run ids are hex: a run of their digits can look like a phone number.
_HEX_TOKENS = re.compile(r"\b[0-9a-fA-F]{32,}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_CANDIDATE_SQL = r"[0-9]{11}|[0-9][ -]?[0-9]{3}[ -]?[0-9]{4}[ -]?[0-9]{4}|@"


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


def identifiers_in(text: str) -> list[str]:
    """The identifier patterns (sources.identifiers) found in `text`, hex tokens aside."""
    text = _HEX_TOKENS.sub(" ", text)
    return [f"{f.kind}: {text[f.start:f.end]}" for f in identifiers.find(text)]


def database_pattern_hits(path: Path) -> list[tuple[str, str]]:
    """(schema.table.column, what) for every text value of every table that holds something of
    the form of a direct identifier (not a known value: any resident ID, mobile, e-mail)."""
    hits = []
    with duckdb.connect(str(path), read_only=True) as conn:
        for schema, table, column in text_columns(conn):
            values = conn.execute(
                f'SELECT DISTINCT "{column}" FROM "{schema}"."{table}" WHERE regexp_matches("{column}", ?)',
                [_CANDIDATE_SQL]).fetchall()
            hits += [(f"{schema}.{table}.{column}", found) for (value,) in values for found in identifiers_in(value)]
    return hits


def file_pattern_hits(root: Path) -> list[tuple[str, str]]:
    """(file relative to root, what) for every identifier pattern in the bytes of every file
    under root (logs, run storage, databases' pages), read as UTF-8 where it is text."""
    hits = []
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        hits += [(path.relative_to(root).as_posix(), found) for found in identifiers_in(text)]
    return hits


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
