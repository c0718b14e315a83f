"""The report's charts as drawing functions on a matplotlib Axes (see model.Chart).

A value whose count is suppressed is not drawn at all (a bar or a point would show what the
table hides); its tick says so instead.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes

from orchestration.report.cells import Suppression
from orchestration.report.endpoints import endpoint_ci
from orchestration.report.stats import KaplanMeier
from orchestration.report.warehouse import EndpointRow, MonthQuartiles, Responder

OR_COLOUR = "#1f5fa8"
CR_COLOUR = "#2e8b57"
BLEEDING_COLOUR = "#b8323b"
NEUTRAL_COLOUR = "#6b7b8c"
GRID = {"color": "#d9dee4", "linewidth": 0.6}

Draw = Callable[[Axes], None]


@dataclass(frozen=True)
class Bar:
    label: str
    count: int | None


def _style(ax: Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", **GRID)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=8)


style_axes = _style   # the report's look, for the other documents drawn with it (the quality dashboard)


def _pct_or_nan(fmt: Suppression, row: EndpointRow | None) -> float:
    """The plotted value: nothing (a gap) where the table prints n/a or hides the figure."""
    if row is None or row.pct is None or fmt.hides(row.n, row.denominator):
        return math.nan
    return float(row.pct)


def _ci_or_nan(fmt: Suppression, row: EndpointRow | None) -> tuple[float, float]:
    """The 95% interval in percent, drawn exactly where the percentage is."""
    ci = endpoint_ci(row)
    if ci is None or math.isnan(_pct_or_nan(fmt, row)):
        return math.nan, math.nan
    return 100 * ci.low, 100 * ci.high


def _pct_label(fmt: Suppression, row: EndpointRow | None) -> str:
    """The same text as the table's % cell."""
    return "not reported" if row is None else fmt.pct(row.pct, row.n, row.denominator).text


def count_bars(bars: Sequence[Bar], fmt: Suppression, *, xlabel: str) -> Draw:
    """Horizontal bars of subject counts (the disposition flow), top to bottom."""
    def draw(ax: Axes) -> None:
        ys = list(range(len(bars)))[::-1]
        shown = [0 if b.count is None or fmt.hides(b.count) else b.count for b in bars]
        ax.barh(ys, shown, color=NEUTRAL_COLOUR, height=0.6)
        top = max(shown, default=0) or 1
        for y, b, width in zip(ys, bars, shown):
            ax.text(width + top * 0.01, y, fmt.count(b.count).text, va="center", fontsize=8)
        ax.set_yticks(ys, [b.label for b in bars])
        ax.set_xlim(0, top * 1.12)
        ax.set_xlabel(xlabel, fontsize=8)
        _style(ax)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", **GRID)
    return draw


def percent_lines(labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[EndpointRow | None]]],
                  fmt: Suppression, *, ylabel: str) -> Draw:
    """One line per endpoint over timepoints; `series` = (legend, colour, rows per label)."""
    def draw(ax: Axes) -> None:
        xs = list(range(len(labels)))
        for legend, colour, rows in series:
            ax.plot(xs, [_pct_or_nan(fmt, r) for r in rows], marker="o", markersize=4,
                    linewidth=1.6, color=colour, label=legend)
            low, high = zip(*[_ci_or_nan(fmt, r) for r in rows]) if rows else ((), ())
            ax.fill_between(xs, low, high, color=colour, alpha=0.12, linewidth=0)
        ax.set_xticks(xs, labels)
        ax.set_ylim(0, 105)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1), ncol=len(series))
        _style(ax)
    return draw


def percent_bars(labels: Sequence[str], rows: Sequence[EndpointRow | None], fmt: Suppression, *,
                 ylabel: str, colour: str) -> Draw:
    """Vertical bars of an endpoint's percentage with its 95% interval as a whisker, labelled
    with the percentage above the whisker."""
    def draw(ax: Axes) -> None:
        xs = list(range(len(labels)))
        values = [_pct_or_nan(fmt, r) for r in rows]
        intervals = [_ci_or_nan(fmt, r) for r in rows]
        ax.bar(xs, [0 if math.isnan(v) else v for v in values], color=colour, width=0.65)
        whiskers = [(x, v, lo, hi) for x, v, (lo, hi) in zip(xs, values, intervals) if not math.isnan(v)]
        if whiskers:
            wx, wv, wlo, whi = zip(*whiskers)
            ax.errorbar(wx, wv, yerr=[[max(0.0, v - lo) for v, lo in zip(wv, wlo)],
                                      [max(0.0, hi - v) for v, hi in zip(wv, whi)]],
                        fmt="none", ecolor="#1d2630", elinewidth=0.8, capsize=2)
        for x, v, (_, hi), r in zip(xs, values, intervals, rows):
            top = 0 if math.isnan(v) else hi
            ax.text(x, top + 1.5, _pct_label(fmt, r), ha="center", fontsize=7)
        ax.set_xticks(xs, labels)
        ax.set_ylim(0, 110)
        ax.set_ylabel(ylabel, fontsize=8)
        _style(ax)
    return draw


def quartile_band(months: Sequence[MonthQuartiles], fmt: Suppression, *, ylabel: str,
                  reference_lines: Sequence[tuple[float, str]]) -> Draw:
    """Median and interquartile band by treatment month; each tick shows the subjects behind it."""
    def draw(ax: Axes) -> None:
        xs = [m.treatment_month for m in months]
        hidden = [fmt.hides(m.n_subjects) or m.median is None for m in months]
        med = [math.nan if h else m.median for m, h in zip(months, hidden)]
        q1 = [math.nan if h else m.q1 for m, h in zip(months, hidden)]
        q3 = [math.nan if h else m.q3 for m, h in zip(months, hidden)]
        ax.fill_between(xs, q1, q3, color=OR_COLOUR, alpha=0.18, linewidth=0, label="interquartile range")
        ax.plot(xs, med, marker="o", markersize=4, linewidth=1.6, color=OR_COLOUR, label="median")
        for value, text in reference_lines:
            ax.axhline(value, color=NEUTRAL_COLOUR, linewidth=0.8, linestyle="--")
            ax.text(xs[-1] if xs else 0, value, f" {text}", fontsize=7, va="bottom", ha="right",
                    color=NEUTRAL_COLOUR)
        ax.set_xticks(xs, [f"{x}\nn={fmt.count(m.n_subjects).text}" for x, m in zip(xs, months)])
        ax.set_xlabel("treatment month (0 = baseline window)", fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1), ncol=2)
        _style(ax)
    return draw


def kaplan_meier(km: KaplanMeier | None, days: Sequence[int], fmt: Suppression) -> Draw:
    """The Kaplan–Meier curve of duration of response: the step function, its 95% band,
    a tick for every censored responder, and the number at risk under the axis at `days`.

    Under suppression the curve stops where fewer than N responders remain at risk (each
    later step would show one or two subjects' own durations), and the at-risk row prints
    the same `<N` cells as the table."""
    def draw(ax: Axes) -> None:
        limit = None if km is None else (km.last_time_with_at_risk(fmt.below) if fmt.active else km.times[-1])
        if km is not None and limit is not None:
            upto = [i for i, t in enumerate(km.times) if t <= limit]
            times = [km.times[i] for i in upto]
            ax.step(times, [km.survival[i] for i in upto], where="post", color=OR_COLOUR, linewidth=1.6,
                    label="Kaplan–Meier estimate")
            ax.fill_between(times, [km.lower[i] for i in upto], [km.upper[i] for i in upto], step="post",
                            color=OR_COLOUR, alpha=0.15, linewidth=0, label="95% confidence band")
            marks = [(t, s) for t, s in zip(km.censor_times, km.censor_survival) if t <= limit]
            if marks:
                ax.plot(*zip(*marks), linestyle="none", marker="|", markersize=8, markeredgewidth=1.2,
                        color=OR_COLOUR, label="censored (response ongoing at last sample)")
        ax.axhline(0.5, color=NEUTRAL_COLOUR, linewidth=0.8, linestyle="--")
        ax.set_xlim(0, days[-1] if days else 1)
        ax.set_ylim(0, 1.04)
        ax.set_xticks(list(days))
        ax.set_xlabel("days since first response", fontsize=8, labelpad=2)
        ax.set_ylabel("proportion still responding", fontsize=8)
        if km is not None and limit is not None:
            ax.legend(fontsize=7, frameon=False, loc="lower left", bbox_to_anchor=(0, 1), ncol=3)
        _style(ax)
        below_axis = ax.get_xaxis_transform()
        ax.annotate("Number at risk", xy=(0, 0), xycoords=below_axis, xytext=(0, -34),
                    textcoords="offset points", ha="left", va="top", fontsize=7, fontweight="bold")
        for day in days:
            n = km.at_risk(day) if km is not None else 0
            ax.annotate(fmt.count(n).text, xy=(day, 0), xycoords=below_axis, xytext=(0, -44),
                        textcoords="offset points", ha="center", va="top", fontsize=7)
    return draw


SWIMMER_BAR_IN = 0.13    # inches of chart height per responder


def swimmer_aspect(n_bars: int) -> float:
    """Height / width of the swimmer chart: a fixed strip per responder (8 inch wide figure)."""
    return max(0.42, (1.1 + SWIMMER_BAR_IN * n_bars) / 8.0)


def swimmer(responders: Sequence[Responder]) -> Draw:
    """One bar per responder: exposure from Day 1 (grey), first response (triangle: CR green,
    R blue), loss of response (red cross) or censoring at the last sample (open arrow: the
    response was still ongoing). Longest exposure at the top."""
    def draw(ax: Axes) -> None:
        rows = sorted(responders, key=lambda r: (r.exposure_days or 0, r.site_id, r.subject_id))
        ys = list(range(len(rows)))
        ax.barh(ys, [r.exposure_days or 0 for r in rows], left=0, height=0.6, color="#d5dbe2",
                label="exposure (Day 1 to last dose or cutoff)")
        for response, colour in (("CR", CR_COLOUR), ("R", OR_COLOUR)):
            first = [(r.start_study_day, y) for r, y in zip(rows, ys)
                     if r.start_response == response and r.start_study_day is not None]
            if first:
                ax.plot(*zip(*first), linestyle="none", marker="^", markersize=5, color=colour,
                        label=f"first response: {response}")
        lost = [(r.end_study_day, y) for r, y in zip(rows, ys) if not r.censored and r.end_study_day is not None]
        ongoing = [(r.end_study_day, y) for r, y in zip(rows, ys) if r.censored and r.end_study_day is not None]
        if lost:
            ax.plot(*zip(*lost), linestyle="none", marker="X", markersize=5, color=BLEEDING_COLOUR,
                    label="response lost")
        if ongoing:
            ax.plot(*zip(*ongoing), linestyle="none", marker=">", markersize=5, markerfacecolor="none",
                    markeredgecolor="#1d2630", label="censored: responding at last sample")
        ax.set_yticks(ys, [f"{r.site_id} {r.subject_id}" if not r.subject_id.startswith(r.site_id)
                           else r.subject_id for r in rows])
        ax.tick_params(axis="y", labelsize=5.5)
        ax.set_ylim(-0.8, len(rows) - 0.2)
        ax.set_xlim(left=0)
        ax.set_xlabel("study day (Day 1 = first iguratimod dose)", fontsize=8)
        ax.legend(fontsize=7, frameon=False, loc="lower left", bbox_to_anchor=(0, 1), ncol=3)
        _style(ax)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", **GRID)
    return draw
