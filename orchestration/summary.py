"""The endpoint summary as a terminal table, read from the published warehouse only."""
from __future__ import annotations

import sys
from pathlib import Path

import duckdb


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
    print(f"\nEndpoint summary (data cutoff {cutoff}, load {load_id})")
    header = ("endpoint", "timepoint", "n", "denominator", "pct")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(5)]
    fmt = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    print(fmt.format(*header))
    for r in rows:
        print(fmt.format(*("" if v is None else v for v in r)))
    return 0
