"""The hostile deliveries of issue 20, as file content: each builder writes what a site sent.

WXR writes UTF-8 CSV and declares the form of its subject ids (`subject_id_pattern`); GBS
declares GB18030; OTH is a third site whose bad bleeding file must not hold back the others.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from sources.domains import DOMAINS
from tests.conftest import write_csv

REGISTRY = """\
sites:
  WXR:
    name: Wuxi test hospital
    encoding: utf-8
    subject_id_pattern: "WXR-[0-9]{3}"
  GBS:
    name: GB18030 test hospital
    encoding: gb18030
  OTH:
    name: Other test hospital
"""

LABS = DOMAINS["labs"].spec_columns
BLEEDING = DOMAINS["bleeding"].spec_columns
CONMEDS = DOMAINS["conmeds"].spec_columns
SUBJECTS = DOMAINS["subjects"].spec_columns

# A valid GB 11643 resident ID number (check digit 1) and a mobile number: neither may be stored.
RESIDENT_ID = "110105195107230021"
MOBILE = "13912345678"
IDENTIFIERS = [RESIDENT_ID, MOBILE]

ZERO_WIDTH = "WXR-003\u200b"          # followed by a zero-width space
FULL_WIDTH = "WXR\uff0d004"           # a full-width hyphen
LOWER_CASE = "wxr-005"
ORPHAN = "WXR-009"                    # a well-formed id missing from the subjects export
LOOK_ALIKES = {ZERO_WIDTH: ("subject_id.invalid", r'"WXR-003<U\+200B>" holds U\+200B ZERO WIDTH SPACE '
                            r"\(an invisible character\) at position 8: a subject id is printable ASCII"),
               FULL_WIDTH: ("subject_id.invalid", r'"WXR<U\+FF0D>004" holds U\+FF0D FULLWIDTH HYPHEN-MINUS '
                            r'\(a full-width or other look-alike of "-"\) at position 4'),
               LOWER_CASE: ("subject_id.pattern", r'"wxr-005" does not have the form of this site\'s subject ids '
                            r"\(registry key subject_id_pattern: WXR-\[0-9\]\{3\}\) \(in upper case it would")}


def subjects(inbox: Path, site: str, ids: list[str], export: str = "20210401") -> Path:
    return write_csv(inbox / f"{site}_subjects_{export}.csv", SUBJECTS,
                     [[site, s, "F", 1970, "2019-05-01", "2021-01-10"] for s in ids])


def lab_row(site: str, subject: str, day: int, value: float = 150) -> list[object]:
    return [site, subject, f"2021-02-{day:02d}", "PLT", value, "10^9/L", 125, 350]


def good_labs(site: str, subjects_: list[str], days: int) -> list[list[object]]:
    return [lab_row(site, s, d) for s in subjects_ for d in range(1, days + 1)]


def shifted_row() -> list[object]:
    """A lab row of a file with an identifier column after subject_id (dropped by name), whose
    subject_id cell is missing: the resident ID lands in subject_id, the date in the dropped
    column, and so on; the mobile number of the last column lands in ref_high."""
    return ["WXR", RESIDENT_ID, "2021-02-03", "PLT", "150", "10^9/L", "125", MOBILE]


def expanding_xlsx(path: Path, expanded_mb: int = 500) -> Path:
    """An xlsx of a few MB whose sheet expands to `expanded_mb` MB of formatted empty rows (how
    an export tool pads a sheet); written as a real zip, compressed as such tools do."""
    row = ("<row>" + '<c s="1"/>' * 50 + "</row>").encode()
    block = row * ((1 << 20) // len(row))
    head = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns='
            b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>')
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(head)
            for _ in range(expanded_mb):
                sheet.write(block)
            sheet.write(b"</sheetData></worksheet>")
    return path
