"""Key risk indicators per site (quality.site_indicators, a dbt model; issue #18) as people
read them: the monitors' alert names every site over a threshold, the quality dashboard shows
them all. The thresholds, labels and units come with the rows and seed
`site_indicator_thresholds`: nothing here knows a threshold.
"""
from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb

from monitoring.alerts import Alert
from sources.study_parameters import SEEDS_DIR


@dataclass(frozen=True)
class IndicatorValue:
    site_id: str
    indicator: str
    label: str
    unit: str
    value: float | None
    numerator: float | None
    denominator: float | None
    threshold: float
    direction: str
    over: bool

    @property
    def value_text(self) -> str:
        return format_value(self.value, self.unit)

    @property
    def threshold_text(self) -> str:
        return f"{self.direction} {format_value(self.threshold, self.unit)}"


def format_value(value: float | None, unit: str) -> str:
    """Shares as percentages, days and counts as whole numbers, rates with two decimals."""
    if value is None:
        return "n/a"
    if unit == "share":
        return f"{100 * value:.1f}%"
    if unit in ("days", "domains"):
        return f"{value:.0f}"
    return f"{value:.2f}"


def _exists(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                        [schema, table]).fetchone()[0] > 0


def load_indicators(conn: duckdb.DuckDBPyConnection, load_id: str | None = None) -> list[IndicatorValue]:
    """Every indicator of every site at `load_id` (default: the latest load that has rows),
    in the seed's order of indicators."""
    if not _exists(conn, "quality", "site_indicators"):
        return []
    if load_id is None:
        row = conn.execute(
            """SELECT i.load_id FROM quality.site_indicators AS i
               JOIN quality.load_log AS l USING (load_id) ORDER BY l.started_at DESC LIMIT 1""").fetchone()
        if row is None:
            return []
        load_id = row[0]
    seeded = _exists(conn, "reference", "site_indicator_thresholds")
    labels = ("coalesce(t.label, i.indicator), coalesce(t.unit, '')" if seeded else "i.indicator, ''")
    join = "LEFT JOIN reference.site_indicator_thresholds AS t USING (indicator)" if seeded else ""
    rows = conn.execute(
        f"""SELECT i.site_id, i.indicator, {labels}, i.value, i.numerator, i.denominator, i.threshold,
                   i.direction, i.is_over_threshold
            FROM quality.site_indicators AS i {join}
            WHERE i.load_id = ?""", [load_id]).fetchall()
    order = {name: n for n, name in enumerate(indicator_order())}
    return sorted((IndicatorValue(*r) for r in rows), key=lambda i: (i.site_id, order.get(i.indicator, 99), i.indicator))


@cache
def indicator_order() -> tuple[str, ...]:
    """The indicators in the seed's order (how the dashboard and the alert list them)."""
    with open(SEEDS_DIR / "site_indicator_thresholds.csv", encoding="utf-8", newline="") as fh:
        return tuple(r["indicator"] for r in csv.DictReader(fh))


def over_threshold_lines(conn: duckdb.DuckDBPyConnection, load_id: str) -> tuple[list[str], list[str]]:
    """(lines of the alert's section, sites over a threshold) for `load_id`."""
    over = [i for i in load_indicators(conn, load_id) if i.over]
    sites = sorted({i.site_id for i in over})
    lines = []
    for site in sites:
        found = "; ".join(f"{i.label} {i.value_text} (threshold: {i.threshold_text})"
                          for i in over if i.site_id == site)
        lines.append(f"- site {site}: {found}")
    return lines, sites


def with_indicators(alert: Alert | None, conn: duckdb.DuckDBPyConnection, load_id: str) -> Alert | None:
    """The load's alert with the sites over a threshold named in its title and body (an alert of
    its own when the load had nothing else to report)."""
    lines, sites = over_threshold_lines(conn, load_id)
    if not sites:
        return alert
    section = "\n".join([f"Sites over a key risk indicator threshold ({len(sites)}; quality.site_indicators):",
                         *lines]) + "\n"
    named = f"site(s) over a risk threshold: {', '.join(sites)}"
    if alert is None:
        return Alert(title=f"itp-warehouse load {load_id}: {named}",
                     body=f"Load {load_id}\nThe load was PUBLISHED: analysts now see this data.\n\n{section}")
    head, _, rest = alert.body.partition("\n\n")
    return Alert(title=f"{alert.title}; {named}", body=f"{head}\n\n{section}\n{rest}")


def with_dashboard(alert: Alert, dashboard: Path | None, problem: str | None = None) -> Alert:
    """The alert ending with where the quality dashboard of the load is (or why it is not)."""
    line = f"Quality dashboard: {dashboard}" if dashboard else f"No quality dashboard was written: {problem}"
    return dataclasses.replace(alert, body=alert.body.rstrip("\n") + f"\n{line}\n")
