"""The publish gate: refuses a load for a failed error-severity check or a broken contract;
warnings never block. A file that lost too many rows is held instead (v1.2), the rest publishes."""
from __future__ import annotations

from datetime import date

from ingest import holds
from quality import check_results
from quality.check_results import CheckResult
from quality.gate import contract_breach, evaluate_gate, files_over_share
from tests.quality.loads import load_file

EXPORT = date(2021, 6, 30)


def bleeding_file(conn, bad: int, total: int = 10, *, load_id: str = "L1", site: str = "BJH"):
    rows = [{"subject_id": f"{site}-{i:03d}", "assessment_date": date(2021, 5, 1), "who_grade": 9 if i < bad else 1}
            for i in range(total)]
    return load_file(conn, "bleeding", site, EXPORT, rows, load_id=load_id)


def test_clean_load_publishes(conn):
    bleeding_file(conn, bad=0)
    decision = evaluate_gate(conn, "L1")
    assert decision.publish and decision.reasons == []
    assert files_over_share(conn, "L1", 0.0) == []


def test_a_file_losing_more_than_the_share_is_held_and_the_others_publish(conn):
    """v1.2: the file is held (ingest.holds), the load still publishes the rest."""
    previous = bleeding_file(conn, bad=0, load_id="L0")
    entry = bleeding_file(conn, bad=3)
    other = bleeding_file(conn, bad=1, site="SHH")
    over = files_over_share(conn, "L1", 0.2)
    assert over == [(entry.file_path, entry.sha256,
                     "3 of 10 rows (30.0%) were quarantined, more than the 20% a file may lose (ITP_MAX_FAILING_SHARE); "
                     "most frequent: pandera.controlled_term (3 rows); e.g. \"who_grade '9' is not one of: 0, 1, 2, 3, "
                     "4\"")]
    assert files_over_share(conn, "L1", 0.5) == []
    assert evaluate_gate(conn, "L1").publish
    # the same file at another export date would be current: holding it puts the previous back
    assert holds.hold_failing_files(conn, "L1", 0.2) == [entry.file_path]
    status = dict(conn.execute("SELECT file_path, status || ':' || is_current FROM quality.file_manifest").fetchall())
    assert status[entry.file_path] == "held:false"
    assert status[other.file_path] == "loaded:true"
    reason = conn.execute("SELECT reason FROM quality.file_manifest WHERE file_path = ? AND load_id = 'L1'",
                          [entry.file_path]).fetchone()[0]
    assert reason.startswith("held: 3 of 10 rows (30.0%) were quarantined")
    assert "the site's previous bleeding snapshot stays current" in reason
    assert previous.file_path == entry.file_path   # same name: its L0 copy is current again
    assert conn.execute("SELECT load_id FROM quality.file_manifest WHERE is_current AND site_id = 'BJH'"
                        ).fetchone()[0] == "L0"


def test_exactly_the_share_is_not_held(conn):
    bleeding_file(conn, bad=2)
    assert files_over_share(conn, "L1", 0.2) == []


def test_only_files_of_this_load_count(conn):
    bleeding_file(conn, bad=9, load_id="L0")
    assert files_over_share(conn, "L1", 0.2) == []


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
