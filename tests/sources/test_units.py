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


def test_an_unknown_unit_is_a_row_error_naming_the_test_the_unit_and_the_accepted_units():
    with pytest.raises(CellError) as error:
        convert_lab("HGB", 12.0, "mg/L")
    assert error.value.check == "unit.unknown"
    assert error.value.column == "unit"
    assert error.value.reason == ('"mg/L" is not an accepted unit for HGB (accepted: g/L, g/dL, mmol/L; a site '
                                  "may declare its own spelling of one in the registry's unit_aliases)")


# site-exports.md §3 (v1.1), written out here independently of the seed: spelling -> the
# unit it is, for every test that accepts that unit (factor of the unit for the test).
SPEC_SYNONYMS = {
    "10^9/L": ["10*9/L", "x10^9/L", "10E9/L", "GI/L"],
    "10^3/uL": ["10*3/uL", "x10^3/uL", "10E3/uL", "THOU/uL", "K/uL", "10^3/mm3"],
    "U/L": ["IU/L"],
}
COUNTS = ("PLT", "WBC", "NEUT", "LYMPH")
SPEC_CASES = ([(code, spelling, 1.0) for spellings in SPEC_SYNONYMS.values() for spelling in spellings
               for code in COUNTS if spellings is not SPEC_SYNONYMS["U/L"]]
              + [(code, "IU/L", 1.0) for code in ("ALT", "AST")])


@pytest.mark.parametrize("code, spelling, factor", SPEC_CASES, ids=[f"{c}-{u}" for c, u, _ in SPEC_CASES])
def test_every_built_in_synonym_of_the_spec_converts(code, spelling, factor):
    for written in (spelling, spelling.lower(), f" {spelling.upper()} ", spelling.replace("u", "µ")):
        result = convert_lab(code, 150.0, written, 100.0, 300.0)
        assert (result.value, result.ref_low, result.ref_high) == (150.0 * factor, 100.0 * factor, 300.0 * factor)
        assert result.original_unit == written.strip()


def test_every_seed_synonym_names_a_unit_and_converts_where_the_unit_is_accepted():
    synonyms = seed("unit_synonyms")
    assert {r["spelling"] for r in synonyms} >= {s for spellings in SPEC_SYNONYMS.values() for s in spellings}
    accepted = {(r["test_code"], r["unit"]): float(r["factor"]) for r in UNITS}
    converted = 0
    for r in synonyms:
        for (code, unit), factor in accepted.items():
            if unit == r["unit"]:
                assert convert_lab(code, 2.0, r["spelling"]).value == pytest.approx(2.0 * factor)
                converted += 1
    assert converted >= len(synonyms) - 4   # the 10^12/L spellings name a unit of no test


@pytest.mark.parametrize("spelling", ["10^12/L", "TI/L", "10E12/L"])
def test_10_12_per_litre_is_refused_for_every_test(spelling):
    for code in sorted({r["test_code"] for r in UNITS}):
        with pytest.raises(CellError, match="is not an accepted unit for"):
            convert_lab(code, 4.5, spelling)


def test_a_declared_unit_alias_converts_and_names_itself_when_it_does_not_fit():
    aliases = {"10^9个/l": "10^9/L", "umol/l(酶法)": "umol/L"}   # as SiteConfig holds them (normalized)
    assert convert_lab("PLT", 85.0, "10^9个/L", unit_aliases=aliases).value == 85.0
    assert convert_lab("TBIL", 1.2, "umol/L (酶法)", unit_aliases=aliases).value == 1.2
    with pytest.raises(CellError) as error:
        convert_lab("HGB", 120.0, "10^9个/L", unit_aliases=aliases)
    assert error.value.reason.startswith(
        '"10^9个/L" (the site\'s unit alias of 10^9/L) is not an accepted unit for HGB (accepted: g/L, g/dL, mmol/L')
    with pytest.raises(CellError):   # another site's alias means nothing here
        convert_lab("PLT", 85.0, "10^9个/L")


def test_a_unit_of_another_test_is_unknown():
    with pytest.raises(CellError, match="not an accepted unit for ALT"):
        convert_lab("ALT", 1.0, "g/L")


def test_an_unknown_test_code_is_a_row_error():
    with pytest.raises(CellError) as error:
        convert_lab("PLAT", 150.0, "10^9/L")
    assert (error.value.check, error.value.column) == ("test_code.unknown", "test_code")
    assert '"PLAT" is not an accepted test code' in error.value.reason
