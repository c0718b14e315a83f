"""The monitors' day on the demo cohort (issue #18): a copy of the session's demo warehouse
(`itp-warehouse demo`: the generated calibrated cohort), the site answers to its four queries,
and the next delivery: newer snapshots of PKUPH and RJH labs and a planted bad site.

The demo's queries (all in the current labs snapshots):
- PKUPH parse.date: sample_date "31.02.2021" -> the site answers "Corrected in the next export";
  the newer snapshot writes 28.02.2021: resolved;
- PKUPH unit.unknown: TBIL in "mg/L" -> "Value confirmed correct"; the newer snapshot keeps the
  row as it was: stays closed;
- RJH gx.plausibility: HGB 900 g/L -> "Value confirmed correct"; the newer snapshot has 950:
  a new query;
- WCH parse.number: value "hemolysed" -> "Cannot be obtained"; no newer WCH snapshot: stays
  closed.

The planted site ZZH sends three domains only, last on 2022-03-31 (three months behind the
others), with a lab unit no one accepts in one row of nine (quarantined, one query per row),
platelet counts only in the first two treatment months while ALT continues monthly, and ALT of
150 U/L for two subjects (transaminase signals): it crosses every threshold but the age of its
queries."""
from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import yaml
from openpyxl import load_workbook

from tests.conftest import write_csv
from tests.orchestration.homes import LoadedHome

BAD_SITE = "ZZH"
BAD_EXPORT = date(2022, 3, 31)
NEXT_EXPORT = "20220701"
BAD_SUBJECTS = [f"ZZH-{i:03d}" for i in range(1, 7)]
DAY1 = date(2021, 11, 1)

# query key -> (site, check_name): the demo's four queries
PKUPH_DATE = ("PKUPH", "parse.date")
PKUPH_UNIT = ("PKUPH", "unit.unknown")
RJH_HGB = ("RJH", "gx.plausibility")
WCH_TEXT = ("WCH", "parse.number")

ANSWERS = {
    PKUPH_DATE: ("Corrected in the next export", "the date is 28.02.2021 in the source record"),
    PKUPH_UNIT: ("Value confirmed correct", "the analyser reports TBIL in mg/L"),
    RJH_HGB: ("Value confirmed correct", "checked against the lab report"),
    WCH_TEXT: ("Cannot be obtained", "sample haemolysed, not repeated"),
}
ANSWERED_BY = "Dr. Chen (site coordinator)"
ANSWERED_AT = "2022-07-01 09:30"


def copy_demo(demo_home: Path, root: Path) -> LoadedHome:
    """The demo's inbox, registry and published warehouse (not its versions, reports, runs),
    laid out as the operations tests' homes."""
    copy = LoadedHome(root)
    copy.home.mkdir(parents=True)
    shutil.copytree(demo_home / "inbox", copy.inbox)
    shutil.copy2(demo_home / "sites.yaml", copy.sites)
    shutil.copy2(demo_home / "warehouse.duckdb", copy.published)
    return copy


def fill_answers(workbook: Path, filled: Path, answers: dict[tuple[str, str], tuple[str, str]]) -> None:
    """What the site does in its spreadsheet: an answer, a comment, who and when, per query."""
    book = load_workbook(workbook)
    sheet = book["site queries"]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        cells = dict(zip(header, row))
        key = (cells["site_id"].value, cells["check_name"].value)
        if key in answers:
            cells["answer"].value, cells["answer_comment"].value = answers[key]
            cells["answered_by"].value = ANSWERED_BY
            cells["answered_at"].value = ANSWERED_AT
    book.save(filled)


def next_delivery(m: LoadedHome) -> None:
    """Newer PKUPH and RJH labs snapshots, and the planted bad site with its registry entry."""
    pkuph = m.inbox / "PKUPH"
    text = (pkuph / "PKUPH_labs_20220630.csv").read_bytes().decode("gb18030")
    assert text.count("31.02.2021") == 1, "the demo cohort changed: update tests/monitors/planted.py"
    (pkuph / f"PKUPH_labs_{NEXT_EXPORT}.csv").write_bytes(text.replace("31.02.2021", "28.02.2021").encode("gb18030"))

    book = load_workbook(m.inbox / "RJH" / "RJH_labs_20220630.xlsx")
    sheet = book.worksheets[0]
    hgb = [row for row in sheet.iter_rows(min_row=2) if row[3].value == "HGB" and row[4].value == 900]
    assert len(hgb) == 1, "the demo cohort changed: update tests/monitors/planted.py"
    hgb[0][4].value = 950
    book.save(m.inbox / "RJH" / f"RJH_labs_{NEXT_EXPORT}.xlsx")

    registry = yaml.safe_load(m.sites.read_text(encoding="utf-8"))
    registry["sites"][BAD_SITE] = {"name": "Planted hospital", "encoding": "utf-8", "delimiter": ",",
                                   "decimal": ".", "date_format": "%Y-%m-%d"}
    m.sites.write_text(yaml.safe_dump(registry, allow_unicode=True, sort_keys=False), encoding="utf-8")
    write_bad_site(m.inbox / BAD_SITE)


def write_bad_site(folder: Path) -> None:
    stamp = f"{BAD_EXPORT:%Y%m%d}"
    write_csv(folder / f"{BAD_SITE}_subjects_{stamp}.csv",
              ["site_id", "subject_id", "sex", "birth_year", "diagnosis_date", "enrollment_date"],
              [[BAD_SITE, s, "F", 1975, "2020-06-01", "2021-10-01"] for s in BAD_SUBJECTS])
    write_csv(folder / f"{BAD_SITE}_dosing_{stamp}.csv",
              ["site_id", "subject_id", "start_date", "end_date", "dose_mg", "doses_per_day"],
              [[BAD_SITE, s, DAY1, "", 25, 2] for s in BAD_SUBJECTS])
    labs = []
    for n, s in enumerate(BAD_SUBJECTS):
        labs.append([BAD_SITE, s, DAY1 - timedelta(days=3), "PLT", 25, "10^9/L"])          # baseline
        labs.append([BAD_SITE, s, DAY1 + timedelta(days=9), "PLT", 60, "10^9/L"])          # month 1
        labs.append([BAD_SITE, s, DAY1 + timedelta(days=39), "PLT", 80, "10^9/L"])         # month 2
        for month in range(1, 6):                                                           # ALT, months 1-5
            alt = 150 if n < 2 and month >= 4 else 30
            labs.append([BAD_SITE, s, DAY1 + timedelta(days=30 * (month - 1) + 14), "ALT", alt, "U/L"])
        labs.append([BAD_SITE, s, DAY1 + timedelta(days=20), "ALT", 31, "furlongs/L"])     # quarantined
    write_csv(folder / f"{BAD_SITE}_labs_{stamp}.csv",
              ["site_id", "subject_id", "sample_date", "test_code", "value", "unit"], labs)
