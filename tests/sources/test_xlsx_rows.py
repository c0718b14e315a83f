"""sources.xlsx_rows: the fast reader yields exactly what the openpyxl reader yields."""
from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from sources import xlsx_rows
from demo.cohort import generate_cohort
from sources.model import FileRefused
from tests.hostile import xlsx_parts


def outcome(read, content: bytes):
    """Every (number, cells) with each cell's type, or the refusal's reason."""
    try:
        return [(n, [(type(c), c) for c in cells]) for n, cells in read(io.BytesIO(content))]
    except FileRefused as refused:
        return refused.reason


def assert_same(content: bytes, *, fast: bool | None = True) -> list:
    """Both readers agree; `fast`: the fast path is (not) the one that read it (None: either)."""
    refusal = xlsx_rows.fast_path_refusal(io.BytesIO(content))
    assert fast is None or (refusal is None) == fast, refusal
    expected = outcome(xlsx_rows._openpyxl_rows, content)
    assert outcome(xlsx_rows.sheet_rows, content) == expected
    return expected


def saved(workbook: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def sheet(rows: str, *, root: str = "", pad: str = "", **kw: str) -> bytes:
    """A workbook (tests.hostile.xlsx_parts) whose sheet XML is written by hand."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in [("[Content_Types].xml", xlsx_parts.CONTENT_TYPES), ("_rels/.rels", xlsx_parts.ROOT_RELS),
                           ("xl/workbook.xml", xlsx_parts.WORKBOOK), ("xl/_rels/workbook.xml.rels", xlsx_parts.WORKBOOK_RELS),
                           ("xl/worksheets/sheet1.xml", xlsx_parts.sheet_xml(rows, **kw).replace(
                               "<worksheet ", f"<worksheet {root} ").replace("<sheetData>", pad + "<sheetData>"))]:
            z.writestr(name, text)
    return out.getvalue()


def values(rows: list) -> list:
    return [(n, [c for _, c in cells]) for n, cells in rows]


# --- (a) the generator's workbooks ----------------------------------------------------------

def test_every_generated_workbook_reads_the_same(tmp_path):
    cohort = generate_cohort(tmp_path, seed=11, subjects=40, months=3)
    files = sorted(cohort.inbox.rglob("*.xlsx"))
    assert len(files) >= 4
    for path in files:
        rows = assert_same(path.read_bytes())
        assert len(rows) > 1 and any(t is datetime for _, cells in rows for t, _ in cells), path


# --- (b) hand-built workbooks ---------------------------------------------------------------

def test_every_cell_type_written_by_openpyxl():
    wb = openpyxl.Workbook()
    ws = wb.active
    rich = CellRichText("plain ", TextBlock(InlineFont(b=True), "bold"), " end")
    ws.append(["text", "", " padded ", 1, -7, 2.5, 1e-7, 3.0, 2**40, True, False, "#N/A", "#DIV/0!", None, "x"])
    ws.append([date(2021, 3, 4), datetime(2021, 3, 5, 14, 30, 15), time(8, 45), time(0, 0, 1, 500_000),
               timedelta(hours=30, minutes=5), datetime(1900, 1, 1), date(1900, 3, 1), rich, "line\nbreak\r\nx"])
    ws.cell(row=3, column=2, value=44256).number_format = "dd/mm/yyyy"
    ws.cell(row=3, column=3, value=0.75).number_format = "h:mm"
    ws.cell(row=3, column=4, value=44256.5).number_format = "yyyy-mm-dd hh:mm"
    ws.cell(row=3, column=5, value=1.25).number_format = "[h]:mm:ss"
    ws.cell(row=3, column=6, value=12).number_format = "0.00%"
    ws.cell(row=3, column=7, value=5).number_format = '"day"0'
    ws.cell(row=3, column=8, value=10**20).number_format = "yyyy-mm-dd"   # beyond dates: "#VALUE!"
    ws["C6"] = "after empty rows"
    ws["J6"] = 4
    ws["E9"] = "gap"
    rows = assert_same(saved(wb))
    got = dict(values(rows))
    assert got[1][:6] == ["text", None, " padded ", 1, -7, 2.5] and got[1][9:13] == [True, False, "#N/A", "#DIV/0!"]
    assert got[2][:3] == [datetime(2021, 3, 4), datetime(2021, 3, 5, 14, 30, 15), time(8, 45)]
    assert got[2][7] == "plain bold end"
    assert got[3][1:8] == [datetime(2021, 3, 1), time(18, 0), datetime(2021, 3, 1, 12), "1 day, 6:00:00", 12,
                           5, "#VALUE!"]   # a quoted "day" is not a date token
    assert got[4] == [] and got[6] == [None, None, "after empty rows"] + [None] * 6 + [4]
    assert len(got[9]) == 5 and got[7] == got[8] == []


def test_1904_epoch_and_iso_dates():
    wb = openpyxl.Workbook()
    wb.epoch = CALENDAR_MAC_1904
    wb.active.append([date(2021, 3, 4), datetime(1904, 1, 2, 6), time(12, 0)])
    one = values(assert_same(saved(wb)))
    assert one == [(1, [datetime(2021, 3, 4), datetime(1904, 1, 2, 6), time(12, 0)])]
    wb = openpyxl.Workbook()
    wb.iso_dates = True   # t="d" cells
    wb.active.append([date(2021, 3, 4), datetime(2021, 3, 5, 1, 2, 3), "x"])
    assert values(assert_same(saved(wb)))[0][1][:2] == [date(2021, 3, 4), datetime(2021, 3, 5, 1, 2, 3)]


def test_leading_empty_rows_and_columns_keep_excel_numbers():
    wb = openpyxl.Workbook()
    wb.active["C3"] = "first"
    wb.active["B5"] = 2
    assert values(assert_same(saved(wb))) == [(1, []), (2, []), (3, [None, None, "first"]), (4, []), (5, [None, 2])]


HAND_ROWS = [
    # cells and rows without r, rows out of order and repeated, a cell before its left neighbour
    ('<row><c t="inlineStr"><is><t>a</t></is></c><c><v>1</v></c><c r="E1"><v>2</v></c><c><v>3</v></c></row>'
     '<row r="4"><c r="C4"><v>4</v></c><c r="A4"><v>5</v></c></row><row r="3"><c r="A3"><v>9</v></c></row>'
     '<row><c r="B5"><v>6</v></c></row><row r="5"><c r="A5"><v>7</v></c></row>'),
    # numbers as openpyxl casts them, empty values, errors, str and booleans
    ('<row r="1"><c r="A1"><v>1.0</v></c><c r="B1"><v>1E3</v></c><c r="C1"><v>-0</v></c><c r="D1"><v></v></c>'
     '<c r="E1"/><c r="F1" t="e"><v>#N/A</v></c><c r="G1" t="str"><v>s</v></c><c r="H1" t="b"><v>0</v></c>'
     '<c r="I1"><v>123456789012345678901234567890</v></c><c r="J1" t="inlineStr"><is><t></t></is></c>'
     '<c r="K1" t="inlineStr"/><c r="L1" t="inlineStr"><is><t/></is></c></row>'),
    # Excel's attributes, entities, line ends, rich and phonetic inline text, whitespace
    ('<row r="2" spans="1:3" x14ac:dyDescent="0.25"><c r="A2" s="0" t="inlineStr">'
     '<is><r><rPr><b/><sz val="11"/></rPr><t>rich</t></r><r><t xml:space="preserve"> &amp; &#x4E2D;</t></r>'
     '<rPh sb="0" eb="1"><t>ph</t></rPh></is></c>\n  <c r="B2" t="inlineStr"><is><t>a\r\nb&lt;&#13;</t></is></c>'
     '<c r="C2" t="d"><v>2021-03-04T05:06:07</v></c></row>\n<row r="3"/>'),
]


@pytest.mark.parametrize("rows", HAND_ROWS)
def test_hand_written_sheet_xml(rows):
    assert_same(sheet(rows, root='xmlns:x14ac="urn:x"'))


def test_hand_written_values_are_openpyxl_values():
    got = dict(values(assert_same(sheet(HAND_ROWS[0]))))
    # row 4 is as wide as its last cell (A4); row 3 and the second row 4 come too late: skipped
    assert got == {1: ["a", 1, None, None, 2, 3], 2: [], 3: [], 4: [5], 5: [7]}
    got = dict(values(assert_same(sheet(HAND_ROWS[1]))))
    assert got[1] == [1.0, 1000.0, 0, None, None, "#N/A", "s", False, 123456789012345678901234567890, "", None, ""]


def test_a_value_openpyxl_cannot_convert_is_refused_the_same_way():
    rows = xlsx_parts.text_row(1, ["a"]) + '<row r="2"><c r="A2"><v>inf</v></c></row>'
    assert assert_same(sheet(rows)) == "the workbook's first sheet cannot be read (ValueError: invalid literal for int() with base 10: 'inf')"


# --- (c) random grids -----------------------------------------------------------------------

CELLS = st.one_of(
    st.none(), st.text(max_size=12).map(lambda s: ILLEGAL_CHARACTERS_RE.sub("", s)),
    st.integers(-2**63, 2**63), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
    st.dates(min_value=date(1900, 3, 1)), st.datetimes(min_value=datetime(1900, 3, 1)), st.times(),
    st.sampled_from(["#N/A", "#REF!", "", " ", "=1+1"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid=st.lists(st.tuples(st.integers(1, 6), st.integers(1, 6), CELLS), max_size=25),
       epoch=st.booleans(), formats=st.lists(st.sampled_from(["General", "0.00", "yyyy-mm-dd", "h:mm:ss", "[mm]:ss",
                                                               "d-mmm", '"x"0']), max_size=3))
def test_random_grids_read_the_same(grid, epoch, formats):
    wb = openpyxl.Workbook()
    if epoch:
        wb.epoch = CALENDAR_MAC_1904
    for i, (row, column, value) in enumerate(grid):
        cell = wb.active.cell(row=row, column=column, value=value)
        if formats and isinstance(value, (int, float)) and not isinstance(value, bool):
            cell.number_format = formats[i % len(formats)]
    content = saved(wb)
    final = {(row, column): value for row, column, value in grid}   # a later write replaces a cell
    has_formula = any(isinstance(v, str) and v.startswith("=") and len(v) > 1 for v in final.values())
    assert_same(content, fast=False if has_formula else None)


# --- (d) what takes the fallback --------------------------------------------------------------

def test_a_formula_takes_the_fallback_and_reads_as_its_text():
    wb = openpyxl.Workbook()
    wb.active.append(["x", "=TODAY()", 3])
    assert values(assert_same(saved(wb), fast=False)) == [(1, ["x", "=TODAY()", 3])]
    prefixed = sheet('<row r="1"><c r="A1"><x:f xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                     'NOW()</x:f><v>1</v></c></row>')
    assert values(assert_same(prefixed, fast=False)) == [(1, ["=NOW()"])]


def test_an_oversized_sheet_takes_the_fallback():
    """More than MAX_PART_BYTES of sheet XML outside <sheetData> (here whitespace) is not read fast."""
    padding = " " * (xlsx_rows.MAX_PART_BYTES + 1)
    content = sheet(xlsx_parts.text_row(1, ["a", "b"]), pad=padding)
    assert xlsx_rows.fast_path_refusal(io.BytesIO(content)) == "the sheet XML before <sheetData> is too long"
    assert values(assert_same(content, fast=False)) == [(1, ["a", "b"])]


def test_hostile_sheets():
    million = (xlsx_parts.text_row(1, ["a"]) + xlsx_parts.text_row(2, ["b"]) + xlsx_parts.text_row(100_000, ["c"]))
    rows = assert_same(sheet(million, dimension="A1:XFD1048576"))
    assert len(rows) == 100_000 and rows[-1] == (100_000, [(str, "c")])
    xxe = '<!DOCTYPE worksheet [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    assert "not a valid xlsx workbook" in assert_same(
        sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is></c></row>', doctype=xxe), fast=False)
    damaged = sheet(xlsx_parts.text_row(1, ["a"]) + '<row r="2"><c r="A2"><v>1</v></row>')
    assert "not a valid xlsx workbook (ParseError: mismatched tag" in assert_same(damaged, fast=False)
    assert "not a valid xlsx workbook" in assert_same(b"PK\x03\x04 junk", fast=False)
