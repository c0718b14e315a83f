"""Great Expectations lab suite on a real warehouse: plausibility limits of the seed (below,
at, above), NEUT/LYMPH above WBC, and a site whose platelets look like a unit mix-up.

One GE run for the module (GE is slow to import); each test reads one aspect of it."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from quality.expectations import DIFFERENTIAL, PLAUSIBILITY, SITE_DISTRIBUTION, run_lab_expectations
from quality.quarantine import move_to_quarantine
from sources.study_parameters import lab_tests
from tests.quality.loads import lab, load_file, manifest_counts, new_warehouse

EXPORT = date(2021, 6, 30)
PLT, CREAT = lab_tests()["PLT"], lab_tests()["CREAT"]
NORMAL_PLT = [80.0, 120.0, 150.0, 180.0, 210.0]


def _plt_series(site: str, values: list[float]) -> list[dict]:
    return [lab(f"{site}-{i:03d}", date(2021, 3, 1) + timedelta(days=i), "PLT", v, "10^9/L")
            for i, v in enumerate(values)]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gx")
    conn = new_warehouse(tmp / "candidate.duckdb")
    day = date(2021, 5, 1)
    rows_a = _plt_series("AAA", NORMAL_PLT) + [
        lab("AAA-100", day, "PLT", PLT.plausible_high, "10^9/L"),                      # row 7: at the limit
        lab("AAA-101", day, "PLT", PLT.plausible_high + 0.5, "10^9/L"),                # row 8: above
        lab("AAA-102", day, "PLT", PLT.plausible_low - 0.1, "10^9/L"),                 # row 9: below
        lab("AAA-103", day, "CREAT", CREAT.plausible_low, "umol/L"),                   # row 10: at the low limit
        lab("AAA-104", day, "CREAT", CREAT.plausible_low - 0.1, "mg/dL", original_value="0.0554",
            original_unit="mg/dL", conversion_factor=88.42),                           # row 11: below, converted
        lab("AAA-105", day, "WBC", 8.0, "10^9/L"),                                     # row 12
        lab("AAA-105", day, "NEUT", 12.0, "10^9/L"),                                   # row 13: above WBC
        lab("AAA-105", day, "LYMPH", 8.0, "10^9/L"),                                   # row 14: equal: fine
        lab("AAA-106", day, "NEUT", 30.0, "10^9/L"),                                   # row 15: no WBC: fine
        lab("AAA-105", day + timedelta(days=1), "LYMPH", 9.0, "10^9/L"),               # row 16: other date: fine
    ]
    files = [
        load_file(conn, "labs", "AAA", EXPORT, rows_a, load_id="L1"),
        load_file(conn, "labs", "BBB", EXPORT, _plt_series("BBB", NORMAL_PLT), load_id="L1"),
        load_file(conn, "labs", "CCC", EXPORT, _plt_series("CCC", NORMAL_PLT), load_id="L1"),
        # DDD declared /uL for counts already in 10^9/L: plausible, but 1000x too low
        load_file(conn, "labs", "DDD", EXPORT, [
            {**r, "value": r["value"] / 1000, "original_value": str(int(r["value"])), "original_unit": "/uL",
             "conversion_factor": 0.001} for r in _plt_series("DDD", NORMAL_PLT)], load_id="L1"),
    ]
    outcome = run_lab_expectations(conn, load_id="L1", sha256s=[f.sha256 for f in files],
                                   docs_dir=tmp / "data_docs" / "L1")
    yield conn, files, outcome
    conn.close()


def _failures(outcome, check_name):
    f = outcome.failures
    return f[f["check_name"] == check_name].sort_values("source_row")


def test_plausibility_limits_of_the_seed_are_inclusive(run):
    conn, files, outcome = run
    failed = _failures(outcome, PLAUSIBILITY)
    assert list(failed["source_row"]) == [8, 9, 11]
    assert set(failed["source_sha256"]) == {files[0].sha256}
    reasons = list(failed["reason"])
    assert reasons[0] == ("PLT value 2000.5 10^9/L is outside the plausible range 0 to 2000 10^9/L; "
                          "it cannot be a real measurement")
    assert reasons[1].startswith("PLT value -0.1 10^9/L is outside the plausible range 0 to 2000")
    assert reasons[2].startswith("CREAT value 4.9 umol/L (written as 0.0554 mg/dL) is outside the "
                                 "plausible range 5 to 3000 umol/L")


def test_neutrophils_above_wbc_of_the_same_sample(run):
    _, files, outcome = run
    failed = _failures(outcome, DIFFERENTIAL)
    assert list(failed["source_row"]) == [13]
    assert failed["reason"].iloc[0] == ("NEUT 12 10^9/L is above WBC 8 10^9/L of the same subject on "
                                        "sample_date 2021-05-01; a part of the white cells cannot exceed their total")


def test_check_results_count_rows_per_test(run):
    _, _, outcome = run
    by_key = {(r.check_name, r.target): r for r in outcome.check_results}
    plt = by_key[(PLAUSIBILITY, "raw.labs (PLT)")]
    assert (plt.rows_checked, plt.rows_failed, plt.passed, plt.severity) == (23, 2, False, "warn")
    assert by_key[(PLAUSIBILITY, "raw.labs (WBC)")].passed
    diff = by_key[(DIFFERENTIAL, "raw.labs (NEUT, LYMPH vs WBC)")]
    assert (diff.rows_failed, diff.passed) == (1, False)


def test_unit_mix_up_is_a_warning_naming_the_site(run):
    _, files, outcome = run
    site_checks = [r for r in outcome.check_results if r.check_name == SITE_DISTRIBUTION]
    assert [(r.target, r.severity, r.rows_checked, r.rows_failed) for r in site_checks] == [
        ("raw.labs (PLT)", "warn", 4, 1)]
    details = site_checks[0].details
    assert details.startswith("site DDD: median PLT 0.15 10^9/L (n=5) is 1000x lower than the median "
                              "of the other sites")
    assert "AAA" not in details
    # a warning quarantines nothing of DDD
    assert files[3].sha256 not in set(outcome.failures["source_sha256"])


def test_data_docs_are_written_for_the_load(run):
    _, _, outcome = run
    index = outcome.data_docs_index
    assert index is not None and index.name == "index.html" and index.parent.name == "L1"
    html = index.read_text(encoding="utf-8")
    assert "lab_rows" in html and "lab_site_medians" in html


def test_failures_move_to_quarantine_and_counts_add_up(run):
    conn, files, outcome = run
    assert move_to_quarantine(conn, "labs", outcome.failures, "L1") == 4
    assert manifest_counts(conn, files[0].file_path) == (15, 11, 4)
    assert manifest_counts(conn, files[3].file_path) == (5, 5, 0)


def test_files_without_lab_rows_run_nothing(tmp_path):
    conn = new_warehouse(tmp_path / "w.duckdb")
    outcome = run_lab_expectations(conn, load_id="L0", sha256s=["not-a-lab-file"], docs_dir=tmp_path / "docs")
    assert outcome.failures.empty and outcome.check_results == [] and outcome.data_docs_index is None
    assert not (tmp_path / "docs").exists()


def _store_raw(conn, site: str, rows: list[dict], load_id: str = "L2") -> str:
    """Rows straight into raw.labs (no row checks): what GE may meet there, NULLs included."""
    from sources.domains import DOMAINS
    from tests.quality.loads import file_path, typed_rows

    path = file_path(site, "labs", EXPORT, folder="sub/")
    sha = f"{site}-raw-{len(rows)}"
    frame = typed_rows("labs", site, EXPORT, rows, path=path, sha256=sha)
    cols = DOMAINS["labs"].raw_columns()
    conn.register("chunk", frame)
    conn.execute(f"INSERT INTO raw.labs ({', '.join(cols)}) SELECT "
                 f"{', '.join(f'CAST(chunk.{c} AS {t})' for c, t in cols.items())} FROM chunk")
    conn.unregister("chunk")
    return sha


def test_null_values_unknown_codes_and_batches(tmp_path, monkeypatch):
    """A NULL value or a test code without limits is not checked (as a per-test row_condition
    never saw it); files validated one by one or together give the same outcome."""
    from quality import expectations

    conn = new_warehouse(tmp_path / "w.duckdb")
    day = date(2021, 5, 1)
    a = _store_raw(conn, "AAA", [
        lab("AAA-1", day, "PLT", 150.0, "10^9/L"),                    # row 2
        lab("AAA-2", day, "PLT", None, "10^9/L"),                     # row 3: NULL value: counted, not failed
        lab("AAA-3", day, "XYZ", 99999.0, "U/L"),                     # row 4: no limits in the seed
        lab("AAA-4", day, None, 5.0, "U/L"),                          # row 5: no test code
        lab("AAA-5", day, "PLT", 2500.0, "10^9/L"),                   # row 6: above
        lab("AAA-6", day, "WBC", None, "10^9/L"),                     # row 7: NULL WBC ...
        lab("AAA-6", day, "NEUT", 5.0, "10^9/L"),                     # row 8: ... nothing to compare
        lab("AAA-7", day, "HGB", 10.0, "g/L"),                        # row 9: below 20
    ])
    b = _store_raw(conn, "BBB", [
        lab("BBB-1", day, "PLT", 3000.0, "10^9/L"),                   # row 2: above
        lab("BBB-2", day, "WBC", 4.0, "10^9/L"),                      # row 3
        lab("BBB-2", day, "LYMPH", 5.0, "10^9/L"),                    # row 4: above WBC
    ])
    outcomes = []
    for max_rows in (1, expectations.MAX_BATCH_ROWS):  # each file alone, then both in one frame
        monkeypatch.setattr(expectations, "MAX_BATCH_ROWS", max_rows)
        outcomes.append(run_lab_expectations(conn, load_id=f"L{max_rows}", sha256s=[a, b],
                                             docs_dir=tmp_path / f"docs{max_rows}"))
    alone, together = outcomes
    assert alone.failures.equals(together.failures)
    assert [(r.check_name, r.target, r.rows_checked, r.rows_failed, r.passed, r.details)
            for r in alone.check_results] == [
        (r.check_name, r.target, r.rows_checked, r.rows_failed, r.passed, r.details) for r in together.check_results]
    assert together.data_docs_index is not None and alone.data_docs_index is not None
    got = sorted(zip(together.failures["source_sha256"], together.failures["source_row"],
                     together.failures["check_name"]))
    assert got == sorted([(a, 6, PLAUSIBILITY), (a, 9, PLAUSIBILITY), (b, 2, PLAUSIBILITY), (b, 4, DIFFERENTIAL)])
    reasons = dict(zip(zip(together.failures["source_sha256"], together.failures["source_row"]),
                       together.failures["reason"]))
    assert reasons[(a, 9)].startswith("HGB value 10 g/L is outside the plausible range 20 to 250 g/L")
    assert reasons[(b, 4)].startswith("LYMPH 5 10^9/L is above WBC 4 10^9/L of the same subject")
    by_target = {(r.check_name, r.target): r for r in together.check_results if r.check_name != SITE_DISTRIBUTION}
    assert (by_target[(PLAUSIBILITY, "raw.labs (PLT)")].rows_checked,
            by_target[(PLAUSIBILITY, "raw.labs (PLT)")].rows_failed) == (4, 2)
    assert (by_target[(PLAUSIBILITY, "raw.labs (HGB)")].rows_checked,
            by_target[(PLAUSIBILITY, "raw.labs (HGB)")].rows_failed) == (1, 1)
    assert by_target[(PLAUSIBILITY, "raw.labs (WBC)")].passed
    assert by_target[(PLAUSIBILITY, "raw.labs (WBC)")].rows_checked == 2
    assert not any("XYZ" in target for _, target in by_target)
    diff = by_target[(DIFFERENTIAL, "raw.labs (NEUT, LYMPH vs WBC)")]
    assert (diff.rows_checked, diff.rows_failed, diff.details) == (11, 1, "1 rows quarantined")
    conn.close()


# The definition SITE_MEDIANS_SQL must equal: one correlated subquery per (site, test).
REFERENCE_SITE_MEDIANS_SQL = """
WITH current_rows AS (
  SELECT l.site_id, l.test_code, l.value FROM raw.labs AS l
  JOIN quality.file_manifest AS m ON m.sha256 = l.source_sha256 AND m.is_current
),
new_sites AS (
  SELECT site_id, test_code, median(value) AS site_median, count(value) AS n_site
  FROM raw.labs WHERE list_contains($shas, source_sha256) AND value IS NOT NULL GROUP BY ALL
)
SELECT n.site_id, n.test_code, n.site_median, n.n_site,
  (SELECT median(c.value) FROM current_rows AS c WHERE c.test_code = n.test_code AND c.site_id <> n.site_id) AS others_median,
  (SELECT count(c.value) FROM current_rows AS c WHERE c.test_code = n.test_code AND c.site_id <> n.site_id) AS n_others
FROM new_sites AS n ORDER BY n.site_id, n.test_code
"""


def test_other_sites_median_equals_its_definition_on_random_warehouses(tmp_path):
    """Random sites, tests, values (ties, decimals, NULLs), older snapshots that are no longer
    current, and new files of only some sites: the counting query gives the reference's rows."""
    import random

    from quality.expectations import SITE_MEDIANS_SQL

    rng = random.Random(7)
    for trial in range(25):
        conn = new_warehouse(tmp_path / f"w{trial}.duckdb")
        shas = []
        for s in range(rng.randint(1, 5)):
            site = f"S{s}"
            for month in (4, 5):
                rows = [lab(f"{site}-{i}", date(2021, 3, 1) + timedelta(days=i), rng.choice(["PLT", "HGB", "ALT"]),
                            rng.choice([rng.randint(1, 400) * 1.0, round(rng.uniform(1, 300), 1), 150.0, 0.5]),
                            "10^9/L") for i in range(rng.randint(0, 30))]
                for r in rows:
                    if r["test_code"] == "HGB":
                        r["unit"] = "g/L"
                    if r["test_code"] == "ALT":
                        r["unit"] = "U/L"
                entry = load_file(conn, "labs", site, date(2021, month, 28), rows, load_id=f"L{trial}")
                if month == 5 and rng.random() < 0.6:
                    shas.append(entry.sha256)
        got = conn.execute(SITE_MEDIANS_SQL, {"shas": shas}).fetchall()
        assert got == conn.execute(REFERENCE_SITE_MEDIANS_SQL, {"shas": shas}).fetchall(), trial
        conn.close()
