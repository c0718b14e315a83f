"""dbt test outcomes of a real `dbt build` become check results with the severity configured on
the test and the model they test as target."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from quality import check_results
from quality.check_results import CheckResult, dbt_results_from_run_results

DBT = str(Path(sys.executable).parent / "dbt")

PROJECT = {
    "dbt_project.yml": """\
name: gate_probe
version: "1.0.0"
config-version: 2
profile: gate_probe
flags:
  send_anonymous_usage_stats: false
""",
    "profiles.yml": """\
gate_probe:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('PROBE_DB') }}"
      schema: marts
""",
    "models/dim_subject.sql": "select 1 as subject_id, null as sex union all select 1, 'F'",
    "models/dim_subject.yml": """\
models:
  - name: dim_subject
    columns:
      - name: subject_id
        data_tests:
          - unique
      - name: sex
        data_tests:
          - not_null:
              config: {severity: warn}
""",
    "tests/assert_no_negative_subject.sql": "select * from {{ ref('dim_subject') }} where subject_id < 0",
}


@pytest.fixture(scope="module")
def dbt_artifacts(tmp_path_factory):
    root = tmp_path_factory.mktemp("dbt_probe")
    for name, text in PROJECT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    env = {**os.environ, "DO_NOT_TRACK": "1", "PROBE_DB": str(root / "probe.duckdb")}
    proc = subprocess.run([DBT, "build", "--project-dir", str(root), "--profiles-dir", str(root)],
                          capture_output=True, text=True, env=env, cwd=root)
    assert proc.returncode == 1, proc.stdout  # the unique test fails on purpose
    load = lambda name: json.loads((root / "target" / name).read_text())  # noqa: E731
    return load("run_results.json"), load("manifest.json")


def test_dbt_tests_become_check_results_with_severity_and_target(dbt_artifacts):
    run_results, manifest = dbt_artifacts
    results = {r.check_name: r for r in dbt_results_from_run_results(run_results, "L1", manifest=manifest)}
    assert set(results) == {"unique_dim_subject_subject_id", "not_null_dim_subject_sex",
                            "assert_no_negative_subject"}
    unique, not_null, singular = (results["unique_dim_subject_subject_id"], results["not_null_dim_subject_sex"],
                                  results["assert_no_negative_subject"])
    assert (unique.severity, unique.passed, unique.rows_failed, unique.target, unique.tool) == (
        "error", False, 1, "marts.dim_subject", "dbt")
    assert (not_null.severity, not_null.passed, not_null.rows_failed) == ("warn", False, 1)
    assert (singular.severity, singular.passed, singular.target) == ("error", True, "marts.dim_subject")
    # without an explicit manifest, the one dbt wrote beside run_results is used
    assert dbt_results_from_run_results(run_results, "L1") == list(results.values())


def test_record_replaces_a_rerecorded_check(conn, dbt_artifacts):
    run_results, manifest = dbt_artifacts
    results = dbt_results_from_run_results(run_results, "L1", manifest=manifest)
    check_results.record(conn, results)
    check_results.record(conn, results)
    rows = conn.execute(
        "SELECT check_name, severity, passed FROM quality.check_result WHERE load_id = 'L1' ORDER BY 1").fetchall()
    assert rows == [("assert_no_negative_subject", "error", True), ("not_null_dim_subject_sex", "warn", False),
                    ("unique_dim_subject_subject_id", "error", False)]


def test_unknown_tool_or_severity_is_refused():
    with pytest.raises(ValueError, match="severity"):
        CheckResult("L1", "x", "dbt", "t", "fatal", None, None, False)
    with pytest.raises(ValueError, match="tool"):
        CheckResult("L1", "x", "sql", "t", "warn", None, None, False)
