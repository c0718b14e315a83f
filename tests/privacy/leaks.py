"""Where a value could leak to, searched exhaustively: every text column of every table of a
DuckDB file, and the bytes of every file under a folder.

Both searches are checked against a value that IS there (see the tests' positive controls),
so an empty result means "not there", not "the search did not look".
"""
from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
from pathlib import Path

import duckdb

from sources import identifiers

# Digests (sha256, md5), run ids and site query ids (20 hex characters, quality.query_lifecycle)
# are hex, and times carry long decimal fractions: a run of their digits can look like a phone
# number. (An all-digit token of 20 or more cannot be an identifier: the patterns refuse digits
# on either side.)
_HEX_TOKENS = re.compile(r"\b[0-9a-fA-F]{20,}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
                         r"|(?<=[0-9])\.[0-9]+")
# Images embedded as data URIs (the quality dashboard's charts are base64 PNG): their payload
# is pixels, not text, and compressed image bytes in base64 hold runs of 8 to 10 digits; one
# run of 11 that began with 13-19 was reported as a "mobile phone number" by one run in seven
# (the charts, and so the bytes, change with the run's dates and ids).
_DATA_URIS = re.compile(r"data:[A-Za-z0-9.+/-]+;base64,[A-Za-z0-9+/=]+")
DATABASE_SUFFIXES = (".duckdb", ".db", ".wal", ".db-wal", ".db-shm", ".db-journal")
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
    """The identifier patterns (sources.identifiers) found in `text`, hex tokens and embedded
    images aside."""
    text = _HEX_TOKENS.sub(" ", _DATA_URIS.sub(" ", text))
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


def sqlite_pattern_hits(path: Path) -> list[tuple[str, str]]:
    """(table.column, what) for every identifier pattern in a text value of a SQLite database
    (Dagster's run and event storage), value by value: bytes packed side by side in its pages
    would join digits of different values."""
    hits = []
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
            for column in columns:
                for (value,) in conn.execute(f'SELECT DISTINCT "{column}" FROM "{table}"'):
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", errors="replace")
                    if isinstance(value, str):
                        hits += [(f"{table}.{column}", found) for found in identifiers_in(value)]
    return hits


def _digests(folder: Path) -> set[str]:
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def file_pattern_hits(root: Path, copied_from: list[Path] = ()) -> list[tuple[str, str]]:
    """(file relative to root, what) for every identifier pattern in every file under root:
    DuckDB files table by table (`database_pattern_hits`), SQLite files value by value, any
    other file (logs, Data Docs pages) as UTF-8 text. Files identical to one under a folder of
    `copied_from` (a library's static assets, such as the fonts Great Expectations copies into
    its Data Docs, whose metadata hold their authors' addresses) are not data and are skipped."""
    shipped = set().union(*(_digests(f) for f in copied_from)) if copied_from else set()
    hits = []
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        name = path.relative_to(root).as_posix()
        if path.suffix == ".duckdb":
            hits += [(f"{name}: {where}", found) for where, found in database_pattern_hits(path)]
        elif path.name.endswith(DATABASE_SUFFIXES):
            if path.read_bytes()[:16] == b"SQLite format 3\x00":
                hits += [(f"{name}: {where}", found) for where, found in sqlite_pattern_hits(path)]
        else:
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() not in shipped:
                hits += [(name, found) for found in identifiers_in(data.decode("utf-8", errors="replace"))]
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
