"""The foundation slice end to end: CSV exports -> checks -> dbt -> published mart, through the
installed CLI, with initial responses computed by hand (endpoints.md §1, §3-§5)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from tests.conftest import SIMPLE_REGISTRY, cli, write_csv

DAY1 = "2021-03-01"

# subject -> (baseline samples, post-Day-1 samples) as (date, PLT x10^9/L); expected result.
SUBJECTS = {
    # CR: 120 on day 8, no bleeding.
    "TST-001": ([("2021-02-25", 20)], [("2021-03-08", 120)], ("CR", 8)),
    # R exactly at the 2-fold boundary: 40 = 2 x 20 (day 10); 39 on day 5 is NR.
    "TST-002": ([("2021-03-01", 20)], [("2021-03-05", 39), ("2021-03-10", 40)], ("R", 10)),
    # NR just below 2-fold: 39.9 < 2 x 20 although >= 30.
    "TST-003": ([("2021-02-20", 20)], [("2021-03-07", 39.9)], ("NR", None)),
    # NE: no PLT in month 0 (days -30 .. 1).
    "TST-004": ([], [("2021-03-03", 150)], ("NE", None)),
    # NR: 2.5-fold but below 30.
    "TST-005": ([("2021-02-27", 10)], [("2021-03-12", 25)], ("NR", None)),
    # R at PLT exactly 30 on day 14 (the last day of the window), baseline 15.
    "TST-006": ([("2021-02-28", 15)], [("2021-03-14", 30)], ("R", 14)),
    # NE: baseline present but no sample on days 2 .. 14 (day 15 is outside).
    "TST-007": ([("2021-02-28", 15)], [("2021-03-15", 200)], ("NE", None)),
    # NE: the only earlier sample is day -31, outside month 0. Day 1 = 2021-03-01, so day -31
    # is 2021-01-29 (no day 0).
    "TST-008": ([("2021-01-29", 20)], [("2021-03-09", 150)], ("NE", None)),
    # The last baseline value (30 on Day 1) wins over 10 earlier: 50 < 2 x 30 is NR (it would
    # be R against 10).
    "TST-009": ([("2021-02-10", 10), ("2021-03-01", 30)], [("2021-03-04", 50)], ("NR", None)),
    # CR at exactly 100 on day 6.
    "TST-010": ([("2021-02-26", 20)], [("2021-03-06", 100)], ("CR", 6)),
}


def make_inbox(root: Path) -> tuple[Path, Path]:
    inbox = root / "inbox"
    sites = root / "sites.yaml"
    sites.write_text(SIMPLE_REGISTRY)
    ids = list(SUBJECTS)
    write_csv(inbox / "TST_subjects_20210401.csv",
              ["site_id", "subject_id", "sex", "birth_year", "diagnosis_date", "enrollment_date"],
              [["TST", s, "F", 1980, "2019-05-01", "2021-02-01"] for s in ids])
    write_csv(inbox / "TST_dosing_20210401.csv",
              ["site_id", "subject_id", "start_date", "end_date", "dose_mg", "doses_per_day"],
              [["TST", s, DAY1, "", 25, 2] for s in ids])
    labs = []
    for s, (base, post, _) in SUBJECTS.items():
        for when, plt in base + post:
            labs.append(["TST", s, when, "PLT", plt, "10^9/L", 125, 350])
    write_csv(inbox / "TST_labs_20210401.csv",
              ["site_id", "subject_id", "sample_date", "test_code", "value", "unit", "ref_low", "ref_high"],
              labs)
    return inbox, sites


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("slice")
    inbox, sites = make_inbox(root)
    home = root / "home"
    proc = cli("load", "--inbox", str(inbox), "--sites", str(sites), "--home", str(home))
    return root, inbox, sites, home, proc


def test_load_publishes_the_warehouse(loaded):
    _, _, _, home, proc = loaded
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "published" in proc.stdout
    assert (home / "warehouse.duckdb").exists()


def test_the_dbt_tests_that_warned_are_named_on_the_terminal(loaded):
    """No study id in this registry: ADSL's STUDYID warns (adam.md §1). dbt's tests are no
    Dagster asset checks; the dbt step names the ones that warned, the CLI warns of them."""
    _, _, _, home, proc = loaded
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        warned = [f"{target} {name}" for target, name in conn.execute(
            "SELECT target, check_name FROM quality.check_result WHERE tool = 'dbt' AND NOT passed "
            "AND severity = 'warn' ORDER BY check_name").fetchall()]
    assert "adam.adsl not_null_adsl_STUDYID" in warned
    [line] = [line for line in proc.stderr.splitlines() if line.startswith("warning: ")]
    assert line.startswith(f"warning: {len(warned)} checks did not pass (warn): ")
    assert sorted(line.split(": ", 2)[2].split(", ")) == warned


@pytest.mark.parametrize("subject", list(SUBJECTS))
def test_initial_response_matches_hand_computation(loaded, subject):
    home = loaded[3]
    expected_response, expected_day = SUBJECTS[subject][2]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        row = conn.execute(
            "SELECT best_response, response_day FROM marts.endpoint_initial_response WHERE subject_id = ?",
            [subject]).fetchone()
    assert row == (expected_response, expected_day)


def test_every_row_is_traceable_and_counts_add_up(loaded):
    home = loaded[3]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        manifest = conn.execute(
            "SELECT file_name, status, rows_read, rows_accepted, rows_quarantined FROM quality.file_manifest "
            "ORDER BY file_name").fetchall()
        untraced = conn.execute(
            "SELECT count(*) FROM marts.fct_lab_result WHERE source_file IS NULL OR source_sha256 IS NULL "
            "OR source_row IS NULL").fetchone()[0]
    assert [m[1] for m in manifest] == ["loaded"] * 3
    assert all(read == acc + q for _, _, read, acc, q in manifest)
    assert untraced == 0


def test_every_view_of_the_published_warehouse_resolves(loaded):
    """dbt names each view's tables with their catalog: it must be the published file's own
    (`warehouse`), not the candidate's (every view failed with "Catalog ... does not exist")."""
    home = loaded[3]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        views = conn.execute("SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal "
                             "ORDER BY 1, 2").fetchall()
        counts = {f"{s}.{v}": conn.execute(f'SELECT count(*) FROM "{s}"."{v}"').fetchone()[0] for s, v in views}
        in_view, in_table = (conn.execute(
            f"SELECT count(*) FILTER (is_post_baseline) FROM {t}").fetchone()[0]
            for t in ("intermediate.int_lab_results_graded", "marts.fct_lab_result"))
    assert len(counts) >= 10 and counts["staging.stg_site_exports__lab_results"] > 0, counts
    assert in_view == in_table > 0


def test_second_load_of_the_same_inbox_changes_nothing(loaded):
    root, inbox, sites, home, _ = loaded
    before = hashlib.sha256((home / "warehouse.duckdb").read_bytes()).hexdigest()
    proc = cli("load", "--inbox", str(inbox), "--sites", str(sites), "--home", str(home))
    assert proc.returncode == 0, proc.stderr
    assert "unchanged" in proc.stdout
    assert hashlib.sha256((home / "warehouse.duckdb").read_bytes()).hexdigest() == before


def test_a_load_that_cannot_publish_exits_non_zero_and_keeps_the_warehouse(loaded, tmp_path):
    _, inbox, _, home, _ = loaded
    before = (home / "warehouse.duckdb").read_bytes()
    bad_registry = tmp_path / "sites.yaml"
    bad_registry.write_text("sites:\n  tst lower:\n    encoding: latin-9\n")
    proc = cli("load", "--inbox", str(inbox), "--sites", str(bad_registry), "--home", str(home))
    assert proc.returncode != 0
    assert "site registry" in proc.stderr
    assert (home / "warehouse.duckdb").read_bytes() == before


@pytest.mark.parametrize("entry, named", [
    ("    unit_aliases:\n      \"10^9个/L\": furlongs\n",
     "site 'TST': unit_aliases '10^9个/L': 'furlongs' is not an accepted unit"),
])
def test_a_bad_registry_entry_stops_the_load_before_any_file_is_read(loaded, tmp_path, entry, named):
    """site-exports.md §4 (v1.1): the load stops and says which site and key (and value)."""
    _, inbox, _, home, _ = loaded
    before = (home / "warehouse.duckdb").read_bytes()
    registry = tmp_path / "sites.yaml"
    registry.write_text(SIMPLE_REGISTRY + entry, encoding="utf-8")
    proc = cli("load", "--inbox", str(inbox), "--sites", str(registry), "--home", str(home))
    assert proc.returncode != 0
    assert "site registry" in proc.stderr and named in proc.stderr, proc.stderr
    assert (home / "warehouse.duckdb").read_bytes() == before
