"""Site answers to site queries (issue #18): the controlled list, the record of an imported
workbook, and how an answer changes a query.

The list of answers lives once, in the dbt seed `query_answers` (what the workbook's drop-down
offers, what the importer accepts, what docs/operations.md lists, and, through `closes_query`,
what an answer does). A site answers in the query workbook (`quality.query_workbook`); the
monitor imports it (`itp-warehouse queries --answers`), which records the batch under
HOME/answers/ (the workbook as received and what was read from it) and publishes it at once
(`orchestration.answers`). A batch is applied once per warehouse: a load applies the batches its
warehouse has not seen (after a rollback to a version older than an import, for example).

What an answer does (`quality.query_lifecycle` does the rest at each load):
- a closing answer ("Value confirmed correct", "Cannot be obtained") closes the query; it stays
  closed while the failing row's cells stay those the site answered about (`answer_value_hash`);
  a changed value opens a new query;
- another answer ("Corrected in the next export") makes it `answered`: it resolves when a
  snapshot no longer fails, and re-opens when a newer snapshot still does;
- an answer to a query that a load has meanwhile resolved or closed is kept in the history and
  changes nothing.
Every change is a row of quality.site_query_history: who (the site's person), when (as the site
wrote it), from and to, and who recorded it when.
"""
from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import duckdb

from quality import home_records, query_lifecycle
from sources.study_parameters import SEEDS_DIR

ANSWERS_DIR = "answers"
SEED = "query_answers"


@dataclass(frozen=True)
class AnswerOption:
    answer: str          # code stored in quality.site_query.answer
    label: str           # what the site picks in the workbook
    closes_query: bool
    description: str


@cache
def answer_options() -> tuple[AnswerOption, ...]:
    """The controlled list, in the seed's order (dbt_project/seeds/query_answers.csv)."""
    with open(SEEDS_DIR / f"{SEED}.csv", encoding="utf-8", newline="") as fh:
        return tuple(AnswerOption(r["answer"], r["label"], r["closes_query"].strip().lower() == "true",
                                  r["description"]) for r in csv.DictReader(fh))


def option_by_label(label: str) -> AnswerOption | None:
    wanted = label.strip().casefold()
    return next((o for o in answer_options() if o.label.casefold() == wanted), None)


def option_by_code(code: str | None) -> AnswerOption | None:
    return next((o for o in answer_options() if o.answer == code), None)


def label_of(code: str | None) -> str:
    option = option_by_code(code)
    return option.label if option else (code or "")


@dataclass(frozen=True)
class Answer:
    query_id: str
    answer: str                 # code
    comment: str
    answered_by: str
    answered_at: datetime
    value_hash: str | None      # the failing row's cells the site answered about
    file_name: str | None       # the snapshot the query was last seen in


@dataclass(frozen=True)
class AnswerBatch:
    """One imported workbook."""
    batch_id: str               # first 16 hex digits of the workbook's sha256
    workbook: str               # its file name as received
    recorded_by: str            # the monitor who imported it
    recorded_at: datetime
    site: str | None            # the site the workbook was exported for (None: every site)
    answers: tuple[Answer, ...]

    def to_json(self) -> str:
        data = asdict(self)
        data["recorded_at"] = self.recorded_at.isoformat()
        data["answers"] = [{**asdict(a), "answered_at": a.answered_at.isoformat()} for a in self.answers]
        return json.dumps(data, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> AnswerBatch:
        data = json.loads(text)
        answers = tuple(Answer(**{**a, "answered_at": datetime.fromisoformat(a["answered_at"])})
                        for a in data["answers"])
        return cls(data["batch_id"], data["workbook"], data["recorded_by"],
                   datetime.fromisoformat(data["recorded_at"]), data.get("site"), answers)


def batch_path(home: Path, batch_id: str) -> Path:
    return home / ANSWERS_DIR / f"{batch_id}.json"


def write_batch(home: Path, batch: AnswerBatch, workbook_bytes: bytes) -> Path:
    """Keep the workbook as received and what was read from it (the auditor's evidence);
    written atomically, the JSON last: a batch exists once its JSON does."""
    folder = home / ANSWERS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    home_records.write_whole(folder / f"{batch.batch_id}.xlsx", workbook_bytes)
    home_records.write_whole(batch_path(home, batch.batch_id), batch.to_json().encode("utf-8") + b"\n")
    return batch_path(home, batch.batch_id)


def read_batches(home: Path) -> list[AnswerBatch]:
    return home_records.read_all(home / ANSWERS_DIR, AnswerBatch.from_json,
                                 order=lambda b: (b.recorded_at, b.batch_id))


def applied_batch_ids(conn: duckdb.DuckDBPyConnection) -> set[str]:
    if not query_lifecycle.history_exists(conn):
        return set()
    return {r[0] for r in conn.execute(
        "SELECT DISTINCT batch_id FROM quality.site_query_history WHERE batch_id IS NOT NULL").fetchall()}


def pending(conn: duckdb.DuckDBPyConnection, batches: list[AnswerBatch]) -> list[AnswerBatch]:
    """The batches this warehouse has not applied yet."""
    done = applied_batch_ids(conn)
    return [b for b in batches if b.batch_id not in done]


@dataclass(frozen=True)
class AppliedAnswers:
    closed: int = 0
    answered: int = 0
    unchanged: int = 0      # the same answer again
    not_open: int = 0       # the query was resolved or closed meanwhile: kept in the history only

    def sentence(self) -> str:
        parts = [f"{self.closed} closed", f"{self.answered} answered (waiting for the next export)"]
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged (the same answer as before)")
        if self.not_open:
            parts.append(f"{self.not_open} already resolved or closed (kept in the history, status unchanged)")
        return ", ".join(parts)


def apply_batch(conn: duckdb.DuckDBPyConnection, batch: AnswerBatch, load_id: str | None = None) -> AppliedAnswers:
    """Apply every answer of the batch to the candidate `conn` (not idempotent by itself:
    callers apply only `pending` batches). `load_id`: the load applying it, when not the import."""
    query_lifecycle.ensure_tables(conn)
    counts = {"closed": 0, "answered": 0, "unchanged": 0, "not_open": 0}
    for a in batch.answers:
        option = option_by_code(a.answer)
        row = conn.execute(
            """SELECT site_id, status, answer, answer_comment, answered_by, answered_at
               FROM quality.site_query WHERE query_id = ?""", [a.query_id]).fetchone()
        if row is None or option is None:
            continue  # a rolled-back warehouse that never had this query: nothing to answer
        site, status, *current = row
        event = dict(query_id=a.query_id, site_id=site, from_status=status, changed_by=a.answered_by,
                     changed_at=a.answered_at, load_id=load_id, answer=a.answer, comment=a.comment or None,
                     workbook=batch.workbook, batch_id=batch.batch_id, recorded_by=batch.recorded_by,
                     recorded_at=batch.recorded_at)
        if status not in ("open", "answered"):
            counts["not_open"] += 1
            query_lifecycle.record(conn, event="answered", to_status=status,
                                   note=f"the query was already {status} when the answer was recorded: "
                                        "status unchanged", **event)
            continue
        if status == "answered" and current == [a.answer, a.comment or None, a.answered_by, a.answered_at]:
            counts["unchanged"] += 1
            query_lifecycle.record(conn, event="answered", to_status=status,
                                   note="the same answer again: status unchanged", **event)
            continue
        new_status = "closed" if option.closes_query else "answered"
        conn.execute(
            """UPDATE quality.site_query SET status = ?, answer = ?, answer_comment = ?, answered_by = ?,
                 answered_at = ?, answer_value_hash = ?, answer_file_name = ?
               WHERE query_id = ?""",
            [new_status, a.answer, a.comment or None, a.answered_by, a.answered_at, a.value_hash, a.file_name,
             a.query_id])
        counts[new_status] += 1
        query_lifecycle.record(conn, event=new_status, to_status=new_status,
                               note=f"answered '{option.label}'", **event)
    return AppliedAnswers(**counts)
