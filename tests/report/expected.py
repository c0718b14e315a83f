"""How the report prints a mart value (the tests' own statement of the format, not the
report's code): integers as digits, pct with one decimal, null pct as n/a, and a proportion's
95% interval as the library computes it (scipy's exact Clopper–Pearson), in percent with one
decimal rounded half up: "61.4–83.5"."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from scipy.stats import binomtest


def count_text(n: int) -> str:
    return str(n)


def pct_text(pct: Decimal | float | None) -> str:
    return "n/a" if pct is None else f"{Decimal(str(pct)).quantize(Decimal('0.1'))}"


def ci_text(n: int, denominator: int) -> str:
    if denominator == 0:
        return "n/a"
    ci = binomtest(n, denominator).proportion_ci(confidence_level=0.95, method="exact")
    one = [Decimal(str(100 * bound)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) for bound in ci]
    return f"{one[0]}–{one[1]}"


def endpoint_field_text(row: tuple, field: str) -> str:
    """row = (n, denominator, pct[, n_not_determinable]) of marts.endpoint_summary."""
    n, denominator, pct = row[:3]
    if field == "ci":
        return ci_text(n, denominator)
    texts = {"n": count_text(n), "denominator": count_text(denominator), "pct": pct_text(pct)}
    if len(row) > 3:
        texts["n_not_determinable"] = count_text(row[3])
    return texts[field]


def endpoint_figure_mismatches(parsed, rows: list[tuple]) -> list[str]:
    """Every (endpoint, timepoint) row of the mart must print its n and pct, identically
    wherever it appears; returns what does not (empty = the report holds the mart's figures)."""
    problems = []
    for endpoint, timepoint, n, denominator, pct in rows:
        for field in ("n", "pct", "ci"):
            shown = {c.text for c in parsed.where(endpoint=endpoint, timepoint=timepoint, field=field)}
            expected = endpoint_field_text((n, denominator, pct), field)
            if shown != {expected}:
                problems.append(f"{endpoint}/{timepoint} {field}: expected {expected}, "
                                f"report shows {shown or 'nothing'}")
    return problems
