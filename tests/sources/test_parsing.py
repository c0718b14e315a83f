from __future__ import annotations

from datetime import date, datetime

import pytest

from sources.domains import DATE, DOMAINS, INTEGER, NUMBER, TEXT, Column
from sources.parsing import (
    CellError, CellFormat, cell_text, date_format_problems, describe_date_format, is_missing,
    parse_cell, parse_date, parse_flag, parse_integer, parse_lab_value, parse_number,
)


@pytest.mark.parametrize("cell", [None, "", "  ", "NA", "na", "N/A", "n/a", "ND", "-", ".", " NA "])
def test_missing_tokens(cell):
    assert is_missing(cell)


@pytest.mark.parametrize("cell", ["0", "NaN", "None", "--", 0, 0.0, False])
def test_values_that_are_not_missing(cell):
    assert not is_missing(cell)


@pytest.mark.parametrize("text, fmt", [
    ("2021-03-04", "%Y-%m-%d"), ("04.03.2021", "%d.%m.%Y"), ("2021/03/04", "%Y/%m/%d"),
    ("03/04/2021", "%m/%d/%Y"), (" 04.03.2021 ", "%d.%m.%Y"), ("4.3.2021", "%d.%m.%Y"),
])
def test_dates_in_each_site_format(text, fmt):
    assert parse_date(text, fmt) == date(2021, 3, 4)


@pytest.mark.parametrize("text, fmt, expected", [
    ("31.02.2021", "%d.%m.%Y",
     '"31.02.2021" is not a valid date in the site\'s format dd.mm.yyyy (%d.%m.%Y): that day does not exist'),
    ("03/04/2021", "%Y-%m-%d", '"03/04/2021" is not a valid date in the site\'s format yyyy-mm-dd (%Y-%m-%d)'),
    ("2021-03-04", "%d.%m.%Y", "is not a valid date in the site's format dd.mm.yyyy"),
    ("2021-03-04 00:00:00", "%Y-%m-%d", "is not a valid date"),
    ("21-03-04", "%Y-%m-%d", "is not a valid date"),
    ("13/25/2021", "%m/%d/%Y", "is not a valid date"),
])
def test_a_date_that_does_not_parse_is_an_error_never_a_guess(text, fmt, expected):
    with pytest.raises(CellError) as error:
        parse_date(text, fmt)
    assert expected in error.value.reason
    assert error.value.check == "parse.date"


def test_xlsx_date_cells_are_dates_and_numbers_are_not():
    assert parse_date(datetime(2021, 3, 4, 13, 30), "%d.%m.%Y") == date(2021, 3, 4)
    assert parse_date(date(2021, 3, 4), "%d.%m.%Y") == date(2021, 3, 4)
    with pytest.raises(CellError, match="is a number, not a date"):
        parse_date(44259, "%d.%m.%Y")


@pytest.mark.parametrize("cell, decimal, expected", [
    ("1.5", ".", 1.5), ("1,5", ",", 1.5), ("-0.25", ".", -0.25), ("+3", ".", 3.0), ("150000", ",", 150000.0),
    (".5", ".", 0.5), (1.5, ",", 1.5), (7, ".", 7.0),
])
def test_numbers_use_the_site_decimal_separator(cell, decimal, expected):
    assert parse_number(cell, decimal) == expected


@pytest.mark.parametrize("cell, decimal, expected", [
    ("1,5", ".", 'the decimal separator is "." and "," is not accepted'),
    ("1.5", ",", 'the decimal separator is "," and "." is not accepted'),
    ("1,234.5", ".", "no thousands separators"),
    ("1.500", ",", "no thousands separators"),
    ("abc", ".", '"abc" is not a number'),
    ("1e3", ".", "is not a number"),
    ("1 500", ".", "is not a number"),
    ("NaN", ".", "is not a number"),
    (True, ".", "is not a number"),
])
def test_non_numbers_are_errors(cell, decimal, expected):
    with pytest.raises(CellError) as error:
        parse_number(cell, decimal)
    assert expected in error.value.reason


@pytest.mark.parametrize("cell, decimal, expected", [
    ("2", ".", 2), ("2.0", ".", 2), ("2,0", ",", 2), ("-3", ".", -3), (2.0, ",", 2), (1980, ".", 1980),
])
def test_integers(cell, decimal, expected):
    assert parse_integer(cell, decimal) == expected


@pytest.mark.parametrize("cell, decimal", [("2.5", "."), ("2,0", "."), ("two", "."), (2.5, "."), (True, ".")])
def test_non_integers_are_errors(cell, decimal):
    with pytest.raises(CellError) as error:
        parse_integer(cell, decimal)
    assert error.value.check == "parse.integer"


@pytest.mark.parametrize("cell, decimal, expected", [
    ("<0.5", ".", (0.5, "<")), ("> 1000", ".", (1000.0, ">")), ("<0,5", ",", (0.5, "<")),
    ("12.3", ".", (12.3, None)), (7, ",", (7.0, None)),
])
def test_lab_values_keep_number_and_qualifier(cell, decimal, expected):
    assert parse_lab_value(cell, decimal) == expected


@pytest.mark.parametrize("cell, check", [
    ("<=0.5", "parse.qualifier"), (">=3", "parse.qualifier"), ("≤0.5", "parse.qualifier"),
    ("≥3", "parse.qualifier"), ("<", "parse.number"), ("5 H", "parse.number"), ("<<5", "parse.number"),
])
def test_unaccepted_lab_values(cell, check):
    with pytest.raises(CellError) as error:
        parse_lab_value(cell, ".")
    assert error.value.check == check


@pytest.mark.parametrize("cell, expected", [("Y", True), ("n", False), ("yes", True), (" No ", False),
                                            (True, True), (False, False)])
def test_flags(cell, expected):
    assert parse_flag(cell) is expected


@pytest.mark.parametrize("cell", ["maybe", "1", 1, "T"])
def test_non_flags_are_errors(cell):
    with pytest.raises(CellError, match="is not Y or N"):
        parse_flag(cell)


FMT = CellFormat(".", "%Y-%m-%d")


@pytest.mark.parametrize("column, cell, expected", [
    (DOMAINS["disposition"].column("status"), " On_Treatment ", "on_treatment"),
    (DOMAINS["subjects"].column("sex"), "m", "M"),
    (DOMAINS["conmeds"].column("drug_class"), "TPO_RA", "tpo_ra"),
    (DOMAINS["bleeding"].column("who_grade"), "3", 3),
    (DOMAINS["bleeding"].column("who_grade"), 0.0, 0),
    (DOMAINS["disposition"].column("reason"), "NA", None),
])
def test_controlled_terms_are_stored_in_the_spec_spelling(column, cell, expected):
    assert parse_cell(column, cell, FMT) == expected


@pytest.mark.parametrize("column, cell, expected", [
    (DOMAINS["subjects"].column("sex"), "male", '"male" is not one of M, F'),
    (DOMAINS["bleeding"].column("who_grade"), "5", '"5" is not one of 0, 1, 2, 3, 4'),
    (DOMAINS["adverse_events"].column("ctcae_grade"), "0", '"0" is not one of 1, 2, 3, 4, 5'),
    (DOMAINS["conmeds"].column("drug_class"), "steroid", "is not one of glucocorticoid, rituximab"),
])
def test_terms_outside_the_list_are_errors(column, cell, expected):
    with pytest.raises(CellError) as error:
        parse_cell(column, cell, FMT)
    assert expected in error.value.reason
    assert error.value.check == "controlled_term"


@pytest.mark.parametrize("kind", [TEXT, DATE, NUMBER, INTEGER])
def test_a_missing_required_value_is_an_error_and_an_optional_one_is_none(kind):
    with pytest.raises(CellError) as error:
        parse_cell(Column("x", kind, required=True), "N/A", FMT)
    assert (error.value.check, error.value.reason) == ("required", 'a value is required but the cell is empty ("N/A")')
    assert parse_cell(Column("x", kind), " ", FMT) is None


@pytest.mark.parametrize("fmt", ["%Y-%m-%d", "%d.%m.%Y", "%Y/%m/%d", "%m/%d/%Y", "%Y%m%d", "%d-%m-%Y"])
def test_accepted_date_formats(fmt):
    assert date_format_problems(fmt) == []


def test_date_formats_read_as_people_write_them():
    assert describe_date_format("%d.%m.%Y") == "dd.mm.yyyy (%d.%m.%Y)"
    assert describe_date_format("%m/%d/%Y") == "mm/dd/yyyy (%m/%d/%Y)"


@pytest.mark.parametrize("cell, expected", [
    (None, None), ("  a ", "  a "), (1.5, "1.5"), (150000.0, "150000"), (7, "7"), (True, "TRUE"),
    (datetime(2021, 3, 4), "2021-03-04"), (datetime(2021, 3, 4, 8, 5), "2021-03-04 08:05:00"),
    (date(2021, 3, 4), "2021-03-04"),
])
def test_cell_text(cell, expected):
    assert cell_text(cell) == expected
