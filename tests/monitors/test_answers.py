"""The answer round trip (issue #18): export -> the site fills the workbook -> import (published
at once) -> the next load keeps confirmed queries closed, resolves the corrected one, and opens
a new query where a confirmed value changed."""
from __future__ import annotations

import csv
import stat
from datetime import datetime

import duckdb
from openpyxl import load_workbook

from tests.monitors.conftest import MONITOR
from tests.monitors.planted import (ANSWERED_BY, ANSWERS, BAD_SITE, NEXT_EXPORT, PKUPH_DATE, PKUPH_UNIT, RJH_HGB,
                                    WCH_TEXT)

WHEN = datetime(2022, 7, 1, 9, 30)


def test_the_workbook_offers_the_answers_of_the_seed_and_locks_the_keys(monitored):
    from quality.query_answers import answer_options

    book = load_workbook(monitored.workbook)
    sheet = book["site queries"]
    [validation] = sheet.data_validations.dataValidation
    header = [c.value for c in sheet[1]]
    answer_column = header.index("answer") + 1
    assert validation.type == "list" and str(validation.sqref).startswith(sheet.cell(2, answer_column).column_letter)
    labels = [row[0].value for row in book["answers"].iter_rows(min_row=2, max_row=1 + len(answer_options()))]
    assert labels == [o.label for o in answer_options()]
    assert validation.formula1 == f"='answers'!$A$2:$A${1 + len(labels)}"
    assert sheet.protection.sheet
    assert sheet.cell(2, answer_column).protection.locked is False
    assert sheet.cell(2, header.index("query_id") + 1).protection.locked is True
    assert sheet.max_row == 1 + 4   # the demo's four open queries


def test_the_import_is_published_at_once_with_who_and_when(monitored):
    assert monitored.imported.returncode == 0, monitored.imported.stderr
    assert "4 answers of queries-answered.xlsx imported and published (3 closed, 1 answered" \
        in monitored.imported.stdout
    rows = monitored.after_import
    status = {key: rows[key][1] for key in ANSWERS}
    assert status == {PKUPH_DATE: "answered", PKUPH_UNIT: "closed", RJH_HGB: "closed", WCH_TEXT: "closed"}
    assert rows[PKUPH_UNIT][2:6] == ("confirmed_correct", ANSWERED_BY, WHEN, ANSWERS[PKUPH_UNIT][1])
    assert rows[WCH_TEXT][2] == "cannot_be_obtained"
    # the audit trail: who at the site, when, from and to, who recorded it, from which workbook
    answered = [h for h in monitored.history_after_import if h[2] in ("answered", "closed")]
    assert sorted((h[2], h[3], h[4]) for h in answered) == sorted(
        [("answered", "open", "answered")] + [("closed", "open", "closed")] * 3)
    assert {(h[5], h[6], h[11], h[13]) for h in answered} == {(ANSWERED_BY, WHEN, "queries-answered.xlsx", MONITOR)}
    # a publication of its own: a new version, the published file read-only, the workbook kept
    home = monitored.home.home
    versions = sorted(p.name for p in (home / "versions").glob("*.duckdb"))
    assert any("answers-" in v for v in versions) and not any("answers-" in v for v in monitored.versions_before_import)
    assert stat.S_IMODE(monitored.home.published.stat().st_mode) == 0o444
    kept = sorted(p.suffix for p in (home / "answers").iterdir())
    assert kept == [".json", ".xlsx"]


def test_importing_the_same_workbook_again_changes_nothing(monitored):
    from orchestration.answers import import_answers

    before = monitored.sql("SELECT count(*) FROM quality.site_query_history")
    published = monitored.home.published.stat().st_mtime_ns
    outcome = import_answers(monitored.home.home, monitored.filled, MONITOR)
    assert outcome.already and "was imported already" in outcome.sentence()
    assert monitored.sql("SELECT count(*) FROM quality.site_query_history") == before
    assert monitored.home.published.stat().st_mtime_ns == published


def test_the_next_load_keeps_confirmed_queries_closed_and_opens_a_new_query_for_a_changed_value(monitored):
    load_id = monitored.load_id
    before, now = monitored.after_import, _queries(monitored)
    # confirmed, the row unchanged in the newer snapshot: the same query, still closed
    unit = now[before[PKUPH_UNIT][0]]
    assert unit["status"] == "closed" and unit["last_seen_load_id"] == load_id
    assert unit["file_name"] == f"PKUPH/PKUPH_labs_{NEXT_EXPORT}.csv"
    # cannot be obtained, no newer snapshot: still closed
    assert now[before[WCH_TEXT][0]]["status"] == "closed"
    # corrected in the next export, and it was: resolved by this load
    date = now[before[PKUPH_DATE][0]]
    assert (date["status"], date["resolved_load_id"]) == ("resolved", load_id)
    # confirmed, but the value changed (900 -> 950): the old query stays closed, a new one opens
    old = now[before[RJH_HGB][0]]
    assert old["status"] == "closed"
    [new] = [q for q in now.values() if q["previous_query_id"] == old["query_id"]]
    assert (new["status"], new["opened_load_id"], new["check_name"]) == ("open", load_id, "gx.plausibility")
    assert "950" in new["message"] and new["problem_id"] == old["problem_id"]
    history = monitored.sql("SELECT query_id, event, from_status, to_status, load_id, note FROM quality.site_query_history "
                            "WHERE load_id = ? AND site_id <> ?", [load_id, BAD_SITE])
    assert sorted((q, e, f, t) for q, e, f, t, _, _ in history) == sorted([
        (date["query_id"], "resolved", "answered", "resolved"),
        (old["query_id"], "value changed", "closed", "closed"),
        (new["query_id"], "opened", None, "open")])
    assert any(n and "the value changed since query" in n for *_, n in history)


def test_the_export_lists_what_waits_for_the_site(monitored, tmp_path):
    from quality.export import write_site_queries

    out = tmp_path / "queries.csv"
    with duckdb.connect(str(monitored.home.published), read_only=True) as conn:
        write_site_queries(conn, out)
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    waiting = {(r["site_id"], r["check_name"], r["status"]) for r in rows}
    assert ("RJH", "gx.plausibility", "open") in waiting
    assert not {("PKUPH", "unit.unknown"), ("WCH", "parse.number"), ("PKUPH", "parse.date")} & \
        {(s, c) for s, c, _ in waiting}
    assert sum(r["site_id"] == BAD_SITE for r in rows) == 6


def _queries(monitored) -> dict[str, dict]:
    columns = ["query_id", "problem_id", "previous_query_id", "site_id", "check_name", "status", "message",
               "file_name", "opened_load_id", "last_seen_load_id", "resolved_load_id"]
    rows = monitored.sql(f"SELECT {', '.join(columns)} FROM quality.site_query")
    return {r[0]: dict(zip(columns, r)) for r in rows}
