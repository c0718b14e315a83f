"""quality.check_result: one row per check, target and load, whatever tool ran it.

Monitors read this table (endpoints.md §8) and the gate decides on it, so pandera, Great
Expectations and dbt outcomes share one shape. Severity says what a failure means for the
load: `error` = the published data would be wrong (blocks publishing), `warn` = someone should
look, the data is still safe (row checks are `warn` because their failing rows were already
quarantined and so never reach the marts).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

TOOLS = ("pandera", "great_expectations", "dbt")
SEVERITIES = ("warn", "error")

CHECK_RESULT_DDL = """
CREATE TABLE IF NOT EXISTS quality.check_result (
  load_id VARCHAR NOT NULL,
  check_name VARCHAR NOT NULL,
  tool VARCHAR NOT NULL,
  target VARCHAR NOT NULL,
  severity VARCHAR NOT NULL,
  rows_checked BIGINT,
  rows_failed BIGINT,
  passed BOOLEAN NOT NULL,
  details VARCHAR
)
"""


@dataclass(frozen=True)
class CheckResult:
    load_id: str
    check_name: str
    tool: str
    target: str
    severity: str
    rows_checked: int | None
    rows_failed: int | None
    passed: bool
    details: str | None = None

    def __post_init__(self) -> None:
        if self.tool not in TOOLS:
            raise ValueError(f"check_result tool {self.tool!r} is not one of {', '.join(TOOLS)}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"check_result severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")


def record(conn: duckdb.DuckDBPyConnection, results: list[CheckResult]) -> None:
    """Store results; recording the same (load, check, tool, target) again replaces it, so a
    retried step never counts a check twice."""
    if not results:
        return
    frame = pd.DataFrame([asdict(r) for r in results]).drop_duplicates(
        subset=["load_id", "check_name", "tool", "target"], keep="last")
    frame["rows_checked"] = frame["rows_checked"].astype("Int64")
    frame["rows_failed"] = frame["rows_failed"].astype("Int64")
    conn.register("new_check_results", frame)
    try:
        conn.execute(
            """DELETE FROM quality.check_result AS c USING new_check_results AS n
               WHERE c.load_id = n.load_id AND c.check_name = n.check_name
                 AND c.tool = n.tool AND c.target = n.target""")
        conn.execute(
            """INSERT INTO quality.check_result (load_id, check_name, tool, target, severity,
                 rows_checked, rows_failed, passed, details)
               SELECT load_id, check_name, tool, target, severity, rows_checked, rows_failed,
                 passed, details FROM new_check_results""")
    finally:
        conn.unregister("new_check_results")


def _manifest_for(run_results: dict[str, Any]) -> dict[str, Any] | None:
    """The manifest beside run_results when the caller did not pass one: dbt writes both to
    <project_dir>/target (a custom --target-path needs the manifest passed explicitly)."""
    project_dir = (run_results.get("args") or {}).get("project_dir")
    if not project_dir:
        return None
    path = Path(project_dir) / "target" / "manifest.json"
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _relation_name(manifest: dict[str, Any], unique_id: str) -> str:
    node = manifest.get("nodes", {}).get(unique_id) or manifest.get("sources", {}).get(unique_id)
    if not node:
        return unique_id
    schema, name = node.get("schema"), node.get("alias") or node.get("name")
    return f"{schema}.{name}" if schema else name


def dbt_results_from_run_results(run_results: dict[str, Any], load_id: str, *,
                                 manifest: dict[str, Any] | None = None) -> list[CheckResult]:
    """dbt data tests of one `dbt build` as check results (models and seeds are not checks).

    run_results.json does not say a passing test's severity nor which model it tests; both come
    from the manifest (pass `invocation.get_artifact("manifest.json")`; else the project's
    target/manifest.json is read). Without any manifest, severity falls back to the status
    (`warn` -> warn, anything else -> error) and the target to the test's own id.
    """
    manifest = manifest or _manifest_for(run_results) or {}
    nodes = manifest.get("nodes", {})
    out: list[CheckResult] = []
    for r in run_results.get("results", []):
        unique_id = r.get("unique_id", "")
        if not unique_id.startswith("test."):
            continue  # unit tests ("unit_test.") are not data checks; models are not checks
        node = nodes.get(unique_id, {})
        status = r.get("status")
        severity = str((node.get("config") or {}).get("severity") or "").lower()
        if severity not in SEVERITIES:
            severity = "warn" if status == "warn" else "error"
        tested = node.get("attached_node") or ",".join(
            n for n in (node.get("depends_on") or {}).get("nodes", []) if not n.startswith("macro."))
        target = ", ".join(_relation_name(manifest, t) for t in tested.split(",")) if tested else unique_id
        failures = r.get("failures")
        details = r.get("message") if status != "pass" else None
        if status in ("error", "skipped") and not details:
            details = f"dbt test {status}"
        out.append(CheckResult(
            load_id=load_id, check_name=node.get("name") or unique_id.split(".")[2], tool="dbt",
            target=target, severity=severity, rows_checked=None,
            rows_failed=int(failures) if failures is not None else None,
            passed=status == "pass", details=details,
        ))
    return out
