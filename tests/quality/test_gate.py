"""The publish gate: refuses a load for a file that lost too many rows, a failed error-severity
check, or a broken contract; warnings never block."""
from __future__ import annotations

from datetime import date

from quality import check_results
from quality.check_results import CheckResult
from quality.gate import contract_breach, evaluate_gate
from tests.quality.loads import load_file

EXPORT = date(2021, 6, 30)


def bleeding_file(conn, bad: int, total: int = 10, *, load_id: str = "L1", site: str = "BJH"):
    rows = [{"subject_id": f"{site}-{i:03d}", "assessment_date": date(2021, 5, 1), "who_grade": 9 if i < bad else 1}
            for i in range(total)]
    return load_file(conn, "bleeding", site, EXPORT, rows, load_id=load_id)


def test_clean_load_publishes(conn):
    bleeding_file(conn, bad=0)
    assert evaluate_gate(conn, "L1") == evaluate_gate(conn, "L1", max_failing_share=0.0)
    decision = evaluate_gate(conn, "L1")
    assert decision.publish and decision.reasons == []


def test_a_file_losing_more_than_the_share_blocks_with_its_name_and_top_reason(conn):
    entry = bleeding_file(conn, bad=3)
    bleeding_file(conn, bad=1, site="SHH")
    decision = evaluate_gate(conn, "L1")
    assert not decision.publish
    assert decision.reasons == [
        f"{entry.file_path}: 3 of 10 rows (30.0%) were quarantined, more than the 20% a file may lose; "
        "most frequent: pandera.controlled_term (3 rows); e.g. \"who_grade '9' is not one of: 0, 1, 2, 3, 4\""]
    assert evaluate_gate(conn, "L1", max_failing_share=0.5).publish


def test_exactly_the_share_is_still_published(conn):
    bleeding_file(conn, bad=2)
    assert evaluate_gate(conn, "L1", max_failing_share=0.2).publish


def test_only_files_of_this_load_count(conn):
    bleeding_file(conn, bad=9, load_id="L0")
    assert evaluate_gate(conn, "L1").publish


def test_failed_error_check_blocks_and_warning_does_not(conn):
    warn = CheckResult("L1", "not_null_x", "dbt", "marts.dim_subject", "warn", None, 4, False, "Got 4 results")
    check_results.record(conn, [warn])
    assert evaluate_gate(conn, "L1").publish
    error = CheckResult("L1", "unique_dim_subject_subject_id", "dbt", "marts.dim_subject", "error", None, 2, False,
                        "Got 2 results, configured to fail if != 0")
    check_results.record(conn, [error, CheckResult("L0", "old", "dbt", "marts.x", "error", None, 1, False)])
    decision = evaluate_gate(conn, "L1")
    assert not decision.publish
    assert decision.reasons == [
        "dbt check unique_dim_subject_subject_id on marts.dim_subject failed (2 failing): "
        "Got 2 results, configured to fail if != 0"]


def test_broken_contract_blocks(conn):
    check_results.record(conn, [contract_breach("L1", target="raw.labs", tool="pandera",
                                                details="raw.labs has no column original_unit")])
    decision = evaluate_gate(conn, "L1")
    assert not decision.publish
    assert decision.reasons == ["broken contract (raw.labs): raw.labs has no column original_unit"]
