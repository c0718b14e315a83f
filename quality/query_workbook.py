"""The site query workbook (issue #18): what `itp-warehouse queries --out x.xlsx` writes for a
site, and what `itp-warehouse queries --answers x.xlsx` reads back once the site filled in its
answers.

The workbook is a round trip through people's spreadsheets, so reading it back trusts nothing:
- sheet `site queries`, the exported header exactly; the query's key cells (query_id, site_id,
  subject_id, domain, check_name) as exported, for a query this warehouse knows, of the site
  the workbook was exported for (a custom document property says which; none: every site);
- no formula anywhere on the sheet; an answer from the list of seed `query_answers`, with who
  answered and when (a date cell or `YYYY-MM-DD[ HH:MM]`, not in the future); a comment
  alone, without an answer, is a mistake too.
Any problem refuses the whole workbook with the rows and reasons (the first ten), and nothing
is recorded: a monitor sends it back to the site rather than half-import it.

Writing: the answer columns are the only unlocked cells (the sheet is protected, without a
password: a guard against slips, not a lock), the answer cell is a drop-down of the list's
labels (sheet `answers`, which also says what each answer does), and text cells that a
spreadsheet would run as a formula are neutralised (quality.export).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb

from quality.export import ANSWER_COLUMNS, COLUMNS, neutralise
from quality.query_answers import Answer, answer_options, option_by_label
from sources.bounds import Watch
from sources.model import FileRefused

SHEET = "site queries"
LIST_SHEET = "answers"
KEY_COLUMNS = ("query_id", "site_id", "subject_id", "domain", "check_name")
SITE_PROPERTY = "itp-warehouse site"          # the site the workbook was exported for
EXPORTED_PROPERTY = "itp-warehouse exported"  # when, and from which load
MAX_PROBLEMS_SHOWN = 10
TIME_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


class WorkbookRefused(ValueError):
    """The workbook cannot be imported; the message says why, for the monitor and the site."""


# --- writing --------------------------------------------------------------------------------

def write_workbook(out: Path, rows: list[list[Any]], *, site: str | None, exported: str) -> None:
    """Write the exported query rows (COLUMNS, already neutralised) as an answerable workbook."""
    from openpyxl import Workbook
    from openpyxl.packaging.custom import StringProperty
    from openpyxl.styles import Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append(row)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # belt and braces: never let openpyxl write a formula
    first_answer = COLUMNS.index(ANSWER_COLUMNS[0]) + 1
    answer_fill = PatternFill("solid", fgColor="FFF6D5")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    last_row = max(len(rows) + 1, 2)
    for column in range(first_answer, len(COLUMNS) + 1):
        for row_number in range(2, last_row + 1):
            cell = sheet.cell(row=row_number, column=column)
            cell.protection = Protection(locked=False)
            cell.fill = answer_fill
        sheet.cell(row=1, column=column).fill = answer_fill
    at_column = get_column_letter(COLUMNS.index("answered_at") + 1)
    for row_number in range(2, last_row + 1):
        sheet[f"{at_column}{row_number}"].number_format = "yyyy-mm-dd hh:mm"
    widths = {"query_id": 22, "message": 60, "file_name": 34, "answer": 30, "answer_comment": 40,
              "answered_by": 18, "answered_at": 18}
    for index, name in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = widths.get(name, 14)
    sheet.freeze_panes = "B2"

    options = answer_options()
    listing = book.create_sheet(LIST_SHEET)
    listing.append(["answer", "what it does"])
    for option in options:
        listing.append([option.label, option.description])
    listing.append([])
    listing.append(["How to answer: pick an answer in the yellow column `answer` of the sheet 'site queries', "
                    "add a comment if useful, your name in `answered_by` and the date in `answered_at`; "
                    "leave every other cell as it is and send the workbook back."])
    listing.column_dimensions["A"].width = 30
    listing.column_dimensions["B"].width = 110
    listing["A1"].font = listing["B1"].font = Font(bold=True)

    answer_column = get_column_letter(first_answer)
    validation = DataValidation(type="list", formula1=f"='{LIST_SHEET}'!$A$2:$A${len(options) + 1}",
                                allow_blank=True, showErrorMessage=True, errorTitle="Not an answer of the list",
                                error="Pick one of the answers of the list (sheet 'answers').")
    validation.add(f"{answer_column}2:{answer_column}{last_row}")
    sheet.add_data_validation(validation)
    sheet.protection.sheet = True   # no password: keys are guarded against slips; the importer checks them
    sheet.protection.formatColumns = False

    book.custom_doc_props.append(StringProperty(name=SITE_PROPERTY, value=site or "*"))
    book.custom_doc_props.append(StringProperty(name=EXPORTED_PROPERTY, value=exported))
    book.save(out)


# --- reading ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReadAnswers:
    site: str | None           # the site the workbook was exported for (None: every site)
    answers: tuple[Answer, ...]
    sha256: str


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _same(exported: Any, cell: Any) -> bool:
    """A key cell as exported (neutralised text; openpyxl may read a CR as LF, #15)."""
    want, got = _text(neutralise(exported)), _text(cell)
    if want is None or got is None:
        return want == got
    return want.replace("\r", "\n") == got.replace("\r", "\n")


def _answered_at(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = _text(value)
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(text or "", fmt)
        except ValueError:
            continue
    return None


def _open(path: Path):
    from openpyxl import load_workbook

    if path.suffix.lower() != ".xlsx":
        raise WorkbookRefused(f"{path.name} is not an .xlsx workbook: send back the workbook that "
                              "`itp-warehouse queries --out FILE.xlsx` wrote, with the answers filled in")
    try:
        with open(path, "rb") as fh:
            from sources.xlsx_rows import check_expansion

            check_expansion(fh, Watch())
        return load_workbook(path, data_only=False)
    except FileRefused as exc:
        raise WorkbookRefused(f"{path.name}: {exc.reason}") from None
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one sentence
        raise WorkbookRefused(f"{path.name} cannot be read as a workbook ({type(exc).__name__})") from None


def _site_property(book) -> str | None:
    for prop in book.custom_doc_props.props:
        if prop.name == SITE_PROPERTY:
            return None if prop.value in (None, "", "*") else str(prop.value)
    return None


def _queries(conn: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    rows = conn.execute(
        f"""SELECT {', '.join(KEY_COLUMNS)}, value_hash, file_name FROM quality.site_query
            WHERE query_id IN ({', '.join('?' * len(ids))})""", ids).fetchall()
    names = [*KEY_COLUMNS, "value_hash", "file_name"]
    return {r[0]: dict(zip(names, r)) for r in rows}


def read_answers(conn: duckdb.DuckDBPyConnection, path: Path, *, now: datetime | None = None) -> ReadAnswers:
    """The answers of a filled workbook, checked against the published warehouse `conn`.
    Raises WorkbookRefused with every problem found (the first ten)."""
    path = Path(path)
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    book = _open(path)
    if SHEET not in book.sheetnames:
        raise WorkbookRefused(f"{path.name} has no sheet '{SHEET}' (its sheets: {', '.join(book.sheetnames)}): "
                              "it is not the query workbook `itp-warehouse queries` wrote, or the sheet was renamed")
    sheet = book[SHEET]
    header = [_text(c.value) for c in next(sheet.iter_rows(min_row=1, max_row=1), ())]
    while header and header[-1] is None:
        header.pop()
    if header != COLUMNS:
        raise WorkbookRefused(f"the sheet '{SHEET}' of {path.name} does not have the exported columns "
                              f"({', '.join(COLUMNS)}); it has {', '.join(str(h) for h in header) or 'none'}: "
                              "columns may not be added, removed, renamed or moved")
    site = _site_property(book)
    problems: list[str] = []
    formulas = [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    if formulas:
        problems.append(f"cell(s) {', '.join(formulas[:5])}{' ...' if len(formulas) > 5 else ''} hold a formula: "
                        "the workbook must hold values only")
    rows = [(cells[0].row, {name: c.value for name, c in zip(COLUMNS, cells)})
            for cells in sheet.iter_rows(min_row=2, max_col=len(COLUMNS))
            if any(_text(c.value) is not None for c in cells)]
    known = _queries(conn, [str(r["query_id"]).strip() for _, r in rows if _text(r["query_id"])])
    seen: dict[str, int] = {}
    answers: list[Answer] = []
    for number, row in rows:
        query = _text(row["query_id"])
        where = f"row {number}" + (f" (query {query})" if query else "")
        if query is None:
            problems.append(f"{where} has no query_id: rows may not be added, and key cells may not be emptied")
            continue
        if query in seen:
            problems.append(f"{where} repeats the query of row {seen[query]}")
            continue
        seen[query] = number
        stored = known.get(query)
        if stored is None:
            problems.append(f"{where}: no site query has this id in the warehouse: rows may not be added, "
                            "and the query_id may not be changed")
            continue
        if site is not None and stored["site_id"] != site:
            problems.append(f"{where} is a query of site {stored['site_id']}, but this workbook was exported "
                            f"for site {site}")
            continue
        edited = [k for k in KEY_COLUMNS[1:] if not _same(stored[k], row[k])]
        if edited:
            problems.append(f"{where}: {', '.join(edited)} changed since the export "
                            f"(the warehouse has {', '.join(repr(stored[k]) for k in edited)}): key cells may "
                            "not be edited")
            continue
        answer = _answer(where, row, now, problems)
        if answer is not None:
            answers.append(Answer(query, answer[0], answer[1], answer[2], answer[3],
                                  stored["value_hash"], stored["file_name"]))
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = f" (and {len(problems) - MAX_PROBLEMS_SHOWN} more)" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        raise WorkbookRefused(f"{path.name} was refused, nothing was imported: {shown}{more}")
    if not answers:
        raise WorkbookRefused(f"{path.name} holds no answer: nothing to import (pick an answer in the column "
                              "`answer` of the queries the site answered)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return ReadAnswers(site, tuple(answers), digest)


def _answer(where: str, row: dict[str, Any], now: datetime,
            problems: list[str]) -> tuple[str, str, str, datetime] | None:
    """(code, comment, who, when) of a row's answer; None when it has none (or a problem)."""
    label, comment, who = _text(row["answer"]), _text(row["answer_comment"]), _text(row["answered_by"])
    when_cell = row["answered_at"]
    if label is None:
        if comment or who or _text(when_cell):
            problems.append(f"{where} has a comment, a name or a date but no answer: pick an answer of the list")
        return None
    option = option_by_label(label)
    if option is None:
        labels = ", ".join(f"'{o.label}'" for o in answer_options())
        problems.append(f"{where}: '{label}' is not an answer of the list ({labels})")
        return None
    if who is None:
        problems.append(f"{where}: answered_by is empty: who at the site gave the answer?")
        return None
    when = _answered_at(when_cell)
    if when is None:
        problems.append(f"{where}: answered_at '{_text(when_cell) or ''}' is not a date (YYYY-MM-DD or a date cell)")
        return None
    if when > now + timedelta(days=1):
        problems.append(f"{where}: answered_at {when:%Y-%m-%d} is in the future")
        return None
    return option.answer, comment or "", who, when
