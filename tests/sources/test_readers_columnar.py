"""The reader converts a batch of rows column by column, remembering each distinct cell's parsed
value, and sends every row with a problem back through the row-by-row `_convert`. These tests
hold the two paths equal: same accepted rows (values, dtypes, order), same row errors, same
empty rows, for random files in every site convention (CSV and xlsx)."""
from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from sources.domains import DATE, DOMAINS, FLAG, INTEGER, NUMBER
from sources.model import FileRefused, RowError
from sources import readers
from sources.derivations import DERIVED_FIELDS
from sources.readers import ROW_SOURCES, ExportReader
from tests.hostile.test_properties import (EXAMPLES, csv_content, inbox_with, read, sites, tables, text_cells,
                                           xlsx_cells)
from tests.sources.conftest import csv_bytes, open_in, read_all, registry_with, write_xlsx


def row_by_row(reader: ExportReader) -> tuple[pd.DataFrame, list[RowError], int]:
    """The reference: every data row through `_convert`, as the reader did before batching."""
    records, errors, empty = [], [], 0
    rows = ROW_SOURCES[reader.name.ext](reader.file, reader.site)
    next(rows)
    for number, cells in rows:
        outcome = reader._convert(number, cells)
        if outcome is None:
            empty += 1
        elif isinstance(outcome, RowError):
            errors.append(outcome)
        else:
            records.append(outcome)
    columns = reader.spec.raw_columns()
    return reader._frame({c: [r.get(c) for r in records] for c in columns}, len(records)), errors, empty


def assert_same_as_row_by_row(outcome) -> None:
    if isinstance(outcome, FileRefused):
        return
    reader, chunks = outcome
    got = pd.concat([c.rows for c in chunks], ignore_index=True)
    expected, errors, empty = row_by_row(reader)
    pd.testing.assert_frame_equal(got, expected)
    assert [e for c in chunks for e in c.errors] == errors
    assert reader.empty_rows == empty


def plausible_cell(column, site) -> st.SearchStrategy[str]:
    """A cell that is valid for `column` in the site's conventions most of the time."""
    if column.allowed:
        return st.sampled_from([*column.allowed, *(a.upper() for a in column.allowed)])
    if column.kind == DATE:
        return st.dates(date(2019, 1, 1), date(2021, 3, 31)).map(lambda d: d.strftime(site.date_format))
    if column.kind == NUMBER:
        return st.sampled_from(["55", "0.5", "120", "3.25", "<5", "> 1000", "7"]).map(
            lambda v: v.replace(".", site.decimal))
    if column.kind == INTEGER:
        return st.sampled_from(["1", "2", "1990", "3.0"]).map(lambda v: v.replace(".", site.decimal))
    if column.kind == FLAG:
        return st.sampled_from(["Y", "N", "yes", "no"])
    return st.sampled_from({"site_id": ["BJH", "bjh"], "test_code": ["PLT", "plt", "WBC", "NEUT", "LYMPH", "ALT"],
                            "unit": ["10^9/L", "/uL", "K/uL", "10^9/L", "/mm3", "U/L"]}.get(column.name, ["S1", "S2", "x"]))


@st.composite
def mostly_valid_tables(draw, site) -> tuple[str, list[str], list[list[str]]]:
    """Rows that are mostly accepted, one cell in ~16 replaced by anything."""
    domain = draw(st.sampled_from(list(DOMAINS)))
    columns = draw(st.permutations(DOMAINS[domain].columns))
    cell = {c.name: plausible_cell(c, site) for c in columns}
    row = st.tuples(*(st.tuples(st.sampled_from(range(16)), cell[c.name], text_cells)
                      .map(lambda t: t[2] if t[0] == 7 else t[1]) for c in columns)).map(list)
    return domain, [c.name for c in columns], draw(st.lists(row, min_size=1, max_size=12))


@EXAMPLES
@given(data=st.data(), site=sites, repeat=st.integers(1, 3))
def test_mostly_valid_csv_files_read_the_same_column_by_column(data, site, repeat):
    domain, header, rows = data.draw(mostly_valid_tables(site))
    with inbox_with(f"BJH_{domain}_20210401.csv", csv_content(header, rows * repeat, site, csv.QUOTE_MINIMAL, "\n")) as inbox:
        assert_same_as_row_by_row(read(inbox, site))


lab_cells = st.one_of(text_cells, st.sampled_from(["PLT", "plt", "WBC", "NEUT", "BUN", "ALT", "10^9/L", "/uL",
                                                    "x10^9/L", "U/L", "mg/dL", "mmol/L", "<5", "> 1000", "55",
                                                    "5,5", "2021-03-04", "BJH", "S1"]))


@EXAMPLES
@given(site=sites, table=tables(lab_cells), quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
       repeat=st.integers(1, 4))
def test_random_csv_files_read_the_same_column_by_column(site, table, quoting, repeat):
    domain, header, rows = table
    rows = rows * repeat   # repeated cells are served from the memo
    with inbox_with(f"BJH_{domain}_20210401.csv", csv_content(header, rows, site, quoting, "\n")) as inbox:
        assert_same_as_row_by_row(read(inbox, site))


@EXAMPLES
@given(table=tables(xlsx_cells), site=sites)
def test_random_xlsx_files_read_the_same_column_by_column(table, site):
    domain, header, rows = table
    workbook = openpyxl.Workbook()
    for row in [header] + rows * 2:
        workbook.active.append(row)
    content = io.BytesIO()
    workbook.save(content)
    with inbox_with(f"BJH_{domain}_20210401.xlsx", content.getvalue()) as inbox:
        assert_same_as_row_by_row(read(inbox, site))


def test_one_and_true_and_one_point_zero_are_different_cells(tmp_path, inbox):
    """The memo keys cells by type too: in Python 1 == 1.0 == True, in an export they differ
    (True is not a grade)."""
    header = DOMAINS["bleeding"].spec_columns
    write_xlsx(inbox / "BJH_bleeding_20210401.xlsx",
               [header, ["BJH", "S1", date(2021, 3, 1), 1], ["BJH", "S2", date(2021, 3, 1), True],
                ["BJH", "S3", date(2021, 3, 1), 1.0], ["BJH", "S4", date(2021, 3, 1), 1.5]])
    got = read_all(open_in(inbox, "BJH_bleeding_20210401.xlsx", registry_with(tmp_path)))
    assert list(got.rows["subject_id"]) == ["S1", "S3"]
    assert [(e.source_row, e.check_name) for e in got.errors] == [(3, "parse.integer"), (5, "parse.integer")]


def test_a_repeated_bad_cell_is_an_error_on_every_row_that_holds_it(read_csv):
    rows = [["BJH", f"S{i}", "2021-03-04" if i % 2 else "2021-02-30", "1"] for i in range(6)]
    got = read_csv("BJH_bleeding_20210401.csv", csv_bytes(DOMAINS["bleeding"].spec_columns, rows), chunk_rows=4)
    assert [e.source_row for e in got.errors] == [2, 4, 6]
    assert list(got.rows["source_row"]) == [3, 5, 7]


def test_lab_conversions_are_remembered_but_each_row_keeps_its_own_written_value(read_csv):
    header = DOMAINS["labs"].spec_columns
    rows = [["BJH", "S1", "2021-03-04", "PLT", "55", "10^9/L", "", ""],
            ["BJH", "S2", "2021-03-04", "PLT", "55.0", "10^9/L", "", ""],
            ["BJH", "S3", "2021-03-04", "PLT", "55", "10^9/L", "", ""],
            ["BJH", "S4", "2021-03-04", "PLT", "55", "furlongs", "", ""]]
    got = read_csv("BJH_labs_20210401.csv", csv_bytes(header, rows))
    assert list(got.rows["original_value"]) == ["55", "55.0", "55"]
    assert list(got.rows["value"]) == [55.0, 55.0, 55.0]
    assert [(e.source_row, e.check_name) for e in got.errors] == [(5, "unit.unknown")]


def test_derived_fields_name_what_derive_sets():
    """The columnar path copies exactly these columns out of `derive`'s result."""
    labs = DERIVED_FIELDS["labs"]
    fields = labs.derive("PLT", (55.0, None), "10^9/L", 100.0, 300.0, "55", unit_aliases={})
    assert set(fields) == set(labs.values) | set(DOMAINS["labs"].derived)


def test_a_full_memo_still_reads_every_row_the_same(monkeypatch, tmp_path, inbox):
    """Past MEMO_LIMIT distinct cells a batch's new cells are not remembered, but still used."""
    monkeypatch.setattr(readers, "MEMO_LIMIT", 3)
    header = DOMAINS["labs"].spec_columns
    rows = [["BJH", f"S{i % 7}", f"2021-03-{1 + i % 28:02d}", ["PLT", "WBC", "ALT"][i % 3],
             ["55", "<5", "x", "120", "7,5"][i % 5], ["10^9/L", "/uL", "U/L"][i % 3], "", ""] for i in range(40)]
    (inbox / "BJH_labs_20210401.csv").write_bytes(csv_bytes(header, rows))
    reader = open_in(inbox, "BJH_labs_20210401.csv", registry_with(tmp_path), chunk_rows=6)
    chunks = list(reader)
    assert sum(len(c.rows) for c in chunks) > 0 and any(c.errors for c in chunks)
    assert len(reader._memo["sample_date"]) <= 3 and len(reader._derived_memo) <= 3
    assert_same_as_row_by_row((reader, chunks))
