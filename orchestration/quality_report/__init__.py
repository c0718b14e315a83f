"""The monitors' quality dashboard (issue #18): one self-contained HTML file (inline CSS, charts
as data: URIs, no network) from the published warehouse, opened read-only: which site needs a
look (key risk indicators against their thresholds), checks by category and site with pass
rates, site queries by status and age, trends across the loads of quality.load_log.

Drawn with the study report's machinery (orchestration.report: the same page, cells and chart
rasterising), so the two documents look and behave alike. Plain Python: the CLI
(`itp-warehouse quality-report`) and the load's alert (orchestration.assets.publish) call
`build_quality_report`.
"""
from __future__ import annotations

import re
from pathlib import Path

from orchestration.quality_report.data import DashboardData, read_dashboard_data
from orchestration.quality_report.sections import build_sections
from orchestration.report import load_header, write_atomically
from orchestration.report.html import render_html
from orchestration.report.model import Report
from orchestration.report.warehouse import ReportError, open_published

__all__ = ["DEFAULT_FOLDER", "ReportError", "build_quality_report"]

DEFAULT_FOLDER = "quality_reports"   # under HOME: where loads write the dashboard their alert names
TITLE = "Data quality dashboard"


def build_quality_report(published: Path, out_dir: Path) -> Path:
    """Write the dashboard of the published warehouse into out_dir and return its path. Raises
    ReportError (a message for a person) when the file is not a published warehouse."""
    published = Path(published)
    with open_published(published) as conn:
        data = read_dashboard_data(conn)
    html = render_html(_report(data, published))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    load = re.sub(r"[^A-Za-z0-9_-]", "-", data.load.load_id)[:36]
    path = out_dir / f"quality-dashboard_{data.load.cutoff_date or 'no-cutoff'}_{load}.html"
    write_atomically(path, lambda tmp: tmp.write_text(html, encoding="utf-8"))
    return path


def _report(data: DashboardData, published: Path) -> Report:
    return Report(
        title=TITLE,
        **load_header(data.load, published),
        suppression_legend="For the study team and its monitors: counts are not suppressed.",
        suppress_below=0,
        sections=build_sections(data),
        notation="Red cells: a value over its threshold. % passed = checks (or rows) passing / checked.",
        footer=("Built only from the published warehouse (schemas quality and reference, marts for the protocol "
                "signals), opened read-only."),
    )
