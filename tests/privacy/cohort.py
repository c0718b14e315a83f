"""A small two-site inbox whose exports carry direct identifiers in columns the specification
does not have (site-exports.md §2: they are dropped at ingestion and never stored).

BJH writes UTF-8 CSV with English identifier headers; SHX writes GB18030 CSV (";" delimiter,
decimal comma, dd.mm.yyyy) with Chinese headers, and one xlsx. Every subject has its own name,
phone, national ID number, hospital record number and full birth date, so a leak of any one of
them is caught. Two rows are quarantined (a bad date, a bad value) while carrying identifiers.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import openpyxl

from tests.hostile.corpus import quoted_csv

REGISTRY_YAML = """\
sites:
  BJH:
    name: Beijing test hospital
    encoding: utf-8
  SHX:
    name: Shanghai test hospital
    encoding: gb18030
    delimiter: ";"
    decimal: ","
    date_format: "%d.%m.%Y"
    aliases:
      subjects:
        subject_id: 受试者编号
"""

INVALID_REGISTRY_YAML = "sites:\n  bad code:\n    encoding: latin-9\n"


@dataclass(frozen=True)
class Person:
    subject_id: str
    name: str
    phone: str
    national_id: str
    record_number: str     # hospital record number
    birth_date: date

    def identifiers(self, date_format: str) -> list[str]:
        return [self.name, self.phone, self.national_id, self.record_number, self.birth_date.strftime(date_format)]


BJH = [
    Person("BJH-001", "Liang Qiaoxin", "+86 139 0111 2345", "110105195107230021", "MRN-77120345", date(1951, 7, 23)),
    Person("BJH-002", "Hou Zhenbang", "+86 138 2222 9081", "110108196303150417", "MRN-77120346", date(1963, 3, 15)),
    Person("BJH-003", "Fang Yurong", "+86 137 5550 6623", "11010219790911002X", "MRN-77120347", date(1979, 9, 11)),
]
SHX = [
    Person("SHX-001", "梁巧欣", "021-6888-0173", "31010419520414002X", "ZY-2020-004471", date(1952, 4, 14)),
    Person("SHX-002", "欧阳振邦", "021-6888-0174", "310104196808080035", "ZY-2020-004472", date(1968, 8, 8)),
    Person("SHX-003", "司马玉蓉", "021-6888-0175", "310104198512120048", "ZY-2020-004473", date(1985, 12, 12)),
]
BJH_DATES = "%Y-%m-%d"
SHX_DATES = "%d.%m.%Y"

# (site, subject) of the rows that are quarantined while carrying identifiers; the last BJH lab
# row lost its subject_id cell, so the patient's resident ID landed in subject_id: masked.
QUARANTINED = [("BJH", "BJH-002"), ("BJH", "[masked resident ID number]"), ("SHX", "SHX-003")]


def identifiers() -> list[str]:
    return [i for p in BJH for i in p.identifiers(BJH_DATES)] + [i for p in SHX for i in p.identifiers(SHX_DATES)]


def identifier_bytes() -> dict[str, bytes]:
    """Every identifier as the bytes it could be written as: UTF-8, GB18030 (what SHX sent) and
    JSON's ASCII escapes (what log and event stores write for non-ASCII text)."""
    out: dict[str, bytes] = {}
    for value in identifiers():
        out[value] = value.encode("utf-8")
        if not value.isascii():
            out[f"{value} (gb18030)"] = value.encode("gb18030")
            out[f"{value} (json)"] = json.dumps(value).strip('"').encode("ascii")
            out[f"{value} (json, upper-case hex)"] = json.dumps(value).strip('"').upper().replace("\\U", "\\u").encode()
    return out


def _bjh(inbox: Path) -> None:
    subjects = [[p.subject_id, "BJH", p.name, "F", str(p.birth_date.year), p.birth_date.isoformat(), p.phone,
                 p.national_id, p.record_number, "2019-05-01", "2021-02-01"] for p in BJH]
    (inbox / "BJH_subjects_20210401.csv").write_bytes(quoted_csv(
        ["subject_id", "site_id", "patient_name", "sex", "birth_year", "date_of_birth", "phone", "national_id",
         "hospital_record_number", "diagnosis_date", "enrollment_date"], subjects))
    (inbox / "BJH_dosing_20210401.csv").write_bytes(quoted_csv(
        ["site_id", "subject_id", "start_date", "end_date", "dose_mg", "doses_per_day", "Patient Name"],
        [["BJH", p.subject_id, "2021-03-01", "", "25", "2", p.name] for p in BJH]))
    labs = [["BJH", p.subject_id, p.name, when, "PLT", str(value), "10^9/L", "125", "350", p.record_number]
            for p in BJH for when, value in (("2021-02-28", 20), ("2021-03-08", 60), ("2021-03-15", 120))]
    bad = BJH[1]
    labs.append(["BJH", bad.subject_id, bad.name, "2021-02-30", "PLT", "45", "10^9/L", "125", "350", bad.record_number])
    shifted = BJH[0]
    labs.append(["BJH", shifted.national_id, "2021-03-20", "PLT", "45", "10^9/L", "125", shifted.phone])
    (inbox / "labs" / "BJH_labs_20210401.csv").write_bytes(quoted_csv(
        ["site_id", "subject_id", "patient_name", "sample_date", "test_code", "value", "unit", "ref_low", "ref_high",
         "住院号"], labs))


def _semicolons(header: list[str], rows: list[list[str]]) -> bytes:
    return ("\r\n".join(";".join(r) for r in [header] + rows) + "\r\n").encode("gb18030")


def _shx(inbox: Path) -> None:
    d = SHX_DATES
    (inbox / "SHX_subjects_20210401.csv").write_bytes(_semicolons(
        ["site_id", "受试者编号", "姓名", "sex", "birth_year", "出生日期", "电话", "身份证号", "住院号",
         "diagnosis_date", "enrollment_date"],
        [["SHX", p.subject_id, p.name, "M", str(p.birth_date.year), p.birth_date.strftime(d), p.phone, p.national_id,
          p.record_number, "01.05.2019", "01.02.2021"] for p in SHX]))
    (inbox / "SHX_dosing_20210401.csv").write_bytes(_semicolons(
        ["site_id", "subject_id", "start_date", "end_date", "dose_mg", "doses_per_day", "姓名"],
        [["SHX", p.subject_id, "01.03.2021", "", "25", "2", p.name] for p in SHX]))
    labs = [["SHX", p.subject_id, p.name, when, "PLT", value, "10^9/L", p.national_id]
            for p in SHX for when, value in (("28.02.2021", "18"), ("08.03.2021", "55,5"), ("15.03.2021", "110"))]
    bad = SHX[2]
    labs.append(["SHX", bad.subject_id, bad.name, "10.03.2021", "PLT", "约50", "10^9/L", bad.national_id])
    (inbox / "SHX_labs_20210401.csv").write_bytes(_semicolons(
        ["site_id", "subject_id", "姓名", "sample_date", "test_code", "value", "unit", "身份证号"], labs))
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["site_id", "subject_id", "姓名", "ae_term", "onset_date", "resolution_date", "ctcae_grade",
                  "serious", "related", "身份证号"])
    for p in SHX:
        sheet.append(["SHX", p.subject_id, p.name, "鼻出血", date(2021, 3, 10), None, 1, "N", "Y", p.national_id])
    workbook.save(inbox / "SHX_adverse_events_20210401.xlsx")


def build(root: Path) -> tuple[Path, Path, Path]:
    """root/inbox, root/sites.yaml and root/invalid-sites.yaml."""
    inbox = root / "inbox"
    (inbox / "labs").mkdir(parents=True)
    _bjh(inbox)
    _shx(inbox)
    (root / "sites.yaml").write_text(REGISTRY_YAML, encoding="utf-8")
    (root / "invalid-sites.yaml").write_text(INVALID_REGISTRY_YAML, encoding="utf-8")
    return inbox, root / "sites.yaml", root / "invalid-sites.yaml"
