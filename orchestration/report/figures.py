"""Charts drawn onto matplotlib Figures without pyplot: no global figure registry, no GUI
backend, nothing left open between reports (the Agg canvas is attached explicitly)."""
from __future__ import annotations

import base64
import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from orchestration.report.model import Chart

HTML_WIDTH_IN = 8.0
HTML_DPI = 120


def chart_figure(chart: Chart, width_in: float) -> Figure:
    fig = Figure(figsize=(width_in, width_in * chart.aspect), layout="constrained")
    FigureCanvasAgg(fig)
    chart.draw(fig.add_subplot())
    return fig


def chart_png(chart: Chart, width_in: float, dpi: int) -> bytes:
    buffer = io.BytesIO()
    chart_figure(chart, width_in).savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def chart_png_base64(chart: Chart) -> str:
    """A self-contained image for the HTML report (a data: URI needs no side file)."""
    return base64.b64encode(chart_png(chart, HTML_WIDTH_IN, HTML_DPI)).decode("ascii")
