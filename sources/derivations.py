"""What a domain's row needs beyond each column's kind: the lab value parser (a qualifier `<`/`>`
beside the number), and the fields derived from several cells of a row: a lab result's
stored test code, canonical value, unit, factor and reference range (`sources.units`), next to
the value and unit as the site wrote them.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sources.domains import DOMAINS
from sources.parsing import Cell, CellFormat, parse_lab_value, parse_subject_id, parse_text
from sources.units import convert_lab


def _lab_value(cell: Cell, fmt: CellFormat) -> tuple[float, str | None]:
    return parse_lab_value(cell, fmt.decimal)


# Columns that need more than their kind's parser.
COLUMN_PARSERS: dict[tuple[str, str], Callable[[Cell, CellFormat], object]] = {
    ("labs", "value"): _lab_value,
    **{(domain, "subject_id"): parse_subject_id for domain in DOMAINS},
}


def _lab_fields(test_code: str, value: tuple[float, str | None], unit: str, ref_low: float | None,
                ref_high: float | None, value_cell: Cell, *, unit_aliases: dict[str, str]) -> dict[str, object]:
    """Canonical value and unit beside the value and unit as written (raises CellError);
    units as the site spells them (its registry unit_aliases)."""
    measured, qualifier = value
    conversion = convert_lab(test_code, measured, unit, ref_low, ref_high, unit_aliases)
    return dict(
        test_code=conversion.test_code, original_test_code=conversion.original_test_code,
        value=conversion.value, value_qualifier=qualifier, unit=conversion.unit,
        original_value=parse_text(value_cell), original_unit=conversion.original_unit,
        conversion_factor=conversion.factor, ref_low=conversion.ref_low, ref_high=conversion.ref_high,
    )


@dataclass(frozen=True)
class DerivedFields:
    """Fields a domain derives from several parsed values of one row (and raw cells).

    `derive` must be pure (same arguments, same result or same CellError): the columnar path
    remembers its results. It runs only when every column of `needs` parsed."""
    values: tuple[str, ...]      # parsed values passed to derive, in order
    cells: tuple[str, ...]       # raw cells passed after them
    needs: tuple[str, ...]       # skipped when one of these failed (the row is refused already)
    derive: Callable[..., dict[str, object]]
    site_settings: tuple[str, ...] = ()   # SiteConfig fields passed to derive by keyword


# Row rules of a domain that need several cells of the row.
DERIVED_FIELDS: dict[str, DerivedFields] = {
    "labs": DerivedFields(values=("test_code", "value", "unit", "ref_low", "ref_high"), cells=("value",),
                          needs=("test_code", "value", "unit"), derive=_lab_fields,
                          site_settings=("unit_aliases",)),
}
