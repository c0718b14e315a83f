"""The numbers of one benchmark run, as plain dataclasses (written as JSON and markdown).

Rows of a stage: `ingest`/`checks` handle the rows of the files new in this load; `dbt` and
`publish` rebuild and copy the whole warehouse, so their rows are every row in raw.* after the
load. `overhead` is the load process minus its steps (Python, Dagster and dbt start-up, run
bookkeeping; its peak RSS is that of start-up): it does not depend on rows. `load` is the
whole process, per new row.

Ratio to floor: the stage's time divided by the time the DuckDB floor needs for the same number
of rows (floor rows/s measured on this size's lab CSVs), i.e. how many times slower per row.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from bench.floor import Floor
from bench.postgres import PostgresResult
from bench.process import MeasuredProcess
from bench.stages import RunStages
from bench.warehouse import LoadFacts
from bench.xlsx_csv import XlsxCsv

MB = 1024 * 1024
NEW_ROW_STAGES = ("ingest+checks", "ingest", "checks")
TIMELINE_POINTS = 120


@dataclass
class StageResult:
    stage: str
    wall_s: float
    peak_rss_mb: float
    rows: int | None
    rows_per_s: float | None
    ratio_to_floor: float | None


@dataclass
class LoadResult:
    kind: str                  # full | delta
    run_id: str
    run_status: str
    files_new: int
    files_read: int
    rows_read: int
    rows_quarantined: int
    raw_rows_total: int
    process_wall_s: float
    peak_rss_mb: float                   # whole process tree, sampled
    largest_process_maxrss_mb: float     # wait4 ru_maxrss: the largest single process
    max_processes: int                   # largest process tree seen (the load and dbt's processes)
    machine_load_1m: float               # 1-minute load average as the load ended (shared machine)
    stages: list[StageResult] = field(default_factory=list)
    # [seconds since the process started, peak tree RSS MB in that slice]: where memory grows
    rss_timeline: list[list[float]] = field(default_factory=list)
    dbt_slowest: list[list] = field(default_factory=list)   # [dbt node, seconds], slowest first

    def stage(self, name: str) -> StageResult | None:
        return next((s for s in self.stages if s.stage == name), None)


@dataclass
class SizeResult:
    subjects: int
    months: int
    sites: int
    delta_site: str
    rows_generated: int
    generate_s: float
    floor: Floor
    loads: list[LoadResult] = field(default_factory=list)
    postgres: PostgresResult | None = None   # publication of the full load's warehouse
    postgres_skipped: str = ""               # why not measured
    xlsx_csv: XlsxCsv | None = None          # the largest lab workbook against its rows as CSV

    def load(self, kind: str) -> LoadResult | None:
        return next((ld for ld in self.loads if ld.kind == kind), None)


def _stage(name: str, wall_s: float, peak_bytes: int, rows: int | None, floor: Floor) -> StageResult:
    rate = rows / wall_s if rows and wall_s > 0 else None
    ratio = wall_s * floor.rows_per_s / rows if rows and floor.rows_per_s > 0 else None
    return StageResult(name, round(wall_s, 3), round(peak_bytes / MB, 1), rows,
                       round(rate, 1) if rate is not None else None,
                       round(ratio, 2) if ratio is not None else None)


def rss_timeline(proc: MeasuredProcess, points: int = TIMELINE_POINTS) -> list[list[float]]:
    """The sampled RSS in at most `points` equal slices of the run, each slice's peak."""
    if not proc.samples:
        return []
    width = max(proc.wall_s / points, 1e-9)
    peaks: dict[int, int] = {}
    for s in proc.samples:
        k = min(int((s.at - proc.started_at) / width), points - 1)
        peaks[k] = max(peaks.get(k, 0), s.rss_bytes)
    return [[round(k * width, 1), round(v / MB, 1)] for k, v in sorted(peaks.items())]


def load_result(kind: str, proc: MeasuredProcess, run: RunStages, facts: LoadFacts, floor: Floor) -> LoadResult:
    stages = []
    for w in run.windows:
        rows = facts.rows_read if w.stage in NEW_ROW_STAGES else facts.raw_rows_total
        stages.append(_stage(w.stage, w.wall_s, proc.peak_rss_bytes(w.start, w.end), rows, floor))
    in_steps = sum(w.wall_s for w in run.windows)
    first_step = run.windows[0].start if run.windows else proc.finished_at
    stages.append(_stage("overhead", proc.wall_s - in_steps,   # peak RSS: start-up, before step 1
                         proc.peak_rss_bytes(proc.started_at, first_step), None, floor))
    stages.append(_stage("load", proc.wall_s, proc.peak_rss_bytes(), facts.rows_read, floor))
    return LoadResult(
        kind=kind, run_id=run.run_id, run_status=run.status, files_new=facts.files_new,
        files_read=facts.files_read, rows_read=facts.rows_read, rows_quarantined=facts.rows_quarantined,
        raw_rows_total=facts.raw_rows_total, process_wall_s=round(proc.wall_s, 3),
        peak_rss_mb=round(proc.peak_rss_bytes() / MB, 1),
        largest_process_maxrss_mb=round(proc.largest_process_maxrss_bytes / MB, 1),
        max_processes=max((s.processes for s in proc.samples), default=0),
        machine_load_1m=round(os.getloadavg()[0], 2), stages=stages, rss_timeline=rss_timeline(proc))
