"""Great Expectations suites over lab results, run on the rows a load just stored.

- `lab_rows` (per file): plausibility limits per test from the seed lab_tests.csv (a value
  outside cannot be a real measurement: quarantined), and NEUT/LYMPH not above the WBC of the
  same subject and sample date in the same snapshot (quarantined).
- `lab_site_medians` (per load): each site's median per test against the median of the other
  sites' current snapshots; a site 10x off looks like a unit mix-up (e.g. /uL declared for
  10^9/L values). WARN only: nothing is quarantined, a person has to look.

GE's SQL datasource does not work on DuckDB (stack-notes pitfall 13), so frames are read with
DuckDB `.df()` (one file at a time, bounded memory) and validated with the pandas datasource in a
throw-away file-mode context; its Data Docs site is copied to the caller's `docs_dir`.
great_expectations is imported inside `run_lab_expectations` only: it takes seconds to import.

Speed (registry scale; measured with bench/checks_micro.py, see its docstring): the suite used
to hold one ExpectColumnValuesToBeBetween per lab test with a row_condition (about ten filtered
passes over every frame) and ran once per file. Now:
- each row's plausibility limits are joined from the seed in the SQL, and two
  ExpectColumnPairValuesAToBeGreaterThanB (value >= plausible_low, plausible_high >= value,
  rows with a missing value or a test code without limits ignored, as the row_condition
  ignored them) plus the differential pair make the whole suite: three unconditioned passes;
- several files are validated in one frame (up to `MAX_BATCH_ROWS` rows; a larger file alone),
  so the fixed cost of a checkpoint run (and of its Data Docs page) is paid once per batch;
- the frame holds only the checked columns; source_sha256 is a categorical (DuckDB ENUM);
  the texts of the few failing rows are read back from raw.labs afterwards;
- per-test check results are kept: rows_checked counted per test code in SQL, rows_failed from
  the unexpected rows' test codes. Failures keep the order of the per-file, per-test suite.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from quality.check_results import CheckResult
from quality.quarantine import FAILURE_COLUMNS, empty_failures
from quality.records import shown
from sources.study_parameters import lab_tests, study_vars

log = logging.getLogger(__name__)

PLAUSIBILITY = "gx.plausibility"
DIFFERENTIAL = "gx.differential_above_wbc"
SITE_DISTRIBUTION = "gx.site_distribution"

# endpoints.md §6.1: these parts of the white cell count cannot exceed the total.
DIFFERENTIAL_TESTS = ("NEUT", "LYMPH")
TOTAL_TEST = "WBC"
ROW_INDEX = ["source_sha256", "source_row"]
SITE_INDEX = ["site_id", "test_code"]

# A batch of files cannot exceed this many rows (memory: ~30 bytes a row); one larger file is
# validated alone, as before.
MAX_BATCH_ROWS = 2_000_000
BOUNDS = "itp_gx_lab_bounds"   # the seed's plausibility limits, registered for the SQL below
HITS = "itp_gx_hits"           # the unexpected rows of the load, registered for REASON_SQL

LAB_FILES_SQL = """
SELECT source_sha256, min(source_file) AS source_file, count(*) AS n
FROM raw.labs WHERE list_contains($shas, source_sha256) GROUP BY 1 ORDER BY 1
"""

# Rows per seed test code in the batch: the plausibility check's rows_checked (rows with a
# missing value count, as the element_count of a row_condition expectation counted them).
TEST_COUNTS_SQL = f"""
SELECT l.test_code, count(*) AS n FROM raw.labs AS l JOIN {BOUNDS} AS b ON b.test_code = l.test_code
WHERE list_contains($shas, l.source_sha256) GROUP BY 1
"""

# {sha_type}: ENUM of the batch's file hashes (a categorical frame column, not 64-char strings).
LAB_ROWS_SQL = f"""
SELECT CAST(l.source_sha256 AS {{sha_type}}) AS source_sha256, l.source_row, l.value,
       b.plausible_low, b.plausible_high,
       CASE WHEN l.test_code IN ({", ".join(f"'{t}'" for t in DIFFERENTIAL_TESTS)}) THEN w.wbc_value END AS wbc_value
FROM raw.labs AS l
LEFT JOIN {BOUNDS} AS b ON b.test_code = l.test_code
LEFT JOIN (
  SELECT source_sha256, subject_id, sample_date, min(value) AS wbc_value
  FROM raw.labs WHERE list_contains($shas, source_sha256) AND test_code = '{TOTAL_TEST}' GROUP BY ALL
) AS w ON w.source_sha256 = l.source_sha256 AND w.subject_id = l.subject_id AND w.sample_date = l.sample_date
WHERE list_contains($shas, l.source_sha256)
ORDER BY l.source_sha256, l.source_row
"""

# What a reason shows of an unexpected row (wbc_value: as in LAB_ROWS_SQL).
REASON_SQL = f"""
SELECT l.source_sha256, l.source_row, l.test_code, l.value, l.original_value, l.original_unit, l.sample_date,
       (SELECT min(w.value) FROM raw.labs AS w
        WHERE w.source_sha256 = l.source_sha256 AND w.test_code = '{TOTAL_TEST}'
          AND w.subject_id = l.subject_id AND w.sample_date = l.sample_date) AS wbc_value
FROM raw.labs AS l JOIN (SELECT DISTINCT source_sha256, source_row FROM {HITS}) AS h
  ON h.source_sha256 = l.source_sha256 AND h.source_row = l.source_row
"""

# Each new site's median against the median of the OTHER sites' current rows, per test. The
# median of "all sites but one" is not an aggregate of per-site aggregates, and a correlated
# subquery per (site, test) scans every current row once per site: fine with 3 sites, hours
# with 300. So the other sites' values are counted per distinct value (all sites' counts minus
# the site's own), and the median is read off the running count: the two middle positions of
# n values are (n - 1) // 2 and n // 2, averaged as DuckDB's median() averages them.
# tests/quality/test_expectations.py holds this equal to the correlated-subquery definition.
SITE_MEDIANS_SQL = """
WITH current_counts AS (
  SELECT l.site_id, l.test_code, l.value, count(*) AS n
  FROM raw.labs AS l JOIN quality.file_manifest AS m
    ON m.sha256 = l.source_sha256 AND m.site_id = l.site_id AND m.domain = 'labs' AND m.is_current
  WHERE l.value IS NOT NULL GROUP BY ALL
),
all_counts AS (SELECT test_code, value, sum(n) AS n FROM current_counts GROUP BY ALL),
new_sites AS (
  SELECT site_id, test_code, median(value) AS site_median, count(value) AS n_site
  FROM raw.labs WHERE list_contains($shas, source_sha256) AND value IS NOT NULL GROUP BY ALL
),
others AS (
  SELECT ns.site_id, ns.test_code, a.value, a.n - coalesce(c.n, 0) AS n
  FROM new_sites AS ns
  JOIN all_counts AS a ON a.test_code = ns.test_code
  LEFT JOIN current_counts AS c ON c.site_id = ns.site_id AND c.test_code = ns.test_code AND c.value = a.value
),
running AS (
  SELECT site_id, test_code, value,
         sum(n) OVER (PARTITION BY site_id, test_code ORDER BY value ROWS UNBOUNDED PRECEDING) AS upto,
         sum(n) OVER (PARTITION BY site_id, test_code) AS total
  FROM others WHERE n > 0
),
middle AS (
  SELECT site_id, test_code, max(total) AS n_others,
         min(value) FILTER (WHERE upto > (total - 1) // 2) AS lo,
         min(value) FILTER (WHERE upto > total // 2) AS hi
  FROM running GROUP BY ALL
)
SELECT ns.site_id, ns.test_code, ns.site_median, ns.n_site,
       m.lo * 0.5 + m.hi * 0.5 AS others_median,
       coalesce(m.n_others, 0)::BIGINT AS n_others
FROM new_sites AS ns LEFT JOIN middle AS m USING (site_id, test_code)
ORDER BY ns.site_id, ns.test_code
"""


@dataclass
class LabExpectationsOutcome:
    failures: pd.DataFrame = field(default_factory=empty_failures)   # for move_to_quarantine
    check_results: list[CheckResult] = field(default_factory=list)
    data_docs_index: Path | None = None


def site_median_max_ratio() -> float:
    return float(study_vars()["lab_site_median_max_ratio"])


@dataclass
class _Tally:
    """Counts of one check over all files of the load."""
    rows_checked: int = 0
    rows_failed: int = 0
    errors: list[str] = field(default_factory=list)   # expectations that could not run
    details: list[str] = field(default_factory=list)


def _plausibility_reason(row: dict[str, Any]) -> str:
    test = lab_tests()[row["test_code"]]
    unit = test.canonical_unit
    value = shown(row["value"])
    written = f"{shown(row['original_value'])} {shown(row['original_unit'])}"
    as_written = "" if written == f"{value} {unit}" else f" (written as {written})"
    return (f"{row['test_code']} value {value} {unit}{as_written} is outside the plausible range "
            f"{shown(test.plausible_low)} to {shown(test.plausible_high)} {unit}; "
            "it cannot be a real measurement")


def _differential_reason(row: dict[str, Any]) -> str:
    unit = lab_tests()[row["test_code"]].canonical_unit
    return (f"{row['test_code']} {shown(row['value'])} {unit} is above WBC {shown(row['wbc_value'])} "
            f"{unit} of the same subject on sample_date {shown(row['sample_date'])}; a part of the "
            "white cells cannot exceed their total")


def _times(factor: float) -> str:
    return f"{factor:.0f}x" if factor >= 100 else f"{factor:.3g}x"


def _site_detail(row: dict[str, Any], max_ratio: float) -> str:
    unit = lab_tests()[row["test_code"]].canonical_unit if row["test_code"] in lab_tests() else ""
    ratio = row["ratio"]
    factor, word = (ratio, "higher") if ratio >= 1 else ((1 / ratio if ratio else float("inf")), "lower")
    return (f"site {row['site_id']}: median {row['test_code']} {shown(row['site_median'])} {unit} "
            f"(n={int(row['n_site'])}) is {_times(factor)} {word} than the median of the other sites "
            f"{shown(row['others_median'])} {unit} (n={int(row['n_others'])}); more than "
            f"{shown(max_ratio)}x apart suggests a unit mix-up")


class _GxRun:
    """One throw-away GE file context for one load: suites, checkpoints and the Data Docs."""

    def __init__(self, root: Path, max_ratio: float):
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.expectations.row_conditions import Column

        self.gx = gx
        self.root = root
        self.ctx = gx.get_context(mode="file", project_root_dir=str(root))
        self.ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = self.ctx.data_sources.add_pandas("itp_warehouse")

        pair = dict(or_equal=True, ignore_row_if="either_value_is_missing")
        rows_suite = gx.ExpectationSuite(name="lab_rows", expectations=[
            gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="value", column_B="plausible_low", **pair, meta={"rule": PLAUSIBILITY, "bound": "low"},
                description="each test's value not below its plausible_low (seed lab_tests.csv)"),
            gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="plausible_high", column_B="value", **pair, meta={"rule": PLAUSIBILITY, "bound": "high"},
                description="each test's value not above its plausible_high (seed lab_tests.csv)"),
            gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="wbc_value", column_B="value", **pair, meta={"rule": DIFFERENTIAL},
                description=f"{' and '.join(DIFFERENTIAL_TESTS)} not above {TOTAL_TEST} of the same sample date"),
        ])
        sites_suite = gx.ExpectationSuite(name="lab_site_medians", expectations=[
            gx.expectations.ExpectColumnValuesToBeBetween(
                column="ratio", min_value=1 / max_ratio, max_value=max_ratio, severity="warning",
                meta={"rule": SITE_DISTRIBUTION},
                description="each site's median within a factor of the other sites' median (unit mix-up)"),
        ])
        self.rows_checkpoint = self._checkpoint(source, "lab_rows", rows_suite, ROW_INDEX)
        self.sites_checkpoint = self._checkpoint(source, "lab_site_medians", sites_suite, SITE_INDEX)

    def _checkpoint(self, source, name: str, suite, index_columns: list[str]):
        gx = self.gx
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("frame")
        suite = self.ctx.suites.add(suite)
        definition = self.ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
        return self.ctx.checkpoints.add(gx.Checkpoint(
            name=name, validation_definitions=[definition], actions=[],
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": index_columns}))

    def run(self, checkpoint, frame: pd.DataFrame, run_name: str) -> list:
        from great_expectations.core.run_identifier import RunIdentifier

        result = checkpoint.run(batch_parameters={"dataframe": frame}, run_id=RunIdentifier(run_name=run_name))
        return [r for vr in result.run_results.values() for r in vr.results]

    def publish_docs(self, docs_dir: Path) -> Path | None:
        """Build the Data Docs and copy the site; docs are a convenience, never a reason to fail."""
        try:
            self.ctx.build_data_docs()
            site = self.root / "gx" / "uncommitted" / "data_docs" / "local_site"
            docs_dir.mkdir(parents=True, exist_ok=True)
            shutil.copytree(site, docs_dir, dirs_exist_ok=True)
        except Exception:  # noqa: BLE001 - documented: Data Docs never stop a load
            log.exception("Great Expectations Data Docs could not be written to %s", docs_dir)
            return None
        index = docs_dir / "index.html"
        return index if index.exists() else None


def _exception_text(result) -> str | None:
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "expectation raised an exception")
    return None


@dataclass
class _Batch:
    """Files validated in one frame (one checkpoint run)."""
    shas: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    rows: int = 0


def _batches(files: list[tuple[str, str, int]]) -> list[_Batch]:
    """Consecutive files (sha256 order) up to MAX_BATCH_ROWS rows a batch."""
    out: list[_Batch] = []
    for sha, source_file, n in files:
        if not out or (out[-1].rows + n > MAX_BATCH_ROWS and out[-1].rows):
            out.append(_Batch())
        out[-1].shas.append(sha)
        out[-1].files.append(source_file)
        out[-1].rows += int(n)
    return out


def _run_name(load_id: str, batch: _Batch, number: int, count: int) -> str:
    name = (f"{load_id} {batch.files[0]}" if len(batch.files) == 1 else
            f"{load_id} lab rows part {number} of {count} ({len(batch.files)} files, {batch.rows} rows, "
            f"from {batch.files[0]})")
    # GE stores runs under their names: no path separators (the inbox has sub-folders).
    return name.replace("/", "__").replace("\\", "__")


def _sha_enum(shas: list[str]) -> str:
    return "ENUM(" + ", ".join("'" + s.replace("'", "''") + "'" for s in shas) + ")"


def _validate_batch(run: _GxRun, conn: duckdb.DuckDBPyConnection, batch: _Batch, run_name: str,
                    tallies: dict[tuple[str, str], _Tally]) -> list[tuple[str, str, int]]:
    """Validate one batch of files; returns the unexpected rows as (rule, sha256, source_row)."""
    params = {"shas": batch.shas}
    counts = dict(conn.execute(TEST_COUNTS_SQL, params).fetchall())
    frame = conn.execute(LAB_ROWS_SQL.format(sha_type=_sha_enum(batch.shas)), params).df()
    results = run.run(run.rows_checkpoint, frame, run_name)
    del frame
    hits: list[tuple[str, str, int]] = []
    plausibility = [r for r in results if (r.expectation_config.meta or {}).get("rule") == PLAUSIBILITY]
    errors = [e for e in (_exception_text(r) for r in plausibility) if e is not None]
    if errors:  # a limit that could not be checked leaves every test of the batch unchecked
        for test_code in lab_tests():
            tallies[(PLAUSIBILITY, test_code)].errors.append(f"{run_name}: {errors[0]}")
    else:
        for test_code, n in counts.items():
            tallies[(PLAUSIBILITY, test_code)].rows_checked += int(n)
        for result in plausibility:
            hits += [(PLAUSIBILITY, str(h["source_sha256"]), int(h["source_row"]))
                     for h in result.result.get("unexpected_index_list") or []]
    for result in results:
        if (result.expectation_config.meta or {}).get("rule") != DIFFERENTIAL:
            continue
        tally = tallies[(DIFFERENTIAL, "")]
        if (error := _exception_text(result)) is not None:
            tally.errors.append(f"{run_name}: {error}")
            continue
        tally.rows_checked += int(result.result.get("element_count") or 0)
        tally.rows_failed += int(result.result.get("unexpected_count") or 0)
        hits += [(DIFFERENTIAL, str(h["source_sha256"]), int(h["source_row"]))
                 for h in result.result.get("unexpected_index_list") or []]
    return hits


def _failures(conn: duckdb.DuckDBPyConnection, hits: list[tuple[str, str, int]],
              tallies: dict[tuple[str, str], _Tally]) -> list[tuple]:
    """Failure tuples (sha, row, check_name, reason) of the unexpected rows, in the order the
    per-file suite gave them (file, then each test's plausibility, then the differential);
    counts plausibility failures per test."""
    if not hits:
        return []
    unique_hits = sorted(set(hits))
    conn.register(HITS, pd.DataFrame(unique_hits, columns=["rule", "source_sha256", "source_row"]))
    try:
        detail = conn.execute(REASON_SQL).df()
    finally:
        conn.unregister(HITS)
    rows = {(r["source_sha256"], int(r["source_row"])): r for r in detail.to_dict("records")}
    test_order = {code: i for i, code in enumerate(lab_tests())}
    ordered = []
    for rule, sha, source_row in unique_hits:
        row = rows[(sha, source_row)]
        if rule == PLAUSIBILITY:
            tallies[(PLAUSIBILITY, row["test_code"])].rows_failed += 1
            key = (sha, 0, test_order[row["test_code"]], source_row)
            ordered.append((key, (sha, source_row, rule, _plausibility_reason(row))))
        else:
            ordered.append(((sha, 1, 0, source_row), (sha, source_row, rule, _differential_reason(row))))
    return [failure for _, failure in sorted(ordered)]


def _validate_site_medians(run: _GxRun, conn: duckdb.DuckDBPyConnection, load_id: str,
                           sha256s: list[str], max_ratio: float) -> list[CheckResult]:
    medians = conn.execute(SITE_MEDIANS_SQL, {"shas": sha256s}).df()
    if medians.empty:
        return []
    medians["ratio"] = medians["site_median"] / medians["others_median"].where(medians["others_median"] > 0)
    compared = medians.dropna(subset=["ratio"])
    if compared.empty:
        return []  # a single site (or no other site with that test): nothing to compare with
    [result] = run.run(run.sites_checkpoint, compared.reset_index(drop=True), f"{load_id} site medians")
    error = _exception_text(result)
    flagged = {(h["site_id"], h["test_code"]) for h in (result.result or {}).get("unexpected_index_list") or []}
    out = []
    for test_code, group in compared.groupby("test_code", sort=True):
        bad = [r for r in group.to_dict("records") if (r["site_id"], test_code) in flagged]
        details = "; ".join(_site_detail(r, max_ratio) for r in bad) or error
        out.append(CheckResult(
            load_id=load_id, check_name=SITE_DISTRIBUTION, tool="great_expectations",
            target=f"raw.labs ({test_code})", severity="warn", rows_checked=len(group),
            rows_failed=len(bad), passed=not bad and error is None, details=details or None))
    return out


def _tally_results(load_id: str, tallies: dict[tuple[str, str], _Tally]) -> list[CheckResult]:
    out = []
    for (rule, test_code), t in sorted(tallies.items()):
        if t.rows_checked == 0 and not t.errors:
            continue  # a test no file of this load holds
        target = f"raw.labs ({test_code})" if test_code else f"raw.labs ({', '.join(DIFFERENTIAL_TESTS)} vs {TOTAL_TEST})"
        details = "; ".join(t.errors) if t.errors else (
            f"{t.rows_failed} rows quarantined" if t.rows_failed else None)
        out.append(CheckResult(
            load_id=load_id, check_name=rule, tool="great_expectations", target=target,
            # a check that could not run leaves rows unchecked: that blocks publishing
            severity="error" if t.errors else "warn",
            rows_checked=t.rows_checked, rows_failed=t.rows_failed,
            passed=t.rows_failed == 0 and not t.errors, details=details))
    return out


def run_lab_expectations(conn: duckdb.DuckDBPyConnection, *, load_id: str, sha256s: list[str],
                         docs_dir: Path, max_site_median_ratio: float | None = None) -> LabExpectationsOutcome:
    """Validate the lab rows of the given files (those of this load); see the module doc."""
    files = conn.execute(LAB_FILES_SQL, {"shas": list(sha256s)}).fetchall()
    if not files:
        return LabExpectationsOutcome()
    max_ratio = max_site_median_ratio or site_median_max_ratio()
    bounds = pd.DataFrame([(t.test_code, float(t.plausible_low), float(t.plausible_high))
                           for t in lab_tests().values()], columns=["test_code", "plausible_low", "plausible_high"])
    with tempfile.TemporaryDirectory(prefix="itp-gx-") as tmp:
        run = _GxRun(Path(tmp), max_ratio)
        tallies: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
        hits: list[tuple[str, str, int]] = []
        batches = _batches(files)
        conn.register(BOUNDS, bounds)
        try:
            for number, batch in enumerate(batches, 1):
                hits += _validate_batch(run, conn, batch, _run_name(load_id, batch, number, len(batches)), tallies)
        finally:
            conn.unregister(BOUNDS)
        failures = _failures(conn, hits, tallies)
        results = _tally_results(load_id, tallies)
        results += _validate_site_medians(run, conn, load_id, [f[0] for f in files], max_ratio)
        index = run.publish_docs(Path(docs_dir))
    frame = pd.DataFrame(failures, columns=FAILURE_COLUMNS) if failures else empty_failures()
    return LabExpectationsOutcome(failures=frame, check_results=results, data_docs_index=index)
