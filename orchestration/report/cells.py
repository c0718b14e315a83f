"""Table cells and small-cell suppression: the one place a number becomes report text.

Both renderers (HTML and PDF) print `Cell.text` verbatim, so suppression decided here holds
everywhere in the report; a suppressed value never reaches the output, not even in an
attribute. Count cells carry the class `count` so a reader (or a test) can find every count.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from orchestration.report.stats import Interval

T = TypeVar("T")

NOT_APPLICABLE = "n/a"   # a percentage of an empty denominator (pct is null in the mart)
HIDDEN = "—"             # a percentage hidden because one of its counts is suppressed
MISSING = ""
NOT_REACHED = "not reached"   # a Kaplan–Meier median (or its upper limit) the curve never reaches


@dataclass(frozen=True)
class Cell:
    """One table cell as printed. `attrs` are data-* attributes for machine readers (they
    identify a cell, e.g. the endpoint and timepoint it shows, and never hold a hidden value)."""
    text: str
    kind: str = "text"     # text | count | pct | ci | stat (numbers are right-aligned)
    attrs: tuple[tuple[str, str], ...] = field(default=())

    @property
    def numeric(self) -> bool:
        return self.kind != "text"


def text(value: object) -> Cell:
    return Cell(MISSING if value is None else str(value))


@dataclass(frozen=True)
class Suppression:
    """Counts below `below` print as `<below`; percentages and summary statistics that rest on
    such a count are hidden. `below = 0` turns suppression off.

    Zero is a count below N like any other: a reader outside the study team should not learn
    that a cell is empty either (stricter reading of "counts below N")."""
    below: int = 0

    def __post_init__(self) -> None:
        if self.below < 0:
            raise ValueError(f"suppress_below must be 0 (off) or a positive count, got {self.below}")

    @property
    def active(self) -> bool:
        return self.below > 0

    def hides(self, *counts: int | None) -> bool:
        """True when any of the counts is a small cell (a figure resting on it is hidden)."""
        return self.active and any(n is not None and n < self.below for n in counts)

    def count(self, n: int | None, **attrs: str) -> Cell:
        if n is None:
            shown = MISSING
        elif self.hides(n):
            shown = f"<{self.below}"
        else:
            shown = str(int(n))
        return Cell(shown, "count", _attrs(attrs))

    def pct(self, pct: float | Decimal | None, *counts: int | None, **attrs: str) -> Cell:
        """A percentage as the mart (or a query) gives it, hidden when any count it rests on
        is suppressed; never recomputed here."""
        if self.hides(*counts):
            shown = HIDDEN
        elif pct is None:
            shown = NOT_APPLICABLE
        else:
            shown = format(pct, ".1f")   # the mart's one decimal as it is
        return Cell(shown, "pct", _attrs(attrs))

    def pct_interval(self, interval: Interval | None, *counts: int | None, **attrs: str) -> Cell:
        """A proportion's confidence interval as percentages ("61.4–83.5", one decimal, half
        up), hidden exactly when the percentage it belongs to is."""
        shown = self._shown(interval, counts, lambda ci: f"{_fixed(100 * ci.low, 1)}–{_fixed(100 * ci.high, 1)}")
        return Cell(shown, "ci", _attrs(attrs))

    def survival_time(self, days: float | None, group_n: int | None, **attrs: str) -> Cell:
        """A Kaplan–Meier median or limit in whole days; infinite = the curve never gets there.
        Hidden when the group is a small cell, like any median."""
        return Cell(self._survival_text(days, group_n), "stat", _attrs(attrs))

    def survival_interval(self, low: float | None, high: float | None, group_n: int | None,
                          **attrs: str) -> Cell:
        if self.hides(group_n) or low is None:
            shown = self._survival_text(low, group_n)
        else:
            shown = f"{self._survival_text(low, group_n)}–{self._survival_text(high, group_n)}"
        return Cell(shown, "stat", _attrs(attrs))

    def _survival_text(self, days: float | None, group_n: int | None) -> str:
        return self._shown(days, (group_n,), lambda d: NOT_REACHED if math.isinf(d) else _fixed(d, 0))

    def stat(self, value: float | None, group_n: int | None, *, decimals: int = 0, **attrs: str) -> Cell:
        """A summary statistic (median, quartile) of a group: hidden when the group itself is
        a small cell, since the median of one or two subjects is their own value."""
        return Cell(self._shown(value, (group_n,), lambda v: _fixed(v, decimals)), "stat", _attrs(attrs))

    def _shown(self, value: T | None, counts: tuple[int | None, ...], render: Callable[[T], str]) -> str:
        """The text of a figure resting on `counts`: hidden when one of them is a small cell,
        n/a when there is no figure, else `render(value)`."""
        if self.hides(*counts):
            return HIDDEN
        return NOT_APPLICABLE if value is None else render(value)

    def median_iqr(self, median: float | None, q1: float | None, q3: float | None, group_n: int | None,
                   *, decimals: int = 0, **attrs: str) -> Cell:
        if self.hides(group_n):
            shown = HIDDEN
        elif median is None:
            shown = NOT_APPLICABLE
        else:
            shown = f"{_fixed(median, decimals)} ({_fixed(q1, decimals)}–{_fixed(q3, decimals)})"
        return Cell(shown, "stat", _attrs(attrs))

    def legend(self) -> str:
        if not self.active:
            return "No small-cell suppression: every count is shown."
        return (f"Small-cell suppression: counts below {self.below} are shown as <{self.below}; "
                f"percentages, intervals and medians resting on them are shown as {HIDDEN}.")


def _fixed(value: float, decimals: int) -> str:
    """Half up, as people round (Python's format would print a median of 16.5 as 16)."""
    return str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def _attrs(attrs: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """Keyword names use underscores (endpoint_timepoint is not valid HTML): data-endpoint."""
    return tuple((f"data-{k.replace('_', '-')}", str(v)) for k, v in attrs.items())
