"""`itp-warehouse queries --answers FILE.xlsx`: a site's answers reach the warehouse at once.

The published warehouse is read-only (0444) and only ever replaced whole, so an import is a
small publication of its own through the loads' write-audit-publish path: the workbook is
checked against the published file (quality.query_workbook; a refused workbook changes
nothing under HOME), recorded under HOME/answers/ (the workbook as received and what was read
from it), applied to a candidate copy, and the candidate published with one rename, under the
same lock as loads. Monitors see the answers as soon as the command returns (`queries`,
`status`, the quality dashboard, analysts' new connections).

When a load is running (the lock is taken), the answers are recorded only and the next load
applies them; so does any load whose warehouse has not seen a recorded batch (after a
rollback to an older version). PostgreSQL (ITP_POSTGRES_URL) serves the previous state until
the next load or `itp-warehouse publish-postgres`.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from orchestration.publishing import LoadInProgress, WarehouseHome, create_candidate, discard_candidate, publish
from quality import query_answers
from quality.query_answers import AnswerBatch, AppliedAnswers
from quality.query_workbook import WorkbookRefused, read_answers


@dataclass(frozen=True)
class ImportOutcome:
    batch: AnswerBatch
    applied: AppliedAnswers | None     # None: recorded only (a load was running)
    version: Path | None               # the published version holding the answers
    already: bool = False              # this very workbook was imported before: nothing changed

    def sentence(self) -> str:
        b = self.batch
        who = f"recorded by {b.recorded_by} at {b.recorded_at:%Y-%m-%d %H:%M} UTC"
        if self.already:
            return f"{b.workbook} was imported already ({who}): nothing changed"
        if self.applied is None:
            return (f"{len(b.answers)} answers of {b.workbook} {who}; a load is running, so the next load "
                    "applies them")
        return (f"{len(b.answers)} answers of {b.workbook} imported and published ({self.applied.sentence()}); "
                f"{who} under answers/{b.batch_id}.json")


def _keep_versions() -> tuple[int, dict[str, str]]:
    from orchestration.resources import tuning_from_env

    tuning = tuning_from_env()
    return int(tuning["keep_versions"]), {"memory_limit": str(tuning["duckdb_memory_limit"])}


def import_answers(home: Path, workbook: Path, recorded_by: str, *, now: datetime | None = None) -> ImportOutcome:
    """Import a filled query workbook into HOME's published warehouse. Raises WorkbookRefused
    (nothing under HOME changed) when the workbook cannot be imported."""
    wh = WarehouseHome(Path(home))
    workbook = Path(workbook)
    if not wh.published.exists():
        raise WorkbookRefused(f"no published warehouse at {wh.published}: nothing to answer")
    if not workbook.is_file():
        raise WorkbookRefused(f"{workbook} is not a file")
    data = workbook.read_bytes()
    batch_id = hashlib.sha256(data).hexdigest()[:16]
    recorded = query_answers.batch_path(wh.root, batch_id)
    if recorded.exists():
        return ImportOutcome(AnswerBatch.from_json(recorded.read_text(encoding="utf-8")), None, None, already=True)
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    with duckdb.connect(str(wh.published), read_only=True) as conn:
        read = read_answers(conn, workbook, now=now)
    batch = AnswerBatch(batch_id, workbook.name, recorded_by, now, read.site, read.answers)
    candidate_id = f"answers-{batch_id}"
    try:
        candidate = create_candidate(wh, candidate_id)
    except LoadInProgress:
        query_answers.write_batch(wh.root, batch, data)
        return ImportOutcome(batch, None, None)
    try:
        keep, config = _keep_versions()
        with duckdb.connect(str(candidate), config=config) as conn:
            applied = query_answers.apply_batch(conn, batch)
            conn.execute("CHECKPOINT")
        # Recorded before publishing: should the publication fail, the next load applies it.
        query_answers.write_batch(wh.root, batch, data)
        version = publish(wh, candidate_id, keep_versions=keep)
    except BaseException:
        discard_candidate(wh, candidate_id)
        raise
    return ImportOutcome(batch, applied, version)
