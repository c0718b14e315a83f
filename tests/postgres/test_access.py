"""Who reads what in PostgreSQL, tried as each kind of user against the real server on the
demo warehouse (three sites): a site's user reads exactly its site's rows of every table with
site_id and nothing else; the analyst reads every row; the monitor reads quality and the
safety signals; none of them can write."""
from __future__ import annotations

from collections import Counter

import psycopg
import pytest
from psycopg import sql

from orchestration.pg_access import ANALYST_ROLE, MONITOR_ROLE, AccessPlan
from orchestration.pg_publishing import publish_to_postgres
from tests.postgres.warehouse import duckdb_rows, duckdb_tables


@pytest.fixture(scope="module")
def demo_publication(demo_home, postgres_server):
    url = postgres_server.create_database("access")
    publish_to_postgres(demo_home / "warehouse.duckdb", url)
    return demo_home / "warehouse.duckdb", url


def login(server, url: str, user: str, role: str) -> str:
    server.create_role(user, "LOGIN", f'IN ROLE "{role}"')
    return url.replace(f"{server.superuser}@", f"{user}@")


def rows(url: str, schema: str, table: str) -> Counter:
    with psycopg.connect(url) as conn:
        return Counter(conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, table))).fetchall())


def denied(url: str, statement: sql.Composable) -> bool:
    with psycopg.connect(url) as conn:
        try:
            conn.execute(statement)
        except psycopg.errors.InsufficientPrivilege:
            return True
    return False


def assert_cannot_write(url: str, tables) -> None:
    targets = [(t.schema, t.name) for t in tables] + [("itp_publication", "history")]
    for schema, name in targets:
        t = sql.Identifier(schema, name)
        for statement in (sql.SQL("INSERT INTO {} OVERRIDING SYSTEM VALUE SELECT * FROM {} LIMIT 1").format(t, t),
                          sql.SQL("UPDATE {} SET load_id = NULL").format(t) if schema == "itp_publication"
                          else sql.SQL("DELETE FROM {} WHERE false").format(t),
                          sql.SQL("DELETE FROM {}").format(t),
                          sql.SQL("TRUNCATE {}").format(t),
                          sql.SQL("ALTER TABLE {} DISABLE ROW LEVEL SECURITY").format(t),
                          sql.SQL("DROP TABLE {}").format(t),
                          sql.SQL("CREATE TABLE {} (x int)").format(sql.Identifier(schema, "intruder"))):
            assert denied(url, statement), f"{statement.as_string()} was allowed"
    for statement in ("CREATE SCHEMA intruder", "CREATE TABLE public.intruder (x int)"):
        assert denied(url, sql.SQL(statement)), f"{statement} was allowed"


def test_each_site_reads_only_its_own_rows_of_every_table_and_cannot_write(demo_publication, postgres_server):
    published, url = demo_publication
    tables = duckdb_tables(published)
    with_site = [t for t in tables if t.has_site]
    sites = sorted({row[0] for row in duckdb_rows(published, "marts", "dim_subject")})
    assert len(sites) == 3
    assert {(t.schema, t.name) for t in with_site} >= {("marts", "fct_lab_result"), ("quality", "quarantine")}
    for site in sites:
        user_url = login(postgres_server, url, f"user_{site.lower()}", AccessPlan.site_role(site))
        for t in with_site:
            mine = duckdb_rows(published, t.schema, t.name, f"WHERE {t.site_column} = '{site}'")
            assert rows(user_url, t.schema, t.name) == mine, f"site {site}: {t.schema}.{t.name}"
        for t in tables:
            if not t.has_site:
                assert denied(user_url, sql.SQL("SELECT 1 FROM {}").format(sql.Identifier(t.schema, t.name))), \
                    f"site {site} reads {t.schema}.{t.name}, which mixes sites"
        assert_cannot_write(user_url, tables)
    # The filter mattered: the big tables have rows of every site.
    for name in ("dim_subject", "fct_lab_result", "patient_month"):
        assert {r[0] for r in duckdb_rows(published, "marts", name)} == set(sites)


def test_the_analyst_reads_every_row_and_cannot_write(demo_publication, postgres_server):
    published, url = demo_publication
    user_url = login(postgres_server, url, "analyst_user", ANALYST_ROLE)
    tables = duckdb_tables(published)
    for t in tables:
        assert rows(user_url, t.schema, t.name) == duckdb_rows(published, t.schema, t.name), f"{t.schema}.{t.name}"
    assert_cannot_write(user_url, tables)


def test_the_monitor_reads_quality_and_safety_signals_only(demo_publication, postgres_server):
    published, url = demo_publication
    user_url = login(postgres_server, url, "monitor_user", MONITOR_ROLE)
    tables = duckdb_tables(published)
    for t in tables:
        if t.schema == "quality" or (t.schema, t.name) == ("marts", "safety_signal"):
            assert rows(user_url, t.schema, t.name) == duckdb_rows(published, t.schema, t.name)
        else:
            assert denied(user_url, sql.SQL("SELECT 1 FROM {}").format(sql.Identifier(t.schema, t.name)))
    assert_cannot_write(user_url, tables)
