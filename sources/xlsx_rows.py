"""The first worksheet of an xlsx workbook as numbered rows of cells, fast.

`sheet_rows(fh)` yields exactly what openpyxl's read-only reader yields through `_openpyxl_rows`
(values_only=True after reset_dimensions, each value through `_plain`): the same rows, row
numbers, row lengths, values and types, and the same `FileRefused` reasons. openpyxl costs
5-10 µs per cell and, for a sheet without a <dimension> element, parses the sheet twice; the
fast path reads the sheet XML with regular expressions, at about a tenth of the cost.

How equality is guaranteed:
- Everything outside the first sheet's <sheetData> is read by openpyxl's own code (manifest,
  shared strings, workbook and its epoch, styles and their date/duration formats, the other
  sheets' relationships and dimensions, defined names, the first sheet's elements before and
  after <sheetData>). Any exception there, and anything unusual (a chartsheet, a DOCTYPE), means
  the fallback: openpyxl itself then produces the rows or the refusal.
- Before the first row is yielded, the whole sheet XML is checked (two C-speed passes over the
  inflated stream, bounded memory): expat finds it well-formed (otherwise openpyxl's error and
  the rows it yields before it are its business: fallback), and <sheetData> holds only a strict
  grammar of rows, cells, <v> and inline strings (double-quoted attributes, no prefixed element,
  no comment, CDATA or processing instruction, no formula). Whatever falls outside the grammar,
  a formula (<f>, with or without a prefix) included, takes the fallback.
- Inside that grammar, each cell is converted as openpyxl's WorkSheetParser.parse_cell converts
  it, with openpyxl's own functions (_cast_number, from_excel, from_ISO8601, Text.from_tree,
  coordinate_to_tuple, the shared-string table), in the same order, so a value openpyxl cannot
  convert raises the same exception at the same row. Rows are placed as
  ReadOnlyWorksheet._cells_by_row places them (gaps filled with empty rows, a row numbered below
  one already read skipped, a row as wide as its last cell's column).

Work is bounded (sources.bounds): before anything is inflated, the parts' declared sizes are
checked against the workbook's size (`Watch.check_expansion`), and the clock is checked as the
sheet is scanned and its rows are read (`Watch.check_time`).

Memory is bounded by MAX_PART_BYTES (the sheet XML before and after <sheetData>) and
MAX_ROW_BYTES (one row's XML): the sheet itself is streamed, never held whole, so a sheet of any
size (a million rows, a million empty rows, 16,384 columns) can take the fast path. A sheet
beyond either bound takes the fallback.
"""
from __future__ import annotations

import io
import os
import re
import warnings
import zipfile
from collections.abc import Iterator
from datetime import date, time
from functools import lru_cache
from typing import BinaryIO
from xml.etree import ElementTree
from xml.parsers import expat

import openpyxl
from openpyxl.cell.text import Text
from openpyxl.packaging.relationship import get_dependents, get_rels_path
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.cell import column_index_from_string, coordinate_to_tuple
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.workbook.defined_name import DefinedNameDict
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import WorkSheetParser, _cast_number
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula
from openpyxl.xml.constants import SHEET_MAIN_NS

from sources import reason_codes as rc
from sources.bounds import TIME_CHECK_EVERY, Watch
from sources.model import FileRefused
from sources.parsing import Cell

Rows = Iterator[tuple[int, list[Cell]]]   # (row number as in Excel, cells); header = 1

MAX_PART_BYTES = 16 << 20    # sheet XML before <sheetData> and after </sheetData>
MAX_ROW_BYTES = 64 << 20     # XML of one row (16,384 cells of 4 KB); beyond: fallback
READ_BYTES = 1 << 20         # inflated bytes read at a time


# --- the openpyxl reader: the reference, and the fallback -------------------------------

def _plain(value: object) -> Cell:
    """An openpyxl value as a Cell. Formulas are read as their text ("=TODAY()"), never as the
    value Excel last computed: a workbook written by a program often has no computed value
    (the cell would silently read as empty), and a formula is not data the site typed. Array and
    data-table formulas and durations, which are other Python types, become text as well."""
    if value is None or isinstance(value, (str, int, float, date, time)):
        return value
    if isinstance(value, ArrayFormula):
        return value.text or "="
    if isinstance(value, DataTableFormula):
        return "=TABLE()"
    return str(value)


def _openpyxl_rows(fh: BinaryIO, watch: Watch | None = None) -> Rows:
    watch = watch or Watch()
    try:
        workbook = openpyxl.load_workbook(fh, read_only=True, data_only=False)
    except Exception as exc:  # zip, XML and content-type errors all mean: not an xlsx workbook
        raise FileRefused(f"the file is not a valid xlsx workbook ({type(exc).__name__}: {exc}); "
                          "save it from Excel as .xlsx, or export it as .csv", code=rc.FILE_XLSX_UNREADABLE) from None
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None or not hasattr(sheet, "iter_rows"):
            raise FileRefused("the workbook's first sheet is not a worksheet of data", code=rc.FILE_XLSX_UNREADABLE)
        sheet.reset_dimensions()
        try:
            for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), 1):
                if number % TIME_CHECK_EVERY == 0:
                    watch.check_time()
                yield number, [_plain(v) for v in values]
        except FileRefused:
            raise
        except Exception as exc:  # damaged sheet XML or zip member
            raise FileRefused(f"the workbook's first sheet cannot be read ({type(exc).__name__}: {exc})",
                               code=rc.FILE_XLSX_UNREADABLE) from None
    finally:
        workbook.close()


# --- entry point --------------------------------------------------------------------------

def check_expansion(fh: BinaryIO, watch: Watch) -> None:
    """Refuse a workbook whose parts would expand beyond the limit, from the zip's directory
    alone (nothing inflated). A file that is not a zip is left to the readers to refuse."""
    size = fh.seek(0, os.SEEK_END)
    fh.seek(0)
    try:
        with zipfile.ZipFile(fh) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return
    finally:
        fh.seek(0)
    watch.check_expansion(expanded, size)


def sheet_rows(fh: BinaryIO, watch: Watch | None = None) -> Rows:
    """The first worksheet's rows, numbered as in Excel (row 1 = header), each a list of cells.
    Raises FileRefused (during iteration) for a file that is not a readable workbook, or that
    exceeds the bounds of `watch`."""
    watch = watch or Watch()
    check_expansion(fh, watch)
    plan = _Plan.open(fh, watch)
    if isinstance(plan, str):
        fh.seek(0)
        yield from _openpyxl_rows(fh, watch)
        return
    try:
        yield from plan.rows()
    finally:
        plan.close()


def other_sheets_with_rows(fh: BinaryIO, look_at: int = 100) -> list[tuple[int, str]]:
    """(position from 1, title) of the worksheets after the first with a non-empty cell in their
    first `look_at` rows: where the data went when the first sheet is empty."""
    try:
        workbook = openpyxl.load_workbook(fh, read_only=True, data_only=False)
    except Exception:  # noqa: BLE001 - not a workbook: nothing to point at
        return []
    try:
        found = []
        for position, sheet in enumerate(workbook.worksheets[1:], 2):
            if not hasattr(sheet, "iter_rows"):
                continue
            sheet.reset_dimensions()
            rows = sheet.iter_rows(max_row=look_at, values_only=True)
            if any(v is not None and str(v).strip() for row in rows for v in row):
                found.append((position, sheet.title))
        return found
    finally:
        workbook.close()


def fast_path_refusal(fh: BinaryIO) -> str | None:
    """Why `sheet_rows` would read this workbook with openpyxl (None: the fast path is used)."""
    plan = _Plan.open(fh)
    if isinstance(plan, str):
        return plan
    plan.close()
    return None


# --- the sheet grammar the fast path reads ------------------------------------------------

_S = rb"[ \t\r\n]"
_NAME = rb"[A-Za-z_][\w.\-]*"
# Attributes in double quotes, without < or > in the value (so "<...>" delimits a tag); no
# namespace declaration (an unprefixed element must stay in the main namespace).
_ATTRS = rb"(?:" + _S + rb"+(?!xmlns)" + _NAME + rb"(?::" + _NAME + rb")?" + _S + rb'*=' + _S + rb'*"[^"<>]*")*+' + _S + rb"*+"
_IS_ATTRS = rb"(?:" + _S + rb"+(?!xmlns)(?:xml:space|" + _NAME + rb")" + _S + rb'*=' + _S + rb'*"[^"<>]*")*+' + _S + rb"*+"
_RICH = (rb"(?:t|r|rPr|rPh|phoneticPr|b|i|u|strike|condense|extend|outline|shadow|sz|color|rFont|family|charset"
         rb"|scheme|vertAlign)")
_INLINE = (rb"<is" + _IS_ATTRS + rb"(?:/>|>(?:[^<]++|<" + _RICH + _IS_ATTRS + rb"/?>|</" + _RICH + _S + rb"*>)*+</is"
           + _S + rb"*>)")
_V = rb"<v" + _ATTRS + rb"(?:/>|>[^<]*+</v" + _S + rb"*>)"
_CELL_G = rb"<c" + _ATTRS + rb"(?:/>|>(?:[^<]++|" + _V + rb"|" + _INLINE + rb")*+</c" + _S + rb"*>)"
_ROW_G = rb"<row" + _ATTRS + rb"(?:/>|>(?:[^<]++|" + _CELL_G + rb")*+</row" + _S + rb"*>)"
_REGION = re.compile(rb"(?:[^<]++|" + _ROW_G + rb")*+")

_ROW_END = b"</row>"
_DATA_START = b"<sheetData>"
_DATA_END = b"</sheetData>"
_ROW_ELEMENT = re.compile(rb"<(?:" + _NAME + rb":)?row[ \t\r\n/>]")
_ROOT = re.compile(rb'(?:<\?xml(?:' + _S + rb'+\w+' + _S + rb'*=' + _S + rb'*(?:"[^"]*"|\'[^\']*\'))*' + _S
                   + rb'*\?>)?' + _S + rb'*<worksheet((?:' + _S + rb'+[\w.:\-]+' + _S + rb'*=' + _S + rb'*"[^"<>]*")*' + _S + rb'*)>')
_ENCODING = re.compile(rb'^<\?xml[^>]*encoding' + _S + rb'*=' + _S + rb'*["\']([^"\']*)')
_DEFAULT_NS = re.compile(rb'[ \t\r\n]xmlns' + _S + rb'*=')
_MAIN_NS = b' xmlns="' + SHEET_MAIN_NS.encode() + b'"'


# --- workbook metadata, by openpyxl's own code -----------------------------------------

class _Plan:
    """A workbook the fast path can read: openpyxl's metadata and the sheet's checked layout."""

    def __init__(self, reader: ExcelReader, path: str, region: tuple[int, int, bool], watch: Watch | None = None):
        self.watch = watch or Watch()
        self.reader = reader
        self.archive = reader.archive
        self.path = path
        self.region = region
        wb = reader.wb
        self.strings = reader.shared_strings
        self.epoch = wb.epoch
        self.date_formats = wb._date_formats
        self.timedelta_formats = wb._timedelta_formats

    @classmethod
    def open(cls, fh: BinaryIO, watch: Watch | None = None) -> _Plan | str:
        """A plan, or the reason openpyxl reads the workbook."""
        watch = watch or Watch()
        try:
            reader = ExcelReader(fh, read_only=True, data_only=False)
        except Exception:
            return "openpyxl refuses the file"
        try:
            outcome = cls._check(reader, watch)
        except FileRefused:
            reader.archive.close()
            raise
        except Exception as exc:
            outcome = f"openpyxl refuses the workbook ({type(exc).__name__})"
        if isinstance(outcome, str):
            reader.archive.close()
        return outcome

    @classmethod
    def _check(cls, reader: ExcelReader, watch: Watch) -> _Plan | str:
        # ExcelReader.read() in read-only mode, step by step, without parsing whole sheets.
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        reader.read_properties()
        reader.read_custom()
        reader.read_theme()
        apply_stylesheet(reader.archive, reader.wb)
        wb = reader.wb
        first: tuple[str, tuple[int, int, bool]] | None = None
        for sheet, rel in reader.parser.find_sheets():
            if rel.target not in reader.valid_files:
                continue
            if "chartsheet" in rel.Type:
                return "the workbook has a chartsheet"
            rels_path = get_rels_path(rel.target)
            if rels_path in reader.valid_files:
                get_dependents(reader.archive, rels_path)
            if first is None:
                layout = _scan_first_sheet(reader, rel.target, watch)
                if isinstance(layout, str):
                    return layout
                first = rel.target, layout
            elif not _plain_sheet(reader.archive, rel.target):
                ReadOnlyWorksheet(wb, sheet.name, rel.target, reader.shared_strings)   # its _get_size
            wb._sheets.append(_unsized_sheet(wb, sheet.name, rel.target, reader.shared_strings))
        reader.parser.assign_names()
        if first is None:
            return "the workbook has no worksheet"
        return cls(reader, *first, watch)

    def close(self) -> None:
        self.archive.close()

    def rows(self) -> Rows:
        try:
            yield from _Converter(self).rows()
        except FileRefused:
            raise
        except Exception as exc:  # as the openpyxl reader: a value openpyxl cannot convert
            raise FileRefused(f"the workbook's first sheet cannot be read ({type(exc).__name__}: {exc})",
                               code=rc.FILE_XLSX_UNREADABLE) from None


def _unsized_sheet(wb, title: str, path: str, strings: list) -> ReadOnlyWorksheet:
    """ReadOnlyWorksheet.__init__ without _get_size (already done, or known to find nothing);
    assign_names binds defined names and print settings to it as it would to the real one."""
    ws = ReadOnlyWorksheet.__new__(ReadOnlyWorksheet)
    ws.parent, ws.title, ws.sheet_state = wb, title, "visible"
    ws._current_row, ws._worksheet_path, ws._shared_strings = None, path, strings
    ws.defined_names = DefinedNameDict()
    return ws


def _stream(archive, path: str) -> Iterator[bytes]:
    with archive.open(path) as src:
        while data := src.read(READ_BYTES):
            yield data


def _plain_sheet(archive, path: str) -> bool:
    """True when openpyxl's ReadOnlyWorksheet._get_size finds nothing and raises nothing: the
    sheet is well-formed XML without DTD, comment or CDATA and has no <dimension> element."""
    parser = expat.ParserCreate(None, "}")
    previous = b""
    try:
        for data in _stream(archive, path):
            parser.Parse(data, False)
            window = previous + data
            if b"<!" in window or b"dimension" in window:
                return False
            previous = data[-16:]
        parser.Parse(b"", True)
    except expat.ExpatError:
        return False
    return True


def _scan_first_sheet(reader: ExcelReader, path: str, watch: Watch) -> tuple[int, int, bool] | str:
    """Check the whole first sheet before anything is yielded; the byte range of the content of
    <sheetData>, or the reason for the fallback."""
    archive = reader.archive
    parser = expat.ParserCreate(None, "}")
    head = bytearray()
    tail = bytearray()
    buffer = b""
    state = "head"
    start = end = offset = 0
    canonical = True
    try:
        for data in _stream(archive, path):
            watch.check_time()
            parser.Parse(data, False)
            if state == "head":
                head += data
                at = head.find(b"<sheetData")
                if at < 0:
                    if len(head) > MAX_PART_BYTES:
                        return "the sheet XML before <sheetData> is too long"
                    offset += len(data)
                    continue
                if at > MAX_PART_BYTES:
                    return "the sheet XML before <sheetData> is too long"
                if len(head) < at + len(_DATA_START):
                    offset += len(data)
                    continue
                if head[at:at + len(_DATA_START)] != _DATA_START:
                    return "the <sheetData> element has attributes or no content"
                start = at + len(_DATA_START)
                data = bytes(head[start:])
                del head[start:]
                offset = start
                state = "rows"
            if state == "rows":
                buffer += data
                stop = buffer.find(_DATA_END)
                if stop >= 0:
                    part, tail[:] = buffer[:stop], buffer[stop:]
                    buffer = b""
                    state = "tail"
                else:
                    cut = buffer.rfind(_ROW_END)
                    part = buffer[:cut + len(_ROW_END)] if cut >= 0 else b""
                    buffer = buffer[len(part):]
                    if len(buffer) > MAX_ROW_BYTES:
                        return "a row of the sheet XML is too long"
                if canonical and _CANONICAL_PART_B.fullmatch(part) is None:
                    canonical = False
                if not canonical and _REGION.fullmatch(part) is None:
                    return "the sheet holds formulas or XML the fast reader does not read"
                offset += len(part)
                if state == "tail":
                    end = offset
            elif state == "tail":
                tail += data
                if len(tail) > MAX_PART_BYTES:
                    return "the sheet XML after </sheetData> is too long"
        parser.Parse(b"", True)
    except expat.ExpatError:
        return "the sheet XML is not well-formed"
    if state != "tail":
        return "the sheet has no <sheetData> element with content"
    head, tail = bytes(head), bytes(tail)
    return _check_outside(reader, path, head, tail) or (start, end, canonical)


def _check_outside(reader: ExcelReader, path: str, head: bytes, tail: bytes) -> str | None:
    """The sheet XML around <sheetData>: what openpyxl does with it must not depend on rows."""
    outside = head + tail
    root = _ROOT.match(head)
    if not head.startswith(b"<") or root is None or b"<!" in outside or b"<?" in outside[2:]:
        return "the sheet XML starts unusually (byte-order mark, DTD, comment, other root)"
    encoding = _ENCODING.match(head)
    if encoding is not None and encoding.group(1).lower() not in (b"utf-8", b"utf8"):
        return "the sheet XML is not UTF-8"
    if _MAIN_NS not in root.group(1) or len(_DEFAULT_NS.findall(outside)) != 1:
        return "the sheet XML declares namespaces unusually"
    if _ROW_ELEMENT.search(outside):
        return "the sheet has rows outside <sheetData>"
    try:   # <sheetData> is a child of the root element: what comes before it is closed
        expat.ParserCreate(None, "}").Parse(head[:-len(_DATA_START)] + b"</worksheet>", True)
    except expat.ExpatError:
        return "the <sheetData> element is not a child of the root element"
    wb = reader.wb
    if b"dimension" in outside:   # what ReadOnlyWorksheet._get_size does with it, by its own code
        ReadOnlyWorksheet(wb, "", path, reader.shared_strings)
    # openpyxl parses the elements around <sheetData> as it reads the rows: by its own code
    rest = WorkSheetParser(io.BytesIO(outside), reader.shared_strings, data_only=False, epoch=wb.epoch,
                           date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
    if list(rest.parse()):
        return "the sheet has rows outside <sheetData>"
    return None


# --- the rows ---------------------------------------------------------------------------

_ROW = re.compile(r"<row((?:[ \t\r\n][^>]*?)?)(?:/>|>(.*?)</row[ \t\r\n]*>)", re.S)
_CELL = re.compile(r"<c((?:[ \t\r\n][^>]*?)?)(?:/>|>(.*?)</c[ \t\r\n]*>)", re.S)
_CANONICAL_CELL = re.compile(r' r="([A-Z]{1,3})[0-9]+"(?: s="([0-9]+)")?(?: t="([A-Za-z]+)")?')
_CANONICAL_ROW = re.compile(r' r="([0-9]+)"(?: spans="[0-9:]*")?')
_ATTR = re.compile(r"[ \t\r\n]+([^ \t\r\n=]+)[ \t\r\n]*=[ \t\r\n]*\"([^\"]*)\"")
_V_ONLY = re.compile(r"<v>([^<]*)</v>")
_INLINE_ONLY = re.compile(r'<is><t(?: xml:space="preserve")?>([^<]*)</t></is>')
_FIRST_V = re.compile(r"<v(?:[ \t\r\n][^>]*?)?(?:/>|>([^<]*)</v[ \t\r\n]*>)")
_FIRST_IS = re.compile(r"<is(?:[ \t\r\n][^>]*?)?(?:/>|>.*?</is[ \t\r\n]*>)", re.S)
_CANONICAL_C = (r'<c r="([A-Z]{1,3})[0-9]+"(?: s="([0-9]+)")?(?: t="([A-Za-z]+)")?'
                r'(?:/>|>(?:<v>([^<]*)</v>|(<is>)<t(?: xml:space="preserve")?>([^<]*)</t></is>)?</c>)')
_CANONICAL_PART = re.compile(r'(?:<row r="[0-9]++"(?: spans="[0-9:]*+")?+(?:/>|>(?:'
                             + _CANONICAL_C.replace("*", "*+").replace(")?", ")?+") + r')*+</row>))*+')
_CANONICAL_PART_B = re.compile(_CANONICAL_PART.pattern.encode())
_FLAT = re.compile(r'<row r="([0-9]+)"(?: spans="[0-9:]*")?(/?)>|(</row>)|' + _CANONICAL_C)
_COLUMNS = {letters: column_index_from_string(letters) for letters in
            [chr(a) for a in range(65, 91)] + [chr(a) + chr(b) for a in range(65, 91) for b in range(65, 91)]}
_REFERENCE = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|lt|gt|amp|quot|apos);")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_IS_NS = ' xmlns="' + SHEET_MAIN_NS + '"'


def _reference(match: re.Match) -> str:
    name = match.group(1)
    if name[0] == "#":
        return chr(int(name[2:], 16) if name[1] == "x" else int(name[1:]))
    return _ENTITIES[name]


def _text(raw: str) -> str:
    """Character data as expat reports it: line ends normalised, references replaced."""
    if "\r" in raw:
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    return _REFERENCE.sub(_reference, raw) if "&" in raw else raw


def _attribute(raw: str) -> str:
    """An attribute value as expat reports it (XML 1.0 §3.3.3 normalisation)."""
    if "&" not in raw and "\t" not in raw and "\n" not in raw and "\r" not in raw:
        return raw
    raw = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ").replace("\n", " ")
    return _REFERENCE.sub(_reference, raw)


def _attributes(raw: str) -> dict[str, str]:
    return {name: _attribute(value) for name, value in _ATTR.findall(raw)}


@lru_cache(maxsize=None)
def _column(letters: str) -> int:
    return column_index_from_string(letters)


def _inline(body: str) -> str:
    """Text.from_tree(<is>).content, as openpyxl computes it, for rich or unusual inline text."""
    element = ElementTree.fromstring("<is" + _IS_NS + body[3:])
    return Text.from_tree(element).content


class _Converter:
    """WorkSheetParser.parse_row/parse_cell and ReadOnlyWorksheet._cells_by_row/_get_row over the
    checked sheet XML, values through _plain."""

    def __init__(self, plan: _Plan):
        self.plan = plan
        self.row_counter = 0
        self.dates: dict[tuple[str, int], object] = {}

    def rows(self) -> Rows:
        counter = 1
        number = 0
        for idx, cells in self._parsed_rows():
            while counter < idx:
                counter += 1
                number += 1
                yield number, []
            if counter <= idx:
                counter += 1
                number += 1
                if not cells:
                    yield number, []
                    continue
                width = cells[-1][0]
                row: list[Cell] = [None] * width
                for column, value in cells:
                    if 0 < column <= width:
                        row[column - 1] = value
                yield number, row

    def _parts(self) -> Iterator[str]:
        """The content of <sheetData>, cut after a </row>, as text."""
        start, end, _ = self.plan.region
        offset = 0
        buffer = b""
        for data in _stream(self.plan.archive, self.plan.path):
            self.plan.watch.check_time()
            low, high = max(start - offset, 0), min(end - offset, len(data))
            offset += len(data)
            if low >= high:
                if offset >= end:
                    break
                continue
            buffer += data[low:high]
            cut = buffer.rfind(_ROW_END)
            if cut >= 0:
                yield buffer[:cut + len(_ROW_END)].decode("utf-8")
                buffer = buffer[cut + len(_ROW_END):]
        if buffer:
            yield buffer.decode("utf-8")

    def _parsed_rows(self) -> Iterator[tuple[int, list[tuple[int, Cell]]]]:
        for part in self._parts():
            if self.plan.region[2]:   # every row canonical (checked by _scan_first_sheet)
                yield from self._canonical_rows(part)
                continue
            for match in _ROW.finditer(part):
                attrs, body = match.groups()
                canonical = _CANONICAL_ROW.fullmatch(attrs)
                if canonical is not None:
                    self.row_counter = int(canonical.group(1))
                else:
                    values = _attributes(attrs)
                    if "r" in values:
                        try:
                            self.row_counter = int(values["r"])
                        except ValueError:
                            val = float(values["r"])
                            if val.is_integer():
                                self.row_counter = int(val)
                            else:
                                raise ValueError(f"{values['r']} is not a valid row number")
                    else:
                        self.row_counter += 1
                yield self.row_counter, self._cells(body) if body else []

    def _canonical_rows(self, part: str) -> Iterator[tuple[int, list[tuple[int, Cell]]]]:
        """Rows written the way the generator, Excel without extras and openpyxl's writer write
        them (one regular expression for the whole part): the conversions of _cells, unrolled."""
        plan = self.plan
        strings, date_formats = plan.strings, plan.date_formats
        columns = _COLUMNS
        cells: list[tuple[int, Cell]] = []
        for row, closed, end, letters, style, data_type, v, inline, text in _FLAT.findall(part):
            if row:
                self.row_counter = int(row)
                cells = []
                if closed:
                    yield self.row_counter, cells
                continue
            if end:
                yield self.row_counter, cells
                continue
            column = columns.get(letters) or _column(letters)
            if data_type == "inlineStr":
                value = (_text(text) if "&" in text or "\r" in text else text) if inline else None
            elif not v:
                value = None
            else:
                if "&" in v or "\r" in v:
                    v = _text(v)
                if not data_type or data_type == "n":
                    value = float(v) if "." in v or "E" in v or "e" in v else int(v)
                    style_id = int(style) if style else 0
                    if style_id in date_formats:
                        value = self._date(value, style_id)
                elif data_type == "s":
                    value = strings[int(v)]
                elif data_type == "b":
                    value = bool(int(v))
                elif data_type == "d":
                    value = _plain(from_ISO8601(v))
                else:
                    value = v
            cells.append((column, value))

    def _cells(self, body: str) -> list[tuple[int, Cell]]:
        plan = self.plan
        date_formats = plan.date_formats
        col_counter = 0
        cells: list[tuple[int, Cell]] = []
        for match in _CELL.finditer(body):
            attrs, content = match.groups()
            canonical = _CANONICAL_CELL.fullmatch(attrs)
            if canonical is not None:
                letters, style_id, data_type = canonical.groups()
                data_type = data_type or "n"
                style_id = int(style_id) if style_id else 0
                column = None
            else:
                values = _attributes(attrs)
                data_type = values.get("t", "n")
                coordinate = values.get("r")
                style_id = values.get("s", 0)
                if style_id:
                    style_id = int(style_id)
                letters = None
            if data_type == "inlineStr" or not content:
                value = None
            else:
                only = _V_ONLY.fullmatch(content)
                if only is not None:
                    value = _text(only.group(1)) or None
                else:
                    first = _FIRST_V.search(content)
                    value = (_text(first.group(1)) if first is not None and first.group(1) else "") or None
            if letters is not None:
                column = col_counter = _column(letters)
            elif coordinate:
                column = col_counter = coordinate_to_tuple(coordinate)[1]
            else:
                col_counter += 1
                column = col_counter
            if value is not None:
                if data_type == "n":
                    value = _cast_number(value)
                    if style_id in date_formats:
                        value = self._date(value, style_id)
                elif data_type == "s":
                    value = plan.strings[int(value)]
                elif data_type == "b":
                    value = bool(int(value))
                elif data_type == "d":
                    value = _plain(from_ISO8601(value))
            elif data_type == "inlineStr" and content:
                only = _INLINE_ONLY.fullmatch(content)
                if only is not None:
                    value = _text(only.group(1))
                else:
                    element = _FIRST_IS.search(content)
                    if element is not None:
                        value = _inline(element.group(0))
            cells.append((column, value))
        return cells

    def _date(self, value: int | float, style_id: int) -> Cell:
        key = (value, style_id)
        cached = self.dates.get(key)
        if cached is None:
            try:
                cached = _plain(from_excel(value, self.plan.epoch, timedelta=style_id in self.plan.timedelta_formats))
            except (OverflowError, ValueError):
                warnings.warn(f"Cell is marked as a date but the serial value {value} is outside the limits for "
                              "dates. The cell will be treated as an error.")
                cached = "#VALUE!"
            if len(self.dates) > 100_000:
                self.dates.clear()
            self.dates[key] = cached
        return cached
