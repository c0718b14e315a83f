"""The seven export domains of site-exports.md §3: spec columns, required columns, types,
and the DDL of the `raw.<domain>` tables (docs/architecture.md).

This is the single description of a domain; readers, checks and the raw DDL are derived from
it, so adding a column is a one-line change here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sources.study_parameters import drug_classes, terms_of

# Column kinds of the spec; each maps to one parser in sources.parsing and one DuckDB type.
TEXT, DATE, NUMBER, INTEGER, FLAG = "text", "date", "number", "integer", "flag"

DUCKDB_TYPES = {TEXT: "VARCHAR", DATE: "DATE", NUMBER: "DOUBLE", INTEGER: "INTEGER", FLAG: "BOOLEAN"}

PROVENANCE_COLUMNS: dict[str, str] = {
    "source_file": "VARCHAR",
    "source_sha256": "VARCHAR",
    "source_row": "INTEGER",
    "export_date": "DATE",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False
    allowed: tuple[str, ...] | None = None   # controlled terms (compared case-insensitively)


@dataclass(frozen=True)
class Domain:
    name: str
    columns: tuple[Column, ...]
    # Columns that identify one row within a snapshot (site queries and uniqueness checks).
    key: tuple[str, ...]
    # Extra columns of raw.<domain> that are derived at ingestion (labs: canonical value...).
    derived: dict[str, str] = field(default_factory=dict)

    @property
    def spec_columns(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def raw_columns(self) -> dict[str, str]:
        """Column -> DuckDB type of raw.<domain>, in table order."""
        cols: dict[str, str] = dict(PROVENANCE_COLUMNS)
        for c in self.columns:
            cols[c.name] = DUCKDB_TYPES[c.kind]
        cols.update(self.derived)
        return cols

    def ddl(self, schema: str = "raw") -> str:
        body = ",\n  ".join(f"{n} {t}" for n, t in self.raw_columns().items())
        return f"CREATE TABLE IF NOT EXISTS {schema}.{self.name} (\n  {body}\n)"


_ID = (Column("site_id", TEXT, True), Column("subject_id", TEXT, True))

# site-exports.md §3: birth_year runs from 1900 to the export year (checked in quality.schemas,
# which knows the file's export date).
BIRTH_YEAR_MIN = 1900

# Controlled terms live in the seeds (controlled_terms.csv, drug_classes.csv), which the dbt
# tests read too (docs/architecture.md, "One vocabulary").
WITHDRAWAL_REASONS = terms_of("disposition", "reason")
DRUG_CLASSES = drug_classes()

DOMAINS: dict[str, Domain] = {
    d.name: d
    for d in (
        Domain("subjects", _ID + (
            Column("sex", TEXT, True, terms_of("subjects", "sex")),
            Column("birth_year", INTEGER, True),
            Column("diagnosis_date", DATE),
            Column("enrollment_date", DATE, True),
        ), key=("subject_id",)),
        Domain("dosing", _ID + (
            Column("start_date", DATE, True),
            Column("end_date", DATE),
            Column("dose_mg", NUMBER, True),
            Column("doses_per_day", INTEGER, True),
        ), key=("subject_id", "start_date")),
        # labs: `value` and `unit` are parsed specially (qualifier, unit conversion); the raw
        # table stores the canonical value and keeps the original beside it.
        Domain("labs", _ID + (
            Column("sample_date", DATE, True),
            Column("test_code", TEXT, True),
            Column("value", NUMBER, True),
            Column("unit", TEXT, True),
            Column("ref_low", NUMBER),
            Column("ref_high", NUMBER),
        ), key=("subject_id", "test_code", "sample_date"), derived={
            "original_test_code": "VARCHAR",
            "value_qualifier": "VARCHAR",
            "original_value": "VARCHAR",
            "original_unit": "VARCHAR",
            "conversion_factor": "DOUBLE",
        }),
        Domain("bleeding", _ID + (
            Column("assessment_date", DATE, True),
            Column("who_grade", INTEGER, True, terms_of("bleeding", "who_grade")),
        ), key=("subject_id", "assessment_date")),
        Domain("conmeds", _ID + (
            Column("drug_name", TEXT, True),
            Column("drug_class", TEXT, True, DRUG_CLASSES),
            Column("start_date", DATE, True),
            Column("end_date", DATE),
            Column("daily_dose", NUMBER),
            Column("dose_unit", TEXT),
        ), key=("subject_id", "drug_name", "start_date")),
        Domain("adverse_events", _ID + (
            Column("ae_term", TEXT, True),
            Column("onset_date", DATE, True),
            Column("resolution_date", DATE),
            Column("ctcae_grade", INTEGER, True, terms_of("adverse_events", "ctcae_grade")),
            Column("serious", FLAG, True),
            Column("related", FLAG),
        ), key=("subject_id", "ae_term", "onset_date")),
        Domain("disposition", _ID + (
            Column("status", TEXT, True, terms_of("disposition", "status")),
            Column("status_date", DATE, True),
            Column("reason", TEXT, False, WITHDRAWAL_REASONS),
        ), key=("subject_id", "status_date")),
    )
}
