"""The quality dashboard's charts, drawing functions on a matplotlib Axes like the report's
(orchestration.report.charts): the same look, rasterised into the page by the same code."""
from __future__ import annotations

import math
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.colors import to_rgb

from orchestration.quality_report.data import AGE_BUCKETS, LoadTrend, SiteQueries, SiteRows, SiteTrend
from orchestration.report.charts import BLEEDING_COLOUR, GRID, NEUTRAL_COLOUR, OR_COLOUR, Draw, style_axes
from monitoring.indicators import IndicatorValue

OVER_COLOUR = "#c62828"        # a value over its threshold: the same red everywhere on the page
UNDER_LOW, UNDER_HIGH = "#eef2f6", "#f2c14e"   # far under the threshold .. at it
CATEGORY_COLOURS = {"conformance": OR_COLOUR, "completeness": "#2e8b57", "plausibility": "#8e5ea2"}
AGE_COLOURS = ("#c9d8ea", "#8fb0d6", "#4f7fb8", "#1d3f6e")
SITE_COLOURS = ("#1f5fa8", "#2e8b57", "#8e5ea2", "#d17a00", "#5a6673", "#1a9ba5", "#a0522d", "#6b8e23")


def _ratio(i: IndicatorValue) -> float:
    """How far the value is towards its threshold (1 = at it), for the colour of its cell."""
    if i.value is None:
        return 0.0
    if i.threshold == 0:
        return 2.0 if i.value > 0 else 0.0
    ratio = i.value / i.threshold if i.direction == "above" else (i.threshold / i.value if i.value else 2.0)
    return max(0.0, min(ratio, 2.0))


def _blend(ratio: float) -> tuple[float, float, float]:
    low, high = to_rgb(UNDER_LOW), to_rgb(UNDER_HIGH)
    share = min(ratio, 1.0)
    return tuple(a + (b - a) * share for a, b in zip(low, high))


def indicator_heatmap(sites: Sequence[str], indicators: Sequence[tuple[str, str]],
                      values: dict[tuple[str, str], IndicatorValue]) -> Draw:
    """Sites (rows) by indicators (columns): each cell's value, red when over its threshold,
    else shaded from pale to amber as it nears the threshold."""
    def draw(ax: Axes) -> None:
        grid = []
        for site in sites:
            row = []
            for code, _ in indicators:
                v = values.get((site, code))
                row.append(to_rgb(OVER_COLOUR) if v is not None and v.over else _blend(_ratio(v) if v else 0.0))
            grid.append(row)
        ax.imshow(grid, aspect="auto", interpolation="nearest")
        for y, site in enumerate(sites):
            for x, (code, _) in enumerate(indicators):
                v = values.get((site, code))
                if v is not None:
                    ax.text(x, y, v.value_text, ha="center", va="center", fontsize=8,
                            color="white" if v.over else "#1d2630", fontweight="bold" if v.over else "normal")
        ax.set_xticks(range(len(indicators)), [label for _, label in indicators], rotation=20, ha="right")
        ax.set_yticks(range(len(sites)), list(sites))
        ax.tick_params(labelsize=8, length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
    return draw


def row_failures(site_rows: Sequence[SiteRows], categories: Sequence[str]) -> Draw:
    """Per site, the share of its current rows refused by checks of each category."""
    def draw(ax: Axes) -> None:
        sites = sorted({r.site_id for r in site_rows})
        height = 0.8 / max(len(categories), 1)
        for k, category in enumerate(categories):
            shares = []
            for site in sites:
                r = next((r for r in site_rows if r.site_id == site and r.category == category), None)
                shares.append(100 * r.rows_failing / r.rows_checked if r and r.rows_checked else 0.0)
            ys = [len(sites) - 1 - i + (k - (len(categories) - 1) / 2) * height for i in range(len(sites))]
            ax.barh(ys, shares, height=height * 0.95, color=CATEGORY_COLOURS.get(category, NEUTRAL_COLOUR),
                    label=category)
        ax.set_yticks(range(len(sites))[::-1], sites)
        ax.set_xlabel("rows of the current snapshots refused (%)", fontsize=8)
        ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1), ncol=len(categories))
        style_axes(ax)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", **GRID)
    return draw


def query_ages(queries: Sequence[SiteQueries]) -> Draw:
    """Per site, the queries waiting for it (open or answered), stacked by age."""
    def draw(ax: Axes) -> None:
        sites = [q.site_id for q in queries]
        ys = list(range(len(sites)))[::-1]
        left = [0] * len(sites)
        for k, (_, _, label) in enumerate(AGE_BUCKETS):
            counts = [q.by_age[k] for q in queries]
            ax.barh(ys, counts, left=left, height=0.6, color=AGE_COLOURS[k], label=label)
            left = [a + b for a, b in zip(left, counts)]
        for y, total in zip(ys, left):
            ax.text(total, y, f" {total}", va="center", fontsize=8)
        ax.set_yticks(ys, sites)
        ax.set_xlabel("queries open or answered", fontsize=8)
        ax.set_xlim(0, max(left, default=0) * 1.15 or 1)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1), ncol=len(AGE_BUCKETS))
        style_axes(ax)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", **GRID)
    return draw


def _load_labels(loads: Sequence[LoadTrend]) -> list[str]:
    return [f"{load.started_at:%m-%d %H:%M}" if load.started_at else load.load_id[:8] for load in loads]


def sites_over_by_load(loads: Sequence[LoadTrend], trends: Sequence[SiteTrend]) -> Draw:
    """One line per site: how many of its indicators were over their thresholds at each load."""
    def draw(ax: Axes) -> None:
        index = {load.load_id: i for i, load in enumerate(loads)}
        sites = sorted({t.site_id for t in trends})
        for k, site in enumerate(sites):
            points = sorted((index[t.load_id], t.n_over) for t in trends if t.site_id == site and t.load_id in index)
            if points:
                colour = SITE_COLOURS[k % len(SITE_COLOURS)]
                ax.plot(*zip(*points), marker="o", markersize=4, linewidth=1.6, color=colour, label=site)
        ax.set_xticks(range(len(loads)), _load_labels(loads), rotation=20, ha="right")
        ax.set_ylabel("indicators over threshold", fontsize=8)
        ax.set_ylim(bottom=-0.2)
        ax.yaxis.get_major_locator().set_params(integer=True)
        if sites:
            ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1), ncol=min(len(sites), 8))
        style_axes(ax)
    return draw


def quarantine_by_load(loads: Sequence[LoadTrend]) -> Draw:
    """Share of each load's new rows that checks refused, and share of its checks that failed."""
    def draw(ax: Axes) -> None:
        xs = list(range(len(loads)))
        quarantined = [100 * (l.rows_quarantined or 0) / ((l.rows_accepted or 0) + (l.rows_quarantined or 0))
                       if (l.rows_accepted or 0) + (l.rows_quarantined or 0) else math.nan for l in loads]
        failed = [100 * (l.checks_run - l.checks_passed) / l.checks_run if l.checks_run else math.nan for l in loads]
        ax.plot(xs, quarantined, marker="o", markersize=4, linewidth=1.6, color=BLEEDING_COLOUR,
                label="new rows quarantined (%)")
        ax.plot(xs, failed, marker="s", markersize=4, linewidth=1.6, color=NEUTRAL_COLOUR,
                label="checks failed (%)")
        ax.set_xticks(xs, _load_labels(loads), rotation=20, ha="right")
        ax.set_ylim(bottom=0)
        ax.set_ylabel("%", fontsize=8)
        ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1), ncol=2)
        style_axes(ax)
    return draw
