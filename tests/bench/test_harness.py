"""`make bench` at a tiny size, end to end: the real generator, two real loads (Dagster, dbt)
in their own processes, the DuckDB floor, and both result files."""
from __future__ import annotations

import json
import subprocess
import sys

from bench.stages import StepEvent, stage_windows
from sources.domains import DOMAINS
from tests.conftest import REPO

ROW_STAGES = ("ingest", "checks", "dbt", "publish", "load")
STAGES = (*ROW_STAGES, "overhead")


def test_bench_writes_every_stage_of_the_full_and_delta_loads(tmp_path):
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--subjects", "50", "--months", "3", "--out", str(out),
         "--workdir", str(tmp_path / "work"), "--machine", "smoke box"],
        cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    [json_file] = out.glob("*-smoke-box.json")
    [md_file] = out.glob("*-smoke-box.md")
    result = json.loads(json_file.read_text())

    [size] = result["sizes"]
    assert size["subjects"] == 50 and size["sites"] == 3
    assert size["floor"]["rows"] > 0 and size["floor"]["seconds"] > 0
    full, delta = size["loads"]
    assert (full["kind"], delta["kind"]) == ("full", "delta")
    # Full: one file per domain and site plus the resent copy (a duplicate, not read).
    assert (full["files_new"], full["files_read"]) == (3 * len(DOMAINS) + 1, 3 * len(DOMAINS))
    # Delta: one site's new snapshot only.
    assert delta["files_new"] == delta["files_read"] == len(DOMAINS)
    assert delta["raw_rows_total"] == full["raw_rows_total"] + delta["rows_read"] - delta["rows_quarantined"]
    for load in (full, delta):
        assert load["run_status"] == "SUCCESS"
        assert load["max_processes"] >= 2, "dbt's process was not in the sampled tree"
        stages = {s["stage"]: s for s in load["stages"]}
        assert set(stages) == set(STAGES)
        for name in STAGES:
            assert stages[name]["wall_s"] > 0 and stages[name]["peak_rss_mb"] > 0, (load["kind"], name)
        for name in ROW_STAGES:
            assert stages[name]["rows"] > 0 and stages[name]["rows_per_s"] > 0, (load["kind"], name)
            assert stages[name]["ratio_to_floor"] > 0, (load["kind"], name)
        # The ingest step logs its end, so its window splits into reading and checking.
        assert stages["ingest"]["rows"] == stages["checks"]["rows"] == load["rows_read"]
        assert stages["dbt"]["rows"] == load["raw_rows_total"]
        assert len(load["dbt_slowest"]) == 8 and all(seconds >= 0 for _, seconds in load["dbt_slowest"])
        kinds = {node.split(" ")[0] for node, _ in load["dbt_slowest"]}
        assert kinds <= {"model", "test", "seed"} and "unit_test" not in kinds, kinds   # loads skip unit tests

    targets = {(t["target"], t["subjects"]): t["verdict"] for t in result["targets"]}
    assert targets[("full load within 150 s", 100_000)] == "NOT MEASURED"
    for target in ("peak RSS within 3 GB", "ingest and row checks within 3x the DuckDB floor",
                   "xlsx per row within 1.5x CSV"):
        assert targets[(target, 50)] in ("PASS", "FAIL")
    # The largest lab workbook against the same rows as CSV, both ingested alone.
    xlsx = size["xlsx_csv"]
    assert xlsx["rows"] > 0 and xlsx["xlsx_s"] > 0 and xlsx["csv_s"] > 0 and xlsx["file"].endswith(".xlsx")
    assert "## xlsx against CSV" in md_file.read_text()
    # The PostgreSQL publication of the full load's warehouse, against a plain COPY of its rows.
    pg = size["postgres"]
    assert pg["rows"] > 0 and pg["tables"] >= 12 and pg["roles"] == 3 + 2
    assert pg["plain_copy_s"] > 0 and pg["publication_s"] > 0
    assert targets[("PostgreSQL publication within 2x a plain COPY", 50)] in ("PASS", "FAIL")
    assert "## PostgreSQL publication" in md_file.read_text()
    # One size: its delta is the reference a larger size's delta would be judged against.
    assert targets[("delta in proportion to its new files", 50)] == "NOT MEASURED"

    md = md_file.read_text()
    assert "## Slowest dbt nodes" in md
    for load in ("full", "delta"):
        for name in STAGES:
            assert f"| 50 | {load} | {name} |" in md
    assert f"{result['machine']['nproc']} CPUs" in md


def test_ingest_step_is_split_only_at_its_marker_and_retries_stay_inside_the_step():
    events = [
        StepEvent("site_exports", "STEP_START", 10.0),
        StepEvent("site_exports", "STEP_UP_FOR_RETRY", 11.0),
        StepEvent("site_exports", "STEP_START", 12.0),
        StepEvent("site_exports", "MESSAGE", 15.0, "ingest done: 22 new files"),
        StepEvent("site_exports", "STEP_SUCCESS", 18.0),
        StepEvent("warehouse_dbt_models", "STEP_START", 18.5),
        StepEvent("warehouse_dbt_models", "MESSAGE", 19.0, "ingest done: not this step"),
        StepEvent("warehouse_dbt_models", "STEP_SUCCESS", 30.0),
        StepEvent("published__warehouse", "STEP_START", 30.5),
        StepEvent("published__warehouse", "STEP_SUCCESS", 31.0),
    ]
    got = [(w.stage, w.start, w.end) for w in stage_windows(events)]
    assert got == [("ingest", 10.0, 15.0), ("checks", 15.0, 18.0), ("dbt", 18.5, 30.0), ("publish", 30.5, 31.0)]

    without_marker = [e for e in events if e.kind != "MESSAGE"]
    assert [w.stage for w in stage_windows(without_marker)] == ["ingest+checks", "dbt", "publish"]


def test_a_completed_cohort_is_reused_and_a_different_one_regenerated(tmp_path):
    from bench.cohort import GENERATED_RECORD, generate

    out = tmp_path / "cohort"
    first = generate(out, subjects=30, months=2, seed=5)
    marker = out / "untouched"
    marker.write_text("kept")   # a regeneration would wipe the folder
    again = generate(out, subjects=30, months=2, seed=5)
    assert marker.exists()
    assert (again.rows_written, again.generate_s, again.full, again.delta) == \
        (first.rows_written, first.generate_s, first.full, first.delta)

    other = generate(out, subjects=30, months=2, seed=6)
    assert not marker.exists()
    assert (out / GENERATED_RECORD).exists() and other.rows_written > 0


def _size(subjects: int, history_rows: int, full_s: float, delta_s: float) -> "SizeResult":
    from bench.floor import Floor
    from bench.results import LoadResult, SizeResult

    def load(kind, rows, total, wall):
        return LoadResult(kind=kind, run_id=kind, run_status="SUCCESS", files_new=7, files_read=7, rows_read=rows,
                          rows_quarantined=0, raw_rows_total=total, process_wall_s=wall, peak_rss_mb=1.0,
                          largest_process_maxrss_mb=1.0, max_processes=2, machine_load_1m=0.0)
    floor = Floor(files=1, rows=1, seconds=1.0, rows_per_s=1.0, reencoded_files=0)
    return SizeResult(subjects=subjects, months=24, sites=3, delta_site="S001", rows_generated=0, generate_s=0.0,
                      floor=floor, loads=[load("full", history_rows, history_rows, full_s),
                                          load("delta", 72_000, history_rows + 72_000, delta_s)])


def test_a_delta_is_judged_against_the_same_delta_over_a_hundredth_of_the_history():
    from bench.targets import evaluate

    sizes = [_size(1_000, 225_000, 60, 50), _size(10_000, 2_250_000, 120, 60), _size(100_000, 22_500_000, 700, 150)]
    verdicts = {t.subjects: (t.verdict, t.measured) for t in evaluate(sizes, None)
                if t.target == "delta in proportion to its new files"}
    assert verdicts == {1_000: ("NOT MEASURED", "50 s (the reference)"),
                        10_000: ("PASS", "1.20x the 1,000-subject delta's time"),
                        100_000: ("FAIL", "3.00x the 1,000-subject delta's time")}
