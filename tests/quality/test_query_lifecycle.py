"""The query lifecycle (issue #18) on the quality functions alone (no load, no dbt): the paths the
monitors' day of tests/monitors does not walk. "Corrected in the next export" whose next export
still fails re-opens the same query; an answer to a query already resolved changes no status;
a closing answer holds while the value holds, and a changed value opens a new query."""
from __future__ import annotations

from datetime import date, datetime

from quality.query_answers import Answer, AnswerBatch, apply_batch
from quality.site_queries import update_site_queries
from tests.quality.loads import load_file

SITE = "BJH"
AT = datetime(2021, 2, 10, 9, 0)


def subject(sid: str, **over) -> dict:
    return {"subject_id": sid, "sex": "F", "birth_year": 1970, "enrollment_date": date(2021, 1, 10), **over}


def the_query(conn) -> dict:
    [row] = conn.execute("""SELECT query_id, status, value_hash, file_name, answer FROM quality.site_query
                            WHERE previous_query_id IS NULL""").fetchall()
    return dict(zip(["query_id", "status", "value_hash", "file_name", "answer"], row))


def answer(conn, code: str, batch_id: str) -> None:
    q = conn.execute("SELECT query_id, value_hash, file_name FROM quality.site_query WHERE status IN ('open', 'answered')"
                     ).fetchall()
    answers = tuple(Answer(query_id, code, "", "Dr. Li", AT, value_hash, file_name)
                    for query_id, value_hash, file_name in q)
    apply_batch(conn, AnswerBatch(batch_id, f"{batch_id}.xlsx", "monitor Wang", AT, SITE, answers))


def history(conn) -> list[tuple]:
    return conn.execute("""SELECT event, from_status, to_status, changed_by FROM quality.site_query_history
                           ORDER BY rowid""").fetchall()


def test_a_correction_that_did_not_come_reopens_the_query(conn):
    load_file(conn, "subjects", SITE, date(2021, 1, 31), [subject("BJH-002", sex="X")], load_id="L1")
    update_site_queries(conn, "L1")
    answer(conn, "corrected_in_next_export", "b1")
    assert the_query(conn)["status"] == "answered"
    # the same snapshot at the next load: still waiting for the correction
    update_site_queries(conn, "L2")
    assert the_query(conn)["status"] == "answered"
    # a newer snapshot still has the bad value: the same query, open again, the answer cleared
    load_file(conn, "subjects", SITE, date(2021, 2, 28), [subject("BJH-002", sex="X")], load_id="L3")
    update = update_site_queries(conn, "L3")
    q = the_query(conn)
    assert (q["status"], q["answer"], update.opened) == ("open", None, 1)
    assert history(conn) == [("opened", None, "open", "itp-warehouse load"),
                             ("answered", "open", "answered", "Dr. Li"),
                             ("re-opened", "answered", "open", "itp-warehouse load")]


def test_an_answer_to_a_resolved_query_is_kept_but_changes_nothing(conn):
    load_file(conn, "subjects", SITE, date(2021, 1, 31), [subject("BJH-002", sex="X")], load_id="L1")
    update_site_queries(conn, "L1")
    [(query_id,)] = conn.execute("SELECT query_id FROM quality.site_query").fetchall()
    load_file(conn, "subjects", SITE, date(2021, 2, 28), [subject("BJH-002")], load_id="L2")
    update_site_queries(conn, "L2")
    late = AnswerBatch("b2", "late.xlsx", "monitor Wang", AT, SITE,
                       (Answer(query_id, "confirmed_correct", "", "Dr. Li", AT, None, None),))
    applied = apply_batch(conn, late)
    assert (applied.closed, applied.not_open) == (0, 1)
    assert the_query(conn)["status"] == "resolved"
    assert history(conn)[-1] == ("answered", "resolved", "resolved", "Dr. Li")


def test_a_confirmed_value_stays_closed_until_it_changes(conn):
    load_file(conn, "subjects", SITE, date(2021, 1, 31), [subject("BJH-002", sex="X")], load_id="L1")
    update_site_queries(conn, "L1")
    answer(conn, "confirmed_correct", "b1")
    first = the_query(conn)
    assert first["status"] == "closed"
    # a newer snapshot with the same row (another file): still closed, no new query
    load_file(conn, "subjects", SITE, date(2021, 2, 28), [subject("BJH-001"), subject("BJH-002", sex="X")],
              load_id="L2")
    update_site_queries(conn, "L2")
    assert conn.execute("SELECT count(*), min(status) FROM quality.site_query").fetchone() == (1, "closed")
    # the value changes (still failing): the closed query stays closed, a new one opens after it
    load_file(conn, "subjects", SITE, date(2021, 3, 31), [subject("BJH-002", sex="Y")], load_id="L3")
    update_site_queries(conn, "L3")
    rows = conn.execute("""SELECT query_id, status, previous_query_id, problem_id FROM quality.site_query
                           ORDER BY opened_load_id""").fetchall()
    assert rows[0][:2] == (first["query_id"], "closed")
    assert rows[1][1:] == ("open", first["query_id"], first["query_id"])
