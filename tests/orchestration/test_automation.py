"""The schedule, the inbox sensor and the failure sensor, evaluated with Dagster's test contexts
on real inbox files, a real failed run of the real job, and a real HTTP server for alerts."""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest

from orchestration.alerting import CLI_ALERTS_TAG
from orchestration.automation import evaluate_inbox, failure_sensor, inbox_sensor, nightly_schedule, scan_inbox
from orchestration.definitions import NIGHTLY_JOB, build_definitions
from orchestration.resources import WarehouseSettings
from tests.e2e.test_cli_load import make_inbox
from tests.quality.test_alerts import webhook  # noqa: F401 - the real local JSON webhook fixture

LABS = "TST_labs_20210401.csv"
AN_HOUR_AGO = time.time() - 3600


def job() -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(NIGHTLY_JOB, selection=dg.AssetSelection.all())


def settings(root: Path, sites: Path | None = None) -> WarehouseSettings:
    return WarehouseSettings(home=str(root / "home"), inbox=str(root / "inbox"),
                             sites_file=str(sites or root / "sites.yaml"))


def age(*paths: Path, seconds_ago: float = 3600) -> None:
    """Files finished uploading long ago (the settle delay is about mtime)."""
    for path in paths:
        when = time.time() - seconds_ago
        os.utime(path, (when, when))


def tick(root: Path, cursor: str | None) -> tuple[list[dg.RunRequest], str | None, str | None]:
    """One evaluation of the real sensor definition: (run requests, skip message, new cursor)."""
    sensor = inbox_sensor(job())
    result = sensor(dg.build_sensor_context(cursor=cursor, resources={"warehouse": settings(root)}))
    if isinstance(result, dg.SkipReason):
        return [], result.skip_message, cursor
    skip = result.skip_reason.skip_message if result.skip_reason else None
    return list(result.run_requests or []), skip, result.cursor if result.cursor is not None else cursor


@pytest.fixture
def inbox_root(tmp_path, monkeypatch):
    monkeypatch.delenv("ITP_SENSOR_SETTLE_SECONDS", raising=False)
    inbox, _ = make_inbox(tmp_path)
    age(*inbox.iterdir())
    return tmp_path


# --- schedule -------------------------------------------------------------------------------

def test_schedule_defaults_to_02_00_shanghai_and_running(monkeypatch):
    monkeypatch.delenv("ITP_SCHEDULE_CRON", raising=False)
    monkeypatch.delenv("ITP_SCHEDULE_TIMEZONE", raising=False)
    schedule = nightly_schedule(job())
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "Asia/Shanghai")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == NIGHTLY_JOB


def test_schedule_follows_the_environment(monkeypatch):
    monkeypatch.setenv("ITP_SCHEDULE_CRON", "30 3 * * 1-5")
    monkeypatch.setenv("ITP_SCHEDULE_TIMEZONE", "Europe/Paris")
    schedule = nightly_schedule(job())
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 3 * * 1-5", "Europe/Paris")
    request = schedule.evaluate_tick(dg.build_schedule_context()).run_requests
    assert len(request) == 1


@pytest.mark.parametrize("variable, value", [("ITP_SCHEDULE_CRON", "0 2 * *"),
                                             ("ITP_SCHEDULE_TIMEZONE", "Mars/Olympus_Mons")])
def test_a_bad_schedule_setting_names_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(dg.DagsterInvalidDefinitionError, match=f"Check ITP_SCHEDULE_CRON.*{value}"):
        nightly_schedule(job())


# --- inbox sensor ---------------------------------------------------------------------------

def test_new_files_request_a_run_and_the_same_cursor_skips(inbox_root):
    runs, _, cursor = tick(inbox_root, None)
    assert len(runs) == 1 and runs[0].tags["itp/new_files"] == "3"
    assert runs[0].run_key.startswith("inbox-")
    runs, skip, again = tick(inbox_root, cursor)
    assert runs == [] and skip == "no new content in the inbox"
    assert again == cursor


def test_a_resend_under_another_name_is_not_new(inbox_root):
    _, _, cursor = tick(inbox_root, None)
    resent = inbox_root / "inbox" / "resent" / "TST_labs_20210401_again.csv"
    resent.parent.mkdir()
    shutil.copy2(inbox_root / "inbox" / LABS, resent)
    age(resent)
    runs, skip, cursor = tick(inbox_root, cursor)
    assert runs == [] and skip == "no new content in the inbox"
    assert "resent/TST_labs_20210401_again.csv" in json.loads(cursor)["files"]  # cached from now on


def test_the_same_bytes_from_another_site_are_a_new_snapshot(inbox_root):
    """Identity is (site, domain, content) (site-exports.md §1): an empty snapshot is the same
    bytes at every site, and each site that sends one deletes its rows of that domain."""
    inbox = inbox_root / "inbox"
    header = b"site_id,subject_id,ae_term,onset_date,resolution_date,ctcae_grade,serious,related\n"
    (inbox / "TST_adverse_events_20210401.csv").write_bytes(header)
    age(inbox / "TST_adverse_events_20210401.csv")
    _, _, cursor = tick(inbox_root, None)
    (inbox / "OTH_adverse_events_20210401.csv").write_bytes(header)
    age(inbox / "OTH_adverse_events_20210401.csv")
    runs, skip, cursor = tick(inbox_root, cursor)
    assert skip is None and len(runs) == 1 and runs[0].tags["itp/new_files"] == "1"
    (inbox / "again").mkdir()
    (inbox / "again" / "OTH_adverse_events_20210401.csv").write_bytes(header)  # same site: a resend
    age(inbox / "again" / "OTH_adverse_events_20210401.csv")
    runs, skip, _ = tick(inbox_root, cursor)
    assert runs == [] and skip == "no new content in the inbox"


def test_a_changed_file_requests_a_new_run(inbox_root):
    first, _, cursor = tick(inbox_root, None)
    labs = inbox_root / "inbox" / LABS
    labs.write_text(labs.read_text() + "TST,TST-001,2021-03-20,PLT,140,10^9/L,125,350\n")
    age(labs, seconds_ago=1800)
    runs, skip, _ = tick(inbox_root, cursor)
    assert skip is None
    assert len(runs) == 1 and runs[0].tags["itp/new_files"] == "1"
    assert runs[0].run_key != first[0].run_key


def test_unchanged_files_are_not_read_again(inbox_root):
    inbox = inbox_root / "inbox"
    first = scan_inbox(inbox, {}, now=time.time(), settle=60)
    assert sorted(first.hashed) == sorted(p.name for p in inbox.iterdir())
    second = scan_inbox(inbox, first.entries, now=time.time(), settle=60)
    assert second.hashed == [] and second.entries == first.entries
    # Proof that the cache, not the content, answered: same size and mtime, other bytes.
    labs = inbox / LABS
    info = labs.stat()
    labs.write_bytes(labs.read_bytes().replace(b"39.9", b"49.9"))
    os.utime(labs, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert scan_inbox(inbox, first.entries, now=time.time(), settle=60).hashed == []
    os.utime(labs, ns=(info.st_atime_ns, info.st_mtime_ns + 1))
    assert scan_inbox(inbox, first.entries, now=time.time(), settle=60).hashed == [LABS]


def test_a_file_still_being_written_delays_the_load(inbox_root):
    _, _, cursor = tick(inbox_root, None)
    uploading = inbox_root / "inbox" / "TST_labs_20210501.csv"
    uploading.write_text("site_id,subject_id,sample_date,test_code,value,unit,ref_low,ref_high\n")
    runs, skip, after = tick(inbox_root, cursor)  # default settle: 60 s
    assert runs == []
    assert skip.startswith("waiting for 1 file(s) modified less than 60 s ago") and "TST_labs_20210501.csv" in skip
    assert after == cursor
    age(uploading, seconds_ago=61)
    runs, _, _ = tick(inbox_root, cursor)
    assert len(runs) == 1


def test_the_settle_delay_comes_from_the_environment(inbox_root, monkeypatch):
    _, _, cursor = tick(inbox_root, None)
    (inbox_root / "inbox" / "TST_labs_20210501.csv").write_text("just arrived\n")
    monkeypatch.setenv("ITP_SENSOR_SETTLE_SECONDS", "0")
    runs, _, _ = tick(inbox_root, cursor)
    assert len(runs) == 1
    monkeypatch.setenv("ITP_SENSOR_SETTLE_SECONDS", "a minute")
    with pytest.raises(ValueError, match="ITP_SENSOR_SETTLE_SECONDS='a minute'"):
        tick(inbox_root, cursor)


def test_removed_files_leave_the_cursor_and_a_missing_inbox_is_explained(inbox_root):
    _, _, cursor = tick(inbox_root, None)
    (inbox_root / "inbox" / LABS).unlink()
    _, _, cursor = tick(inbox_root, cursor)
    assert LABS not in json.loads(cursor)["files"]
    result = evaluate_inbox(inbox_root / "nowhere", cursor, now=time.time(), settle=60)
    assert isinstance(result, dg.SkipReason) and "check ITP_INBOX" in result.skip_message


def test_an_unreadable_or_old_cursor_starts_afresh(inbox_root):
    for old in ("not json", json.dumps(["a" * 64]), json.dumps({"v": 0})):
        runs, _, _ = tick(inbox_root, old)
        assert len(runs) == 1


# --- failure sensor -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def failed_runs(tmp_path_factory):
    """Two real failed runs of the real nightly_load job (invalid site registry): one started
    by the schedule or sensor (untagged), one by the CLI (tagged)."""
    root = tmp_path_factory.mktemp("failing")
    make_inbox(root)
    bad_registry = root / "bad_sites.yaml"
    bad_registry.write_text("sites:\n  tst lower:\n    encoding: latin-9\n")
    nightly = build_definitions(settings(root, bad_registry)).resolve_job_def(NIGHTLY_JOB)
    with dg.instance_for_test() as instance:
        runs = {}
        for name, tags in (("daemon", {}), ("cli", {CLI_ALERTS_TAG: "true"})):
            result = nightly.execute_in_process(instance=instance, raise_on_error=False, tags=tags)
            assert not result.success
            failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
            runs[name] = (instance.get_run_by_id(result.run_id), failure)
        yield instance, runs


def run_failure_sensor_on(instance, run, event) -> None:
    context = dg.build_run_status_sensor_context(
        sensor_name="load_failure_alert", dagster_instance=instance, dagster_run=run, dagster_event=event,
    ).for_run_failure()
    failure_sensor(job())(context)


def test_a_failed_run_alerts_the_monitors_with_its_reason(failed_runs, webhook, monkeypatch):  # noqa: F811
    received, port = webhook
    monkeypatch.setenv("ITP_ALERT_URLS", f"json://127.0.0.1:{port}/hooks/itp")
    instance, runs = failed_runs
    run, event = runs["daemon"]
    run_failure_sensor_on(instance, run, event)
    [(path, payload)] = received
    assert path == "/hooks/itp"
    assert payload["title"] == f"itp-warehouse: load {run.run_id} FAILED, nothing published"
    assert "- site_exports: site registry " in payload["message"]
    assert "is invalid" in payload["message"]
    assert "dagster._core" not in payload["message"]


def test_runs_of_the_cli_are_left_to_the_cli(failed_runs, webhook, monkeypatch):  # noqa: F811
    received, port = webhook
    monkeypatch.setenv("ITP_ALERT_URLS", f"json://127.0.0.1:{port}/hooks/itp")
    instance, runs = failed_runs
    run_failure_sensor_on(instance, *runs["cli"])
    assert received == []
    run_failure_sensor_on(instance, *runs["daemon"])  # the same server does hear untagged runs
    assert len(received) == 1
