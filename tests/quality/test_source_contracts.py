"""The tables Python writes (raw.<domain>, quality.*) against their declaration as dbt sources.

dbt enforces a model contract only on what it builds (the marts and the ADaM datasets, checked
at every `dbt build`); these tables are created by ingest.intake.prepare_warehouse. Their
columns and types are declared in the sources yml (dbt docs show them to analysts and
monitors), and this test holds the DDL and the declaration together: a column added, renamed,
dropped or retyped on one side only fails here."""
from __future__ import annotations

import duckdb
import pytest
import yaml

from ingest import intake
from sources.study_parameters import DBT_PROJECT_DIR

SOURCES_YML = DBT_PROJECT_DIR / "models" / "staging" / "site_exports" / "_site_exports__sources.yml"


def _declared() -> dict[tuple[str, str], list[tuple[str, str]]]:
    sources = yaml.safe_load(SOURCES_YML.read_text())["sources"]
    return {(source["schema"], table["name"]): [(c["name"], c["data_type"].lower()) for c in table.get("columns", [])]
            for source in sources for table in source["tables"]}


def _created() -> dict[tuple[str, str], list[tuple[str, str]]]:
    with duckdb.connect() as conn:
        intake.prepare_warehouse(conn)
        rows = conn.execute("""SELECT table_schema, table_name, column_name, lower(data_type)
                               FROM information_schema.columns WHERE table_schema IN ('raw', 'quality')
                               ORDER BY table_schema, table_name, ordinal_position""").fetchall()
    created: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, data_type in rows:
        created.setdefault((schema, table), []).append((column, data_type))
    return created


def test_every_table_python_creates_is_a_declared_source():
    assert set(_created()) == set(_declared())


@pytest.mark.parametrize("table", sorted(_declared()), ids=lambda t: ".".join(t))
def test_the_declared_columns_and_types_are_the_ddl(table):
    assert _declared()[table] == _created()[table], (
        f"{'.'.join(table)}: the DDL and {SOURCES_YML.name} differ; change both together")
