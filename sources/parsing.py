"""Pure cell parsers: one site cell (CSV text, or an xlsx cell's native value) -> one typed value.

They never guess. A value that is not exactly what the site's declared conventions promise
raises `CellError` with a reason a site coordinator can act on; the reader adds the column
name and turns it into a quarantined row. Nothing here knows about files or rows.

Decisions where site-exports.md is silent (documented once, here):
- Missing tokens (empty, NA, N/A, ND, -, .) are compared after trimming and ignoring case.
- Numbers: only the site's decimal separator is accepted, and no thousands separator: with
  decimal "," a "." is an error, with decimal "." a "," is an error ("1.500" or "1,500" could
  be 1.5 or 1500; we refuse rather than guess). No exponent notation.
- Integers accept "2", and also "2.0"/"2,0" (statistics tools write whole numbers that way);
  "2.5" is an error.
- Flags accept Y/N and YES/NO, any case (and TRUE/FALSE boolean cells in xlsx).
- Lab value qualifiers: "<" and ">" only, optionally followed by spaces ("< 0.5"). "<=", ">=",
  "≤", "≥" are errors: the warehouse stores `<`, `>` or nothing and we do not decide for the
  site whether "≤ 0.5" means below the limit.
- Dates: strict `strptime` with the site's format; a text cell never falls back to another
  format. xlsx date cells are dates (a time of day is dropped); an xlsx number in a date
  column is an error (an Excel serial number is not interpreted).
- Controlled terms are matched ignoring case and surrounding spaces and stored in the spec's
  spelling (e.g. "On_Treatment" -> "on_treatment").
- Hostile text (`check_text_cell`, every kind of column): a cell longer than Excel's limit of
  32,767 characters cannot come from a spreadsheet; a control character (an escape sequence,
  a bell; tab and line breaks are allowed) is not text a person typed and would reach the
  terminals and alerts that show the value; an xlsx formula or a text that spreadsheet
  programs run as a formula (`=`, and in text columns also `+`, `-`, `@`, OWASP "CSV
  injection") would run on the computers of whoever opens an export of the warehouse, and its
  value is not the site's data anyway. Each is a row error, never silently cleaned.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, time
from typing import Callable, Union

from sources import identifiers
from sources.domains import DATE, FLAG, INTEGER, NUMBER, TEXT, Column

# A cell as it comes out of a reader: CSV gives text, openpyxl gives native values.
Cell = Union[str, int, float, bool, date, datetime, time, None]

MISSING_TOKENS = frozenset({"", "NA", "N/A", "ND", "-", "."})

# check_name values of RowError (quality.quarantine.check_name).
CHECK_REQUIRED = "required"
CHECK_DATE = "parse.date"
CHECK_NUMBER = "parse.number"
CHECK_INTEGER = "parse.integer"
CHECK_FLAG = "parse.flag"
CHECK_TERM = "controlled_term"
CHECK_QUALIFIER = "parse.qualifier"
CHECK_TOO_LONG = "parse.too_long"
CHECK_CONTROL = "parse.control_character"
CHECK_FORMULA = "parse.formula"
CHECK_DATE_EARLY = "parse.date_before_1900"
CHECK_IDENTIFIER = identifiers.CHECK_IDENTIFIER
CHECK_SUBJECT_ID = "subject_id.invalid"
CHECK_SUBJECT_PATTERN = "subject_id.pattern"

EARLIEST_DATE = date(1900, 1, 1)   # site-exports.md §5 (v1.2): an earlier date is a row error

MAX_CELL_CHARS = 32_767      # Excel's limit for one cell
FORMULA_PREFIXES = {TEXT: ("=", "+", "-", "@")}   # other kinds: only "=" ("-5" is a number)
_CONTROL_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")   # tab and line breaks are text
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
EXCERPT_CHARS = 60
INTEGER_MIN, INTEGER_MAX = -2**31, 2**31 - 1   # DuckDB INTEGER, the type of raw whole numbers

LAB_QUALIFIERS = ("<", ">")
_REFUSED_QUALIFIERS = ("<=", ">=", "≤", "≥", "=<", "=>")

# strftime directives a site date format may use, and how a person reads them.
DATE_DIRECTIVES = {"%d": "dd", "%m": "mm", "%Y": "yyyy"}
_DIRECTIVE = re.compile(r"%.")


class CellError(ValueError):
    """One cell that cannot be accepted. `column` is set when the parser knows it better than
    the caller (e.g. a unit problem found while converting the lab value)."""

    def __init__(self, check: str, reason: str, column: str | None = None):
        super().__init__(reason)
        self.check = check
        self.reason = reason
        self.column = column


@dataclass(frozen=True)
class CellFormat:
    """A site's conventions for cells written as text (registry: decimal, date_format)."""
    decimal: str = "."
    date_format: str = "%Y-%m-%d"
    subject_id_pattern: str | None = None   # registry (v1.2): the exact form of the site's ids


def cell_text(cell: Cell) -> str | None:
    """The cell as a person would read it; used for raw_record and original_value."""
    if cell is None or isinstance(cell, str):
        return cell
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    if isinstance(cell, datetime):
        return cell.date().isoformat() if cell.time() == time(0) else cell.isoformat(sep=" ")
    if isinstance(cell, (date, time)):
        return cell.isoformat()
    return str(cell)


def is_missing(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and cell.strip().upper() in MISSING_TOKENS)


def _quoted(cell: Cell) -> str:
    return f'"{cell_text(cell)}"'


def printable(text: str) -> str:
    """Text that is safe to store and to print in a one-line message (a file name, a header):
    bytes that were not UTF-8 (the surrogate escapes os.walk returns) become `\\xNN` and every
    control character its escape (`\\n`, `\\x1b`), so nothing forges lines or colours."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _ANY_CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """A long value cut for a sentence, saying how long it really was."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def check_text_cell(cell: Cell, kind: str) -> None:
    """Refuse a text cell that no site export should hold (see the module docstring)."""
    if not isinstance(cell, str) or is_missing(cell):
        return  # "-" and "." are missing-value tokens (site-exports.md §2), not formulas
    if len(cell) > MAX_CELL_CHARS:
        raise CellError(CHECK_TOO_LONG, f"the value is {len(cell)} characters long; a cell holds at most "
                        f"{MAX_CELL_CHARS:,} characters (Excel's limit): the value is not shown here")
    if control := _CONTROL_CHAR.search(cell):
        raise CellError(CHECK_CONTROL, f"the value contains an invisible control character "
                        f"(U+{ord(control.group()):04X}) at position {control.start() + 1}: remove it")
    text = cell.strip()
    prefix = next((p for p in FORMULA_PREFIXES.get(kind, ("=",)) if text.startswith(p)), None)
    if prefix is not None:
        raise CellError(CHECK_FORMULA, f'"{excerpt(text)}" starts with "{prefix}", so spreadsheet programs '
                        "would run it as a formula; the warehouse accepts values only: type the value "
                        "itself (or paste values over a formula) and export again")


# --- dates -------------------------------------------------------------------------------

def describe_date_format(fmt: str) -> str:
    """'%d.%m.%Y' -> 'dd.mm.yyyy (%d.%m.%Y)': what a site coordinator recognises."""
    readable = _DIRECTIVE.sub(lambda m: DATE_DIRECTIVES.get(m.group(0), m.group(0)), fmt)
    return f"{readable} ({fmt})"


def date_format_problems(fmt: str) -> list[str]:
    """Why `fmt` cannot be a site's date format (empty list: it can).

    Only %d, %m and %Y, each exactly once: two-digit years are ambiguous, month names depend
    on the machine's language, and a time of day has no place in a calendar date."""
    directives = [d for d in _DIRECTIVE.findall(fmt) if d != "%%"]
    problems = [f"{d} is not accepted (use only %d, %m and %Y)" for d in dict.fromkeys(directives)
                if d not in DATE_DIRECTIVES and d != "%y"]
    if "%y" in directives:
        problems.append("a two-digit year (%y) is ambiguous: use %Y")
    for d, what in (("%d", "day"), ("%m", "month"), ("%Y", "year")):
        n = directives.count(d)
        if n != 1:
            problems.append(f"it must contain the {what} ({d}) exactly once")
    if not problems:
        sample = date(2021, 3, 4)
        try:
            ok = datetime.strptime(sample.strftime(fmt), fmt).date() == sample
        except ValueError:
            ok = False
        if not ok:
            problems.append("it cannot be read back unambiguously (separate day, month and year)")
    return problems


def parse_date(cell: Cell, date_format: str) -> date:
    """A calendar date, never before 1900-01-01 (a year written with too few digits, `0021`,
    parses with %Y: it is refused, never guessed as 2021)."""
    value = _calendar_date(cell, date_format)
    if value < EARLIEST_DATE:
        raise CellError(CHECK_DATE_EARLY, f"{_quoted(cell)} is a date in the year {value.year}, before 1900-01-01: "
                        "no date of this study is that early; most likely the year lost digits (write "
                        f"it as {describe_date_format(date_format)} with a four-digit year)")
    return value


def _calendar_date(cell: Cell, date_format: str) -> date:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if not isinstance(cell, str):
        raise CellError(CHECK_DATE, f"{_quoted(cell)} is a number, not a date: format the cell "
                        f"as a date or write it as {describe_date_format(date_format)}")
    text = cell.strip()
    try:
        return _strptime_date(text, date_format)
    except ValueError as exc:
        expected = f"{_quoted(text)} is not a valid date in the site's format {describe_date_format(date_format)}"
        # The shape matched but the calendar refuses it (31.02.2021): say so.
        if str(exc).startswith(("time data", "unconverted data")):
            raise CellError(CHECK_DATE, expected) from None
        raise CellError(CHECK_DATE, f"{expected}: that day does not exist") from None


@lru_cache(maxsize=8192)
def _strptime_date(text: str, date_format: str) -> date:
    """strptime is slow and exports repeat the same few dates thousands of times."""
    return datetime.strptime(text, date_format).date()


# --- numbers -----------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_INTEGER = re.compile(r"[+-]?\d+")
_WHOLE_DECIMAL = re.compile(r"([+-]?\d+)\.0*")


def _normalized_decimal(text: str, decimal: str) -> str:
    """Text with the site's decimal separator turned into '.', refusing the other one."""
    other = "," if decimal == "." else "."
    if other in text:
        raise CellError(CHECK_NUMBER, f'{_quoted(text)} is not a number in this site\'s format: the '
                        f'decimal separator is "{decimal}" and "{other}" is not accepted '
                        "(no thousands separators)")
    return text.replace(",", ".") if decimal == "," else text


def parse_number(cell: Cell, decimal: str) -> float:
    """A number. Numeric xlsx cells are numbers already: no decimal-separator handling."""
    if isinstance(cell, bool) or isinstance(cell, (date, time)):
        raise CellError(CHECK_NUMBER, f"{_quoted(cell)} is not a number")
    if isinstance(cell, (int, float)):
        if not math.isfinite(cell):
            raise CellError(CHECK_NUMBER, f"{_quoted(cell)} is not a number")
        return float(cell)
    text = cell.strip()
    normalized = _normalized_decimal(text, decimal)
    if not _NUMBER.fullmatch(normalized):
        raise CellError(CHECK_NUMBER, f"{_quoted(text)} is not a number")
    value = float(normalized)
    if not math.isfinite(value):   # 400 digits: beyond what a DOUBLE holds
        raise CellError(CHECK_NUMBER, f'"{excerpt(text)}" is too large to be a measurement')
    return value


def _integer_in_range(digits: str, shown: str) -> int:
    """raw.<domain> stores whole numbers as DuckDB INTEGER (32-bit): a larger one cannot be a
    grade, a year or a count, and would make the whole file fail to store."""
    if len(digits.lstrip("+-0")) <= 10:
        value = int(digits)
        if INTEGER_MIN <= value <= INTEGER_MAX:
            return value
    raise CellError(CHECK_INTEGER, f'"{excerpt(shown)}" is outside the range of whole numbers the warehouse '
                    f"stores ({INTEGER_MIN:,} to {INTEGER_MAX:,})")


def parse_integer(cell: Cell, decimal: str) -> int:
    if isinstance(cell, bool) or isinstance(cell, (date, time)):
        raise CellError(CHECK_INTEGER, f"{_quoted(cell)} is not a whole number")
    if isinstance(cell, (int, float)):
        if isinstance(cell, float) and not cell.is_integer():
            raise CellError(CHECK_INTEGER, f"{_quoted(cell)} is not a whole number")
        return _integer_in_range(str(int(cell)), cell_text(cell))
    text = cell.strip()
    try:
        normalized = _normalized_decimal(text, decimal)
    except CellError as exc:
        raise CellError(CHECK_INTEGER, exc.reason) from None
    if _INTEGER.fullmatch(normalized):
        return _integer_in_range(normalized, text)
    if whole := _WHOLE_DECIMAL.fullmatch(normalized):
        return _integer_in_range(whole.group(1), text)
    raise CellError(CHECK_INTEGER, f"{_quoted(text)} is not a whole number")


def parse_lab_value(cell: Cell, decimal: str) -> tuple[float, str | None]:
    """'<0.5' -> (0.5, '<'): the number and the assay-limit qualifier, both kept."""
    if not isinstance(cell, str):
        return parse_number(cell, decimal), None
    text = cell.strip()
    for refused in _REFUSED_QUALIFIERS:
        if text.startswith(refused):
            raise CellError(CHECK_QUALIFIER, f'{_quoted(text)}: the qualifier "{refused}" is not '
                            'accepted; use "<" (below the assay\'s limit) or ">" (above it)')
    qualifier = text[0] if text[:1] in LAB_QUALIFIERS else None
    return parse_number(text[1:].strip() if qualifier else text, decimal), qualifier


# --- flags, terms, text ------------------------------------------------------------------

_FLAGS = {"Y": True, "YES": True, "N": False, "NO": False}


def parse_flag(cell: Cell) -> bool:
    if isinstance(cell, bool):
        return cell
    if isinstance(cell, str) and cell.strip().upper() in _FLAGS:
        return _FLAGS[cell.strip().upper()]
    raise CellError(CHECK_FLAG, f"{_quoted(cell)} is not Y or N")


def parse_text(cell: Cell) -> str:
    return cell.strip() if isinstance(cell, str) else cell_text(cell)


def parse_term(cell: Cell, allowed: tuple[str, ...]) -> str:
    """A controlled term, matched ignoring case, returned in the spec's spelling."""
    text = parse_text(cell)
    for term in allowed:
        if text.casefold() == term.casefold():
            return term
    raise CellError(CHECK_TERM, f"{_quoted(text)} is not one of {', '.join(allowed)}")


# --- subject ids and direct identifiers ---------------------------------------------------

def _character(ch: str) -> str:
    """One character as a person can find it: its code point, its name and what it looks like."""
    name = unicodedata.name(ch, "")
    if ch == " ":
        return "a space"
    what = f"U+{ord(ch):04X}" + (f" {name}" if name else "")
    folded = unicodedata.normalize("NFKC", ch)
    if folded != ch and folded.isascii() and folded.strip():
        return f'{what} (a full-width or other look-alike of "{folded}")'
    if unicodedata.category(ch) in ("Cf", "Zs", "Zl", "Zp", "Mn") or not ch.isprintable():
        return f"{what} (an invisible character)"
    return what


def _shown_id(text: str) -> str:
    """An id with anything beyond printable ASCII written as <U+XXXX>, so it can be seen."""
    return "".join(c if " " <= c <= "~" else f"<U+{ord(c):04X}>" for c in text)


@lru_cache(maxsize=64)
def _id_pattern(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def parse_subject_id(cell: Cell, fmt: CellFormat) -> str:
    """The study's coded id, exactly as written (site-exports.md §2, v1.2): printable ASCII
    without spaces and, when the site declares one, matching its `subject_id_pattern` (whole
    value). A look-alike (an invisible character, a full-width hyphen, lower case where the site
    writes upper case) is refused, never normalised into another subject's id."""
    text = parse_text(cell)
    bad = next((i for i, c in enumerate(text) if not ("!" <= c <= "~")), None)
    if bad is not None:
        raise CellError(CHECK_SUBJECT_ID, f'"{_shown_id(text)}" holds {_character(text[bad])} at position '
                        f"{bad + 1}: a subject id is printable ASCII without spaces (letters, digits, "
                        "punctuation); retype the id in the export")
    pattern = fmt.subject_id_pattern
    if pattern and _id_pattern(pattern).fullmatch(text) is None:
        upper = " (in upper case it would: the warehouse never changes an id)" if (
            text != text.upper() and _id_pattern(pattern).fullmatch(text.upper())) else ""
        raise CellError(CHECK_SUBJECT_PATTERN, f'"{text}" does not have the form of this site\'s subject ids '
                        f"(registry key subject_id_pattern: {pattern}){upper}; correct the id in the export")
    return text


def check_identifier(cell: Cell) -> None:
    """Refuse a cell that looks like a direct identifier (`sources.identifiers`), whatever its
    column: its row is quarantined, and the quarantined copy shows it masked."""
    if isinstance(cell, bool) or not isinstance(cell, (str, int)):
        return
    kind = identifiers.kind_of(str(cell))
    if kind is not None:
        raise CellError(CHECK_IDENTIFIER, f"the cell holds what looks like a {kind} (shown masked): a "
                        "patient's direct identifiers are never stored; if the row's cells are shifted "
                        "(a cell missing before this one), correct the row in the export")


# --- one cell of a spec column -----------------------------------------------------------

_PARSERS: dict[str, Callable[[Cell, CellFormat], object]] = {
    TEXT: lambda cell, fmt: parse_text(cell),
    DATE: lambda cell, fmt: parse_date(cell, fmt.date_format),
    NUMBER: lambda cell, fmt: parse_number(cell, fmt.decimal),
    INTEGER: lambda cell, fmt: parse_integer(cell, fmt.decimal),
    FLAG: lambda cell, fmt: parse_flag(cell),
}


def parse_cell(column: Column, cell: Cell, fmt: CellFormat,
               parser: Callable[[Cell, CellFormat], object] | None = None) -> object:
    """The typed value of `cell` for `column` (None when missing and optional).

    `parser` replaces the column kind's parser where a column needs more than its kind
    (the lab value and its qualifier)."""
    if is_missing(cell):
        if column.required:
            written = "" if cell is None or not cell.strip() else f" ({_quoted(cell)})"
            raise CellError(CHECK_REQUIRED, f"a value is required but the cell is empty{written}")
        return None
    check_text_cell(cell, column.kind)
    check_identifier(cell)
    value = (parser or _PARSERS[column.kind])(cell, fmt)
    if column.allowed is None:
        return value
    if column.kind == TEXT:
        return parse_term(value, column.allowed)
    if str(value) not in column.allowed:
        raise CellError(CHECK_TERM, f"{_quoted(cell)} is not one of {', '.join(column.allowed)}")
    return value
