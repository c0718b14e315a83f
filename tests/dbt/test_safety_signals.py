"""marts.safety_signal for the cohort's S10 (endpoints.md §6 item 4)."""
from __future__ import annotations

from datetime import date

from tests.dbt.cohort import day


def test_safety_signals(built):
    rows = built.rows(
        "SELECT site_id, subject_id, signal, signal_date, value, n_findings, source_file FROM marts.safety_signal "
        "ORDER BY signal_date, signal")
    assert rows == [
        ("TST", "S10", "transaminase_ge_100", day(20), 150.0, 2, "TST/TST_labs_20220630.csv"),  # AST + ALT
        ("TST", "S10", "transaminase_ge_100", day(30), 121.0, 1, "TST/TST_labs_20220630.csv"),
        ("TST", "S10", "warfarin_conmed", day(32), 5.0, 1, "TST/TST_conmeds_20220630.csv"),     # 华法林
        ("TST", "S10", "neutropenia_grade3plus", day(40), 0.9, 1, "TST/TST_labs_20220630.csv"),
        ("TST", "S10", "ae_grade3plus", date(2021, 4, 15), 3.0, 1, "TST/TST_adverse_events_20220630.csv"),
    ]


def test_signal_detail_names_the_finding_for_monitors(built):
    detail = built.one(
        "SELECT detail FROM marts.safety_signal WHERE signal = 'neutropenia_grade3plus'")[0]
    assert detail == "NEUT <0.9 10^9/L on study day 40 (signal: < 1.0 x10^9/L, CTCAE grade >= 3)"
