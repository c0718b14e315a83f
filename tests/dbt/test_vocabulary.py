"""One vocabulary (issue #14): controlled terms, endpoint and signal codes, response categories
and thresholds live in the seeds and dbt_project.yml vars; Python and the dbt tests read them there. These tests fail when a
second copy appears (an `accepted_values` list repeating a seed's terms) or when a column that
ingestion checks against the seed is left unchecked in dbt."""
from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from sources.domains import DOMAINS
from sources.study_parameters import (controlled_terms, ctcae_absolute_limits, drug_classes, endpoints,
                                      response_categories, safety_signals, study_vars)


@pytest.fixture(scope="module")
def data_tests() -> list[dict]:
    """The generic data tests of the parsed project (manifest): name, arguments, node, column."""
    from orchestration.assets.dbt import dbt_project

    manifest = json.loads(dbt_project().manifest_path.read_text())
    return [{"name": n["test_metadata"]["name"], "kwargs": n["test_metadata"]["kwargs"],
             "node": n["attached_node"], "column": n.get("column_name")}
            for n in manifest["nodes"].values()
            if n["resource_type"] == "test" and n.get("test_metadata")]


def seed_vocabularies() -> dict[str, set[str]]:
    """Every list of textual terms a seed owns. Integer scales (WHO 0-4, CTCAE 1-5) are left
    out: a list of small integers is as often another scale as a copy of these."""
    vocabularies: dict[str, set[str]] = {}
    for t in controlled_terms():
        vocabularies.setdefault(f"controlled_terms {t.domain}.{t.column_name}", set()).add(t.term)
    vocabularies["drug_classes"] = set(drug_classes())
    vocabularies["endpoints"] = {e.endpoint for e in endpoints()}
    vocabularies["safety_signals"] = set(safety_signals())
    vocabularies["response_categories"] = {c.category for c in response_categories()}
    return {name: terms for name, terms in vocabularies.items() if not all(t.isdigit() for t in terms)}


def test_no_accepted_values_list_repeats_a_seed_vocabulary(data_tests):
    copies = []
    for test in data_tests:
        if test["name"] != "accepted_values":
            continue
        values = {str(v) for v in test["kwargs"]["values"]}
        copies += [(test["node"], test["column"], sorted(values), name)
                   for name, terms in seed_vocabularies().items() if values & terms]
    assert not copies, f"accepted_values repeating a seed (use controlled_term / relationships): {copies}"


def test_every_controlled_export_column_is_tested_in_dbt_against_the_seed(data_tests):
    """Each column sources.domains checks at ingestion is checked again in staging, from the
    same seed: the contract between ingestion and dbt cannot name two different lists."""
    checked = {(t["kwargs"]["domain"], t["kwargs"].get("column") or t["column"])
               for t in data_tests if t["name"] == "controlled_term"}
    against_drug_classes = {t["column"] for t in data_tests if t["name"] == "relationships"
                            and "drug_classes" in t["kwargs"]["to"]}
    controlled = {(d.name, c.name) for d in DOMAINS.values() for c in d.columns if c.allowed}
    assert controlled - checked == {("conmeds", "drug_class")}
    assert "drug_class" in against_drug_classes
    seed_columns = {(t.domain, t.column_name) for t in controlled_terms()}
    assert checked <= seed_columns, checked - seed_columns


def _test_sql(built, test: str, model: str) -> str:
    """The compiled SQL of the one test named `test` (generic or singular) on `model`."""
    [node] = [n for n in json.loads((built.target / "manifest.json").read_text())["nodes"].values()
              if n["resource_type"] == "test" and test in (n["name"], n.get("test_metadata", {}).get("name"))
              and n["depends_on"]["nodes"] and any(d.endswith("." + model) for d in n["depends_on"]["nodes"])]
    return node["compiled_code"]


def _rows_after(built, tmp_path, sql: str, *changes: str) -> list[tuple]:
    """What `sql` returns on a copy of the built warehouse after `changes` (to a seed table)."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built.path, copy)
    with duckdb.connect(str(copy)) as conn:
        for change in changes:
            conn.execute(change)
        return conn.execute(sql).fetchall()


def test_the_controlled_term_test_reads_the_seed(built, tmp_path):
    """The generic test passes on the built warehouse and finds the `F` rows once `F` is taken
    out of the seed's table: the seed is the list dbt checks."""
    sql = _test_sql(built, "controlled_term", "stg_site_exports__subjects")
    assert built.rows(sql) == []
    rows = _rows_after(built, tmp_path, sql,
                       "DELETE FROM reference.controlled_terms WHERE domain = 'subjects' AND term = 'F'")
    assert {value for (value,) in rows} == {"F"}


def test_the_in_reference_test_reads_the_seeds_subset(built, tmp_path):
    """A response starts with CR or R because the seed says which categories are a response:
    once CR is not, the test on endpoint_response_duration finds the CR starts."""
    sql = _test_sql(built, "in_reference", "endpoint_response_duration")
    assert built.rows(sql) == []
    rows = _rows_after(built, tmp_path, sql,
                       "UPDATE reference.response_categories SET is_response = false WHERE category = 'CR'")
    assert {value for (value,) in rows} == {"CR"}


def test_the_mart_has_exactly_the_seeds_endpoints(built):
    """Every endpoint code of marts.endpoint_summary is in the seed, and every seed endpoint is
    in the mart: the report's labels and the summary's order cover what the SQL counts."""
    in_mart = {e for (e,) in built.rows("SELECT DISTINCT endpoint FROM marts.endpoint_summary")}
    assert in_mart == {e.endpoint for e in endpoints()}


def test_the_row_check_of_endpoint_summary_follows_the_seed(built, tmp_path):
    """assert_endpoint_summary_has_every_row reads its endpoints from the seed: an endpoint the
    seed adds without SQL, or one the SQL counts that the seed lacks, fails it."""
    sql = _test_sql(built, "assert_endpoint_summary_has_every_row", "endpoint_summary")
    assert built.rows(sql) == []
    rows = _rows_after(built, tmp_path, sql,
                       "DELETE FROM reference.endpoints WHERE endpoint = 'ae_serious'",
                       "INSERT INTO reference.endpoints VALUES ('ae_fatal', 20, 'all', 'Fatal adverse event')")
    assert {row[0]: row[1:] for row in rows} == {"ae_serious": (None, 1), "ae_fatal": (1, None)}


def test_safety_signal_thresholds_are_the_ctcae_grade_3_limits():
    """dbt_project.yml's NEUT/WBC signal thresholds are CTCAE v5 grade >= 3 (its comments say
    so); the CTCAE seed holds those limits too. They must agree."""
    v = study_vars()
    limits = ctcae_absolute_limits()
    for test_code, var in (("NEUT", "neut_signal_below"), ("WBC", "wbc_signal_below")):
        assert limits[(test_code, v["severe_min_grade"])] == ("<", float(v[var])), test_code
