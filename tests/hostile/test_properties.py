"""Property-based tests of the readers (hypothesis): whatever a file holds, reading it either
raises FileRefused or accounts for every data row, as a row or as a row error. Nothing else
may come out: any other exception would be a crash the loader can only report as "file could
not be read", without telling the site what is wrong."""
from __future__ import annotations

import csv
import io
import tempfile
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterator

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from sources.domains import DOMAINS
from sources.inbox import discover
from sources.model import FileRefused, ParsedChunk
from sources.naming import parse_file_name
from sources.parsing import MISSING_TOKENS
from sources.readers import ExportReader, open_export
from sources.registry import SiteConfig, SiteRegistry
from tests.hostile import xlsx_parts

EXAMPLES = settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CHUNK_ROWS = 3   # small, so that chunking itself is exercised

SITE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%Y/%m/%d"]
sites = st.builds(SiteConfig, code=st.just("BJH"), name=st.just("test"),
                  encoding=st.sampled_from(["utf-8", "gb18030"]), delimiter=st.sampled_from([",", ";", "\t"]),
                  decimal=st.sampled_from([".", ","]), date_format=st.sampled_from(SITE_FORMATS))

# --- cells ------------------------------------------------------------------------------

any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
numbers = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.tuples(st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from([".", ","]))
      .map(lambda t: f"{t[0]:.3f}".replace(".", t[1])),
    st.sampled_from(["1e5", "1,000.5", "NaN", "inf", " 7 ", "+3", "-0", "2147483648", "9" * 30, "1" * 400]),
)
dates = st.tuples(st.dates(), st.sampled_from(SITE_FORMATS + ["%Y%m%d", "%d-%b-%Y", "%d/%m/%y", "%Y-%m-%dT00:00"])
                  ).map(lambda t: t[0].strftime(t[1]))
qualified = st.tuples(st.sampled_from(["<", ">", "<=", "≥", "< ", "=<"]), numbers).map("".join)
terms = st.sampled_from(["M", "F", "m", "PLT", "HGB", "BUN", "XYZ", "10^9/L", "g/dL", "/uL", "µmol/L", "Y", "N", "yes",
                         "withdrawn", "epidemic", "On_Treatment", "glucocorticoid", "BJH", "SH", "BJH-001"]
                        + sorted(MISSING_TOKENS))
formula_text = st.sampled_from(["=1+1", "@SUM(A1)", "+cmd|' /C calc'!A0", '=HYPERLINK("http://x","y")'])
text_cells = st.one_of(any_text, numbers, dates, qualified, terms, formula_text)
xlsx_cells = st.one_of(
    text_cells.map(lambda s: ILLEGAL_CHARACTERS_RE.sub("", s)),   # XML cannot hold these
    st.integers(-2**70, 2**70), st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none(),
    st.dates(min_value=date(1900, 3, 1)), st.datetimes(min_value=datetime(1900, 3, 1)), st.times(),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=9999)),
)


@st.composite
def tables(draw, cells: st.SearchStrategy) -> tuple[str, list[str], list[list[object]]]:
    """(domain, header, data rows): every spec column in a random order, maybe a column the
    spec does not have, and rows that may be shorter or longer than the header."""
    domain = draw(st.sampled_from(list(DOMAINS)))
    header = draw(st.permutations(DOMAINS[domain].spec_columns))
    if draw(st.booleans()):
        header.insert(draw(st.integers(0, len(header))), "Patient Name")
    rows = draw(st.lists(st.lists(cells, max_size=len(header) + 2), max_size=8))
    return domain, header, rows


# --- reading ----------------------------------------------------------------------------

@contextmanager
def inbox_with(file_name: str, content: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        inbox = Path(tmp)
        (inbox / file_name).write_bytes(content)
        yield inbox


def read(inbox: Path, site: SiteConfig) -> tuple[ExportReader, list[ParsedChunk]] | FileRefused:
    registry = SiteRegistry({site.code: site})
    [file], _ = discover(inbox)
    name = parse_file_name(file.name, registry)
    try:
        reader = open_export(file, name, site, chunk_rows=CHUNK_ROWS)
        return reader, list(reader)
    except FileRefused as refused:
        return refused


def source_rows(outcome: tuple[ExportReader, list[ParsedChunk]]) -> list[int]:
    """Row numbers of every row and row error, checking each chunk's contract on the way."""
    reader, chunks = outcome
    numbers: list[int] = []
    for chunk in chunks:
        assert chunk.rows_read <= CHUNK_ROWS
        assert list(chunk.rows.columns) == list(DOMAINS[reader.domain].raw_columns())
        assert (chunk.rows["site_id"] == "BJH").all()
        assert (chunk.rows["source_file"] == reader.file.rel_path).all()
        assert (chunk.rows["source_sha256"] == reader.file.sha256).all()
        numbers += [int(n) for n in chunk.rows["source_row"]]
        for error in chunk.errors:
            assert error.reason and error.check_name
            assert list(error.raw_record) == DOMAINS[reader.domain].spec_columns
            numbers.append(error.source_row)
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert all(n >= 2 for n in numbers)
    return numbers


def refused_properly(outcome: FileRefused) -> bool:
    return isinstance(outcome.reason, str) and len(outcome.reason) > 10


def data_row_numbers(rows: list[list[object]]) -> list[int]:
    """Header = row 1; a row whose every cell is blank is not a data row."""
    def blank(cell: object) -> bool:
        return cell is None or (isinstance(cell, str) and not cell.strip())
    return [i + 2 for i, row in enumerate(rows) if not all(blank(c) for c in row)]


def csv_content(header: list[str], rows: list[list[str]], site: SiteConfig, quoting: int, ending: str) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=site.delimiter, quoting=quoting, lineterminator=ending).writerows([header] + rows)
    return out.getvalue().encode(site.encoding)


# --- properties -------------------------------------------------------------------------

@EXAMPLES
@given(site=sites, table=tables(text_cells), quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
       ending=st.sampled_from(["\r\n", "\n", "\r"]))
def test_random_csv_rows_are_each_a_row_or_a_row_error(site, table, quoting, ending):
    domain, header, rows = table
    with inbox_with(f"BJH_{domain}_20210401.csv", csv_content(header, rows, site, quoting, ending)) as inbox:
        outcome = read(inbox, site)
    if isinstance(outcome, FileRefused):
        assert refused_properly(outcome)
        return
    assert source_rows(outcome) == data_row_numbers(rows)
    assert outcome[0].empty_rows == len(rows) - len(data_row_numbers(rows))


@EXAMPLES
@given(table=tables(xlsx_cells), site=sites)
def test_random_xlsx_cells_are_each_a_row_or_a_row_error(table, site):
    domain, header, rows = table
    workbook = openpyxl.Workbook()
    for row in [header] + rows:
        workbook.active.append(row)
    content = io.BytesIO()
    workbook.save(content)
    with inbox_with(f"BJH_{domain}_20210401.xlsx", content.getvalue()) as inbox:
        outcome = read(inbox, site)
    if isinstance(outcome, FileRefused):
        assert refused_properly(outcome)
        return
    assert source_rows(outcome) == data_row_numbers(rows)


@EXAMPLES
@given(site=sites, body=st.binary(max_size=3000), ext=st.sampled_from(["csv", "xlsx"]), with_header=st.booleans())
def test_random_bytes_are_refused_or_read_never_a_crash(site, body, ext, with_header):
    header = (site.delimiter.join(DOMAINS["labs"].spec_columns) + "\n").encode() if with_header else b""
    with inbox_with(f"BJH_labs_20210401.{ext}", header + body) as inbox:
        outcome = read(inbox, site)
    if isinstance(outcome, FileRefused):
        assert refused_properly(outcome)
    else:
        source_rows(outcome)


@EXAMPLES
@given(site=sites, cut=st.integers(0, 2000), length=st.integers(0, 40), insert=st.text(max_size=40))
def test_damaged_sheet_xml_is_refused_or_read_never_a_crash(site, cut, length, insert):
    """A workbook whose sheet XML was damaged (a span replaced by random text), zipped properly:
    the XML parser, not the zip checksum, meets the damage."""
    rows = (xlsx_parts.text_row(1, DOMAINS["bleeding"].spec_columns)
            + xlsx_parts.text_row(2, ["BJH", "BJH-001", "2021-03-01", "1"])
            + '<row r="3"><c r="A3" t="inlineStr"><is><t>BJH</t></is></c><c r="D3"><v>2</v></c>'
              '<c r="C3" t="d"><v>2021-03-02</v></c><c r="E3" t="b"><v>1</v></c><c r="F3" t="e"><v>#N/A</v></c></row>')
    sheet = xlsx_parts.sheet_xml(rows)
    at = cut % (len(sheet) + 1)
    damaged = sheet[:at] + insert + sheet[at + length:]
    with tempfile.TemporaryDirectory() as tmp:
        inbox = Path(tmp)
        xlsx_parts.write_workbook(inbox / "BJH_bleeding_20210401.xlsx", damaged)
        outcome = read(inbox, site)
    if isinstance(outcome, FileRefused):
        assert refused_properly(outcome)
    else:
        source_rows(outcome)
