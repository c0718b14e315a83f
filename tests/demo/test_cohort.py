"""The demo-cohort generator (package `demo`): same seed, same bytes; the calibrated cohort gives endpoints.md
§9; every planted situation is in the files where planted.json says; the files follow the
export contract (names, registry, encodings, units) and the real readers accept them."""
from __future__ import annotations

import csv
import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
import yaml

from sources.domains import DOMAINS
from demo.cohort import GeneratedCohort, generate_cohort
from demo.conventions import DRUGS
from demo.rules import CUTOFF, Rules
from demo.truth import SubjectData, conmed_outcome, oracle
from sources.study_parameters import lab_tests, study_vars

R = Rules.load()
NAME = re.compile(r"^(?P<site>[A-Z0-9]{2,8})_(?P<domain>[a-z_]+)_(?P<date>\d{8})\.(?P<ext>csv|xlsx)$")


# --- fixtures and a small independent reader of the final snapshots -------------------------

@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> GeneratedCohort:
    return generate_cohort(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def registry(cohort) -> dict[str, dict]:
    return yaml.safe_load(cohort.sites_file.read_text(encoding="utf-8"))["sites"]


@pytest.fixture(scope="module")
def planted(cohort) -> dict:
    return json.loads(cohort.planted_file.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def truth(cohort) -> list[dict[str, str]]:
    with open(cohort.truth_file, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def figures(cohort) -> dict[tuple[str, str], tuple[int, int]]:
    with open(cohort.figures_file, encoding="utf-8", newline="") as fh:
        return {(r["endpoint"], r["timepoint"]): (int(r["n"]), int(r["denominator"])) for r in csv.DictReader(fh)}


def sheet_rows(path: Path, site: dict) -> list[list[object]]:
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            return [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        finally:
            wb.close()
    encoding = "utf-8-sig" if site["encoding"] == "utf-8" else site["encoding"]
    with open(path, encoding=encoding, newline="") as fh:
        return list(csv.reader(fh, delimiter=site["delimiter"]))


def read_export(path: Path, site: dict, domain: str) -> list[dict[str, object]]:
    """Rows keyed by canonical column (site aliases, case and spaces ignored)."""
    aliases = {v.strip().casefold(): k for k, v in (site.get("aliases") or {}).get(domain, {}).items()}
    rows = sheet_rows(path, site)
    header = [aliases.get(str(h).strip().casefold(), str(h).strip().casefold()) for h in rows[0]]
    return [dict(zip(header, r)) for r in rows[1:]]


def as_date(value: object, site: dict) -> date | None:
    if value in (None, "", "NA", "N/A", "ND", "-", "."):
        return None
    if isinstance(value, datetime):
        return value.date()
    return datetime.strptime(str(value), site["date_format"]).date()


def try_date(value: object, site: dict) -> date | None:
    """As as_date, None for the planted invalid dates."""
    try:
        return as_date(value, site)
    except ValueError:
        return None


def as_number(value: object, site: dict) -> float:
    return value if isinstance(value, (int, float)) else float(str(value).replace(site["decimal"], "."))


def final_file(cohort: GeneratedCohort, site: str, domain: str) -> Path:
    return next((cohort.inbox / site).glob(f"{site}_{domain}_{cohort.cutoff:%Y%m%d}.*"))


def final(cohort, registry, site: str, domain: str) -> list[dict[str, object]]:
    return read_export(final_file(cohort, site, domain), registry[site], domain)


# --- determinism -------------------------------------------------------------------------------

def all_files(home: Path) -> dict[str, bytes]:
    return {p.relative_to(home).as_posix(): p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files(cohort, tmp_path):
    again = generate_cohort(tmp_path / "again")
    first, second = all_files(cohort.inbox.parent), all_files(again.inbox.parent)
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []
    assert any(name.endswith(".xlsx") for name in first)   # xlsx bytes are stable too


def test_another_seed_gives_other_data(cohort, tmp_path):
    other = generate_cohort(tmp_path / "other", seed=7)
    name = f"RJH/RJH_bleeding_{CUTOFF:%Y%m%d}.csv"
    assert (other.inbox / name).read_bytes() != (cohort.inbox / name).read_bytes()


# --- the calibrated figures (endpoints.md §9) ---------------------------------------------------

def test_section_9_subject_figures_from_the_truth_file(truth):
    treated = [t for t in truth if t["treated"] == "true"]
    exposure = [int(t["exposure_days"]) for t in treated]
    withdrawn = [t["withdrawal_reason"] for t in treated if t["current_status"] == "withdrawn"]
    users = [t for t in treated if t["baseline_conmed_user"] == "true"]
    assert len(treated) == 76
    assert sum(e >= R.exposure_3m_days for e in exposure) == 76
    assert sum(e > R.exposure_6m_days for e in exposure) == 51
    assert sum(e >= R.exposure_12m_days for e in exposure) == 30
    assert len(withdrawn) == 5 and withdrawn.count("no_response") == 2 and "adverse_event" not in withdrawn
    assert sorted(r for r in withdrawn if r != "no_response") == ["epidemic", "epidemic", "financial"]
    assert len(users) == 63
    assert sum(t["conmed_reduced"] == "true" for t in users) == 23
    assert len(truth) > len(treated)   # enrolled subjects never dosed are in the truth, not treated


def test_section_9_figures_in_the_oracle_summary(figures):
    assert figures[("bleeding_any", "baseline")] == (50, 68)
    assert figures[("bleeding_any", "month_3")] == (42, 68)
    assert figures[("conmed_reduced", "month_3_to_6")] == (23, 63)
    assert figures[("ae_led_to_withdrawal", "all")][0] == 0
    assert figures[("ae_grade3plus", "all")][0] >= 1
    gc, rtx = figures[("conmed_reduced", "glucocorticoid_month_3_to_6")], figures[("conmed_reduced",
                                                                                  "rituximab_month_3_to_6")]
    others = [n for (e, t), (n, _) in figures.items() if e == "conmed_reduced" and t.endswith("_month_3_to_6")
              and not t.startswith(("glucocorticoid", "rituximab"))]
    assert min(gc[0], rtx[0]) > max(others)   # glucocorticoids and rituximab reduced most often


def test_bleeding_figures_recomputed_from_the_final_files(cohort, registry):
    """Independently of the oracle: Day 1 from the dosing files, windows from the bleeding files."""
    windows: dict[int, dict[str, bool]] = {w: {} for w in range(R.report_months + 1)}
    for code, site in registry.items():
        day1: dict[str, date] = {}
        for row in final(cohort, registry, code, "dosing"):
            start = as_date(row["start_date"], site)
            day1[row["subject_id"]] = min(start, day1.get(row["subject_id"], start))
        for row in final(cohort, registry, code, "bleeding"):
            sid = row["subject_id"]
            if sid not in day1:
                continue
            delta = (as_date(row["assessment_date"], site) - day1[sid]).days
            day = delta + 1 if delta >= 0 else delta
            w = 0 if R.baseline_first_day <= day <= 1 else (day - 1) // R.days_per_month + 1 if day > 1 else None
            if w is not None and w <= R.report_months:
                windows[w][sid] = windows[w].get(sid, False) or int(row["who_grade"]) >= 1
    share = {w: (sum(v.values()), len(v)) for w, v in windows.items()}
    assert share[0] == (50, 68)
    assert share[3] == (42, 68)
    for k in range(1, R.report_months + 1):
        n, d = share[k]
        assert d and n / d < 50 / 68, f"month {k}: {n}/{d}"


# --- designed edge cases ------------------------------------------------------------------

V = study_vars()
EDGE_CASES = {
    # PLT exactly 2 x baseline (and >= 30) on day 8: R, confirmed by day 21.
    "r_at_two_fold_boundary": {"initial_response": "R", "response_day": "8", "confirmed": "true"},
    # PLT exactly 100 on day 11: CR.
    "cr_at_exactly_cr_min": {"initial_response": "CR", "response_day": "11", "confirmed": "true"},
    # PLT exactly 30 (>= 2-fold) on day 11, then NR on days 14 and 21: lost after 3 days.
    "r_at_exactly_r_min_then_lost": {"initial_response": "R", "response_day": "11", "confirmed": "false",
                                     "duration_days": "3", "censored": "false", "withdrawal_reason": "no_response"},
    # The only qualifying sample (day 11) has a grade-1 bleed 3 days later.
    "nr_only_qualifier_with_bleeding": {"initial_response": "NR", "response_day": "", "confirmed": ""},
    # Bleed on Day 1: the day-8 sample (7 days later) is with bleeding, day 14 is CR.
    "bleeding_exactly_window_days_before": {"initial_response": "CR",
                                            "response_day": str(V["initial_response_last_day"])},
    "ne_no_baseline_sample": {"initial_response": "NE", "baseline_plt": "", "or_start_date": ""},
    "ne_no_sample_days_2_to_14": {"initial_response": "NE"},
    # NR on days 45 and 46 (1 day apart) is no loss: censored.
    "no_loss_nr_pair_one_day_apart": {"initial_response": "R", "loss_date": "", "censored": "true"},
    "cr_unconfirmed_without_loss": {"initial_response": "CR", "confirmed": "false", "loss_date": ""},
    "enrolled_not_dosed": {"treated": "false", "day1_date": "", "initial_response": ""},
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_designed_edge_case_in_truth(truth, case):
    rows = [t for t in truth if t["case"] == case]
    assert rows
    for row in rows:
        assert {k: row[k] for k in EDGE_CASES[case]} == EDGE_CASES[case]


def test_truth_has_a_realistic_response_mix(truth):
    treated = [t for t in truth if t["treated"] == "true"]
    assert {t["initial_response"] for t in treated} == {"CR", "R", "NR", "NE"}
    assert {t["censored"] for t in treated if t["or_start_date"]} == {"true", "false"}
    assert {t["confirmed"] for t in treated if t["initial_response"] in ("CR", "R")} == {"true", "false"}
    assert next(t for t in truth if t["case"] == "baseline_on_first_window_day")["baseline_plt"] != ""


# --- the oracle's rules, on hand-built subjects ------------------------------------------------

DAY1 = date(2021, 3, 1)


def subject(plt: dict[int, float], bleeding: dict[int, int] = {}, conmeds=()) -> SubjectData:
    at = lambda d: Rules.date_of(DAY1, d)  # noqa: E731
    return SubjectData("T", "T-1", dosing=[(DAY1, None)], plt=sorted((at(d), v) for d, v in plt.items()),
                       bleeding=sorted((at(d), g) for d, g in bleeding.items()),
                       conmeds=[(n, c, at(s), None if e is None else at(e), dose) for n, c, s, e, dose in conmeds],
                       aes=[], disposition=[("on_treatment", DAY1, None)], labs=[])


def test_oracle_study_days_have_no_day_zero():
    assert Rules.study_day(DAY1 - timedelta(days=1), DAY1) == -1
    assert Rules.study_day(DAY1, DAY1) == 1
    assert R.window_of(1) == 0 and R.window_of(2) == 1 and R.window_of(R.baseline_first_day - 1) is None


def test_oracle_bleeding_window_is_inclusive():
    w = R.bleeding_window_days
    within = oracle(R, subject({1: 20, 1 + w: 150}, {1: 1}), CUTOFF).truth
    outside = oracle(R, subject({1: 20, 2 + w: 150}, {1: 1}), CUTOFF).truth
    assert within["initial_response"] == "NR"
    assert outside["initial_response"] == "CR"


def test_oracle_loss_needs_two_nr_samples_more_than_the_gap_apart():
    g = R.loss_min_gap_days
    no_loss = oracle(R, subject({1: 10, 4: 60, 30: 12, 30 + g: 12, 40: 60}), CUTOFF).truth
    loss = oracle(R, subject({1: 10, 4: 60, 30: 12, 31 + g: 12, 40: 60}), CUTOFF).truth
    assert (no_loss["loss_date"], no_loss["censored"]) == (None, True)
    assert (loss["loss_date"], loss["duration_days"]) == (Rules.date_of(DAY1, 30), 26)


@pytest.mark.parametrize("conmeds, reduced", [
    ([("P", "glucocorticoid", -50, 100, 10.0), ("P", "glucocorticoid", 101, None, 10.0)], False),  # same dose
    ([("P", "glucocorticoid", -50, 100, 10.0), ("P", "glucocorticoid", 101, None, 5.0)], True),   # lower dose
    ([("P", "glucocorticoid", -50, 100, 10.0), ("D", "glucocorticoid", 101, None, 4.0)], True),   # other drug
    ([("P", "glucocorticoid", -50, R.conmed_reduction_first_day - 1, 10.0)], False),
    ([("P", "glucocorticoid", -50, R.conmed_reduction_first_day, 10.0)], True),
    ([("P", "glucocorticoid", -50, R.conmed_reduction_last_day, 10.0)], True),
    ([("P", "glucocorticoid", -50, R.conmed_reduction_last_day + 1, 10.0)], False),
    ([("R", "rituximab", 2, 100, 100.0)], False),                                                 # not baseline
])
def test_oracle_conmed_reduction_rules(conmeds, reduced):
    users, classes = conmed_outcome(R, subject({1: 20}, conmeds=conmeds), DAY1)
    assert bool(classes) is reduced


# --- planted situations ---------------------------------------------------------------------

def items(planted: dict, kind: str) -> list[dict]:
    return [i for i in planted["items"] if i["kind"] == kind]


def test_resend_is_the_same_bytes_in_a_subfolder(cohort, planted):
    (resend,) = items(planted, "resend")
    assert "/" in resend["copy"] and resend["copy"] != resend["original"]
    assert (cohort.inbox / resend["copy"]).read_bytes() == (cohort.inbox / resend["original"]).read_bytes()


def test_identifying_columns_are_in_the_raw_files(cohort, registry, planted):
    found = items(planted, "identifier_columns")
    assert {i["site"] for i in found} == {"PKUPH", "WCH"}
    for item in found:
        site = registry[item["site"]]
        final_name = [f for f in item["files"] if f.endswith(f"{cohort.cutoff:%Y%m%d}.csv")][0]
        rows = sheet_rows(cohort.inbox / final_name, site)
        assert set(item["columns"]) <= set(rows[0])
        cells = {c for r in rows[1:] for c in r}
        for sample in item["values"]:
            assert set(sample.values()) <= cells
    names = [v["patient_name"] for i in found for v in i["values"]]
    assert any(re.fullmatch(r"[\u4e00-\u9fff]{2,3}", n) for n in names)          # 王秀英
    assert any(re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", n) for n in names)        # Wang Xiuying
    assert all(re.fullmatch(r"1[3589]\d{9}", v["phone"]) for i in found for v in i["values"])


def cell_at(cohort, registry, file: str, row: int) -> list[object]:
    site = registry[file.split("/")[0]]
    return sheet_rows(cohort.inbox / file, site)[row - 1]


def test_bad_rows_are_where_planted(cohort, registry, planted):
    bad = items(planted, "bad_row")
    assert {i["expected_check"] for i in bad} == {"parse.date", "unit.unknown", "parse.number", "gx.plausibility"}
    final_suffix = f"_{cohort.cutoff:%Y%m%d}."
    for item in bad:
        assert any(final_suffix in seen["file"] for seen in item["bad_in"]), item["id"]
        for seen in item["bad_in"]:
            cells = cell_at(cohort, registry, seen["file"], seen["row"])
            assert item["subject_id"] in cells and item["test_code"] in cells
            for value in item["cells"].values():
                assert value in [str(c) for c in cells], (seen, value, cells)
    texts = {v for i in bad for v in i["cells"].values()}
    assert {"31.02.2021", "hemolysed", "900"} <= texts


def test_bad_rows_sit_on_tests_the_subject_has_other_results_of(cohort, registry, planted):
    """Quarantining them must not change an endpoint: never a PLT, always a test the subject
    has clean post-baseline results of."""
    for item in items(planted, "bad_row"):
        assert item["test_code"] != "PLT"
        rows = final(cohort, registry, item["site"], "labs")
        same = [r for r in rows if r["subject_id"] == item["subject_id"] and r["test_code"] == item["test_code"]]
        assert len(same) > 3


def test_correction_and_deletions_across_snapshots(cohort, registry, planted):
    (fix,) = items(planted, "correction")
    assert fix["before_in"] and fix["after_in"]
    for seen, key in ((fix["before_in"][0], "before"), (fix["after_in"][-1], "after")):
        assert fix[key] in [str(c) for c in cell_at(cohort, registry, seen["file"], seen["row"])]
    assert all(str(cohort.cutoff.strftime("%Y%m%d")) not in s["file"] for s in fix["before_in"])
    deletions = items(planted, "deletion")
    assert {d["domain"] for d in deletions} == {"labs", "adverse_events"}
    for d in deletions:
        assert d["deleted_in"]
        assert all(f"{cohort.cutoff:%Y%m%d}" not in s["file"] for s in d["deleted_in"])
        site = registry[d["site"]]
        key = "sample_date" if d["domain"] == "labs" else "onset_date"
        gone = d.get("sample_date") or d["onset_date"]
        assert not [r for r in final(cohort, registry, d["site"], d["domain"])
                    if r["subject_id"] == d["subject_id"] and str(try_date(r[key], site)) == gone
                    and r.get("test_code", "PLT") == d.get("test_code", "PLT")]
    (fixed,) = items(planted, "bad_row_fixed_later")
    assert len(fixed["bad_in"]) == 1 and fixed["after_in"]


# --- the export contract ----------------------------------------------------------------------

def test_no_snapshot_holds_a_date_after_its_export_date(cohort, registry):
    """A cumulative snapshot holds what was known at its export date: ongoing periods have no
    end yet, later rows are absent."""
    for path in sorted(p for p in cohort.inbox.rglob("*") if p.is_file()):
        m = NAME.match(path.name)
        export = datetime.strptime(m["date"], "%Y%m%d").date()
        site = registry[m["site"]]
        dates = [c.name for c in DOMAINS[m["domain"]].columns if c.kind == "date"]
        for row in read_export(path, site, m["domain"]):
            for col in dates:
                d = try_date(row.get(col), site)
                assert d is None or d <= export, (path.name, col, d, row["subject_id"])


def test_file_names_follow_the_spec(cohort, registry):
    files = [p for p in cohort.inbox.rglob("*") if p.is_file()]
    assert len(files) == len(registry) * len(DOMAINS) * 6 + 1   # six monthly exports + one resend
    for p in files:
        m = NAME.match(p.name)
        assert m, p.name
        assert m["site"] in registry and m["domain"] in DOMAINS
        assert datetime.strptime(m["date"], "%Y%m%d").date() <= cohort.cutoff
        assert m["ext"] == ("xlsx" if m["site"] == "RJH" and m["domain"] in ("labs", "dosing") else "csv")
    assert cohort.cutoff == CUTOFF


def test_registry_has_the_section_4_keys_and_usable_aliases(cohort, registry):
    assert set(registry) == {"PKUPH", "RJH", "WCH"}
    for code, site in registry.items():
        assert {"name", "encoding", "delimiter", "decimal", "date_format"} <= set(site)
        assert site["encoding"] in ("utf-8", "gb18030") and site["decimal"] in (".", ",")
        for domain, aliases in (site.get("aliases") or {}).items():
            assert set(aliases) <= set(DOMAINS[domain].spec_columns)
            header = sheet_rows(final_file(cohort, code, domain), site)[0]
            assert set(aliases.values()) <= set(header)
    assert registry["PKUPH"]["aliases"]["labs"]["sample_date"] == "采样日期"
    assert (registry["WCH"]["delimiter"], registry["WCH"]["decimal"]) == (";", ",")


def test_pkuph_files_are_gb18030_not_utf8(cohort):
    data = final_file(cohort, "PKUPH", "subjects").read_bytes()
    assert "入组日期" in data.decode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert final_file(cohort, "WCH", "labs").read_bytes().startswith(b"\xef\xbb\xbf")


def test_wch_platelets_are_per_microlitre_and_convert_exactly(cohort, registry, truth):
    site = registry["WCH"]
    plt = [r for r in final(cohort, registry, "WCH", "labs") if r["test_code"] == "PLT"]
    assert {r["unit"] for r in plt} == {"/uL"}
    values = [int(r["value"]) for r in plt]
    assert all(v % 1000 == 0 and v * 0.001 == v // 1000 for v in values)
    assert {r["test_code"] for r in final(cohort, registry, "WCH", "labs")} >= {"BUN", "HGB"}
    assert any("," in str(r["value"]) for r in final(cohort, registry, "WCH", "labs") if r["test_code"] == "HGB")
    # the truth's baseline is the Day-1 count in 10^9/L
    dosing = final(cohort, registry, "WCH", "dosing")
    t = next(t for t in truth if t["site_id"] == "WCH" and t["baseline_plt"] and not t["case"])
    day1 = min(as_date(r["start_date"], site) for r in dosing if r["subject_id"] == t["subject_id"])
    (day1_plt,) = [r for r in plt if r["subject_id"] == t["subject_id"] and as_date(r["sample_date"], site) == day1]
    assert int(day1_plt["value"]) * 0.001 == float(t["baseline_plt"])


def test_safety_shapes(cohort, registry, truth):
    """No transaminase elevation, no lymphopenia; graded anemia exists; the planted signals."""
    defaults = lab_tests()
    lows = 0
    for code, site in registry.items():
        for r in final(cohort, registry, code, "labs"):
            test, raw = str(r["test_code"]), str(r["value"])
            if test not in ("ALT", "AST", "LYMPH", "HGB") or not re.fullmatch(r"[\d.,]+", raw):
                continue
            value = as_number(r["value"], site)
            low = defaults[test].default_ref_low if r.get("ref_low") in (None, "NA", "-", "") else as_number(r["ref_low"], site)
            high = defaults[test].default_ref_high if r.get("ref_high") in (None, "NA", "-", "") else as_number(r["ref_high"], site)
            if test in ("ALT", "AST"):
                assert value <= high, r
            elif test == "LYMPH":
                assert value >= low, r
            elif value < low and value < 900:
                lows += 1
    assert lows > 0
    conmeds = final(cohort, registry, "PKUPH", "conmeds")
    assert [r["drug_class"] for r in conmeds if r["drug_name"] == DRUGS["warfarin"].zh] == ["other"]
    grades = [int(r["ctcae_grade"]) for c in registry for r in final(cohort, registry, c, "adverse_events")]
    assert max(grades) >= 3


def test_conmed_distractors_and_both_kinds_of_reduction_are_present(cohort, registry, truth):
    reduced = {t["subject_id"]: t["conmed_reduced"] == "true" for t in truth if t["treated"] == "true"}
    seen = set()
    lo, hi = R.conmed_reduction_first_day, R.conmed_reduction_last_day
    for code, site in registry.items():
        day1 = {}
        for r in final(cohort, registry, code, "dosing"):
            s = as_date(r["start_date"], site)
            day1[r["subject_id"]] = min(s, day1.get(r["subject_id"], s))
        rows = final(cohort, registry, code, "conmeds")
        for r in rows:
            end = as_date(r["end_date"], site)
            sid = r["subject_id"]
            if end is None or sid not in day1 or as_date(r["start_date"], site) > day1[sid]:
                continue
            if not lo <= Rules.study_day(end, day1[sid]) <= hi or r["drug_class"] == "other":
                continue
            nxt = [n for n in rows if n["subject_id"] == sid and n["drug_name"] == r["drug_name"]
                   and as_date(n["start_date"], site) == end + timedelta(days=1)]
            dose = as_number(r["daily_dose"], site)
            if not nxt:
                seen.add(("stopped", reduced[sid]))
            elif as_number(nxt[0]["daily_dose"], site) < dose:
                seen.add(("lower", reduced[sid]))
            elif as_number(nxt[0]["daily_dose"], site) == dose:
                seen.add(("same", reduced[sid]))
    assert {("stopped", True), ("lower", True), ("same", False)} <= seen


def test_real_readers_refuse_exactly_the_planted_rows(cohort, planted):
    """The final snapshots through the warehouse's own readers: every file opens, and the row
    errors are the planted bad rows (plausibility is the quality layer's, not the reader's)."""
    from sources.inbox import discover
    from sources.naming import parse_file_name
    from sources.readers import open_export
    from sources.registry import load_registry

    reg = load_registry(cohort.sites_file)
    files, refused = discover(cohort.inbox)
    assert not refused
    errors = set()
    rows = 0
    for f in files:
        if f.name.endswith(f"_{cohort.cutoff:%Y%m%d}.csv") or f.name.endswith(f"_{cohort.cutoff:%Y%m%d}.xlsx"):
            name = parse_file_name(f.name, reg)
            for chunk in open_export(f, name, reg.get(name.site)):
                rows += len(chunk.rows)
                errors |= {(f.rel_path, e.source_row, e.check_name) for e in chunk.errors}
    expected = {(s["file"], s["row"], i["expected_check"]) for i in items(planted, "bad_row")
                if i["expected_check"] != "gx.plausibility" for s in i["bad_in"] if f"{cohort.cutoff:%Y%m%d}" in s["file"]}
    assert errors == expected
    assert rows > 10_000


# --- scaled cohorts ---------------------------------------------------------------------------

def test_scaled_cohort_keeps_the_shapes(tmp_path):
    cohort = generate_cohort(tmp_path, subjects=45, months=8, snapshots="delta")
    sites = yaml.safe_load(cohort.sites_file.read_text(encoding="utf-8"))["sites"]
    assert list(sites) == ["S001", "S002", "S003"]
    assert [s["encoding"] for s in sites.values()] == ["gb18030", "utf-8", "utf-8"]
    names = sorted(p.name for p in cohort.inbox.rglob("*") if p.is_file())
    dates = {NAME.match(n)["date"] for n in names}
    assert len(dates) == 2 and max(dates) == f"{cohort.cutoff:%Y%m%d}"
    assert len(names) == 3 * len(DOMAINS) * 2 + 1
    with open(cohort.truth_file, encoding="utf-8") as fh:
        assert sum(1 for _ in fh) == 45 + 1
    assert (tmp_path / "inbox/S002").glob("S002_labs_*.xlsx")


def test_final_snapshot_mode_writes_one_export_per_site_and_domain(tmp_path):
    cohort = generate_cohort(tmp_path, subjects=12, months=4, snapshots="final")
    names = [p.name for p in (cohort.inbox).rglob("*") if p.is_file() and p.parent.name != "resend"]
    assert len(names) == 3 * len(DOMAINS)
    assert all(f"_{cohort.cutoff:%Y%m%d}." in n for n in names)
