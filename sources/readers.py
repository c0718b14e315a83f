"""Read one site export (CSV or xlsx) into typed raw rows and row errors (site-exports.md §2-§3).

`open_export` reads only the header: whole-file problems (undecodable header, missing header,
missing required column, duplicate column, empty file, not an xlsx) raise `FileRefused` there.
Iterating the reader streams the rows in chunks, so memory stays bounded whatever the file
size; a whole-file problem found later (an undecodable byte in line 90 000, broken CSV
quoting) raises `FileRefused` during iteration, and the caller discards what it stored.

Every data row ends either in `ParsedChunk.rows` or, with its reasons, in `ParsedChunk.errors`
(one RowError per row: its check_name is the first problem's, its reason lists them all).
A fully empty row (every cell blank) is not a data row: it is skipped, keeps its row number,
and is counted in `ExportReader.empty_rows`.

Columns outside the specification are dropped at the header: their cells are never parsed,
never put in a row, an error reason or a raw_record. A header cell that is blank is such a
column too ("(column N, no header)"); a value in a cell beyond the last header is a row error
(the row is misaligned, typically a delimiter inside an unquoted value).

Decisions on hostile files (site-exports.md is silent):
- CSV lines may end in \\n, \\r\\n or a lone \\r (Excel for Mac's "CSV (Macintosh)").
- A byte-order mark after the first line means two exports were joined: the file is refused.
- A file of a gb18030 site that is valid UTF-8 and holds non-ASCII text is refused before
  anything else is read (site-exports.md §2, v1.2): UTF-8 Chinese often decodes without error as
  GB18030, into other characters (华法林片 would become 鍗庢硶鏋楃墖), and its header would
  otherwise be reported as "missing columns".
- A last line without its line break that is not a complete row (fewer cells than the header,
  or a row error) is reported (`ExportReader.cut_short`): the loader holds such a snapshot
  (site-exports.md §5, v1.2).
- xlsx formulas are read as formulas, never as Excel's last computed value, and are row errors
  (sources.parsing.check_text_cell); so are control characters, spreadsheet-formula text and
  cells longer than Excel's 32,767 characters. A raw_record shows such a cell cut short.
- A header-only file is a valid snapshot with no rows (a site with no adverse event yet).

Cross-field rules are left to `quality` (they need more than one cell or more than one row):
ref_low < ref_high, end after start dates, NEUT/LYMPH <= WBC, reason required when withdrawn,
subject_id unique in the file, plausibility limits. The reader checks what one cell (plus the
file name) can tell: types, required values, controlled terms, site_id = the file's site,
lab test code and unit. Ranges that depend on the file (birth_year up to the export year,
dates after the export date) are quality.schemas rules. quality.schemas re-asserts required
values and controlled terms on the typed rows: it is the contract of what may be stored,
whichever reader produced the rows.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from functools import partial
from itertools import islice
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Callable

import pandas as pd

from sources import xlsx_rows
from sources.bounds import TIME_CHECK_EVERY, ReadLimits, Watch
from sources.domains import DOMAINS, Column, Domain
from sources.inbox import open_inbox_file
from sources.model import ExportName, FileRefused, InboxFile, ParsedChunk, RowError
from sources.parsing import (MAX_CELL_CHARS, Cell, CellError, CellFormat, cell_text, excerpt, parse_cell,
                             parse_lab_value, parse_subject_id, parse_text, printable)
from sources.registry import DELIMITERS, SiteConfig, header_key
from sources.units import convert_lab

CHECK_SITE = "site_id.mismatch"
CHECK_ROW_SHAPE = "parse.row_shape"

# DuckDB type of raw.<domain> -> pandas dtype of ParsedChunk.rows (nullable where it matters;
# DATE columns hold datetime.date objects or None).
PANDAS_DTYPES = {"VARCHAR": object, "DATE": object, "INTEGER": "Int64", "DOUBLE": "Float64",
                 "BOOLEAN": "boolean"}

Rows = Iterator[tuple[int, list[Cell]]]   # (row number as a person sees it, cells); header = 1

_BAD = object()    # a cell (or derived field) that fails: the row goes through `_convert`
MEMO_LIMIT = 100_000   # distinct cells remembered per column and file (bounds memory)


def _memo_keys(cells: list) -> list:
    """Memo keys of workbook cells: (type, cell). In Python 1 == 1.0 == True; in a workbook
    they are different cells (True is no grade). CSV cells are all text: there the cell is
    its own key."""
    return list(zip(map(type, cells), cells))


def _remember(memo: dict, new: dict) -> dict:
    """`memo` with `new` added; once the memo is full (MEMO_LIMIT: it bounds memory), a copy
    with them, for this batch only."""
    if len(memo) + len(new) <= MEMO_LIMIT:
        memo.update(new)
        return memo
    return {**memo, **new}


# --- row sources: a file -> numbered rows of cells ----------------------------------------

MAX_LINE_BYTES = 32 << 20   # longer without a line break: not an export (a binary file?)
_LONE_CR = re.compile(rb"(?<=\r)(?!\n)")
_LINE_END = re.compile(rb"\r\n|\r|\n")


def _too_long() -> str:
    return (f"the file has more than {MAX_LINE_BYTES >> 20} MiB without a line break: it is not a CSV "
            "export (a binary file?)")


def _is_cr_only(first_line: bytes) -> bool:
    """Whether the file's first line ends in a lone \\r: then every line does."""
    first_end = _LINE_END.search(first_line)
    return first_end is not None and first_end.group() == b"\r"


def _raw_lines(fh: BinaryIO) -> Iterator[bytes]:
    """The file's lines as bytes, each with its ending. Lines end in \\n (or \\r\\n), unless the
    first line ends in a lone \\r: then the file is CR-only (Excel for Mac's "CSV (Macintosh)")
    and lines end in \\r. Deciding once per file keeps a stray \\r inside a value of an ordinary
    file an error (the csv module refuses it) instead of a silent extra row. Safe for both
    encodings: neither byte occurs inside a UTF-8 or GB18030 character. A line is read whole,
    so a file without line breaks is refused past a limit."""
    cr_only: bool | None = None
    number, quoted = 0, False
    while raw := fh.readline(MAX_LINE_BYTES + 1):
        if len(raw) > MAX_LINE_BYTES:
            raise FileRefused(_too_long())
        if cr_only is None:
            cr_only = _is_cr_only(raw)
        if cr_only:
            for part in _LONE_CR.split(raw):
                if part:
                    number += 1
                    quoted = _check_cr_only_line(part, number, quoted)
                    yield part
        else:
            yield raw


def _check_cr_only_line(part: bytes, number: int, quoted: bool) -> bool:
    """In a CR-only file a LF is no line break, but the csv module ends a row at it: a LF outside
    quotes would silently split a row in two (the mirror of a stray CR in an ordinary file).
    Returns whether a quoted value is still open at the end of the line."""
    if b"\n" not in part:
        return quoted ^ (part.count(b'"') % 2 == 1)
    for byte in part:
        if byte == 0x22:
            quoted = not quoted
        elif byte == 0x0A and not quoted:
            raise FileRefused(f"line {number} has a line-break character (LF) inside a value that is not in quotes "
                              "(the file's lines end in CR only): remove it, or put the value in quotes")
    return quoted


def _is_utf8_text(fh: BinaryIO) -> bool:
    """Whether the whole file is valid UTF-8 and holds non-ASCII text. Streams the file; a real
    GB18030 file stops at its first Chinese character that is not UTF-8 (nearly always the
    first one)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    non_ascii = False
    try:
        while block := fh.read(BLOCK_BYTES):
            decoder.decode(block)
            non_ascii = non_ascii or not block.isascii()
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        fh.seek(0)
    return non_ascii


def _check_declared_gb18030(fh: BinaryIO) -> None:
    """A file with a UTF-8 byte-order mark is refused by `_check_start`, naming it."""
    starts_with_bom = fh.read(3) == codecs.BOM_UTF8
    fh.seek(0)
    if not starts_with_bom and _is_utf8_text(fh):
        raise FileRefused("the file is UTF-8 text, but the site's declared encoding is GB18030: read as GB18030 "
                          "its Chinese text would turn into other characters (华法林片 into 鍗庢硶鏋楃墖); "
                          "export it in GB18030 (GBK), or change the site's encoding to utf-8 in the "
                          "site registry if the site now exports UTF-8")


def _check_start(raw: bytes, encoding: str) -> None:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRefused("the file is UTF-16 text (Excel 'Unicode text'); export it as "
                          f"CSV in {encoding} instead")
    if encoding != "utf-8" and raw.startswith(b"\xef\xbb\xbf"):
        raise FileRefused(f"the file starts with a UTF-8 byte-order mark, but the site's "
                          f"declared encoding is {encoding}: export it as {encoding}, or "
                          "correct the site's encoding in the site registry")


def _decode(raw: bytes, encoding: str, number: int, offset: int) -> str:
    """One line as text, or FileRefused saying which byte of which line is wrong."""
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise FileRefused(
            f"the file is not valid {encoding} text: byte(s) {raw[exc.start:exc.end].hex(' ')} at "
            f"byte offset {offset + exc.start} (line {number}) cannot be decoded; export the "
            f"file as {encoding}, or correct the site's encoding in the site registry") from None
    if "\x00" in text:
        raise FileRefused(f"the file contains a NUL character (line {number}): it is not plain "
                          f"{encoding} text (UTF-16 without byte-order mark, or a binary file?)")
    if number > 1 and "\ufeff" in text:
        raise FileRefused(f"the file has a byte-order mark (an invisible marker that starts a file) on "
                          f"line {number}: two exports were probably joined into one; send each export "
                          "as its own file")
    return text


def _decode_lines(raws: Iterable[bytes], encoding: str, number: int, offset: int) -> Iterator[str]:
    """Decode line by line so an undecodable byte is reported with its line and offset.
    `number` and `offset` are those of the line before the first of `raws`."""
    for raw in raws:
        number += 1
        if number == 1:
            _check_start(raw, encoding)
        text = _decode(raw, encoding, number, offset)
        offset += len(raw)
        yield text.removeprefix("\ufeff") if number == 1 else text


def _decoded_lines_one_by_one(fh: BinaryIO, encoding: str) -> Iterator[str]:
    """The reference reader: one readline and one decode per line."""
    yield from _decode_lines(_raw_lines(fh), encoding, 0, 0)


BLOCK_BYTES = 1 << 20
_LINE = re.compile(rb"[^\n]*\n|[^\n]+")


def _checked_lines(whole: bytes) -> Iterator[bytes]:
    """The lines of a block, refused at the first one longer than `_raw_lines` allows."""
    for raw in _LINE.findall(whole):
        if len(raw) > MAX_LINE_BYTES:
            raise FileRefused(_too_long())
        yield raw


def _decode_block(whole: bytes, encoding: str, number: int, offset: int) -> Iterator[str]:
    """The lines of `whole` (whole lines, after line `number`), as `_decode_lines` gives them.
    One decode for the block; a block with anything to report (an undecodable byte, a NUL, a
    byte-order mark, a line over the length limit) is decoded again line by line, which finds
    it and words it as always. Neither encoding has a byte 0x0A inside a character, so the
    block decodes exactly when each of its lines does, into the same text."""
    text = None
    if len(whole) <= MAX_LINE_BYTES:   # else it may hold a line too long
        try:
            text = whole.decode(encoding)
        except UnicodeDecodeError:
            pass
    if text is None or "\x00" in text or "\ufeff" in text:
        yield from _decode_lines(_checked_lines(whole), encoding, number, offset)
        return
    yield from io.StringIO(text, newline="\n")   # split after each \n only, as readline does


def _decoded_lines(fh: BinaryIO, encoding: str, block_bytes: int = BLOCK_BYTES) -> Iterator[str]:
    """The file's lines as text, exactly as `_decoded_lines_one_by_one` gives them (the same
    lines, the same FileRefused at the same line), a block of lines at a time: per-line reads
    and decodes cost more than the rest of reading a CSV row. A CR-only file (or a first line
    too long) is read by the reference reader."""
    first = fh.readline(MAX_LINE_BYTES + 1)
    if len(first) > MAX_LINE_BYTES or _is_cr_only(first):
        fh.seek(0)
        yield from _decoded_lines_one_by_one(fh, encoding)
        return
    yield from _decode_lines((first,) if first else (), encoding, 0, 0)
    number, offset, pending = 1, len(first), b""
    while True:
        data = fh.read(block_bytes)
        block = pending + data
        if not block:
            break
        cut = block.rfind(b"\n") + 1 if data else len(block)   # at the end of the file: all of it
        if cut == 0:   # no line ends in this block yet
            if len(block) > MAX_LINE_BYTES:
                raise FileRefused(_too_long())
            pending = block
            continue
        whole, pending = block[:cut], block[cut:]
        yield from _decode_block(whole, encoding, number, offset)
        number += whole.count(b"\n")   # only the last block can end without one
        offset += len(whole)


def _csv_problem(message: str, line: int, current: str) -> str:
    """The csv module's complaint as a site coordinator can act on it (`current`: the line being
    read when it complained)."""
    if "field larger than field limit" in message:
        limit = csv.field_size_limit()
        if len(current) > limit:   # the line itself is that long: a line-length problem
            quotes = "" if '"' in current else ", and it has no quote"
            return (f"a value near line {line} is longer than {limit} characters: line {line} alone is "
                    f"{len(current.rstrip(chr(13) + chr(10))):,} characters long without a line break{quotes}; no "
                    "export line is that long: is the file's content a CSV export of this domain (not "
                    "a binary file, or a text without line breaks)?")
        return (f"a value near line {line} is longer than {limit} characters: no export "
                "value is that long; most likely a quote (\") opens a value and is never closed, which "
                "makes the rest of the file one value")
    if "new-line character seen in unquoted field" in message:
        return (f"line {line} has a line-break character (CR) inside a value that is not in quotes: "
                "remove it, or put the value in quotes")
    return f"the file is not well-formed CSV near line {line}: {message} (check the quotes around values)"


def _watched(lines: Iterator[str], watch: Watch) -> Iterator[str]:
    """The lines, with the clock checked as they go; records the line being read and whether
    the last one ends without a line break."""
    line = ""
    for number, line in enumerate(lines):
        if number % TIME_CHECK_EVERY == 0:
            watch.check_time()
        watch.last_line = line
        yield line
    watch.unterminated = bool(line) and not line.endswith(("\n", "\r"))


def _csv_rows(file: InboxFile, site: SiteConfig, watch: Watch | None = None) -> Rows:
    watch = watch or Watch()
    with open_inbox_file(file) as fh:
        if site.encoding == "gb18030":
            _check_declared_gb18030(fh)
        reader = csv.reader(_watched(_decoded_lines(fh, site.encoding), watch), delimiter=site.delimiter,
                            strict=True)
        try:
            yield from enumerate(reader, 1)
        except csv.Error as exc:
            raise FileRefused(_csv_problem(str(exc), reader.line_num, watch.last_line)) from None


def _xlsx_rows(file: InboxFile, site: SiteConfig, watch: Watch | None = None) -> Rows:
    """The first sheet's rows, numbered as in Excel. The sheet's declared dimensions are
    ignored (some writers get them wrong, which would silently cut columns)."""
    with open_inbox_file(file) as fh:
        yield from xlsx_rows.sheet_rows(fh, watch or Watch())


ROW_SOURCES: dict[str, Callable[[InboxFile, SiteConfig, Watch], Rows]] = {"csv": _csv_rows, "xlsx": _xlsx_rows}


# --- header -------------------------------------------------------------------------------

def _blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


@dataclass(frozen=True)
class Layout:
    """Where each spec column is in the file, and what is dropped."""
    positions: dict[str, int]       # canonical column -> 0-based cell index
    header_map: dict[str, str]      # the file's header -> canonical column
    dropped_columns: list[str]      # headers outside the spec (never read)
    width: int                      # header cells up to the last non-blank one


def _other_delimiter(texts: list[str], lookup: dict[str, str], delimiter: str) -> tuple[str, list[str]] | None:
    """The delimiter that would split this header into more known columns than the site's
    declared one does, and those columns (a ";" file at a "," site reads as one cell)."""
    line = delimiter.join(texts)
    now = sum(header_key(t) in lookup for t in texts)
    best = None
    for other in DELIMITERS:
        if other == delimiter or other not in line:
            continue
        found = [lookup[header_key(t)] for t in line.split(other) if header_key(t) in lookup]
        if len(found) > now and (best is None or len(found) > len(best[1])):
            best = other, found
    return best


def _delimiter_name(delimiter: str) -> str:
    return {"\t": "tab"}.get(delimiter, f'"{delimiter}"')


def read_header(cells: list[Cell], domain: Domain, site: SiteConfig, delimiter: str | None = None) -> Layout:
    """Match the header row to the domain's columns: case and surrounding spaces ignored,
    the site's aliases applied; the canonical name is always accepted too. `delimiter`: the
    CSV delimiter the row was split at (None for a workbook), to name a file's other one."""
    texts = ["" if _blank(c) else str(cell_text(c)).replace("\ufeff", "").strip() for c in cells]
    width = max((i + 1 for i, t in enumerate(texts) if t), default=0)
    if width == 0:
        raise FileRefused("the first row is empty: the first row must be the header (column names)")
    aliases = site.aliases.get(domain.name, {})
    lookup = {header_key(c): c for c in domain.spec_columns}
    lookup.update({header_key(h): c for c, h in aliases.items()})
    positions: dict[str, int] = {}
    header_map: dict[str, str] = {}
    dropped: list[str] = []
    duplicates: list[str] = []
    for i, text in enumerate(texts[:width]):
        column = lookup.get(header_key(text)) if text else None
        if column is None:
            label = printable(text) if text else f"(column {i + 1}, no header)"
            if label not in dropped:
                dropped.append(label)
        elif column in positions:
            first = texts[positions[column]]
            duplicates.append(f"{first!r} (column {positions[column] + 1}) and {text!r} (column {i + 1}) "
                              f"are both {column}")
        else:
            positions[column] = i
            header_map[text] = column
    if duplicates:
        raise FileRefused(f"duplicate columns: {'; '.join(duplicates)}")
    other = _other_delimiter(texts[:width], lookup, delimiter) if delimiter is not None else None
    if other is not None and (not positions or any(c not in positions for c in domain.required_columns)):
        raise FileRefused(
            f"the header row names {len(positions)} column(s) of {domain.name} when split at "
            f"{_delimiter_name(delimiter)}, the site's declared delimiter, but {len(other[1])} when split at "
            f"{_delimiter_name(other[0])} ({', '.join(other[1])}): the file uses {_delimiter_name(other[0])} "
            f"as its delimiter; export it with {_delimiter_name(delimiter)}, or correct the site's "
            "delimiter in the site registry")
    if not positions:
        # Not a header at all (data in row 1?): do not echo its cells, they may identify someone.
        raise FileRefused(f"no header row: the first row names none of the columns of {domain.name} "
                          f"(expected {', '.join(domain.spec_columns)})")
    missing = [c for c in domain.required_columns if c not in positions]
    if missing:
        seen = ", ".join(printable(t) if t else "(blank)" for t in texts[:width])
        hint = ", ".join(f"{c} = {h!r}" for c, h in aliases.items())
        raise FileRefused(
            f"required column(s) missing for {domain.name}: {', '.join(missing)}; headers found: {seen}"
            + (f" (the site's declared aliases: {hint})" if hint else ""))
    return Layout(positions, header_map, dropped, width)


# --- rows ---------------------------------------------------------------------------------

def _lab_value(cell: Cell, fmt: CellFormat) -> tuple[float, str | None]:
    return parse_lab_value(cell, fmt.decimal)


# Columns that need more than their kind's parser.
COLUMN_PARSERS: dict[tuple[str, str], Callable[[Cell, CellFormat], object]] = {
    ("labs", "value"): _lab_value,
    **{(domain, "subject_id"): parse_subject_id for domain in DOMAINS},
}


def _lab_fields(test_code: str, value: tuple[float, str | None], unit: str, ref_low: float | None,
                ref_high: float | None, value_cell: Cell, *, unit_aliases: dict[str, str]) -> dict[str, object]:
    """Canonical value and unit beside the value and unit as written (raises CellError);
    units as the site spells them (its registry unit_aliases)."""
    measured, qualifier = value
    conversion = convert_lab(test_code, measured, unit, ref_low, ref_high, unit_aliases)
    return dict(
        test_code=conversion.test_code, original_test_code=conversion.original_test_code,
        value=conversion.value, value_qualifier=qualifier, unit=conversion.unit,
        original_value=parse_text(value_cell), original_unit=conversion.original_unit,
        conversion_factor=conversion.factor, ref_low=conversion.ref_low, ref_high=conversion.ref_high,
    )


@dataclass(frozen=True)
class DerivedFields:
    """Fields a domain derives from several parsed values of one row (and raw cells).

    `derive` must be pure (same arguments, same result or same CellError): the columnar path
    remembers its results. It runs only when every column of `needs` parsed."""
    values: tuple[str, ...]      # parsed values passed to derive, in order
    cells: tuple[str, ...]       # raw cells passed after them
    needs: tuple[str, ...]       # skipped when one of these failed (the row is refused already)
    derive: Callable[..., dict[str, object]]
    site_settings: tuple[str, ...] = ()   # SiteConfig fields passed to derive by keyword


# Row rules of a domain that need several cells of the row.
DERIVED_FIELDS: dict[str, DerivedFields] = {
    "labs": DerivedFields(values=("test_code", "value", "unit", "ref_low", "ref_high"), cells=("value",),
                          needs=("test_code", "value", "unit"), derive=_lab_fields,
                          site_settings=("unit_aliases",)),
}


def _recorded(cell: Cell) -> str | None:
    """A cell for the quarantine's raw_record: as written, unless longer than any real cell."""
    text = cell_text(cell)
    return excerpt(text) if text is not None and len(text) > MAX_CELL_CHARS else text


def _problem(exc: CellError, column: str) -> tuple[str, str]:
    return exc.check, f"column {exc.column or column}: {exc.reason}"


class ExportReader:
    """Iterable of ParsedChunk for one export; see the module docstring for the guarantees."""

    def __init__(self, file: InboxFile, name: ExportName, site: SiteConfig, layout: Layout, chunk_rows: int,
                 rows: Rows | None = None, watch: Watch | None = None):
        self.file = file
        self.watch = watch or Watch()
        # Set once every row is read: why the file looks cut short (None: it does not).
        self.cut_short: str | None = None
        # The rows after the header, left open by open_export: the first iteration goes on from
        # there instead of opening the file again (an xlsx sheet is checked whole before its first
        # row: reading it twice cost a tenth of the read).
        self._opened = rows
        self.name = name
        self.site = site
        self.domain = name.domain
        self.spec = DOMAINS[name.domain]
        self.layout = layout
        self.header_map = dict(layout.header_map)
        self.dropped_columns = list(layout.dropped_columns)
        self.chunk_rows = chunk_rows
        self.empty_rows = 0
        self._format = CellFormat(site.decimal, site.date_format, site.subject_id_pattern)
        # Per spec column: where it is in the row (None: absent, optional) and its parser.
        self._plan = [(c, layout.positions.get(c.name), COLUMN_PARSERS.get((self.domain, c.name)))
                      for c in self.spec.columns]
        self._derived = DERIVED_FIELDS.get(self.domain)
        # derive with the site's settings bound: one reader reads one site's file.
        self._derive = (partial(self._derived.derive, **{s: getattr(site, s) for s in self._derived.site_settings})
                        if self._derived else None)
        # Columnar path: per spec column, parsed value (or _BAD) of each distinct cell seen.
        self._memo: dict[str, dict[object, object]] = {c.name: {} for c in self.spec.columns}
        self._failed: dict[str, set[object]] = {c.name: set() for c in self.spec.columns}
        self._derived_memo: dict[tuple, object] = {}
        # CSV cells are all text (or None): the cell itself is its memo key.
        self._text_cells = name.ext == "csv"
        # What `derive` sets: the parsed values it replaces and the domain's derived columns.
        self._derived_names = ([c for c in self.spec.raw_columns()
                                if c in self._derived.values or c in self.spec.derived]
                               if self._derived else [])

    def __iter__(self) -> Iterator[ParsedChunk]:
        """Rows are converted a batch at a time, column by column (`_convert_batch`); a chunk
        is yielded as soon as it holds `chunk_rows` rows (accepted + errors), as row by row."""
        self.empty_rows = 0
        frames: list[pd.DataFrame] = []
        errors: list[RowError] = []
        pending = 0
        yielded = False
        rows, self._opened = self._opened, None
        reopened = rows is None
        if reopened:  # a second iteration
            self.watch = Watch(self.watch.limits)
            rows = ROW_SOURCES[self.name.ext](self.file, self.site, self.watch)
        last: tuple[int, list[Cell]] | None = None
        last_failed = False
        try:
            if reopened:
                next(rows)  # the header, already matched by open_export
            while batch := list(islice(rows, self.chunk_rows - pending)):
                self.watch.check_time()
                frame, batch_errors = self._convert_batch(batch)
                last = batch[-1]
                last_failed = any(e.source_row == last[0] for e in batch_errors)
                frames.append(frame)
                errors += batch_errors
                pending += len(frame) + len(batch_errors)
                if pending >= self.chunk_rows:
                    yield self._chunk(frames, errors)
                    frames, errors, pending, yielded = [], [], 0, True
            self.cut_short = self._cut_short(last, last_failed)
            if pending or not yielded:
                yield self._chunk(frames, errors)
        finally:
            rows.close()

    def _cut_short(self, last: tuple[int, list[Cell]] | None, failed: bool) -> str | None:
        """site-exports.md §5 (v1.2): a last line without its line break that is not a complete
        row (fewer cells than the header, or a row error) means the transfer was interrupted."""
        if not self.watch.unterminated or last is None:
            return None
        number, cells = last
        if all(_blank(c) for c in cells):
            return None
        filled = len(cells)
        if filled >= self.layout.width and not failed:
            return None
        what = (f"has {filled} of the header's {self.layout.width} cells" if filled < self.layout.width
                else "is not a valid row")
        return (f"the file looks cut short (an interrupted transfer?): its last line (row {number}) ends "
                f"without a line break and {what}")
    def _chunk(self, frames: list[pd.DataFrame], errors: list[RowError]) -> ParsedChunk:
        frames = [f for f in frames if len(f)] or frames[:1] or [self._frame({}, 0)]
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        return ParsedChunk(rows=frame, errors=errors)

    def _frame(self, columns: dict[str, list], n: int) -> pd.DataFrame:
        """Rows in raw.<domain>'s column order and dtypes; absent columns are empty."""
        return pd.DataFrame({
            c: pd.Series(columns.get(c, [None] * n), dtype=PANDAS_DTYPES[t])
            for c, t in self.spec.raw_columns().items()
        })

    def _parse_column(self, column: Column, parser, cells: list[Cell], bad: set[int]) -> list[object]:
        """Parsed values of one column; positions that fail go to `bad`. Each distinct cell is
        parsed once: exports repeat the same dates, codes, units and values thousands of times,
        and parse_cell depends on nothing but the cell (and the site's format)."""
        memo, failed = self._memo[column.name], self._failed[column.name]
        keys = cells if self._text_cells else _memo_keys(cells)
        try:
            out = list(map(memo.__getitem__, keys))
        except KeyError:  # cells not seen yet: parse each new distinct cell once
            fmt = self._format
            new = {}
            for key, cell in dict(zip(keys, cells)).items():
                if key in memo:
                    continue
                try:
                    new[key] = parse_cell(column, cell, fmt, parser)
                except CellError:
                    new[key] = _BAD
                    failed.add(key)
            out = list(map(_remember(memo, new).__getitem__, keys))
        if failed and not failed.isdisjoint(keys):
            bad.update(i for i, value in enumerate(out) if value is _BAD)
        return out

    def _derive_column(self, values: dict[str, list], cells: dict[str, list],
                       bad: set[int]) -> list[dict[str, object] | None]:
        """`derive` of every row that parsed, remembered per distinct input."""
        derived = self._derived
        memo = self._derived_memo
        args = [values[c] for c in derived.values] + [cells[c] for c in derived.cells]
        keys = list(zip(*(args if self._text_cells else map(_memo_keys, args))))
        try:
            out = list(map(memo.__getitem__, keys))
        except KeyError:  # inputs not seen yet: derive each new distinct input once
            parsed = [values[c] for c in derived.values]
            new = {}
            for key, i in dict(zip(keys, range(len(keys)))).items():
                if key in memo or any(column[i] is _BAD for column in parsed):
                    continue  # remembered, or a cell failed (the row is refused: nothing to derive)
                try:
                    new[key] = self._derive(*(a[i] for a in args))
                except CellError:
                    new[key] = _BAD
            out = list(map(_remember(memo, new).get, keys))   # None: a row with a failed cell
        if _BAD in out:
            bad.update(i for i, fields in enumerate(out) if fields is _BAD)
        return out

    def _convert_batch(self, batch: list[tuple[int, list[Cell]]]) -> tuple[pd.DataFrame, list[RowError]]:
        """Convert rows column by column with the same parsers as `_convert`. Every row with
        anything wrong (a cell, the site, a derived field, a value beyond the header, an empty
        row) is converted again by `_convert`, row by row: its errors, and the decision to skip
        it, are exactly those of the row-by-row reader."""
        width = self.layout.width
        numbers = [number for number, _ in batch]
        grid: list[list[Cell]] = [cells for _, cells in batch]
        bad: set[int] = set()
        if any(len(cells) != width for cells in grid):
            for i, cells in enumerate(grid):
                n = len(cells)
                if n < width:
                    grid[i] = cells + [None] * (width - n)
                elif n > width:
                    if any(not _blank(c) for c in cells[width:]):
                        bad.add(i)
                    grid[i] = cells[:width]
        columns = list(zip(*grid)) if grid else [()] * width
        values: dict[str, list] = {}
        spec_cells: dict[str, list] = {}
        for column, position, parser in self._plan:
            if position is None:  # an optional column the file does not have
                values[column.name] = spec_cells[column.name] = [None] * len(batch)
                continue
            spec_cells[column.name] = cells = list(columns[position])
            values[column.name] = self._parse_column(column, parser, cells, bad)
        site = self.name.site
        site_ids = values["site_id"]
        other_sites = {v for v in set(site_ids) if v is not _BAD and str(v).upper() != site}
        if other_sites:
            bad.update(i for i, site_id in enumerate(site_ids) if site_id in other_sites)
        derived = self._derive_column(values, spec_cells, bad) if self._derived else None

        keep = [i for i in range(len(batch)) if i not in bad] if bad else range(len(batch))
        out: dict[str, list] = {name: [col[i] for i in keep] for name, col in values.items()} if bad else values
        if derived is not None:
            fields = [derived[i] for i in keep] if bad else derived
            for name in self._derived_names:
                out[name] = [f[name] for f in fields]
        n = len(keep)
        out.update(site_id=[site] * n, source_file=[self.file.rel_path] * n,
                   source_sha256=[self.file.sha256] * n, source_row=[numbers[i] for i in keep] if bad else numbers,
                   export_date=[self.name.export_date] * n)
        frame = self._frame(out, n)
        if not bad:
            return frame, []

        records: list[dict[str, object]] = []
        errors: list[RowError] = []
        for i in sorted(bad):
            outcome = self._convert(*batch[i])
            if outcome is None:
                self.empty_rows += 1
            elif isinstance(outcome, RowError):
                errors.append(outcome)
            else:
                records.append(outcome)
        if records:  # e.g. a row that only looked wrong to the columnar pass: keep file order
            extra = self._frame({c: [r.get(c) for r in records] for c in self.spec.raw_columns()}, len(records))
            frame = pd.concat([frame, extra], ignore_index=True).sort_values("source_row", kind="stable",
                                                                             ignore_index=True)
        return frame, errors

    def convert_rows(self, batch: list[tuple[int, list[Cell]]]) -> tuple[pd.DataFrame, list[RowError]]:
        """Rows (number, cells) converted as iterating the reader converts them: the typed rows
        and the row errors (fully empty rows are counted in `empty_rows`). The native CSV path
        (`sources.native_csv`) sends its rows with anything to report here."""
        return self._convert_batch(batch)

    def _convert(self, number: int, cells: list[Cell]) -> dict[str, object] | RowError | None:
        """One data row -> a raw record, a RowError, or None for a fully empty row."""
        if all(_blank(c) for c in cells):
            return None
        width = len(cells)
        spec_cells: dict[str, Cell] = {}
        values: dict[str, object] = {}
        problems: list[tuple[str, str]] = []
        for column, position, parser in self._plan:
            if position is None:  # an optional column the file does not have
                values[column.name] = None
                continue
            cell = spec_cells[column.name] = cells[position] if position < width else None
            try:
                values[column.name] = parse_cell(column, cell, self._format, parser)
            except CellError as exc:
                problems.append(_problem(exc, column.name))
        site_id = values.get("site_id")
        if site_id is not None and str(site_id).upper() != self.name.site:
            problems.append((CHECK_SITE, f'column site_id: "{site_id}" is not the site of the file '
                             f"name ({self.name.site})"))
        derived = self._derived
        if derived is not None and all(c in values for c in derived.needs):
            try:
                values.update(self._derive(*(values.get(c) for c in derived.values),
                                             *(spec_cells.get(c) for c in derived.cells)))
            except CellError as exc:
                problems.append(_problem(exc, ""))
        beyond = next((i for i in range(self.layout.width, width) if not _blank(cells[i])), None)
        if beyond is not None:
            delimiter = _delimiter_name(self.site.delimiter)
            problems.insert(0, (CHECK_ROW_SHAPE, f"the row has a value in column {beyond + 1}, beyond the "
                                f"{self.layout.width} columns of the header: the row may be misaligned "
                                f"(a {delimiter} inside a value without quotes?)"))
        if problems:
            return RowError(
                source_row=number, check_name=problems[0][0], reason="; ".join(p[1] for p in problems),
                raw_record={c: _recorded(spec_cells.get(c)) for c in self.spec.spec_columns},
                subject_id=values.get("subject_id"),  # only a subject_id that passed its checks
            )
        values["site_id"] = self.name.site
        values.update(source_file=self.file.rel_path, source_sha256=self.file.sha256,
                      source_row=number, export_date=self.name.export_date)
        return values


def _no_rows(file: InboxFile, name: ExportName) -> str:
    if name.ext == "xlsx":
        with open_inbox_file(file) as fh:
            others = xlsx_rows.other_sheets_with_rows(fh)
        if others:
            shown = ", ".join(f'"{printable(title)}" (sheet {n})' for n, title in others)
            return (f"the workbook's first sheet is empty, and the data seem to be on another sheet: {shown}; "
                    "the warehouse reads the first sheet only: move the data sheet to the first place "
                    "(or delete the empty sheet) and send the file again")
    return "the file has no rows: a header row (column names) is required"


def open_export(file: InboxFile, name: ExportName, site: SiteConfig, chunk_rows: int = 50_000,
                limits: ReadLimits | None = None) -> ExportReader:
    """Check the file as a whole and match its header; raises FileRefused with the reason.
    `limits`: the bounds of reading it (time, xlsx expansion; defaults of sources.bounds)."""
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    if file.size == 0:
        raise FileRefused("the file is empty (0 bytes)")
    watch = Watch(limits)
    rows = ROW_SOURCES[name.ext](file, site, watch)
    try:
        first = next(rows, None)
        if first is None:
            raise FileRefused(_no_rows(file, name))
        delimiter = site.delimiter if name.ext == "csv" else None
        layout = read_header(first[1], DOMAINS[name.domain], site, delimiter)
        return ExportReader(file, name, site, layout, chunk_rows, rows, watch)
    except BaseException:
        rows.close()
        raise
