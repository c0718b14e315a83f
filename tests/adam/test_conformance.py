"""conformance.py on small hand-made frames: each rule of adam.md §4 fires on the row that
breaks it, with the outcome adam.md §3 gives it (dataset not written, or XPT withheld)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pandas as pd

from orchestration.adam.conformance import STRUCTURE, XPT, check_dataset
from orchestration.adam.metadata import adam_datasets

META = {ds.name: ds for ds in adam_datasets()}


def _adsl() -> pd.DataFrame:
    return pd.DataFrame({
        "STUDYID": ["S", "S"], "USUBJID": ["S-A-1", "S-A-2"], "SUBJID": ["1", "2"], "SITEID": ["A", "A"],
        "SEX": ["F", "M"], "AGE": [40, 50], "AGEU": ["YEARS", "YEARS"], "TRT01P": ["IGURATIMOD"] * 2,
        "TRT01A": ["IGURATIMOD"] * 2, "TRTSDT": pd.to_datetime([date(2021, 3, 1), date(2021, 3, 1)]),
        "TRTEDT": pd.to_datetime([date(2021, 6, 1), date(2021, 6, 1)]), "TRTDURD": [93, 93],
        "SAFFL": ["Y", "Y"], "FASFL": ["Y", "Y"], "EOSSTT": ["ONGOING"] * 2,
    })


def _adlb() -> pd.DataFrame:
    # S-A-1: baseline on day -1 (2021-02-28), a result on day 10; S-A-2: no baseline.
    return pd.DataFrame({
        "STUDYID": ["S"] * 3, "USUBJID": ["S-A-1", "S-A-1", "S-A-2"], "SITEID": ["A"] * 3, "ASEQ": [1, 2, 1],
        "PARAMCD": ["PLT"] * 3, "PARAM": ["Platelets (10^9/L)"] * 3, "PARAMN": [1] * 3,
        "AVAL": [20.0, 50.0, 80.0], "ADT": pd.to_datetime([date(2021, 2, 28), date(2021, 3, 10), date(2021, 3, 5)]),
        "ADY": [-1, 10, 5], "AVISIT": ["Baseline", "Month 1", "Month 1"], "AVISITN": [0, 1, 1],
        "ABLFL": ["Y", None, None], "BASE": [20.0, 20.0, None], "CHG": [None, 30.0, None],
        "ANRLO": [125.0] * 3, "ANRHI": [350.0] * 3, "ANRIND": ["LOW"] * 3, "BNRIND": ["LOW", "LOW", None],
        "ATOXGR": [None] * 3, "ONTRTFL": [None, "Y", "Y"], "SRCFILE": ["A/x.csv"] * 3, "SRCROW": [2, 3, 4],
    })


def _rules(findings) -> set[tuple[str, str, int | None, str]]:
    return {(f.rule, f.variable, f.row, f.outcome) for f in findings}


def test_clean_frames_have_no_finding():
    assert check_dataset(META["ADSL"], _adsl(), None) == []
    assert check_dataset(META["ADLB"], _adlb(), _adsl()) == []


def test_the_day_before_day_1_must_be_minus_1():
    adlb = _adlb()
    adlb.loc[0, "ADY"] = 0
    assert _rules(check_dataset(META["ADLB"], adlb, _adsl())) == {("study_day", "ADY", 1, STRUCTURE)}


def test_base_chg_and_the_one_baseline_rule():
    adlb = _adlb()
    adlb.loc[1, "CHG"] = 31.0
    adlb.loc[2, "BASE"] = 20.0          # S-A-2 has no baseline record
    assert _rules(check_dataset(META["ADLB"], adlb, _adsl())) == {
        ("chg_is_aval_minus_base", "CHG", 2, STRUCTURE), ("base_is_baseline_aval", "BASE", 3, STRUCTURE)}
    adlb = _adlb()
    adlb.loc[1, "ABLFL"] = "Y"
    assert ("one_baseline", "ABLFL", 1, STRUCTURE) in _rules(check_dataset(META["ADLB"], adlb, _adsl()))


def test_a_missing_required_variable_and_a_wrong_type_are_structure_findings():
    findings = check_dataset(META["ADSL"], _adsl().drop(columns=["SAFFL"]).assign(AGE=["40", "50"]), None)
    assert {(f.rule, f.variable, f.outcome) for f in findings} >= {
        ("column_not_in_dataframe", "SAFFL", STRUCTURE)}
    findings = check_dataset(META["ADSL"], _adsl().assign(AGE=["40", "50"]), None)
    assert [(f.variable, f.outcome) for f in findings] == [("AGE", STRUCTURE)]


def test_an_undescribed_variable_and_a_long_label_are_structure_findings():
    assert _rules(check_dataset(META["ADSL"], _adsl().assign(EXTRA=1), None)) == {
        ("undescribed_variable", "EXTRA", None, STRUCTURE)}
    long = replace(META["ADSL"], variables=tuple(
        replace(v, label="A label that is longer than forty characters") if v.name == "SEX" else v
        for v in META["ADSL"].variables))
    assert _rules(check_dataset(long, _adsl(), None)) == {("variable_label", "SEX", None, STRUCTURE)}


def test_text_xpt_cannot_carry_withholds_the_xpt_and_names_the_row():
    adsl = _adsl().assign(DCSREAS=[None, "X" * 201])
    adsl.loc[0, "SITEID"] = "北京"
    assert _rules(check_dataset(META["ADSL"], adsl, None)) == {
        ("ascii", "SITEID", 1, XPT), ("length_200", "DCSREAS", 2, XPT)}


def test_usubjid_must_be_unique_in_adsl_and_known_elsewhere():
    adsl = _adsl()
    adsl.loc[1, "USUBJID"] = "S-A-1"
    assert ("usubjid_unique", "USUBJID", 2, STRUCTURE) in _rules(check_dataset(META["ADSL"], adsl, None))
    adlb = _adlb()
    adlb.loc[2, "USUBJID"] = "S-A-9"
    assert ("usubjid_in_adsl", "USUBJID", 3, STRUCTURE) in _rules(check_dataset(META["ADLB"], adlb, _adsl()))


def test_adtte_censoring_and_duration():
    adtte = pd.DataFrame({
        "STUDYID": ["S"] * 2, "USUBJID": ["S-A-1", "S-A-2"], "SITEID": ["A"] * 2, "PARAMCD": ["DOR"] * 2,
        "PARAM": ["Duration of Response (days)"] * 2, "PARAMN": [1, 1],
        "STARTDT": pd.to_datetime([date(2021, 3, 5), date(2021, 3, 5)]),
        "ADT": pd.to_datetime([date(2021, 3, 21), date(2021, 3, 1)]), "AVAL": [16.0, -4.0], "CNSR": [0, 2],
        "EVNTDESC": ["LOSS OF RESPONSE"] * 2, "SRCDOM": ["m"] * 2, "SRCVAR": ["loss_date"] * 2})
    assert _rules(check_dataset(META["ADTTE"], adtte, _adsl())) == {
        ("cnsr_0_1", "CNSR", 2, STRUCTURE), ("aval_is_adt_minus_startdt", "AVAL", 2, STRUCTURE)}
