"""Direct identifiers that sites add to their exports never reach the warehouse, its files, its
logs or the command line; the alert URL's credentials never reach them either; the published
warehouse cannot be written. Loads run through the installed CLI into one shared HOME: one that
succeeds with quarantined rows, then one that fails (an invalid site registry), both with an
alert destination whose URL carries a secret."""
from __future__ import annotations

import json
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from sources.domains import DOMAINS
from tests.conftest import cli
from tests.privacy import cohort
from tests.privacy.leaks import (database_pattern_hits, database_values_containing, file_pattern_hits,
                                 files_containing, identifiers_in)

SECRET = "SECRETTOKEN123"
# A closed local port (discard): the alert is attempted and fails at once.
ALERT_URL = f"json://user:{SECRET}@127.0.0.1:9/x"


@dataclass
class Loads:
    home: Path
    succeeded: subprocess.CompletedProcess
    failed: subprocess.CompletedProcess

    @property
    def outputs(self) -> dict[str, str]:
        return {"success stdout": self.succeeded.stdout, "success stderr": self.succeeded.stderr,
                "failure stdout": self.failed.stdout, "failure stderr": self.failed.stderr}


@pytest.fixture(scope="module")
def loads(tmp_path_factory) -> Loads:
    root = tmp_path_factory.mktemp("privacy")
    inbox, sites, invalid_sites = cohort.build(root)
    home = root / "home"
    env = {"ITP_ALERT_URLS": ALERT_URL}
    succeeded = cli("load", "--inbox", str(inbox), "--sites", str(sites), "--home", str(home), env=env)
    failed = cli("load", "--inbox", str(inbox), "--sites", str(invalid_sites), "--home", str(home), env=env)
    return Loads(home, succeeded, failed)


def test_one_load_published_and_the_other_failed(loads):
    assert loads.succeeded.returncode == 0, loads.succeeded.stdout[-3000:] + loads.succeeded.stderr[-3000:]
    assert loads.failed.returncode != 0
    assert "site registry" in loads.failed.stderr


def test_the_identifiers_were_in_files_that_loaded(loads):
    """The positive side: the identifier columns were there and were dropped by name, and the
    rows carrying them were loaded or quarantined, so the absence tests below mean something."""
    with duckdb.connect(str(loads.home / "warehouse.duckdb"), read_only=True) as conn:
        dropped = dict(conn.execute(
            "SELECT file_name, dropped_columns FROM quality.file_manifest WHERE status = 'loaded'").fetchall())
        held = conn.execute("SELECT site_id, subject_id FROM quality.quarantine ORDER BY site_id, subject_id").fetchall()
        accepted = conn.execute("SELECT count(*) FROM raw.subjects").fetchone()[0]
    assert dropped["BJH_subjects_20210401.csv"] == "patient_name, date_of_birth, phone, national_id, hospital_record_number"
    assert dropped["SHX_subjects_20210401.csv"] == "姓名, 出生日期, 电话, 身份证号, 住院号"
    assert dropped["SHX_adverse_events_20210401.xlsx"] == "姓名, 身份证号"
    assert held == cohort.QUARANTINED
    assert accepted == len(cohort.BJH) + len(cohort.SHX)


def test_no_identifier_in_any_table_of_any_warehouse_file_under_home(loads):
    databases = sorted(loads.home.rglob("*.duckdb"))
    assert loads.home / "warehouse.duckdb" in databases
    for database in databases:
        hits = database_values_containing(database, cohort.identifiers() + ["BJH-001", "SHX-001"])
        # positive control: the same scan finds the study's coded ids
        assert ("raw.subjects.subject_id", "SHX-001") in hits, database
        assert [h for h in hits if h[1] not in ("BJH-001", "SHX-001")] == [], database


def test_quarantined_rows_keep_specification_cells_only(loads):
    with duckdb.connect(str(loads.home / "warehouse.duckdb"), read_only=True) as conn:
        records = conn.execute("SELECT domain, raw_record FROM quality.quarantine").fetchall()
    assert len(records) == len(cohort.QUARANTINED)
    for domain, raw_record in records:
        assert list(json.loads(raw_record)) == DOMAINS[domain].spec_columns
        assert not [i for i in cohort.identifiers() if i in raw_record]


def test_the_byte_search_finds_every_identifier_in_the_exports_as_sent(tmp_path):
    """The needles are right: each identifier is found, in the encoding its site sent it in."""
    inbox, _, _ = cohort.build(tmp_path)
    found = {needle.split(" (")[0] for _, needle in files_containing(inbox, cohort.identifier_bytes())}
    assert found == set(cohort.identifiers())


def test_no_identifier_in_the_bytes_of_any_file_under_home(loads):
    # positive control: the search reads the Dagster run storage
    assert files_containing(loads.home, {"job name": b"nightly_load"})
    assert files_containing(loads.home, cohort.identifier_bytes()) == []


def test_the_pattern_search_finds_identifiers_where_they_are(loads):
    """Positive controls of the searches below: the exports as sent hold every pattern."""
    found = {what.split(":")[0] for _, what in file_pattern_hits(loads.home.parent / "inbox")}
    assert found == {"resident ID number", "mobile phone number"}
    assert identifiers_in("mail li@hospital.cn or 13912345678") == ["e-mail address: li@hospital.cn",
                                                                    "mobile phone number: 13912345678"]
    # an image's base64 payload is not text; the same number beside it still is
    assert identifiers_in('<img src="data:image/png;base64,iVBORw0KGgox17985222232q+/A==" alt="13912345678">') == [
        "mobile phone number: 13912345678"]


def test_no_identifier_pattern_in_any_stored_text_under_home(loads):
    """Not only the cohort's known values: nothing of the form of a resident ID, a mobile number
    or an e-mail in any table of any warehouse file under HOME (published, kept versions,
    rejected candidates), in Dagster's run storage, nor in any other file (logs, Data Docs)."""
    databases = sorted(loads.home.rglob("*.duckdb"))
    assert any(p.parent.name == "versions" for p in databases)
    for database in databases:
        assert database_pattern_hits(database) == [], database
    with duckdb.connect(str(loads.home / "warehouse.duckdb"), read_only=True) as conn:
        masked = conn.execute("SELECT count(*) FROM quality.quarantine WHERE raw_record LIKE '%[masked resident ID "
                              "number]%' AND raw_record LIKE '%[masked mobile phone number]%'").fetchone()[0]
    assert masked == 1   # the shifted row is there, masked
    import great_expectations

    assets = Path(great_expectations.__file__).parent / "render" / "view" / "static"
    assert file_pattern_hits(loads.home, copied_from=[assets]) == []


def test_no_identifier_on_the_command_line(loads):
    for where, text in loads.outputs.items():
        assert [i for i in cohort.identifiers() if i in text] == [], where


def test_the_alert_url_secret_is_never_printed_or_written(loads):
    # positive control: both loads did try the destination (and reported it by position)
    assert "destination #1" in loads.succeeded.stderr
    assert "destination #1" in loads.failed.stderr
    for where, text in loads.outputs.items():
        assert SECRET not in text, where
    assert files_containing(loads.home, {"alert secret": SECRET.encode()}) == []


def test_the_published_warehouse_is_not_writable(loads):
    mode = stat.S_IMODE((loads.home / "warehouse.duckdb").stat().st_mode)
    assert mode & 0o222 == 0, oct(mode)
