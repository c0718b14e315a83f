"""docs/analysts.md: every example query runs on the demo warehouse, read-only, and returns
rows (an example that answers nothing on the demo teaches nothing); the table dictionary
documents every column of the published marts and quality tables."""
from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO

DOC = REPO / "docs" / "analysts.md"
SQL_BLOCK = re.compile(r"```sql\n(.*?)```", re.S)
DICTIONARY_TABLE = re.compile(r"^#### `(\w+)\.(\w+)`\n(.*?)(?=^#{2,4} )", re.S | re.M)
DOCUMENTED_SCHEMAS = ("marts", "quality")


def _sql_blocks() -> list[str]:
    return SQL_BLOCK.findall(DOC.read_text(encoding="utf-8"))


def test_the_doc_has_at_least_ten_example_queries():
    assert len(_sql_blocks()) >= 10


@pytest.mark.parametrize("index", range(len(_sql_blocks())))
def test_example_query_runs_on_the_demo_warehouse(demo_warehouse, index):
    sql = _sql_blocks()[index]
    with duckdb.connect(str(demo_warehouse), read_only=True) as conn:
        rows = conn.execute(sql).fetchall()
    assert rows, f"this example query returns nothing on the demo warehouse:\n{sql}"


def test_dictionary_documents_every_published_column(mart):
    text = DOC.read_text(encoding="utf-8")
    documented = {(schema, table): set(re.findall(r"^\| `(\w+)` \|", body, re.M))
                  for schema, table, body in DICTIONARY_TABLE.findall(text + "\n## end\n")}
    published = mart("""SELECT table_schema, table_name, column_name FROM information_schema.columns
                        WHERE table_schema IN ('marts', 'quality')""")
    assert published
    missing = sorted(f"{s}.{t}.{c}" for s, t, c in published if c not in documented.get((s, t), set()))
    assert not missing, f"columns missing from the table dictionary of {DOC.name}: {missing}"
