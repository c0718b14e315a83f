"""Row checks (pandera) of every domain, built from `sources.domains.DOMAINS`.

Three moments, three functions:
- `check_rows`: each chunk as read, before it is stored (required values, controlled terms,
  birth year, date logic, reference-range order, doses).
- `check_snapshot`: one whole file once stored (a key twice in one snapshot).
- `check_cross_domain`: current snapshots of several domains (dosing before enrollment).

Every rule is one `RowRule`: which rows fail and the sentence a site coordinator reads. The
pandera schema of a domain is generated from its rules, so a failure found by pandera and the
message shown for it can never drift apart.

Speed (registry scale: tens of millions of rows; measured with bench/checks_micro.py):
- `failing` functions are vectorised. They used `Series.map` with a Python function per cell
  (about 1 us per cell and rule). Now: `_missing` is `isna()` plus, for text, "blank after
  strip()" as `str.isspace() | == ""` (what `str.strip() == ""` means); controlled terms and the
  withdrawal status evaluate the very same Python key function (`_text_key`) once per DISTINCT
  value (`pd.factorize`) and broadcast it back, so the decision is by construction that of the
  per-cell code. The fast paths are taken only where that holds exactly (text columns holding
  only str, numeric columns for INTEGER codes); any other column (mixed objects, categoricals...)
  still goes cell by cell through `records.is_missing` / `_text_key`.
- the rules and the pandera schema of a (domain, export date) are built once and cached.
- `_canonical_terms` maps the distinct values too (same function, same result dtype).
- failing rows: pandera turns the failing rows of a frame-wide check (and of `unique`) into
  failure cases with `DataFrame.unstack()`, ~0.3-0.8 ms per failing row; a file with thousands
  of bad rows spent seconds to minutes there. Checks keep one failure case
  (`n_failure_cases=1`) and the rows are read from the check output pandera keeps on each
  SchemaError; the snapshot key is such a check (`duplicated(keep=False)`, what pandera's
  `unique` with report_duplicates="all" runs). Row errors read the failing rows as dicts.
One behaviour differs from the per-cell code: a NaN/NA in an INTEGER controlled column (e.g.
who_grade as Int64) made `_text_key` raise (int(nan)), so the whole chunk failed as "row checks
could not run"; now the missing cell is simply not a controlled-term failure (the `required`
rule reports it). Readers never produce it (they refuse empty required cells first).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Callable, Mapping

import duckdb
import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from quality import records
from quality.quarantine import FAILURE_COLUMNS, empty_failures
from quality.records import is_missing, shown
from sources.domains import DATE, DOMAINS, INTEGER, WITHDRAWAL_REASONS, Domain
from sources.model import RowError
from sources.domains import BIRTH_YEAR_MIN


# Periods whose end may not precede their start (site-exports.md §3).
DATE_ORDER: dict[str, list[tuple[str, str]]] = {
    "dosing": [("start_date", "end_date")],
    "conmeds": [("start_date", "end_date")],
    "adverse_events": [("onset_date", "resolution_date")],
}
# Amounts that must be positive to describe an exposure at all (spec silent; a 0 or negative
# dose cannot be a dosing period).
POSITIVE: dict[str, list[str]] = {"dosing": ["dose_mg", "doses_per_day"]}


@dataclass(frozen=True)
class RowRule:
    """One row check: `failing(rows)` marks the rows that fail; `reason(row)` explains one."""
    name: str                                      # unique within a domain (pandera check name)
    check_name: str                                # quality.quarantine.check_name
    failing: Callable[[pd.DataFrame], pd.Series]
    reason: Callable[[Mapping[str, Any]], str]     # one failing row: column -> cell


# infer_dtype(skipna=True) of an object column whose cells are all scalars, none of them str:
# `isna()` is then exactly `records.is_missing` cell by cell.
_SCALAR_KINDS = frozenset({"empty", "integer", "floating", "mixed-integer-float", "decimal", "boolean",
                           "date", "datetime", "datetime64", "timedelta", "timedelta64", "time"})


def _text_only(s: pd.Series) -> bool:
    """An object/string column whose non-missing cells are all str (or that has none)."""
    if isinstance(s.dtype, pd.StringDtype):
        return True
    return s.dtype == object and infer_dtype(s, skipna=True) in ("string", "empty")


def _missing(s: pd.Series) -> pd.Series:
    """`records.is_missing` of every cell (None, NaN, NA, NaT, and str blank after strip()),
    vectorised; cells of other kinds (mixed objects, categoricals) still go one by one."""
    if isinstance(s.dtype, pd.StringDtype):
        s = s.astype(object)
    if s.dtype == object:
        if _text_only(s):
            # str.strip() == "" <=> empty or all whitespace (strip() strips what isspace() means)
            blank = (s.str.isspace() == True) | (s == "")  # noqa: E712 - NA cells compare False
            return (s.isna() | blank).astype(bool)
        if infer_dtype(s, skipna=True) in _SCALAR_KINDS:
            return s.isna().astype(bool)
    elif s.dtype.kind in "biufcmM":  # numpy and masked (Int64, Float64, boolean) numbers, datetimes
        missing = s.isna().to_numpy(dtype=bool)
        if s.dtype.kind in "fc":  # a Float64 array may hold NaN that is not masked as NA
            missing = missing | np.isnan(s.to_numpy(dtype=float, na_value=np.nan))
        return pd.Series(missing, index=s.index)
    return s.map(is_missing).astype(bool)


def _per_value(s: pd.Series, fn: Callable[[object], object], kind: str) -> np.ndarray | None:
    """`fn` of every non-missing cell, computed once per distinct value (positions of missing
    cells hold None). None when distinct-by-equality values could differ under `fn`: only
    columns of str (any `fn` of the text) and numeric columns for INTEGER codes (equal numbers
    have equal integer keys) are taken; the caller then maps cell by cell."""
    if not (_text_only(s) or (kind == INTEGER and s.dtype != object and s.dtype.kind in "biuf")):
        return None
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    per_unique = np.empty(len(uniques) + 1, dtype=object)  # last slot: missing (code -1)
    per_unique[:-1] = [fn(u) for u in uniques]
    return per_unique[codes]


def _as_dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, errors="coerce")


def _text_key(value: object, kind: str) -> str:
    """Controlled terms are compared case-insensitively; integer codes by their number."""
    if kind == INTEGER:
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value).strip().lower()
        return str(int(number)) if number == int(number) else str(number)
    return str(value).strip().lower()


def _required_rule(column: str) -> RowRule:
    return RowRule(
        name=f"required:{column}", check_name="pandera.required",
        failing=lambda df: _missing(df[column]),
        reason=lambda row: f"{column} is empty; a value is required",
    )


def _controlled_rule(column: str, allowed: tuple[str, ...], kind: str) -> RowRule:
    keys = {a.lower() for a in allowed}

    def allowed_key(v: object) -> bool:
        return _text_key(v, kind) in keys

    def failing(df: pd.DataFrame) -> pd.Series:
        values = df[column]
        missing = _missing(values)
        known = _per_value(values, allowed_key, kind)
        if known is None:
            return ~missing & ~values.map(allowed_key).astype(bool)
        return ~missing & ~pd.Series(known == True, index=values.index)  # noqa: E712 - None: missing

    return RowRule(
        name=f"controlled_term:{column}", check_name="pandera.controlled_term", failing=failing,
        reason=lambda row: f"{column} '{shown(row[column])}' is not one of: {', '.join(allowed)}",
    )


def _future_rule(column: str, export_date: date) -> RowRule:
    limit = pd.Timestamp(export_date)
    return RowRule(
        name=f"future_date:{column}", check_name="pandera.future_date",
        failing=lambda df: (_as_dates(df[column]) > limit).fillna(False).astype(bool),
        reason=lambda row: (f"{column} {shown(row[column])} is after the file's export date "
                            f"{export_date.isoformat()}; a snapshot cannot hold later dates"),
    )


def _order_rule(start: str, end: str) -> RowRule:
    return RowRule(
        name=f"date_order:{end}", check_name="pandera.date_order",
        failing=lambda df: (_as_dates(df[end]) < _as_dates(df[start])).fillna(False).astype(bool),
        reason=lambda row: f"{end} {shown(row[end])} is before {start} {shown(row[start])}",
    )


def _positive_rule(column: str) -> RowRule:
    return RowRule(
        name=f"positive:{column}", check_name="pandera.positive",
        failing=lambda df: (pd.to_numeric(df[column], errors="coerce") <= 0).fillna(False).astype(bool),
        reason=lambda row: f"{column} {shown(row[column])} must be greater than 0",
    )


def _birth_year_rule(export_date: date) -> RowRule:
    def failing(df: pd.DataFrame) -> pd.Series:
        year = pd.to_numeric(df["birth_year"], errors="coerce")
        return ((year < BIRTH_YEAR_MIN) | (year > export_date.year)).fillna(False).astype(bool)

    return RowRule(
        name="range:birth_year", check_name="pandera.birth_year", failing=failing,
        reason=lambda row: (f"birth_year {shown(row['birth_year'])} is outside "
                            f"{BIRTH_YEAR_MIN} to {export_date.year} (the export year)"),
    )


def _withdrawal_reason_rule() -> RowRule:
    def withdrawn(v: object) -> bool:
        return _text_key(v, "text") == "withdrawn"

    def failing(df: pd.DataFrame) -> pd.Series:
        status = df["status"]
        per_value = _per_value(status, withdrawn, "text")
        # a missing status reads "none"/"nan"/"<na>" to _text_key: never withdrawn
        is_withdrawn = (status.map(withdrawn).astype(bool) if per_value is None
                        else pd.Series(per_value == True, index=status.index))  # noqa: E712
        return is_withdrawn & _missing(df["reason"])

    return RowRule(
        name="withdrawal_reason", check_name="pandera.withdrawal_reason", failing=failing,
        reason=lambda row: ("status is withdrawn but reason is empty; a withdrawal needs a reason "
                            f"({', '.join(WITHDRAWAL_REASONS[:-1])} or {WITHDRAWAL_REASONS[-1]})"),
    )


def _in_row_unit(row: Mapping[str, Any], column: str) -> str:
    """A reference limit as the site wrote it."""
    value, unit = records.in_written_unit(row, column), row.get("original_unit")
    return f"{shown(value)} {unit}" if not is_missing(unit) else shown(value)


def _ref_range_rule() -> RowRule:
    def failing(df: pd.DataFrame) -> pd.Series:
        low, high = pd.to_numeric(df["ref_low"], errors="coerce"), pd.to_numeric(df["ref_high"], errors="coerce")
        return (low >= high).fillna(False).astype(bool)

    return RowRule(
        name="ref_range_order", check_name="pandera.ref_range_order", failing=failing,
        reason=lambda row: (f"ref_low {_in_row_unit(row, 'ref_low')} is not below ref_high "
                            f"{_in_row_unit(row, 'ref_high')}; the reference range must have "
                            "ref_low < ref_high"),
    )


def row_rules(domain: str, export_date: date) -> list[RowRule]:
    """Every row check of a domain, derived from its Domain description."""
    d: Domain = DOMAINS[domain]
    rules = [_required_rule(c) for c in d.required_columns]
    rules += [_controlled_rule(c.name, c.allowed, c.kind) for c in d.columns if c.allowed]
    rules += [_future_rule(c.name, export_date) for c in d.columns if c.kind == DATE]
    rules += [_order_rule(start, end) for start, end in DATE_ORDER.get(domain, [])]
    rules += [_positive_rule(c) for c in POSITIVE.get(domain, [])]
    if "birth_year" in d.spec_columns:
        rules.append(_birth_year_rule(export_date))
    if domain == "disposition":
        rules.append(_withdrawal_reason_rule())
    if {"ref_low", "ref_high"} <= set(d.spec_columns):
        rules.append(_ref_range_rule())
    return rules


def build_schema(rules: list[RowRule]) -> pa.DataFrameSchema:
    """A pandera schema whose checks are exactly `rules` (wide checks: one boolean per row).

    `n_failure_cases=1`: pandera turns the failing rows of a wide check into failure cases with
    `DataFrame.unstack()`, about 0.3 ms per failing row (pandas 2.3); a file with thousands of
    bad rows spent seconds there. The failing rows are read from the check output that pandera
    attaches to each SchemaError instead (`_failing_positions`)."""
    return pa.DataFrameSchema(
        checks=[pa.Check(lambda df, r=r: ~r.failing(df), name=r.name, ignore_na=False, n_failure_cases=1)
                for r in rules],
        coerce=False, strict=False,
    )


@lru_cache(maxsize=256)
def _domain_checks(domain: str, export_date: date) -> tuple[dict[str, RowRule], dict[str, int], pa.DataFrameSchema]:
    """The rules of a domain by name, their order, and the schema built from them (cached:
    a load checks many chunks of the same domain and export date)."""
    rules = {r.name: r for r in row_rules(domain, export_date)}
    order = {name: i for i, name in enumerate(rules)}
    return rules, order, build_schema(list(rules.values()))


def _failing_positions(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> list[tuple[int, str]]:
    """(row position, rule name) pairs that pandera reports, once each.

    Rows come from pandera's failure cases and, for a check, from the boolean output pandera
    keeps on its SchemaError (the failure cases of a check hold only its first failing row,
    see `build_schema`)."""
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        broken = cases[cases["index"].isna()]
        if len(broken):  # a check that crashed has no row index: never accept rows unchecked
            raise RuntimeError("row checks could not run: " + "; ".join(
                f"{c}: {f}" for c, f in broken[["check", "failure_case"]].drop_duplicates().itertuples(index=False)))
        pairs = {(int(i), str(c)) for i, c in cases[["index", "check"]].itertuples(index=False)}
        for error in exc.schema_errors:
            if not isinstance(error.check, pa.Check):
                continue  # e.g. `unique`: all its rows are failure cases
            output = error.check_output
            if not (isinstance(output, pd.Series) and output.dtype == bool and output.index.equals(frame.index)):
                raise RuntimeError(f"row checks could not run: {error.check.name}: no row-wise output")
            pairs.update((int(i), str(error.check.name)) for i in output.index[~output.to_numpy()])
        return sorted(pairs)
    return []


def _canonical_terms(domain: str, rows: pd.DataFrame) -> pd.DataFrame:
    """Accepted rows carry the spec's spelling of controlled terms (`m` -> `M`)."""
    for col in DOMAINS[domain].columns:
        if col.allowed and col.kind != INTEGER:
            spelling = {a.lower(): a for a in col.allowed}

            def canonical(v: object, spelling: dict[str, str] = spelling) -> object:
                return v if is_missing(v) else spelling.get(str(v).strip().lower(), v)

            values = rows[col.name]
            if values.dtype == object and infer_dtype(values, skipna=True) == "string":
                # once per distinct value; missing cells stay as they are (canonical(v) is v)
                mapped = _per_value(values, canonical, col.kind)
                keep = pd.isna(mapped)  # only missing cells (canonical never returns NA for str)
                mapped[keep] = values.to_numpy(dtype=object)[keep]
                # Series.map would keep object dtype here too: the column holds str
                rows[col.name] = pd.Series(mapped, index=rows.index, dtype=object)
            else:
                rows[col.name] = values.map(canonical)
    return rows


def check_rows(domain: str, rows: pd.DataFrame, export_date: date) -> tuple[pd.DataFrame, list[RowError]]:
    """Split a chunk into accepted rows and row errors (a row failing k checks yields k
    RowErrors with the same source_row: one quarantined row, every reason kept)."""
    d = DOMAINS[domain]
    missing = [c for c in d.raw_columns() if c not in rows.columns]
    if missing:
        raise ValueError(f"rows of {domain} lack the columns {', '.join(missing)} (reader contract)")
    frame = rows.reset_index(drop=True)
    if frame.empty:
        return frame, []
    rules, order, schema = _domain_checks(domain, export_date)
    failing = _failing_positions(schema, frame)
    bad = sorted({pos for pos, _ in failing})
    # the failing rows once, as dicts (frame.iloc[pos] of a mixed-dtype chunk and cell look-ups
    # on it cost ~0.2 ms a row); cells are the same values, shown alike by records.show
    failed = dict(zip(bad, frame.iloc[bad].to_dict("records")))
    raw_records = {pos: records.raw_record(domain, row) for pos, row in failed.items()}
    errors: list[RowError] = []
    for pos, name in sorted(failing, key=lambda f: (f[0], order[f[1]])):
        row, record = failed[pos], raw_records[pos]
        rule = rules[name]
        errors.append(RowError(
            source_row=int(row["source_row"]), check_name=rule.check_name, reason=rule.reason(row),
            raw_record=dict(record),
            subject_id=None if is_missing(row["subject_id"]) else str(row["subject_id"]),
        ))
    accepted = frame.drop(index=bad).reset_index(drop=True)
    return _canonical_terms(domain, accepted), errors


def _describe_key(key: tuple[str, ...], values: tuple) -> str:
    return ", ".join(f"{k} {shown(v)}" for k, v in zip(key, values))


@lru_cache(maxsize=16)
def _unique_key_schema(key: tuple[str, ...]) -> pa.DataFrameSchema:
    """What `DataFrameSchema(unique=key, report_duplicates="all")` decides (pandera runs
    `duplicated(subset=key, keep=False)`), as a check: pandera's own `unique` reshapes every
    duplicate row into failure cases with `DataFrame.unstack()` (~0.8 ms a row); the check's
    rows come from its output (`_failing_positions`)."""
    return pa.DataFrameSchema(checks=[pa.Check(
        lambda df: ~df.duplicated(subset=list(key), keep=False), name="unique_key", ignore_na=False,
        n_failure_cases=1)], coerce=False, strict=False)


def check_snapshot(conn: duckdb.DuckDBPyConnection, domain: str, sha256: str) -> pd.DataFrame:
    """Rows of one stored file whose key (`DOMAINS[domain].key`) occurs more than once.

    ALL copies fail (documented decision): a snapshot holding two different answers for one
    subject or one lab result is ambiguous and we never guess which copy is right; the site
    sends a corrected export. Only the key columns are read, so memory stays bounded.
    Returns failures for `quarantine.move_to_quarantine`.
    """
    key = DOMAINS[domain].key
    keys = conn.execute(
        f"SELECT source_row, {', '.join(key)} FROM raw.{domain} WHERE source_sha256 = ? ORDER BY source_row",
        [sha256]).df()
    if keys.empty:
        return empty_failures()
    dup_positions = sorted({p for p, _ in _failing_positions(_unique_key_schema(key), keys)})
    if not dup_positions:
        return empty_failures()
    dups = keys.iloc[dup_positions]
    out = []
    for values, group in dups.groupby(list(key), sort=False, dropna=False):
        values = values if isinstance(values, tuple) else (values,)
        rows = ", ".join(str(r) for r in group["source_row"])
        reason = (f"{_describe_key(key, values)} appears {len(group)} times in this file (rows {rows}); "
                  f"it must be unique within a snapshot. All copies are held back because we cannot "
                  "tell which one is right; please correct the export")
        out += [(sha256, int(r), "pandera.unique_key", reason) for r in group["source_row"]]
    return pd.DataFrame(out, columns=FAILURE_COLUMNS)


def _dosing_before_enrollment() -> RowRule:
    return RowRule(
        name="dosing_after_enrollment", check_name="pandera.dosing_before_enrollment",
        failing=lambda df: (_as_dates(df["start_date"]) < _as_dates(df["enrollment_date"])).fillna(False).astype(bool),
        reason=lambda row: (f"start_date {shown(row['start_date'])} is before the subject's enrollment_date "
                            f"{shown(row['enrollment_date'])} (in {row['subjects_file']}); dosing cannot "
                            "start before enrollment"),
    )


def check_cross_domain(conn: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """Checks across domains on the CURRENT snapshots: domain -> failures to move.

    A dosing row starting before its subject's enrollment is quarantined (the dosing row, not
    the subject: enrollment is the reference). If the site later corrects the subjects file
    instead, the dosing row comes back with the site's next dosing snapshot.
    """
    joined = conn.execute(
        """SELECT d.source_sha256, d.source_row, d.start_date, s.enrollment_date,
                  sm.file_name AS subjects_file
           FROM raw.dosing AS d
           JOIN quality.file_manifest AS dm ON dm.sha256 = d.source_sha256 AND dm.site_id = d.site_id
                AND dm.domain = 'dosing' AND dm.is_current
           JOIN raw.subjects AS s ON s.site_id = d.site_id AND s.subject_id = d.subject_id
           JOIN quality.file_manifest AS sm ON sm.sha256 = s.source_sha256 AND sm.site_id = s.site_id
                AND sm.domain = 'subjects' AND sm.is_current
           ORDER BY d.source_sha256, d.source_row""").df()
    if joined.empty:
        return {"dosing": empty_failures()}
    rule = _dosing_before_enrollment()
    positions = sorted({p for p, _ in _failing_positions(build_schema([rule]), joined)})
    rows = joined.iloc[positions].to_dict("records")
    out = [(row["source_sha256"], int(row["source_row"]), rule.check_name, rule.reason(row)) for row in rows]
    return {"dosing": pd.DataFrame(out, columns=FAILURE_COLUMNS) if out else empty_failures()}
