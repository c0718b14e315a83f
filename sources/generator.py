"""The demo cohort: site exports that exercise every rule of the export contract, plus the
truth of what was planted, computed by an oracle that shares no code with the warehouse.

Why it exists: the warehouse must reproduce the study's first report (endpoints.md §9)
exactly, and a demo or test can only prove that if the input is known to the last row. So the
default call writes a *calibrated* cohort (three sites with three conventions, monthly
cumulative snapshots with corrections, deletions, a resend, identifying columns and bad rows)
whose clean final data give the §9 figures; `subjects=`/`months=` write a *scaled* cohort of
the same shapes for benchmarks, streamed subject by subject so memory stays bounded.

Layout of this module, in the order data flows:
  rules        the spec's windows and thresholds (dbt_project.yml vars, never repeated here)
  conventions  how each family of sites writes files (encoding, units, aliases, names)
  plans        what happens to one subject, in study days (calibrated and scaled planners)
  rows         a plan as export rows in the site's own units, with snapshot visibility
  plants       corrections, deletions, bad rows, a text date cell: what the load must handle
  writers      streaming CSV/xlsx writers fanning each row out to every snapshot it belongs to
  oracle       per-subject truth and endpoint figures from the clean final rows
  generate_cohort / CLI
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import random
import re
import shutil
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache
from pathlib import Path
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

import yaml

from sources.domains import DOMAINS, INTEGER, NUMBER
from sources.study_parameters import study_vars
from sources.units import resolve_unit

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


# ============================================================================ rules

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


# ============================================================================ conventions

COUNT_TESTS = ("PLT", "WBC", "NEUT", "LYMPH")
CHEMISTRY_TESTS = ("ALT", "AST", "TBIL", "CREAT", "UREA")


@dataclass(frozen=True)
class Convention:
    """How one family of sites writes its exports (site-exports.md §2, §4)."""
    kind: str                                  # PKUPH | RJH | WCH
    file_encoding: str                         # codec used to write the bytes
    encoding: str                              # as declared in sites.yaml
    delimiter: str
    decimal: str
    date_format: str
    xlsx_domains: frozenset[str]
    header_case: str                           # lower | upper | title
    aliases: Mapping[str, Mapping[str, str]]   # domain -> canonical column -> site header
    extra_columns: Mapping[str, tuple[tuple[str, str], ...]]  # domain -> (key, header): dropped at load
    missing: str                               # how an empty optional cell is written in CSV
    urea_code: str                             # UREA or BUN
    units: Mapping[str, str]                   # test code as sent -> unit as written
    decimals: Mapping[str, int]                # decimals of a value in the site's unit (<0: tens...)
    ranges: Mapping[str, Mapping[str, tuple[str, str]]]  # test -> sex -> (low, high), site unit
    missing_range_share: float
    drug_language: str                         # zh | en | upper
    ae_language: str                           # zh | en


def _same_for_both(ranges: dict[str, tuple[str, str] | dict[str, tuple[str, str]]]):
    return {t: (r if isinstance(r, dict) else {"F": r, "M": r}) for t, r in ranges.items()}


PKUPH_CONVENTION = Convention(
    kind="PKUPH", file_encoding="gb18030", encoding="gb18030", delimiter=",", decimal=".",
    date_format="%d.%m.%Y", xlsx_domains=frozenset(), header_case="lower",
    aliases={
        "subjects": {"sex": "性别", "birth_year": "出生年份", "diagnosis_date": "诊断日期",
                     "enrollment_date": "入组日期"},
        "labs": {"sample_date": "采样日期", "test_code": "检验项目", "value": "结果", "unit": "单位",
                 "ref_low": "参考下限", "ref_high": "参考上限"},
        "bleeding": {"assessment_date": "评估日期", "who_grade": "WHO出血分级"},
        "conmeds": {"drug_name": "药品名称", "start_date": "开始日期", "end_date": "结束日期",
                    "daily_dose": "日剂量", "dose_unit": "剂量单位"},
    },
    extra_columns={"subjects": (("patient_name", "姓名"), ("phone", "手机号"), ("record_no", "病案号"))},
    missing="NA", urea_code="UREA",
    units={"PLT": "10^9/L", "WBC": "10^9/L", "NEUT": "10^9/L", "LYMPH": "10^9/L", "HGB": "g/L",
           "ALT": "U/L", "AST": "U/L", "TBIL": "µmol/L", "CREAT": "µmol/L", "UREA": "mmol/L"},
    decimals={"PLT": 0, "WBC": 2, "NEUT": 2, "LYMPH": 2, "HGB": 0, "ALT": 0, "AST": 0, "TBIL": 1,
              "CREAT": 0, "UREA": 2},
    ranges=_same_for_both({
        "PLT": ("125", "350"), "WBC": ("3.5", "9.5"), "NEUT": ("1.8", "6.3"), "LYMPH": ("1.1", "3.2"),
        "HGB": {"F": ("115", "150"), "M": ("130", "175")},
        "ALT": {"F": ("7", "40"), "M": ("9", "50")}, "AST": {"F": ("13", "35"), "M": ("15", "40")},
        "TBIL": ("0", "23"), "CREAT": {"F": ("41", "81"), "M": ("57", "111")}, "UREA": ("3.1", "8.0"),
    }),
    missing_range_share=0.08, drug_language="zh", ae_language="zh",
)

RJH_CONVENTION = Convention(
    kind="RJH", file_encoding="utf-8", encoding="utf-8", delimiter=",", decimal=".",
    date_format="%Y-%m-%d", xlsx_domains=frozenset({"labs", "dosing"}), header_case="title",
    aliases={}, extra_columns={"disposition": (("comment", "comment"),)},
    missing="", urea_code="UREA",
    units={"PLT": "x10^9/L", "WBC": "x10^9/L", "NEUT": "10*9/L", "LYMPH": "10*9/L", "HGB": "g/L",
           "ALT": "IU/L", "AST": "IU/L", "TBIL": "umol/L", "CREAT": "umol/L", "UREA": "mmol/L"},
    decimals={"PLT": 0, "WBC": 2, "NEUT": 2, "LYMPH": 2, "HGB": 0, "ALT": 0, "AST": 0, "TBIL": 1,
              "CREAT": 0, "UREA": 2},
    ranges=_same_for_both({
        "PLT": ("100", "300"), "WBC": ("4.0", "10.0"), "NEUT": ("2.0", "7.0"), "LYMPH": ("0.8", "4.0"),
        "HGB": {"F": ("110", "150"), "M": ("120", "160")}, "ALT": ("5", "40"), "AST": ("8", "40"),
        "TBIL": ("3.4", "20.4"), "CREAT": {"F": ("44", "97"), "M": ("53", "115")}, "UREA": ("2.5", "7.1"),
    }),
    missing_range_share=0.05, drug_language="en", ae_language="en",
)

WCH_CONVENTION = Convention(
    kind="WCH", file_encoding="utf-8-sig", encoding="utf-8", delimiter=";", decimal=",",
    date_format="%d/%m/%Y", xlsx_domains=frozenset(), header_case="upper",
    aliases={}, extra_columns={"subjects": (("patient_name", "patient_name"), ("phone", "phone"))},
    missing="-", urea_code="BUN",
    units={"PLT": "/uL", "WBC": "/uL", "NEUT": "/uL", "LYMPH": "/uL", "HGB": "g/dL",
           "ALT": "U/L", "AST": "U/L", "TBIL": "mg/dL", "CREAT": "mg/dL", "BUN": "mg/dL"},
    decimals={"PLT": -3, "WBC": -1, "NEUT": -1, "LYMPH": -1, "HGB": 1, "ALT": 0, "AST": 0, "TBIL": 2,
              "CREAT": 2, "BUN": 1},
    ranges=_same_for_both({
        "PLT": ("125000", "350000"), "WBC": ("3500", "9500"), "NEUT": ("1800", "6300"),
        "LYMPH": ("1100", "3200"), "HGB": {"F": ("11.5", "15.0"), "M": ("13.0", "17.5")},
        "ALT": ("7", "40"), "AST": ("13", "35"), "TBIL": ("0.20", "1.20"),
        "CREAT": {"F": ("0.50", "1.10"), "M": ("0.60", "1.20")}, "BUN": ("7.0", "20.0"),
    }),
    missing_range_share=0.0, drug_language="upper", ae_language="en",
)

CONVENTIONS = (PKUPH_CONVENTION, RJH_CONVENTION, WCH_CONVENTION)


@dataclass(frozen=True)
class Site:
    code: str
    name: str
    convention: Convention

    def registry_entry(self) -> dict[str, object]:
        c = self.convention
        entry: dict[str, object] = {"name": self.name, "encoding": c.encoding, "delimiter": c.delimiter,
                                    "decimal": c.decimal, "date_format": c.date_format}
        if c.aliases:
            entry["aliases"] = {d: dict(a) for d, a in c.aliases.items()}
        return entry

    def ext(self, domain: str) -> str:
        return "xlsx" if domain in self.convention.xlsx_domains else "csv"

    def file_name(self, domain: str, export_date: date) -> str:
        return f"{self.code}_{domain}_{export_date:%Y%m%d}.{self.ext(domain)}"


# The STUDYID of the generated cohort's ADaM datasets (../shared/spec/adam.md §1).
DEMO_STUDY_ID = "IGU-ITP-01"

CALIBRATED_SITES = (
    Site("PKUPH", "Peking University People's Hospital", PKUPH_CONVENTION),
    Site("RJH", "Ruijin Hospital, Shanghai Jiao Tong University School of Medicine", RJH_CONVENTION),
    Site("WCH", "West China Hospital, Sichuan University", WCH_CONVENTION),
)

# Drugs: generic key -> (class, English name, Chinese name or None, usual daily dose, lower, higher, unit)
@dataclass(frozen=True)
class Drug:
    key: str
    drug_class: str
    en: str
    zh: str | None
    dose: str
    lower: str | None
    higher: str | None
    unit: str

    def name(self, language: str) -> str:
        if language == "zh" and self.zh:
            return self.zh
        return self.en.upper() if language == "upper" else self.en


DRUGS = {d.key: d for d in (
    Drug("prednisone", "glucocorticoid", "Prednisone", "泼尼松", "15", "7.5", "30", "mg"),
    Drug("methylprednisolone", "glucocorticoid", "Methylprednisolone", None, "8", "4", "16", "mg"),
    Drug("dexamethasone", "glucocorticoid", "Dexamethasone", "地塞米松", "4", "2", "8", "mg"),
    Drug("rituximab", "rituximab", "Rituximab", "利妥昔单抗", "100", None, None, "mg"),
    Drug("eltrombopag", "tpo_ra", "Eltrombopag", "艾曲泊帕", "50", "25", "75", "mg"),
    Drug("avatrombopag", "tpo_ra", "Avatrombopag", None, "20", "10", "40", "mg"),
    Drug("hetrombopag", "tpo_ra", "Hetrombopag", "海曲泊帕", "5", "2.5", "7.5", "mg"),
    Drug("rhtpo", "tpo_ra", "rhTPO", "重组人血小板生成素", "15000", None, None, "U"),
    Drug("cyclosporine", "immunosuppressant", "Cyclosporine", "环孢素", "150", "100", "200", "mg"),
    Drug("ivig", "ivig", "IVIG", "静注人免疫球蛋白", "20", None, None, "g"),
    Drug("calcium", "other", "Calcium carbonate", "碳酸钙", "600", None, None, "mg"),
    Drug("omeprazole", "other", "Omeprazole", "奥美拉唑", "20", None, None, "mg"),
    Drug("warfarin", "other", "Warfarin", "华法林", "3", None, None, "mg"),
)}
DRUGS_BY_CLASS = {c: [d.key for d in DRUGS.values() if d.drug_class == c and d.key != "warfarin"]
                  for c in ("glucocorticoid", "rituximab", "tpo_ra", "immunosuppressant", "ivig", "other")}

AE_TERMS = {  # key -> (English, Chinese, usually related to iguratimod)
    "nausea": ("Nausea", "恶心", True), "rash": ("Rash", "皮疹", True),
    "uri": ("Upper respiratory tract infection", "上呼吸道感染", False),
    "abdominal_pain": ("Abdominal pain", "腹痛", True), "headache": ("Headache", "头痛", False),
    "fatigue": ("Fatigue", "乏力", False), "diarrhoea": ("Diarrhoea", "腹泻", True),
    "dizziness": ("Dizziness", "头晕", False), "pneumonia": ("Pneumonia", "肺炎", False),
}

SURNAMES = (("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"),
            ("黄", "Huang"), ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"), ("徐", "Xu"), ("孙", "Sun"),
            ("马", "Ma"), ("朱", "Zhu"), ("胡", "Hu"), ("郭", "Guo"), ("何", "He"), ("林", "Lin"),
            ("罗", "Luo"), ("梁", "Liang"))
GIVEN_NAMES = {
    "F": (("秀英", "Xiuying"), ("桂英", "Guiying"), ("秀兰", "Xiulan"), ("玉兰", "Yulan"), ("丽娟", "Lijuan"),
          ("海燕", "Haiyan"), ("晓梅", "Xiaomei"), ("淑珍", "Shuzhen"), ("婷婷", "Tingting"), ("雪梅", "Xuemei")),
    "M": (("建华", "Jianhua"), ("志强", "Zhiqiang"), ("国强", "Guoqiang"), ("建国", "Jianguo"), ("晓明", "Xiaoming"),
          ("明辉", "Minghui"), ("振宇", "Zhenyu"), ("文斌", "Wenbin"), ("海涛", "Haitao"), ("永刚", "Yonggang")),
}


# ============================================================================ plans

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


# ============================================================================ rows

@dataclass
class Row:
    """One export row in the site's own units. Numbers are '.'-decimal text or int; the writer
    applies the site's decimal separator, date format and headers."""
    domain: str
    values: dict[str, object]
    known: date                        # first export date holding it (the event date)
    until: date | None = None          # last export date holding it (then deleted or corrected)
    raw: dict[str, str] | None = None  # cells written verbatim (planted bad values)
    bad: bool = False                  # a row the load must quarantine: not in the clean data
    plant: tuple[str, str] | None = None  # (planted item id, role) logged with file and row

    def visible(self, export_date: date) -> bool:
        return self.known <= export_date and (self.until is None or export_date <= self.until)


# Dates that are not yet known at an earlier export: the period was still ongoing then.
OPEN_ENDED = {"dosing": "end_date", "conmeds": "end_date", "adverse_events": "resolution_date"}


@cache
def unit_conversion(test_code: str, unit: str) -> tuple[float, str]:
    """(factor to the canonical unit, stored test code) of a test and unit as a site writes them."""
    u = resolve_unit(test_code, unit)
    return u.factor, u.stored_test_code


def unit_factor(test_code: str, unit: str) -> float:
    return unit_conversion(test_code, unit)[0]


def site_number(value: float, decimals: int, factor: float, exact: bool) -> str:
    """`value` (canonical) in the site's unit, as '.'-decimal text. For counts the text is
    nudged until text x factor is exactly the decimal it denotes, so a /uL count converts to
    the very number the oracle uses, whatever the reader's arithmetic."""
    x = round(value / factor, decimals)
    step = 10.0 ** -decimals
    for _ in range(50):
        text = f"{x:.{max(decimals, 0)}f}"
        if not exact or float(text) * factor == float(Decimal(text) * Decimal(repr(factor))):
            return text
        x += step
    raise RuntimeError(f"no exact site value near {value}")


@dataclass(frozen=True)
class LabProfile:
    """One subject's usual values of the safety labs (canonical units)."""
    hgb: float
    wbc: float
    alt: float
    ast: float
    tbil: float
    creat: float
    urea: float

    @classmethod
    def draw(cls, rng: random.Random, sex: str) -> LabProfile:
        anemic = rng.random() < 0.2
        hgb = rng.uniform(97, 111) if anemic else (rng.uniform(120, 145) if sex == "F" else rng.uniform(135, 160))
        creat = rng.uniform(48, 75) if sex == "F" else rng.uniform(60, 98)
        tbil = rng.uniform(22, 27) if rng.random() < 0.06 else rng.uniform(6, 17)
        return cls(hgb, rng.uniform(3.6, 8.5), rng.uniform(10, 30), rng.uniform(14, 27), tbil, creat,
                   rng.uniform(3.2, 6.8))


def lab_values(rng: random.Random, profile: LabProfile, chemistry: bool) -> dict[str, float]:
    """One sample's canonical values. ALT/AST stay below every ULN in use and LYMPH above every
    LLN (§9: no elevated transaminases, no lymphocytopenia); NEUT + LYMPH stay below WBC."""
    wbc = profile.wbc * rng.uniform(0.9, 1.1)
    lymph = max(1.2, wbc * rng.uniform(0.22, 0.34))
    neut = min(wbc * rng.uniform(0.5, 0.62), wbc - lymph - 0.15)
    out = {"WBC": wbc, "NEUT": neut, "LYMPH": lymph, "HGB": profile.hgb * rng.uniform(0.96, 1.04)}
    if chemistry:
        out.update(ALT=min(37.0, profile.alt * rng.uniform(0.85, 1.15)),
                   AST=min(33.0, profile.ast * rng.uniform(0.85, 1.15)),
                   TBIL=profile.tbil * rng.uniform(0.9, 1.1), CREAT=profile.creat * rng.uniform(0.94, 1.06),
                   UREA=profile.urea * rng.uniform(0.9, 1.1))
    return out


def lab_row(plan: SubjectPlan, rng: random.Random, d: date, test: str, canonical: float) -> Row:
    conv = plan.site.convention
    code = conv.urea_code if test == "UREA" else test
    unit = conv.units[code]
    factor = unit_factor(code, unit)
    exact = test in COUNT_TESTS
    value = site_number(canonical, conv.decimals[code], factor, exact)
    low = high = None
    if rng.random() >= conv.missing_range_share:
        low, high = conv.ranges[code][plan.sex]
    if conv.kind == "RJH" and test == "TBIL" and rng.random() < 0.03:
        value = "<3.4"   # below the assay's limit: the qualifier is kept beside the number
    return Row("labs", {"site_id": plan.site.code, "subject_id": plan.subject_id, "sample_date": d,
                        "test_code": code, "value": value, "unit": unit, "ref_low": low, "ref_high": high}, d)


def plan_rows(plan: SubjectPlan) -> dict[str, list[Row]]:
    """The subject's rows of every domain, each with the first export that knows it."""
    conv = plan.site.convention
    site, sid = plan.site.code, plan.subject_id
    ident = identity(random.Random(plan.seed + ":id"), plan.sex)
    rows: dict[str, list[Row]] = {d: [] for d in DOMAINS}
    rows["subjects"].append(Row("subjects", {
        "site_id": site, "subject_id": sid, "sex": plan.sex, "birth_year": plan.birth_year,
        "diagnosis_date": plan.diagnosis_date, "enrollment_date": plan.enrollment_date,
        "patient_name": ident["name_zh"] if conv.kind == "PKUPH" else ident["name_en"],
        "phone": ident["phone"], "record_no": ident["record_no"]}, plan.enrollment_date))
    for start, end, mg, per_day in plan.dosing:
        rows["dosing"].append(Row("dosing", {
            "site_id": site, "subject_id": sid, "start_date": plan.date_of(start),
            "end_date": None if end is None else plan.date_of(end), "dose_mg": mg, "doses_per_day": per_day},
            plan.date_of(start)))
    rng = random.Random(plan.seed + ":labs")
    profile = LabProfile.draw(rng, plan.sex)
    for day in sorted(plan.plt):
        d = plan.date_of(day)
        rows["labs"].append(lab_row(plan, rng, d, "PLT", plan.plt[day]))
        for test, value in lab_values(rng, profile, day in plan.chemistry_days).items():
            rows["labs"].append(lab_row(plan, rng, d, test, value))
    for day in sorted(plan.bleeding):
        d = plan.date_of(day)
        rows["bleeding"].append(Row("bleeding", {"site_id": site, "subject_id": sid, "assessment_date": d,
                                                 "who_grade": plan.bleeding[day]}, d))
    for p in sorted(plan.conmeds, key=lambda p: (p.start, p.drug)):
        drug = DRUGS[p.drug]
        start = plan.date_of(p.start)
        rows["conmeds"].append(Row("conmeds", {
            "site_id": site, "subject_id": sid, "drug_name": drug.name(conv.drug_language),
            "drug_class": drug.drug_class, "start_date": start,
            "end_date": None if p.end is None else plan.date_of(p.end), "daily_dose": p.dose,
            "dose_unit": drug.unit}, start))
    for ae in sorted(plan.aes, key=lambda a: (a.onset, a.term)):
        en, zh, _ = AE_TERMS[ae.term]
        onset = plan.date_of(ae.onset)
        rows["adverse_events"].append(Row("adverse_events", {
            "site_id": site, "subject_id": sid, "ae_term": zh if conv.ae_language == "zh" else en,
            "onset_date": onset, "resolution_date": None if ae.resolution is None else plan.date_of(ae.resolution),
            "ctcae_grade": ae.grade, "serious": "Y" if ae.serious else "N",
            "related": None if ae.related is None else ("Y" if ae.related else "N")}, onset))
    for status, day, reason in plan.status:
        d = plan.date_of(day)
        comment = {"withdrawn": "patient relocated, follow-up elsewhere" if reason == "epidemic" else "",
                   "completed": "12-month course completed"}.get(status, "")
        rows["disposition"].append(Row("disposition", {
            "site_id": site, "subject_id": sid, "status": status, "status_date": d, "reason": reason,
            "comment": comment}, d))
    for domain_rows in rows.values():   # history taken at enrollment (conmeds) is known from then
        for row in domain_rows:
            row.known = max(row.known, plan.enrollment_date)
    return rows


# ============================================================================ plants

@dataclass
class PlantLog:
    """planted.json: what was planted where, with the file and row of every occurrence."""
    items: dict[str, dict[str, object]] = field(default_factory=dict)

    def add(self, item_id: str, **info: object) -> str:
        self.items[item_id] = {"id": item_id, **info}
        return item_id

    def seen(self, item_id: str, role: str, file: str, row: int) -> None:
        self.items[item_id].setdefault(f"{role}_in", []).append({"file": file, "row": row})

    def written(self) -> list[dict[str, object]]:
        """Only what actually reached a file (a final-only cohort has no corrections)."""
        return [i for i in self.items.values() if any(k.endswith("_in") for k in i)]


@dataclass
class Planter:
    """Plants, once per site, the situations a load must handle (site-exports.md §1-§2), on the
    first ordinary subject that can carry each of them without changing any endpoint."""
    site: Site
    calendar: list[date]                       # every month-end export of the history
    log: PlantLog
    done: set[str] = field(default_factory=set)

    def _id(self, kind: str) -> str:
        return f"{self.site.code}:{kind}"

    def apply(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> None:
        if plan.case or not plan.treated or plan.status[-1][0] != "on_treatment":
            return
        if plan.anchor > self.calendar[0] - timedelta(days=20):
            return
        kind = self.site.convention.kind
        planters = {"PKUPH": (self.plt_typo, self.deleted_lab_row, self.invalid_date, self.unknown_unit),
                    "RJH": (self.implausible_hgb, self.deleted_ae, self.text_date_cell),
                    "WCH": (self.non_numeric_then_fixed, self.hemolysed)}[kind]
        for planter in planters:
            name = planter.__name__
            if name not in self.done and planter(plan, rows):
                self.done.add(name)

    # --- PKUPH ---------------------------------------------------------------------------
    def plt_typo(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> bool:
        """Correction: a PLT typed ten times too high, fixed in the final export."""
        if len(self.calendar) < 2:
            return False
        for row in rows["labs"]:
            v = row.values
            if (v["test_code"] == "PLT" and plan.anchor < v["sample_date"] <= self.calendar[0]
                    and int(v["value"]) <= 150):
                item = self.log.add(self._id("correction"), kind="correction", site=self.site.code, domain="labs",
                                    subject_id=plan.subject_id, test_code="PLT",
                                    sample_date=v["sample_date"].isoformat(), column="value",
                                    before=str(int(v["value"]) * 10), after=v["value"],
                                    note="a PLT typo (x10) in earlier exports, corrected in the final one")
                typo = Row("labs", {**v, "value": str(int(v["value"]) * 10)}, row.known, until=self.calendar[-2],
                           plant=(item, "before"))
                row.known, row.plant = self.calendar[-1], (item, "after")
                rows["labs"].insert(rows["labs"].index(row), typo)
                return True
        return False

    def deleted_lab_row(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> bool:
        """Deletion: a PLT entered on a wrong date, removed by the site in the final export."""
        if len(self.calendar) < 2:
            return False
        dates = {r.values["sample_date"] for r in rows["labs"]}
        for row in rows["labs"]:
            d = row.values["sample_date"] + timedelta(days=2)
            if (row.values["test_code"] == "PLT" and plan.anchor < d <= self.calendar[0] and d not in dates):
                item = self.log.add(self._id("deletion"), kind="deletion", site=self.site.code, domain="labs",
                                    subject_id=plan.subject_id, test_code="PLT", sample_date=d.isoformat(),
                                    note="present up to the previous export, deleted at the site in the final one")
                rows["labs"].append(Row("labs", {**row.values, "sample_date": d}, d, until=self.calendar[-2],
                                        plant=(item, "deleted")))
                return True
        return False

    def _extra_lab(self, plan: SubjectPlan, rows: dict[str, list[Row]], test: str, when: date, kind: str,
                   check: str, reason: str, known: date | None = None, value: str | None = None,
                   **cells: str) -> bool:
        """A bad lab row on a test and date the subject has no other result for, and of a test
        it has other results of: quarantining it changes no endpoint. `cells` are written
        verbatim; `value` is written as the site writes numbers."""
        taken = {(r.values["test_code"], r.values["sample_date"]) for r in rows["labs"]}
        template = next((r for r in rows["labs"] if r.values["test_code"] == test), None)
        if template is None or (test, when) in taken or when <= plan.anchor:
            return False
        item = self.log.add(self._id(kind), kind="bad_row", site=self.site.code, domain="labs",
                            subject_id=plan.subject_id, test_code=test, expected_check=check, reason=reason,
                            cells={**cells, **({"value": value} if value else {})})
        values = {**template.values, "sample_date": when, **({"value": value} if value else {})}
        rows["labs"].append(Row("labs", values, known or when, raw=dict(cells) or None, bad=True,
                                plant=(item, "bad")))
        return True

    def invalid_date(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> bool:
        return self._extra_lab(plan, rows, "ALT", self.calendar[0] - timedelta(days=3), "invalid_date", "parse.date",
                               "sample_date 31.02.2021 is not a calendar date", known=self.calendar[0],
                               sample_date="31.02.2021")

    def unknown_unit(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> bool:
        when = self.calendar[max(0, len(self.calendar) - 3)] - timedelta(days=4)
        return self._extra_lab(plan, rows, "TBIL", when, "unknown_unit", "unit.unknown",
                               "TBIL in mg/L is not an accepted unit", unit="mg/L")

    # --- RJH -----------------------------------------------------------------------------
    def implausible_hgb(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> bool:
        return self._extra_lab(plan, rows, "HGB", self.calendar[-1] - timedelta(days=6), "implausible_value",
                               "gx.plausibility", "HGB 900 g/L is outside the plausibility limits", value="900")

    def deleted_ae(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> bool:
        """Deletion: an AE entered for the wrong subject, removed after a few exports."""
        if len(self.calendar) < 2:
            return False
        onset = self.calendar[0] - timedelta(days=10)
        if onset <= plan.anchor or any(r.values["onset_date"] == onset for r in rows["adverse_events"]):
            return False
        until = self.calendar[min(2, len(self.calendar) - 2)]
        item = self.log.add(self._id("deletion"), kind="deletion", site=self.site.code, domain="adverse_events",
                            subject_id=plan.subject_id, ae_term="Headache", onset_date=onset.isoformat(),
                            note=f"present up to the export of {until.isoformat()}, deleted afterwards")
        rows["adverse_events"].append(Row("adverse_events", {
            "site_id": self.site.code, "subject_id": plan.subject_id, "ae_term": "Headache", "onset_date": onset,
            "resolution_date": onset + timedelta(days=2), "ctcae_grade": 1, "serious": "N", "related": "N"},
            onset, until=until, plant=(item, "deleted")))
        return True

    def text_date_cell(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> bool:
        """Valid, not bad: an xlsx date typed as text in the site's date format (§2)."""
        if "labs" not in self.site.convention.xlsx_domains:
            return False
        for row in rows["labs"]:
            if row.values["test_code"] == "ALT" and row.values["sample_date"] > plan.anchor:
                text = row.values["sample_date"].strftime(self.site.convention.date_format)
                item = self.log.add(self._id("text_date"), kind="xlsx_text_date", site=self.site.code,
                                    domain="labs", subject_id=plan.subject_id, test_code="ALT", cell=text,
                                    note="a text cell in the site's date format: must load like a date cell")
                row.raw, row.plant = {"sample_date": text}, (item, "valid")
                return True
        return False

    # --- WCH -----------------------------------------------------------------------------
    def hemolysed(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> bool:
        return self._extra_lab(plan, rows, "AST", self.calendar[-1] - timedelta(days=2), "non_numeric_value",
                               "parse.number", "AST value 'hemolysed' is not a number", value="hemolysed")

    def non_numeric_then_fixed(self, plan: SubjectPlan, rows: dict[str, list[Row]]) -> bool:
        """A PLT with a letter O for a zero in one export, fixed in the next: its site query
        opens, then resolves."""
        if len(self.calendar) < 3:
            return False
        for row in rows["labs"]:
            v = row.values
            if v["test_code"] == "PLT" and self.calendar[0] < v["sample_date"] <= self.calendar[1]:
                typo = v["value"].replace("0", "O", 1)
                item = self.log.add(self._id("fixed_bad_row"), kind="bad_row_fixed_later", site=self.site.code,
                                    domain="labs", subject_id=plan.subject_id, test_code="PLT",
                                    sample_date=v["sample_date"].isoformat(), expected_check="parse.number",
                                    before=typo, after=v["value"],
                                    note="non-numeric in one export, corrected in the next")
                rows["labs"].insert(rows["labs"].index(row), Row(
                    "labs", dict(v), row.known, until=self.calendar[1], raw={"value": typo}, bad=True,
                    plant=(item, "bad")))
                row.known, row.plant = self.calendar[2], (item, "after")
                return True
        return False


# ============================================================================ writers

def header_text(conv: Convention, domain: str, key: str) -> str:
    alias = conv.aliases.get(domain, {}).get(key)
    if alias:
        return alias
    extra = dict(conv.extra_columns.get(domain, ()))
    text = extra.get(key, key)
    if conv.header_case == "upper":
        return text.upper()
    if conv.header_case == "title":
        return text.title()
    return text


def column_keys(conv: Convention, domain: str) -> list[str]:
    """Spec columns plus the site's extra columns (right after subject_id); WCH puts
    subject_id first, so readers must match by header, not position."""
    keys = list(DOMAINS[domain].spec_columns)
    if conv.kind == "WCH":
        keys[0], keys[1] = keys[1], keys[0]
    at = keys.index("subject_id") + 1
    return keys[:at] + [k for k, _ in conv.extra_columns.get(domain, ())] + keys[at:]


def _kind(domain: str, key: str) -> str | None:
    d = DOMAINS[domain]
    return d.column(key).kind if key in d.spec_columns else None


class CsvExport:
    def __init__(self, path: Path, conv: Convention, header: list[str]):
        self.path = path
        self._fh = open(path, "w", encoding=conv.file_encoding, newline="")
        self._writer = csv.writer(self._fh, delimiter=conv.delimiter, lineterminator="\r\n")
        self._writer.writerow(header)
        self.rows = 1

    def append(self, cells: list[object]) -> int:
        self._writer.writerow(cells)
        self.rows += 1
        return self.rows

    def close(self) -> None:
        self._fh.close()


class XlsxExport:
    """A minimal SpreadsheetML workbook streamed straight into its zip entry: openpyxl's writer
    (without lxml) manages ~5k rows/s and stamps the current time into the package, this one
    writes ~10x faster and gives equal bytes for equal input. Dates are real date cells
    (serial number + a yyyy-mm-dd style); a second sheet holds a legend, because the contract
    reads the first sheet only."""

    def __init__(self, path: Path, header: list[str], domain: str, export_date: date):
        self.path, self.domain = path, domain
        self._stamp = export_date.timetuple()[:6]
        self._zip = ZipFile(path, "w", ZIP_DEFLATED)
        self._sheet = self._zip.open(self._info("xl/worksheets/sheet1.xml"), "w")
        self._put(XLSX_SHEET_HEAD)
        self.rows = 0
        self.append(header)

    def _info(self, name: str) -> ZipInfo:
        info = ZipInfo(name, date_time=self._stamp)
        info.compress_type = ZIP_DEFLATED
        return info

    def _put(self, text: str) -> None:
        self._sheet.write(text.encode("utf-8"))

    def append(self, cells: list[object]) -> int:
        self.rows += 1
        n = self.rows
        parts = [f'<row r="{n}">']
        for i, value in enumerate(cells):
            if value is None:
                continue
            ref = f"{_column_letter(i)}{n}"
            if isinstance(value, bool) or isinstance(value, str):
                parts.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{_xml(str(value))}</t></is></c>')
            elif isinstance(value, date):
                parts.append(f'<c r="{ref}" s="1"><v>{(value - EXCEL_EPOCH).days}</v></c>')
            else:
                parts.append(f'<c r="{ref}"><v>{value!r}</v></c>')
        parts.append("</row>")
        self._put("".join(parts))
        return n

    def close(self) -> None:
        self._put("</sheetData></worksheet>")
        self._sheet.close()
        legend = "This workbook is an export of the iguratimod ITP study; the data are on the first sheet."
        parts = {
            "xl/worksheets/sheet2.xml": XLSX_SHEET_HEAD + f'<row r="1"><c r="A1" t="inlineStr"><is><t>{legend}</t>'
                                        "</is></c></row></sheetData></worksheet>",
            "[Content_Types].xml": XLSX_CONTENT_TYPES, "_rels/.rels": XLSX_ROOT_RELS,
            "xl/workbook.xml": XLSX_WORKBOOK.format(sheet=self.domain),
            "xl/_rels/workbook.xml.rels": XLSX_WORKBOOK_RELS, "xl/styles.xml": XLSX_STYLES,
            "docProps/core.xml": XLSX_CORE.format(stamp=datetime(*self._stamp).strftime("%Y-%m-%dT%H:%M:%SZ")),
        }
        for name, text in parts.items():
            self._zip.writestr(self._info(name), text.encode("utf-8"))
        self._zip.close()


EXCEL_EPOCH = date(1899, 12, 30)
_XML_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
XLSX_SHEET_HEAD = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_XML_NS}"><sheetData>'
XLSX_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/worksheets/sheet2.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    "</Types>")
XLSX_ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
    'core-properties" Target="docProps/core.xml"/></Relationships>')
XLSX_WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_XML_NS}" xmlns:r="{_REL_NS}">'
    '<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/><sheet name="Legend" sheetId="2" r:id="rId2"/>'
    "</sheets></workbook>")
XLSX_WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL_NS}/worksheet" Target="worksheets/sheet2.xml"/>'
    f'<Relationship Id="rId3" Type="{_REL_NS}/styles" Target="styles.xml"/></Relationships>')
XLSX_STYLES = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_XML_NS}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '</fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
XLSX_CORE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cp:coreProperties '
    'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>itp-warehouse demo generator</dc:creator>'
    '<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
    '<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>')


@cache
def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SiteExports:
    """The open export files of one site: one per (domain, export date). Each row is written
    to every snapshot it belongs to, formatted for that snapshot."""

    def __init__(self, inbox: Path, site: Site, export_dates: list[date], log: PlantLog):
        self.site, self.dates, self.log = site, export_dates, log
        self.folder = inbox / site.code
        self.folder.mkdir(parents=True, exist_ok=True)
        conv = site.convention
        self.keys = {d: column_keys(conv, d) for d in DOMAINS}
        self.numeric = {d: {k for k in self.keys[d] if _kind(d, k) in (NUMBER, INTEGER)} for d in DOMAINS}
        self.files: dict[tuple[str, date], CsvExport | XlsxExport] = {}
        self.rows_written: Counter[str] = Counter()
        for domain in DOMAINS:
            header = [header_text(conv, domain, k) for k in self.keys[domain]]
            if conv.kind == "RJH" and domain == "labs":
                header[self.keys[domain].index("value")] = "Value "   # surrounding space: still a match
            for e in export_dates:
                path = self.folder / site.file_name(domain, e)
                self.files[(domain, e)] = (XlsxExport(path, header, domain, e) if site.ext(domain) == "xlsx"
                                           else CsvExport(path, conv, header))

    def write(self, row: Row) -> None:
        xlsx = self.site.ext(row.domain) == "xlsx"
        for e in self.dates:
            if not row.visible(e):
                continue
            cells = self._cells(row, e, xlsx)
            number = self.files[(row.domain, e)].append(cells)
            self.rows_written[row.domain] += 1
            if row.plant:
                self.log.seen(*row.plant, f"{self.site.code}/{self.site.file_name(row.domain, e)}", number)

    def _cells(self, row: Row, export_date: date, xlsx: bool) -> list[object]:
        conv = self.site.convention
        open_col = OPEN_ENDED.get(row.domain)
        numeric = self.numeric[row.domain]
        out: list[object] = []
        for key in self.keys[row.domain]:
            value = row.values.get(key)
            if key == open_col and value is not None and value > export_date:
                value = None
            if row.raw and key in row.raw:
                out.append(row.raw[key])
            elif value is None or value == "":
                out.append(None if xlsx else conv.missing)
            elif isinstance(value, date):
                out.append(value if xlsx else _date_text(value, conv.date_format))
            elif key in numeric:
                out.append(_xlsx_number(value) if xlsx else str(value).replace(".", conv.decimal))
            else:
                out.append(value)
        return out

    def close(self) -> list[Path]:
        for f in self.files.values():
            f.close()
        return [f.path for f in self.files.values()]


@lru_cache(maxsize=4096)
def _date_text(value: date, date_format: str) -> str:
    return value.strftime(date_format)


def _xlsx_number(value: object) -> object:
    if isinstance(value, int):
        return value
    text = str(value)
    try:
        number = float(text)
    except ValueError:
        return text                       # "<3.4": a qualified value stays text
    return int(number) if number.is_integer() and "." not in text else number


# ============================================================================ oracle

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


# ============================================================================ generate

@dataclass(frozen=True)
class GeneratedCohort:
    inbox: Path          # HOME/inbox (site exports, sub-folders allowed)
    sites_file: Path     # HOME/sites.yaml (site registry, spec §4)
    truth_file: Path     # HOME/truth/subjects.csv (what was planted, per subject)
    cutoff: date         # latest export date written
    planted_file: Path | None = None   # HOME/truth/planted.json
    figures_file: Path | None = None   # HOME/truth/endpoint_summary.csv (oracle figures)
    rows_written: int = 0


def export_calendar(cutoff: date, months: int) -> list[date]:
    """Month-end export dates, the last being the cutoff."""
    out = [cutoff]
    while len(out) < months:
        out.append(out[-1].replace(day=1) - timedelta(days=1))
    return sorted(out)


def written_dates(calendar: list[date], snapshots: str) -> list[date]:
    if snapshots not in SNAPSHOT_MODES:
        raise ValueError(f"snapshots must be one of {', '.join(SNAPSHOT_MODES)}, not {snapshots!r}")
    return {"monthly": calendar, "final": calendar[-1:], "delta": calendar[-2:]}[snapshots]


def generate_cohort(home: Path, *, seed: int = 20240611, subjects: int | None = None, months: int | None = None,
                    snapshots: str = "monthly") -> GeneratedCohort:
    """Write the demo cohort under `home`: inbox/<SITE>/<SITE>_<domain>_<YYYYMMDD>.<ext>, a
    resend under inbox/resend/, sites.yaml and truth/ (subjects.csv, planted.json,
    endpoint_summary.csv). Without `subjects` and `months` it is the calibrated cohort of
    endpoints.md §9; with either, a scaled cohort of the same shapes.

    `snapshots`: "monthly" = a cumulative snapshot at each of the last EXPORT_HISTORY_MONTHS
    month ends; "final" = the cutoff snapshot only; "delta" = the cutoff and the month before
    (a nightly-delta benchmark loads the first, then the second).

    Files are overwritten in place; other files already in the inbox are left alone."""
    home = Path(home)
    r = Rules.load()
    calibrated = subjects is None and months is None
    cutoff = CUTOFF
    n_months = months or DEFAULT_SCALED_MONTHS
    calendar = export_calendar(cutoff, min(EXPORT_HISTORY_MONTHS, n_months))
    dates = written_dates(calendar, snapshots)
    inbox, truth_dir = home / "inbox", home / "truth"
    inbox.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)

    if calibrated:
        sites = list(CALIBRATED_SITES)
        all_plans = calibrated_plans(seed, r, cutoff)
        plans_of = lambda s: [p for p in all_plans if p.site.code == s.code]  # noqa: E731
    else:
        n = subjects or DEFAULT_SCALED_SUBJECTS
        sites = scaled_sites(n)
        per_site = {s.code: n // len(sites) + (1 if i < n % len(sites) else 0) for i, s in enumerate(sites)}
        plans_of = lambda s: scaled_plans(seed, r, s, per_site[s.code], n_months, cutoff)  # noqa: E731

    sites_file = home / "sites.yaml"
    registry = {"study_id": DEMO_STUDY_ID, "sites": {s.code: s.registry_entry() for s in sites}}
    sites_file.write_text(yaml.safe_dump(registry, allow_unicode=True, sort_keys=False), encoding="utf-8")
    log = PlantLog()
    figures = Figures(r)
    identifiers: list[dict[str, object]] = []
    truth_file = truth_dir / "subjects.csv"
    total = 0
    with open(truth_file, "w", encoding="utf-8", newline="") as fh:
        truth = csv.writer(fh, lineterminator="\n")
        truth.writerow(TRUTH_COLUMNS)
        for site in sites:
            exports = SiteExports(inbox, site, dates, log)
            planter = Planter(site, calendar, log)
            samples: list[dict[str, str]] = []
            for plan in plans_of(site):
                rows = plan_rows(plan)
                planter.apply(plan, rows)
                for domain in DOMAINS:
                    for row in rows[domain]:
                        exports.write(row)
                outcome = oracle(r, SubjectData.from_rows(site.code, plan.subject_id, rows, cutoff), cutoff, plan.case)
                truth.writerow([truth_cell(outcome.truth[c]) for c in TRUTH_COLUMNS])
                figures.add(outcome)
                if len(samples) < 20:
                    v = rows["subjects"][0].values
                    samples.append({k: str(v[k]) for k, _ in site.convention.extra_columns.get("subjects", ())})
            exports.close()
            total += sum(exports.rows_written.values())
            extra = site.convention.extra_columns.get("subjects", ())
            if extra:
                identifiers.append({
                    "kind": "identifier_columns", "site": site.code,
                    "files": [f"{site.code}/{site.file_name('subjects', e)}" for e in dates],
                    "columns": [header_text(site.convention, "subjects", k) for k, _ in extra],
                    "values": samples})

    resend = plant_resend(inbox, sites[0], dates)
    figures_file = truth_dir / "endpoint_summary.csv"
    with open(figures_file, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("endpoint", "timepoint", "n", "denominator", "pct"))
        w.writerows(figures.rows())
    planted = {
        "cutoff": cutoff.isoformat(), "seed": seed, "calibrated": calibrated, "snapshots": snapshots,
        "export_dates": [d.isoformat() for d in dates],
        "items": identifiers + [resend] + log.written(),
    }
    planted_file = truth_dir / "planted.json"
    planted_file.write_text(json.dumps(planted, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    if calibrated:
        check_calibration(figures, r)
    return GeneratedCohort(inbox, sites_file, truth_file, dates[-1], planted_file, figures_file, total)


def plant_resend(inbox: Path, site: Site, dates: list[date]) -> dict[str, object]:
    """The same bytes again under another path: a no-op for the load (site-exports.md §1)."""
    export = dates[-2] if len(dates) > 1 else dates[-1]
    name = site.file_name("labs", export)
    target = inbox / "resend" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(inbox / site.code / name, target)
    return {"id": f"{site.code}:resend", "kind": "resend", "site": site.code,
            "original": f"{site.code}/{name}", "copy": f"resend/{name}"}


def check_calibration(figures: Figures, r: Rules, cal: Calibration = Calibration()) -> None:
    """The calibrated cohort must give §9's figures; anything else is a generator bug."""
    expected = {("treated", "all"): (cal.treated, cal.treated),
                ("exposure_ge_3m", "all"): (cal.treated, cal.treated),
                ("exposure_gt_6m", "all"): (cal.exposure_gt_6m, cal.treated),
                ("exposure_ge_12m", "all"): (cal.exposure_ge_12m, cal.treated),
                ("withdrawn", "all"): (cal.withdrawn, cal.treated),
                ("withdrawn", "no_response"): (cal.withdrawn_no_response, cal.treated),
                ("withdrawn", "adverse_event"): (0, cal.treated),
                ("conmed_baseline", "all"): (cal.conmed_users, cal.treated),
                ("conmed_reduced", "month_3_to_6"): (cal.conmed_reduced, cal.conmed_users)}
    for w, n, any_ in cal.bleeding_assessed:
        expected[("bleeding_any", "baseline" if w == 0 else f"month_{w}")] = (any_, n)
    wrong = {k: (figures.get(*k), v) for k, v in expected.items() if figures.get(*k) != v}
    n0, d0 = figures.get("bleeding_any", "baseline")
    for k in range(1, r.report_months + 1):
        n, d = figures.get("bleeding_any", f"month_{k}")
        if d and n * d0 >= n0 * d:
            wrong[("bleeding_any", f"month_{k}")] = ((n, d), "below baseline share")
    if wrong:
        raise RuntimeError(f"calibrated cohort misses endpoints.md §9: {wrong}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sources.generator", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="HOME folder to write inbox/, sites.yaml, truth/")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--subjects", type=int, default=None, help="scaled cohort of N subjects")
    parser.add_argument("--months", type=int, default=None, help="scaled cohort over M months of enrollment")
    parser.add_argument("--snapshots", choices=SNAPSHOT_MODES, default="monthly")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    cohort = generate_cohort(args.out, seed=args.seed, subjects=args.subjects, months=args.months,
                             snapshots=args.snapshots)
    elapsed = time.perf_counter() - t0
    files = sum(1 for p in cohort.inbox.rglob("*") if p.is_file())
    print(f"{files} files, {cohort.rows_written} rows in {elapsed:.1f} s "
          f"({cohort.rows_written / elapsed:,.0f} rows/s); cutoff {cohort.cutoff}; inbox {cohort.inbox}; "
          f"truth {cohort.truth_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
