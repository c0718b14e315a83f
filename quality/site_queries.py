"""quality.site_query: the to-do list of site coordinators (endpoints.md §8).

A query is one problem of one row: (site, domain, check, row key). The row key is the domain's
key (`DOMAINS[d].key`) read from the quarantined record, not the row number, because every export
is a full snapshot: the same bad row comes back next month at another row number and must keep
the SAME query open rather than open a second one. A query resolves when the site's current
snapshot no longer fails that check for that row (fixed or deleted at the site).

Decision: a resolved query that fails again is RE-OPENED (same query_id; opened_load_id becomes
the re-opening load, resolved_load_id is cleared), so one problem is one line for the site and
its history is not split across ids. A row whose key cells are missing (e.g. no subject_id) has
no stable identity; its key falls back to its row number in the file.

Orphans (site-exports.md §2, v1.2): rows of a current snapshot of any domain but subjects whose
subject is not in the site's current subjects snapshot stay in raw (dbt leaves them out of the
marts). They open one query per site, domain and subject (`subject_id.orphan`, row key
`subject_id=<id>`), naming how many rows and where: the site fixes it once for the subject,
not once per lab result. It resolves when the subject appears (or the rows go).

Answers (issue #18): `quality.query_lifecycle` moves queries along open -> answered -> closed
(and re-opened, resolved) and keeps their history; this module finds what fails now.
"""
from __future__ import annotations

import hashlib
import json

import duckdb
import pandas as pd

from quality import query_lifecycle
from quality.query_lifecycle import SiteQueryUpdate
from sources.domains import DOMAINS

CHECK_ORPHAN = "subject_id.orphan"
ROWS_SHOWN = 5

SITE_QUERY_DDL = """
CREATE TABLE IF NOT EXISTS quality.site_query (
  query_id VARCHAR PRIMARY KEY,
  site_id VARCHAR,
  subject_id VARCHAR,
  domain VARCHAR NOT NULL,
  check_name VARCHAR NOT NULL,
  row_key VARCHAR NOT NULL,
  message VARCHAR NOT NULL,
  file_name VARCHAR,
  source_row INTEGER,
  status VARCHAR NOT NULL,
  opened_load_id VARCHAR NOT NULL,
  last_seen_load_id VARCHAR NOT NULL,
  resolved_load_id VARCHAR
)
"""


def row_key(domain: str, raw_record: dict[str, str | None], source_row: int | None) -> str:
    key = DOMAINS[domain].key
    values = [raw_record.get(k) for k in key]
    if any(v is None or str(v).strip() == "" for v in values):
        return f"row {source_row}"
    return "; ".join(f"{k}={str(v).strip()}" for k, v in zip(key, values))


def query_id(site_id: str | None, domain: str, check_name: str, key: str) -> str:
    text = "\x1f".join([site_id or "", domain, check_name, key])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


# The subjects of each site's current subjects snapshot; _orphan_sql's rows join it.
_CURRENT_SUBJECTS = """
    current_subjects AS (
      SELECT DISTINCT s.site_id, s.subject_id FROM raw.subjects AS s
      JOIN quality.file_manifest AS sm
        ON sm.sha256 = s.source_sha256 AND sm.is_current AND sm.domain = 'subjects' AND sm.site_id = s.site_id)"""


def _orphan_sql(domain: str) -> str:
    """A left join on the current subjects, not NOT EXISTS: DuckDB plans the correlated
    subquery as a join over the distinct subjects of every row of the domain, 3.9 s of a
    100,000-subject load's lab rows against 0.8 s (measured; the same rows: a null or unknown
    subject_id matches no subject either way)."""
    return f"""
        SELECT r.site_id, r.subject_id, '{domain}' AS domain, m.file_path, count(*) AS n,
               min(r.source_row) AS source_row,
               list(r.source_row ORDER BY r.source_row)[1:{ROWS_SHOWN}] AS shown_rows
        FROM raw.{domain} AS r
        JOIN quality.file_manifest AS m
          ON m.sha256 = r.source_sha256 AND m.is_current AND m.domain = '{domain}' AND m.site_id = r.site_id
        LEFT JOIN current_subjects AS cs
          ON cs.site_id = r.site_id AND cs.subject_id = r.subject_id
        WHERE cs.subject_id IS NULL
        GROUP BY r.site_id, r.subject_id, m.file_path"""


def _orphans(conn: duckdb.DuckDBPyConnection) -> list[dict]:
    """One record per site, domain and subject of rows whose subject is not in the site's
    current subjects snapshot."""
    subjects_files = dict(conn.execute(
        "SELECT site_id, file_path FROM quality.file_manifest WHERE is_current AND domain = 'subjects'").fetchall())
    union = " UNION ALL ".join(_orphan_sql(d) for d in DOMAINS if d != "subjects")
    out = []
    for site, subject, domain, path, n, first, shown in conn.execute(
            f"WITH {_CURRENT_SUBJECTS} SELECT * FROM ({union}) ORDER BY site_id, domain, subject_id").fetchall():
        rows = ", ".join(map(str, shown)) + (f" and {n - len(shown)} more" if n > len(shown) else "")
        where = (f"the site's current subjects export ({subjects_files[site]})" if site in subjects_files
                 else "a subjects export: the site has sent none yet")
        message = (f"subject {subject} has {n} {domain} row{'s' if n > 1 else ''} (row{'s' if n > 1 else ''} {rows} "
                   f"of {path}) but is not in {where}; the rows are kept and left out of the study's tables "
                   "until it is: add the subject to the subjects export, or correct the subject_id")
        key = f"subject_id={subject}"
        out.append(dict(query_id=query_id(site, domain, CHECK_ORPHAN, key), site_id=site, subject_id=subject,
                        domain=domain, check_name=CHECK_ORPHAN, row_key=key, message=message, file_name=path,
                        source_row=first, value_hash=query_lifecycle.value_hash(key)))
    return out


def _current_failures(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One line per query identity among quarantine records of current snapshots, and one per
    orphaned subject of a current snapshot."""
    records = conn.execute(
        """SELECT q.site_id, q.subject_id, q.domain, q.check_name, q.reason, q.raw_record,
                  q.file_name, q.source_row
           FROM quality.quarantine AS q
           JOIN quality.file_manifest AS m
             ON m.sha256 = q.sha256 AND m.site_id = q.site_id AND m.domain = q.domain AND m.is_current
           ORDER BY q.file_name, q.source_row, q.check_name""").df()
    columns = ["query_id", "site_id", "subject_id", "domain", "check_name", "row_key", "message",
               "file_name", "source_row", "value_hash"]
    orphans = pd.DataFrame(_orphans(conn), columns=columns)
    if records.empty:
        return orphans.astype(object) if len(orphans) else pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    keys, ids = [], []
    for r in records.itertuples(index=False):
        raw = json.loads(r.raw_record) if r.raw_record else {}
        source_row = None if pd.isna(r.source_row) else int(r.source_row)
        k = row_key(r.domain, raw, source_row)
        keys.append(k)
        ids.append(query_id(r.site_id, r.domain, r.check_name, k))
    records["row_key"], records["query_id"] = keys, ids
    # The value a site may confirm: the row's cells as written (an orphan's: its subject).
    records["value_hash"] = [query_lifecycle.value_hash(r or "") for r in records["raw_record"]]
    records = records.rename(columns={"reason": "message"})
    # Same identity twice (e.g. both copies of a duplicated key): one query, first row shown.
    records = records.drop_duplicates("query_id", keep="first")[columns]
    return pd.concat([records, orphans], ignore_index=True) if len(orphans) else records


def update_site_queries(conn: duckdb.DuckDBPyConnection, load_id: str) -> SiteQueryUpdate:
    """Open, keep open, re-open, resolve queries from the current snapshots, keeping answered and
    closed ones as their answers say (quality.query_lifecycle; idempotent for one load_id)."""
    failing = _current_failures(conn).rename(columns={"query_id": "problem_id"})
    return query_lifecycle.apply_failures(conn, failing, load_id)
