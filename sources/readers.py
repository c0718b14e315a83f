"""Read one site export (CSV or xlsx) into typed raw rows and row errors (site-exports.md §2-§3).

`open_export` reads only the header: whole-file problems (undecodable header, missing header,
missing required column, duplicate column, empty file, not an xlsx) raise `FileRefused` there.
Iterating the reader streams the rows in chunks, so memory stays bounded whatever the file
size; a whole-file problem found later (an undecodable byte in line 90 000, broken CSV
quoting) raises `FileRefused` during iteration, and the caller discards what it stored.

One concern per module: `sources.csv_lines` (bytes -> lines -> cells: encodings, byte-order
marks, line endings, quoting), `sources.xlsx_rows` (a workbook's first sheet -> cells),
`sources.header` (header -> column positions, aliases, delimiter), `sources.parsing` (one cell
-> a typed value or a CellError), `sources.derivations` (lab value and unit conversion: fields
from several cells), and this module: the rows of a file -> ParsedChunk, column by column.

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

from collections.abc import Callable, Iterator
from functools import partial
from itertools import islice

import pandas as pd

from sources import reason_codes as rc, xlsx_rows
from sources.bounds import ReadLimits, Watch
from sources.csv_lines import Rows, csv_rows
from sources.derivations import COLUMN_PARSERS, DERIVED_FIELDS
from sources.domains import DOMAINS, Column
from sources.header import Layout, blank, delimiter_name, read_header
from sources.inbox import open_inbox_file
from sources.model import ExportName, FileRefused, InboxFile, ParsedChunk, RowError
from sources.parsing import MAX_CELL_CHARS, Cell, CellError, CellFormat, cell_text, excerpt, parse_cell, printable
from sources.registry import SiteConfig

CHECK_SITE = "site_id.mismatch"
CHECK_ROW_SHAPE = "parse.row_shape"

# DuckDB type of raw.<domain> -> pandas dtype of ParsedChunk.rows (nullable where it matters;
# DATE columns hold datetime.date objects or None).
PANDAS_DTYPES = {"VARCHAR": object, "DATE": object, "INTEGER": "Int64", "DOUBLE": "Float64",
                 "BOOLEAN": "boolean"}

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

def _xlsx_rows(file: InboxFile, site: SiteConfig, watch: Watch | None = None) -> Rows:
    """The first sheet's rows, numbered as in Excel. The sheet's declared dimensions are
    ignored (some writers get them wrong, which would silently cut columns)."""
    with open_inbox_file(file) as fh:
        yield from xlsx_rows.sheet_rows(fh, watch or Watch())


ROW_SOURCES: dict[str, Callable[[InboxFile, SiteConfig, Watch], Rows]] = {"csv": csv_rows, "xlsx": _xlsx_rows}


# --- rows ---------------------------------------------------------------------------------

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
        if all(blank(c) for c in cells):
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
                    if any(not blank(c) for c in cells[width:]):
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
        if all(blank(c) for c in cells):
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
        beyond = next((i for i in range(self.layout.width, width) if not blank(cells[i])), None)
        if beyond is not None:
            delimiter = delimiter_name(self.site.delimiter)
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


def _no_rows(file: InboxFile, name: ExportName) -> FileRefused:
    if name.ext == "xlsx":
        with open_inbox_file(file) as fh:
            others = xlsx_rows.other_sheets_with_rows(fh)
        if others:
            shown = ", ".join(f'"{printable(title)}" (sheet {n})' for n, title in others)
            return FileRefused(f"the workbook's first sheet is empty, and the data seem to be on another sheet: "
                               f"{shown}; the warehouse reads the first sheet only: move the data sheet to the "
                               "first place (or delete the empty sheet) and send the file again",
                               code=rc.FILE_DATA_ON_OTHER_SHEET)
    return FileRefused("the file has no rows: a header row (column names) is required", code=rc.FILE_NO_ROWS)


def open_export(file: InboxFile, name: ExportName, site: SiteConfig, chunk_rows: int = 50_000,
                limits: ReadLimits | None = None) -> ExportReader:
    """Check the file as a whole and match its header; raises FileRefused with the reason.
    `limits`: the bounds of reading it (time, xlsx expansion; defaults of sources.bounds)."""
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    if file.size == 0:
        raise FileRefused("the file is empty (0 bytes)", code=rc.FILE_EMPTY)
    watch = Watch(limits)
    rows = ROW_SOURCES[name.ext](file, site, watch)
    try:
        first = next(rows, None)
        if first is None:
            raise _no_rows(file, name)
        delimiter = site.delimiter if name.ext == "csv" else None
        layout = read_header(first[1], DOMAINS[name.domain], site, delimiter)
        return ExportReader(file, name, site, layout, chunk_rows, rows, watch)
    except BaseException:
        rows.close()
        raise
