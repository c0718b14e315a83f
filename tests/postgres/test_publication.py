"""The PostgreSQL publication against a real server: what a load publishes equals the DuckDB
warehouse row for row; publishing the live load again does nothing; a rollback can be
published; readers never see a mix of two publications nor an error; a publication killed
mid-copy leaves the live schemas as they were."""
from __future__ import annotations

import os
import re
import signal
import threading
import time

import psycopg
import pytest

from orchestration.pg_publishing import PostgresPublicationError, publish_to_postgres
from orchestration.publishing import WarehouseHome, rollback
from tests.conftest import cli
from tests.orchestration.homes import (CHANGED_SUBJECT, copy_home, group_members, start_load, wait_until)
from tests.postgres.conftest import URL_PASSWORD
from tests.postgres.warehouse import duckdb_rows, duckdb_tables, live_load_id, pg_rows, signature_query
from tests.quality.test_alerts import webhook  # noqa: F401 - the real local JSON webhook fixture


def load_id_of(path) -> str:
    import duckdb

    from orchestration.pg_publishing import published_load_id

    with duckdb.connect(str(path), read_only=True) as conn:
        return published_load_id(conn)


def test_the_publication_equals_the_duckdb_warehouse_row_for_row(published_loads):
    published = published_loads.loaded.published
    assert live_load_id(published_loads.url) == load_id_of(published)
    tables = duckdb_tables(published)
    assert {t.schema for t in tables} >= {"marts", "quality"}
    for t in tables:
        expected = duckdb_rows(published, t.schema, t.name)
        assert pg_rows(published_loads.url, t.schema, t.name) == expected, f"{t.schema}.{t.name} differs"
    with psycopg.connect(published_loads.url) as conn:
        response = conn.execute("SELECT best_response FROM marts.endpoint_initial_response WHERE subject_id = %s",
                                [CHANGED_SUBJECT]).fetchone()[0]
        assert response == "R"  # the second load's change is what PostgreSQL serves
        live = {s for (s,) in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE '%%\\_\\_%%'")}
        assert live == set(), "staged or retired schemas were left behind"


def test_publishing_the_live_load_again_does_nothing(published_loads):
    with psycopg.connect(published_loads.url) as conn:
        before = conn.execute("SELECT count(*), (SELECT oid FROM pg_namespace WHERE nspname = 'marts') "
                              "FROM itp_publication.history").fetchone()
    proc = cli("publish-postgres", "--home", str(published_loads.loaded.home), "--sites",
               str(published_loads.loaded.sites), env={"ITP_POSTGRES_URL": published_loads.url})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "nothing to publish" in proc.stdout
    with psycopg.connect(published_loads.url) as conn:
        after = conn.execute("SELECT count(*), (SELECT oid FROM pg_namespace WHERE nspname = 'marts') "
                             "FROM itp_publication.history").fetchone()
    assert after == before  # no history row, and the live schema is the very same object


def test_after_a_rollback_publish_postgres_serves_the_restored_warehouse(published_loads, postgres_server, tmp_path):
    loaded = copy_home(published_loads.loaded, tmp_path / "copy")
    url = postgres_server.create_database("rollback")
    env = {"ITP_POSTGRES_URL": url, "ITP_SITES": str(loaded.sites)}
    assert cli("publish-postgres", "--home", str(loaded.home), env=env).returncode == 0
    restored = rollback(WarehouseHome(loaded.home))
    proc = cli("publish-postgres", "--home", str(loaded.home), env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert live_load_id(url) == load_id_of(restored) != load_id_of(published_loads.versions[-1])
    assert pg_rows(url, "marts", "endpoint_initial_response") == \
        duckdb_rows(restored, "marts", "endpoint_initial_response")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT best_response FROM marts.endpoint_initial_response WHERE subject_id = %s",
                            [CHANGED_SUBJECT]).fetchone()[0] == "NR"


def test_readers_in_a_loop_see_one_publication_or_the_other_never_a_mix_nor_an_error(published_loads,
                                                                                     postgres_server):
    """Two readers while six publications alternate two loads: one reads every table in one
    statement; the other reads `quality` then `marts` in two statements of one REPEATABLE READ
    transaction (it holds quality's tables while it asks for marts': a publication that locked
    the tables one by one would deadlock with it)."""
    old, new = published_loads.versions[-2:]
    url = postgres_server.create_database("readers")
    tables = duckdb_tables(new)
    assert {(t.schema, t.name) for t in tables} == {(t.schema, t.name) for t in duckdb_tables(old)}
    whole = signature_query(tables)
    parts = [signature_query([t for t in tables if t.schema == schema]) for schema in ("quality", "marts")]
    expected: dict[str, set] = {"whole": set(), "parts": set()}
    for version in (old, new):
        publish_to_postgres(version, url)
        with psycopg.connect(url) as conn:
            expected["whole"].add(conn.execute(whole).fetchone())
            expected["parts"].add(tuple(conn.execute(q).fetchone() for q in parts))
    assert len(expected["whole"]) == len(expected["parts"]) == 2, "the two loads must differ for a mix to show"
    postgres_server.create_role("reader_analyst", "LOGIN", "IN ROLE itp_analyst")
    reader_url = url.replace(f"{postgres_server.superuser}@", "reader_analyst@")

    seen: dict[str, list] = {"whole": [], "parts": []}
    errors: list[str] = []
    stop = threading.Event()

    def read(kind: str) -> None:
        with psycopg.connect(reader_url, autocommit=kind == "whole") as conn:
            if kind == "parts":
                conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            while not stop.is_set():
                try:
                    if kind == "whole":
                        seen[kind].append(conn.execute(whole).fetchone())
                    else:
                        with conn.transaction():
                            seen[kind].append(tuple(conn.execute(q).fetchone() for q in parts))
                except psycopg.Error as exc:
                    errors.append(f"{kind}: {exc!r}")

    readers = [threading.Thread(target=read, args=(kind,)) for kind in seen]
    for reader in readers:
        reader.start()
    try:
        for version in (old, new) * 3:
            time.sleep(0.2)
            publish_to_postgres(version, url)
    finally:
        time.sleep(0.2)
        stop.set()
        for reader in readers:
            reader.join()
    assert errors == []
    for kind, observed in seen.items():
        mixes = [s for s in observed if s not in expected[kind]]
        assert mixes == [], f"{kind}: {len(mixes)} of {len(observed)} reads saw a mix of two publications"
        assert expected[kind] <= set(observed), f"{kind}: the reader never saw a change"


def test_a_publication_killed_mid_copy_leaves_the_live_schemas_unchanged(published_loads, postgres_server, tmp_path):
    loaded = copy_home(published_loads.loaded, tmp_path / "copy")
    old = published_loads.versions[-2]
    url = postgres_server.create_database("killed")
    publish_to_postgres(old, url)
    tables = duckdb_tables(old)
    with psycopg.connect(url) as conn:
        before = conn.execute(signature_query(tables)).fetchone()

    marker, log = tmp_path / "paused", tmp_path / "publish.log"
    env = {"ITP_POSTGRES_URL": url, "ITP_FAULT_PAUSE_AT": "postgres_copy", "ITP_FAULT_MARKER": str(marker)}
    proc = start_load(loaded, log, env, args=["publish-postgres", "--home", str(loaded.home)])
    try:
        wait_until(marker.exists, proc, "the publication's pause after its first COPY", log)
        with psycopg.connect(url) as conn:  # the copy is under way, in the publication's transaction
            copying = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                   "'itp-warehouse publication' AND state = 'idle in transaction'").fetchone()[0]
        assert copying == 1
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert group_members(proc.pid) == {}

    with psycopg.connect(url) as conn:
        assert conn.execute(signature_query(tables)).fetchone() == before
        assert live_load_id(url) == load_id_of(old)
    proc = cli("publish-postgres", "--home", str(loaded.home), env={"ITP_POSTGRES_URL": url})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert live_load_id(url) == load_id_of(loaded.published)


def test_a_publication_that_fails_says_so_and_changes_nothing(published_loads, postgres_server):
    url = postgres_server.create_database("failing")
    with pytest.raises(PostgresPublicationError, match="no-such-database"):
        publish_to_postgres(published_loads.loaded.published, url.replace("/failing?", "/no-such-database?"))
    proc = cli("publish-postgres", "--home", str(published_loads.loaded.home),
               env={"ITP_POSTGRES_URL": url.replace("/failing?", "/no-such-database?")})
    assert proc.returncode == 7   # README "Exit codes": DuckDB is published, PostgreSQL is not
    assert "PostgreSQL publication FAILED" in proc.stderr and "no-such-database" in proc.stderr


# Every table the publication creates gets a row trigger that lets `allowed` rows through and
# refuses the next: the server then fails the COPY at that line.
REFUSING_TRIGGER = """
CREATE SEQUENCE copied_rows;
CREATE FUNCTION refuse_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF nextval('copied_rows') > {allowed} THEN RAISE EXCEPTION 'row refused by the test'; END IF;
  RETURN NEW;
END $$;
CREATE FUNCTION add_refusing_trigger() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE created record;
BEGIN
  FOR created IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE'
                 AND schema_name LIKE '%\\_\\_next' LOOP
    EXECUTE format('CREATE TRIGGER refuse BEFORE INSERT ON %s FOR EACH ROW EXECUTE FUNCTION refuse_row()',
                   created.object_identity);
  END LOOP;
END $$;
CREATE EVENT TRIGGER refusing ON ddl_command_end EXECUTE FUNCTION add_refusing_trigger();
"""


@pytest.mark.timeout(300)   # the failure this guards against was a hang, not an error
@pytest.mark.parametrize("allowed", [0, 50])
def test_a_copy_the_server_refuses_fails_the_publication_instead_of_hanging(published_loads, postgres_server,
                                                                             allowed):
    """The server refusing a COPY at its first line (DuckDB's writer not yet started or already
    gone) or in the middle (seen at 100,000 subjects: the server's disk was full) raised nothing
    and hung the publication forever. It must fail with the server's reason and leave nothing."""
    url = postgres_server.create_database(f"refusing_{allowed}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(REFUSING_TRIGGER.format(allowed=allowed))
    with pytest.raises(PostgresPublicationError, match="row refused by the test") as refused:
        publish_to_postgres(published_loads.loaded.published, url)
    refused_line = int(re.search(r"COPY \w+, line (\d+):", str(refused.value)).group(1))
    assert (refused_line == 1) == (allowed == 0)     # at a COPY's first line, or in its middle
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT nextval('copied_rows')").fetchone()[0] > allowed   # the COPY did run
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname IN ('marts', 'adam', 'marts__next', "
                            "'adam__next')").fetchone()[0] == 0


def test_a_load_whose_postgres_publication_fails_publishes_duckdb_and_says_so(published_loads):
    from tests.orchestration.homes import initial_response

    assert published_loads.load_exit == 7, published_loads.load_output
    assert ": published ->" in published_loads.load_output
    assert "PostgreSQL publication FAILED" in published_loads.load_output
    assert "live schemas are unchanged" in published_loads.load_output
    assert URL_PASSWORD not in published_loads.load_output
    # DuckDB got the load: its version is the one publish-postgres published afterwards.
    assert initial_response(published_loads.versions[-1], CHANGED_SUBJECT) == "R"


def test_the_alert_of_a_failed_postgres_publication_says_the_duckdb_warehouse_was_published(
        webhook, monkeypatch):  # noqa: F811
    from orchestration.alerting import alert_failed_load

    received, port = webhook
    monkeypatch.setenv("ITP_ALERT_URLS", f"json://127.0.0.1:{port}/hooks/itp")
    assert alert_failed_load("L1", ["published__postgres: the PostgreSQL publication failed"], duckdb_published=True)
    [(_, payload)] = received
    assert payload["title"] == "itp-warehouse: load L1 published, its PostgreSQL publication FAILED"
    assert "publish-postgres" in payload["message"] and "published__postgres" in payload["message"]
