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
from orchestration.report.warehouse import EndpointRow, MonthQuartiles

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


def _pct_or_nan(fmt: Suppression, row: EndpointRow | None) -> float:
    """The plotted value: nothing (a gap) where the table prints n/a or hides the figure."""
    if row is None or row.pct is None or fmt.hides(row.n, row.denominator):
        return math.nan
    return float(row.pct)


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
        ax.set_xticks(xs, labels)
        ax.set_ylim(0, 105)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1), ncol=len(series))
        _style(ax)
    return draw


def percent_bars(labels: Sequence[str], rows: Sequence[EndpointRow | None], fmt: Suppression, *,
                 ylabel: str, colour: str) -> Draw:
    """Vertical bars of an endpoint's percentage, labelled with the percentage."""
    def draw(ax: Axes) -> None:
        xs = list(range(len(labels)))
        values = [_pct_or_nan(fmt, r) for r in rows]
        ax.bar(xs, [0 if math.isnan(v) else v for v in values], color=colour, width=0.65)
        for x, v, r in zip(xs, values, rows):
            ax.text(x, (0 if math.isnan(v) else v) + 1.5, _pct_label(fmt, r), ha="center", fontsize=7)
        ax.set_xticks(xs, labels)
        ax.set_ylim(0, 105)
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
