"""Issue #16: nothing a load decides changes with the native CSV path. The demo cohort loaded
the Python way (ITP_NATIVE_INGEST=0) gives the same warehouse as the session's demo, loaded
natively (the default): every table of every schema (raw rows in stored order with their
source rows, quarantine with reasons and line numbers, the file manifest, checks, marts,
ADaM), the load's id and clock times set aside."""
from __future__ import annotations

import duckdb
import pytest

from sources.domains import DOMAINS
from tests.conftest import cli

SCHEMAS = ("raw", "quality", "reference", "intermediate", "marts", "adam")
# Stored in the order the load wrote them (file order, then line order): compared in that order.
STORED_ORDER = {("raw", domain) for domain in DOMAINS} | {("quality", "quarantine")}


@pytest.fixture(scope="module")
def python_path_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("python_path") / "home"
    proc = cli("demo", "--home", str(home), env={"ITP_NATIVE_INGEST": "0"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return home


def _tables(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return conn.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
        f"AND schema_name IN {SCHEMAS} ORDER BY ALL").fetchall()


def _rows(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple]:
    """The table's rows, with what differs between any two loads by design set to NULL: load
    ids (a new one per load) and clock times."""
    columns = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? "
        "AND table_name = ? ORDER BY ordinal_position", [schema, table]).fetchall()
    kept = [f'NULL AS "{name}"' if "load_id" in name or kind.startswith("TIMESTAMP") else f'"{name}"'
            for name, kind in columns]
    order = "rowid" if (schema, table) in STORED_ORDER else "ALL"
    return conn.execute(f'SELECT {", ".join(kept)} FROM "{schema}"."{table}" ORDER BY {order}').fetchall()


def test_the_python_path_and_the_native_path_give_the_same_warehouse(demo_home, python_path_home):
    native_db, python_db = demo_home / "warehouse.duckdb", python_path_home / "warehouse.duckdb"
    with duckdb.connect(str(native_db), read_only=True) as native, \
            duckdb.connect(str(python_db), read_only=True) as python:
        tables = _tables(native)
        assert tables == _tables(python)
        assert {s for s, _ in tables} == set(SCHEMAS)
        # The comparison means something: the demo has refused rows with line numbers, and
        # files of every status.
        assert native.execute("SELECT count(*) FROM quality.quarantine WHERE source_row > 1").fetchone()[0] > 0
        assert {s for (s,) in native.execute("SELECT DISTINCT status FROM quality.file_manifest").fetchall()} >= {
            "loaded", "duplicate"}
        differing = [f"{s}.{t}" for s, t in tables if _rows(native, s, t) != _rows(python, s, t)]
    assert differing == []


def _files_read_by_duckdb(home) -> int:
    [log] = sorted((home / "logs").glob("*.log"))
    [line] = [line for line in log.read_text().splitlines() if "files read by DuckDB" in line]
    return int(line.split(" - ")[-1].split()[0])


def test_each_load_took_the_path_it_was_told(python_path_home, demo_home):
    """The comparison compares two paths: the setting reached the load, and the native one
    read most of the demo's files (the xlsx and the quoted CSV files go the Python way)."""
    assert _files_read_by_duckdb(python_path_home) == 0
    with duckdb.connect(str(demo_home / "warehouse.duckdb"), read_only=True) as conn:
        csv_loaded = conn.execute("SELECT count(*) FROM quality.file_manifest WHERE status IN "
                                  "('loaded', 'superseded', 'held') AND file_path LIKE '%.csv'").fetchone()[0]
    assert csv_loaded / 2 < _files_read_by_duckdb(demo_home) <= csv_loaded
