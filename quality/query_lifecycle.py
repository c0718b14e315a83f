"""The life of a site query (issue #18): open -> answered -> closed, re-opened, resolved, and
the history of every change (quality.site_query_history: the audit trail a monitor shows).

Statuses of quality.site_query:
- `open`: a row of the site's current snapshot fails a check; the site has not answered (or its
  answer did not hold);
- `answered`: the site answered "Corrected in the next export"; it waits for a newer snapshot;
- `closed`: the site answered with a closing answer ("Value confirmed correct", "Cannot be
  obtained"): the check's finding is accepted for that value;
- `resolved`: the current snapshot no longer fails (fixed or deleted at the site).

A PROBLEM is (site, domain, check, row key): endpoints.md §8's identity, whose id
(`site_queries.query_id`) is the id of its first query (`problem_id`). A load, for each problem
failing now, looks at the problem's latest query:
- none: a query opens (query_id = problem_id);
- open: it stays open (one row, not one per load);
- resolved: it re-opens (same query_id, as before #18);
- answered: it stays answered while the failing row is in the snapshot the site answered
  about; a newer snapshot that still fails re-opens it (the correction did not come);
- closed: it stays closed while the row's cells are those the site answered about
  (`answer_value_hash`); a changed value opens a NEW query (`previous_query_id` names the
  closed one), since the site confirmed another value.
Latest queries of problems not failing any more resolve (open or answered); closed ones stay
closed. `value_hash` fingerprints the failing row's cells as written (quarantine `raw_record`;
for orphans the subject).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb
import pandas as pd

LOAD_ACTOR = "itp-warehouse load"
UNRESOLVED = ("open", "answered")

# Columns #18 adds to quality.site_query (warehouses published before it gain them at the next
# load or answer import; site_queries.SITE_QUERY_DDL keeps the table's first columns).
SITE_QUERY_COLUMNS = {
    "problem_id": "VARCHAR",          # id of the problem's first query
    "previous_query_id": "VARCHAR",   # the closed query this one follows (a changed value)
    "value_hash": "VARCHAR",          # the failing row's cells when last seen
    "opened_at": "TIMESTAMP",         # start of the load that opened (or re-opened) it, UTC
    "answer": "VARCHAR",              # code of seed query_answers
    "answer_comment": "VARCHAR",
    "answered_by": "VARCHAR",
    "answered_at": "TIMESTAMP",
    "answer_value_hash": "VARCHAR",   # value_hash when the site answered
    "answer_file_name": "VARCHAR",    # the snapshot the site answered about
}

HISTORY_DDL = """
CREATE TABLE IF NOT EXISTS quality.site_query_history (
  query_id VARCHAR NOT NULL,
  site_id VARCHAR,
  event VARCHAR NOT NULL,
  from_status VARCHAR,
  to_status VARCHAR NOT NULL,
  changed_by VARCHAR NOT NULL,
  changed_at TIMESTAMP NOT NULL,
  load_id VARCHAR,
  answer VARCHAR,
  comment VARCHAR,
  note VARCHAR,
  workbook VARCHAR,
  batch_id VARCHAR,
  recorded_by VARCHAR,
  recorded_at TIMESTAMP
)
"""
HISTORY_COLUMNS = ("query_id", "site_id", "event", "from_status", "to_status", "changed_by", "changed_at",
                   "load_id", "answer", "comment", "note", "workbook", "batch_id", "recorded_by", "recorded_at")


@dataclass(frozen=True)
class SiteQueryUpdate:
    opened: int      # new queries, re-opened ones, and new queries after a changed value
    still_open: int  # open or answered before this load and still failing
    resolved: int


def history_exists(conn: duckdb.DuckDBPyConnection) -> bool:
    return conn.execute("""SELECT count(*) FROM information_schema.tables
                           WHERE table_schema = 'quality' AND table_name = 'site_query_history'""").fetchone()[0] > 0


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Add #18's columns and the history table (idempotent). Queries of an older warehouse
    get their problem id, opening time and a history reconstructed from their load ids."""
    had_history = history_exists(conn)
    for column, kind in SITE_QUERY_COLUMNS.items():
        conn.execute(f"ALTER TABLE quality.site_query ADD COLUMN IF NOT EXISTS {column} {kind}")
    conn.execute(HISTORY_DDL)
    conn.execute("UPDATE quality.site_query SET problem_id = query_id WHERE problem_id IS NULL")
    if had_history:
        return
    has_log = conn.execute("""SELECT count(*) FROM information_schema.tables
                              WHERE table_schema = 'quality' AND table_name = 'load_log'""").fetchone()[0]
    started = ("(SELECT min(started_at) FROM quality.load_log AS l WHERE l.load_id = {})" if has_log
               else "CAST(NULL AS TIMESTAMP)")
    conn.execute(f"""UPDATE quality.site_query AS s SET opened_at = {started.format('s.opened_load_id')}
                     WHERE opened_at IS NULL""")
    note = "reconstructed from the query's load ids when the history began (#18)"
    conn.execute(
        f"""INSERT INTO quality.site_query_history (query_id, site_id, event, from_status, to_status,
              changed_by, changed_at, load_id, note)
            SELECT query_id, site_id, 'opened', NULL, 'open', ?, coalesce(opened_at, TIMESTAMP '1970-01-01'),
                   opened_load_id, ? FROM quality.site_query
            UNION ALL
            SELECT query_id, site_id, 'resolved', 'open', 'resolved', ?,
                   coalesce({started.format('resolved_load_id')}, opened_at, TIMESTAMP '1970-01-01'),
                   resolved_load_id, ? FROM quality.site_query WHERE status = 'resolved'""",
        [LOAD_ACTOR, note, LOAD_ACTOR, note])


def record(conn: duckdb.DuckDBPyConnection, **event) -> None:
    """One history row (keyword names: HISTORY_COLUMNS; missing ones are null)."""
    values = [event.get(c) for c in HISTORY_COLUMNS]
    conn.execute(f"INSERT INTO quality.site_query_history ({', '.join(HISTORY_COLUMNS)}) "
                 f"VALUES ({', '.join('?' * len(HISTORY_COLUMNS))})", values)


def value_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _load_time(conn: duckdb.DuckDBPyConnection, load_id: str) -> datetime:
    """The load's start (quality.load_log), so a query opened by a load is as old as the load;
    now (UTC) when the load has no row (tests that call the quality functions alone)."""
    exists = conn.execute("""SELECT count(*) FROM information_schema.tables
                             WHERE table_schema = 'quality' AND table_name = 'load_log'""").fetchone()[0]
    row = conn.execute("SELECT started_at FROM quality.load_log WHERE load_id = ?", [load_id]).fetchone() \
        if exists else None
    return row[0] if row and row[0] else datetime.now(timezone.utc).replace(tzinfo=None)


_FAILING_TEXT = ("problem_id", "site_id", "subject_id", "domain", "check_name", "row_key", "message", "file_name",
                 "value_hash")

_PLAN = """
WITH latest AS (
  SELECT s.* FROM quality.site_query AS s
  WHERE NOT EXISTS (SELECT 1 FROM quality.site_query AS n WHERE n.previous_query_id = s.query_id)
)
SELECT f.*, l.query_id AS current_id, l.status AS current_status, l.opened_load_id AS current_opened_load_id,
       l.resolved_load_id AS current_resolved_load_id, l.answer AS current_answer,
       l.answered_by AS current_answered_by, l.answered_at AS current_answered_at,
       CASE
         WHEN l.query_id IS NULL THEN 'open_new'
         WHEN l.status = 'resolved' THEN 'reopen'
         WHEN l.status = 'answered' AND f.file_name IS DISTINCT FROM l.answer_file_name THEN 'reopen'
         WHEN l.status = 'closed' AND l.answer_value_hash IS NOT NULL
              AND f.value_hash IS DISTINCT FROM l.answer_value_hash THEN 'successor'
         ELSE 'keep'
       END AS action
FROM failing_now AS f LEFT JOIN latest AS l ON l.problem_id = f.problem_id
"""
# The query that follows a closed one because the value changed gets an id made of both (a
# retried load finds the same id).
_PLAN_WITH_IDS = f"""
CREATE OR REPLACE TEMP TABLE query_plan AS
SELECT *, CASE action WHEN 'open_new' THEN problem_id
                      WHEN 'successor' THEN substr(sha256(current_id || chr(31) || value_hash), 1, 20)
                      ELSE current_id END AS new_id
FROM ({_PLAN})
"""


def _reopen_note(row) -> str:
    if row.current_status == "resolved":
        return f"failed again after load {row.current_resolved_load_id} had resolved it"
    from quality.query_answers import label_of

    when = f" on {row.current_answered_at:%Y-%m-%d}" if not pd.isna(row.current_answered_at) else ""
    return (f"answered '{label_of(row.current_answer)}' by {row.current_answered_by}{when}, "
            f"but the newer snapshot {row.file_name} still fails")


def apply_failures(conn: duckdb.DuckDBPyConnection, failing: pd.DataFrame, load_id: str) -> SiteQueryUpdate:
    """Move every query along its lifecycle given the problems failing in the current snapshots
    (`failing`: problem_id, site_id, subject_id, domain, check_name, row_key, message, file_name,
    source_row, value_hash). Idempotent for one load_id."""
    ensure_tables(conn)
    at = _load_time(conn, load_id)
    conn.register("failing_frame", failing)
    try:
        # Typed: an empty frame's object columns would reach SQL as integers.
        conn.execute(f"""CREATE OR REPLACE TEMP TABLE failing_now AS SELECT
                           {', '.join(f'CAST({c} AS VARCHAR) AS {c}' for c in _FAILING_TEXT)},
                           CAST(source_row AS INTEGER) AS source_row FROM failing_frame""")
        conn.execute(_PLAN_WITH_IDS)
        plan = conn.execute("SELECT * FROM query_plan").df()
        resolved = conn.execute(
            """SELECT query_id, site_id, status FROM quality.site_query AS s
               WHERE status IN ('open', 'answered')
                 AND problem_id NOT IN (SELECT problem_id FROM failing_now)""").fetchall()
        _keep(conn, load_id)
        _reopen(conn, plan, load_id, at)
        _insert_new(conn, plan, load_id, at)
        for query, site, status in resolved:
            record(conn, query_id=query, site_id=site, event="resolved", from_status=status, to_status="resolved",
                   changed_by=LOAD_ACTOR, changed_at=at, load_id=load_id,
                   note="the site's current snapshot no longer fails (fixed or removed)")
        conn.execute(
            """UPDATE quality.site_query SET status = 'resolved', resolved_load_id = ?
               WHERE status IN ('open', 'answered') AND problem_id NOT IN (SELECT problem_id FROM failing_now)""",
            [load_id])
    finally:
        conn.unregister("failing_frame")
        conn.execute("DROP TABLE IF EXISTS failing_now")
        conn.execute("DROP TABLE IF EXISTS query_plan")
    kept = plan[plan.action == "keep"]
    opened_now = int((kept.current_opened_load_id == load_id).sum()) if len(kept) else 0
    still_open = int((kept.current_status.isin(UNRESOLVED) & (kept.current_opened_load_id != load_id)).sum()) \
        if len(kept) else 0
    return SiteQueryUpdate(opened=int(plan.action.isin(["open_new", "reopen", "successor"]).sum()) + opened_now,
                           still_open=still_open, resolved=len(resolved))


_SEEN = """last_seen_load_id = ?, subject_id = p.subject_id, message = p.message, file_name = p.file_name,
           source_row = CAST(p.source_row AS INTEGER), value_hash = p.value_hash"""


def _keep(conn: duckdb.DuckDBPyConnection, load_id: str) -> None:
    """Still failing in the same state: where it was last seen. A query closed before its value
    was fingerprinted (imported into a warehouse of before #18) takes the value seen now."""
    conn.execute(
        f"""UPDATE quality.site_query AS s SET {_SEEN},
              answer_value_hash = CASE WHEN s.status = 'closed' THEN coalesce(s.answer_value_hash, p.value_hash)
                                       ELSE s.answer_value_hash END
            FROM query_plan AS p WHERE p.action = 'keep' AND s.query_id = p.current_id""", [load_id])


def _reopen(conn: duckdb.DuckDBPyConnection, plan: pd.DataFrame, load_id: str, at: datetime) -> None:
    for r in plan[plan.action == "reopen"].itertuples(index=False):
        record(conn, query_id=r.current_id, site_id=r.site_id, event="re-opened", from_status=r.current_status,
               to_status="open", changed_by=LOAD_ACTOR, changed_at=at, load_id=load_id, note=_reopen_note(r))
    conn.execute(
        f"""UPDATE quality.site_query AS s SET {_SEEN}, status = 'open', opened_load_id = ?, opened_at = ?,
              resolved_load_id = NULL, answer = NULL, answer_comment = NULL, answered_by = NULL,
              answered_at = NULL, answer_value_hash = NULL, answer_file_name = NULL
            FROM query_plan AS p WHERE p.action = 'reopen' AND s.query_id = p.current_id""",
        [load_id, load_id, at])


def _insert_new(conn: duckdb.DuckDBPyConnection, plan: pd.DataFrame, load_id: str, at: datetime) -> None:
    from quality.query_answers import label_of

    conn.execute(
        """INSERT INTO quality.site_query (query_id, site_id, subject_id, domain, check_name, row_key, message,
             file_name, source_row, status, opened_load_id, last_seen_load_id, resolved_load_id, problem_id,
             previous_query_id, value_hash, opened_at)
           SELECT new_id, site_id, subject_id, domain, check_name, row_key, message, file_name,
             CAST(source_row AS INTEGER), 'open', ?, ?, NULL, problem_id,
             CASE WHEN action = 'successor' THEN current_id END, value_hash, ?
           FROM query_plan WHERE action IN ('open_new', 'successor')""", [load_id, load_id, at])
    for r in plan[plan.action.isin(["open_new", "successor"])].itertuples(index=False):
        note = None
        if r.action == "successor":
            note = (f"the value changed since query {r.current_id} was closed "
                    f"('{label_of(r.current_answer)}'): a new query")
            record(conn, query_id=r.current_id, site_id=r.site_id, event="value changed", from_status="closed",
                   to_status="closed", changed_by=LOAD_ACTOR, changed_at=at, load_id=load_id,
                   note=f"the row's value changed: new query {r.new_id}")
        record(conn, query_id=r.new_id, site_id=r.site_id, event="opened", from_status=None, to_status="open",
               changed_by=LOAD_ACTOR, changed_at=at, load_id=load_id, note=note)
