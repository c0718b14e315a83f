"""The models incremental by site (macro sites_to_derive: fct_lab_result, the baselines, the
classified platelet samples and days, the subjects' worst lab grades, the subject spine,
patient_month, safety_signal, and the rows of ADLB, ADBLEED and ADRS):
a nightly delta of one site re-derives that site's rows only, and the result equals a full
rebuild of the same warehouse. Two real loads (the CLI: Dagster, intake, dbt) of a generated cohort, then a real
`dbt build --full-refresh` on a copy of the published file."""
from __future__ import annotations

import json
import os
import shutil
import stat
from dataclasses import dataclass

import duckdb

from bench import cohort as bench_cohort
from tests.conftest import cli
from tests.dbt.warehouse import dbt_build, run_results

MARK = "kept-by-test"     # written into one untouched site's rows between the two loads
COMPARED_MARTS = ("patient_month", "endpoint_initial_response", "endpoint_summary", "safety_signal")


@dataclass(frozen=True)
class Marked:
    """A site-incremental table and a column no test or later model reads, marked between the
    two loads in the untouched site's and the delta site's rows: a re-derived row loses it."""
    table: str
    site: str
    column: str
    mark: object
    rows: str = "true"    # which of the site's rows: a mark must change no later model's rows


MARKED = (
    Marked("marts.fct_lab_result", "site_id", "original_value", MARK),
    Marked("intermediate.int_lab_results_analysed", "SITEID", "AVALC", MARK),
    Marked("intermediate.int_lab_baselines_selected", "site_id", "baseline_ref_high", -999),
    Marked("intermediate.int_platelet_samples_classified", "site_id", "max_who_grade_nearby", -999),
    Marked("intermediate.int_platelet_days_classified", "site_id", "n_samples", -999),
    Marked("marts.patient_month", "site_id", "last_study_day", -999),
    Marked("intermediate.int_bleeding_assessments_analysed", "SITEID", "CRIT1", MARK),
    Marked("intermediate.int_platelet_responses_analysed", "SITEID", "PARAM", MARK),
    Marked("marts.safety_signal", "site_id", "detail", MARK),
    Marked("intermediate.int_subjects_unioned", "site_id", "source_row", -999),   # dim_subject only shows it
    # PLT has no CTCAE grade: the endpoint counts never read its rows.
    Marked("intermediate.int_subject_tests_graded", "site_id", "worst_grade_possible", -999, "test_code = 'PLT'"),
)


def _writable(path):
    os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)


def _lab_keys(conn) -> dict[str, str]:
    return dict(conn.execute("SELECT site_id, any_value(build_key) FROM marts.fct_lab_result GROUP BY site_id").fetchall())


def _differences(conn, table: str, mask_site: str) -> int:
    """Rows of `table` (schema.name) in one file and not the other (both ways), the mark of
    `mask_site` undone (its column nulled in both)."""
    marked = next((m for m in MARKED if m.table == table), None)
    select = (f"SELECT * REPLACE (CASE WHEN {marked.site} = '{mask_site}' THEN NULL ELSE {marked.column} END "
              f"AS {marked.column})" if marked else "SELECT *")
    a, b = f"{select} FROM {table}", f"{select} FROM rebuilt.{table}"
    return conn.execute(f"SELECT count(*) FROM (({a} EXCEPT ALL {b}) UNION ALL ({b} EXCEPT ALL {a}))").fetchone()[0]


def _marks(conn, marked: Marked, sites: list[str]) -> dict[str, int]:
    """Marked rows per site of `sites` (0 for a site whose rows carry no mark)."""
    counts = dict(conn.execute(
        f"SELECT {marked.site}, count(*) FILTER ({marked.column} = ?) FROM {marked.table} "
        f"WHERE {marked.site} IN (SELECT unnest(?)) GROUP BY {marked.site}", [marked.mark, sites]).fetchall())
    return {site: counts.get(site, 0) for site in sites}


def _plant_grade3_ae(cohort, sites: list[str]) -> None:
    """A small generated cohort has no safety signal: give each site's AE files (both
    snapshots) one more event, a copy of its last one as "Hepatitis" of CTCAE grade 3, so
    safety_signal has rows to keep or derive again. Header names are matched case-blind and
    the file's own delimiter, encoding and line ends are kept."""
    for site in sites:
        for path in sorted((cohort.inbox / site).glob(f"{site}_adverse_events_*.csv")):
            data = path.read_bytes()
            end = b"\r\n" if b"\r\n" in data else b"\n"
            lines = data.rstrip(end).split(end)
            delimiter = b";" if b";" in lines[0] else b","
            header = [h.strip().lstrip(b"\xef\xbb\xbf").lower() for h in lines[0].split(delimiter)]
            fields = lines[-1].split(delimiter)
            fields[header.index(b"ae_term")], fields[header.index(b"ctcae_grade")] = b"Hepatitis", b"3"
            path.write_bytes(data.rstrip(end) + end + delimiter.join(fields) + end)


def _dbt_nodes(artifacts) -> set[str]:
    """The nodes a load's dbt build ran, as "<type>.<name>"."""
    results = json.loads((artifacts / "run_results.json").read_text())["results"]
    return {f"{r['unique_id'].split('.')[0]}.{r['unique_id'].split('.')[2]}" for r in results}


def test_a_one_site_delta_rebuilds_that_site_only_and_equals_a_full_rebuild(tmp_path):
    cohort = bench_cohort.generate(tmp_path / "cohort", subjects=60, months=4, seed=7)
    home = tmp_path / "home"
    # --verbose: the Dagster log says whether dbt rebuilt whole (--full-refresh)
    load = ["load", "--inbox", str(home / "inbox"), "--sites", str(cohort.sites_file), "--home", str(home),
            "--verbose"]
    published = home / "warehouse.duckdb"
    untouched = next(site for site in sorted(cohort.registry.sites) if site != cohort.delta_site)
    _plant_grade3_ae(cohort, [cohort.delta_site, untouched])

    bench_cohort.place(cohort, cohort.full, home / "inbox")
    first = cli(*load, check=True)
    assert "--full-refresh" in first.stdout + first.stderr     # nothing published yet: built whole
    with duckdb.connect(str(published), read_only=True) as conn:
        keys_before = _lab_keys(conn)
        cutoff_before = conn.execute("SELECT max(cutoff_date) FROM quality.load_log").fetchone()[0]
    assert cohort.delta_site in keys_before and len(keys_before) == cohort.sites

    # Mark an untouched site's rows in the published warehouse: a re-derived row loses the mark.
    _writable(published)
    sites = [untouched, cohort.delta_site]
    with duckdb.connect(str(published)) as conn:
        for m in MARKED:
            conn.execute(f"UPDATE {m.table} SET {m.column} = ? WHERE {m.site} IN (?, ?) AND {m.rows}", [m.mark, *sites])
        marked = {m.table: _marks(conn, m, sites) for m in MARKED}
    assert all(n > 0 for counts in marked.values() for n in counts.values()), marked
    assert marked["intermediate.int_lab_results_analysed"] == marked["marts.fct_lab_result"]

    bench_cohort.place(cohort, cohort.delta, home / "inbox")
    second = cli(*load, check=True)
    assert "--full-refresh" not in second.stdout + second.stderr   # same dbt project: incremental
    # Same seeds: the delta neither reloads them nor re-runs the tests on them alone; a model's
    # test that refers to a seed still runs (docs/decisions.md, "Unchanged seeds ...").
    full_nodes, delta_nodes = (_dbt_nodes(r) for r in sorted((home / "logs").glob("*.dbt"),
                                                             key=lambda p: p.stat().st_mtime)[-2:])
    assert "seed.endpoints" in full_nodes and "test.unique_endpoints_endpoint" in full_nodes
    assert not any(n.startswith("seed.") for n in delta_nodes)
    assert "test.unique_endpoints_endpoint" not in delta_nodes
    assert "test.relationships_endpoint_summary_endpoint__endpoint__ref_endpoints_" in delta_nodes
    assert delta_nodes <= full_nodes and {n.split(".")[0] for n in full_nodes - delta_nodes} == {"seed", "test"}

    with duckdb.connect(str(published), read_only=True) as conn:
        assert conn.execute("SELECT max(cutoff_date) FROM quality.load_log").fetchone()[0] > cutoff_before
        keys_after = _lab_keys(conn)
        marks_after = {m.table: _marks(conn, m, sites) for m in MARKED}
        adlb_marks = dict(conn.execute("SELECT SITEID, count(*) FILTER (AVALC = ?) FROM adam.adlb "
                                       "WHERE SITEID IN (?, ?) GROUP BY SITEID", [MARK, *sites]).fetchall())
    # The delta site's key changed and its rows were derived again (the mark is gone); every
    # other site kept its key and its rows, although the load's cutoff moved forward.
    assert keys_after[cohort.delta_site] != keys_before[cohort.delta_site]
    assert {s: k for s, k in keys_after.items() if s != cohort.delta_site} == \
        {s: k for s, k in keys_before.items() if s != cohort.delta_site}
    for m in MARKED:
        assert marks_after[m.table] == {untouched: marked[m.table][untouched], cohort.delta_site: 0}, m.table
    assert adlb_marks == {untouched: marked["marts.fct_lab_result"][untouched], cohort.delta_site: 0}  # adam.adlb shows them

    # A full rebuild of a copy of the published warehouse gives the same rows, the mark aside.
    rebuilt = tmp_path / "rebuilt" / "warehouse.duckdb"
    rebuilt.parent.mkdir()
    shutil.copyfile(published, rebuilt)
    _writable(rebuilt)
    proc = dbt_build(rebuilt, tmp_path / "rebuilt", None, "--full-refresh", "--exclude-resource-type", "unit_test")
    assert proc.returncode == 0, proc.stdout[-3000:]
    with duckdb.connect(str(published), read_only=True) as conn:
        conn.execute(f"ATTACH '{rebuilt}' AS rebuilt (READ_ONLY)")
        n_rows = conn.execute("SELECT count(*) FROM marts.fct_lab_result").fetchone()[0]
        assert n_rows == conn.execute("SELECT count(*) FROM rebuilt.marts.fct_lab_result").fetchone()[0] > 0
        for table in {m.table for m in MARKED} | {f"marts.{t}" for t in COMPARED_MARTS}:
            assert _differences(conn, table, mask_site=untouched) == 0, table
        adlb = "SELECT * REPLACE (CASE WHEN SITEID = '{0}' THEN NULL ELSE AVALC END AS AVALC) FROM {1}adam.adlb"
        a, b = adlb.format(untouched, ""), adlb.format(untouched, "rebuilt.")
        assert conn.execute(f"SELECT count(*) FROM (({a} EXCEPT ALL {b}) UNION ALL ({b} EXCEPT ALL {a}))").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM adam.adlb").fetchone()[0] == n_rows

    # The whole-table uniqueness tests of the lab tables read the rows of the sites this build
    # derived again and what those can collide with: a duplicated row of the delta site fails
    # them; a duplicated row of the untouched site (kept, tested when it was published) is not
    # read. Both counts would be 2 if the tests read every row, 0 if they missed the delta site.
    planted = tmp_path / "planted" / "warehouse.duckdb"
    planted.parent.mkdir()
    shutil.copyfile(published, planted)
    _writable(planted)
    with duckdb.connect(str(planted)) as conn:
        assert conn.execute("SELECT list(site_id ORDER BY site_id) FROM intermediate.int_sites_keyed "
                            "WHERE is_rebuilt").fetchone()[0] == [cohort.delta_site]
        for site in sites:
            conn.execute("INSERT INTO marts.fct_lab_result SELECT * FROM marts.fct_lab_result WHERE site_id = ? "
                         "LIMIT 1", [site])
            conn.execute("INSERT INTO intermediate.int_lab_results_analysed SELECT * FROM "
                         "intermediate.int_lab_results_analysed WHERE SITEID = ? LIMIT 1", [site])
        # The row-level tests scoped by `where: site_id in (__rebuilt_sites__)` (macro
        # get_where_subquery): one bad row in each site, with a different bad value, so that a
        # test reading every row would report 2 failures (values or rows), the scoped one 1.
        for bad_grade, site in enumerate(sites, start=8):
            conn.execute("UPDATE marts.fct_lab_result SET ctcae_grade_max = ? WHERE rowid = (SELECT min(rowid) "
                         "FROM marts.fct_lab_result WHERE site_id = ?)", [bad_grade, site])
            conn.execute("UPDATE intermediate.int_lab_results_analysed SET CHG = CHG + 1000 WHERE rowid = (SELECT "
                         "min(rowid) FROM intermediate.int_lab_results_analysed WHERE SITEID = ? AND CHG IS NOT NULL)",
                         [site])
    scoped = ("unique_combination_fct_lab_result_source_sha256__source_row__site_id",
              "unique_combination_adlb_USUBJID__ASEQ__SITEID",
              "accepted_values_fct_lab_result_ctcae_grade_max__False__0__1__2__3__4",
              "expression_is_true_adlb_CHG_is_null_or_abs_CHG_AVAL_BASE_1e_9")
    for name in scoped:    # one build each: a failed test skips the tests downstream of its model
        proc = dbt_build(planted, tmp_path / "planted" / name, None, "--select", name)
        assert proc.returncode != 0
        [result] = run_results(tmp_path / "planted" / name)
        assert (result["status"], result["failures"]) == ("fail", 1), (name, result["status"], result["failures"])

    # A new STUDYID derives every site's ADLB rows again (incremental, no --full-refresh).
    proc = dbt_build(rebuilt, tmp_path / "restudied", {"study_id": "NEW-STUDY"}, "--exclude-resource-type", "unit_test")
    assert proc.returncode == 0, proc.stdout[-3000:]
    with duckdb.connect(str(rebuilt), read_only=True) as conn:
        assert conn.execute("SELECT count(*), count(*) FILTER (STUDYID = 'NEW-STUDY' AND USUBJID LIKE 'NEW-STUDY-%') "
                            "FROM adam.adlb").fetchone() == (n_rows, n_rows)


def test_a_load_whose_dbt_spills_to_disk_publishes(tmp_path):
    """dbt's DuckDB spills to disk when a model outgrows ITP_DUCKDB_MEMORY_LIMIT (at registry
    scale it always does). dbt-duckdb applies its `settings` to every new cursor, and DuckDB
    refuses to set the spill directory again once something spilled: with the directory among
    the settings, this load failed with "Cannot switch temporary directory" on every node after
    the first spill. 200MB is below what 1,000 subjects' lab rows need (DuckDB's spill files
    were seen in the candidate's .tmp folder during this load). At 100MB, since ADLB and the
    qualifier-aware flags and grades joined the build, DuckDB ran out of memory in operators
    that cannot spill (a window, a correlated subquery): the test then failed on some runs."""
    cohort = bench_cohort.generate(tmp_path / "cohort", subjects=1000, months=24, seed=3)
    home = tmp_path / "home"
    bench_cohort.place(cohort, cohort.full, home / "inbox")
    proc = cli("load", "--inbox", str(home / "inbox"), "--sites", str(cohort.sites_file), "--home", str(home),
               env={"ITP_DUCKDB_MEMORY_LIMIT": "200MB"})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "published" in proc.stdout
