"""Row, snapshot and cross-domain checks: each crafted bad row ends in quarantine with a reason a
site coordinator can act on; good rows are stored; the counts add up."""
from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from quality import schemas
from sources.domains import DOMAINS
from tests.quality.loads import file_path, lab, load_file, manifest_counts, quarantine_rows, typed_rows

EXPORT = date(2021, 6, 30)


def subject(sid: str, **over) -> dict:
    return {"subject_id": sid, "sex": "F", "birth_year": 1970, "diagnosis_date": date(2019, 1, 2),
            "enrollment_date": date(2021, 1, 10), **over}


def check(domain: str, rows: list[dict], export_date: date = EXPORT):
    frame = typed_rows(domain, "BJH", export_date, rows, path="BJH_x.csv", sha256="s")
    return schemas.check_rows(domain, frame, export_date)


def only_error(domain: str, row: dict):
    accepted, errors = check(domain, [row])
    assert accepted.empty
    assert len(errors) == 1, errors
    return errors[0]


def test_required_value_missing():
    e = only_error("subjects", subject("BJH-001", sex=None))
    assert (e.check_name, e.reason) == ("pandera.required", "sex is empty; a value is required")
    assert e.source_row == 2 and e.subject_id == "BJH-001"


def test_controlled_terms_are_case_insensitive_and_stored_in_spec_spelling():
    accepted, errors = check("subjects", [subject("BJH-001", sex="m"), subject("BJH-002", sex="X")])
    assert list(accepted["sex"]) == ["M"]
    assert [(e.source_row, e.check_name, e.reason) for e in errors] == [
        (3, "pandera.controlled_term", "sex 'X' is not one of: M, F")]


@pytest.mark.parametrize("year, ok", [(1899, False), (1900, True), (2021, True), (2022, False)])
def test_birth_year_between_1900_and_the_export_year(year, ok):
    accepted, errors = check("subjects", [subject("BJH-001", birth_year=year)])
    assert len(accepted) == (1 if ok else 0)
    if not ok:
        assert errors[0].check_name == "pandera.birth_year"
        assert errors[0].reason == f"birth_year {year} is outside 1900 to 2021 (the export year)"


def test_end_date_before_start_date():
    e = only_error("dosing", {"subject_id": "BJH-001", "start_date": date(2021, 4, 2),
                              "end_date": date(2021, 3, 1), "dose_mg": 25.0, "doses_per_day": 2})
    assert (e.check_name, e.reason) == ("pandera.date_order", "end_date 2021-03-01 is before start_date 2021-04-02")
    assert e.raw_record == {"site_id": "BJH", "subject_id": "BJH-001", "start_date": "2021-04-02",
                            "end_date": "2021-03-01", "dose_mg": "25", "doses_per_day": "2"}


def test_resolution_before_onset():
    e = only_error("adverse_events", {"subject_id": "BJH-001", "ae_term": "rash", "onset_date": date(2021, 5, 3),
                                      "resolution_date": date(2021, 5, 1), "ctcae_grade": 2, "serious": False})
    assert e.reason == "resolution_date 2021-05-01 is before onset_date 2021-05-03"
    assert e.raw_record["serious"] == "N"


def test_date_after_the_export_date():
    e = only_error("bleeding", {"subject_id": "BJH-001", "assessment_date": date(2021, 7, 1), "who_grade": 1})
    assert e.check_name == "pandera.future_date"
    assert e.reason == ("assessment_date 2021-07-01 is after the file's export date 2021-06-30; "
                        "a snapshot cannot hold later dates")


def test_date_on_the_export_date_is_accepted():
    accepted, errors = check("bleeding", [{"subject_id": "BJH-001", "assessment_date": EXPORT, "who_grade": 0}])
    assert len(accepted) == 1 and errors == []


def test_withdrawn_without_reason_and_unknown_reason():
    accepted, errors = check("disposition", [
        {"subject_id": "BJH-001", "status": "withdrawn", "status_date": date(2021, 5, 1)},
        {"subject_id": "BJH-002", "status": "Withdrawn", "status_date": date(2021, 5, 1), "reason": "bored"},
        {"subject_id": "BJH-003", "status": "withdrawn", "status_date": date(2021, 5, 1), "reason": "epidemic"},
    ])
    assert list(accepted["subject_id"]) == ["BJH-003"]
    assert [(e.source_row, e.check_name) for e in errors] == [
        (2, "pandera.withdrawal_reason"), (3, "pandera.controlled_term")]
    assert errors[0].reason.startswith("status is withdrawn but reason is empty")
    assert errors[1].reason.startswith("reason 'bored' is not one of: no_response, adverse_event")


@pytest.mark.parametrize("domain, column, bad, good", [
    ("bleeding", "who_grade", 5, 4),
    ("adverse_events", "ctcae_grade", 0, 5),
])
def test_grades_within_their_scale(domain, column, bad, good):
    base = {"bleeding": {"subject_id": "BJH-001", "assessment_date": date(2021, 5, 1)},
            "adverse_events": {"subject_id": "BJH-001", "ae_term": "rash", "onset_date": date(2021, 5, 1),
                               "serious": True}}[domain]
    accepted, errors = check(domain, [{**base, column: bad}, {**base, column: good}])
    assert len(accepted) == 1 and accepted[column].iloc[0] == good
    allowed = ", ".join(DOMAINS[domain].column(column).allowed)
    assert [e.reason for e in errors] == [f"{column} '{bad}' is not one of: {allowed}"]


def test_lab_reference_range_reversed_is_shown_in_the_row_unit():
    row = lab("BJH-001", date(2021, 5, 1), "PLT", 0.15, "10^9/L", original_value="150000", original_unit="/uL",
              conversion_factor=0.001, ref_low=0.35, ref_high=0.125)
    e = only_error("labs", row)
    assert e.check_name == "pandera.ref_range_order"
    assert e.reason == ("ref_low 350 /uL is not below ref_high 125 /uL; the reference range must have "
                        "ref_low < ref_high")
    # the quarantined record shows the cells as the site wrote them
    assert (e.raw_record["value"], e.raw_record["unit"], e.raw_record["ref_low"]) == ("150000", "/uL", "350")


def test_one_row_failing_two_checks_is_two_reasons_for_one_row():
    accepted, errors = check("dosing", [{"subject_id": None, "start_date": date(2021, 4, 2),
                                         "end_date": date(2021, 3, 1), "dose_mg": 0.0, "doses_per_day": 2}])
    assert accepted.empty
    assert [e.check_name for e in errors] == ["pandera.required", "pandera.date_order", "pandera.positive"]
    assert {e.source_row for e in errors} == {2}


def test_missing_reader_column_is_a_contract_error_not_silence():
    frame = typed_rows("bleeding", "BJH", EXPORT, [{"subject_id": "BJH-001"}], path="x", sha256="s")
    with pytest.raises(ValueError, match="who_grade"):
        schemas.check_rows("bleeding", frame.drop(columns=["who_grade"]), EXPORT)


def test_subject_twice_in_one_file_quarantines_every_copy(conn):
    entry = load_file(conn, "subjects", "BJH", EXPORT, [
        subject("BJH-001"), subject("BJH-002"), subject("BJH-001", sex="M"), subject("BJH-003")], load_id="L1")
    assert conn.execute("SELECT subject_id FROM raw.subjects ORDER BY 1").fetchall() == [("BJH-002",), ("BJH-003",)]
    rows = quarantine_rows(conn, check_name="pandera.unique_key")
    assert [r[0] for r in rows] == [2, 4]
    assert rows[0][2].startswith("subject_id BJH-001 appears 2 times in this file (rows 2, 4); "
                                 "it must be unique within a snapshot. All copies are held back")
    assert (entry.rows_read, entry.rows_accepted, entry.rows_quarantined) == (4, 2, 2)
    assert manifest_counts(conn, entry.file_path) == (4, 2, 2)


def test_same_lab_result_twice_is_a_duplicate_key(conn):
    day = date(2021, 5, 1)
    load_file(conn, "labs", "BJH", EXPORT, [
        lab("BJH-001", day, "PLT", 50.0, "10^9/L"), lab("BJH-001", day, "WBC", 5.0, "10^9/L"),
        lab("BJH-001", day, "PLT", 55.0, "10^9/L")], load_id="L1")
    rows = quarantine_rows(conn, check_name="pandera.unique_key")
    assert [r[0] for r in rows] == [2, 4]
    assert "subject_id BJH-001, test_code PLT, sample_date 2021-05-01 appears 2 times" in rows[0][2]
    record = json.loads(conn.execute("SELECT raw_record FROM quality.quarantine WHERE source_row = 4").fetchone()[0])
    assert record["value"] == "55" and set(record) == set(DOMAINS["labs"].spec_columns)


def test_dosing_before_enrollment_quarantines_the_dosing_row(conn):
    load_file(conn, "subjects", "BJH", EXPORT, [subject("BJH-001"), subject("BJH-002")], load_id="L1")
    dosing = load_file(conn, "dosing", "BJH", EXPORT, [
        {"subject_id": "BJH-001", "start_date": date(2021, 1, 9), "dose_mg": 25.0, "doses_per_day": 2},
        {"subject_id": "BJH-002", "start_date": date(2021, 1, 10), "dose_mg": 25.0, "doses_per_day": 2},
    ], load_id="L1")
    # the same subject at another site is another person: never compared
    load_file(conn, "dosing", "SHH", EXPORT, [
        {"subject_id": "BJH-001", "start_date": date(2020, 1, 1), "dose_mg": 25.0, "doses_per_day": 2}], load_id="L1")
    failures = schemas.check_cross_domain(conn)["dosing"]
    assert list(failures["source_row"]) == [2]
    assert failures["check_name"].iloc[0] == "pandera.dosing_before_enrollment"
    assert failures["reason"].iloc[0] == (
        f"start_date 2021-01-09 is before the subject's enrollment_date 2021-01-10 (in "
        f"{file_path('BJH', 'subjects', EXPORT)}); dosing cannot start before enrollment")
    from quality.quarantine import move_to_quarantine
    assert move_to_quarantine(conn, "dosing", failures, "L1") == 1
    assert manifest_counts(conn, dosing.file_path) == (2, 1, 1)
    assert schemas.check_cross_domain(conn)["dosing"].empty  # moved rows are not found twice


def test_rows_as_the_real_reader_types_them(tmp_path):
    """Nullable pandas dtypes of sources.readers (Int64, Float64, boolean, date objects)."""
    from sources.inbox import discover
    from sources.naming import parse_file_name
    from sources.readers import open_export
    from sources.registry import load_registry

    (tmp_path / "sites.yaml").write_text(
        'sites:\n  TST:\n    name: T\n    encoding: utf-8\n    delimiter: ","\n    decimal: "."\n'
        '    date_format: "%Y-%m-%d"\n')
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "TST_adverse_events_20210630.csv").write_text(
        "site_id,subject_id,ae_term,onset_date,resolution_date,ctcae_grade,serious,related\n"
        "TST,TST-001,rash,2021-05-03,2021-05-01,2,N,\n"
        "TST,TST-002,fever,2021-05-03,,3,Y,N\n")
    registry = load_registry(tmp_path / "sites.yaml")
    [f], _ = discover(tmp_path / "inbox")
    name = parse_file_name(f.name, registry)
    [chunk] = list(open_export(f, name, registry.get(name.site)))
    accepted, errors = schemas.check_rows(name.domain, chunk.rows, name.export_date)
    assert list(accepted["subject_id"]) == ["TST-002"]
    assert [(e.source_row, e.reason) for e in errors] == [(2, "resolution_date 2021-05-01 is before onset_date 2021-05-03")]
    assert errors[0].raw_record["serious"] == "N" and errors[0].raw_record["related"] is None


def test_a_check_that_crashes_never_lets_rows_through():
    broken = schemas.RowRule("broken", "pandera.broken", failing=lambda df: df["no_such_column"] > 0,
                             reason=lambda row: "")
    frame = typed_rows("bleeding", "BJH", EXPORT, [{"subject_id": "BJH-001"}], path="x", sha256="s")
    with pytest.raises(RuntimeError, match="row checks could not run: broken"):
        schemas._failing_positions(schemas.build_schema([broken]), frame)


# --- the vectorised rules decide as the per-cell records.is_missing / _text_key did ----------

def test_controlled_terms_in_odd_case_and_spacing_are_accepted_in_spec_spelling():
    accepted, errors = check("disposition", [
        {"subject_id": "BJH-001", "status": " Withdrawn ", "status_date": date(2021, 5, 1), "reason": "EPIDEMIC"},
        {"subject_id": "BJH-002", "status": "COMPLETED", "status_date": date(2021, 5, 1), "reason": "  "},
        {"subject_id": "BJH-003", "status": "withdrawn", "status_date": date(2021, 5, 1), "reason": "\u00a0"},
    ])
    assert list(accepted["status"]) == ["withdrawn", "completed"]
    assert list(accepted["reason"]) == ["epidemic", "  "]  # a blank optional cell stays as written
    assert [(e.source_row, e.check_name) for e in errors] == [(4, "pandera.withdrawal_reason")]


def test_blank_text_is_missing_whatever_the_whitespace():
    accepted, errors = check("subjects", [subject("BJH-001", sex="\t"), subject("BJH-002", sex="\u3000"),
                                          subject(" ", sex="F"), subject("BJH-004", sex="")])
    assert accepted.empty
    assert [(e.source_row, e.check_name) for e in errors] == [
        (2, "pandera.required"), (3, "pandera.required"), (4, "pandera.required"), (5, "pandera.required")]
    assert errors[2].reason == "subject_id is empty; a value is required" and errors[2].subject_id is None


def test_integer_grades_as_the_reader_types_them():
    """Int64 with a missing cell: the missing grade is a required failure, never a crash."""
    frame = typed_rows("bleeding", "BJH", EXPORT, [
        {"subject_id": f"BJH-00{i}", "assessment_date": date(2021, 5, 1)} for i in range(4)], path="x", sha256="s")
    frame["who_grade"] = pd.array([0, 4, 5, None], dtype="Int64")
    accepted, errors = schemas.check_rows("bleeding", frame, EXPORT)
    assert list(accepted["who_grade"]) == [0, 4]
    assert [(e.source_row, e.check_name, e.reason) for e in errors] == [
        (4, "pandera.controlled_term", "who_grade '5' is not one of: 0, 1, 2, 3, 4"),
        (5, "pandera.required", "who_grade is empty; a value is required")]


def test_integer_grades_as_floats_and_as_text():
    accepted, errors = check("adverse_events", [
        {"subject_id": "BJH-001", "ae_term": "rash", "onset_date": date(2021, 5, 1), "serious": False,
         "ctcae_grade": g} for g in (2.0, "3", " 4 ", 2.5, "x")])
    assert len(accepted) == 3
    assert [e.reason for e in errors] == ["ctcae_grade '2.5' is not one of: 1, 2, 3, 4, 5",
                                          "ctcae_grade 'x' is not one of: 1, 2, 3, 4, 5"]


def test_nan_inside_a_float64_column_is_missing():
    frame = typed_rows("dosing", "BJH", EXPORT, [
        {"subject_id": "BJH-001", "start_date": date(2021, 4, 2), "doses_per_day": 1},
        {"subject_id": "BJH-002", "start_date": date(2021, 4, 2), "doses_per_day": 1}], path="x", sha256="s")
    # a NaN that is not masked as NA (e.g. the result of 0/0 on a Float64 column)
    frame["dose_mg"] = pd.arrays.FloatingArray(np.array([25.0, np.nan]), np.array([False, False]))
    accepted, errors = schemas.check_rows("dosing", frame, EXPORT)
    assert list(accepted["subject_id"]) == ["BJH-001"]
    assert [(e.source_row, e.check_name) for e in errors] == [(3, "pandera.required")]


def test_a_text_column_holding_other_objects_is_checked_cell_by_cell():
    accepted, errors = check("subjects", [subject("BJH-001", sex=1), subject("BJH-002", sex="f")])
    assert list(accepted["sex"]) == ["F"]
    assert [e.reason for e in errors] == ["sex '1' is not one of: M, F"]


def test_thousands_of_failing_rows_are_all_reported():
    """pandera keeps one failure case per check (build_schema); every row still fails."""
    rows = [{"subject_id": f"BJH-{i:05d}", "start_date": date(2021, 4, 2), "end_date": date(2021, 3, 1),
             "dose_mg": 25.0, "doses_per_day": 2} for i in range(3000)]
    rows[1500] = {**rows[1500], "end_date": date(2021, 5, 1)}
    accepted, errors = check("dosing", rows)
    assert list(accepted["subject_id"]) == ["BJH-01500"]
    assert len(errors) == 2999 and {e.check_name for e in errors} == {"pandera.date_order"}
    assert [e.source_row for e in errors] == [i + 2 for i in range(3000) if i != 1500]
    assert errors[-1].raw_record["subject_id"] == "BJH-02999"


def test_schemas_are_cached_per_export_date():
    row = {"subject_id": "BJH-001", "assessment_date": date(2021, 7, 1), "who_grade": 1}
    assert len(check("bleeding", [row], export_date=date(2021, 7, 1))[0]) == 1
    assert check("bleeding", [row])[1][0].check_name == "pandera.future_date"
    assert len(check("bleeding", [row], export_date=date(2021, 7, 1))[0]) == 1
