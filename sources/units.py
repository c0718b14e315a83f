"""Lab results into the study's canonical units (site-exports.md §3, labs).

The accepted tests, units and factors are the dbt seeds, read through
`sources.study_parameters`: this module holds no factor of its own, so Python and dbt can never
disagree. BUN arrives as its own test code and is stored as UREA; the code and unit as sent are
kept beside the converted value.

A unit as sent is read in this order: the site's own spelling (`unit_aliases` of the site
registry, which name an accepted unit, never a factor), then the built-in spellings (seed
unit_synonyms: GI/L = 10^9/L, THOU/uL = 10^3/uL ...), then the accepted units themselves; case,
spaces and µ/μ never matter (`normalize_unit`).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from sources.parsing import CellError
from sources.study_parameters import (LabUnit, lab_tests, lab_units, normalize_unit, unit_synonym_rows,
                                      unit_synonyms)

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


@cache
def _known_units() -> dict[str, str]:
    """Normalized spelling -> seed spelling of every unit of lab_units (any test)."""
    return {normalize_unit(u.unit): u.unit for u in lab_units().values()}


def unit_named(unit: str, unit_aliases: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """The unit a spelling stands for, and why: (seed spelling, None) for an accepted unit
    written as in the seed, (unit, "alias") for the site's declared spelling, (unit, "synonym")
    for a built-in one; (the spelling normalized, None) when it names nothing known.
    `unit_aliases` maps normalized site spellings to a seed spelling (SiteConfig.unit_aliases)."""
    key = normalize_unit(unit)
    if unit_aliases and key in unit_aliases:
        return unit_aliases[key], "alias"
    if key in unit_synonyms():
        return unit_synonyms()[key], "synonym"
    return _known_units().get(key, key), None


def resolve_unit(test_code: str, unit: str, unit_aliases: Mapping[str, str] | None = None) -> LabUnit | None:
    """The conversion of `unit` (as sent) for `test_code` (upper-case, as sent), or None."""
    return lab_units().get((test_code, normalize_unit(unit_named(unit, unit_aliases)[0])))


def unit_alias_problem(spelling: str, target: object) -> str | None:
    """Why a registry unit alias cannot be used, or None. Its target must be an accepted unit
    (or a built-in spelling of one); its spelling may not already mean another unit."""
    if not isinstance(target, str) or not target.strip():
        return f"the target must be an accepted unit, not {target!r}"
    named, _ = unit_named(target)
    if normalize_unit(named) not in _known_units():
        shown = f"{target!r} (= {named})" if normalize_unit(named) != normalize_unit(target) else repr(target)
        return (f"{shown} is not an accepted unit of any test (accepted: "
                f"{', '.join(sorted(set(_known_units().values())))})")
    already, how = unit_named(spelling)
    if (how is not None or normalize_unit(already) in _known_units()) and normalize_unit(already) != normalize_unit(named):
        return f"{spelling!r} already means {already}: an alias may not give it another meaning"
    return None


def accepted_spellings(test_code: str) -> list[str]:
    """The built-in spellings (seed unit_synonyms) of the test's accepted units, seed order."""
    accepted = {normalize_unit(u) for u in accepted_units(test_code)}
    return [spelling for spelling, unit in unit_synonym_rows()
            if normalize_unit(unit) in accepted and normalize_unit(spelling) not in accepted]


def convert_lab(test_code: str, value: float, unit: str, ref_low: float | None = None,
                ref_high: float | None = None, unit_aliases: Mapping[str, str] | None = None) -> LabConversion:
    """Raises CellError (on the test_code or unit column) for a test or unit the study does
    not accept: a value in an unknown unit cannot be compared with anything. The reason names
    the test, the unit as sent (and what it was read as) and the accepted units."""
    code = test_code.strip().upper()
    if code not in accepted_test_codes():
        raise CellError(CHECK_TEST_CODE, f'"{test_code.strip()}" is not an accepted test code '
                        f"(expected one of {', '.join(accepted_test_codes())})", column="test_code")
    conversion = resolve_unit(code, unit, unit_aliases)
    if conversion is None:
        named, how = unit_named(unit, unit_aliases)
        read_as = {"alias": f" (the site's unit alias of {named})", "synonym": f" (= {named})"}.get(how, "")
        spellings = accepted_spellings(code)
        also = f"; also written {', '.join(spellings)}" if spellings else ""
        raise CellError(CHECK_UNIT, f'"{unit.strip()}"{read_as} is not an accepted unit for {code} '
                        f"(accepted: {', '.join(accepted_units(code))}{also}; a site may declare its "
                        "own spelling of one in the registry's unit_aliases)", column="unit")
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
