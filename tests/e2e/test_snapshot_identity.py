"""Snapshot identity is (site, domain, content hash) (site-exports.md §1, v1.1), through real
loads (intake, checks, dbt, publish): two sites' byte-identical empty adverse-event snapshots
are each a snapshot of their own site and, once current, delete each site's events from the
marts; and a warehouse published under the old hash-only rule comes right on its next load.

An empty snapshot that deletes every row of the current one is first held (site-exports.md §5,
v1.2: never read as mass deletion) until a monitor releases it; the repair test turns that
hold off (ITP_MAX_DELETED_SHARE = 1: no snapshot deletes more than all of its rows) to look at
identity alone."""
from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.loading import run_load
from orchestration.resources import WarehouseSettings
from ingest import holds
from ingest.intake import default_cutoff, last_cutoff
from sources import manifest
from tests.conftest import write_csv

SITES = ("AAA", "BBB")
REGISTRY = "sites:\n" + "".join(f"  {s}:\n    name: Hospital {s}\n" for s in SITES)
AE_HEADER = ["site_id", "subject_id", "ae_term", "onset_date", "resolution_date", "ctcae_grade", "serious", "related"]
EMPTY_AE = "AAA_adverse_events_20210501.csv", "BBB_adverse_events_20210501.csv"


def first_delivery(inbox: Path) -> None:
    """Each site: two subjects on treatment from 2021-03-01, one adverse event each (grade 3)."""
    for site in SITES:
        subjects = [f"{site}-001", f"{site}-002"]
        write_csv(inbox / f"{site}_subjects_20210401.csv",
                  ["site_id", "subject_id", "sex", "birth_year", "diagnosis_date", "enrollment_date"],
                  [[site, s, "F", 1970, "2019-01-01", "2021-02-15"] for s in subjects])
        write_csv(inbox / f"{site}_dosing_20210401.csv",
                  ["site_id", "subject_id", "start_date", "end_date", "dose_mg", "doses_per_day"],
                  [[site, s, "2021-03-01", "", 25, 2] for s in subjects])
        write_csv(inbox / f"{site}_labs_20210401.csv",
                  ["site_id", "subject_id", "sample_date", "test_code", "value", "unit", "ref_low", "ref_high"],
                  [[site, s, "2021-03-01", "PLT", 20, "10^9/L", 125, 350] for s in subjects])
        write_csv(inbox / f"{site}_adverse_events_20210401.csv", AE_HEADER,
                  [[site, subjects[0], "Rash", "2021-03-10", "", 3, "N", "N"]])


def empty_snapshots(inbox: Path) -> None:
    """Both sites delete their events: a header and no rows, the same bytes at both sites."""
    for name in EMPTY_AE:
        write_csv(inbox / name, AE_HEADER, [])
    assert (inbox / EMPTY_AE[0]).read_bytes() == (inbox / EMPTY_AE[1]).read_bytes()


# What the dbt step sets for dbt's subprocess: a load run in process must leave none of it
# behind (a leaked DBT_TARGET_PATH sent a later dbt of the same process into the state folder).
DBT_STEP_ENVIRONMENT = ("DBT_TARGET_PATH", "ITP_WAREHOUSE_PATH", "ITP_DUCKDB_MEMORY_LIMIT")


def load(root: Path, max_deleted_share: float = 0.2) -> str:
    before = {name: os.environ.get(name) for name in DBT_STEP_ENVIRONMENT}
    outcome = run_load(WarehouseSettings(home=str(root / "home"), inbox=str(root / "inbox"),
                                         sites_file=str(root / "sites.yaml"), max_deleted_share=max_deleted_share))
    assert outcome.ok, outcome.messages
    assert {name: os.environ.get(name) for name in DBT_STEP_ENVIRONMENT} == before
    return outcome.status


def published(root: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(root / "home" / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def empty_files(root: Path) -> list[tuple]:
    return published(root, """SELECT file_name, status, is_current FROM quality.file_manifest
                              WHERE export_date = DATE '2021-05-01' ORDER BY file_name""")


def events_in_marts(root: Path) -> dict[str, tuple]:
    """Per site: AE rows of patient_month, and safety signals of adverse events."""
    months = dict(published(root, "SELECT site_id, sum(n_ae) FROM marts.patient_month GROUP BY ALL"))
    signals = dict(published(root, "SELECT site_id, count(*) FROM marts.safety_signal "
                                   "WHERE signal LIKE 'ae%' OR detail LIKE 'adverse event%' GROUP BY ALL"))
    return {s: (int(months.get(s) or 0), int(signals.get(s, 0))) for s in SITES}


def ae_any(root: Path) -> tuple:
    return published(root, "SELECT n, denominator FROM marts.endpoint_summary WHERE endpoint = 'ae_any'")[0]


@pytest.fixture
def root(tmp_path) -> Path:
    (tmp_path / "sites.yaml").write_text(REGISTRY)
    first_delivery(tmp_path / "inbox")
    assert load(tmp_path) == "published"
    assert events_in_marts(tmp_path) == {"AAA": (1, 1), "BBB": (1, 1)}
    assert ae_any(tmp_path) == (2, 4)
    return tmp_path


def test_identical_empty_snapshots_of_two_sites_are_both_current(root):
    empty_snapshots(root / "inbox")
    # And the same bytes again from BBB under a newer export date: a duplicate (no new
    # snapshot), whose date still moves the cutoff (docs/decisions.md).
    (root / "inbox" / "again").mkdir()
    (root / "inbox" / "again" / "BBB_adverse_events_20210601.csv").write_bytes(
        (root / "inbox" / EMPTY_AE[1]).read_bytes())
    assert load(root) == "published"
    # Each site's empty snapshot would delete all of that site's events: both held, neither a
    # duplicate of the other, and the events stay until a monitor confirms the deletions.
    assert empty_files(root) == [(EMPTY_AE[0], "held", False), (EMPTY_AE[1], "held", False)]
    assert events_in_marts(root) == {"AAA": (1, 1), "BBB": (1, 1)}
    for name in EMPTY_AE:
        sha = published(root, f"SELECT sha256 FROM quality.file_manifest WHERE file_name = '{name}'")[0][0]
        holds.write_request(root / "home", holds.ReleaseRequest(name, sha, "monitor", datetime(2021, 6, 2)))
    assert load(root) == "published"
    assert empty_files(root) == [(EMPTY_AE[0], "loaded", True), (EMPTY_AE[1], "loaded", True)]
    assert published(root, "SELECT status, reason FROM quality.file_manifest WHERE file_path LIKE 'again/%'") == [
        ("duplicate", f"same content as {EMPTY_AE[1]}, already received")]
    assert events_in_marts(root) == {"AAA": (0, 0), "BBB": (0, 0)}
    assert ae_any(root) == (0, 4)
    # The cutoff has one rule (ingest.intake.default_cutoff); dbt reads what the load stored
    # in quality.load_log: exposure of the ongoing subjects runs to it (2021-03-01 .. 06-01).
    with duckdb.connect(str(root / "home" / "warehouse.duckdb"), read_only=True) as conn:
        assert default_cutoff(conn) == last_cutoff(conn) == date(2021, 6, 1)
    assert published(root, "SELECT DISTINCT exposure_days FROM marts.dim_subject") == [(93,)]


def _hash_only_path_of(self, sha256, site=None, domain=None):
    """KnownFiles.path_of as the warehouse decided it before site-exports v1.1: by hash alone."""
    return self._first_any.get(sha256)


def test_a_warehouse_published_under_the_hash_only_rule_is_repaired_by_the_next_load(root, monkeypatch):
    empty_snapshots(root / "inbox")
    with monkeypatch.context() as old_rule:
        old_rule.setattr(manifest.KnownFiles, "path_of", _hash_only_path_of)
        assert load(root, max_deleted_share=1) == "published"
    # What the old rule published: BBB's empty snapshot a `duplicate` of AAA's, never current,
    # so BBB's deleted event stayed in the marts.
    assert empty_files(root) == [(EMPTY_AE[0], "loaded", True), (EMPTY_AE[1], "duplicate", False)]
    assert events_in_marts(root) == {"AAA": (0, 0), "BBB": (1, 1)}

    # The next load, with nothing new in the inbox, receives BBB's snapshot again and publishes.
    assert load(root, max_deleted_share=1) == "published"
    assert empty_files(root) == [(EMPTY_AE[0], "loaded", True), (EMPTY_AE[1], "loaded", True)]
    reason = published(root, f"SELECT reason FROM quality.file_manifest WHERE file_name = '{EMPTY_AE[1]}'")[0][0]
    assert reason.startswith("received again: it was marked duplicate under the hash-only identity "
                             f"(same content as {EMPTY_AE[0]}")
    assert events_in_marts(root) == {"AAA": (0, 0), "BBB": (0, 0)}
    assert ae_any(root) == (0, 4)
    # Once repaired, a further load finds nothing to do.
    assert load(root, max_deleted_share=1) == "unchanged"
