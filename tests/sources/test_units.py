"""Every accepted unit of the seed converts by its factor (the seed is read here with the csv
module, independently of sources.study_parameters)."""
from __future__ import annotations

import csv

import pytest

from sources.parsing import CellError
from sources.study_parameters import SEEDS_DIR
from sources.units import convert_lab


def seed(name: str) -> list[dict[str, str]]:
    with open(SEEDS_DIR / f"{name}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


CANONICAL = {r["test_code"]: r["canonical_unit"] for r in seed("lab_tests")}
UNITS = seed("lab_units")


@pytest.mark.parametrize("row", UNITS, ids=[f"{r['test_code']}-{r['unit']}" for r in UNITS])
def test_each_accepted_unit_converts_by_its_seed_factor(row):
    factor = float(row["factor"])
    result = convert_lab(row["test_code"], 2.0, row["unit"], 1.0, 4.0)
    assert result.value == pytest.approx(2.0 * factor)
    assert result.ref_low == pytest.approx(1.0 * factor)
    assert result.ref_high == pytest.approx(4.0 * factor)
    assert result.factor == factor
    assert result.unit == CANONICAL[row["stored_test_code"]]
    assert (result.test_code, result.original_test_code) == (row["stored_test_code"], row["test_code"])
    assert result.original_unit == row["unit"]


def test_the_seed_covers_the_spec_table():
    """site-exports.md §3: 11 test codes, BUN stored as UREA."""
    assert {r["test_code"] for r in UNITS} == {
        "PLT", "WBC", "NEUT", "LYMPH", "HGB", "ALT", "AST", "TBIL", "CREAT", "UREA", "BUN"}
    assert {r["stored_test_code"] for r in UNITS if r["test_code"] == "BUN"} == {"UREA"}


@pytest.mark.parametrize("code, unit, expected", [
    ("PLT", "x10^9/L", 2.0), ("plt", "10*9/L", 2.0), ("PLT", "k/ul", 2.0), ("WBC", " 10^3/µL ", 2.0),
    ("TBIL", "μmol/L", 2.0), ("TBIL", "UMOL/L", 2.0), ("PLT", "/mm3", 0.002), ("BUN", "mg/dl", 0.714),
])
def test_unit_spellings_are_tolerated_as_the_spec_says(code, unit, expected):
    assert convert_lab(code, 2.0, unit).value == pytest.approx(expected)


def test_bun_is_stored_as_urea_with_the_original_kept():
    result = convert_lab(" bun ", 14.0, "mg/dL", None, None)
    assert (result.test_code, result.original_test_code, result.unit) == ("UREA", "BUN", "mmol/L")
    assert result.value == pytest.approx(4.998)
    assert (result.ref_low, result.ref_high) == (None, None)


def test_products_are_free_of_floating_point_noise():
    assert convert_lab("CREAT", 0.7, "mg/dL").value == 61.894
    assert convert_lab("UREA", 6.0, "mg/dL").value == 0.999


def test_an_unknown_unit_is_a_row_error_naming_the_accepted_units():
    with pytest.raises(CellError) as error:
        convert_lab("HGB", 12.0, "mg/L")
    assert error.value.check == "unit.unknown"
    assert error.value.column == "unit"
    assert error.value.reason == '"mg/L" is not an accepted unit for HGB (accepted: g/L, g/dL, mmol/L)'


def test_a_unit_of_another_test_is_unknown():
    with pytest.raises(CellError, match="not an accepted unit for ALT"):
        convert_lab("ALT", 1.0, "g/L")


def test_an_unknown_test_code_is_a_row_error():
    with pytest.raises(CellError) as error:
        convert_lab("PLAT", 150.0, "10^9/L")
    assert (error.value.check, error.value.column) == ("test_code.unknown", "test_code")
    assert '"PLAT" is not an accepted test code' in error.value.reason
