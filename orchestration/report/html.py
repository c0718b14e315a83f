"""The HTML report: one self-contained file (inline CSS, charts as data: URIs), rendered by
Jinja2 with autoescaping, so text from site exports (file names, reasons) cannot inject markup."""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from orchestration.report.figures import chart_png_base64
from orchestration.report.model import Chart, Paragraph, Report, Table

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.tests["paragraph"] = lambda block: isinstance(block, Paragraph)
    env.tests["table"] = lambda block: isinstance(block, Table)
    env.tests["chart"] = lambda block: isinstance(block, Chart)
    env.filters["png_base64"] = chart_png_base64
    return env


def render_html(report: Report) -> str:
    return _environment().get_template("report.html.j2").render(report=report)
