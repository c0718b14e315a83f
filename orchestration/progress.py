"""How the steps of a load tell whoever watches (the CLI) where they are, without knowing who.

- A stage's result is one line of the step's own Dagster log: "<stage> done: <counts>"
  (`stage_done`). It stays in the run's event log (the UI, `HOME/logs/<load_id>.log`); the CLI
  turns it into its one line per stage, timed from the event times (orchestration.console);
  the benchmark splits its stage times at the same lines (bench/stages.py).
- The checks of a step that did not pass at warn severity, which no Dagster asset check
  carries (the dbt data tests: orchestration.assets.dbt says why), are one more line of the
  step's log: "checks warned: <target> <check> | ..." (`checks_warned`); the CLI names them
  among its warnings, beside the asset checks that did not pass.
- The progress of reading the inbox (the long part of a load) is a callback, set for the
  length of a load by the process that runs it and passed by the ingest step to
  `ingest.intake.ingest_inbox`. The steps of a CLI load run in the CLI's own process (the
  in-process executor); under `dagster dev` nobody sets one and nothing is reported.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

# (bytes read so far, bytes to read in all): called once with 0 before the first file, then
# after each file of the inbox.
IngestProgress = Callable[[int, int], None]

DONE = " done: "
WARNED = "checks warned: "
WARNED_SEPARATOR = " | "
# Metadata key of the publish step's materialization: the positions in ITP_ALERT_URLS ("#1, #3")
# that did not take the monitors' alert; the CLI warns of them (never the URLs: they hold secrets).
ALERT_UNDELIVERED = "alert_undelivered"
_ingest_progress: list[IngestProgress] = []


def stage_done(stage: str, detail: str) -> str:
    """The log line that ends a stage: `context.log.info(stage_done("dbt", "44 models built"))`."""
    return f"{stage}{DONE}{detail}"


def parse_stage_done(message: str) -> tuple[str, str] | None:
    """(stage, detail) of a `stage_done` line, else None."""
    stage, sep, detail = message.partition(DONE)
    return (stage, detail) if sep and stage and " " not in stage else None


def checks_warned(names: list[str]) -> str:
    """The log line naming checks that did not pass at warn severity ("<target> <check>" each)."""
    return WARNED + WARNED_SEPARATOR.join(names)


def parse_checks_warned(message: str) -> list[str]:
    """The checks a `checks_warned` line names; [] for any other message."""
    return message[len(WARNED):].split(WARNED_SEPARATOR) if message.startswith(WARNED) else []


@contextmanager
def reporting_ingest(callback: IngestProgress | None) -> Iterator[None]:
    """Send the ingest progress of the loads run inside this block to `callback`."""
    if callback is None:
        yield
        return
    _ingest_progress.append(callback)
    try:
        yield
    finally:
        _ingest_progress.remove(callback)


def ingest_progress() -> IngestProgress | None:
    """The callback of the innermost `reporting_ingest`, or None."""
    return _ingest_progress[-1] if _ingest_progress else None
