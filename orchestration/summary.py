"""The endpoint summary as a terminal table, read from the published warehouse only."""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import duckdb

from sources.study_parameters import endpoints

# The order of endpoints.md §7's endpoint_summary table, for reading top to bottom (seed endpoints.csv).
ENDPOINT_ORDER = [e.endpoint for e in endpoints()]
TIMEPOINT_ORDER = ["all", "day14", "baseline"] + [f"month_{k}" for k in range(1, 13)] + [
    "month_3_to_6", "no_response", "adverse_event", "other"]


def _row_order(row: tuple) -> tuple:
    endpoint, timepoint = row[0], row[1]
    e = ENDPOINT_ORDER.index(endpoint) if endpoint in ENDPOINT_ORDER else len(ENDPOINT_ORDER)
    t = TIMEPOINT_ORDER.index(timepoint) if timepoint in TIMEPOINT_ORDER else len(TIMEPOINT_ORDER)
    return (e, t, timepoint)


def print_summary(published: Path, compact: bool = True) -> int:
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
    for line in (compact_lines(rows) if compact else table_lines(rows)):
        print(line)
    return 0


def table_lines(rows: list[tuple]) -> list[str]:
    """Every row: endpoint, timepoint, n, denominator, pct (`itp-warehouse summary --all`)."""
    header = ("endpoint", "timepoint", "n", "denominator", "pct")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(5)]
    fmt = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    return [fmt.format(*header)] + [fmt.format(*("" if v is None else v for v in r)) for r in rows]


MONTHLY = ("baseline", *(f"month_{k}" for k in range(1, 13)))
LINE = 100    # wrap the compact lines here
NBSP = "\u00a0"


def _pct(pct) -> str:
    return "-" if pct is None else f"{float(pct):.1f}"


def compact_lines(rows: list[tuple]) -> list[str]:
    """The summary in about 30 lines (the demo must end with it in at most 60): one line per
    endpoint, "n/denominator pct%" of its first timepoint then its other timepoints; the
    endpoints reported by treatment month as one grid of percentages. `--all` has every row."""
    by_endpoint: dict[str, list[tuple]] = {}
    for row in rows:
        by_endpoint.setdefault(row[0], []).append(row)
    monthly = {e: rs for e, rs in by_endpoint.items() if {r[1] for r in rs} <= set(MONTHLY)}
    name_width = max(len(e) for e in by_endpoint) if by_endpoint else 0
    lines = ["n/denominator and % per endpoint; `itp-warehouse summary --all` lists every row"]
    for endpoint, endpoint_rows in by_endpoint.items():
        if endpoint not in monthly:
            lines += _endpoint_lines(endpoint, endpoint_rows, name_width)
    if monthly:
        months = [t for t in MONTHLY if any(r[1] == t for rs in monthly.values() for r in rs)]
        labels = ["base" if t == "baseline" else t.removeprefix("month_") for t in months]
        lines.append(f"{'% by treatment month':<{name_width}}" + "".join(f"{label:>6}" for label in labels))
        for endpoint, endpoint_rows in monthly.items():
            pct = {r[1]: r[4] for r in endpoint_rows}
            lines.append(f"{endpoint:<{name_width}}" + "".join(f"{(_pct(pct[t]) if t in pct else ''):>6}"
                                                               for t in months))
    return lines


def _endpoint_lines(endpoint: str, rows: list[tuple], name_width: int) -> list[str]:
    _, head_timepoint, n, denominator, pct = rows[0]
    head = f"{endpoint:<{name_width}}  {'' if head_timepoint == 'all' else head_timepoint + ' '}" \
           f"{n}/{denominator} {_pct(pct)}%"
    items = []
    for _, timepoint, n, d, p in rows[1:]:
        label = timepoint.removesuffix("_" + head_timepoint)
        item = f"{label} {n}" + (f"/{d}" if d != denominator else "") + (f" ({_pct(p)}%)" if n else "")
        items.append(item.replace(" ", NBSP))   # wrapped between items, never inside one
    wrapped = textwrap.wrap(head + (": " + ", ".join(items) if items else ""), LINE,
                            subsequent_indent=" " * (name_width + 4), break_on_hyphens=False)
    return [line.replace(NBSP, " ") for line in wrapped]
