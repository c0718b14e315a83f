"""A benchmark run written twice: JSON for tools and trend lines, markdown for people."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.machine import Machine
from bench.profiling import ProfileSummary
from bench.results import SizeResult
from bench.targets import Extrapolation, TargetResult

METHOD = """\
- Inbox: `demo.cohort` scaled cohort, `snapshots="delta"`. **Full load** = the previous
  month's snapshot of every site (plus the generator's resent copy, a `duplicate`); **delta** =
  the cutoff snapshot of ONE site ({delta_site} at the sizes above) added to the same inbox and
  loaded into the same HOME the next "night". Each size starts from a fresh, empty HOME.
- Each load is `python -m orchestration.cli load` (the `itp-warehouse load` command: the Dagster
  job `nightly_load`) in its own process. Stage wall times are the Dagster step events of that run
  (STEP_START to STEP_SUCCESS in HOME/dagster); `overhead` = process wall time minus the steps
  (interpreter, Dagster and dbt start-up); `load` = the whole process.
- `ingest` and `checks` split the `site_exports` step at its "ingest done" log line.
  `ingest`: reading the files (worker processes read ahead on 2+ cores), the pandera row checks
  (per chunk, while reading), inserts, duplicate-key checks. `checks`: the Great Expectations
  lab suite, cross-domain checks and check results. pandera therefore counts in `ingest`;
  `bench/checks_micro.py` times pandera and Great Expectations alone.
- Peak RSS: the process and all its descendants (dbt runs as a child), summed, sampled from
  /proc every second; per stage, the samples inside the stage's window. Summing counts shared
  pages once per process: an upper bound. `largest process` in JSON is wait4's ru_maxrss.
- Rows: `ingest+checks` and `load` = rows of this load's new files (accepted + quarantined);
  `dbt` and `publish` = every row in raw.* after the load (dbt rebuilds every model but the
  models incremental by site (`fct_lab_result`, `patient_month` and the others keyed by
  `int_sites_keyed`), which re-derive the changed sites' rows; publish renames the file).
- Delta target: every size's delta is one site's snapshot (about the same rows) over a history
  10x and 100x larger at 10,000 and 100,000 subjects than at 1,000. Its load time is judged
  against the smallest size's delta time: a cost that followed the history would grow 10x and
  100x, a cost in proportion to the new files stays the same. The delta reads the hashes of the
  unchanged inbox files from `HOME/inbox_hashes.json`, written by the full load, and copies the
  published warehouse while it starts up (docs/decisions.md).
- `ingest` reads plain CSV files natively (DuckDB; `ingest.native_intake`) and everything else
  with the Python reader; the ingest-and-checks target adds `ingest` and `checks`.
- xlsx against CSV (`bench/xlsx_csv.py`): after the full load, the largest lab workbook it read
  and the same rows written as the site's CSV are each ingested alone (`ingest_inbox`, no
  worker processes, a fresh DuckDB file): per-row time ratio.
- Floor: DuckDB {duckdb} `CREATE TABLE t AS SELECT * FROM read_csv([...])` of the lab CSV files the
  full load read (one read_csv per site dialect, into a DuckDB file, CHECKPOINT included; GB18030
  files re-encoded to UTF-8 copies beforehand, untimed, as DuckDB needs an extension for GB18030).
  Ratio to floor = stage time / (stage rows / floor rows per second): how many times slower per row.
- PostgreSQL (`bench/postgres.py`): after the full load, a fresh durable server (Debian's
  package, fsync on, Unix socket) gets the published warehouse twice. **Plain COPY**: the
  published tables exported to CSV beforehand (untimed), then `CREATE TABLE` + `COPY FROM
  STDIN` of those files in one transaction (timed). **Publication**: `itp-warehouse`'s own,
  whole (DuckDB read, COPY into fresh schemas, roles, grants and row-level security per site,
  ANALYZE, swap). The target is publication <= 2x plain COPY.
- Timings on a shared machine vary with its load: the 1-minute load average is recorded."""


@dataclass
class BenchRun:
    date: str
    command: str
    months: int
    seed: int
    machine: Machine
    sizes: list[SizeResult]
    targets: list[TargetResult]
    extrapolation: Extrapolation | None = None
    profile: ProfileSummary | None = None
    notes: list[str] = field(default_factory=list)


def write(run: BenchRun, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"{run.date}-{run.machine.name}"
    json_file, md_file = stem.with_suffix(".json"), stem.with_suffix(".md")
    json_file.write_text(json.dumps(asdict(run), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    md_file.write_text(markdown(run), encoding="utf-8")
    return json_file, md_file


def _num(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|",
            *("| " + " | ".join(r) + " |" for r in rows)]


def markdown(run: BenchRun) -> str:
    m = run.machine
    lines = [f"# Load benchmark {run.date} on {m.name}", "",
             f"`{run.command}` (months of enrollment: {run.months}, seed {run.seed})", "",
             "## Machine", "",
             f"- {m.nproc} CPUs ({m.cpu_model}), {m.ram_gb} GB RAM, {m.os}",
             f"- Python {m.python}; " + ", ".join(f"{k} {v}" for k, v in m.packages.items()),
             f"- load average (1, 5, 15 min) before: {m.load_average_before}, after: {m.load_average_after}",
             "", "## Targets (issue #16)", ""]
    lines += _table(["target", "subjects", "measured", "limit", "verdict", "note"],
                    [[t.target, f"{t.subjects:,}", t.measured, t.limit, f"**{t.verdict}**", t.note]
                     for t in run.targets])
    lines += ["", "## Stages", ""]
    rows = []
    for s in run.sizes:
        for ld in s.loads:
            for st in ld.stages:
                rows.append([f"{s.subjects:,}", ld.kind, st.stage, _num(st.wall_s), _num(st.peak_rss_mb, 0),
                             _num(st.rows), _num(st.rows_per_s, 0), _num(st.ratio_to_floor)])
    lines += _table(["subjects", "load", "stage", "wall s", "peak RSS MB", "rows", "rows/s", "ratio to floor"], rows)
    lines += ["", "## Loads", ""]
    lines += _table(["subjects", "sites", "load", "new files", "files read", "rows read", "quarantined",
                     "raw rows after", "wall s", "peak RSS MB", "load avg 1m"],
                    [[f"{s.subjects:,}", str(s.sites), ld.kind, str(ld.files_new), str(ld.files_read),
                      _num(ld.rows_read), _num(ld.rows_quarantined), _num(ld.raw_rows_total),
                      _num(ld.process_wall_s), _num(ld.peak_rss_mb, 0), _num(ld.machine_load_1m, 2)]
                     for s in run.sizes for ld in s.loads])
    slow = [[f"{s.subjects:,}", ld.kind, f"`{node}`", _num(seconds)]
            for s in run.sizes if s.subjects == max(x.subjects for x in run.sizes)
            for ld in s.loads for node, seconds in ld.dbt_slowest]
    if slow:
        lines += ["", "## Slowest dbt nodes (largest size; dbt runs 2 threads)", ""]
        lines += _table(["subjects", "load", "node", "seconds"], slow)
    lines += ["", "## DuckDB floor", ""]
    lines += _table(["subjects", "lab CSV files", "rows", "seconds", "rows/s", "re-encoded"],
                    [[f"{s.subjects:,}", str(s.floor.files), _num(s.floor.rows), _num(s.floor.seconds, 2),
                      _num(s.floor.rows_per_s, 0), str(s.floor.reencoded_files)] for s in run.sizes])
    measured_x = [s for s in run.sizes if s.xlsx_csv]
    if measured_x:
        lines += ["", "## xlsx against CSV (the largest lab workbook, and its rows written as the site's CSV)", ""]
        lines += _table(["subjects", "workbook", "rows", "xlsx s", "CSV s", "per row"],
                        [[f"{s.subjects:,}", s.xlsx_csv.file, _num(s.xlsx_csv.rows), _num(s.xlsx_csv.xlsx_s, 2),
                          _num(s.xlsx_csv.csv_s, 2), f"{s.xlsx_csv.ratio:.2f}x"] for s in measured_x])
    measured_pg = [s for s in run.sizes if s.postgres]
    if measured_pg:
        lines += ["", f"## PostgreSQL publication (PostgreSQL {measured_pg[0].postgres.server}, of the full load's warehouse)", ""]
        lines += _table(["subjects", "tables", "rows", "roles", "plain COPY s", "publication s", "ratio",
                         "publication rows/s"],
                        [[f"{s.subjects:,}", str(s.postgres.tables), _num(s.postgres.rows), str(s.postgres.roles),
                          _num(s.postgres.plain_copy_s, 2), _num(s.postgres.publication_s, 2),
                          f"{s.postgres.ratio:.2f}x", _num(s.postgres.rows / s.postgres.publication_s, 0)]
                         for s in measured_pg])
    lines += ["", "Generation (not part of a load): " + "; ".join(
        f"{s.subjects:,} subjects: {s.rows_generated:,} rows in {s.generate_s:.0f} s" for s in run.sizes)]
    if run.extrapolation:
        e = run.extrapolation
        lines += ["", f"## Extrapolation to {e.subjects:,} subjects (estimate, not measured)", "",
                  f"A straight line in the number of subjects through {', '.join(f'{b:,}' for b in e.basis)}, "
                  "full load only (a nightly delta reads one site's snapshot whatever the number of sites). "
                  "Peak RSS: DuckDB caches data up to its memory_limit (default 80% of RAM), so part of "
                  "the growth is cache and a straight line overstates what a 4 GB machine needs; only a "
                  "load run under a 4 GB limit can tell.", ""]
        lines += _table(["figure", "estimate"], [[k, _num(v, 0)] for k, v in e.values.items()])
    if run.profile:
        p = run.profile
        lines += ["", f"## Profile of one extra full load, {p.subjects:,} subjects (cProfile, slower than unprofiled)", "",
                  f"{p.rows_read:,} rows read. Cumulative seconds; full listing in `{p.text_file}`.", ""]
        lines += _table(["part of site_exports", "cumulative s"], [[k, _num(v, 2)] for k, v in p.focus_cumulative_s.items()])
        if p.checks_share is not None:
            lines += ["", f"Checks (pandera, duplicate keys, Great Expectations, cross-domain) are "
                          f"{p.checks_share:.0%} of the step under the profiler; reading and inserting the rest."]
        lines += ["", "Functions with the most own time:", "", "```", *p.top_own_time, "```"]
    lines += ["", "## Method", "",
              METHOD.format(delta_site=", ".join(sorted({s.delta_site for s in run.sizes})),
                            duckdb=m.packages.get("duckdb", ""))]
    if run.notes:
        lines += ["", "## Notes", "", *(f"- {n}" for n in run.notes)]
    return "\n".join(lines) + "\n"
