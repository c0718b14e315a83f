"""fct_lab_result: reference range in force, flags and CTCAE grades of the cohort's S10."""
from __future__ import annotations

from tests.dbt.cohort import day


def test_lab_rows_of_s10(built):
    rows = built.rows(
        "SELECT sample_date, test_code, value, value_qualifier, ref_low, ref_high, ref_range_source, "
        "range_flag, ctcae_grade, study_day, treatment_month, is_post_baseline FROM marts.fct_lab_result "
        "WHERE site_id = 'TST' AND subject_id = 'S10' ORDER BY sample_date, test_code")
    assert rows == [
        (day(-1), "ALT", 30.0, None, 7.0, 40.0, "site", "N", 0, -1, 0, False),
        (day(20), "ALT", 120.0, None, 7.0, 40.0, "site", "H", 1, 20, 1, True),   # exactly 3.0 x ULN
        (day(20), "AST", 150.0, None, 13.0, 35.0, "site", "H", 2, 20, 1, True),
        (day(30), "ALT", 121.0, None, 7.0, 40.0, "site", "H", 2, 30, 1, True),   # just above 3.0 x ULN
        # <0.9 is below the LLN whatever it is (L), but grade 3 (0.5-1.0) or 4 (< 0.5): not determinable
        (day(40), "NEUT", 0.9, "<", 1.8, 6.3, "site", "L", None, 40, 2, True),
        (day(45), "NEUT", 1.7, None, 1.8, 6.3, "study_default", "L", 1, 45, 2, True),  # default LLN
        (day(50), "HGB", 99.9, None, 115.0, 175.0, "study_default", "L", 2, 50, 2, True),
    ]


def test_platelets_have_no_toxicity_grade_and_every_row_is_traceable(built):
    assert built.one("SELECT count(*) FROM marts.fct_lab_result WHERE test_code = 'PLT' AND ctcae_grade IS NOT NULL") == (0,)
    assert built.one(
        "SELECT count(*) FROM marts.fct_lab_result WHERE source_file IS NULL OR source_sha256 IS NULL "
        "OR source_row IS NULL") == (0,)
