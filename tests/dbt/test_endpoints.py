"""Endpoint marts against values computed by hand from tests/dbt/cohort.py (endpoints.md
§1-§5, §7)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.dbt.cohort import day

INITIAL = {
    # (site, subject): (baseline_plt, best_response, response_day, confirmed)
    ("TST", "S01"): (20, "CR", 8, True),     # 120 on day 8, 110 on day 15 (7 days later)
    ("TST", "S02"): (20, "R", 10, False),    # exactly 2-fold; Day-1 sample is the baseline
    ("TST", "S03"): (20, "NR", None, None),  # bleeding 7 and 5 days from the samples
    ("TST", "S04"): (None, "NE", None, None),  # no baseline
    ("TST", "S05"): (10, "R", 5, True),      # confirmed on day 12, before the loss on day 21
    ("TST", "S06"): (25, "NE", None, None),  # baseline but no sample on days 2..14
    ("TST", "S12"): (40, "CR", 3, False),    # CR at exactly 100
    ("ABC", "S01"): (50, "NR", None, None),  # 60 < 2 x 50: the key is site + subject
}


@pytest.mark.parametrize("key", list(INITIAL))
def test_initial_response(built, key):
    row = built.one(
        "SELECT baseline_plt, best_response, response_day, confirmed FROM marts.endpoint_initial_response "
        "WHERE site_id = ? AND subject_id = ?", list(key))
    assert row == INITIAL[key]


def test_initial_response_covers_treated_subjects_only(built):
    subjects = built.rows("SELECT site_id, subject_id FROM marts.endpoint_initial_response ORDER BY 1, 2")
    assert ("TST", "S11") not in subjects          # Day 1 after the cutoff
    assert len(subjects) == 12                      # 11 TST (S12 included) + ABC S01; not the orphan S13


def test_response_duration(built):
    rows = built.rows(
        "SELECT subject_id, start_date, loss_date, duration_days, censored "
        "FROM marts.endpoint_response_duration WHERE site_id = 'TST' ORDER BY subject_id")
    assert rows == [
        ("S01", day(8), None, 7, True),          # censored at the day-15 sample
        ("S02", day(10), None, 0, True),         # the response is the last sample
        ("S03", day(23), None, 0, True),         # first response after the Day-14 window
        ("S05", day(5), day(21), 16, False),     # NR on 20, 21 (1 day apart), 25: lost on 21
        ("S06", day(41), None, 60, True),        # a single NR on day 101 is no loss
        ("S12", day(3), None, 0, True),
    ]


def test_dim_subject(built):
    rows = built.rows(
        "SELECT site_id, subject_id, sex, age_at_day1, day1_date, is_treated, baseline_plt, exposure_days, "
        "current_status, withdrawal_reason, is_in_subjects_export FROM marts.dim_subject "
        "WHERE subject_id IN ('S01', 'S05', 'S10', 'S11', 'S12') ORDER BY site_id, subject_id")
    assert rows == [
        ("ABC", "S01", "M", 31, date(2021, 4, 1), True, 50.0, 456, None, None, True),
        ("TST", "S01", "F", 41, day(1), True, 20.0, 90, None, None, True),
        ("TST", "S05", "F", 41, day(1), True, 10.0, 360, None, None, True),
        ("TST", "S10", "F", 41, day(1), True, None, 487, "withdrawn", "adverse_event", True),
        ("TST", "S11", "F", 42, date(2022, 7, 15), False, None, None, None, None, True),
        ("TST", "S12", "F", 41, day(1), True, 40.0, 487, None, None, True),
    ]


def _summary(built) -> dict[tuple[str, str], tuple[int, int, Decimal | None]]:
    return {(e, t): (n, d, p) for e, t, n, d, p in
            built.rows("SELECT endpoint, timepoint, n, denominator, pct FROM marts.endpoint_summary")}


EXPECTED_SUMMARY = {
    ("treated", "all"): (12, 12, Decimal("100.0")),
    ("exposure_ge_3m", "all"): (11, 12, Decimal("91.7")),     # all but S02 (89 days)
    ("exposure_gt_6m", "all"): (9, 12, Decimal("75.0")),      # not S01, S02, S03 (180 days)
    ("exposure_ge_12m", "all"): (8, 12, Decimal("66.7")),     # S05 (360) + 7 ongoing
    ("withdrawn", "all"): (3, 12, Decimal("25.0")),
    ("withdrawn", "no_response"): (1, 12, Decimal("8.3")),
    ("withdrawn", "adverse_event"): (1, 12, Decimal("8.3")),  # S10, withdrawal row sent twice
    ("withdrawn", "other"): (1, 12, Decimal("8.3")),          # S03 epidemic
    ("initial_or", "day14"): (4, 7, Decimal("57.1")),         # S01 S02 S05 S12 / 7 baselines
    ("initial_cr", "day14"): (2, 7, Decimal("28.6")),
    ("response_or", "month_1"): (5, 6, Decimal("83.3")),      # S03 CR on day 23; ABC NR
    ("response_cr", "month_1"): (3, 6, Decimal("50.0")),
    ("response_or", "month_2"): (1, 1, Decimal("100.0")),     # S06 CR day 41
    ("response_or", "month_3"): (1, 1, Decimal("100.0")),     # S06 R day 71
    ("response_cr", "month_3"): (0, 1, Decimal("0.0")),
    ("response_or", "month_4"): (0, 1, Decimal("0.0")),       # S06 NR day 101
    ("response_or", "month_5"): (0, 0, None),
    ("response_cr", "month_12"): (0, 0, None),
    ("bleeding_any", "baseline"): (2, 3, Decimal("66.7")),    # S03 grade 2, S05 grade 1; S01 0
    ("bleeding_any", "month_1"): (1, 2, Decimal("50.0")),
    ("bleeding_any", "month_2"): (0, 0, None),
    ("conmed_baseline", "all"): (3, 12, Decimal("25.0")),     # S07 S08 S09
    ("conmed_reduced", "month_3_to_6"): (2, 3, Decimal("66.7")),  # S07 reduced, S09 stopped day 180
    ("conmed_reduced", "glucocorticoid_month_3_to_6"): (1, 2, Decimal("50.0")),  # S08 same dose
    ("conmed_reduced", "rituximab_month_3_to_6"): (0, 1, Decimal("0.0")),  # ended on day 20
    ("conmed_reduced", "tpo_ra_month_3_to_6"): (0, 1, Decimal("0.0")),
    ("conmed_reduced", "immunosuppressant_month_3_to_6"): (1, 1, Decimal("100.0")),
    ("conmed_reduced", "ivig_month_3_to_6"): (0, 0, None),
    ("ae_any", "all"): (2, 12, Decimal("16.7")),              # S02's AE is before Day 1
    ("ae_grade3plus", "all"): (1, 12, Decimal("8.3")),
    ("ae_serious", "all"): (1, 12, Decimal("8.3")),
    ("ae_related", "all"): (1, 12, Decimal("8.3")),
    ("ae_led_to_withdrawal", "all"): (1, 12, Decimal("8.3")),
    ("lab_grade1plus", "ALT"): (1, 1, Decimal("100.0")),      # ALT exactly 3 x ULN: grade 1
    ("lab_grade3plus", "ALT"): (0, 1, Decimal("0.0")),
    ("lab_grade1plus", "AST"): (1, 1, Decimal("100.0")),
    ("lab_grade3plus", "NEUT"): (1, 1, Decimal("100.0")),     # "<0.9": graded on 0.9
    ("lab_grade3plus", "HGB"): (0, 1, Decimal("0.0")),        # 99.9 g/L: grade 2
    ("lab_grade1plus", "LYMPH"): (0, 0, None),
}


@pytest.mark.parametrize("key", list(EXPECTED_SUMMARY))
def test_endpoint_summary_row(built, key):
    assert _summary(built)[key] == EXPECTED_SUMMARY[key]


def test_endpoint_summary_has_every_row_of_the_contract(built):
    summary = _summary(built)
    assert len(summary) == 1 + 3 + 4 + 2 + 2 * 12 + 13 + 1 + 6 + 5 + 2 * 8
    assert {t for e, t in summary if e == "response_or"} == {f"month_{k}" for k in range(1, 13)}


def test_patient_month(built):
    rows = built.rows(
        "SELECT treatment_month, plt_n, plt_min, plt_max, plt_last, best_response, any_bleeding, "
        "on_itp_conmed, n_ae FROM marts.patient_month WHERE site_id = 'TST' AND subject_id = 'S06' "
        "ORDER BY treatment_month")
    assert rows == [
        (0, 1, 25.0, 25.0, 25.0, None, None, False, 0),
        (1, 0, None, None, None, "NE", None, False, 0),   # no sample: NE
        (2, 1, 110.0, 110.0, 110.0, "CR", None, False, 0),
        (3, 1, 90.0, 90.0, 90.0, "R", None, False, 0),
        (4, 1, 20.0, 20.0, 20.0, "NR", None, False, 0),   # day 101: the last month with data
    ]
    s05_month1 = built.one(
        "SELECT plt_n, plt_min, plt_max, plt_last, best_response FROM marts.patient_month "
        "WHERE site_id = 'TST' AND subject_id = 'S05' AND treatment_month = 1")
    assert s05_month1 == (5, 12.0, 60.0, 12.0, "R")
    s07_on_conmed = built.rows(
        "SELECT treatment_month FROM marts.patient_month WHERE site_id = 'TST' AND subject_id = 'S07' "
        "AND on_itp_conmed ORDER BY 1")
    assert s07_on_conmed == [(0,)]   # S07 has no data after month 0, so its grid stops there
