"""Everything the report reads, as SQL on the published warehouse opened read-only.

The report derives nothing: endpoint figures come from `marts.endpoint_summary` as they are;
the other tables are descriptive counts and quartiles over the marts (and the quality tables),
grouped the way the report prints them. Each query returns small frozen rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from orchestration.percentages import percent

REQUIRED_TABLES: dict[str, tuple[str, ...]] = {
    "marts": ("endpoint_summary", "dim_subject", "patient_month", "fct_lab_result",
              "endpoint_initial_response", "endpoint_response_duration", "safety_signal"),
    "quality": ("file_manifest", "quarantine", "site_query", "load_log"),
}


class ReportError(RuntimeError):
    """The report cannot be built from this file; the message says why, for a person."""


@dataclass(frozen=True)
class LoadInfo:
    load_id: str
    cutoff_date: date | None
    started_at: datetime | None
    finished_at: datetime | None
    status: str | None


@dataclass(frozen=True)
class EndpointRow:
    endpoint: str
    timepoint: str
    n: int
    denominator: int
    pct: Decimal | None
    n_not_determinable: int = 0   # lab endpoints: subjects left open by `<x`/`>x` results


@dataclass(frozen=True)
class SubjectStatus:
    current_status: str | None
    withdrawal_reason: str | None
    n: int


@dataclass(frozen=True)
class BaselineGroup:
    site_id: str | None          # None = all sites
    n_treated: int
    n_male: int
    pct_male: Decimal | None
    n_female: int
    pct_female: Decimal | None
    n_sex_missing: int
    age_n: int
    age_median: float | None
    age_q1: float | None
    age_q3: float | None
    plt_n: int
    plt_median: float | None
    plt_q1: float | None
    plt_q3: float | None
    plt_missing: int


@dataclass(frozen=True)
class CategoryCount:
    category: str
    n: int
    n_confirmed: int


@dataclass(frozen=True)
class Responder:
    """A row of `marts.endpoint_response_duration` with the subject's exposure (dim_subject),
    for the Kaplan–Meier estimate and the swimmer plot."""
    site_id: str
    subject_id: str
    start_study_day: int | None
    start_response: str | None
    duration_days: int
    censored: bool
    exposure_days: int | None

    @property
    def end_study_day(self) -> int | None:
        """Study day of the loss (or of the last sample, when censored): start + duration.
        Both dates are after Day 1, where study days count calendar days one to one."""
        return None if self.start_study_day is None else self.start_study_day + self.duration_days


@dataclass(frozen=True)
class MonthQuartiles:
    treatment_month: int
    n_subjects: int
    median: float | None
    q1: float | None
    q3: float | None


@dataclass(frozen=True)
class GradeCount:
    group: str        # a lab test code, or "AE" for adverse events
    grade: int
    n: int


@dataclass(frozen=True)
class SignalCount:
    signal: str
    n_subjects: int
    n_rows: int


@dataclass(frozen=True)
class FileStatusCount:
    site_id: str | None
    status: str
    n_files: int
    rows_read: int
    rows_accepted: int
    rows_quarantined: int


@dataclass(frozen=True)
class RefusedFile:
    file_name: str
    site_id: str | None
    reason: str | None


@dataclass(frozen=True)
class QuarantineCount:
    site_id: str | None
    domain: str
    check_name: str
    n_current: int
    n_all: int


@dataclass(frozen=True)
class QueryCount:
    site_id: str | None
    domain: str | None
    check_name: str | None   # None in the per-site totals
    n_open: int
    n_resolved: int


@dataclass(frozen=True)
class ReportData:
    load: LoadInfo
    endpoints: list[EndpointRow]
    n_subjects: int
    statuses: list[SubjectStatus]
    baseline: list[BaselineGroup]
    initial_categories: list[CategoryCount]
    responders: list[Responder]
    platelets_by_month: list[MonthQuartiles]
    lab_worst_grades: list[GradeCount]
    ae_worst_grades: list[GradeCount]
    signals: list[SignalCount]
    files: list[FileStatusCount]
    refused_files: list[RefusedFile]
    quarantine: list[QuarantineCount]
    queries_by_site: list[QueryCount]
    open_queries_by_check: list[QueryCount]


Row = TypeVar("Row")


def _rows(conn: duckdb.DuckDBPyConnection, cls: type[Row], sql: str) -> list[Row]:
    return [cls(*r) for r in conn.execute(sql).fetchall()]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def open_published(published: Path) -> duckdb.DuckDBPyConnection:
    """Read-only: the report must never be able to change what analysts read, and a read-only
    connection also coexists with other readers of the file."""
    if not published.is_file():
        raise ReportError(f"no published warehouse at {published}: run a load first "
                          "(itp-warehouse load or itp-warehouse demo)")
    try:
        conn = duckdb.connect(str(published), read_only=True)
    except duckdb.Error as exc:
        raise ReportError(f"{published} is not a readable DuckDB warehouse: {exc}") from exc
    present = {(s, t) for s, t in conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables").fetchall()}
    missing = [f"{s}.{t}" for s, tables in REQUIRED_TABLES.items() for t in tables if (s, t) not in present]
    if missing:
        conn.close()
        raise ReportError(f"{published} is not a complete published warehouse: missing "
                          + ", ".join(missing))
    return conn


def read_report_data(conn: duckdb.DuckDBPyConnection) -> ReportData:
    return ReportData(
        load=_load_info(conn),
        endpoints=_rows(conn, EndpointRow, """
            SELECT endpoint, timepoint, n, denominator, pct, n_not_determinable FROM marts.endpoint_summary"""),
        n_subjects=conn.execute("SELECT count(*) FROM marts.dim_subject").fetchone()[0],
        statuses=_rows(conn, SubjectStatus, """
            SELECT current_status, withdrawal_reason, count(*)
            FROM marts.dim_subject WHERE is_treated
            GROUP BY ALL ORDER BY current_status NULLS LAST, withdrawal_reason NULLS LAST"""),
        baseline=_baseline(conn),
        initial_categories=_rows(conn, CategoryCount, """
            SELECT best_response, count(*), count(*) FILTER (WHERE confirmed)
            FROM marts.endpoint_initial_response GROUP BY ALL"""),
        responders=_rows(conn, Responder, """
            SELECT r.site_id, r.subject_id, r.start_study_day, r.start_response, r.duration_days,
                   r.censored, d.exposure_days
            FROM marts.endpoint_response_duration AS r
            LEFT JOIN marts.dim_subject AS d USING (site_id, subject_id)
            ORDER BY r.site_id, r.subject_id"""),
        platelets_by_month=_platelets_by_month(conn),
        lab_worst_grades=_rows(conn, GradeCount, """
            WITH worst AS (
                SELECT site_id, subject_id, test_code, max(ctcae_grade) AS grade
                FROM marts.fct_lab_result
                WHERE is_post_baseline AND ctcae_grade IS NOT NULL
                GROUP BY ALL)
            SELECT test_code, grade, count(*) FROM worst GROUP BY ALL ORDER BY ALL"""),
        ae_worst_grades=_rows(conn, GradeCount, """
            WITH worst AS (
                SELECT site_id, subject_id, max(max_ae_grade) AS grade
                FROM marts.patient_month GROUP BY ALL)
            SELECT 'AE', grade, count(*) FROM worst WHERE grade IS NOT NULL
            GROUP BY ALL ORDER BY ALL"""),
        signals=_rows(conn, SignalCount, """
            SELECT signal, count(DISTINCT (site_id, subject_id)), count(*)
            FROM marts.safety_signal GROUP BY ALL ORDER BY signal"""),
        files=_rows(conn, FileStatusCount, """
            SELECT site_id, status, count(*), coalesce(sum(rows_read), 0),
                   coalesce(sum(rows_accepted), 0), coalesce(sum(rows_quarantined), 0)
            FROM quality.file_manifest GROUP BY ALL ORDER BY site_id NULLS LAST, status"""),
        refused_files=_rows(conn, RefusedFile, """
            SELECT file_name, site_id, reason FROM quality.file_manifest
            WHERE status = 'refused' ORDER BY loaded_at, file_name"""),
        quarantine=_rows(conn, QuarantineCount, """
            SELECT site_id, domain, check_name,
                   count(*) FILTER (WHERE EXISTS (
                       SELECT 1 FROM quality.file_manifest AS m WHERE m.is_current
                       AND m.sha256 = q.sha256 AND m.site_id = q.site_id AND m.domain = q.domain)),
                   count(*)
            FROM quality.quarantine AS q
            GROUP BY ALL ORDER BY site_id NULLS LAST, domain, check_name"""),
        queries_by_site=_rows(conn, QueryCount, """
            SELECT site_id, NULL, NULL, count(*) FILTER (WHERE status = 'open'),
                   count(*) FILTER (WHERE status = 'resolved')
            FROM quality.site_query GROUP BY site_id ORDER BY site_id NULLS LAST"""),
        open_queries_by_check=_rows(conn, QueryCount, """
            SELECT site_id, domain, check_name, count(*), 0
            FROM quality.site_query WHERE status = 'open'
            GROUP BY ALL ORDER BY site_id NULLS LAST, domain, check_name"""),
    )


def _load_info(conn: duckdb.DuckDBPyConnection) -> LoadInfo:
    """The load that published this file: the latest `published` row of its own load log."""
    row = conn.execute("""
        SELECT load_id, cutoff_date, started_at, finished_at, status FROM quality.load_log
        ORDER BY status = 'published' DESC, started_at DESC LIMIT 1""").fetchone()
    if row is None:
        raise ReportError("quality.load_log is empty: this warehouse was never published by a load")
    return LoadInfo(*row)


load_info = _load_info   # the load that published a file, for other readers of it (the quality dashboard)


def _baseline(conn: duckdb.DuckDBPyConnection) -> list[BaselineGroup]:
    rows = conn.execute("""
        SELECT
            CASE WHEN grouping(site_id) = 1 THEN NULL ELSE site_id END,
            count(*),
            count(*) FILTER (WHERE sex = 'M'),
            count(*) FILTER (WHERE sex = 'F'),
            count(*) FILTER (WHERE sex IS NULL),
            count(age_at_day1),
            quantile_cont(age_at_day1, 0.5), quantile_cont(age_at_day1, 0.25),
            quantile_cont(age_at_day1, 0.75),
            count(baseline_plt),
            quantile_cont(baseline_plt, 0.5), quantile_cont(baseline_plt, 0.25),
            quantile_cont(baseline_plt, 0.75),
            count(*) - count(baseline_plt)
        FROM marts.dim_subject
        WHERE is_treated
        GROUP BY GROUPING SETS ((site_id), ())
        ORDER BY grouping(site_id), site_id""").fetchall()
    # Percentages by the marts' one rule (orchestration.percentages), never round() on a double.
    return [BaselineGroup(r[0], r[1], r[2], percent(r[2], r[1]), r[3], percent(r[3], r[1]), r[4], r[5],
                          _float(r[6]), _float(r[7]), _float(r[8]), r[9], _float(r[10]),
                          _float(r[11]), _float(r[12]), r[13]) for r in rows]


def _platelets_by_month(conn: duckdb.DuckDBPyConnection) -> list[MonthQuartiles]:
    """One value per subject and month (the month's last PLT, `patient_month.plt_last`), so a
    subject sampled weekly weighs no more than one sampled monthly."""
    rows = conn.execute("""
        SELECT treatment_month, count(plt_last),
               quantile_cont(plt_last, 0.5), quantile_cont(plt_last, 0.25),
               quantile_cont(plt_last, 0.75)
        FROM marts.patient_month
        WHERE plt_last IS NOT NULL
        GROUP BY treatment_month ORDER BY treatment_month""").fetchall()
    return [MonthQuartiles(r[0], r[1], _float(r[2]), _float(r[3]), _float(r[4])) for r in rows]
