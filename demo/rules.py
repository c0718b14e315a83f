"""The study rules the demo cohort is planted against, and the demo's calendar.

`Rules` holds the derivation constants of endpoints.md §1-§5 as dbt_project.yml `vars:` holds
them (read through `sources.study_parameters`, never repeated here), so the planted truth and
the warehouse can never disagree on a threshold, only on how they apply it.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, timedelta

from sources.study_parameters import study_vars


# The data cut of the demo: the latest export date, hence the default load cutoff.
CUTOFF = date(2022, 6, 30)
# The warehouse went live six months before the cutoff: sites have sent a cumulative snapshot
# at every month end since. Earlier history would only multiply files without new shapes.
EXPORT_HISTORY_MONTHS = 6
SNAPSHOT_MODES = ("monthly", "final", "delta")
# Scaled cohorts: one site per this many subjects (at least three, one per convention).
SUBJECTS_PER_SITE = 300
DEFAULT_SCALED_SUBJECTS = 1000
DEFAULT_SCALED_MONTHS = 18


@dataclass(frozen=True)
class Rules:
    """The derivation constants of endpoints.md §1-§5, as dbt_project.yml `vars:` holds them."""
    baseline_first_day: int
    days_per_month: int
    report_months: int
    initial_response_last_day: int
    bleeding_window_days: int
    cr_min_plt: float
    r_min_plt: float
    r_min_fold: float
    confirm_min_days: int
    loss_min_gap_days: int
    exposure_3m_days: int
    exposure_6m_days: int
    exposure_12m_days: int
    conmed_reduction_first_day: int
    conmed_reduction_last_day: int

    @classmethod
    def load(cls) -> Rules:
        v = study_vars()
        return cls(**{f.name: v[f.name] for f in fields(cls)})

    @staticmethod
    def study_day(d: date, day1: date) -> int:
        """There is no day 0: Day 1 is the first dose, the day before is day -1."""
        delta = (d - day1).days
        return delta + 1 if delta >= 0 else delta

    @staticmethod
    def date_of(day1: date, day: int) -> date:
        return day1 + timedelta(days=day - 1 if day >= 1 else day)

    def window_of(self, day: int) -> int | None:
        """0 = baseline (month 0), k = treatment month k, None = before month 0."""
        if self.baseline_first_day <= day <= 1:
            return 0
        if day < self.baseline_first_day:
            return None
        return (day - 1) // self.days_per_month + 1 if day > 1 else None

    def window_days(self, w: int) -> tuple[int, int]:
        if w == 0:
            return self.baseline_first_day, 1
        return max(2, self.days_per_month * (w - 1) + 1), self.days_per_month * w
