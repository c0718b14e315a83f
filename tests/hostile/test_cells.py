"""The cell-level guards against hostile text (sources.parsing.check_text_cell), at their
boundaries: what is refused, and what must stay accepted."""
from __future__ import annotations

import pytest

from sources.domains import INTEGER, NUMBER, TEXT, Column
from sources.parsing import MAX_CELL_CHARS, CellError, CellFormat, parse_cell

TEXT_COLUMN = Column("ae_term", TEXT, True)
OPTIONAL_TEXT = Column("dose_unit", TEXT)
NUMBER_COLUMN = Column("dose_mg", NUMBER, True)
INTEGER_COLUMN = Column("doses_per_day", INTEGER, True)


@pytest.mark.parametrize("column, cell, expected", [
    (NUMBER_COLUMN, "-5", -5.0),                 # a sign is a number, not a formula
    (NUMBER_COLUMN, "+5", 5.0),
    (OPTIONAL_TEXT, "-", None),                  # the missing token, not a formula
    (TEXT_COLUMN, "Rash, then\nfever\tgrade 2", "Rash, then\nfever\tgrade 2"),   # Alt+Enter and tabs are text
    (TEXT_COLUMN, "x" * MAX_CELL_CHARS, "x" * MAX_CELL_CHARS),
    (TEXT_COLUMN, "Na+ low", "Na+ low"),         # a sign inside the text is fine
    (TEXT_COLUMN, "头痛", "头痛"),
    (INTEGER_COLUMN, "-2147483648", -2**31),     # the ends of DuckDB INTEGER
    (INTEGER_COLUMN, "2147483647.0", 2**31 - 1),
    (INTEGER_COLUMN, "0000000000002", 2),
])
def test_ordinary_values_stay_accepted(column, cell, expected):
    assert parse_cell(column, cell, CellFormat()) == expected


@pytest.mark.parametrize("column, cell, check, reason", [
    (TEXT_COLUMN, "x" * (MAX_CELL_CHARS + 1), "parse.too_long",
     "the value is 32768 characters long; a cell holds at most 32,767 characters (Excel's limit): "
     "the value is not shown here"),
    (TEXT_COLUMN, "ok\x1b[31m", "parse.control_character",
     "the value contains an invisible control character (U+001B) at position 3: remove it"),
    (TEXT_COLUMN, "\x85next", "parse.control_character", "(U+0085) at position 1"),
    (TEXT_COLUMN, " =1+1", "parse.formula", '"=1+1" starts with "=", so spreadsheet programs would run it as a formula'),
    (TEXT_COLUMN, "-2+3+cmd|' /C calc'!A0", "parse.formula", 'starts with "-"'),
    (TEXT_COLUMN, "@SUM(A1)", "parse.formula", 'starts with "@"'),
    (NUMBER_COLUMN, "=A2*2", "parse.formula", 'starts with "="'),
    (TEXT_COLUMN, "=" + "A" * 100, "parse.formula", "... (101 characters)"),
    (INTEGER_COLUMN, "2147483648", "parse.integer",
     '"2147483648" is outside the range of whole numbers the warehouse stores (-2,147,483,648 to 2,147,483,647)'),
    (INTEGER_COLUMN, 1e300, "parse.integer", "... (301 characters)"),
    (INTEGER_COLUMN, "9" * 5000, "parse.integer", "(5000 characters)"),   # Python refuses int() of it
    (NUMBER_COLUMN, "1" * 400, "parse.number", "... (400 characters)\" is too large to be a measurement"),
])
def test_hostile_text_is_a_row_error_with_a_reason(column, cell, check, reason):
    with pytest.raises(CellError) as error:
        parse_cell(column, cell, CellFormat())
    assert error.value.check == check
    assert reason in error.value.reason
    assert "\x1b" not in error.value.reason and "\x85" not in error.value.reason
