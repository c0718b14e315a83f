"""What happens to one demo subject, in study days: the calibrated planner (whose clean final
data give endpoints.md §9 exactly, with its designed edge cases) and the scaled planner (the
same shapes, any size, for benchmarks).
"""
from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from demo.conventions import AE_TERMS, CALIBRATED_SITES, CONVENTIONS, DRUGS, DRUGS_BY_CLASS, GIVEN_NAMES, SURNAMES, Site
from demo.rules import Rules, SUBJECTS_PER_SITE


@dataclass
class ConmedPeriod:
    drug: str                 # key of DRUGS
    start: int                # study day
    end: int | None           # study day; None = ongoing
    dose: str                 # daily dose in the drug's unit, '.' decimal


@dataclass
class AdverseEvent:
    term: str                 # key of AE_TERMS
    onset: int
    resolution: int | None
    grade: int
    serious: bool
    related: bool | None


@dataclass
class SubjectPlan:
    """What happens to one subject, in study days relative to `anchor` (Day 1 if treated)."""
    site: Site
    subject_id: str
    sex: str
    birth_year: int
    diagnosis_date: date | None
    enrollment_date: date
    anchor: date
    treated: bool
    fu_end: int                                  # last study day with data
    dosing: list[tuple[int, int | None, int, int]] = field(default_factory=list)  # start, end, mg, per day
    status: list[tuple[str, int, str | None]] = field(default_factory=list)      # status, day, reason
    plt: dict[int, int] = field(default_factory=dict)         # blood-count days -> PLT (10^9/L)
    chemistry_days: set[int] = field(default_factory=set)
    bleeding: dict[int, int] = field(default_factory=dict)    # assessed days -> WHO grade
    conmeds: list[ConmedPeriod] = field(default_factory=list)
    aes: list[AdverseEvent] = field(default_factory=list)
    case: str = ""                               # a designed edge case (truth file column)
    locked_windows: frozenset[int] = frozenset()  # calibration keeps their bleeding as designed
    seed: str = ""

    def date_of(self, day: int) -> date:
        return Rules.date_of(self.anchor, day)


@dataclass(frozen=True)
class Course:
    """A platelet course after Day 1: ramps from baseline to a target, may fade again."""
    kind: str                 # cr | r | slow | nr | transient
    baseline: int
    target: float
    onset: int = 1
    ramp: int = 10
    relapse: int | None = None
    floor: float = 0.0

    def level(self, day: int) -> float:
        if day <= 1:
            return self.baseline
        if self.kind == "nr" or (self.relapse is not None and day >= self.relapse):
            return self.floor
        progress = min(1.0, max(0, day - self.onset) / self.ramp)
        return self.baseline + (self.target - self.baseline) * progress


def draw_course(rng: random.Random, r: Rules, kind: str, baseline: int) -> Course:
    nr_floor = baseline * r.r_min_fold * rng.uniform(0.45, 0.7)
    if kind == "nr":
        return Course("nr", baseline, nr_floor, floor=nr_floor)
    cr_target = r.cr_min_plt * rng.uniform(1.15, 2.4)
    r_target = min(r.cr_min_plt * 0.85, max(r.r_min_plt * 1.25, baseline * r.r_min_fold * rng.uniform(1.25, 1.7)))
    if kind == "cr":
        return Course("cr", baseline, cr_target, ramp=rng.randint(5, 13))
    if kind == "r":
        return Course("r", baseline, r_target, ramp=rng.randint(5, 13))
    if kind == "slow":
        return Course("slow", baseline, rng.choice((cr_target, r_target)), onset=rng.randint(18, 60),
                      ramp=rng.randint(10, 25))
    return Course("transient", baseline, rng.choice((cr_target, r_target)), ramp=rng.randint(5, 12),
                  relapse=rng.randint(40, 150), floor=nr_floor)


FORTNIGHTLY_UNTIL_MONTH = 6
COURSE_WEIGHTS = (("cr", 0.22), ("r", 0.22), ("slow", 0.18), ("nr", 0.23), ("transient", 0.15))


def weighted(rng: random.Random, choices: Iterable[tuple[str, float]]) -> str:
    keys, weights = zip(*choices)
    return rng.choices(keys, weights)[0]


def visit_days(rng: random.Random, r: Rules, fu_end: int, end_visit: bool, screening: int = -7) -> list[int]:
    """The visit schedule: screening, Day 1, four visits up to the Day-14 endpoint, then
    fortnightly to month 6 and monthly after (each visit inside its own treatment month)."""
    m = r.days_per_month
    days = [screening, 1, 4, 8, 11, r.initial_response_last_day, 21, 28]
    for k in range(2, FORTNIGHTLY_UNTIL_MONTH + 1):
        days += [m * (k - 1) + 10 + rng.randint(-2, 2), m * (k - 1) + 25 + rng.randint(-2, 2)]
    k = FORTNIGHTLY_UNTIL_MONTH + 1
    while m * (k - 1) + 12 <= fu_end:
        days.append(m * (k - 1) + 15 + rng.randint(-3, 3))
        k += 1
    days = sorted({d for d in days if d <= fu_end})
    if end_visit and days[-1] != fu_end:
        days.append(fu_end)
    return days


def identity(rng: random.Random, sex: str) -> dict[str, str]:
    """A realistic name, phone and record number: the privacy tests search the warehouse for them."""
    surname = rng.choice(SURNAMES)
    given = rng.choice(GIVEN_NAMES[sex])
    return {"name_zh": surname[0] + given[0], "name_en": f"{surname[1]} {given[1]}",
            "phone": f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}",
            "record_no": f"{rng.randint(100_000, 999_999):08d}"}


@dataclass(frozen=True)
class Disposition:
    exposure: int             # planned exposure days at the cutoff
    status: str               # on_treatment | completed | withdrawn
    reason: str | None = None


def new_plan(rng: random.Random, r: Rules, site: Site, subject_id: str, day1: date, disp: Disposition,
             cutoff: date, seed: str) -> SubjectPlan:
    """The skeleton of a treated subject: demographics, dosing periods and disposition rows."""
    sex = rng.choice("FFM")  # ITP in adults: more women
    fu_end = disp.exposure
    plan = SubjectPlan(
        site=site, subject_id=subject_id, sex=sex, birth_year=rng.randint(1948, 2002),
        diagnosis_date=None if rng.random() < 0.1 else day1 - timedelta(days=rng.randint(200, 3000)),
        enrollment_date=day1 - timedelta(days=rng.randint(8, 20)), anchor=day1, treated=True,
        fu_end=fu_end, seed=seed)
    end = None if disp.status == "on_treatment" else fu_end
    pattern = rng.random()
    if pattern < 0.2 and fu_end > 40:      # titration: 25 mg once daily for 4 weeks, then bid
        plan.dosing = [(1, 28, 25, 1), (29, end, 25, 2)]
    elif pattern < 0.3 and fu_end > 110:   # interrupted for a week
        stop = rng.randint(40, 80)
        plan.dosing = [(1, stop, 25, 2), (stop + 8, end, 25, 2)]
    else:
        plan.dosing = [(1, end, 25, 2)]
    plan.status = [("on_treatment", 1, None)]
    if disp.status != "on_treatment":
        last = min(fu_end + rng.randint(0, 3), Rules.study_day(cutoff, day1))
        plan.status.append((disp.status, last, disp.reason))
    return plan


def fill_platelets(rng: random.Random, r: Rules, plan: SubjectPlan, course: Course,
                   screening: int = -7) -> None:
    days = visit_days(rng, r, plan.fu_end, plan.status[-1][0] != "on_treatment", screening)
    for d in days:
        if d == 1:
            value = course.baseline
        elif d < 1:
            value = course.baseline * rng.uniform(0.8, 1.3)
        else:
            value = course.level(d) * rng.uniform(0.88, 1.12)
        plan.plt[d] = max(1, round(value))
        plan.bleeding[d] = 0
    plan.chemistry_days = set(days)


def untreated_plan(rng: random.Random, r: Rules, site: Site, subject_id: str, enrolled: date,
                   seed: str) -> SubjectPlan:
    """Enrolled and screened, not yet dosed at the cutoff: no Day 1, so in no denominator."""
    sex = rng.choice("FM")
    plan = SubjectPlan(site=site, subject_id=subject_id, sex=sex, birth_year=rng.randint(1950, 2000),
                       diagnosis_date=enrolled - timedelta(days=rng.randint(100, 2000)),
                       enrollment_date=enrolled, anchor=enrolled + timedelta(days=9), treated=False,
                       fu_end=-7, seed=seed, case="enrolled_not_dosed")
    plan.plt[-7] = rng.randint(8, 25)
    plan.bleeding[-7] = 1
    plan.chemistry_days = {-7}
    return plan


# --- conmed roles -------------------------------------------------------------------------

@dataclass(frozen=True)
class ConmedRole:
    """One subject's concomitant-medication story (endpoints.md §5, conmed rules)."""
    change: str               # see conmed_periods
    drug_class: str = "glucocorticoid"
    day: int | None = None    # study day of the change, if fixed by design

    def needs(self, r: Rules) -> int:
        """The follow-up (study day) the story needs so that its change is in the data."""
        if self.change in ("stop", "taper", "switch", "same_dose", "higher"):
            return (self.day or r.conmed_reduction_last_day) + 1
        if self.change == "stop_after":
            return r.conmed_reduction_last_day + 1
        return 0


def _baseline_start(rng: random.Random, drug: str) -> int:
    return -rng.randint(10, 60) if drug in ("rituximab", "ivig") else -rng.randint(20, 400)


def conmed_periods(rng: random.Random, r: Rules, role: ConmedRole, fu_end: int) -> list[ConmedPeriod]:
    """The periods of a role. A dose change ends the old period and starts the new one the
    next day (site-exports.md §3: 'the old row ends, a new row starts')."""
    lo, hi = r.conmed_reduction_first_day, r.conmed_reduction_last_day
    ch = role.change
    if ch == "none":
        return []
    if ch in ("other_only", "warfarin"):
        key = "warfarin" if ch == "warfarin" else rng.choice(DRUGS_BY_CLASS["other"])
        return [ConmedPeriod(key, -rng.randint(30, 700), None, DRUGS[key].dose)]
    reducible = [k for k in DRUGS_BY_CLASS[role.drug_class] if DRUGS[k].lower]
    if ch == "switch":
        key = "prednisone"
    elif ch in ("taper", "same_dose", "higher", "taper_before"):
        key = rng.choice(reducible)
    else:
        key = rng.choice(DRUGS_BY_CLASS[role.drug_class])
    drug = DRUGS[key]
    start = _baseline_start(rng, key)
    if ch == "ongoing":
        return [ConmedPeriod(key, start, None, drug.dose)]
    if ch == "ends_day1":
        return [ConmedPeriod(key, start, 1, drug.dose)]
    if ch == "starts_day1":
        return [ConmedPeriod(key, 1, None, drug.dose)]
    if ch == "ended_before_day1":
        return [ConmedPeriod(key, start, -1, drug.dose)]
    if ch == "starts_day2":
        return [ConmedPeriod(key, 2, None, drug.dose)]
    if ch == "rescue":
        begin = rng.randint(15, 25)
        return [ConmedPeriod("ivig", begin, begin + 4, DRUGS["ivig"].dose)]
    if ch == "stop_before_window":
        return [ConmedPeriod(key, start, lo - 1, drug.dose)]
    if ch == "stop_after":
        if fu_end <= hi:
            return [ConmedPeriod(key, start, None, drug.dose)]
        return [ConmedPeriod(key, start, rng.randint(hi + 1, min(fu_end, hi + 60)), drug.dose)]
    if ch == "taper_before":
        x = lo - rng.randint(15, 30)
        return [ConmedPeriod(key, start, x, drug.dose), ConmedPeriod(key, x + 1, None, drug.lower)]
    day = role.day or rng.randint(lo, min(hi - 1, fu_end - 1))
    if ch == "stop":
        return [ConmedPeriod(key, start, day, drug.dose)]
    new_dose = {"taper": drug.lower, "same_dose": drug.dose, "higher": drug.higher}.get(ch)
    if ch == "switch":
        return [ConmedPeriod(key, start, day, drug.dose),
                ConmedPeriod("dexamethasone", day + 1, None, DRUGS["dexamethasone"].dose)]
    return [ConmedPeriod(key, start, day, drug.dose), ConmedPeriod(key, day + 1, None, new_dose)]


def add_companion_drugs(rng: random.Random, plan: SubjectPlan, is_user: bool) -> None:
    """A second, unchanged ITP drug for some users and an 'other' drug for some subjects."""
    used = {p.drug for p in plan.conmeds}
    if is_user and rng.random() < 0.3:
        key = rng.choice([k for c in ("tpo_ra", "immunosuppressant") for k in DRUGS_BY_CLASS[c] if k not in used])
        plan.conmeds.append(ConmedPeriod(key, _baseline_start(rng, key), None, DRUGS[key].dose))
        used.add(key)
    if rng.random() < 0.2:
        key = rng.choice([k for k in DRUGS_BY_CLASS["other"] if k not in used])
        plan.conmeds.append(ConmedPeriod(key, -rng.randint(30, 700), None, DRUGS[key].dose))


SCALED_CONMED_ROLES = (
    (ConmedRole("ongoing", "glucocorticoid"), 0.16), (ConmedRole("ongoing", "tpo_ra"), 0.10),
    (ConmedRole("ongoing", "immunosuppressant"), 0.05), (ConmedRole("ongoing", "rituximab"), 0.04),
    (ConmedRole("stop", "glucocorticoid"), 0.07), (ConmedRole("taper", "glucocorticoid"), 0.07),
    (ConmedRole("stop", "rituximab"), 0.08), (ConmedRole("taper", "tpo_ra"), 0.04),
    (ConmedRole("stop", "ivig"), 0.02), (ConmedRole("same_dose", "glucocorticoid"), 0.03),
    (ConmedRole("higher", "tpo_ra"), 0.02), (ConmedRole("taper_before", "glucocorticoid"), 0.04),
    (ConmedRole("stop_after", "glucocorticoid"), 0.03), (ConmedRole("switch"), 0.02),
    (ConmedRole("none"), 0.12), (ConmedRole("other_only"), 0.05), (ConmedRole("rescue"), 0.03),
    (ConmedRole("ended_before_day1", "glucocorticoid"), 0.02), (ConmedRole("starts_day2", "tpo_ra"), 0.02),
)


def draw_aes(rng: random.Random, fu_end: int) -> list[AdverseEvent]:
    out: list[AdverseEvent] = []
    n = rng.choices((0, 1, 2), (0.55, 0.3, 0.15))[0]
    for term in rng.sample([t for t in AE_TERMS if t != "pneumonia"], n):
        onset = rng.randint(3, max(3, fu_end))
        end = onset + rng.randint(3, 30)
        out.append(AdverseEvent(term, onset, end if end <= fu_end else None, rng.choice((1, 1, 2)),
                                False, AE_TERMS[term][2] if rng.random() < 0.9 else None))
    return out


# --- calibrated planner -------------------------------------------------------------------

@dataclass(frozen=True)
class Calibration:
    """The figures of endpoints.md §9 the calibrated cohort reproduces (data targets, not rules)."""
    site_sizes: tuple[tuple[str, int, int], ...] = (("PKUPH", 30, 1), ("RJH", 26, 0), ("WCH", 20, 1))
    treated: int = 76
    exposure_gt_6m: int = 51
    exposure_ge_12m: int = 30
    completed_at_12m: int = 8
    withdrawn: int = 5
    withdrawn_no_response: int = 2
    bleeding_assessed: tuple[tuple[int, int, int], ...] = ((0, 68, 50), (3, 68, 42))  # window, n, any
    later_bleeding_share: tuple[float, float] = (0.66, 0.025)   # month 1 share, drop per month
    conmed_users: int = 63
    conmed_reduced: int = 23


@dataclass(frozen=True)
class EdgeCase:
    """A hand-built platelet course that pins one derivation rule (truth file `case`)."""
    name: str
    site: str
    baseline: int | None
    early: dict[int, int]                  # study day -> PLT (overrides the course)
    course: str                            # course of later samples
    hold: tuple[float, float] | None = None  # later samples uniform in this range instead
    bleeding: dict[int, int] = field(default_factory=dict)
    skip_days: tuple[int, ...] = ()        # no blood count on these days
    extra_days: tuple[int, ...] = ()        # unscheduled samples (values in `early`), no chemistry
    screening: int = -7
    day1_count: bool = True
    lock_all: bool = False
    disposition: Disposition | None = None   # a fixed one (withdrawn cases)
    min_exposure: int = 120                  # else any ongoing one at least this long


def edge_cases(r: Rules) -> list[EdgeCase]:
    """Edge cases of §3-§5, with every boundary taken from the study's vars."""
    cr, rm, fold, w = r.cr_min_plt, r.r_min_plt, r.r_min_fold, r.bleeding_window_days
    b_30 = int(rm // fold) - 1                  # 30 is >= 2-fold of this baseline
    last = r.initial_response_last_day
    return [
        EdgeCase("r_at_two_fold_boundary", "WCH", 20, {4: 26, 8: int(fold * 20), 11: 44, last: 41, 21: 52, 28: 55},
                 "r", hold=(2.3 * 20, 0.85 * cr)),
        EdgeCase("cr_at_exactly_cr_min", "PKUPH", 25, {4: 34, 8: 70, 11: int(cr), last: 95, 21: 130}, "cr"),
        EdgeCase("r_at_exactly_r_min_then_lost", "RJH", b_30,
                 {4: b_30 + 4, 8: b_30 + 8, 11: int(rm), last: int(rm) - 4, 21: int(rm) - 6, 28: int(rm) - 10}, "nr",
                 disposition=Disposition(r.exposure_3m_days + 5, "withdrawn", "no_response")),
        EdgeCase("nr_only_qualifier_with_bleeding", "PKUPH", 10, {4: 12, 8: 15, 11: 60, last: 25, 21: 28, 28: 45},
                 "r", hold=(40, 80), bleeding={last: 1}),
        EdgeCase("bleeding_exactly_window_days_before", "RJH", 20,
                 {4: 45, 1 + w: 110, 11: 90, last: 105, 21: 120}, "cr", bleeding={1: 1}),
        EdgeCase("ne_no_baseline_sample", "WCH", None, {}, "r", hold=(rm + 5, 0.9 * cr),
                 screening=r.baseline_first_day - 1, day1_count=False),
        EdgeCase("ne_no_sample_days_2_to_14", "PKUPH", 18, {21: 60, 28: 64}, "r", hold=(45, 85),
                 skip_days=(4, 8, 11, last)),
        EdgeCase("no_loss_nr_pair_one_day_apart", "RJH", 15,
                 {4: 35, 8: 50, 11: 60, last: 70, 21: 75, 28: 80, 45: 25, 45 + r.loss_min_gap_days: 22},
                 "r", hold=(50, 90), extra_days=(45, 45 + r.loss_min_gap_days), lock_all=True,
                 min_exposure=r.exposure_12m_days + 30),
        EdgeCase("baseline_on_first_window_day", "WCH", None, {}, "cr", screening=r.baseline_first_day,
                 day1_count=False),
        EdgeCase("cr_unconfirmed_without_loss", "PKUPH", 20, {4: 30, 8: 60, 11: 120, last: 80, 21: 70, 28: 90},
                 "r", hold=(60, 0.95 * cr), lock_all=True),
    ]


def calibrated_dispositions(rng: random.Random, r: Rules, cal: Calibration) -> list[Disposition]:
    """Exposure at the cutoff and status for every treated subject: the §9 exposure bands and
    withdrawals, with each band boundary present once."""
    e3, e6, e12 = r.exposure_3m_days, r.exposure_6m_days, r.exposure_12m_days
    withdrawn = [Disposition(e3 + 5, "withdrawn", "no_response"), Disposition(e3 + 30, "withdrawn", "epidemic"),
                 Disposition(e3 + 60, "withdrawn", "financial"), Disposition(e6 + 20, "withdrawn", "no_response"),
                 Disposition(e6 + 70, "withdrawn", "epidemic")]
    long_n = cal.exposure_ge_12m
    mid_n = cal.exposure_gt_6m - long_n
    short_n = cal.treated - cal.exposure_gt_6m
    short = [d for d in withdrawn if d.exposure <= e6]
    mid = [d for d in withdrawn if e6 < d.exposure < e12]
    assert len(withdrawn) == cal.withdrawn and sum(d.reason == "no_response" for d in withdrawn) == cal.withdrawn_no_response
    out = list(withdrawn)
    out += [Disposition(x, "on_treatment") for x in [e3, e6] + [rng.randint(e3 + 1, e6 - 1)
                                                            for _ in range(short_n - len(short) - 2)]]
    out += [Disposition(x, "on_treatment") for x in [e6 + 1, e12 - 1] + [rng.randint(e6 + 2, e12 - 2)
                                                                    for _ in range(mid_n - len(mid) - 2)]]
    out += [Disposition(e12, "completed")] * cal.completed_at_12m
    out += [Disposition(x, "on_treatment") for x in [e12] + [rng.randint(e12 + 1, e12 + 180)
                                                         for _ in range(long_n - cal.completed_at_12m - 1)]]
    return out


def _day1_for(rng: random.Random, disp: Disposition, cutoff: date) -> date:
    if disp.status == "on_treatment":
        return cutoff - timedelta(days=disp.exposure - 1)
    return cutoff - timedelta(days=disp.exposure + rng.randint(10, 180) - 1)


def apply_edge_case(rng: random.Random, r: Rules, plan: SubjectPlan, case: EdgeCase) -> None:
    baseline = case.baseline if case.baseline is not None else rng.randint(12, 22)
    course = draw_course(rng, r, case.course, baseline)
    fill_platelets(rng, r, plan, course, screening=case.screening)
    for d in case.skip_days:
        plan.plt.pop(d, None)
        plan.bleeding.pop(d, None)
    if not case.day1_count:
        plan.plt.pop(1, None)
    for d in plan.plt:
        if case.hold and d > 1 and d not in case.early:
            plan.plt[d] = round(rng.uniform(*case.hold))
    plan.plt.update(case.early)
    plan.bleeding.update(case.bleeding)
    plan.chemistry_days = {d for d in plan.plt if d not in case.extra_days}
    plan.case = case.name
    plan.locked_windows = frozenset(range(0, r.report_months + 1)) if case.lock_all else frozenset(range(0, 4))


def calibrated_plans(seed: int, r: Rules, cutoff: date, cal: Calibration = Calibration()) -> list[SubjectPlan]:
    rng = random.Random(f"{seed}:calibrated")
    sites = {s.code: s for s in CALIBRATED_SITES}
    dispositions = calibrated_dispositions(rng, r, cal)
    cases = edge_cases(r)
    # Edge cases take their own disposition or an ongoing one long enough for month 4.
    pool = list(dispositions)
    assigned: list[tuple[Disposition, EdgeCase | None, str]] = []
    for case in cases:
        if case.disposition:
            pool.remove(case.disposition)
            disp = case.disposition
        else:
            disp = rng.choice([d for d in pool if d.status == "on_treatment" and d.exposure >= case.min_exposure])
            pool.remove(disp)
        assigned.append((disp, case, case.site))
    slots = [code for code, n, _ in cal.site_sizes for _ in range(n)]
    for case in cases:
        slots.remove(case.site)
    rng.shuffle(pool)
    assigned += [(d, None, slot) for d, slot in zip(pool, slots)]

    plans: list[SubjectPlan] = []
    for i, (disp, case, code) in enumerate(assigned):
        day1 = _day1_for(rng, disp, cutoff)
        plan = new_plan(rng, r, sites[code], "", day1, disp, cutoff, seed=f"{seed}:cal:{i}")
        if case:
            apply_edge_case(rng, r, plan, case)
            if case.screening < -7:
                plan.enrollment_date = plan.date_of(case.screening) - timedelta(days=rng.randint(1, 5))
        else:
            kind = "nr" if disp.reason == "no_response" else weighted(rng, COURSE_WEIGHTS)
            fill_platelets(rng, r, plan, draw_course(rng, r, kind, rng.randint(5, 29)))
        plan.aes = draw_aes(rng, plan.fu_end)
        plans.append(plan)
    calibrate_bleeding(rng, r, plans, cal)
    assign_calibrated_conmeds(rng, r, plans, cal)
    plant_serious_ae(rng, plans)
    for code, _, untreated in cal.site_sizes:
        for k in range(untreated):
            plans.append(untreated_plan(rng, r, sites[code], "", cutoff - timedelta(days=5 + 7 * k),
                                        seed=f"{seed}:cal:u{code}{k}"))
    # an untreated subject already on prednisone: in no conmed denominator (no Day 1)
    untreated = [p for p in plans if not p.treated]
    untreated[0].conmeds = [ConmedPeriod("prednisone", -200, None, DRUGS["prednisone"].dose)]
    for code in sites:
        members = sorted((p for p in plans if p.site.code == code), key=lambda p: (p.enrollment_date, p.seed))
        for n, p in enumerate(members, 1):
            p.subject_id = f"{code}-{n:03d}"
    return sorted(plans, key=lambda p: p.subject_id)


def calibrate_bleeding(rng: random.Random, r: Rules, plans: list[SubjectPlan], cal: Calibration) -> None:
    """Choose who is assessed and who bleeds in each window so that §9's figures hold exactly.
    Realism: within a window the subjects with the lowest platelet counts are the ones who bleed."""
    fixed = {w: (n, bleeders) for w, n, bleeders in cal.bleeding_assessed}
    share0, drop = cal.later_bleeding_share
    for w in range(0, r.report_months + 1):
        lo, hi = r.window_days(w)
        members = [p for p in plans if any(lo <= d <= hi for d in p.bleeding)]
        free = [p for p in members if w not in p.locked_windows]
        if w in fixed:
            n_skip = len(members) - fixed[w][0]
        else:
            n_skip = rng.randint(0, 3)
        for p in rng.sample(free, n_skip):
            for d in [d for d in p.bleeding if lo <= d <= hi]:
                del p.bleeding[d]
        assessed = [p for p in members if any(lo <= d <= hi for d in p.bleeding)]
        locked_bleeders = sum(1 for p in assessed if w in p.locked_windows
                              and any(g >= 1 for d, g in p.bleeding.items() if lo <= d <= hi))
        if w in fixed:
            target = fixed[w][1]
        else:
            target = math.floor((share0 - drop * (w - 1)) * len(assessed))
        pool = [p for p in assessed if w not in p.locked_windows]
        need = target - locked_bleeders
        if not 0 <= need <= len(pool):
            raise RuntimeError(f"bleeding calibration impossible in window {w}: need {need} of {len(pool)}")

        def lowest(p: SubjectPlan) -> tuple[float, int]:
            counts = [(p.plt[d], d) for d in p.bleeding if lo <= d <= hi and d in p.plt]
            return min(counts) if counts else (math.inf, min(d for d in p.bleeding if lo <= d <= hi))

        ranked = sorted(pool, key=lambda p: (lowest(p)[0], rng.random()))
        for p in ranked[:need]:
            p.bleeding[lowest(p)[1]] = rng.choices((1, 2, 3), (0.72, 0.24, 0.04))[0]


def calibrated_conmed_roles(r: Rules, cal: Calibration) -> list[ConmedRole]:
    lo, hi = r.conmed_reduction_first_day, r.conmed_reduction_last_day
    reducers = ([ConmedRole("stop", "glucocorticoid", lo), ConmedRole("stop", "glucocorticoid", hi)]
                + [ConmedRole("stop", "glucocorticoid")] * 2 + [ConmedRole("taper", "glucocorticoid")] * 5
                + [ConmedRole("switch")] + [ConmedRole("stop", "rituximab")] * 7
                + [ConmedRole("taper", "tpo_ra")] * 2 + [ConmedRole("stop", "tpo_ra")]
                + [ConmedRole("taper", "immunosuppressant"), ConmedRole("stop", "immunosuppressant")]
                + [ConmedRole("stop", "ivig")])
    others = ([ConmedRole("same_dose", "glucocorticoid")] * 2 + [ConmedRole("same_dose", "tpo_ra"),
              ConmedRole("higher", "tpo_ra"), ConmedRole("higher", "glucocorticoid")]
              + [ConmedRole("taper_before", "glucocorticoid")] * 3
              + [ConmedRole("stop_after", "glucocorticoid"), ConmedRole("stop_after", "immunosuppressant"),
                 ConmedRole("stop_before_window", "glucocorticoid"), ConmedRole("ends_day1", "tpo_ra"),
                 ConmedRole("starts_day1", "glucocorticoid")])
    classes = ("glucocorticoid",) * 4 + ("tpo_ra",) * 3 + ("immunosuppressant",) * 2 + ("rituximab", "ivig")
    n_ongoing = cal.conmed_users - len(reducers) - len(others)
    others += [ConmedRole("ongoing", classes[i % len(classes)]) for i in range(n_ongoing)]
    non_users = ([ConmedRole("none")] * (cal.treated - cal.conmed_users - 6)
                 + [ConmedRole("other_only")] * 2 + [ConmedRole("warfarin")]
                 + [ConmedRole("ended_before_day1", "glucocorticoid"), ConmedRole("starts_day2", "tpo_ra"),
                    ConmedRole("rescue")])
    assert len(reducers) == cal.conmed_reduced
    return reducers + others + non_users


def assign_calibrated_conmeds(rng: random.Random, r: Rules, plans: list[SubjectPlan], cal: Calibration) -> None:
    roles = calibrated_conmed_roles(r, cal)
    free = [p for p in plans if p.treated]
    # the site-bound role first, then the longest follow-up needs: a greedy pass then always fits
    for role in sorted(roles, key=lambda x: (x.change != "warfarin", -x.needs(r))):
        fits = [p for p in free if p.fu_end >= role.needs(r)
                and (role.change != "warfarin" or p.site.convention.kind == "PKUPH")]
        plan = rng.choice(fits)
        free.remove(plan)
        plan.conmeds = conmed_periods(rng, r, role, plan.fu_end)
        add_companion_drugs(rng, plan, role.change not in ("none", "other_only", "warfarin", "ended_before_day1",
                                                           "starts_day2", "rescue"))


def plant_serious_ae(rng: random.Random, plans: list[SubjectPlan]) -> None:
    """The one safety signal of the AE kind: a grade-3 serious AE, not leading to withdrawal."""
    candidates = [p for p in plans if p.site.code == "RJH" and p.fu_end >= 150 and not p.case
                  and p.status[-1][0] == "on_treatment"]
    plan = rng.choice(candidates)
    onset = rng.randint(100, 130)
    plan.aes = [a for a in plan.aes if a.term != "pneumonia"]
    plan.aes.append(AdverseEvent("pneumonia", onset, onset + 14, 3, True, False))


# --- scaled planner -----------------------------------------------------------------------

def scaled_sites(n_subjects: int) -> list[Site]:
    n = max(3, n_subjects // SUBJECTS_PER_SITE)
    width = max(3, len(str(n)))
    return [Site(f"S{i + 1:0{width}d}", f"Study site {i + 1}", CONVENTIONS[i % 3]) for i in range(n)]


def scaled_plans(seed: int, r: Rules, site: Site, count: int, months: int, cutoff: date) -> Iterator[SubjectPlan]:
    """Subjects of one site, one at a time (memory stays bounded at any cohort size). Same
    shapes as the calibrated cohort, figures left to chance."""
    study_days = months * r.days_per_month
    plans: list[tuple[date, str]] = []
    for k in range(count):  # enrollment order first, so subject ids follow it
        rng = random.Random(f"{seed}:{site.code}:{k}")
        plans.append((cutoff - timedelta(days=rng.randint(0, study_days - 1)), f"{seed}:{site.code}:{k}"))
    plans.sort()
    for n, (anchor, key) in enumerate(plans, 1):
        rng = random.Random(key + ":plan")
        subject_id = f"{site.code}-{n:04d}"
        available = Rules.study_day(cutoff, anchor)
        if available < 8 or rng.random() < 0.02:
            yield untreated_plan(rng, r, site, subject_id, cutoff - timedelta(days=rng.randint(3, 20)), key)
            continue
        if available >= r.exposure_12m_days and rng.random() < 0.35:
            disp = Disposition(r.exposure_12m_days, "completed")
        elif available >= r.exposure_3m_days + 5 and rng.random() < 0.07:
            disp = Disposition(rng.randint(r.exposure_3m_days + 5, min(available, 300)), "withdrawn",
                               rng.choice(("no_response", "epidemic", "financial", "patient_decision")))
        else:
            disp = Disposition(available, "on_treatment")
        day1 = anchor if disp.status == "on_treatment" else _day1_for(rng, disp, cutoff)
        plan = new_plan(rng, r, site, subject_id, day1, disp, cutoff, key)
        kind = "nr" if disp.reason == "no_response" else weighted(rng, COURSE_WEIGHTS)
        fill_platelets(rng, r, plan, draw_course(rng, r, kind, rng.randint(5, 29)))
        for d, v in plan.plt.items():
            p = 0.35 if v < r.r_min_plt else 0.12 if v < r.cr_min_plt / 2 else 0.03
            if rng.random() < 0.05:
                del plan.bleeding[d]
            elif rng.random() < p:
                plan.bleeding[d] = rng.choices((1, 2, 3), (0.72, 0.24, 0.04))[0]
        chosen = rng.choices([c for c, _ in SCALED_CONMED_ROLES], [w for _, w in SCALED_CONMED_ROLES])[0]
        if plan.fu_end < chosen.needs(r):
            chosen = ConmedRole("ongoing", chosen.drug_class)
        plan.conmeds = conmed_periods(rng, r, chosen, plan.fu_end)
        add_companion_drugs(rng, plan, chosen.change not in ("none", "other_only", "rescue", "ended_before_day1",
                                                             "starts_day2"))
        plan.aes = draw_aes(rng, plan.fu_end)
        if rng.random() < 0.01:
            onset = rng.randint(3, max(3, plan.fu_end))
            plan.aes.append(AdverseEvent("pneumonia", onset, None, 3, True, False))
        yield plan
