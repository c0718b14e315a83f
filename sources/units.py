"""Lab results into the study's canonical units (site-exports.md §3, labs).

The accepted tests, units and factors are the dbt seeds, read through
`sources.study_parameters`: this module holds no factor of its own, so Python and dbt can never
disagree. BUN arrives as its own test code and is stored as UREA; the code and unit as sent are
kept beside the converted value.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sources.parsing import CellError
from sources.study_parameters import lab_tests, lab_units, normalize_unit

CHECK_TEST_CODE = "test_code.unknown"
CHECK_UNIT = "unit.unknown"

# Floating-point products such as 0.7 * 88.42 = 61.894000000000005 are rounded to this many
# significant digits, far beyond any assay's precision, so thresholds compare as written.
_SIGNIFICANT_DIGITS = 12


@dataclass(frozen=True)
class LabConversion:
    test_code: str              # the stored code (BUN -> UREA)
    original_test_code: str     # the code as sent, upper-cased
    value: float                # in the canonical unit
    unit: str                   # the canonical unit (lab_tests.csv)
    original_unit: str          # the unit as written by the site
    factor: float               # value as sent x factor = value
    ref_low: float | None       # converted by the same factor
    ref_high: float | None


def _scaled(x: float | None, factor: float) -> float | None:
    return None if x is None else float(f"{x * factor:.{_SIGNIFICANT_DIGITS}g}")


@cache
def accepted_test_codes() -> tuple[str, ...]:
    """The test codes a site may send (BUN included), sorted."""
    return tuple(sorted({u.test_code for u in lab_units().values()}))


def accepted_units(test_code: str) -> list[str]:
    """The units a site may use for `test_code` (as sent), spelled as in the seed."""
    return [u.unit for u in lab_units().values() if u.test_code == test_code]


def convert_lab(test_code: str, value: float, unit: str, ref_low: float | None = None,
                ref_high: float | None = None) -> LabConversion:
    """Raises CellError (on the test_code or unit column) for a test or unit the study does
    not accept: a value in an unknown unit cannot be compared with anything."""
    code = test_code.strip().upper()
    if code not in accepted_test_codes():
        raise CellError(CHECK_TEST_CODE, f'"{test_code.strip()}" is not an accepted test code '
                        f"(expected one of {', '.join(accepted_test_codes())})", column="test_code")
    conversion = lab_units().get((code, normalize_unit(unit)))
    if conversion is None:
        raise CellError(CHECK_UNIT, f'"{unit.strip()}" is not an accepted unit for {code} '
                        f"(accepted: {', '.join(accepted_units(code))})", column="unit")
    factor = conversion.factor
    return LabConversion(
        test_code=conversion.stored_test_code,
        original_test_code=code,
        value=_scaled(value, factor),
        unit=lab_tests()[conversion.stored_test_code].canonical_unit,
        original_unit=unit.strip(),
        factor=factor,
        ref_low=_scaled(ref_low, factor),
        ref_high=_scaled(ref_high, factor),
    )
