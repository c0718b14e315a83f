"""The `adam` schema against values computed by hand from tests/dbt/cohort.py
(../shared/spec/adam.md §1, §2): identifiers, ADSL flags, and ADLB's baseline, change and
study day on chosen subjects - S10's ALT on the day before Day 1 (ADY = -1, the baseline),
S04 without any baseline, S02 whose Day-1 sample is the baseline."""
from __future__ import annotations

from datetime import date

import pytest

from tests.dbt.cohort import STUDY_ID, day

TST = f"{STUDY_ID}-TST-"

ADLB = {
    # (USUBJID, PARAMCD, ADT): (ADY, AVISIT, AVISITN, ABLFL, BASE, CHG, PCHG, ANRIND, BNRIND, ATOXGR, BTOXGR, ONTRTFL)
    (TST + "S10", "ALT", day(-1)): (-1, "Baseline", 0, "Y", 30.0, None, None, "NORMAL", "NORMAL", "0", "0", None),
    (TST + "S10", "ALT", day(20)): (20, "Month 1", 1, None, 30.0, 90.0, 300.0, "HIGH", "NORMAL", "1", "0", "Y"),
    (TST + "S10", "ALT", day(30)): (30, "Month 1", 1, None, 30.0, 91.0, 91 / 30 * 100, "HIGH", "NORMAL", "2", "0", "Y"),
    # S04: no PLT sample in days -30 .. 1, so no baseline: BASE, CHG, BNRIND empty.
    (TST + "S04", "PLT", day(5)): (5, "Month 1", 1, None, None, None, None, "NORMAL", None, None, None, "Y"),
    # S02: the Day-1 sample is baseline (day 1 is in month 0); no CHG on the baseline visit.
    (TST + "S02", "PLT", day(1)): (1, "Baseline", 0, "Y", 20.0, None, None, "LOW", "LOW", None, None, None),
    (TST + "S02", "PLT", day(10)): (10, "Month 1", 1, None, 20.0, 20.0, 100.0, "LOW", "LOW", None, None, "Y"),
    # S01: baseline on day -4; day 8 and 15 change from it.
    (TST + "S01", "PLT", day(-4)): (-4, "Baseline", 0, "Y", 20.0, None, None, "LOW", "LOW", None, None, None),
    (TST + "S01", "PLT", day(8)): (8, "Month 1", 1, None, 20.0, 100.0, 500.0, "LOW", "LOW", None, None, "Y"),
}


@pytest.mark.parametrize("key", list(ADLB), ids=lambda k: f"{k[0][-3:]}-{k[1]}-{k[2]}")
def test_adlb_baseline_change_and_study_day_by_hand(built, key):
    row = built.one(
        """SELECT ADY, AVISIT, AVISITN, ABLFL, BASE, CHG, PCHG, ANRIND, BNRIND, ATOXGR, BTOXGR, ONTRTFL
           FROM adam.adlb WHERE USUBJID = ? AND PARAMCD = ? AND ADT = ?""", list(key))
    want = ADLB[key]
    assert row[:6] == want[:6]
    assert (row[6] is None) == (want[6] is None) and (row[6] is None or row[6] == pytest.approx(want[6]))
    assert row[7:] == want[7:]


def test_the_day_before_day_1_is_minus_1_and_there_is_no_day_0(built):
    assert built.one("SELECT ADY FROM adam.adlb WHERE USUBJID = ? AND PARAMCD = 'ALT' AND ADT = ?",
                     [TST + "S10", date(2021, 2, 28)]) == (-1,)     # Day 1 = 2021-03-01
    assert built.one("SELECT count(*) FROM adam.adlb WHERE ADY = 0") == (0,)


def test_adlb_keeps_the_qualified_value_in_avalc(built):
    """<0.9 x10^9/L neutrophils allows grade 3 (0.5-1.0) and grade 4 (<0.5): not determinable
    (endpoints.md §6 v1.1), so ATOXGR is empty, never the grade of 0.9 itself."""
    assert built.one("SELECT AVAL, AVALC, ATOXGR FROM adam.adlb WHERE USUBJID = ? AND PARAMCD = 'NEUT' AND ADT = ?",
                     [TST + "S10", day(40)]) == (0.9, "<0.9", None)


def test_adlb_has_one_row_per_lab_result_and_one_baseline_per_test(built):
    assert built.one("SELECT count(*) FROM adam.adlb") == built.one("SELECT count(*) FROM marts.fct_lab_result")
    assert built.one("""SELECT count(*) FROM (SELECT USUBJID, PARAMCD FROM adam.adlb WHERE ABLFL = 'Y'
                        GROUP BY ALL HAVING count(*) > 1)""") == (0,)


ADSL = {
    # USUBJID: (SAFFL, FASFL, EXP3MFL, EXP6MFL, EXP12MFL, EOSSTT, DCSREAS, TRTDURD, AGE)
    TST + "S01": ("Y", "Y", "Y", "N", "N", "ONGOING", None, 90, 41),
    TST + "S02": ("Y", "Y", "N", "N", "N", "DISCONTINUED", "NO RESPONSE", 89, 41),
    TST + "S04": ("Y", "N", "Y", "Y", "N", "ONGOING", None, 181, 41),        # no baseline PLT
    TST + "S05": ("Y", "Y", "Y", "Y", "Y", "ONGOING", None, 360, 41),
    TST + "S10": ("Y", "N", "Y", "Y", "Y", "DISCONTINUED", "ADVERSE EVENT", 487, 41),
    TST + "S11": ("N", "N", None, None, None, "ONGOING", None, None, 42),    # Day 1 after the cutoff
    f"{STUDY_ID}-ABC-S01": ("Y", "Y", "Y", "Y", "Y", "ONGOING", None, 456, 31),
}


@pytest.mark.parametrize("usubjid", list(ADSL))
def test_adsl_flags_by_hand(built, usubjid):
    assert built.one("""SELECT SAFFL, FASFL, EXP3MFL, EXP6MFL, EXP12MFL, EOSSTT, DCSREAS, TRTDURD, AGE
                        FROM adam.adsl WHERE USUBJID = ?""", [usubjid]) == ADSL[usubjid]


def test_usubjid_is_study_site_subject_and_studyid_the_setting(built):
    assert built.one("SELECT count(*), count(DISTINCT STUDYID), min(STUDYID) FROM adam.adsl") == (13, 1, STUDY_ID)
    assert built.one("SELECT SUBJID, SITEID FROM adam.adsl WHERE USUBJID = ?", [f"{STUDY_ID}-ABC-S01"]) == ("S01", "ABC")


def test_adrs_initial_response_and_adtte_duration(built):
    assert built.rows("""SELECT USUBJID, AVALC, AVAL, ADY, CONFFL FROM adam.adrs WHERE PARAMCD = 'INIRESP'
                         AND USUBJID IN (?, ?, ?) ORDER BY 1""", [TST + "S01", TST + "S02", TST + "S04"]) == [
        (TST + "S01", "CR", 1, 8, "Y"), (TST + "S02", "R", 2, 10, "N"), (TST + "S04", "NE", 4, None, None)]
    # S05: R from day 5, lost at day 21 (two NR samples more than 1 day apart): 16 days, an event.
    assert built.one("SELECT STARTDT, ADT, AVAL, CNSR, EVNTDESC FROM adam.adtte WHERE USUBJID = ?",
                     [TST + "S05"]) == (day(5), day(21), 16.0, 0, "LOSS OF RESPONSE")


def test_adcm_flags_the_conmed_endpoints(built):
    rows = built.rows("SELECT USUBJID, CMTRT, BLITPFL, CMCHGTYP, CMREDFL FROM adam.adcm WHERE CMCHGTYP IS NOT NULL ORDER BY 1")
    assert rows == [(TST + "S07", "Prednisone", "Y", "REDUCED", "Y"),
                    (TST + "S08", "Dexamethasone", "Y", "NOT REDUCED", None),
                    (TST + "S09", "Cyclosporine", "Y", "DISCONTINUED", "Y")]
