"""Bad answer workbooks are refused with a reason and change nothing (issue #18): unknown query
ids, another site's queries, edited keys, formulas, a wrong sheet. Each case starts from a
workbook the importer accepts (the control: the same workbook before the one defect, checked
read-only), so the defect alone is what refuses it; after the refusal every file under HOME is
as it was (the published warehouse, its versions, answers/)."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook

from tests.conftest import cli
from tests.monitors.planted import ANSWERED_AT, ANSWERED_BY, BAD_SITE

SHEET = "site queries"


def _fill_every_row(book) -> None:
    sheet = book[SHEET]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        cells = dict(zip(header, row))
        cells["answer"].value = "Value confirmed correct"
        cells["answer_comment"].value = "checked against the source record"
        cells["answered_by"].value = ANSWERED_BY
        cells["answered_at"].value = ANSWERED_AT


def _rows(book) -> list[dict]:
    sheet = book[SHEET]
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, row)) for row in sheet.iter_rows(min_row=2)]


def _unknown_query_id(book, _other) -> None:
    row = _rows(book)[0]["query_id"]
    row.value = row.value[:-4] + ("0000" if not row.value.endswith("0000") else "1111")


def _another_sites_query(book, other) -> None:
    """The site's workbook (exported for RJH) with a row of ZZH's pasted in, keys intact."""
    sheet = book[SHEET]
    pasted = next(r for r in _rows(other) if r["site_id"].value == BAD_SITE)
    sheet.append([c.value for c in pasted.values()])
    _fill_every_row(book)


def _edited_key(book, _other) -> None:
    row = _rows(book)[0]
    row["subject_id"].value = row["subject_id"].value + "9"


def _formula(book, _other) -> None:
    _rows(book)[0]["answered_at"].value = "=TODAY()"


def _wrong_sheet(book, _other) -> None:
    book[SHEET].title = "Sheet1"


# case -> (what it does to the workbook, the site the workbook is exported for, the reason given)
CASES: dict[str, tuple[Callable, str | None, str]] = {
    "unknown query id": (_unknown_query_id, None, "no site query has this id in the warehouse"),
    "another site's query": (_another_sites_query, "RJH",
                             f"is a query of site {BAD_SITE}, but this workbook was exported for site RJH"),
    "edited key": (_edited_key, None, "subject_id changed since the export"),
    "formula": (_formula, None, "hold a formula: the workbook must hold values only"),
    "wrong sheet": (_wrong_sheet, None, "has no sheet 'site queries' (its sheets: Sheet1, answers)"),
}


def _home_state(home: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under HOME: size, mtime, and the content's hash."""
    return {str(p.relative_to(home)): (p.stat().st_size, p.stat().st_mtime_ns,
                                       hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(home.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def exports(monitored, tmp_path_factory) -> dict[str | None, Path]:
    """The current queries exported for every site and for RJH, answered on every row."""
    from quality.export import write_site_queries

    folder = tmp_path_factory.mktemp("refused")
    out: dict[str | None, Path] = {}
    with duckdb.connect(str(monitored.home.published), read_only=True) as conn:
        for site in (None, "RJH"):
            path = folder / f"queries-{site or 'all'}.xlsx"
            write_site_queries(conn, path, site=site)
            book = load_workbook(path)
            _fill_every_row(book)
            book.save(path)
            out[site] = path
    return out


@pytest.mark.parametrize("case", CASES)
def test_a_bad_workbook_is_refused_with_its_reason_and_changes_nothing(case, monitored, exports, tmp_path):
    from orchestration.answers import import_answers
    from quality.query_workbook import WorkbookRefused, read_answers

    change, site, reason = CASES[case]
    home = monitored.home.home
    with duckdb.connect(str(monitored.home.published), read_only=True) as conn:
        accepted = read_answers(conn, exports[site])
    assert accepted.answers, "the control workbook holds no answer"
    book = load_workbook(exports[site])
    change(book, load_workbook(exports[None]))
    bad = tmp_path / f"answers {case}.xlsx"
    book.save(bad)

    before = _home_state(home)
    with pytest.raises(WorkbookRefused) as refused:
        import_answers(home, bad, "monitor Wang")
    assert reason in str(refused.value)
    assert _home_state(home) == before


def test_the_command_says_why_and_exits_1(monitored, exports, tmp_path):
    book = load_workbook(exports[None])
    _formula(book, None)
    bad = tmp_path / "formula.xlsx"
    book.save(bad)
    before = _home_state(monitored.home.home)
    proc = cli("queries", "--home", str(monitored.home.home), "--answers", str(bad))
    assert proc.returncode == 1
    assert proc.stderr.startswith("answers not imported: formula.xlsx was refused, nothing was imported: ")
    assert "hold a formula" in proc.stderr
    assert _home_state(monitored.home.home) == before
