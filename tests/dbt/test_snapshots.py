"""Only the current snapshot of each site and domain reaches the marts (site-exports.md §1)."""
from __future__ import annotations

from tests.dbt.cohort import OLD_FILES


def test_rows_of_an_older_snapshot_never_reach_the_marts(built):
    old_hashes = [f.sha256 for f in OLD_FILES]
    # They are in raw (history) ...
    assert built.one("SELECT count(*) FROM raw.labs WHERE source_sha256 IN (?, ?)", old_hashes) == (3,)
    # ... but not in the marts: no row of theirs, no subject known only to them, and the
    # old 999 on day 5 of S01 does not make day 5 its response day.
    assert built.one("SELECT count(*) FROM marts.fct_lab_result WHERE source_sha256 IN (?, ?)", old_hashes) == (0,)
    assert built.rows("SELECT * FROM marts.dim_subject WHERE subject_id = 'S99'") == []
    assert built.one(
        "SELECT response_day FROM marts.endpoint_initial_response WHERE site_id = 'TST' AND subject_id = 'S01'"
    ) == (8,)
