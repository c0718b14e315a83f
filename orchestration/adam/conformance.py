"""The conformance checks of adam.md §4, as pandera schemas run on each dataset before
anything is written.

Two outcomes, one per kind of rule:
- STRUCTURE (required variables, names, labels, types, keys, baseline/change, study days,
  censoring, and the §9 reconciliation): a dataset breaking one is not written at all;
- XPT (text that SAS Transport v5 cannot carry: non-ASCII, over 200 bytes): the XPT file is
  withheld and the dataset is written as Parquet instead (adam.md §3).
Every failing row is a Finding: conformance.csv names the dataset, row and variable.

Each rule is one `Rule`: the rows it fails and the sentence a statistician reads; the pandera
schema of a dataset is generated from its rules (as quality.schemas does for site exports).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandas.api import types as ptypes
from pandera.errors import SchemaErrors

from orchestration.adam.metadata import Dataset

STRUCTURE = "dataset not written"
XPT = "XPT withheld, Parquet written"

MAX_NAME = 8          # SAS Transport v5: dataset and variable names
MAX_LABEL = 40        # dataset and variable labels
MAX_CHAR_BYTES = 200  # character values
NAME = re.compile(r"[A-Z][A-Z0-9_]{0,7}")
# (study day, date) pairs that adam.md §1 ties to TRTSDT: no day 0.
STUDY_DAYS = (("ADY", "ADT"), ("ASTDY", "ASTDT"), ("AENDY", "AENDT"))


@dataclass(frozen=True)
class Finding:
    dataset: str
    rule: str
    outcome: str
    variable: str = ""
    row: int | None = None      # 1-based record number in the dataset as exported
    usubjid: str = ""
    value: str = ""
    message: str = ""

    def as_row(self) -> dict[str, object]:
        return {"dataset": self.dataset, "rule": self.rule, "outcome": self.outcome,
                "variable": self.variable, "row": "" if self.row is None else self.row,
                "usubjid": self.usubjid, "value": self.value, "message": self.message}


FINDING_COLUMNS = list(Finding("", "", "").as_row())


@dataclass(frozen=True)
class Rule:
    """Rows failing `failing(frame)` (a boolean Series) break the rule."""
    name: str
    outcome: str
    variable: str
    failing: Callable[[pd.DataFrame], pd.Series]
    message: str


def _not_ascii(value: str) -> bool:
    return not value.isascii()


def _too_long(value: str) -> bool:
    return len(value.encode("utf-8")) > MAX_CHAR_BYTES


def _per_text(series: pd.Series, test: Callable[[str], bool]) -> pd.Series:
    """test() of every non-missing text value; missing values pass."""
    return pd.Series([isinstance(x, str) and test(x) for x in series], index=series.index, dtype=bool)


def _metadata_findings(ds: Dataset, frame: pd.DataFrame) -> list[Finding]:
    """Names, labels, presence and types: what the file layout itself must obey."""
    out: list[Finding] = []

    def bad(rule: str, variable: str, value: str, message: str) -> None:
        out.append(Finding(ds.name, rule, STRUCTURE, variable, value=value, message=message))

    if not NAME.fullmatch(ds.name):
        bad("dataset_name", "", ds.name, f"dataset name must be 1-{MAX_NAME} upper-case letters/digits")
    if len(ds.label) > MAX_LABEL or not ds.label.isascii():
        bad("dataset_label", "", ds.label, f"dataset label must be ASCII and at most {MAX_LABEL} characters")
    for v in ds.variables:
        if not NAME.fullmatch(v.name):
            bad("variable_name", v.name, v.name, f"variable name must be 1-{MAX_NAME} upper-case letters/digits")
        if len(v.label) > MAX_LABEL or not v.label.isascii():
            bad("variable_label", v.name, v.label, f"label must be ASCII and at most {MAX_LABEL} characters")
    described = {v.name for v in ds.variables}
    for column in frame.columns:
        if column not in described:
            bad("undescribed_variable", column, "", "variable has no metadata (no define.xml description)")
    return out


def _column_schema(ds: Dataset) -> pa.DataFrameSchema:
    """Presence (required = adam.md's `*`) and type of every variable (ADaMIG: Char or Num;
    dates are SAS numeric dates)."""
    columns = {}
    for v in ds.variables:
        if v.type == "Char":
            check = pa.Check(lambda s: ptypes.is_object_dtype(s) or ptypes.is_string_dtype(s),
                             name="type_char", error="must be character (Char)")
        else:
            check = pa.Check(lambda s: (ptypes.is_numeric_dtype(s) and not ptypes.is_bool_dtype(s))
                             or ptypes.is_datetime64_any_dtype(s),
                             name="type_num", error="must be numeric (Num)")
        columns[v.name] = pa.Column(required=v.required, nullable=True, checks=[check])
    return pa.DataFrameSchema(columns, strict=False, coerce=False)


def _day_expected(dates: pd.Series, day1: pd.Series) -> pd.Series:
    delta = (pd.to_datetime(dates) - pd.to_datetime(day1)).dt.days
    return delta.where(delta < 0, delta + 1)


def _rules(ds: Dataset, frame: pd.DataFrame, adsl: pd.DataFrame | None) -> list[Rule]:
    cols = set(frame.columns)
    rules: list[Rule] = []
    for v in ds.variables:
        if v.type != "Char" or v.name not in cols:
            continue
        rules.append(Rule("ascii", XPT, v.name, lambda f, n=v.name: _per_text(f[n], _not_ascii),
                          "text that SAS Transport v5 cannot carry (not ASCII)"))
        rules.append(Rule("length_200", XPT, v.name, lambda f, n=v.name: _per_text(f[n], _too_long),
                          f"longer than {MAX_CHAR_BYTES} bytes, the SAS Transport v5 limit"))
    if "USUBJID" in cols:
        rules.append(Rule("usubjid_missing", STRUCTURE, "USUBJID", lambda f: f["USUBJID"].isna(),
                          "USUBJID is empty"))
        if ds.name == "ADSL":
            rules.append(Rule("usubjid_unique", STRUCTURE, "USUBJID",
                              lambda f: f["USUBJID"].notna() & f["USUBJID"].duplicated(keep=False),
                              "USUBJID is not unique in ADSL"))
        elif adsl is not None:
            known = set(adsl["USUBJID"].dropna())
            rules.append(Rule("usubjid_in_adsl", STRUCTURE, "USUBJID",
                              lambda f: f["USUBJID"].notna() & ~f["USUBJID"].isin(known),
                              "USUBJID is not in ADSL"))
    if {"ABLFL", "USUBJID", "PARAMCD"} <= cols:
        def two_baselines(f: pd.DataFrame) -> pd.Series:
            flagged = f["ABLFL"] == "Y"
            counts = flagged.groupby([f["USUBJID"], f["PARAMCD"]]).transform("sum")
            return flagged & (counts > 1)
        rules.append(Rule("one_baseline", STRUCTURE, "ABLFL", two_baselines,
                          "more than one ABLFL = Y for the subject and parameter"))
        if {"BASE", "AVAL"} <= cols:
            def base_not_baseline_aval(f: pd.DataFrame) -> pd.Series:
                base_rows = f[f["ABLFL"] == "Y"].drop_duplicates(["USUBJID", "PARAMCD"])
                expected = f[["USUBJID", "PARAMCD"]].merge(
                    base_rows[["USUBJID", "PARAMCD", "AVAL"]], how="left", on=["USUBJID", "PARAMCD"])["AVAL"]
                expected.index = f.index
                both = f["BASE"].notna() & expected.notna()
                return (both & ~np.isclose(f["BASE"].astype(float), expected.astype(float), rtol=0, atol=1e-9)) \
                    | (f["BASE"].isna() != expected.isna())
            rules.append(Rule("base_is_baseline_aval", STRUCTURE, "BASE", base_not_baseline_aval,
                              "BASE differs from AVAL of the subject's ABLFL = Y record"))
    if {"CHG", "AVAL", "BASE"} <= cols:
        def bad_change(f: pd.DataFrame) -> pd.Series:
            has = f["CHG"].notna()
            expected = f["AVAL"].astype(float) - f["BASE"].astype(float)
            return has & (expected.isna() | ~np.isclose(f["CHG"].astype(float), expected.fillna(0), rtol=0, atol=1e-9))
        rules.append(Rule("chg_is_aval_minus_base", STRUCTURE, "CHG", bad_change, "CHG differs from AVAL - BASE"))
    if {"PARAM", "PARAMCD"} <= cols:
        rules.append(Rule("one_param_per_paramcd", STRUCTURE, "PARAM",
                          lambda f: f.groupby("PARAMCD")["PARAM"].transform("nunique") > 1,
                          "more than one PARAM for the PARAMCD"))
    if adsl is not None and "USUBJID" in cols:
        day1 = adsl.drop_duplicates("USUBJID").set_index("USUBJID")["TRTSDT"]
        for day, when in STUDY_DAYS:
            if {day, when} <= cols:
                def inconsistent(f: pd.DataFrame, day: str = day, when: str = when) -> pd.Series:
                    expected = _day_expected(f[when], f["USUBJID"].map(day1))
                    got = pd.to_numeric(f[day], errors="coerce")
                    return (got == 0) | (got.isna() != expected.isna()) | (got.notna() & expected.notna() & (got != expected))
                rules.append(Rule("study_day", STRUCTURE, day, inconsistent,
                                  f"{day} disagrees with {when} and TRTSDT (date - TRTSDT + 1 from Day 1, "
                                  "date - TRTSDT before it, no day 0)"))
    if "CNSR" in cols:
        rules.append(Rule("cnsr_0_1", STRUCTURE, "CNSR", lambda f: ~f["CNSR"].isin([0, 1]), "CNSR is not 0 or 1"))
    if {"AVAL", "ADT", "STARTDT"} <= cols:
        def bad_duration(f: pd.DataFrame) -> pd.Series:
            days = (pd.to_datetime(f["ADT"]) - pd.to_datetime(f["STARTDT"])).dt.days
            return days.isna() | (days < 0) | (f["AVAL"].astype(float) != days)
        rules.append(Rule("aval_is_adt_minus_startdt", STRUCTURE, "AVAL", bad_duration,
                          "AVAL is not ADT - STARTDT >= 0"))
    return rules


def _schema(rules: list[Rule]) -> pa.DataFrameSchema:
    """Wide checks, one boolean per row; failing rows are read from pandera's check output
    (n_failure_cases=1 keeps pandera from unstacking every failing row)."""
    return pa.DataFrameSchema(
        checks=[pa.Check(lambda df, r=r: ~r.failing(df), name=f"{r.name}:{r.variable}", ignore_na=False,
                         n_failure_cases=1) for r in rules],
        strict=False, coerce=False)


def _shown(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def check_dataset(ds: Dataset, frame: pd.DataFrame, adsl: pd.DataFrame | None) -> list[Finding]:
    """Every finding of adam.md §4 for one dataset (reconciliation excepted: reconcile.py)."""
    findings = _metadata_findings(ds, frame)
    try:
        _column_schema(ds).validate(frame, lazy=True)
    except SchemaErrors as exc:
        for error in exc.schema_errors:
            reason = str(error.reason_code.name if error.reason_code else "")
            if reason == "COLUMN_NOT_IN_DATAFRAME":  # the schema is the frame's; the case names the column
                column, message = str(error.failure_cases), "required variable missing"
            else:
                column = str(getattr(error.schema, "name", "") or "")
                message = f"{column} {getattr(error.check, 'error', None) or error}"
            findings.append(Finding(ds.name, reason.lower() or "type", STRUCTURE, column, message=message))
    if any(f.rule == "column_not_in_dataframe" for f in findings):
        return findings  # the row rules need the variables
    rules = _rules(ds, frame, adsl)
    by_name = {f"{r.name}:{r.variable}": r for r in rules}
    try:
        _schema(rules).validate(frame, lazy=True)
    except SchemaErrors as exc:
        for error in exc.schema_errors:
            rule = by_name.get(str(getattr(error.check, "name", "")))
            if rule is None:
                findings.append(Finding(ds.name, "check_error", STRUCTURE, message=str(error)[:500]))
                continue
            output = error.check_output
            if not isinstance(output, pd.Series):
                findings.append(Finding(ds.name, rule.name, rule.outcome, rule.variable,
                                        message=f"check could not run: {error}"[:500]))
                continue
            failing = np.flatnonzero(~output.fillna(False).to_numpy(dtype=bool))
            for pos in failing:
                record = frame.iloc[pos]
                findings.append(Finding(
                    ds.name, rule.name, rule.outcome, rule.variable, row=int(pos) + 1,
                    usubjid=_shown(record.get("USUBJID")),
                    value=_shown(record.get(rule.variable)), message=rule.message))
    return findings
