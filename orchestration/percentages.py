"""The study's one percentage rule, for Python: 100·n/denominator rounded half up to one
decimal, None when the denominator is 0 (endpoints.md §7).

The rule's home is the dbt macro `percent` (dbt_project/macros/percent.sql), which every
mart uses; Python prints percentages the marts do not hold (the report's baseline table) and
must round them the same way. This is that macro in integers: floor((2000·n + d) / 2d) / 10,
exact, where rounding a double would turn 12.45 into 12.4.
`tests/report/test_percentages.py` renders the macro itself and fails if the two ever disagree.
"""
from __future__ import annotations

from decimal import Decimal


def percent(n: int, denominator: int) -> Decimal | None:
    if denominator <= 0:
        return None
    return Decimal((2000 * n + denominator) // (2 * denominator)).scaleb(-1)
