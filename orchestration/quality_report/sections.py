"""The quality dashboard's sections: which site needs a look, checks by category, site
queries by status and age, trends across loads. Tables carry data-* attributes (site,
indicator, over-threshold) for machine readers; a value over its threshold is flagged the
same way in every table and red in the charts."""
from __future__ import annotations

from orchestration.quality_report import charts
from orchestration.quality_report.data import AGE_BUCKETS, CATEGORIES, STATUSES, DashboardData
from orchestration.report.cells import Cell, text
from orchestration.report.model import Chart, Paragraph, Section, Table
from monitoring.indicators import IndicatorValue, format_value
from quality.query_answers import answer_options



def _empty(width: int) -> list[list[Cell]]:
    return [[text("none"), *([Cell("")] * (width - 1))]]


def _count(n: int | None, **attrs: str) -> Cell:
    return Cell("" if n is None else str(int(n)), "count", tuple((f"data-{k.replace('_', '-')}", v)
                                                              for k, v in attrs.items()))


def _pct(part: int, whole: int) -> Cell:
    """A pass rate: two decimals, so 2 refused rows of 6,889 do not read as 100.0."""
    return Cell(f"{100 * part / whole:.2f}" if whole else "n/a", "pct")


def _indicator_cell(i: IndicatorValue) -> Cell:
    attrs = (("data-site", i.site_id), ("data-indicator", i.indicator), ("data-over-threshold", "yes" if i.over else "no"))
    return Cell(i.value_text, "stat", attrs)


def build_sections(data: DashboardData) -> list[Section]:
    return [sites_to_look_at(data), checks_by_category(data), site_queries(data), trends(data)]


def sites_to_look_at(data: DashboardData) -> Section:
    definitions = data.definitions
    sites = sorted({i.site_id for i in data.indicators})
    values = {(i.site_id, i.indicator): i for i in data.indicators}
    over = [i for i in data.indicators if i.over]
    named = sorted({i.site_id for i in over})
    lead = (f"{len(named)} site(s) over a key risk indicator threshold at this load: {', '.join(named)}."
            if named else "No site is over a key risk indicator threshold at this load.")
    over_rows = [[Cell(i.site_id, attrs=(("data-site", i.site_id),)), text(i.label), _indicator_cell(i),
                  text(i.threshold_text)] for i in over]
    header = ["site", *(d.label for d in definitions)]
    thresholds = [text("threshold"), *(text(f"{d.direction} {format_value(d.threshold, d.unit)}") for d in definitions)]
    table = [thresholds] + [[Cell(site, attrs=(("data-site", site),)),
              *(_indicator_cell(values[(site, d.indicator)]) if (site, d.indicator) in values else Cell("")
                for d in definitions)] for site in sites]
    blocks = [
        Paragraph(lead + " Indicators are quality.site_indicators of the load that published this warehouse; "
                  "their thresholds are the seed site_indicator_thresholds (reference schema)."),
        Table("kri-over", "Indicators over their thresholds", ["site", "indicator", "value", "threshold"],
              over_rows or _empty(4)),
    ]
    if sites and definitions:
        blocks.append(Chart("kri-heatmap", "Key risk indicators by site (red: over the threshold)",
                            "Heat map of every site's key risk indicators; cells over their threshold are red",
                            charts.indicator_heatmap(sites, [(d.indicator, d.label) for d in definitions], values),
                            aspect=max(0.3, min(0.9, 0.12 + 0.07 * len(sites)))))
    blocks += [
        Table("kri-table", "Key risk indicators by site (first row: the thresholds)", header, table),
        Table("kri-definitions", "How each indicator is measured", ["indicator", "threshold", "definition"],
              [[text(d.label), text(f"{d.direction} {format_value(d.threshold, d.unit)}"), text(d.description)]
               for d in definitions] or _empty(3)),
    ]
    return Section("sites", "Sites to look at", blocks)


def checks_by_category(data: DashboardData) -> Section:
    checks = [[text(c.category), _count(c.n_checks), _count(c.n_passed), _pct(c.n_passed, c.n_checks),
               text("; ".join(c.failing[:10]) + (f" … and {len(c.failing) - 10} more" if len(c.failing) > 10 else ""))]
              for c in data.checks]
    rows = [[Cell(r.site_id, attrs=(("data-site", r.site_id),)), text(r.category), _count(r.rows_checked),
             _count(r.rows_failing), _pct(r.rows_checked - r.rows_failing, r.rows_checked)] for r in data.site_rows]
    categories = list(dict.fromkeys([*CATEGORIES, *(r.category for r in data.site_rows)]))
    blocks = [
        Paragraph("Checks are grouped as OHDSI's Data Quality Dashboard groups them (Kahn et al.): conformance "
                  "(values and keys of the expected form), completeness (values present), plausibility "
                  "(values believable). A check's category is the seed check_categories; codes are explained "
                  "in docs/reasons.md."),
        Table("checks-by-category", f"Checks of load {data.load.load_id} by category (pandera, Great "
              "Expectations and dbt)", ["category", "checks run", "passed", "% passed", "failing checks"], checks),
        Table("row-checks-by-site", "Rows of the current snapshots passing the row checks, by site and category",
              ["site", "category", "rows checked", "rows refused", "% passing"], rows or _empty(5)),
    ]
    if data.site_rows:
        blocks.append(Chart("row-checks-chart", "Rows refused by site and category",
                            "Grouped bars: share of each site's current rows refused per check category",
                            charts.row_failures(data.site_rows, categories),
                            aspect=max(0.3, min(0.9, 0.15 + 0.08 * len({r.site_id for r in data.site_rows})))))
    return Section("checks", "Checks by category", blocks)


def site_queries(data: DashboardData) -> Section:
    rows = [[Cell(q.site_id, attrs=(("data-site", q.site_id),)),
             *(_count(q.by_status.get(s, 0), site=q.site_id, status=s) for s in STATUSES),
             *(_count(n) for n in q.by_age)] for q in data.queries]
    answers = ", ".join(f"'{o.label}'" for o in answer_options())
    blocks = [
        Paragraph(f"Statuses: open (waiting for the site), answered (the site corrects it in its next export), "
                  f"closed (the site confirmed the value, or it cannot be obtained), resolved (a newer snapshot "
                  f"no longer fails). Ages are days since the query opened, as of {data.as_of:%Y-%m-%d %H:%M} UTC. "
                  f"Sites answer in the workbook of `itp-warehouse queries --site SITE --out FILE.xlsx` ({answers}); "
                  "`itp-warehouse queries --answers FILE.xlsx` imports it."),
        Table("queries-by-site", "Site queries by status, and those waiting for the site by age",
              ["site", *STATUSES, *(f"waiting {label}" for _, _, label in AGE_BUCKETS)],
              rows or _empty(1 + len(STATUSES) + len(AGE_BUCKETS))),
    ]
    if data.queries:
        blocks.append(Chart("query-ages", "Queries waiting for each site, by age",
                            "Stacked bars per site: open or answered queries by age",
                            charts.query_ages(data.queries), aspect=max(0.28, min(0.8, 0.15 + 0.07 * len(data.queries)))))
    return Section("queries", "Site queries", blocks)


def trends(data: DashboardData) -> Section:
    rows = []
    for load in reversed(data.loads):
        read = (load.rows_accepted or 0) + (load.rows_quarantined or 0)
        rows.append([text(f"{load.started_at:%Y-%m-%d %H:%M}" if load.started_at else ""), text(load.load_id),
                     text(load.cutoff_date), text(load.status), _count(load.files_new), _count(load.rows_accepted),
                     _count(load.rows_quarantined), _pct(load.rows_quarantined or 0, read),
                     _pct(load.checks_passed, load.checks_run), _count(load.sites_over)])
    return Section("trends", "Trends across loads", [
        Paragraph("Every load kept in quality.load_log of this warehouse (newest first). Rows are those the load "
                  "received (new snapshots); the indicators of each load stay in quality.site_indicators."),
        Table("loads", "Loads", ["started (UTC)", "load", "cutoff", "status", "new files", "rows accepted",
                                 "rows quarantined", "% quarantined", "% checks passed", "sites over a threshold"],
              rows or _empty(10)),
        Chart("sites-over-by-load", "Indicators over threshold per site, load by load",
              "Lines per site: the number of its key risk indicators over their thresholds at each load",
              charts.sites_over_by_load(data.loads, data.site_trends), aspect=0.32),
        Chart("quarantine-by-load", "Rows quarantined and checks failed, load by load",
              "Lines: share of each load's new rows quarantined, share of its checks that failed",
              charts.quarantine_by_load(data.loads), aspect=0.32),
    ])
