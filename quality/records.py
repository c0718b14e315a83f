"""How a stored row is shown to a person: in a quarantine `raw_record` and inside reasons.

A site coordinator compares what we show with their own export, so values are written the way
the export holds them: ISO dates, integral numbers without a trailing `.0`, flags as `Y`/`N`,
and for labs the value, unit and test code as the site wrote them (not our canonical form).
Only specification columns appear: a column dropped at ingestion must never resurface here.
"""
from __future__ import annotations

import json
import math
from datetime import date, datetime
from typing import Any, Mapping

import pandas as pd

from sources.domains import DOMAINS, FLAG

# labs: the spec column a person wrote -> the raw column that keeps it as written.
AS_WRITTEN = {"labs": {"value": "original_value", "unit": "original_unit", "test_code": "original_test_code"}}
# labs: reference limits are stored in the canonical unit; shown in the row's unit again.
CONVERTED = {"labs": ("ref_low", "ref_high")}


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def show(value: Any) -> str | None:
    """One cell as text (None when missing)."""
    if is_missing(value):
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value):
            return str(int(value))
        return f"{value:.10g}"
    if hasattr(value, "item"):  # numpy scalar
        return show(value.item())
    return str(value)


def shown(value: Any) -> str:
    """A cell for a sentence: missing values read as `empty`."""
    text = show(value)
    return "empty" if text is None else text


def in_written_unit(row: Mapping[str, Any], column: str) -> Any:
    """A stored canonical amount divided back by the row's conversion factor."""
    value, factor = row.get(column), row.get("conversion_factor")
    if is_missing(value) or is_missing(factor) or float(factor) == 0:
        return value
    return float(value) / float(factor)


def rows_text(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def raw_record(domain: str, row: Mapping[str, Any]) -> dict[str, str | None]:
    """The specification cells of a stored row, as the site wrote them."""
    as_written = AS_WRITTEN.get(domain, {})
    converted = CONVERTED.get(domain, ())
    out: dict[str, str | None] = {}
    for col in DOMAINS[domain].columns:
        source = as_written.get(col.name, col.name)
        if col.name in converted:
            value = in_written_unit(row, col.name)
        else:
            value = row.get(source) if source in row else row.get(col.name)
        if col.kind == FLAG and isinstance(value, (bool, int)) and not is_missing(value):
            value = bool(value)
        out[col.name] = show(value)
    return out


def to_json(record: Mapping[str, str | None]) -> str:
    return json.dumps(dict(record), ensure_ascii=False)
