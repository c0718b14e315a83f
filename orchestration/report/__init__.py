"""The study report (HTML and PDF), built only from the published warehouse.

Plain Python (no Dagster): the CLI calls `build_report`; a schedule could too. Charts use
matplotlib's Agg canvas attached to each Figure explicitly (never pyplot), so building a report
changes no process-wide backend or figure state of the caller.
"""
from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from orchestration.report.cells import Suppression
from orchestration.report.html import render_html
from orchestration.report.model import Report
from orchestration.report.pdf import render_pdf
from orchestration.report.sections import build_sections
from orchestration.report.warehouse import LoadInfo, ReportData, ReportError, open_published, read_report_data

__all__ = ["ReportError", "build_report"]

REPORT_MODE = 0o644  # mkstemp creates 0600; reports are meant to be read by the study team
TITLE = "Iguratimod in immune thrombocytopenia: study report"


def build_report(published: Path, out_dir: Path, *, suppress_below: int = 0) -> list[Path]:
    """Write the HTML and the PDF report of the published warehouse into out_dir and return
    their paths [html, pdf]. Raises ReportError (a message for a person) when the file is not
    a published warehouse."""
    fmt = Suppression(suppress_below)
    with open_published(Path(published)) as conn:
        data = read_report_data(conn)
    report = _report(data, fmt, Path(published))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = _stem(data, fmt)
    html_path = out_dir / f"{stem}.html"
    pdf_path = out_dir / f"{stem}.pdf"
    html = render_html(report)
    _write_atomically(html_path, lambda tmp: tmp.write_text(html, encoding="utf-8"))
    _write_atomically(pdf_path, lambda tmp: render_pdf(report, tmp))
    return [html_path, pdf_path]


def load_header(load: LoadInfo, published: Path) -> dict[str, str]:
    """The facts heading every document built from a published warehouse (the study report,
    the quality dashboard): which load, which cutoff, when, from which file."""
    return dict(
        load_id=load.load_id,
        cutoff=str(load.cutoff_date) if load.cutoff_date else "not recorded",
        load_finished=f"{load.finished_at:%Y-%m-%d %H:%M}" if load.finished_at else "not recorded",
        generated_at=f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        source=str(published.resolve()),
    )


def _report(data: ReportData, fmt: Suppression, published: Path) -> Report:
    return Report(
        title=TITLE,
        **load_header(data.load, published),
        suppression_legend=fmt.legend(),
        suppress_below=fmt.below,
        sections=build_sections(data, fmt),
    )


def _stem(data: ReportData, fmt: Suppression) -> str:
    """One name per (cutoff, load, suppression): reports of other loads are kept, and a
    suppressed copy never overwrites the team's full one."""
    cutoff = data.load.cutoff_date or "no-cutoff"
    load = re.sub(r"[^A-Za-z0-9_-]", "-", data.load.load_id)[:36]
    suffix = f"_suppressed-below-{fmt.below}" if fmt.active else ""
    return f"study-report_{cutoff}_{load}{suffix}"


def _write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """A reader never sees half a report: write a sibling temp file, then rename over."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        tmp.chmod(REPORT_MODE)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


write_atomically = _write_atomically   # for the other documents written beside reports (the quality dashboard)
