"""A subject's plan as export rows in the site's own units, each with the snapshots it is
visible in (corrections, deletions, open-ended periods).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

from demo.conventions import AE_TERMS, COUNT_TESTS, DRUGS
from demo.plans import SubjectPlan, identity
from sources.domains import DOMAINS
from sources.units import resolve_unit


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
