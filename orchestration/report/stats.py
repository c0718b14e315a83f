"""The report's statistics, each from a well-kept library (pinned), never computed by hand here:
exact binomial intervals of proportions (scipy) and the Kaplan–Meier estimate of duration of
response with its median and interval (lifelines).

Everything returns plain numbers (proportions 0–1, days); `cells.Suppression` decides what is
printed and `charts` what is drawn, so suppression stays in one place.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import binomtest

CONFIDENCE = 0.95
PROPORTION_CI_METHOD = ("95% CI = exact (Clopper–Pearson) 95% confidence interval of a percentage "
                        "(scipy.stats.binomtest)")


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def proportion_ci(n: int | None, denominator: int | None) -> Interval | None:
    """Exact Clopper–Pearson interval of n/denominator (scipy's `method='exact'`); None when
    there is no proportion (empty denominator), as the mart's pct is then null."""
    if n is None or not denominator:
        return None
    ci = binomtest(int(n), int(denominator)).proportion_ci(confidence_level=CONFIDENCE, method="exact")
    return Interval(float(ci.low), float(ci.high))


@dataclass(frozen=True)
class KaplanMeier:
    """The Kaplan–Meier estimate of one group, as the report prints and draws it.

    `times`/`survival`/`lower`/`upper` are lifelines' step function and its 95% band (the
    exponential Greenwood, i.e. log(−log), interval); `censor_times` are the durations of
    censored subjects (one mark each) with the estimate at that time. `median_low`/`high`
    are where the band crosses 0.5 (lifelines' `median_survival_times` of the interval);
    `math.inf` means "not reached"."""
    n: int
    times: list[float]
    survival: list[float]
    lower: list[float]
    upper: list[float]
    censor_times: list[float]
    censor_survival: list[float]
    median: float
    median_low: float
    median_high: float
    _risk_times: tuple[float, ...]
    _risk_counts: tuple[int, ...]

    def at_risk(self, day: float) -> int:
        """Subjects at risk at `day`: duration ≥ day (still responding and followed when the
        day starts), the convention of R's survfit and of published risk tables. Read from
        lifelines' event table: its `at_risk` at the first duration on or after `day`."""
        for t, n in zip(self._risk_times, self._risk_counts):
            if t >= day:
                return n
        return 0

    def last_time_with_at_risk(self, least: int) -> float | None:
        """The last duration at which at least `least` subjects are still at risk (None when
        fewer ever are): the curve is drawn only that far under small-cell suppression."""
        shown = [t for t, n in zip(self._risk_times, self._risk_counts) if n >= least]
        return shown[-1] if shown else None


def kaplan_meier(durations: Sequence[float], censored: Sequence[bool]) -> KaplanMeier | None:
    """Fit lifelines' KaplanMeierFitter (an event = response lost; censored = no loss
    observed by the last sample). None for an empty group."""
    if not durations:
        return None
    from lifelines import KaplanMeierFitter            # ~1 s import: only when a report is built
    from lifelines.utils import median_survival_times

    observed = [not c for c in censored]
    kmf = KaplanMeierFitter(alpha=1 - CONFIDENCE).fit([float(d) for d in durations], event_observed=observed)
    curve = kmf.survival_function_.iloc[:, 0]
    band = kmf.confidence_interval_survival_function_
    median_ci = median_survival_times(kmf.confidence_interval_)
    censor_times = sorted(float(d) for d, c in zip(durations, censored) if c)
    table = kmf.event_table
    return KaplanMeier(
        n=len(durations),
        times=[float(t) for t in curve.index],
        survival=[float(s) for s in curve],
        lower=[float(s) for s in band.iloc[:, 0]],
        upper=[float(s) for s in band.iloc[:, 1]],
        censor_times=censor_times,
        censor_survival=[float(s) for s in kmf.survival_function_at_times(censor_times)] if censor_times else [],
        median=float(kmf.median_survival_time_),
        median_low=float(median_ci.iloc[0, 0]),
        median_high=float(median_ci.iloc[0, 1]),
        _risk_times=tuple(float(t) for t in table.index),
        _risk_counts=tuple(int(n) for n in table["at_risk"]),
    )


def risk_table_days(longest: float, days_per_month: int) -> list[int]:
    """Days of the number-at-risk table: every 1, 2, 3, 6 or 12k months from 0 to past the
    longest duration, the finest step that needs at most 13 columns (it fits under the curve)."""
    months = itertools.chain((1, 2, 3, 6), itertools.count(12, 12))
    for step in (m * days_per_month for m in months):
        columns = max(1, math.ceil(longest / step))
        if columns <= 12:
            return [step * k for k in range(columns + 1)]
    raise AssertionError("unreachable: the steps grow without bound")
