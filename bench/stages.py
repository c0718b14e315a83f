"""Stage times of one load, from the Dagster run's own event log under HOME/dagster.

Why the event log and not a stopwatch around the process: the process also pays for Python,
Dagster and dbt start-up, which does not grow with the data; the step events separate that
fixed cost from the stages that do grow.

`site_exports` reads and checks in one step (pandera runs per chunk while reading; the Great
Expectations suite and cross-domain checks run after every row is in). The step logs a message
starting with INGEST_DONE_MARKER right after `intake.ingest_inbox`: the step's window is split
there into `ingest` and `checks`. A run without the marker (an older build) reports the step
whole as `ingest+checks`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

INGEST_STEP = "site_exports"
STEP_STAGES = {INGEST_STEP: "ingest+checks", "warehouse_dbt_models": "dbt", "published__warehouse": "publish"}
INGEST_DONE_MARKER = "ingest done"
STARTS = ("STEP_START",)
ENDS = ("STEP_SUCCESS", "STEP_FAILURE")


@dataclass(frozen=True)
class StepEvent:
    step_key: str | None
    kind: str          # a DagsterEventType value, or "MESSAGE" for a context.log line
    timestamp: float   # seconds since the epoch
    message: str = ""


@dataclass(frozen=True)
class StageWindow:
    stage: str
    start: float
    end: float

    @property
    def wall_s(self) -> float:
        return self.end - self.start


def stage_windows(events: Iterable[StepEvent]) -> list[StageWindow]:
    """First start to last end of each known step (a retried step keeps its retries inside its
    window), in execution order; `site_exports` split at the ingest marker when it is logged."""
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    marker: float | None = None
    for e in events:
        if e.step_key not in STEP_STAGES:
            continue
        if e.kind in STARTS:
            starts.setdefault(e.step_key, e.timestamp)
        elif e.kind in ENDS:
            ends[e.step_key] = e.timestamp
        elif e.kind == "MESSAGE" and e.step_key == INGEST_STEP and e.message.startswith(INGEST_DONE_MARKER):
            marker = e.timestamp
    windows: list[StageWindow] = []
    for step in sorted(starts.keys() & ends.keys(), key=starts.__getitem__):
        start, end = starts[step], ends[step]
        if step == INGEST_STEP and marker is not None and start <= marker <= end:
            windows += [StageWindow("ingest", start, marker), StageWindow("checks", marker, end)]
        else:
            windows.append(StageWindow(STEP_STAGES[step], start, end))
    return windows


@dataclass(frozen=True)
class RunStages:
    run_id: str
    status: str
    started_at: float | None
    finished_at: float | None
    windows: list[StageWindow]
    succeeded_steps: frozenset[str]


def latest_run_stages(dagster_dir: Path) -> RunStages:
    """The newest run of the instance in dagster_dir (the harness starts one load at a time
    in its own HOME, so the newest run is the load just measured)."""
    import dagster as dg  # seconds to import: only when a load was run

    with dg.DagsterInstance.from_config(str(dagster_dir)) as instance:
        [run] = instance.get_runs(limit=1)
        events = []
        for entry in instance.all_logs(run.run_id):
            kind = entry.dagster_event.event_type_value if entry.dagster_event else "MESSAGE"
            events.append(StepEvent(entry.step_key, kind, entry.timestamp, entry.user_message or ""))
        record = instance.get_run_record_by_id(run.run_id)
    succeeded = frozenset(e.step_key for e in events if e.kind == "STEP_SUCCESS" and e.step_key)
    return RunStages(run.run_id, run.status.value, record.start_time if record else None,
                     record.end_time if record else None, stage_windows(events), succeeded)
