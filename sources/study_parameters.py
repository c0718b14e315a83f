"""The study's derivation constants, read from the one place they live: the dbt project.

dbt models use `var()` and the seeds; Python (unit conversion, plausibility checks, the demo
generator) reads the very same files here, so a threshold can never differ between the two.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

# The dbt project is package data of `sources` (sources/dbt_project: a link to the checkout's
# dbt_project/, a real folder in an installed wheel), so a checkout, an editable install and
# `pip install .` all find it here. Read-only: dbt writes elsewhere (orchestration.assets.dbt).
DBT_PROJECT_DIR = (Path(__file__).resolve().parent / "dbt_project").resolve()
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"


@cache
def study_vars() -> dict[str, float | int | str]:
    """The `vars:` block of dbt_project.yml."""
    with open(DBT_PROJECT_DIR / "dbt_project.yml", encoding="utf-8") as fh:
        return dict(yaml.safe_load(fh)["vars"])


@dataclass(frozen=True)
class LabTest:
    test_code: str
    test_name: str
    canonical_unit: str
    plausible_low: float
    plausible_high: float
    default_ref_low: float
    default_ref_high: float


@dataclass(frozen=True)
class LabUnit:
    test_code: str          # the code as sent by sites (BUN included)
    unit: str               # the unit as spelled in the seed; compare with normalize_unit()
    stored_test_code: str   # the code stored in the warehouse (BUN -> UREA)
    factor: float           # multiply by this to get the canonical unit


def _read_seed(name: str) -> list[dict[str, str]]:
    with open(SEEDS_DIR / f"{name}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@cache
def lab_tests() -> dict[str, LabTest]:
    out = {}
    for r in _read_seed("lab_tests"):
        out[r["test_code"]] = LabTest(
            r["test_code"], r["test_name"], r["canonical_unit"],
            float(r["plausible_low"]), float(r["plausible_high"]),
            float(r["default_ref_low"]), float(r["default_ref_high"]),
        )
    return out


def normalize_unit(unit: str) -> str:
    """How unit spellings are compared (site-exports.md §3): case and spaces ignored, µ and μ
    read as u. Other spellings of one unit (GI/L, THOU/uL ...) are the seed unit_synonyms."""
    return unit.strip().replace("µ", "u").replace("μ", "u").replace(" ", "").lower()


@cache
def lab_units() -> dict[tuple[str, str], LabUnit]:
    """(test_code as sent, normalized unit) -> conversion."""
    out = {}
    for r in _read_seed("lab_units"):
        lu = LabUnit(r["test_code"], r["unit"], r["stored_test_code"], float(r["factor"]))
        out[(lu.test_code, normalize_unit(lu.unit))] = lu
    return out


@cache
def unit_synonym_rows() -> tuple[tuple[str, str], ...]:
    """Built-in spellings of one unit (site-exports.md §3, seed unit_synonyms.csv), in seed
    order: (spelling, the unit as spelled in lab_units.csv; 10^12/L: a unit of no test)."""
    return tuple((r["spelling"], r["unit"]) for r in _read_seed("unit_synonyms"))


@cache
def unit_synonyms() -> dict[str, str]:
    """Normalized built-in spelling -> the unit it stands for (unit_synonym_rows)."""
    return {normalize_unit(spelling): unit for spelling, unit in unit_synonym_rows()}


@cache
def drug_classes() -> tuple[str, ...]:
    """Concomitant-drug classes of site-exports.md §3 (seed drug_classes.csv)."""
    return tuple(r["drug_class"] for r in _read_seed("drug_classes"))


@dataclass(frozen=True)
class ControlledTerm:
    domain: str        # export domain of site-exports.md §3
    column_name: str   # the column of that domain
    term: str          # the value a site writes (integers as their digits)
    label: str         # how a person reads it (reports, workbooks)


@cache
def controlled_terms() -> tuple[ControlledTerm, ...]:
    """The controlled terms of site-exports.md §3 (seed controlled_terms.csv, in seed order).
    Drug classes have their own seed (drug_classes.csv), which also says which are ITP drugs.
    The same seed backs the dbt test `controlled_term`, so ingestion and dbt accept one list."""
    return tuple(ControlledTerm(r["domain"], r["column_name"], r["term"], r["label"])
                 for r in _read_seed("controlled_terms"))


def terms_of(domain: str, column_name: str) -> tuple[str, ...]:
    """The terms of one column, in seed order; a column without terms is a mistake, not ()."""
    terms = tuple(t.term for t in controlled_terms() if (t.domain, t.column_name) == (domain, column_name))
    if not terms:
        raise KeyError(f"no controlled terms for {domain}.{column_name} in seed controlled_terms.csv")
    return terms


def term_label(domain: str, column_name: str, term: str) -> str:
    """A term's label (the term itself when the seed has none)."""
    return next((t.label for t in controlled_terms()
                 if (t.domain, t.column_name, t.term) == (domain, column_name, term) and t.label), term)


@dataclass(frozen=True)
class Endpoint:
    endpoint: str       # code of marts.endpoint_summary
    display_order: int
    timepoints: str     # family of timepoints (seed description, _seeds.yml)
    label: str          # its name in the study report


@cache
def endpoints() -> tuple[Endpoint, ...]:
    """The endpoints of endpoints.md §7 in reading order (seed endpoints.csv): the report's
    labels, the terminal summary's order and the dbt tests of endpoint_summary come from it."""
    rows = [Endpoint(r["endpoint"], int(r["display_order"]), r["timepoints"], r["label"])
            for r in _read_seed("endpoints")]
    return tuple(sorted(rows, key=lambda e: e.display_order))


@cache
def ctcae_absolute_limits() -> dict[tuple[str, int], tuple[str, float]]:
    """(test_code, grade) -> (comparator, limit) of the CTCAE v5 grades given as an absolute
    value (seed ctcae_v5_grades.csv, basis `absolute`), e.g. NEUT grade 3: < 1.0 x10^9/L."""
    return {(r["test_code"], int(r["grade"])): (r["comparator"], float(r["threshold"]))
            for r in _read_seed("ctcae_v5_grades") if r["basis"] == "absolute"}


@cache
def safety_signals() -> dict[str, str]:
    """Signal code of marts.safety_signal -> its label (seed safety_signals.csv)."""
    return {r["signal"]: r["label"] for r in _read_seed("safety_signals")}


@dataclass(frozen=True)
class ResponseCategory:
    category: str              # CR, R, NR, NE
    display_order: int         # the report's order; ADRS.AVAL
    label: str
    is_sample_category: bool   # a platelet sample or day can have it (not NE)
    is_response: bool          # CR or R


@cache
def response_categories() -> tuple[ResponseCategory, ...]:
    """The IWG response categories of endpoints.md §3 in order (seed response_categories.csv)."""
    rows = [ResponseCategory(r["category"], int(r["display_order"]), r["label"],
                             r["is_sample_category"] == "true", r["is_response"] == "true")
            for r in _read_seed("response_categories")]
    return tuple(sorted(rows, key=lambda c: c.display_order))
