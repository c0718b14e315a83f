"""The PostgreSQL publication: the analyst contract of a published DuckDB warehouse (`marts`,
`quality`, and `adam` when it exists) copied into PostgreSQL for the tools that speak it and
for the access control DuckDB lacks (orchestration/pg_access.py).

One transaction does it all: fresh `<schema>__next` schemas are filled with COPY (DuckDB
writes CSV into a pipe, psycopg streams it in: no temporary file, both sides at work at once),
granted, analysed, then swapped with the live schemas. Until the COMMIT nobody sees anything of
it; a failed or killed publication is rolled back by the server and the live schemas stay as
they were. The swap takes the live tables' locks all at once or not at all (NOWAIT, retried):
a reader's statement runs entirely on the old tables or entirely on the new ones, and no
reader ever waits in a deadlock with the publication.

`itp_publication.history` records each publication; publishing the load that is already live,
with the same access rules, does nothing.
"""
from __future__ import annotations

import os
import re
import stat
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import duckdb
import psycopg
from psycopg import sql

from orchestration.faults import fault_point
from orchestration.pg_access import AccessPlan, PublishedTable, ensure_roles, grant_statements

POSTGRES_URL_ENV = "ITP_POSTGRES_URL"
PUBLISHED_SCHEMAS = ("marts", "quality", "adam")
META_SCHEMA = "itp_publication"
STAGED_SUFFIX = "__next"
RETIRED_SUFFIX = "__old"
LOCK_KEY = 0x17_17_17  # advisory lock: one publication at a time per database
COPY_BLOCK = 1 << 20
FAULT_POINT = "postgres_copy"  # orchestration.faults: a publication killed mid-copy

_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
_TYPES = {
    "VARCHAR": "text", "BOOLEAN": "boolean", "TINYINT": "smallint", "SMALLINT": "smallint",
    "INTEGER": "integer", "BIGINT": "bigint", "UTINYINT": "smallint", "USMALLINT": "integer",
    "UINTEGER": "bigint", "UBIGINT": "numeric(20,0)", "HUGEINT": "numeric(39,0)", "FLOAT": "real",
    "DOUBLE": "double precision", "DATE": "date", "TIME": "time", "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz", "INTERVAL": "interval", "UUID": "uuid", "JSON": "json",
}


class PostgresPublicationError(RuntimeError):
    """The publication did not happen; the live PostgreSQL schemas are as they were."""


@dataclass(frozen=True)
class PgPublication:
    load_id: str
    status: str          # published | unchanged
    target: str          # where, without credentials
    tables: int = 0
    rows: int = 0
    seconds: float = 0.0

    def sentence(self) -> str:
        if self.status == "unchanged":
            return f"PostgreSQL ({self.target}) already serves load {self.load_id}: nothing to publish"
        return (f"PostgreSQL ({self.target}): load {self.load_id} published, {self.tables} tables, "
                f"{self.rows:,} rows in {self.seconds:.1f} s")


def postgres_url() -> str | None:
    """ITP_POSTGRES_URL, a libpq URL or key=value string. Its password, if any, is never
    logged; a deployment keeps it out of the URL (PGPASSFILE / ~/.pgpass)."""
    return os.environ.get(POSTGRES_URL_ENV, "").strip() or None


def describe_target(url: str) -> str:
    """user@host/db of a connection string, never its password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "an unparsable ITP_POSTGRES_URL"
    host = info.get("host") or "local socket"
    return f"{info.get('user') or 'default user'}@{host}/{info.get('dbname') or 'default database'}"


def pg_type(duckdb_type: str) -> str:
    decimal = _DECIMAL.fullmatch(duckdb_type)
    if decimal:
        return f"numeric({decimal[1]},{decimal[2]})"
    if duckdb_type not in _TYPES:
        raise PostgresPublicationError(f"DuckDB type {duckdb_type} has no PostgreSQL counterpart here")
    return _TYPES[duckdb_type]


def published_load_id(duck: duckdb.DuckDBPyConnection) -> str:
    """The load that built this warehouse file: its newest published load (a file restored by
    rollback names its own load, not the later one)."""
    row = duck.execute("SELECT load_id FROM quality.load_log WHERE status = 'published' "
                       "ORDER BY started_at DESC LIMIT 1").fetchone()
    if row is None:
        raise PostgresPublicationError("the warehouse file records no published load")
    return row[0]


def published_tables(duck: duckdb.DuckDBPyConnection) -> list[PublishedTable]:
    return duckdb_tables(duck, PUBLISHED_SCHEMAS)


def duckdb_tables(duck: duckdb.DuckDBPyConnection, schemas: Iterable[str]) -> list[PublishedTable]:
    """The tables (and views) of these schemas, with their columns' PostgreSQL types."""
    rows = duck.execute(
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema IN ? "
        "ORDER BY table_schema, table_name, ordinal_position", [list(schemas)]).fetchall()
    # Names lower-case: unquoted names fold to lower case in PostgreSQL, so `SELECT SITEID FROM
    # adam.adsl` works there as in DuckDB (whose names are case-insensitive anyway).
    columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, dtype in rows:
        columns.setdefault((schema, table.lower()), []).append((column.lower(), pg_type(dtype)))
    return [PublishedTable(s, t, tuple(c)) for (s, t), c in columns.items()]


def site_codes(duck: duckdb.DuckDBPyConnection, tables: list[PublishedTable]) -> set[str]:
    """Every site that has rows: it gets its role even if the registry no longer lists it."""
    parts = [f'SELECT DISTINCT CAST("{t.site_column}" AS VARCHAR) FROM "{t.schema}"."{t.name}"'
             for t in tables if t.has_site]
    if not parts:
        return set()
    return {s for (s,) in duck.execute(" UNION ".join(parts)).fetchall() if s is not None}


class _CsvPipe:
    """DuckDB writes one table as CSV into a named pipe from a thread; the caller reads it.

    A writer that fails before opening the pipe would leave the reader blocked in open(): the
    thread then opens and closes the pipe itself, so the reader sees an end of file and the
    error is raised by `finish`."""

    def __init__(self, duck: duckdb.DuckDBPyConnection, table: PublishedTable, fifo: Path):
        self.fifo, self.error = fifo, None
        if fifo.exists():
            fifo.unlink()
        os.mkfifo(fifo, 0o600)
        cursor = duck.cursor()
        select = f'SELECT * FROM "{table.schema}"."{table.name}"'
        self.thread = threading.Thread(target=self._write, args=(cursor, select), daemon=True)
        self.thread.start()

    def _write(self, cursor: duckdb.DuckDBPyConnection, select: str) -> None:
        try:
            cursor.execute(f"COPY ({select}) TO '{self.fifo}' (FORMAT csv, HEADER false)")
        except BaseException as exc:  # noqa: BLE001 - handed to the reader
            self.error = exc
            try:
                os.close(os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        finally:
            cursor.close()

    def blocks(self) -> Iterable[bytes]:
        with open(self.fifo, "rb") as pipe:
            while block := pipe.read(COPY_BLOCK):
                yield block

    def finish(self) -> None:
        self.thread.join()
        self.fifo.unlink(missing_ok=True)
        if self.error is not None:
            raise PostgresPublicationError(f"DuckDB could not export the table: {self.error}") from self.error

    def abandon(self) -> None:
        """The reader gave up (PostgreSQL refused the COPY, at its start or in the middle): drain
        the pipe until the writer has ended, then wait for it. The pipe is opened without
        blocking: a blocking open waits for a writer, and the writer may already have failed
        and gone (it opens the pipe only once); that open hung the publication for good."""
        if stat.S_ISFIFO(os.stat(self.fifo).st_mode):
            fd = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
            try:
                while self.thread.is_alive():
                    try:
                        if not os.read(fd, COPY_BLOCK):   # no writer at the moment
                            self.thread.join(0.05)
                    except BlockingIOError:               # a writer, nothing written yet
                        self.thread.join(0.05)
            finally:
                os.close(fd)
        self.thread.join()
        self.fifo.unlink(missing_ok=True)


def copy_table(cur: psycopg.Cursor, duck: duckdb.DuckDBPyConnection, table: PublishedTable,
               staged: str, fifo: Path) -> int:
    """CREATE TABLE staged.<name> and COPY the DuckDB table's rows into it; returns the rows."""
    target = sql.Identifier(staged, table.name)
    cur.execute(sql.SQL("CREATE TABLE {} ({})").format(target, sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in table.columns)))
    pipe = _CsvPipe(duck, table, fifo)
    try:
        # FREEZE: the table was created in this transaction, so its rows can be written frozen
        # (no later vacuum pass to set their visibility hints).
        with cur.copy(sql.SQL("COPY {} FROM STDIN (FORMAT csv, FREEZE true)").format(target)) as copy:
            for block in pipe.blocks():
                copy.write(block)
    except BaseException:
        pipe.abandon()
        raise
    pipe.finish()
    return cur.rowcount


def _live_state(cur: psycopg.Cursor) -> tuple[str, str] | None:
    row = cur.execute(sql.SQL("SELECT load_id, access_fingerprint FROM {} ORDER BY id DESC LIMIT 1")
                      .format(sql.Identifier(META_SCHEMA, "history"))).fetchone()
    return (row[0], row[1]) if row else None


def _ensure_meta(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(META_SCHEMA)))
        conn.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "load_id text NOT NULL, access_fingerprint text NOT NULL, schemas text[] NOT NULL, "
            "tables integer NOT NULL, rows bigint NOT NULL, seconds double precision NOT NULL, "
            "published_at timestamptz NOT NULL DEFAULT now())").format(sql.Identifier(META_SCHEMA, "history")))


def _existing_schemas(cur: psycopg.Cursor, names: Iterable[str]) -> set[str]:
    return {n for (n,) in cur.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)",
                                      [list(names)]).fetchall()}


def _lock_live_tables(cur: psycopg.Cursor, schemas: list[str], timeout_s: float) -> None:
    """ACCESS EXCLUSIVE on every live table at once, or none: a reader holding one of them
    makes the attempt fail at once (NOWAIT) and it is retried, so the publication never holds
    some tables while waiting for others (which could deadlock with a reader)."""
    tables = cur.execute("SELECT format('%%I.%%I', schemaname, tablename) FROM pg_tables "
                         "WHERE schemaname = ANY(%s)", [schemas]).fetchall()
    if not tables:
        return
    statement = sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE NOWAIT").format(
        sql.SQL(", ").join(sql.SQL(t) for (t,) in tables))
    deadline, pause = time.monotonic() + timeout_s, 0.01
    while True:
        try:
            with cur.connection.transaction():  # a savepoint: a failed attempt releases everything
                cur.execute(statement)
            return
        except psycopg.errors.LockNotAvailable:
            if time.monotonic() > deadline:
                raise PostgresPublicationError(
                    f"readers kept the live tables busy for {timeout_s:.0f} s (long transactions?): "
                    "the swap was not done") from None
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


def _swap(cur: psycopg.Cursor, staged: list[str], timeout_s: float) -> None:
    """Live schemas become the staged ones; published schemas the file lacks go too (a
    rollback to a warehouse without `adam` must not leave a newer `adam` behind)."""
    live = sorted(_existing_schemas(cur, PUBLISHED_SCHEMAS))
    _lock_live_tables(cur, live, timeout_s)
    for schema in live:
        retired = schema + RETIRED_SUFFIX
        cur.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(retired)))
        cur.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(schema), sql.Identifier(retired)))
    for schema in staged:
        cur.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
            sql.Identifier(schema + STAGED_SUFFIX), sql.Identifier(schema)))
    for schema in live:
        cur.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema + RETIRED_SUFFIX)))


def _forbid_creating(cur: psycopg.Cursor) -> None:
    """Nobody but the loader creates objects in the database (PostgreSQL 15 already revokes
    CREATE on `public`; older servers and CREATE on the database itself are closed here)."""
    owner = cur.execute("SELECT pg_get_userbyid(datdba) = current_user FROM pg_database "
                        "WHERE datname = current_database()").fetchone()[0]
    if owner:
        cur.execute(sql.SQL("REVOKE CREATE ON DATABASE {} FROM PUBLIC").format(
            sql.Identifier(cur.connection.info.dbname)))
    if _existing_schemas(cur, ["public"]):
        cur.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")


def publish_to_postgres(warehouse: Path, url: str, sites: Iterable[str] = (), *,
                        swap_timeout_s: float = 600.0, log: Callable[[str], None] = lambda _: None
                        ) -> PgPublication:
    """Publish the DuckDB warehouse file to the PostgreSQL of `url` (see the module docstring).

    `sites`: the registry's sites; every site with rows in the file gets its role too.
    Raises PostgresPublicationError (live schemas unchanged) when it cannot be done."""
    target = describe_target(url)
    started = time.monotonic()
    try:
        duck = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as exc:
        raise PostgresPublicationError(f"cannot open {warehouse}: {exc}") from exc
    try:
        try:
            load_id = published_load_id(duck)
            tables = published_tables(duck)
            plan = AccessPlan.for_sites({*sites, *site_codes(duck, tables)})
        except duckdb.Error as exc:
            raise PostgresPublicationError(f"{warehouse} is not a published warehouse: {exc}") from exc
        schemas = sorted({t.schema for t in tables})
        try:
            with psycopg.connect(url, application_name="itp-warehouse publication") as conn:
                _ensure_meta(conn)
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
                    if _live_state(cur) == (load_id, plan.fingerprint()) and \
                            _existing_schemas(cur, PUBLISHED_SCHEMAS) == set(schemas):
                        return PgPublication(load_id, "unchanged", target)
                    rows = _publish(cur, duck, tables, schemas, plan, log)
                    seconds = time.monotonic() - started
                    cur.execute(sql.SQL("INSERT INTO {} (load_id, access_fingerprint, schemas, tables, rows, seconds) "
                                        "VALUES (%s, %s, %s, %s, %s, %s)").format(sql.Identifier(META_SCHEMA, "history")),
                                [load_id, plan.fingerprint(), schemas, len(tables), rows, seconds])
                    log(f"swapping in the new schemas {', '.join(schemas)}")
                    _swap(cur, schemas, swap_timeout_s)
            return PgPublication(load_id, "published", target, len(tables), rows, time.monotonic() - started)
        except psycopg.Error as exc:
            raise PostgresPublicationError(f"PostgreSQL ({target}) refused the publication: "
                                           f"{str(exc).strip()}") from exc
    finally:
        duck.close()


def _publish(cur: psycopg.Cursor, duck: duckdb.DuckDBPyConnection, tables: list[PublishedTable],
             schemas: list[str], plan: AccessPlan, log: Callable[[str], None]) -> int:
    """Create, fill, grant and analyse the staged schemas; returns the rows copied."""
    ensure_roles(cur, plan)
    _forbid_creating(cur)
    cur.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
        sql.Identifier(META_SCHEMA), sql.SQL(", ").join(sql.Identifier(r) for r in plan.roles)))
    cur.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(
        sql.Identifier(META_SCHEMA, "history"), sql.SQL(", ").join(sql.Identifier(r) for r in plan.roles)))
    rows = 0
    with tempfile.TemporaryDirectory(prefix="itp-pg-copy-") as scratch:
        for schema in schemas:
            staged = schema + STAGED_SUFFIX
            cur.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(staged)))
            cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(staged)))
            in_schema = [t for t in tables if t.schema == schema]
            for table in in_schema:
                copied = copy_table(cur, duck, table, staged, Path(scratch) / "table.csv")
                rows += copied
                log(f"copied {schema}.{table.name}: {copied:,} rows")
                fault_point(FAULT_POINT)
            # One round trip for the schema's grants, policies and ANALYZEs: a statement string
            # without parameters goes by the simple query protocol, which takes several
            # statements (hundreds at a time for a registry's site roles).
            cur.execute(sql.SQL(";\n").join([
                *grant_statements(plan, staged, in_schema),
                *(sql.SQL("ANALYZE {}").format(sql.Identifier(staged, table.name)) for table in in_schema)]))
    return rows
