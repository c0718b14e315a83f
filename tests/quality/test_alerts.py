"""The monitors' alert: built from the warehouse, delivered by apprise to a real local SMTP server
and a real local JSON webhook; destination URLs never appear in logs."""
from __future__ import annotations

import email
import logging
import socket
from datetime import date, datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from quality import check_results
from monitoring.alerts import Alert, build_load_alert, send_alert
from quality.check_results import CheckResult
from sources import manifest
from sources.manifest import ManifestEntry
from tests.quality.loads import file_path, load_file
from tests.webhook import json_webhook

EXPORT = date(2021, 6, 30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def troubled_load(conn) -> None:
    """Load L1: one refused file, two bad bleeding rows at BJH, a unit mix-up warning, a signal."""
    load_file(conn, "bleeding", "BJH", EXPORT, [
        {"subject_id": "BJH-001", "assessment_date": date(2021, 5, 1), "who_grade": 7},
        {"subject_id": "BJH-002", "assessment_date": date(2021, 5, 1), "who_grade": 6},
        {"subject_id": "BJH-003", "assessment_date": date(2021, 5, 1), "who_grade": 1}], load_id="L1")
    load_file(conn, "adverse_events", "SHH", EXPORT, [
        {"subject_id": "SHH-004", "ae_term": "neutropenia", "onset_date": date(2021, 5, 2), "ctcae_grade": 3,
         "serious": False}], load_id="L1")
    manifest.record(conn, ManifestEntry("BJH_labs_2021.csv", "refused", "the file name has no valid export date"),
                    None, load_id="L1", loaded_at=datetime(2030, 1, 1))
    check_results.record(conn, [CheckResult(
        "L1", "gx.site_distribution", "great_expectations", "raw.labs (PLT)", "warn", 4, 1, False,
        "site DDD: median PLT 0.15 10^9/L (n=5) is 1000x lower than the median of the other sites")])
    conn.execute("CREATE SCHEMA marts")
    conn.execute("""CREATE TABLE marts.safety_signal (site_id VARCHAR, subject_id VARCHAR, signal VARCHAR,
                    signal_date DATE, value DOUBLE, detail VARCHAR, source_file VARCHAR, source_row INTEGER)""")
    conn.execute("INSERT INTO marts.safety_signal VALUES ('SHH', 'SHH-004', 'ae_grade3plus', DATE '2021-05-02', 3,"
                 " 'neutropenia grade 3', ?, 2), ('SHH', 'SHH-001', 'ae_grade3plus', DATE '2020-01-01', 3,"
                 " 'old', 'SHH_adverse_events_20200101.csv', 2)", [file_path("SHH", "adverse_events", EXPORT)])


def test_alert_names_sites_checks_files_signals_and_docs(conn, tmp_path):
    troubled_load(conn)
    docs = tmp_path / "data_docs" / "L1" / "index.html"
    alert = build_load_alert(conn, "L1", data_docs=docs, published=False)
    assert alert.title == ("itp-warehouse load L1: NOT published; 1 file(s) refused; rows quarantined at BJH; "
                           "1 check(s) failed; 1 safety signal(s)")
    body = alert.body
    assert "The load was NOT published: the previous warehouse stays in place." in body
    assert "- BJH_labs_2021.csv: the file name has no valid export date" in body
    assert f"- site BJH: pandera.controlled_term: 2 rows (files: {file_path('BJH', 'bleeding', EXPORT)})" in body
    assert "- [warn] great_expectations gx.site_distribution on raw.labs (PLT), 1 failing: site DDD" in body
    assert "- site SHH, subject SHH-004: ae_grade3plus on 2021-05-02 value 3.0 (neutropenia grade 3)" in body
    assert "SHH-001" not in body  # a signal of an older file was reported by its own load
    assert f"Great Expectations Data Docs: {docs}" in body


def test_publication_status_comes_from_the_load_log(conn):
    troubled_load(conn)
    conn.execute("CREATE TABLE quality.load_log (load_id VARCHAR, status VARCHAR)")
    conn.execute("INSERT INTO quality.load_log VALUES ('L1', 'published')")
    alert = build_load_alert(conn, "L1", data_docs=None)
    assert "The load was PUBLISHED" in alert.body and "NOT published" not in alert.title
    assert "No Data Docs were written for this load." in alert.body


def test_quiet_load_sends_nothing(conn):
    load_file(conn, "bleeding", "BJH", EXPORT,
              [{"subject_id": "BJH-001", "assessment_date": date(2021, 5, 1), "who_grade": 1}], load_id="L1")
    assert build_load_alert(conn, "L1", data_docs=None, published=True) is None
    assert build_load_alert(conn, "L1", data_docs=None, published=False) is not None


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox, port = _Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def webhook():
    with json_webhook() as (received, port):
        yield received, port


def test_alert_reaches_a_real_smtp_server_and_a_json_webhook(conn, smtp_server, webhook):
    troubled_load(conn)
    alert = build_load_alert(conn, "L1", data_docs=Path("/home/itp/data_docs/L1/index.html"), published=False)
    inbox, smtp_port = smtp_server
    received, http_port = webhook
    urls = [f"mailto://127.0.0.1:{smtp_port}?from=itp@example.org&to=monitor@example.org&mode=insecure",
            f"json://127.0.0.1:{http_port}/hooks/itp"]
    assert send_alert(alert, urls) is True

    [envelope] = inbox.messages
    assert envelope.rcpt_tos == ["monitor@example.org"]
    message = email.message_from_bytes(envelope.content)
    assert message["Subject"] == alert.title
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "site BJH: pandera.controlled_term: 2 rows" in text

    [(path, payload)] = received
    assert path == "/hooks/itp"
    assert payload["title"] == alert.title
    assert "site BJH: pandera.controlled_term" in payload["message"]
    assert "gx.site_distribution" in payload["message"]


def test_failures_never_log_the_url(caplog):
    caplog.set_level(logging.DEBUG)
    secret = "s3cretT0ken"
    alert = Alert(title="t", body="b")
    assert send_alert(alert, [f"json://user:{secret}@127.0.0.1:{free_port()}/hook"]) is False
    assert send_alert(alert, [f"nosuchscheme://{secret}@example.org"]) is False
    assert send_alert(alert, []) is False
    assert secret not in caplog.text
    assert "destination #1" in caplog.text


def test_a_held_file_is_named_in_the_alert_of_a_published_load(conn):
    from ingest import holds

    entry = load_file(conn, "bleeding", "BJH", EXPORT,
                      [{"subject_id": f"BJH-00{i}", "assessment_date": date(2021, 5, 1), "who_grade": 9 if i < 3 else 1}
                       for i in range(7)], load_id="L1")
    assert holds.hold_failing_files(conn, "L1", 0.2) == [entry.file_path]
    alert = build_load_alert(conn, "L1", data_docs=None, published=True)
    assert alert is not None and "1 file(s) held" in alert.title
    assert (f"Files held, not made current (1; the site's previous snapshot stays current):\n- {entry.file_path}: "
            "held: 3 of 7 rows (42.9%) were quarantined") in alert.body
