"""Native CSV reading: DuckDB splits the lines and cells and joins the typed values back; the
decisions stay those of the Python reader (`sources.readers`), by construction.

Why: the Python reader costs about 12 us a row (the csv module, one dict look-up per cell,
building pandas frames of Python objects); DuckDB reads the same file at about 1 us a row.

What makes the outcome equal to the Python reader's:
- **Only plain files.** A file goes this way only when the Python reader would see nothing but
  lines of cells split at the delimiter (`plain_text`): valid text in the site's encoding, no
  quote character, no NUL, no U+0001 (the join key of an absent cell), no byte-order mark but
  a leading UTF-8 one at a UTF-8 site, no CR but in a CRLF line end, every line ended, no line
  longer than the csv module's field limit, and a header `read_header` accepts. The csv module
  splits such a line exactly where `string_split` does, and the file's n-th line is its n-th
  row (element n of the text split at LF: blank lines keep their numbers). Anything else (a quoted
  value, a CR-only file, a GB18030 site's UTF-8 file, a BOM mid-file, a file cut short)
  returns None: the caller reads the file with the Python reader, which refuses or reads it
  as always.
- **Each distinct cell is parsed by `sources.parsing.parse_cell`**, the Python reader's own
  parser, once per column (exports repeat a few thousand distinct cells over 60,000 rows); the
  labs' derived fields (unit conversion) by the reader's own `derive`, once per distinct input.
  DuckDB only joins the results back to the rows.
- **Every row with anything to report goes through the Python row path**
  (`ExportReader.convert_rows`, the columnar reader's own batch conversion): a cell that fails,
  the site, a derived field, a row wider than the header, a blank row. Its errors, and its row
  number, are the Python reader's.

GB18030 files are decoded by Python's codec and handed to DuckDB as UTF-8 (DuckDB's encodings
extension cannot be installed here); every file DuckDB reads is written from the text checked
above, so what it reads is what was checked.
"""
from __future__ import annotations

import codecs
import csv
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from sources.bounds import ReadLimits, Watch
from sources.domains import DOMAINS
from sources.inbox import open_inbox_file
from sources.model import ExportName, FileRefused, InboxFile
from sources.parsing import Cell, CellError, parse_cell
from sources.header import Layout, read_header
from sources.readers import PANDAS_DTYPES, ExportReader
from sources.registry import SiteConfig

# Files above this size are streamed by the Python reader (the native path holds a file whole).
NATIVE_MAX_BYTES = 64 << 20
_MISSING = "\x01"   # join key of an absent cell (a row shorter than the header); never in a plain file

_TABLES = ("_native_cells", "_native_typed")


def plain_text(data: bytes, encoding: str) -> str | None:
    """The file as text when the Python reader would read it as plain delimited lines (see the
    module docstring), without a leading byte-order mark; None when anything else could happen."""
    if not data.endswith(b"\n") or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    if encoding != "utf-8":
        if data.startswith(codecs.BOM_UTF8):
            return None   # refused by the Python reader, naming both encodings
        if not data.isascii():
            try:
                data.decode("utf-8")
                return None   # UTF-8 text at a GB18030 site: refused by the Python reader
            except UnicodeDecodeError:
                pass
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    if encoding == "utf-8":
        text = text.removeprefix("\ufeff")
    if any(ch in text for ch in ('"', "\x00", "\ufeff", _MISSING)):
        return None
    if text.count("\r") != text.count("\r\n"):
        return None   # a lone CR: a CR-only file, or a CR inside a value
    return text


@dataclass
class _Mapping:
    """Parsed value of each distinct cell of one column (or derived input), for the join."""
    name: str
    frame: pd.DataFrame


@dataclass
class StagedCsv:
    """A plain CSV split and typed in DuckDB temp tables of the loader's connection.

    `_native_typed` holds one row per data line: the raw.<domain> columns and `unclean`, true
    for every row the Python row path must decide. Close it (`close`) before the transaction
    that staged it ends."""
    conn: duckdb.DuckDBPyConnection
    reader: ExportReader          # the Python reader of this file (layout, row path)
    lines: int                    # data lines (blank ones included)
    watch: Watch
    delimiter: str
    tables: list[str] = field(default_factory=list)   # the mappings' temp tables

    @property
    def layout(self) -> Layout:
        return self.reader.layout

    def _cells(self, where: str, params: list | None = None) -> Iterator[list[tuple[int, list[Cell]]]]:
        """(row number, cells as the csv module splits the line), in file order, a batch at a time."""
        result = self.conn.execute(
            f"SELECT source_row, line FROM _native_cells WHERE {where} ORDER BY source_row", params or [])
        while batch := result.fetchmany(self.reader.chunk_rows):
            self.watch.check_time()
            yield [(number, line.split(self.delimiter) if line else []) for number, line in batch]

    def unclean_rows(self) -> Iterator[list[tuple[int, list[Cell]]]]:
        """Rows with anything to report, for the Python row path."""
        return self._cells("source_row IN (SELECT source_row FROM _native_typed WHERE unclean)")

    def rows(self, numbers: list[int]) -> Iterator[list[tuple[int, list[Cell]]]]:
        """The rows of these numbers, for the Python row path."""
        if numbers:
            yield from self._cells("list_contains(?::INTEGER[], source_row)", [numbers])

    def clean_frames(self) -> Iterator[pd.DataFrame]:
        """The clean rows as typed frames in the dtypes the Python reader gives (DATE columns as
        datetime64: every row check reads them through `pd.to_datetime`), for the row checks."""
        columns = DOMAINS[self.reader.domain].raw_columns()
        result = self.conn.execute(
            f"SELECT {', '.join(columns)} FROM _native_typed WHERE NOT unclean ORDER BY source_row")
        while True:
            frame = result.fetch_df_chunk(max(1, self.reader.chunk_rows // 2048))
            if frame.empty:
                return
            self.watch.check_time()
            for column, kind in columns.items():
                if kind in ("INTEGER", "DOUBLE", "BOOLEAN"):
                    frame[column] = frame[column].astype(PANDAS_DTYPES[kind])
            yield frame

    def clean_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM _native_typed WHERE NOT unclean").fetchone()[0])

    def store(self, excluded: list[int], python_rows: pd.DataFrame | None) -> int:
        """Insert the clean rows but `excluded`, and the rows the Python row path accepted
        (`python_rows`, cast as the loader casts a Python chunk), into raw.<domain> in file
        order, as the Python path stores a file; returns how many."""
        types = DOMAINS[self.reader.domain].raw_columns()
        columns = ", ".join(types)
        rows = f"SELECT {columns} FROM _native_typed WHERE NOT unclean AND NOT list_contains(?::INTEGER[], source_row)"
        if python_rows is not None and len(python_rows):
            self.conn.register("_native_python", python_rows)
            rows += (" UNION ALL SELECT " + ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in types.items())
                     + " FROM _native_python")
        try:
            return int(self.conn.execute(
                f"INSERT INTO raw.{self.reader.domain} ({columns}) SELECT {columns} FROM ({rows}) ORDER BY source_row",
                [excluded]).fetchone()[0])
        finally:
            if python_rows is not None and len(python_rows):
                self.conn.unregister("_native_python")

    def close(self) -> None:
        self.conn.execute("; ".join(f"DROP TABLE IF EXISTS temp.{table}" for table in (*_TABLES, *self.tables)))
        self.tables.clear()


def _header_cells(text: str, delimiter: str) -> list[Cell]:
    first = text[:text.index("\n")].removesuffix("\r")
    return first.split(delimiter) if first else []


def _write_utf8(data: bytes, text: str, encoding: str) -> str:
    """A temporary UTF-8 copy of the checked text for DuckDB's reader (the bytes as they are
    when they already are that text)."""
    fd, path = tempfile.mkstemp(prefix="itp-native-", suffix=".csv")
    with os.fdopen(fd, "wb") as out:
        out.write(data if encoding == "utf-8" and not data.startswith(codecs.BOM_UTF8) else text.encode("utf-8"))
    return path


def stage(conn: duckdb.DuckDBPyConnection, file: InboxFile, name: ExportName, site: SiteConfig,
          limits: ReadLimits | None = None, chunk_rows: int = 50_000) -> StagedCsv | None:
    """Split and type a plain CSV in DuckDB; None when the file is not plain (the Python reader
    then reads it). Runs inside the caller's transaction."""
    if name.ext != "csv" or not 0 < file.size <= NATIVE_MAX_BYTES:
        return None
    watch = Watch(limits)
    with open_inbox_file(file) as fh:
        data = fh.read(NATIVE_MAX_BYTES + 1)
    if len(data) > NATIVE_MAX_BYTES:
        return None
    text = plain_text(data, site.encoding)
    if text is None:
        return None
    try:
        layout = read_header(_header_cells(text, site.delimiter), DOMAINS[name.domain], site, site.delimiter)
    except FileRefused:
        return None   # the Python reader refuses it, in its own words
    reader = ExportReader(file, name, site, layout, chunk_rows, watch=watch)
    lines = text.count("\n")
    path = _write_utf8(data, text, site.encoding)
    del data, text
    staged = StagedCsv(conn, reader, lines - 1, watch, site.delimiter)
    try:
        # Element n of the split is line n (the last one is empty: the file ends with a line
        # break); a trailing CR is the csv module's line end too.
        conn.execute(
            "CREATE OR REPLACE TEMP TABLE _native_cells AS SELECT n::INTEGER AS source_row, line, "
            "string_split(line, ?) AS c FROM (SELECT rtrim(unnest(l), chr(13)) AS line, generate_subscripts(l, 1) AS n, "
            "len(l) AS total FROM (SELECT string_split(content, chr(10)) AS l FROM read_text(?))) "
            "WHERE n > 1 AND n < total", [site.delimiter, path])
    except duckdb.Error:
        staged.close()
        return None
    finally:
        os.unlink(path)
    watch.check_time()
    count, longest = conn.execute("SELECT count(*), coalesce(max(length(line)), 0) FROM _native_cells").fetchone()
    if count != lines - 1 or longest > csv.field_size_limit():
        staged.close()
        return None   # not the lines the csv module would see (cannot happen for a plain text) / a field error
    try:
        _type_rows(staged)
    except BaseException:
        staged.close()
        raise
    watch.check_time()
    return staged


def _cell_expr(position: int | None) -> str:
    return "NULL::VARCHAR" if position is None else f"c[{position + 1}]"


def _key_expr(position: int | None) -> str:
    return f"coalesce({_cell_expr(position)}, chr({ord(_MISSING)}))"


def _distinct(conn: duckdb.DuckDBPyConnection, positions: list[int | None]) -> list[tuple]:
    """Distinct cell tuples at these positions (None: the cell is absent)."""
    exprs = ", ".join(_key_expr(p) for p in positions)
    return conn.execute(f"SELECT DISTINCT {exprs} FROM _native_cells").fetchall()


def _cell(key: str) -> Cell:
    return None if key == _MISSING else key


_BAD = object()


def _distinct_cells(conn: duckdb.DuckDBPyConnection, positions: list[int]) -> list[list[str]]:
    """The distinct cells (join keys) at each position, in one pass over the rows."""
    if not positions:
        return []
    lists = ", ".join(f"list(DISTINCT {_key_expr(p)})" for p in positions)
    return [keys or [] for keys in conn.execute(f"SELECT {lists} FROM _native_cells").fetchone()]   # NULL: no row


def _type_rows(staged: StagedCsv) -> None:
    """`_native_typed`: each distinct cell parsed by the Python reader's parser, joined back."""
    conn, reader = staged.conn, staged.reader
    raw_types = DOMAINS[reader.domain].raw_columns()
    fmt, site_code = reader._format, reader.name.site
    derived_names = set(reader._derived_names)
    present = [(i, column, position, parser) for i, (column, position, parser) in enumerate(reader._plan)
               if position is not None]
    parsed: dict[str, dict[str, object]] = {c.name: {_MISSING: None} for c, p, _ in reader._plan if p is None}
    mapping: dict[str, list] = {}
    types: dict[str, str] = {}
    joins, selects, bad = [], {}, []
    for (i, column, position, parser), keys in zip(present, _distinct_cells(conn, [p for _, _, p, _ in present])):
        values: dict[str, object] = {}
        for key in keys:
            try:
                value = parse_cell(column, _cell(key), fmt, parser)
            except CellError:
                value = _BAD
            if column.name == "site_id" and value is not _BAD and str(value).upper() != site_code:
                value = _BAD   # the Python reader refuses a row of another site
            values[key] = value
        parsed[column.name] = values
        mapping[f"k{i}"] = list(values)
        mapping[f"ok{i}"] = [v is not _BAD for v in values.values()]
        if column.name not in derived_names:   # else `derive` gives the stored value
            mapping[f"v{i}"] = [None if v is _BAD else v for v in values.values()]
            types[f"v{i}"] = raw_types[column.name]
            selects[column.name] = f"m{i}.v{i}"
        joins.append(f"LEFT JOIN _native_map AS m{i} ON m{i}.k{i} = {_key_expr(position)}")
        bad.append(f"NOT coalesce(m{i}.ok{i}, false)")
    # One table for every column: shorter columns padded (a NULL key matches no cell).
    size = max(map(len, mapping.values()), default=0)
    _materialize(staged, "_native_map", {name: values + [False if name.startswith("ok") else None] * (size - len(values))
                                         for name, values in mapping.items()}, types)
    if reader._derived is not None:
        _derive_mapping(staged, parsed, joins, selects, bad, raw_types)
    constants = {"site_id": site_code, "source_file": reader.file.rel_path,
                 "source_sha256": reader.file.sha256, "export_date": reader.name.export_date}
    out = []
    params: list[object] = []
    for column, kind in raw_types.items():
        if column == "source_row":
            out.append("n.source_row")
        elif column in constants:
            out.append(f"CAST(? AS {kind}) AS {column}")
            params.append(constants[column])
        elif column in selects:
            out.append(f"{selects[column]} AS {column}")
        else:
            out.append(f"NULL::{kind} AS {column}")
    bad.append(f"len(n.c) > {reader.layout.width}")
    conn.execute(f"CREATE OR REPLACE TEMP TABLE _native_typed AS SELECT {', '.join(out)}, "
                 f"({' OR '.join(bad)}) AS unclean FROM _native_cells AS n {' '.join(joins)}", params)


def _materialize(staged: StagedCsv, table: str, columns: dict[str, list], types: dict[str, str]) -> None:
    """A mapping (columns of equal length) as a temp table. Python values reach DuckDB as list
    parameters and are cast to raw.<domain>'s types, as the loader casts a chunk of the Python
    reader (`ingest.intake._insert_rows`): the same floats, whole numbers, dates and text."""
    selects = [f"unnest(?::{types.get(name, 'BOOLEAN' if name.startswith('ok') else 'VARCHAR')}[]) AS {name}"
               for name in columns]
    staged.conn.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {', '.join(selects)}", list(columns.values()))
    staged.tables.append(table)


def _derive_mapping(staged: StagedCsv, parsed: dict[str, dict[str, object]], joins: list[str],
                    selects: dict[str, str], bad: list[str], raw_types: dict[str, str]) -> None:
    """The derived fields (labs: unit conversion) of each distinct input, by the reader's `derive`."""
    conn, reader = staged.conn, staged.reader
    derived = reader._derived
    positions = reader.layout.positions
    inputs = list(derived.values) + [c for c in derived.cells if c not in derived.values]
    keys = _distinct(conn, [positions.get(c) for c in inputs])
    rows: list[tuple] = []
    names = reader._derived_names
    for key in keys:
        cells = dict(zip(inputs, key))
        values = [parsed[c][cells[c]] for c in derived.values]
        fields = None
        if not any(v is _BAD for v in values):
            try:
                fields = reader._derive(*values, *(_cell(cells[c]) for c in derived.cells))
            except CellError:
                fields = None
        rows.append((*key, fields))
    columns = {f"k{j}": [r[j] for r in rows] for j in range(len(inputs))}
    columns["ok"] = [r[-1] is not None for r in rows]
    for name in names:
        columns[name] = [None if r[-1] is None else r[-1][name] for r in rows]
    _materialize(staged, "_native_derived", columns, {name: raw_types[name] for name in names})
    on = " AND ".join(f"d.k{j} = {_key_expr(positions.get(c))}" for j, c in enumerate(inputs))
    joins.append(f"LEFT JOIN _native_derived AS d ON {on}")
    bad.append("NOT coalesce(d.ok, false)")
    for name in names:
        selects[name] = f"d.{name}"
