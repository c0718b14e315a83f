"""Hand-made cohort for the dbt tests. Each subject exists to exercise one rule of
endpoints.md; the expected values in the tests are computed by hand from these rows.

Dates are written in study days of the subject's Day 1 (no day 0), as the spec reasons."""
from __future__ import annotations

from datetime import date, timedelta

from tests.dbt.warehouse import ExportFile

CUTOFF = date(2022, 6, 30)
STUDY_ID = "TEST-ITP-01"
TST_DAY1 = date(2021, 3, 1)
ABC_DAY1 = date(2021, 4, 1)
EXPORTED = date(2022, 6, 30)
OLD_EXPORT = date(2021, 3, 31)


def day(n: int, day1: date = TST_DAY1) -> date:
    """The date of study day n (n != 0)."""
    assert n != 0, "there is no study day 0"
    return day1 + timedelta(days=n - 1 if n > 0 else n)


def plt(subject: str, n: int, value: float, day1: date = TST_DAY1) -> dict:
    return {"subject_id": subject, "sample_date": day(n, day1), "test_code": "PLT",
            "original_test_code": "PLT", "value": value, "unit": "10^9/L",
            "original_value": str(value), "original_unit": "10^9/L", "conversion_factor": 1.0,
            "ref_low": 125.0, "ref_high": 350.0}


def lab(subject: str, n: int, test: str, value: float, unit: str, ref: tuple[float, float] | None,
        qualifier: str | None = None) -> dict:
    return {"subject_id": subject, "sample_date": day(n), "test_code": test, "original_test_code": test,
            "value": value, "value_qualifier": qualifier, "unit": unit,
            "original_value": f"{qualifier or ''}{value}", "original_unit": unit, "conversion_factor": 1.0,
            "ref_low": ref[0] if ref else None, "ref_high": ref[1] if ref else None}


def dosing(subject: str, start: date, end: date | None) -> dict:
    return {"subject_id": subject, "start_date": start, "end_date": end, "dose_mg": 25.0, "doses_per_day": 2}


def conmed(subject: str, name: str, drug_class: str, dose: float, start: date, end: date | None) -> dict:
    return {"subject_id": subject, "drug_name": name, "drug_class": drug_class, "start_date": start,
            "end_date": end, "daily_dose": dose, "dose_unit": "mg"}


def subject(subject_id: str, sex: str = "F", birth_year: int = 1980) -> dict:
    return {"subject_id": subject_id, "sex": sex, "birth_year": birth_year,
            "diagnosis_date": date(2019, 5, 1), "enrollment_date": date(2021, 2, 1)}


TST_SUBJECTS = [f"S{i:02d}" for i in range(1, 13)]   # S13 is deliberately missing (an orphan)
ORPHAN = "S13"

TST_FILES = [
    ExportFile("TST", "subjects", EXPORTED, [subject(s) for s in TST_SUBJECTS]),
    ExportFile("TST", "dosing", EXPORTED, [
        dosing("S01", day(1), day(90)),      # exposure exactly 90 days: >= 3 months
        dosing("S02", day(1), day(89)),      # 89 days: not >= 3 months
        dosing("S03", day(1), day(180)),     # exactly 180: not > 6 months
        dosing("S04", day(1), day(181)),     # 181: > 6 months
        dosing("S05", day(1), day(20)),      # two periods; the last ends on day 360
        dosing("S05", day(21), day(360)),    # exactly 360: >= 12 months
        *[dosing(s, day(1), None) for s in ("S06", "S07", "S08", "S09", "S10", "S12", ORPHAN)],
        dosing("S11", date(2022, 7, 15), None),   # Day 1 after the cutoff: not treated
    ]),
    ExportFile("TST", "labs", EXPORTED, [
        # S01 CR on day 8, confirmed by day 15 (exactly 7 days later).
        plt("S01", -4, 20), plt("S01", 8, 120), plt("S01", 15, 110),
        # S02 R at exactly 2-fold (40 = 2 x 20) on day 10; the Day-1 sample is baseline.
        plt("S02", 1, 20), plt("S02", 10, 40),
        # S03 NR: bleeding on day 15 is 7 days after day 8 and 5 after day 10; day 23 is 8 days
        # away and CR (month 1, not the Day-14 window).
        plt("S03", -10, 20), plt("S03", 8, 150), plt("S03", 10, 150), plt("S03", 23, 150),
        # S04 NE: no baseline sample.
        plt("S04", 5, 150),
        # S05 R on day 5, confirmed day 12; NR on 20, 21 (1 day apart: no loss yet) and 25:
        # loss at day 21 (the first of two NR samples more than 1 day apart).
        plt("S05", -5, 10), plt("S05", 5, 50), plt("S05", 12, 60), plt("S05", 20, 15),
        plt("S05", 21, 15), plt("S05", 25, 12),
        # S06 no sample on days 2..14 (NE initially); CR day 41, R day 71, NR day 101: a single
        # NR is no loss, censored at day 101.
        plt("S06", -4, 25), plt("S06", 41, 110), plt("S06", 71, 90), plt("S06", 101, 20),
        # S10 lab safety: ALT exactly 3.0 x ULN (grade 1), AST 150 > 3 x 35 (grade 2) the same
        # day, ALT 121 (grade 2), NEUT "<0.9" (grade 3), HGB 99.9 without a site range (grade 2
        # against the study default 115-175, flag L).
        lab("S10", -1, "ALT", 30, "U/L", (7, 40)),
        lab("S10", 20, "ALT", 120, "U/L", (7, 40)),
        lab("S10", 20, "AST", 150, "U/L", (13, 35)),
        lab("S10", 30, "ALT", 121, "U/L", (7, 40)),
        lab("S10", 40, "NEUT", 0.9, "10^9/L", (1.8, 6.3), qualifier="<"),
        lab("S10", 50, "HGB", 99.9, "g/L", None),
        # NEUT 1.7 without a site range: grade 1 against the study default LLN 1.8.
        lab("S10", 45, "NEUT", 1.7, "10^9/L", None),
        # S12 CR at exactly 100 on day 3.
        plt("S12", -2, 40), plt("S12", 3, 100),
        # S13 is not in the subjects export (an orphan, site-exports.md §2 v1.2): in no mart.
        plt(ORPHAN, -2, 40), plt(ORPHAN, 3, 100), lab(ORPHAN, 3, "ALT", 250, "U/L", (7, 40)),
    ]),
    ExportFile("TST", "bleeding", EXPORTED, [
        {"subject_id": "S01", "assessment_date": day(-1), "who_grade": 0},
        {"subject_id": "S01", "assessment_date": day(20), "who_grade": 0},
        {"subject_id": "S03", "assessment_date": day(-2), "who_grade": 2},
        {"subject_id": "S03", "assessment_date": day(15), "who_grade": 1},
        {"subject_id": "S05", "assessment_date": day(-9), "who_grade": 1},
    ]),
    ExportFile("TST", "conmeds", EXPORTED, [
        # S07 reduced on day 71: prednisone 30 -> 15 mg the next day.
        conmed("S07", "Prednisone", "glucocorticoid", 30, day(-29), day(71)),
        conmed("S07", "prednisone", "glucocorticoid", 15, day(72), None),
        conmed("S07", "Rituximab", "rituximab", 100, day(-9), day(20)),
        # S08 same-dose replacement (not reduced); TPO-RA ongoing.
        conmed("S08", "Dexamethasone", "glucocorticoid", 10, day(-28), day(93)),
        conmed("S08", " dexamethasone ", "glucocorticoid", 10, day(94), None),
        conmed("S08", "Eltrombopag", "tpo_ra", 50, day(-14), None),
        # S09 discontinued on day 180 exactly.
        conmed("S09", "Cyclosporine", "immunosuppressant", 150, day(-59), day(180)),
        # S10 warfarin (Chinese name), contraindicated.
        conmed("S10", "华法林", "other", 5, day(32), None),
        conmed(ORPHAN, "Warfarin", "other", 5, day(2), None),
    ]),
    ExportFile("TST", "adverse_events", EXPORTED, [
        {"subject_id": "S01", "ae_term": "Headache", "onset_date": day(5), "ctcae_grade": 1,
         "serious": False, "related": False},
        {"subject_id": "S02", "ae_term": "Rash", "onset_date": day(-9), "ctcae_grade": 2,
         "serious": False, "related": None},   # before Day 1: not treatment-emergent
        {"subject_id": "S10", "ae_term": "Hepatitis", "onset_date": date(2021, 4, 15), "ctcae_grade": 3,
         "serious": True, "related": True},
    ]),
    ExportFile("TST", "disposition", EXPORTED, [
        {"subject_id": "S02", "status": "on_treatment", "status_date": day(1), "reason": None},
        {"subject_id": "S02", "status": "withdrawn", "status_date": day(100), "reason": "no_response"},
        {"subject_id": "S03", "status": "withdrawn", "status_date": day(200), "reason": "epidemic"},
        {"subject_id": "S10", "status": "on_treatment", "status_date": day(1), "reason": None},
        # the same withdrawal sent twice counts once
        {"subject_id": "S10", "status": "withdrawn", "status_date": day(60), "reason": "adverse_event"},
        {"subject_id": "S10", "status": "withdrawn", "status_date": day(60), "reason": "adverse_event"},
    ]),
]

# Site ABC reuses the subject id S01: every key is (site_id, subject_id).
ABC_FILES = [
    ExportFile("ABC", "subjects", EXPORTED, [subject("S01", sex="M", birth_year=1990)]),
    ExportFile("ABC", "dosing", EXPORTED, [dosing("S01", ABC_DAY1, None)]),
    # NR: 60 >= 30 but < 2 x 50.
    ExportFile("ABC", "labs", EXPORTED, [plt("S01", -2, 50, ABC_DAY1), plt("S01", 5, 60, ABC_DAY1)]),
]

# An older snapshot of TST (kept in raw as history): none of it may reach the marts.
OLD_FILES = [
    ExportFile("TST", "subjects", OLD_EXPORT, [subject("S01"), subject("S99")], is_current=False),
    ExportFile("TST", "labs", OLD_EXPORT, [plt("S01", 5, 999), plt("S99", -1, 10), plt("S99", 5, 200)],
               is_current=False),
]

ALL_FILES = TST_FILES + ABC_FILES + OLD_FILES
