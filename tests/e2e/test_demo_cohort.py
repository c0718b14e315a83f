"""The demo cohort through the whole pipeline: the marts reproduce endpoints.md §9 and, subject
by subject, the truth the generator planted; planted problems land where they should."""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

# The demo generator's own record of §9.
from demo.cohort import check_calibration
from demo.plans import Calibration
from demo.rules import Rules

# endpoints.md §9 (first report of the study) lives once, as the generator's calibration
# (Calibration: the figures the demo cohort is generated to give, checked by check_calibration).
# §9's "no elevated transaminases or lymphocytopenia" needs no calibration: it is stated here.
NO_LAB_FINDINGS = ("ALT", "AST", "LYMPH")


@pytest.fixture(scope="module")
def warehouse(demo_home: Path):
    conn = duckdb.connect(str(demo_home / "warehouse.duckdb"), read_only=True)
    yield conn
    conn.close()


def _summary(conn) -> dict[tuple[str, str], tuple]:
    rows = conn.execute("SELECT endpoint, timepoint, n, denominator, pct FROM marts.endpoint_summary").fetchall()
    return {(e, t): (n, d, None if p is None else float(p)) for e, t, n, d, p in rows}


def _truth(home: Path) -> list[dict[str, str]]:
    with open(home / "truth" / "subjects.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_demo_prints_the_endpoint_summary(demo_home):
    out = (demo_home / "demo_stdout.txt").read_text()
    assert "Endpoint summary" in out
    assert "conmed_reduced" in out and "36.5" in out


def test_demo_prints_at_most_60_lines_ending_with_the_whole_summary(demo_home, warehouse):
    """`make demo` on a non-terminal: stage lines, warnings, the summary last; no progress bar."""
    out = (demo_home / "demo_stdout.txt").read_text().splitlines()
    err = (demo_home / "demo_stderr.txt").read_text().splitlines()
    assert len(out) + len(err) <= 60, "\n".join(out + err)
    assert not any("\r" in line for line in out + err)
    summary = out[max(i for i, line in enumerate(out) if line.startswith("Endpoint summary")):]
    endpoints = {e for (e,) in warehouse.execute("SELECT DISTINCT endpoint FROM marts.endpoint_summary").fetchall()}
    assert {line.split()[0] for line in summary[2:] if not line.startswith(" ")} - {"%"} == endpoints
    assert out[-1].split()[0] in endpoints


def test_demo_prints_one_line_per_stage_and_where_the_full_log_is(demo_home):
    out = (demo_home / "demo_stdout.txt").read_text()
    stages = [line.split()[0] for line in out.splitlines() if line.startswith("  ") and line.endswith(" s)")]
    assert stages == ["ingest", "checks", "dbt", "publish"], out
    [log] = [Path(line.rsplit(" ", 1)[1]) for line in out.splitlines() if "full log in" in line]
    assert log.parent == demo_home.resolve() / "logs" and log.name.endswith(".log")
    text = log.read_text()
    assert "STEP_SUCCESS" in text and "PASS not_null_endpoint_summary_timepoint" in text   # Dagster's and dbt's
    assert (log.parent / log.name.replace(".log", ".dbt") / "run_results.json").is_file()


def test_summary_all_lists_every_row(demo_home, warehouse):
    from tests.conftest import cli

    proc = cli("summary", "--home", str(demo_home), "--all", check=True)
    rows = warehouse.execute("SELECT count(*) FROM marts.endpoint_summary").fetchone()[0]
    lines = proc.stdout.strip().splitlines()
    assert lines[1].split() == ["endpoint", "timepoint", "n", "denominator", "pct"]
    assert len(lines) == rows + 2 and any("glucocorticoid_month_3_to_6" in line for line in lines)


@dataclass(frozen=True)
class CountedFigures:
    """(endpoint, timepoint) -> (n, denominator) counts read as the generator's Figures."""
    counts: dict[tuple[str, str], tuple[int, int]]

    def get(self, endpoint: str, timepoint: str) -> tuple[int, int]:
        return self.counts.get((endpoint, timepoint), (0, 0))


def assert_reproduces_section_9(counts: dict[tuple[str, str], tuple[int, int]]) -> None:
    """endpoints.md §9 holds for these counts (the mart's, or ADaM's recount): the generator's
    check that refuses a miscalibrated cohort (every §9 count, bleeding below its baseline share
    in every month), and §9's lab rows without findings."""
    check_calibration(CountedFigures(counts), Rules.load())
    treated = Calibration().treated
    assert {t: counts[("lab_grade1plus", t)] for t in NO_LAB_FINDINGS} == {t: (0, treated) for t in NO_LAB_FINDINGS}


def test_endpoint_summary_reproduces_section_9(warehouse):
    """Percentages are n / denominator: the oracle test below compares them too."""
    assert_reproduces_section_9({k: (n, d) for k, (n, d, _) in _summary(warehouse).items()})


def test_glucocorticoids_and_rituximab_are_reduced_most_often(warehouse):
    summary = _summary(warehouse)
    by_class = {t.removesuffix("_month_3_to_6"): v[0] for (e, t), v in summary.items()
                if e == "conmed_reduced" and t != "month_3_to_6"}
    top_two = sorted(by_class, key=by_class.get, reverse=True)[:2]
    assert set(top_two) == {"glucocorticoid", "rituximab"}, by_class


def test_summary_equals_the_generators_oracle_everywhere(warehouse, demo_home):
    with open(demo_home / "truth" / "endpoint_summary.csv", encoding="utf-8", newline="") as fh:
        oracle = {(r["endpoint"], r["timepoint"]): (int(r["n"]), int(r["denominator"]),
                                                    None if r["pct"] == "" else float(r["pct"]))
                  for r in csv.DictReader(fh)}
    summary = _summary(warehouse)
    assert len(oracle) > 40
    assert {k: summary.get(k) for k in oracle} == oracle


def test_every_subject_matches_the_planted_truth(warehouse, demo_home):
    initial = {r[0]: r[1:] for r in warehouse.execute(
        "SELECT subject_id, best_response, response_day, confirmed FROM marts.endpoint_initial_response").fetchall()}
    duration = {r[0]: r[1:] for r in warehouse.execute(
        "SELECT subject_id, start_date, loss_date, duration_days, censored FROM marts.endpoint_response_duration"
    ).fetchall()}
    mismatches = []
    treated = [t for t in _truth(demo_home) if t["treated"] == "true"]
    for t in treated:
        s = t["subject_id"]
        want_initial = (t["initial_response"], int(t["response_day"]) if t["response_day"] else None)
        got = initial.get(s)
        if got is None or (got[0], got[1]) != want_initial:
            mismatches.append((s, "initial", want_initial, got))
        if t["initial_response"] in ("CR", "R") and (got is None or str(got[2]).lower() != t["confirmed"]):
            mismatches.append((s, "confirmed", t["confirmed"], got))
        if t["or_start_date"]:
            want = (t["or_start_date"], t["loss_date"] or None, int(t["duration_days"]), t["censored"] == "true")
            got_d = duration.get(s)
            got_d = got_d and (got_d[0].isoformat(), got_d[1] and got_d[1].isoformat(), got_d[2], got_d[3])
            if got_d != want:
                mismatches.append((s, "duration", want, got_d))
        elif s in duration:
            mismatches.append((s, "duration", None, duration[s]))
    assert len(treated) == 76
    assert not mismatches, mismatches[:10]


def test_planted_bad_rows_are_quarantined_with_the_expected_check(warehouse, demo_home):
    planted = json.loads((demo_home / "truth" / "planted.json").read_text())
    expected = {(i["bad_in"][-1]["file"], i["bad_in"][-1]["row"], i["expected_check"])
                for i in planted["items"] if i["kind"] == "bad_row"}
    got = set(warehouse.execute(
        """SELECT q.file_name, q.source_row, q.check_name FROM quality.quarantine AS q
           JOIN quality.file_manifest AS m ON m.sha256 = q.sha256 AND m.is_current""").fetchall())
    assert got == expected


def test_resend_is_a_duplicate_and_counts_add_up(warehouse):
    resend = warehouse.execute(
        "SELECT status FROM quality.file_manifest WHERE file_path = 'resend/PKUPH_labs_20220531.csv'").fetchone()
    assert resend == ("duplicate",)
    bad = warehouse.execute(
        """SELECT count(*) FROM quality.file_manifest
           WHERE status IN ('loaded', 'superseded') AND rows_read <> rows_accepted + rows_quarantined""").fetchone()
    assert bad == (0,)


def test_identifier_columns_never_reach_the_warehouse(warehouse, demo_home):
    planted = json.loads((demo_home / "truth" / "planted.json").read_text())
    values = [v for i in planted["items"] if i["kind"] == "identifier_columns"
              for row in i["values"] for v in row.values()]
    dropped = warehouse.execute(
        "SELECT count(*) FROM quality.file_manifest WHERE dropped_columns IS NOT NULL").fetchone()[0]
    assert dropped > 0
    data = (demo_home / "warehouse.duckdb").read_bytes()
    leaked = [v for v in values if v.encode("utf-8") in data]
    assert values and not leaked, leaked[:5]


def test_dbt_docs_describe_every_mart_for_analysts(demo_home, tmp_path):
    from tests.conftest import cli

    proc = cli("docs", "--home", str(demo_home), "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    catalog = json.loads((tmp_path / "catalog.json").read_text())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    marts = {n["name"]: n for n in manifest["nodes"].values()
             if n["resource_type"] == "model" and n["schema"] == "marts"}
    assert {"dim_subject", "fct_lab_result", "patient_month", "endpoint_initial_response",
            "endpoint_response_duration", "endpoint_summary", "safety_signal"} <= set(marts)
    undocumented = [m for m, n in marts.items() if not n["description"]]
    undocumented += [f"{m}.{c}" for m, n in marts.items() for c, col in n["columns"].items()
                     if not col["description"]]
    assert not undocumented, undocumented
    assert any(k.endswith("endpoint_summary") for k in catalog["nodes"])
    assert (tmp_path / "static_index.html").stat().st_size > 100_000


def test_check_results_come_from_pandera_great_expectations_and_dbt(warehouse):
    rows = warehouse.execute(
        """SELECT tool, count(*), count(*) FILTER (WHERE NOT passed) FROM quality.check_result
           WHERE load_id = (SELECT load_id FROM quality.load_log WHERE status = 'published'
                            ORDER BY started_at DESC LIMIT 1)
           GROUP BY tool""").fetchall()
    by_tool = {tool: (n, failed) for tool, n, failed in rows}
    assert set(by_tool) == {"pandera", "great_expectations", "dbt"}
    assert by_tool["dbt"][0] > 100 and by_tool["dbt"][1] == 0
    # The planted implausible HGB fails the GE plausibility check (its row is quarantined).
    failed_ge = warehouse.execute(
        "SELECT check_name, rows_failed FROM quality.check_result WHERE tool = 'great_expectations' AND NOT passed"
    ).fetchall()
    assert ("gx.plausibility", 1) in failed_ge
