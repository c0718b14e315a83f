"""Portability: `dbt build --target postgres` over the same raw and quality tables builds the
same marts as DuckDB. The demo warehouse's sources are copied into a real PostgreSQL server
with its DuckDB-built marts beside them (schema duckdb_marts); every mart is then compared in
PostgreSQL with EXCEPT ALL, both ways.

dbt's unit tests stay on DuckDB (tests/dbt/test_build.py): two of their fixtures give values
whose types PostgreSQL cannot infer (docs/decisions.md, #17)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

from orchestration.pg_publishing import copy_table, duckdb_tables
from tests.dbt.warehouse import dbt_build

DUCKDB_MARTS = "duckdb_marts"


def copy_into_postgres(warehouse: Path, url: str) -> list:
    """raw and quality as they are; marts as duckdb_marts. Returns the marts' tables."""
    with duckdb.connect(str(warehouse), read_only=True) as duck, psycopg.connect(url) as conn, \
            conn.cursor() as cur, tempfile.TemporaryDirectory() as scratch:
        fifo = Path(scratch) / "table.csv"
        sources, marts = duckdb_tables(duck, ["raw", "quality"]), duckdb_tables(duck, ["marts"])
        for schema in ("raw", "quality", DUCKDB_MARTS):
            cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        for t in sources:
            copy_table(cur, duck, t, t.schema, fifo)
        for t in marts:
            copy_table(cur, duck, t, DUCKDB_MARTS, fifo)
    return marts


def test_the_models_build_on_postgres_into_the_same_marts_as_on_duckdb(demo_home, postgres_server, tmp_path):
    warehouse = demo_home / "warehouse.duckdb"
    url = postgres_server.create_database("portability")
    marts = copy_into_postgres(warehouse, url)
    assert {t.name for t in marts} >= {"dim_subject", "fct_lab_result", "patient_month", "endpoint_summary"}

    proc = dbt_build(warehouse, tmp_path, None, "--target", "postgres", "--exclude-resource-type", "unit_test",
                     env={"PGHOST": str(postgres_server.socket_dir), "PGPORT": "5432",
                          "PGUSER": postgres_server.superuser, "PGDATABASE": "portability"})
    assert proc.returncode == 0, "\n".join((proc.stdout + proc.stderr).splitlines()[-80:])

    differences = {}
    with psycopg.connect(url) as conn:
        for t in marts:
            columns = sql.SQL(", ").join(sql.Identifier(c) for c, _ in t.columns)
            rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("marts", t.name))).fetchone()[0]
            assert rows > 0 or t.name == "safety_signal", f"marts.{t.name} is empty on PostgreSQL"
            for a, b in (("marts", DUCKDB_MARTS), (DUCKDB_MARTS, "marts")):
                extra = conn.execute(sql.SQL("SELECT {c} FROM {a} EXCEPT ALL SELECT {c} FROM {b}").format(
                    c=columns, a=sql.Identifier(a, t.name), b=sql.Identifier(b, t.name))).fetchall()
                if extra:
                    differences[f"{a}.{t.name} minus {b}.{t.name}"] = (len(extra), extra[:3])
    assert differences == {}

    # The comparison sees a difference of one value in one row, both ways.
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("UPDATE {} SET birth_year = birth_year + 1 WHERE subject_id = "
                             "(SELECT min(subject_id) FROM {})").format(*[sql.Identifier(DUCKDB_MARTS, "dim_subject")] * 2))
        for a, b in (("marts", DUCKDB_MARTS), (DUCKDB_MARTS, "marts")):
            assert conn.execute(sql.SQL("SELECT count(*) FROM (SELECT * FROM {} EXCEPT ALL SELECT * FROM {}) d").format(
                sql.Identifier(a, "dim_subject"), sql.Identifier(b, "dim_subject"))).fetchone()[0] == 1
