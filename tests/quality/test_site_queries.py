"""A site query follows one bad row across snapshots: opened once, kept open (not duplicated)
while later snapshots still hold it, resolved when a snapshot fixes it."""
from __future__ import annotations

from datetime import date

from quality.site_queries import update_site_queries
from tests.quality.loads import lab, load_file


def subject(sid: str, **over) -> dict:
    return {"subject_id": sid, "sex": "F", "birth_year": 1970, "enrollment_date": date(2021, 1, 10), **over}


def queries(conn):
    return conn.execute(
        """SELECT query_id, site_id, subject_id, domain, check_name, row_key, message, file_name, source_row,
                  status, opened_load_id, last_seen_load_id, resolved_load_id
           FROM quality.site_query ORDER BY site_id, query_id""").df().to_dict("records")


def test_one_query_per_bad_row_across_snapshots(conn):
    # load 1: BJH-002 has an invalid sex
    load_file(conn, "subjects", "BJH", date(2021, 1, 31),
              [subject("BJH-001"), subject("BJH-002", sex="X")], load_id="L1")
    update = update_site_queries(conn, "L1")
    assert (update.opened, update.still_open, update.resolved) == (1, 0, 0)
    [q] = queries(conn)
    assert (q["site_id"], q["subject_id"], q["domain"], q["check_name"]) == ("BJH", "BJH-002", "subjects",
                                                                            "pandera.controlled_term")
    assert q["message"] == "sex 'X' is not one of: M, F"
    assert (q["status"], q["opened_load_id"], q["source_row"], q["row_key"]) == ("open", "L1", 3, "subject_id=BJH-002")
    first_id = q["query_id"]

    # load 2: the next snapshot still has it, now on another row: same query, still open
    load_file(conn, "subjects", "BJH", date(2021, 2, 28),
              [subject("BJH-000"), subject("BJH-001"), subject("BJH-002", sex="X")], load_id="L2")
    update = update_site_queries(conn, "L2")
    assert (update.opened, update.still_open, update.resolved) == (0, 1, 0)
    [q] = queries(conn)
    assert (q["query_id"], q["status"], q["opened_load_id"], q["last_seen_load_id"], q["source_row"]) == (
        first_id, "open", "L1", "L2", 4)
    assert q["file_name"] == "BJH_subjects_20210228.csv"

    # a late (older) snapshot is not current: it neither opens nor resolves anything
    load_file(conn, "subjects", "BJH", date(2021, 1, 15), [subject("BJH-009", sex="Q")], load_id="L2")
    update_site_queries(conn, "L2")
    assert len(queries(conn)) == 1

    # load 3: corrected snapshot: resolved
    load_file(conn, "subjects", "BJH", date(2021, 3, 31),
              [subject("BJH-001"), subject("BJH-002", sex="M")], load_id="L3")
    update = update_site_queries(conn, "L3")
    assert (update.opened, update.still_open, update.resolved) == (0, 0, 1)
    [q] = queries(conn)
    assert (q["query_id"], q["status"], q["resolved_load_id"]) == (first_id, "resolved", "L3")

    # running the same load's update again changes nothing
    update_site_queries(conn, "L3")
    assert queries(conn) == [q]


def test_a_resolved_query_that_fails_again_is_reopened(conn):
    load_file(conn, "subjects", "BJH", date(2021, 1, 31), [subject("BJH-002", sex="X")], load_id="L1")
    update_site_queries(conn, "L1")
    load_file(conn, "subjects", "BJH", date(2021, 2, 28), [subject("BJH-002")], load_id="L2")
    update_site_queries(conn, "L2")
    load_file(conn, "subjects", "BJH", date(2021, 3, 31), [subject("BJH-002", sex="Y")], load_id="L3")
    update = update_site_queries(conn, "L3")
    assert update.opened == 1
    [q] = queries(conn)
    assert (q["status"], q["opened_load_id"], q["resolved_load_id"], q["message"]) == (
        "open", "L3", None, "sex 'Y' is not one of: M, F")


def test_sites_and_checks_are_separate_queries(conn):
    load_file(conn, "subjects", "BJH", date(2021, 1, 31),
              [subject("BJH-002", sex="X", birth_year=1800)], load_id="L1")
    load_file(conn, "subjects", "SHH", date(2021, 1, 31), [subject("BJH-002", sex="X")], load_id="L1")
    update_site_queries(conn, "L1")
    got = sorted((q["site_id"], q["check_name"]) for q in queries(conn))
    assert got == [("BJH", "pandera.birth_year"), ("BJH", "pandera.controlled_term"),
                   ("SHH", "pandera.controlled_term")]
    assert len({q["query_id"] for q in queries(conn)}) == 3


def test_orphans_are_the_rows_whose_subject_is_not_in_the_sites_current_subjects_export(conn):
    """One query per site, domain and subject missing from that site's current subjects
    snapshot: a subject of an older snapshot, or of another site, does not count."""
    load_file(conn, "subjects", "BJH", date(2021, 1, 31), [subject("BJH-001"), subject("BJH-404")], load_id="L1")
    load_file(conn, "subjects", "BJH", date(2021, 2, 28), [subject("BJH-001"), subject("BJH-002")], load_id="L1")
    load_file(conn, "subjects", "SHH", date(2021, 2, 28), [subject("SHH-001"), subject("BJH-777")], load_id="L1")
    load_file(conn, "labs", "BJH", date(2021, 2, 28),
              [lab("BJH-001", date(2021, 2, 1), "PLT", 50, "10^9/L"),
               lab("BJH-404", date(2021, 2, 1), "PLT", 50, "10^9/L"),    # only in the older snapshot
               lab("BJH-777", date(2021, 2, 1), "PLT", 50, "10^9/L"),    # only in another site's
               lab("BJH-404", date(2021, 2, 2), "PLT", 60, "10^9/L")], load_id="L1")
    load_file(conn, "labs", "XYZ", date(2021, 2, 28),
              [lab("XYZ-001", date(2021, 2, 1), "PLT", 50, "10^9/L")], load_id="L1")   # no subjects export
    update_site_queries(conn, "L1")
    got = sorted((q["site_id"], q["subject_id"], q["domain"], q["source_row"]) for q in queries(conn)
                 if q["check_name"] == "subject_id.orphan")
    assert got == [("BJH", "BJH-404", "labs", 3), ("BJH", "BJH-777", "labs", 4), ("XYZ", "XYZ-001", "labs", 2)]
    message = next(q["message"] for q in queries(conn) if q["subject_id"] == "BJH-404")
    assert message.startswith("subject BJH-404 has 2 labs rows (rows 3, 5 of BJH_labs_20210228.csv)"), message
