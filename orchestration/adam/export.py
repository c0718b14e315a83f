"""`itp-warehouse adam`: the ADaM package of the published warehouse (adam.md §3).

Reads HOME/warehouse.duckdb read-only (schema `adam`, built by dbt with the marts), checks
every dataset (conformance.py, reconcile.py) before writing anything, then writes per
dataset an XPT v5 file, or Parquet when its text cannot go into XPT, or nothing when it breaks
a structure rule; then define.xml, define.html and conformance.csv.
Exit status: 0 every file written, 2 some XPT file withheld (the rest written), 1 nothing
could be written (no warehouse, no adam schema, no STUDYID, or every dataset refused).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.adam import conformance, reconcile
from orchestration.adam.define import DefineError, WrittenDataset, write_define
from orchestration.adam.metadata import Dataset, adam_datasets
from orchestration.adam.xpt import write_xpt

CONFORMANCE_FILE = "conformance.csv"
DEFINE_FILES = ("define.xml", "define.html")


@dataclass
class ExportResult:
    status: int                                   # 0, 2 or 1 (adam.md §3)
    out: Path
    files: list[str] = field(default_factory=list)
    withheld: dict[str, str] = field(default_factory=dict)     # xpt file -> why (Parquet written)
    refused: dict[str, str] = field(default_factory=dict)      # dataset -> why (nothing written)
    findings: list[conformance.Finding] = field(default_factory=list)
    message: str = ""

    def summary(self) -> str:
        """One line for the terminal."""
        if self.status == 1 and not self.files:
            return f"ADaM package NOT written: {self.message}"
        xpts = sum(f.endswith(".xpt") for f in self.files)
        line = f"ADaM package: {self.out} ({xpts} XPT files, define.xml, define.html, {CONFORMANCE_FILE})"
        notes = [f"{name} withheld ({why})" for name, why in self.withheld.items()]
        notes += [f"{name} not written ({why})" for name, why in self.refused.items()]
        if notes:
            line += "; " + "; ".join(notes) + f"; see {CONFORMANCE_FILE}"
        return line


def _read(conn: duckdb.DuckDBPyConnection, ds: Dataset) -> pd.DataFrame:
    columns = [r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'adam' AND table_name = ? "
        "ORDER BY ordinal_position", [ds.file_stem]).fetchall()]
    order = ", ".join(f'"{k}"' for k in ds.keys if k in columns) or "1"
    return conn.execute(f"SELECT * FROM {ds.table} ORDER BY {order}").df()


def _missing_tables(conn: duckdb.DuckDBPyConnection, datasets: tuple[Dataset, ...]) -> list[str]:
    tables = {r[0] for r in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'adam'").fetchall()}
    return [ds.table for ds in datasets if ds.file_stem not in tables]


def _study_id(adsl: pd.DataFrame) -> str | None:
    ids = set(adsl["STUDYID"].dropna()) if "STUDYID" in adsl.columns else set()
    if len(ids) != 1 or adsl["STUDYID"].isna().any():
        return None
    return ids.pop()


def _as_of(conn: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the published data were loaded (define.xml's AsOfDateTime)."""
    try:
        row = conn.execute("SELECT max(finished_at) FROM quality.load_log WHERE status = 'published'").fetchone()
    except duckdb.CatalogException:  # a warehouse built by dbt alone (tests)
        return None
    return row[0] if row and row[0] else None


def _reconciliation_findings(frames: dict[str, pd.DataFrame], summary: pd.DataFrame) -> list[conformance.Finding]:
    out = []
    for m in reconcile.compare(reconcile.recount(frames), summary):
        for name in m.datasets or ("ADSL",):
            out.append(conformance.Finding(
                name, "reconciliation", conformance.STRUCTURE, value=f"{m.endpoint}/{m.timepoint}",
                message=f"n/denominator from the ADaM datasets {m.adam} differ from marts.endpoint_summary {m.mart}"))
    return out


def _clean(out: Path, datasets: tuple[Dataset, ...]) -> None:
    """Files of an earlier run that this run may not write again (a withheld XPT must not
    survive from the last night)."""
    for ds in datasets:
        for suffix in (".xpt", ".parquet"):
            (out / f"{ds.file_stem}{suffix}").unlink(missing_ok=True)
    for name in (*DEFINE_FILES, CONFORMANCE_FILE):
        (out / name).unlink(missing_ok=True)


def _write_conformance(out: Path, findings: list[conformance.Finding]) -> None:
    with open(out / CONFORMANCE_FILE, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=conformance.FINDING_COLUMNS)
        writer.writeheader()
        for f in findings:
            writer.writerow(f.as_row())


RULE_WORDS = {"ascii": "non-ASCII text", "length_200": "values over 200 bytes"}


def _why(findings: list[conformance.Finding]) -> str:
    rules = sorted({RULE_WORDS.get(f.rule, f.rule) for f in findings})
    rows = len({f.row for f in findings if f.row is not None})
    return ", ".join(rules) + (f" in {rows} rows" if rows else "")


def export_adam(home: Path, out: Path) -> ExportResult:
    warehouse = home / "warehouse.duckdb"
    result = ExportResult(status=1, out=out)
    if not warehouse.exists():
        result.message = f"no published warehouse at {warehouse}"
        return result
    datasets = adam_datasets()
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        missing = _missing_tables(conn, datasets)
        if missing:
            result.message = (f"the published warehouse has no {', '.join(missing)}: it was built before the "
                              "ADaM models existed; the next load builds them")
            return result
        frames = {ds.name: _read(conn, ds) for ds in datasets}
        study_id = _study_id(frames["ADSL"])
        if study_id is None:
            result.message = ("the published warehouse has no STUDYID: set ITP_STUDY_ID, `study_id:` in the "
                              "site registry or `load --study-id`, and load again")
            return result
        summary = conn.execute("SELECT endpoint, timepoint, n, denominator FROM marts.endpoint_summary").df()
        as_of = _as_of(conn)

        findings: list[conformance.Finding] = []
        for ds in datasets:
            findings += conformance.check_dataset(ds, frames[ds.name], frames["ADSL"] if ds.name != "ADSL" else None)
        findings += _reconciliation_findings(frames, summary)
        result.findings = findings

        out.mkdir(parents=True, exist_ok=True)
        _clean(out, datasets)
        written: list[WrittenDataset] = []
        for ds in datasets:
            own = [f for f in findings if f.dataset == ds.name]
            structure = [f for f in own if f.outcome == conformance.STRUCTURE]
            carriage = [f for f in own if f.outcome == conformance.XPT]
            if structure:
                result.refused[ds.name] = _why(structure)
            elif carriage:
                parquet = out / f"{ds.file_stem}.parquet"
                order = ", ".join(f'"{k}"' for k in ds.keys if k in frames[ds.name].columns)
                target = str(parquet).replace("'", "''")
                conn.execute(f"COPY (SELECT * FROM {ds.table} ORDER BY {order}) TO '{target}' (FORMAT parquet)")
                why = _why(carriage)
                result.withheld[f"{ds.file_stem}.xpt"] = f"{why}; {parquet.name} written"
                written.append(WrittenDataset(ds, frames[ds.name], parquet.name,
                                              comment=f"Not in SAS Transport v5: {why} (see {CONFORMANCE_FILE}); "
                                                      f"the dataset is {parquet.name} and table {ds.table}."))
                result.files.append(parquet.name)
            else:
                write_xpt(ds, frames[ds.name], out / f"{ds.file_stem}.xpt")
                written.append(WrittenDataset(ds, frames[ds.name], f"{ds.file_stem}.xpt"))
                result.files.append(f"{ds.file_stem}.xpt")

    _write_conformance(out, findings)
    if not written:
        result.message = "every dataset broke a structure rule: " + "; ".join(
            f"{k}: {v}" for k, v in result.refused.items())
        return result
    try:
        write_define(out, study_id, written, as_of)
    except DefineError as exc:
        result.status, result.message = 1, str(exc)
        return result
    result.files += [*DEFINE_FILES, CONFORMANCE_FILE]
    result.status = 0 if not result.withheld and not result.refused else 2
    return result
