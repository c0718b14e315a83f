"""Model contracts: every mart of endpoints.md §7 and every ADaM dataset has an enforced dbt
contract with a type on every column, so `dbt build` (every load, every build test here and on
PostgreSQL) refuses a model whose columns or types drift from the yml. The tables Python
writes are held to their source declarations by tests/quality/test_source_contracts.py."""
from __future__ import annotations

import json

import pytest

MARTS = {"dim_subject", "fct_lab_result", "patient_month", "endpoint_initial_response",
         "endpoint_response_duration", "endpoint_summary", "safety_signal"}
ADAM = {"adsl", "adlb", "adrs", "adtte", "adae", "adcm", "adbleed"}


@pytest.fixture(scope="module")
def models() -> dict[str, dict]:
    from orchestration.assets.dbt import dbt_project

    manifest = json.loads(dbt_project().manifest_path.read_text())
    return {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}


def test_every_mart_and_adam_dataset_has_an_enforced_contract(models):
    contracted = {name for name, node in models.items() if node["config"]["contract"]["enforced"]}
    assert MARTS | ADAM <= contracted
    assert {name for name in contracted if models[name]["schema"] in ("marts", "adam")} == MARTS | ADAM


@pytest.mark.parametrize("name", sorted(MARTS | ADAM))
def test_every_column_has_a_type(models, name):
    columns = models[name]["columns"]
    assert columns and not [c for c, col in columns.items() if not col.get("data_type")]


def test_the_incremental_lab_fact_fails_on_a_schema_change(models):
    """dbt accepts a contract on an incremental model only with on_schema_change fail or
    append_new_columns; `fail` makes a changed column a failed build, not a silent rebuild."""
    config = models["fct_lab_result"]["config"]
    assert (config["materialized"], config["on_schema_change"]) == ("incremental", "fail")
