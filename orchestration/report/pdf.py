"""The PDF report: the same sections as the HTML, laid out on A4 pages with matplotlib alone
(PdfPages), so `make demo` needs no browser. Text and tables are drawn as PDF text (TrueType,
searchable); charts are drawn as vectors by the same functions the HTML uses.

Layout is a simple top-to-bottom flow: a block that does not fit starts a new page, and a table
longer than a page continues on the next one with its header repeated.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from orchestration.report.cells import Cell
from orchestration.report.model import Chart, Paragraph, Report, Table

PAGE_W, PAGE_H = 8.27, 11.69          # A4, inches
MARGIN = 0.6
CONTENT_W = PAGE_W - 2 * MARGIN
BOTTOM = PAGE_H - MARGIN - 0.3        # room for the footer
PROSE_CHAR_W = 0.52 / 72              # average DejaVu Sans glyph width per point (prose), inches
CELL_CHAR_W = 0.60 / 72               # per point in table cells: digits and capitals are wider
BOLD = 1.08                           # bold glyphs are wider than regular ones
TABLE_PT = 7.0
TEXT_PT = 8.5
LINE = 1.35                           # line height as a multiple of the font size
CELL_PAD = 0.06
MAX_COLUMN_CHARS = 48


def _line_h(pt: float) -> float:
    return pt * LINE / 72


def _chars(width_in: float, pt: float, char_w: float = PROSE_CHAR_W) -> int:
    return max(4, int(width_in / (char_w * pt) + 1e-6))


@dataclass
class _Column:
    width: float      # inches
    numeric: bool


@dataclass
class PdfFlow:
    pages: PdfPages
    report: Report
    fig: Figure | None = None
    y: float = 0.0                    # inches from the top of the page
    page_no: int = 0

    # ---------------------------------------------------------------- pages

    def new_page(self) -> None:
        self.finish_page()
        self.fig = Figure(figsize=(PAGE_W, PAGE_H))
        FigureCanvasAgg(self.fig)
        self.page_no += 1
        self.y = MARGIN
        footer = (f"{self.report.title} · data cutoff {self.report.cutoff} · load {self.report.load_id}"
                  f" · page {self.page_no}")
        self._text(MARGIN, PAGE_H - MARGIN + 0.05, footer, 6.5, color="#5a6673")

    def finish_page(self) -> None:
        if self.fig is not None:
            self.pages.savefig(self.fig)
            self.fig = None

    def ensure(self, height: float) -> None:
        if self.fig is None or self.y + height > BOTTOM:
            self.new_page()

    def _text(self, x: float, y: float, s: str, pt: float, **kw) -> None:
        assert self.fig is not None
        self.fig.text(x / PAGE_W, 1 - y / PAGE_H, s, fontsize=pt, va="top", **kw)

    # ---------------------------------------------------------------- blocks

    def lines(self, text: str, pt: float, *, weight: str = "normal", color: str = "#1d2630",
              gap_after: float = 0.06) -> None:
        for line in textwrap.wrap(text, _chars(CONTENT_W, pt)) or [""]:
            self.ensure(_line_h(pt))
            self._text(MARGIN, self.y, line, pt, weight=weight, color=color)
            self.y += _line_h(pt)
        self.y += gap_after

    def heading(self, text: str, pt: float) -> None:
        self.ensure(_line_h(pt) + 2.0)     # never a heading alone at the foot of a page
        self.y += 0.12
        self.lines(text, pt, weight="bold", gap_after=0.04)
        assert self.fig is not None
        self.fig.add_artist(Line2D(
            [MARGIN / PAGE_W, (PAGE_W - MARGIN) / PAGE_W], [1 - self.y / PAGE_H] * 2,
            color="#1f5fa8", linewidth=0.8))
        self.y += 0.08

    def paragraph(self, block: Paragraph) -> None:
        self.lines(block.text, TEXT_PT)

    def table(self, block: Table) -> None:
        columns = _columns(block)
        header = [Cell(h) for h in block.header]
        header_h = _row_height(header, columns, bold=True)
        first_row = _row_height(block.rows[0], columns) if block.rows else 0.0
        self.ensure(_line_h(TEXT_PT) + header_h + first_row)
        self.lines(block.caption, TEXT_PT, weight="bold", gap_after=0.02)
        self._row(header, columns, header=True)
        for row in block.rows:
            if self.y + _row_height(row, columns) > BOTTOM:
                self.new_page()
                self.lines(block.caption + " (continued)", TEXT_PT, weight="bold", gap_after=0.02)
                self._row(header, columns, header=True)
            self._row(row, columns)
        if block.note:
            self.lines(block.note, TABLE_PT, color="#5a6673")
        self.y += 0.1

    def _row(self, cells: list[Cell], columns: list[_Column], *, header: bool = False) -> None:
        assert self.fig is not None
        height = _row_height(cells, columns, bold=header)
        x = MARGIN
        if header:
            self.fig.add_artist(Rectangle(
                (MARGIN / PAGE_W, 1 - (self.y + height) / PAGE_H), sum(c.width for c in columns) / PAGE_W,
                height / PAGE_H, facecolor="#eef2f6", edgecolor="none"))
        for cell, col in zip(cells, columns):
            wrapped = _wrap(cell.text, col.width, bold=header)
            right = col.numeric and not header
            self._text((x + col.width - CELL_PAD) if right else (x + CELL_PAD), self.y + CELL_PAD / 2,
                       "\n".join(wrapped), TABLE_PT, ha="right" if right else "left",
                       weight="bold" if header else "normal", linespacing=LINE)
            x += col.width
        self.y += height
        self.fig.add_artist(Line2D(
            [MARGIN / PAGE_W, x / PAGE_W], [1 - self.y / PAGE_H] * 2, color="#c9d2dc", linewidth=0.5))

    def chart(self, block: Chart) -> None:
        height = CONTENT_W * block.aspect
        self.ensure(_line_h(TEXT_PT) + height + 0.1)
        self.lines(block.caption, TEXT_PT, weight="bold", gap_after=0.04)
        assert self.fig is not None
        box = (MARGIN / PAGE_W, 1 - (self.y + height) / PAGE_H, CONTENT_W / PAGE_W, height / PAGE_H)
        ax = self.fig.add_axes(box)
        block.draw(ax)
        _fit_into(ax, self.fig, box)
        self.y += height + 0.15


def _columns(block: Table) -> list[_Column]:
    """Widths from the longest text of each column (capped, long text wraps), scaled down to
    the page width when the natural widths do not fit."""
    n = len(block.header)
    texts = [[(block.header[i], BOLD)] + [(r[i].text, 1.0) for r in block.rows] for i in range(n)]
    natural = [_width(min(MAX_COLUMN_CHARS, max(len(t) * f for t, f in col))) for col in texts]
    # Shrink only what can wrap: no column gets narrower than its longest word.
    least = [min(w, _width(max(len(word) * f for t, f in col for word in (t.split() or [""])))) for w, col in
             zip(natural, texts)]
    spare = sum(natural) - sum(least)
    k = 1.0 if sum(natural) <= CONTENT_W or spare <= 0 else max(0.0, (CONTENT_W - sum(least)) / spare)
    numeric = [bool(block.rows) and all(r[i].numeric or not r[i].text for r in block.rows) for i in range(n)]
    return [_Column(lo + (w - lo) * k, num) for w, lo, num in zip(natural, least, numeric)]


def _width(chars: float) -> float:
    return chars * CELL_CHAR_W * TABLE_PT + 2 * CELL_PAD


def _wrap(text: str, width: float, *, bold: bool = False) -> list[str]:
    chars = _chars(width - 2 * CELL_PAD, TABLE_PT * (BOLD if bold else 1.0), CELL_CHAR_W)
    return textwrap.wrap(text, chars, break_long_words=True) or [""]


def _row_height(cells: list[Cell], columns: list[_Column], *, bold: bool = False) -> float:
    n_lines = max(len(_wrap(c.text, col.width, bold=bold)) for c, col in zip(cells, columns))
    return n_lines * _line_h(TABLE_PT) + CELL_PAD


def _fit_into(ax, fig: Figure, box: tuple[float, float, float, float]) -> None:
    """Shrink the axes so its labels, ticks and legend stay inside the box (what constrained
    layout does for a whole figure, done here for one axes on a shared page)."""
    renderer = fig.canvas.get_renderer()
    fig_w, fig_h = fig.bbox.width, fig.bbox.height
    tight = ax.get_tightbbox(renderer)
    inner = ax.get_window_extent(renderer)
    left = (inner.x0 - tight.x0) / fig_w
    right = (tight.x1 - inner.x1) / fig_w
    bottom = (inner.y0 - tight.y0) / fig_h
    top = (tight.y1 - inner.y1) / fig_h
    x, y, w, h = box
    ax.set_position((x + left, y + bottom, max(0.05, w - left - right), max(0.05, h - bottom - top)))


def render_pdf(report: Report, path: Path) -> None:
    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(path, metadata={
            "Title": f"{report.title}, data cutoff {report.cutoff}",
            "Subject": f"load {report.load_id}", "Creator": "itp-warehouse"}) as pages:
        flow = PdfFlow(pages, report)
        flow.new_page()
        flow.lines(report.title, 16, weight="bold", gap_after=0.1)
        for _, label, value in report.facts:
            flow.lines(f"{label}: {value}", TEXT_PT, gap_after=0.0)
        flow.y += 0.08
        flow.lines(report.suppression_legend, TEXT_PT, color="#1f5fa8")
        flow.lines(report.notation, TEXT_PT, color="#1f5fa8")
        for section in report.sections:
            flow.heading(section.title, 12)
            for block in section.blocks:
                if isinstance(block, Paragraph):
                    flow.paragraph(block)
                elif isinstance(block, Table):
                    flow.table(block)
                elif isinstance(block, Chart):
                    flow.chart(block)
        flow.finish_page()
