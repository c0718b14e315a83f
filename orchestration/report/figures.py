"""Charts drawn onto matplotlib Figures without pyplot: no global figure registry, no GUI
backend, nothing left open between reports (the Agg canvas is attached explicitly)."""
from __future__ import annotations

import base64
import functools
import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from orchestration.report.model import Chart

# One raster per chart serves both renderers: 8 inches at 180 dpi is sharp in the browser (shown
# at most 960 CSS px wide, so on high-density screens too) and ~200 dpi on the PDF's 7-inch
# column; drawing each chart once halves the report's build time.
WIDTH_IN = 8.0
DPI = 180


def chart_figure(chart: Chart, width_in: float) -> Figure:
    fig = Figure(figsize=(width_in, width_in * chart.aspect), layout="constrained")
    FigureCanvasAgg(fig)
    chart.draw(fig.add_subplot())
    return fig


@functools.lru_cache(maxsize=32)
def chart_png(chart: Chart) -> bytes:
    """The chart as PNG, drawn once for the HTML and the PDF of one report (a Chart is frozen
    and its drawing function is new with every report, so a cached image never goes stale)."""
    buffer = io.BytesIO()
    chart_figure(chart, WIDTH_IN).savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def chart_png_base64(chart: Chart) -> str:
    """A self-contained image for the HTML report (a data: URI needs no side file)."""
    return base64.b64encode(chart_png(chart)).decode("ascii")
