"""The endpoint summary as a terminal table, read from the published warehouse only."""
from __future__ import annotations

import sys
from pathlib import Path

import duckdb

# The order of endpoints.md §7's endpoint_summary table, for reading top to bottom.
ENDPOINT_ORDER = [
    "treated", "exposure_ge_3m", "exposure_gt_6m", "exposure_ge_12m", "withdrawn",
    "initial_or", "initial_cr", "response_or", "response_cr", "bleeding_any",
    "conmed_baseline", "conmed_reduced", "ae_any", "ae_grade3plus", "ae_serious", "ae_related",
    "ae_led_to_withdrawal", "lab_grade1plus", "lab_grade3plus",
]
TIMEPOINT_ORDER = ["all", "day14", "baseline"] + [f"month_{k}" for k in range(1, 13)] + [
    "month_3_to_6", "no_response", "adverse_event", "other"]


def _row_order(row: tuple) -> tuple:
    endpoint, timepoint = row[0], row[1]
    e = ENDPOINT_ORDER.index(endpoint) if endpoint in ENDPOINT_ORDER else len(ENDPOINT_ORDER)
    t = TIMEPOINT_ORDER.index(timepoint) if timepoint in TIMEPOINT_ORDER else len(TIMEPOINT_ORDER)
    return (e, t, timepoint)


def print_summary(published: Path) -> int:
    if not published.exists():
        print(f"no published warehouse at {published}", file=sys.stderr)
        return 1
    with duckdb.connect(str(published), read_only=True) as conn:
        cutoff, load_id = conn.execute(
            "SELECT cutoff_date, load_id FROM quality.load_log WHERE status = 'published' "
            "ORDER BY started_at DESC LIMIT 1").fetchone() or (None, None)
        rows = conn.execute(
            "SELECT endpoint, timepoint, n, denominator, pct FROM marts.endpoint_summary"
        ).fetchall()
    rows.sort(key=_row_order)
    print(f"\nEndpoint summary (data cutoff {cutoff}, load {load_id})")
    header = ("endpoint", "timepoint", "n", "denominator", "pct")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(5)]
    fmt = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    print(fmt.format(*header))
    for r in rows:
        print(fmt.format(*("" if v is None else v for v in r)))
    return 0
