"""What the quality dashboard reads from the published warehouse (read-only): indicators,
checks by category, site queries by status and age, and the loads kept in quality.load_log.

A check's category (conformance, completeness, plausibility) is that of the longest prefix of
its name in seed `check_categories`; `row_checks` (pandera's per-domain summary) is left out
of the checks by category, since its failing rows are counted by their own reason codes in
the row checks by site.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb

from orchestration.report.warehouse import LoadInfo, load_info
from monitoring.indicators import IndicatorValue, indicator_order, load_indicators

CATEGORIES = ("conformance", "completeness", "plausibility")
UNCATEGORISED = "uncategorised"
SUMMARY_CHECK = "row_checks"
AGE_BUCKETS = ((0, 7, "0–7 days"), (8, 30, "8–30 days"), (31, 90, "31–90 days"), (91, None, "over 90 days"))
STATUSES = ("open", "answered", "closed", "resolved")


@dataclass(frozen=True)
class CategoryChecks:
    category: str
    n_checks: int
    n_passed: int
    failing: tuple[str, ...]


@dataclass(frozen=True)
class SiteRows:
    site_id: str
    category: str
    rows_checked: int
    rows_failing: int


@dataclass(frozen=True)
class SiteQueries:
    site_id: str
    by_status: dict[str, int]
    by_age: tuple[int, ...]      # unresolved (open or answered) queries per AGE_BUCKETS


@dataclass(frozen=True)
class LoadTrend:
    load_id: str
    started_at: datetime | None
    cutoff_date: object
    status: str | None
    files_new: int | None
    rows_accepted: int | None
    rows_quarantined: int | None
    checks_run: int
    checks_passed: int
    sites_over: int | None        # sites over a threshold (None: no indicators at that load)


@dataclass(frozen=True)
class SiteTrend:
    load_id: str
    started_at: datetime | None
    site_id: str
    n_over: int


@dataclass(frozen=True)
class IndicatorDefinition:
    indicator: str
    label: str
    unit: str
    direction: str
    threshold: float
    description: str


@dataclass(frozen=True)
class DashboardData:
    load: LoadInfo
    definitions: list[IndicatorDefinition]
    indicators: list[IndicatorValue]
    checks: list[CategoryChecks]
    site_rows: list[SiteRows]
    queries: list[SiteQueries]
    loads: list[LoadTrend]
    site_trends: list[SiteTrend]
    as_of: datetime


def _exists(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                        [schema, table]).fetchone()[0] > 0


def _categorised(names_sql: str, conn: duckdb.DuckDBPyConnection) -> str:
    """SQL of (check_name, category) for the check names `names_sql` selects."""
    if not _exists(conn, "reference", "check_categories"):
        return f"SELECT DISTINCT check_name, '{UNCATEGORISED}' AS category FROM ({names_sql})"
    return f"""SELECT n.check_name, coalesce(arg_max(k.category, length(k.check_prefix)), '{UNCATEGORISED}') AS category
               FROM (SELECT DISTINCT check_name FROM ({names_sql})) AS n
               LEFT JOIN reference.check_categories AS k ON starts_with(n.check_name, k.check_prefix)
               GROUP BY n.check_name"""


def _checks(conn: duckdb.DuckDBPyConnection, load_id: str) -> list[CategoryChecks]:
    rows = conn.execute(f"""
        WITH checks AS (SELECT * FROM quality.check_result WHERE load_id = ? AND check_name <> '{SUMMARY_CHECK}'),
             categories AS ({_categorised("SELECT check_name FROM checks", conn)})
        SELECT category, count(*), count(*) FILTER (WHERE passed),
               coalesce(list(check_name || ' on ' || target ORDER BY check_name, target) FILTER (WHERE NOT passed), [])
        FROM checks JOIN categories USING (check_name) GROUP BY category""", [load_id]).fetchall()
    found = {r[0]: CategoryChecks(r[0], r[1], r[2], tuple(r[3])) for r in rows}
    return [found.get(c, CategoryChecks(c, 0, 0, ())) for c in CATEGORIES] + \
        [v for k, v in sorted(found.items()) if k not in CATEGORIES]


def _site_rows(conn: duckdb.DuckDBPyConnection) -> list[SiteRows]:
    """Rows of the current snapshots refused by a check of each category, per site."""
    failing = """SELECT q.site_id, q.check_name, q.sha256, q.source_row FROM quality.quarantine AS q
                 JOIN quality.file_manifest AS m
                   ON m.is_current AND m.sha256 = q.sha256 AND m.site_id = q.site_id AND m.domain = q.domain"""
    read = dict(conn.execute("""SELECT site_id, sum(rows_read) FROM quality.file_manifest
                                WHERE is_current AND site_id IS NOT NULL GROUP BY site_id""").fetchall())
    counted = {(s, c): n for s, c, n in conn.execute(f"""
        WITH failing AS ({failing}), categories AS ({_categorised("SELECT check_name FROM failing", conn)})
        SELECT site_id, category, count(DISTINCT (sha256, source_row))
        FROM failing JOIN categories USING (check_name) GROUP BY ALL""").fetchall()}
    extra = sorted({c for _, c in counted} - set(CATEGORIES))
    return [SiteRows(site, category, int(read[site] or 0), int(counted.get((site, category), 0)))
            for site in sorted(read) for category in (*CATEGORIES, *extra)]


def _queries(conn: duckdb.DuckDBPyConnection, as_of: datetime) -> list[SiteQueries]:
    columns = {r[0] for r in conn.execute("""SELECT column_name FROM information_schema.columns
                                             WHERE table_schema = 'quality' AND table_name = 'site_query'""")
               .fetchall()}
    opened = "opened_at" if "opened_at" in columns else "CAST(NULL AS TIMESTAMP)"
    rows = conn.execute(f"""SELECT coalesce(site_id, '(no site)'), status,
                                   date_diff('day', coalesce({opened}, ?), ?) AS age
                            FROM quality.site_query""", [as_of, as_of]).fetchall()
    sites: dict[str, tuple[dict[str, int], list[int]]] = {}
    for site, status, age in rows:
        by_status, by_age = sites.setdefault(site, ({s: 0 for s in STATUSES}, [0] * len(AGE_BUCKETS)))
        by_status[status] = by_status.get(status, 0) + 1
        if status in ("open", "answered"):
            bucket = next(i for i, (low, high, _) in enumerate(AGE_BUCKETS) if high is None or age <= high)
            by_age[bucket] += 1
    return [SiteQueries(site, by_status, tuple(by_age)) for site, (by_status, by_age) in sorted(sites.items())]


def _loads(conn: duckdb.DuckDBPyConnection) -> tuple[list[LoadTrend], list[SiteTrend]]:
    indicators = _exists(conn, "quality", "site_indicators")
    over = ("(SELECT count(DISTINCT site_id) FILTER (WHERE is_over_threshold) FROM quality.site_indicators AS i "
            "WHERE i.load_id = l.load_id HAVING count(*) > 0)" if indicators else "NULL")
    loads = [LoadTrend(*r) for r in conn.execute(f"""
        SELECT l.load_id, l.started_at, l.cutoff_date, l.status, l.files_new, l.rows_accepted, l.rows_quarantined,
               (SELECT count(*) FROM quality.check_result AS c WHERE c.load_id = l.load_id),
               (SELECT count(*) FROM quality.check_result AS c WHERE c.load_id = l.load_id AND c.passed),
               {over}
        FROM quality.load_log AS l ORDER BY l.started_at""").fetchall()]
    trends = [SiteTrend(*r) for r in conn.execute("""
        SELECT i.load_id, l.started_at, i.site_id, count(*) FILTER (WHERE i.is_over_threshold)
        FROM quality.site_indicators AS i JOIN quality.load_log AS l USING (load_id)
        GROUP BY ALL ORDER BY l.started_at, i.site_id""").fetchall()] if indicators else []
    return loads, trends


def read_dashboard_data(conn: duckdb.DuckDBPyConnection, as_of: datetime | None = None) -> DashboardData:
    as_of = as_of or datetime.now(timezone.utc).replace(tzinfo=None)
    load = load_info(conn)
    loads, site_trends = _loads(conn)
    definitions = [IndicatorDefinition(*r) for r in conn.execute(
        """SELECT indicator, label, unit, direction, threshold, description
           FROM reference.site_indicator_thresholds""").fetchall()] \
        if _exists(conn, "reference", "site_indicator_thresholds") else []
    order = {name: n for n, name in enumerate(indicator_order())}
    definitions.sort(key=lambda d: (order.get(d.indicator, 99), d.indicator))
    return DashboardData(load=load, definitions=definitions, indicators=load_indicators(conn),
                         checks=_checks(conn, load.load_id),
                         site_rows=_site_rows(conn), queries=_queries(conn, as_of), loads=loads,
                         site_trends=site_trends, as_of=as_of)
