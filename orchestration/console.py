"""What `itp-warehouse load` and `demo` print while a load runs: one line per stage with its
counts and time, a progress bar while the inbox is read (on a terminal only), the warnings at
the end. Everything else (Dagster's event log, dbt's own lines) goes to HOME/logs/<load_id>.log
(orchestration.loading); `--verbose` streams that instead.

The lines come from the run's own events, as Dagster stores them (an event listener of the
instance, called in the load's process): a step's start, its "<stage> done: ..." log line
(orchestration.progress), its end, the asset checks that did not pass and the step's own
"checks warned: ..." line (the dbt data tests).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

import dagster as dg

from orchestration.progress import ALERT_UNDELIVERED, parse_checks_warned

# The load's steps and their stages: a step that ends without a "<stage> done" line of its own
# gets a plain "done" line, a failed one a FAILED line under its next stage. Other steps (none
# today) stay silent.
STEP_STAGES = {"site_exports": ("ingest", "checks"), "warehouse_dbt_models": ("dbt",),
               "published__warehouse": ("publish",), "published__postgres": ("postgres",)}
WIDTH = 9          # the stage column
SHOWN_CHECKS = 6   # failing checks named in the warning line; the rest counted


@dataclass
class LoadConsole:
    out: TextIO
    bar_allowed: bool = True
    _since: float | None = None
    _done: dict[str, list[str]] = field(default_factory=dict)   # step -> stages reported
    _warned_checks: list[str] = field(default_factory=list)
    _undelivered: str = ""
    _bar: object | None = None
    broken: bool = False

    # --- the load -------------------------------------------------------------------------
    def start(self, load_id: str, log_file) -> None:
        self._print(f"load {load_id}: full log in {log_file}")

    def warnings(self) -> list[str]:
        """One line naming the checks that did not pass (warn severity), if any."""
        lines = []
        if self._warned_checks:
            named = ", ".join(self._warned_checks[:SHOWN_CHECKS])
            more = len(self._warned_checks) - SHOWN_CHECKS
            lines.append(f"warning: {len(self._warned_checks)} checks did not pass (warn): {named}"
                         + (f" and {more} more" if more > 0 else ""))
        if self._undelivered:
            lines.append(f"warning: the monitors' alert was not delivered to destination {self._undelivered} "
                         "of ITP_ALERT_URLS (the reason is in the full log)")
        return lines

    # --- the ingest progress bar (orchestration.progress.IngestProgress) --------------------
    def ingest_progress(self, done: int, total: int) -> None:
        if self.broken or not self.bar_allowed or not self.out.isatty() or total <= 0:
            return
        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, file=self.out,
                             desc=f"  {'ingest':<{WIDTH}}", leave=False, dynamic_ncols=True)
        self._bar.update(done - self._bar.n)

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    # --- Dagster's events -------------------------------------------------------------------
    def on_event(self, entry: dg.EventLogEntry) -> None:
        """The instance's event listener: never let a display problem break the load."""
        if self.broken:
            return
        try:
            self._on_event(entry)
        except Exception:  # noqa: BLE001 - the run log keeps everything; the console goes quiet
            self.broken = True

    def _on_event(self, entry: dg.EventLogEntry) -> None:
        from orchestration.progress import parse_stage_done

        event = entry.dagster_event
        step = entry.step_key
        if event is None:
            message = entry.user_message or ""
            parsed = parse_stage_done(message) if step else None
            if parsed:
                self._stage_line(step, parsed[0], parsed[1], entry.timestamp)
            self._warned_checks.extend(parse_checks_warned(message))
            return
        kind = event.event_type_value
        if kind == "STEP_START":
            self._since = entry.timestamp
        elif kind == "STEP_SUCCESS" and step in STEP_STAGES and not self._done.get(step):
            self._stage_line(step, self._next_stage(step), "done", entry.timestamp)
        elif kind == "STEP_FAILURE":
            self._stage_line(step, self._next_stage(step), "FAILED", entry.timestamp)
        elif kind == "ASSET_MATERIALIZATION":
            metadata = event.event_specific_data.materialization.metadata
            if ALERT_UNDELIVERED in metadata:
                self._undelivered = str(metadata[ALERT_UNDELIVERED].value)
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN:
                self._warned_checks.append(f"{evaluation.asset_key.to_user_string()} {evaluation.check_name}")

    def _next_stage(self, step: str) -> str:
        stages = STEP_STAGES.get(step, (step,))
        return stages[min(len(self._done.get(step, [])), len(stages) - 1)]

    def _stage_line(self, step: str, stage: str, detail: str, at: float) -> None:
        self._close_bar()
        seconds = at - self._since if self._since is not None else 0.0
        self._since = at
        self._done.setdefault(step, []).append(stage)
        self._print(f"  {stage:<{WIDTH}} {detail}  ({seconds:.1f} s)")

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)
