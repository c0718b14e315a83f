from __future__ import annotations

from datetime import date

import pytest

from sources.model import ExportName, FileRefused
from sources.naming import parse_file_name, snapshot_of
from sources.registry import SiteConfig, SiteRegistry

REGISTRY = SiteRegistry({"BJH": SiteConfig("BJH", "Beijing"), "SH01": SiteConfig("SH01", "Shanghai")})


@pytest.mark.parametrize("name, expected", [
    ("BJH_labs_20210401.csv", ExportName("BJH", "labs", date(2021, 4, 1), "csv")),
    ("bjh_LABS_20210401.CSV", ExportName("BJH", "labs", date(2021, 4, 1), "csv")),
    ("SH01_adverse_events_20211231.xlsx", ExportName("SH01", "adverse_events", date(2021, 12, 31), "xlsx")),
    ("sh01_Adverse_Events_20200229.XLSX", ExportName("SH01", "adverse_events", date(2020, 2, 29), "xlsx")),
    ("BJH_disposition_20210401.csv", ExportName("BJH", "disposition", date(2021, 4, 1), "csv")),
])
def test_names_are_parsed_case_insensitively(name, expected):
    assert parse_file_name(name, REGISTRY) == expected


@pytest.mark.parametrize("name, expected", [
    ("XYZ_labs_20210401.csv", "site XYZ is not in the site registry (registered: BJH, SH01)"),
    ("BJH_lab_20210401.csv", "'lab' is not a domain"),
    ("BJH_adverse_event_20210401.csv", "'adverse_event' is not a domain"),
    ("BJH_labs_20210231.csv", "the export date 20210231 (YYYYMMDD) is not a calendar date"),
    ("BJH_labs_2021041.csv", "'2021041' is not 8 digits YYYYMMDD"),
    ("BJH_labs_2021-04-01.csv", "'2021-04-01' is not 8 digits YYYYMMDD"),
    ("BJH_labs_20210401.txt", "the extension .txt is not accepted"),
    ("BJH_labs_20210401.xls", "the extension .xls is not accepted"),
    ("BJH_labs_20210401", "has no extension"),
    (".csv", "has no extension"),
    ("labs.csv", "does not follow <SITE>_<DOMAIN>_<YYYYMMDD>"),
    ("BJH_labs.csv", "does not follow <SITE>_<DOMAIN>_<YYYYMMDD>"),
    ("BJH__20210401.csv", "does not follow <SITE>_<DOMAIN>_<YYYYMMDD>"),
    ("BJH-labs-20210401.csv", "does not follow <SITE>_<DOMAIN>_<YYYYMMDD>"),
    ("B_labs_20210401.csv", "the site code 'B' is not 2 to 8 letters or digits"),
    ("B.J_labs_20210401.csv", "the site code 'B.J' is not 2 to 8 letters or digits"),
])
def test_bad_names_are_refused_with_the_part_that_is_wrong(name, expected):
    with pytest.raises(FileRefused) as refused:
        parse_file_name(name, REGISTRY)
    assert expected in refused.value.reason
    assert name in refused.value.reason


@pytest.mark.parametrize("name, expected", [
    ("BJH_adverse_events_20210501.csv", ("BJH", "adverse_events")),
    ("bjh_LABS_20210501.XLSX", ("BJH", "labs")),
    ("ZZZ_labs_20210501.csv", ("ZZZ", "labs")),          # unregistered: the load refuses it
    ("BJH_labs_20210501_again.csv", None),
    ("BJH_labs_2021-05-01.csv", None),
    ("BJH_lab_20210501.csv", None),
    ("BJH_labs_20210501.txt", None),
    ("notes.csv", None),
])
def test_the_snapshot_a_name_stands_for_without_the_registry(name, expected):
    """What the inbox sensor compares besides the content (site-exports.md §1 identity)."""
    assert snapshot_of(name) == expected
