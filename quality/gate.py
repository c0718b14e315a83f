"""The publish gate: may this load's candidate replace the published warehouse?

A file of this load that had more than `max_failing_share` of its rows quarantined is wrong
as a whole (wrong columns mapped, wrong unit, wrong date format): publishing its remaining rows
would silently under-report that site. Since v1.2 (site-exports.md §5) such a file is HELD
(`ingest.holds`, with the sentence of `files_over_share`) and the rest publishes: one site's
bad file never holds back the others.

The gate refuses the whole load when
- any check_result of this load with severity `error` failed (a failing dbt test on a mart, a
  check that could not run);
- the loader reported a broken contract. The loader reports one by recording a failed
  error-severity check_result whose check_name starts with `contract` (see `contract_breach`);
  it is worded as a broken contract here.
Reasons are sentences for the CLI and the monitors' alert.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from quality.check_results import CheckResult
from quality.records import rows_text

CONTRACT_PREFIX = "contract"
TOP_REASONS = 3


@dataclass
class GateDecision:
    publish: bool
    reasons: list[str] = field(default_factory=list)


def contract_breach(load_id: str, *, target: str, details: str, tool: str) -> CheckResult:
    """The check_result a loader records when an internal contract is broken (record it with
    `check_results.record`); the gate then refuses the load with `details` as the reason."""
    return CheckResult(load_id=load_id, check_name=CONTRACT_PREFIX, tool=tool, target=target,
                       severity="error", rows_checked=None, rows_failed=None, passed=False, details=details)


def _top_checks(conn: duckdb.DuckDBPyConnection, path: str, sha256: str) -> str:
    rows = conn.execute(
        """SELECT check_name, count(DISTINCT source_row) AS n, min(reason) AS example
           FROM quality.quarantine WHERE file_name = ? AND sha256 = ? GROUP BY check_name
           ORDER BY n DESC, check_name LIMIT ?""", [path, sha256, TOP_REASONS]).fetchall()
    if not rows:
        return ""
    parts = ", ".join(f"{check} ({rows_text(n)})" for check, n, _ in rows)
    return f"; most frequent: {parts}; e.g. \"{rows[0][2]}\""


def files_over_share(conn: duckdb.DuckDBPyConnection, load_id: str,
                     max_share: float) -> list[tuple[str, str, str]]:
    """(file_path, sha256, sentence) of each file of this load that lost more than `max_share`
    of its rows to quarantine."""
    files = conn.execute(
        """SELECT file_path, sha256, rows_read, rows_quarantined FROM quality.file_manifest
           WHERE load_id = ? AND status IN ('loaded', 'superseded') AND rows_read > 0
             AND rows_quarantined > ? * rows_read
           ORDER BY file_path""", [load_id, max_share]).fetchall()
    return [
        (path, sha, f"{quarantined} of {read} rows ({100 * quarantined / read:.1f}%) were quarantined, "
         f"more than the {100 * max_share:g}% a file may lose (ITP_MAX_FAILING_SHARE){_top_checks(conn, path, sha)}")
        for path, sha, read, quarantined in files
    ]


def _failed_error_checks(conn: duckdb.DuckDBPyConnection, load_id: str) -> list[str]:
    rows = conn.execute(
        """SELECT check_name, tool, target, rows_failed, details FROM quality.check_result
           WHERE load_id = ? AND severity = 'error' AND NOT passed
           ORDER BY check_name LIKE ? DESC, tool, target, check_name""",
        [load_id, f"{CONTRACT_PREFIX}%"]).fetchall()
    out = []
    for check, tool, target, failed, details in rows:
        if check.startswith(CONTRACT_PREFIX):
            out.append(f"broken contract ({target}): {details or check}")
            continue
        count = f" ({failed} failing)" if failed else ""
        text = f"{tool} check {check} on {target} failed{count}"
        out.append(f"{text}: {details}" if details else text)
    return out


def evaluate_gate(conn: duckdb.DuckDBPyConnection, load_id: str) -> GateDecision:
    reasons = _failed_error_checks(conn, load_id)
    return GateDecision(publish=not reasons, reasons=reasons)
