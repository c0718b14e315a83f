"""THE TEST ORACLE, NOT PRODUCT LOGIC: the planted truth of the demo cohort.

This module computes, per subject, what the warehouse must derive (initial response by Day 14,
response per month, duration of response, exposure, bleeding, concomitant-drug reduction,
adverse events) and adds the endpoint_summary figures up, from the generator's clean final
rows. It is a second, independent implementation of the IWG response rules of endpoints.md on
purpose: it shares no code with the warehouse (dbt_project/ derives the same figures in SQL), so
when the two agree (tests/e2e/test_demo_cohort.py, tests/demo/) it proves the warehouse, and a
bug in one cannot hide in both. Only the constants (`Rules`, read from dbt_project.yml vars) are
shared. Never import this module from the product's derivations.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from demo.rows import Row, unit_conversion
from demo.rules import Rules


RANK = {"NR": 0, "R": 1, "CR": 2}


@dataclass
class SubjectData:
    """One subject's clean final data in canonical form: the oracle's only input."""
    site_id: str
    subject_id: str
    dosing: list[tuple[date, date | None]]
    plt: list[tuple[date, float]]
    bleeding: list[tuple[date, int]]
    conmeds: list[tuple[str, str, date, date | None, float | None]]
    aes: list[tuple[int, bool, bool | None]]
    disposition: list[tuple[str, date, str | None]]
    labs: list[tuple[str, date, float, float | None, float | None]]   # stored code, date, value, low, high

    @classmethod
    def from_rows(cls, site: str, subject: str, rows: dict[str, list[Row]], cutoff: date) -> SubjectData:
        final = {d: [r.values for r in rs if r.visible(cutoff) and not r.bad] for d, rs in rows.items()}

        def open_end(v: dict[str, object], col: str) -> date | None:
            end = v[col]
            return None if end is None or end > cutoff else end

        labs = []
        for v in final["labs"]:
            text = str(v["value"]).lstrip("<>")
            factor, stored = unit_conversion(str(v["test_code"]), str(v["unit"]))
            low = None if v["ref_low"] is None else float(v["ref_low"]) * factor
            high = None if v["ref_high"] is None else float(v["ref_high"]) * factor
            labs.append((stored, v["sample_date"], float(text) * factor, low, high))
        return cls(
            site, subject,
            dosing=[(v["start_date"], open_end(v, "end_date")) for v in final["dosing"]],
            plt=sorted((d, x) for code, d, x, _, _ in labs if code == "PLT"),
            bleeding=sorted((v["assessment_date"], int(v["who_grade"])) for v in final["bleeding"]),
            conmeds=[(str(v["drug_name"]), str(v["drug_class"]), v["start_date"], open_end(v, "end_date"),
                      None if v["daily_dose"] is None else float(v["daily_dose"])) for v in final["conmeds"]],
            aes=[(int(v["ctcae_grade"]), v["serious"] == "Y", None if v["related"] is None else v["related"] == "Y")
                 for v in final["adverse_events"]],
            disposition=sorted(((str(v["status"]), v["status_date"], v["reason"]) for v in final["disposition"]),
                               key=lambda x: x[1]),
            labs=labs)


@dataclass
class Outcome:
    """What the oracle derives for one subject: the truth row and what the figures add up."""
    truth: dict[str, object]
    treated: bool = False
    exposure: int = 0
    status: str | None = None
    reason: str | None = None
    has_baseline: bool = False
    initial: str | None = None
    month_best: dict[int, str] = field(default_factory=dict)
    bleeding: dict[int, bool] = field(default_factory=dict)
    conmed_classes: set[str] = field(default_factory=set)
    reduced_classes: set[str] = field(default_factory=set)
    ae: dict[str, bool] = field(default_factory=dict)


def sample_category(r: Rules, value: float, baseline: float, when: date, bleeds: list[date]) -> str:
    if any(abs((when - b).days) <= r.bleeding_window_days for b in bleeds):
        return "NR"
    if value >= r.cr_min_plt:
        return "CR"
    if value >= r.r_min_plt and value >= r.r_min_fold * baseline:
        return "R"
    return "NR"


def conmed_outcome(r: Rules, data: SubjectData, day1: date) -> tuple[set[str], set[str]]:
    """Baseline classes, and classes reduced or stopped within the reduction window. A period is
    replaced when a period of the same drug name starts on its end date or the day after."""
    users: set[str] = set()
    reduced: set[str] = set()
    for name, cls_, start, end, dose in data.conmeds:
        if cls_ == "other" or start > day1 or (end is not None and end < day1):
            continue
        users.add(cls_)
        if end is None or not (r.conmed_reduction_first_day <= Rules.study_day(end, day1)
                               <= r.conmed_reduction_last_day):
            continue
        nexts = [m for m in data.conmeds if m[0] == name and m[2] in (end, end + timedelta(days=1))]
        if not nexts or any(m[4] is not None and dose is not None and m[4] < dose for m in nexts):
            reduced.add(cls_)
    return users, reduced


def oracle(r: Rules, data: SubjectData, cutoff: date, case: str = "") -> Outcome:
    truth: dict[str, object] = {c: None for c in TRUTH_COLUMNS}
    truth.update(site_id=data.site_id, subject_id=data.subject_id, treated=False, case=case)
    out = Outcome(truth)
    if not data.dosing:
        return out
    day1 = min(s for s, _ in data.dosing)
    ends = [e for _, e in data.dosing]
    last = cutoff if any(e is None for e in ends) else max(ends)
    out.treated, out.exposure = True, (min(last, cutoff) - day1).days + 1
    if data.disposition:
        out.status, _, reason = data.disposition[-1]
        out.reason = reason if out.status == "withdrawn" else None
    sd = lambda d: Rules.study_day(d, day1)  # noqa: E731
    base = [v for d, v in data.plt if r.baseline_first_day <= sd(d) <= 1]
    b = base[-1] if base else None
    bleeds = [d for d, g in data.bleeding if g >= 1]
    post = [(d, sample_category(r, v, b, d, bleeds)) for d, v in data.plt if sd(d) >= 2] if b is not None else []
    # duration of response
    start_i = next((i for i, (_, c) in enumerate(post) if c != "NR"), None)
    start = loss = None
    if start_i is not None:
        start = post[start_i][0]
        for (d1, c1), (d2, c2) in zip(post[start_i + 1:], post[start_i + 2:]):
            if c1 == c2 == "NR" and (d2 - d1).days > r.loss_min_gap_days:
                loss = d1
                break
    # initial response by Day 14
    window = [(d, c) for d, c in post if 2 <= sd(d) <= r.initial_response_last_day]
    initial, response_day, confirmed = "NE", None, None
    if window:
        initial = max((c for _, c in window), key=RANK.get)
        if initial != "NR":
            first = next(d for d, c in window if c == initial)
            response_day = sd(first)
            confirmed = any(d >= first + timedelta(days=r.confirm_min_days) and (loss is None or d < loss)
                            and RANK[c] >= RANK[initial] for d, c in post)
    out.has_baseline, out.initial = b is not None, initial
    for d, c in post:
        k = r.window_of(sd(d))
        if k is not None and 1 <= k <= r.report_months and RANK[c] >= RANK.get(out.month_best.get(k, "NR"), 0):
            out.month_best[k] = c
    for d, g in data.bleeding:
        w = r.window_of(sd(d))
        if w is not None and w <= r.report_months:
            out.bleeding[w] = out.bleeding.get(w, False) or g >= 1
    out.conmed_classes, out.reduced_classes = conmed_outcome(r, data, day1)
    out.ae = {"ae_any": bool(data.aes), "ae_grade3plus": any(g >= 3 for g, _, _ in data.aes),
              "ae_serious": any(s for _, s, _ in data.aes), "ae_related": any(x for _, _, x in data.aes),
              "ae_led_to_withdrawal": out.reason == "adverse_event"}
    truth.update(
        treated=True, day1_date=day1, baseline_plt=b, initial_response=initial, response_day=response_day,
        confirmed=confirmed, or_start_date=start, loss_date=loss,
        duration_days=None if start is None else ((loss or post[-1][0]) - start).days,
        censored=None if start is None else loss is None, exposure_days=out.exposure,
        current_status=out.status, withdrawal_reason=out.reason,
        baseline_conmed_user=bool(out.conmed_classes), conmed_reduced=bool(out.reduced_classes))
    return out


TRUTH_COLUMNS = ("site_id", "subject_id", "treated", "day1_date", "baseline_plt", "initial_response",
                 "response_day", "confirmed", "or_start_date", "loss_date", "duration_days", "censored",
                 "exposure_days", "current_status", "withdrawal_reason", "baseline_conmed_user",
                 "conmed_reduced", "case")


def truth_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass
class Figures:
    """endpoint_summary rows (endpoints.md §7) that the oracle can derive, accumulated subject
    by subject: (endpoint, timepoint) -> [n, denominator]."""
    rules: Rules
    counts: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def _add(self, endpoint: str, timepoint: str, hit: bool) -> None:
        cell = self.counts[(endpoint, timepoint)]
        cell[0] += int(hit)
        cell[1] += 1

    def add(self, o: Outcome) -> None:
        r = self.rules
        if not o.treated:
            return
        self._add("treated", "all", True)
        self._add("exposure_ge_3m", "all", o.exposure >= r.exposure_3m_days)
        self._add("exposure_gt_6m", "all", o.exposure > r.exposure_6m_days)
        self._add("exposure_ge_12m", "all", o.exposure >= r.exposure_12m_days)
        withdrawn = o.status == "withdrawn"
        self._add("withdrawn", "all", withdrawn)
        self._add("withdrawn", "no_response", withdrawn and o.reason == "no_response")
        self._add("withdrawn", "adverse_event", withdrawn and o.reason == "adverse_event")
        self._add("withdrawn", "other", withdrawn and o.reason not in ("no_response", "adverse_event"))
        if o.has_baseline:
            self._add("initial_or", "day14", o.initial in ("R", "CR"))
            self._add("initial_cr", "day14", o.initial == "CR")
            for k, c in o.month_best.items():
                self._add("response_or", f"month_{k}", c != "NR")
                self._add("response_cr", f"month_{k}", c == "CR")
        for w, hit in o.bleeding.items():
            self._add("bleeding_any", "baseline" if w == 0 else f"month_{w}", hit)
        self._add("conmed_baseline", "all", bool(o.conmed_classes))
        if o.conmed_classes:
            self._add("conmed_reduced", "month_3_to_6", bool(o.reduced_classes))
            for c in o.conmed_classes:
                self._add("conmed_reduced", f"{c}_month_3_to_6", c in o.reduced_classes)
        for name, hit in o.ae.items():
            self._add(name, "all", hit)

    def get(self, endpoint: str, timepoint: str) -> tuple[int, int]:
        n, d = self.counts.get((endpoint, timepoint), [0, 0])
        return n, d

    def rows(self) -> list[tuple[str, str, int, int, str]]:
        out = []
        for (endpoint, timepoint), (n, d) in sorted(self.counts.items(), key=lambda kv: _order(kv[0])):
            pct = "" if d == 0 else str((Decimal(100 * n) / Decimal(d)).quantize(Decimal("0.1"), ROUND_HALF_UP))
            out.append((endpoint, timepoint, n, d, pct))
        return out


def _order(key: tuple[str, str]) -> tuple[str, int, str]:
    endpoint, timepoint = key
    m = re.fullmatch(r"month_(\d+)", timepoint)
    return endpoint, int(m.group(1)) if m else -1, timepoint
