"""The PDF report: the same sections as the HTML, laid out on A4 pages by reportlab's platypus
(a layout engine made for documents), so text is measured with the fonts' real metrics and
every table cell wraps inside its column: long site names, file names and Chinese text never
run over the margin.

Fonts: DejaVu Sans (the TrueType files matplotlib ships, embedded as subsets) for everything
it has a glyph for, and reportlab's built-in CID font STSong-Light (Adobe-GB1, simplified
Chinese) for the rest; the CID font needs no font file here and is not embedded: PDF viewers
supply it (Acrobat, PDF.js, Chromium, poppler with a Chinese font installed).

Charts are the HTML's images (one raster per chart, ~200 dpi on the page).
"""
from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (BaseDocTemplate, Flowable, Frame, HRFlowable, Image, PageTemplate,
                                Paragraph as PdfParagraph, Spacer, Table as PdfTable, TableStyle)

from orchestration.report.figures import chart_png
from orchestration.report.model import Chart, Paragraph, Report, Table

PAGE_W, PAGE_H = A4                       # points
MARGIN = 0.6 * inch
FOOTER_H = 0.35 * inch
FRAME_W = PAGE_W - 2 * MARGIN
FRAME_H = PAGE_H - 2 * MARGIN - FOOTER_H

FONT, FONT_BOLD, CJK_FONT = "DejaVuSans", "DejaVuSans-Bold", "STSong-Light"
TEXT_PT, TABLE_PT, NOTE_PT, FOOTER_PT = 8.5, 7.0, 7.0, 6.5
LEADING = 1.3                              # line height / font size
CELL_PAD = 3.0                             # points left and right of a cell's text
MAX_COLUMN_W = 2.6 * inch                  # longer text wraps
INK, GREY, BLUE = colors.HexColor("#1d2630"), colors.HexColor("#5a6673"), colors.HexColor("#1f5fa8")


# ---------------------------------------------------------------------------- fonts and text

@functools.cache
def _fonts() -> frozenset[int]:
    """Register the fonts once per process; returns the code points DejaVu Sans has a glyph for."""
    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    regular = TTFont(FONT, str(ttf / "DejaVuSans.ttf"))
    pdfmetrics.registerFont(regular)
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(ttf / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    return frozenset(regular.face.charToGlyph)


def _runs(text: str) -> Iterator[tuple[str | None, str]]:
    """Split text into runs of one font: (None, run) for DejaVu, (CJK_FONT, run) for characters
    DejaVu has no glyph for (Chinese text from site exports: reasons, file names, drug names)."""
    covered = _fonts()
    run, run_font = "", None
    for ch in text:
        font = None if ord(ch) in covered or ch.isspace() else CJK_FONT
        if run and font != run_font:
            yield run_font, run
            run = ""
        run, run_font = run + ch, font
    if run:
        yield run_font, run


def markup(text: str) -> str:
    """Paragraph markup of plain text: escaped (text from site exports is never markup) and
    with each CJK run set in the CJK font."""
    return "".join(escape(run) if font is None else f'<font face="{font}">{escape(run)}</font>'
                   for font, run in _runs(text))


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Width in points of one line of text, measured with the fonts' own metrics."""
    return sum(pdfmetrics.stringWidth(run, font or (FONT_BOLD if bold else FONT), size)
               for font, run in _runs(text))


def _longest_word(text: str, size: float, *, bold: bool = False) -> float:
    return max((text_width(word, size, bold=bold) for word in text.split()), default=0.0)


@functools.cache
def _style(name: str) -> ParagraphStyle:
    _fonts()
    base = ParagraphStyle("base", fontName=FONT, fontSize=TEXT_PT, leading=TEXT_PT * LEADING,
                          textColor=INK, spaceAfter=4)
    styles = {
        "title": ParagraphStyle("title", base, fontName=FONT_BOLD, fontSize=16, leading=20, spaceAfter=6),
        "fact": ParagraphStyle("fact", base, spaceAfter=0),
        "legend": ParagraphStyle("legend", base, textColor=BLUE, spaceBefore=4),
        "heading": ParagraphStyle("heading", base, fontName=FONT_BOLD, fontSize=12, leading=15,
                                  spaceBefore=12, spaceAfter=1, keepWithNext=1),
        "text": ParagraphStyle("text", base, keepWithNext=1),   # a section's intro stays with its table
        "caption": ParagraphStyle("caption", base, fontName=FONT_BOLD, spaceBefore=4, spaceAfter=2,
                                  keepWithNext=1),
        "note": ParagraphStyle("note", base, fontSize=NOTE_PT, leading=NOTE_PT * LEADING, textColor=GREY),
        "cell": ParagraphStyle("cell", base, fontSize=TABLE_PT, leading=TABLE_PT * LEADING, spaceAfter=0,
                               alignment=TA_LEFT),
        "footer": ParagraphStyle("footer", base, fontSize=FOOTER_PT, leading=FOOTER_PT * LEADING,
                                 textColor=GREY, spaceAfter=0),
    }
    styles["number"] = ParagraphStyle("number", styles["cell"], alignment=TA_RIGHT)
    styles["header"] = ParagraphStyle("header", styles["cell"], fontName=FONT_BOLD)
    return styles[name]


def _para(text: str, style: str) -> PdfParagraph:
    return PdfParagraph(markup(text), _style(style))


# ---------------------------------------------------------------------------- tables

@dataclass(frozen=True)
class Column:
    width: float      # points
    numeric: bool


def column_widths(block: Table, available: float = FRAME_W) -> list[Column]:
    """Each column as wide as its longest line (up to MAX_COLUMN_W), measured; when that is too
    wide for the page, text columns give up width down to their longest word, numbers keep
    theirs; when even that is too wide, every column shrinks in proportion and long words
    break (reportlab splits a word longer than its column). The sum never exceeds `available`."""
    n = len(block.header)
    pad = 2 * CELL_PAD
    numeric = [bool(block.rows) and all(r[i].numeric or not r[i].text for r in block.rows) for i in range(n)]
    natural, least = [], []
    for i in range(n):
        body = [r[i].text for r in block.rows]
        header = block.header[i]
        line = max([text_width(header, TABLE_PT, bold=True)] + [text_width(t, TABLE_PT) for t in body])
        word = max([_longest_word(header, TABLE_PT, bold=True)]
                   + [text_width(t, TABLE_PT) if numeric[i] else _longest_word(t, TABLE_PT) for t in body])
        natural.append(min(MAX_COLUMN_W, line + pad))
        least.append(min(natural[-1], word + pad))
    if sum(natural) <= available:
        widths = natural
    elif sum(least) <= available:
        k = (available - sum(least)) / (sum(natural) - sum(least))
        widths = [lo + (w - lo) * k for w, lo in zip(natural, least)]
    else:
        widths = [lo * available / sum(least) for lo in least]
    return [Column(w, num) for w, num in zip(widths, numeric)]


def _table(block: Table) -> list[Flowable]:
    columns = column_widths(block)
    header = [_para(h, "header") for h in block.header]
    rows = [[_para(cell.text, "number" if col.numeric else "cell") for cell, col in zip(row, columns)]
            for row in block.rows]
    table = PdfTable([header, *rows], colWidths=[c.width for c in columns], repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f6")),
        ("LINEBELOW", (0, 0), (-1, -1), 0.5, colors.HexColor("#c9d2dc")),
    ]))
    out: list[Flowable] = [_para(block.caption, "caption"), table]
    if block.note:
        out += [Spacer(0, 2), _para(block.note, "note")]
    return out + [Spacer(0, 6)]


# ---------------------------------------------------------------------------- charts

def _chart(block: Chart) -> list[Flowable]:
    png = chart_png(block)
    width, height = FRAME_W, FRAME_W * block.aspect
    room = FRAME_H - 3 * TEXT_PT * LEADING        # the caption stays on the chart's page
    if height > room:                              # a tall chart (many responders) shrinks whole
        width, height = width * room / height, room
    image = Image(io.BytesIO(png), width=width, height=height, hAlign="LEFT")
    return [_para(block.caption, "caption"), image, Spacer(0, 8)]


# ---------------------------------------------------------------------------- document

class _Heading(PdfParagraph):
    """A section heading: also an entry of the PDF's outline (bookmarks)."""
    def __init__(self, text: str, key: str) -> None:
        super().__init__(markup(text), _style("heading"))
        self.plain, self.key = text, key


class _Document(BaseDocTemplate):
    def __init__(self, path: Path, report: Report) -> None:
        super().__init__(str(path), pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                         topMargin=MARGIN, bottomMargin=MARGIN + FOOTER_H,
                         title=f"{report.title}, data cutoff {report.cutoff}",
                         subject=f"load {report.load_id}", creator="itp-warehouse", author="itp-warehouse")
        self.report = report
        frame = Frame(MARGIN, MARGIN + FOOTER_H, FRAME_W, FRAME_H, id="content",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        self.addPageTemplates([PageTemplate("page", [frame], onPage=self._footer)])

    def _footer(self, canvas: Canvas, doc: BaseDocTemplate) -> None:
        r = self.report
        footer = _para(f"{r.title} · data cutoff {r.cutoff} · load {r.load_id} · page {doc.page}", "footer")
        _, height = footer.wrap(FRAME_W, FOOTER_H)
        footer.drawOn(canvas, MARGIN, MARGIN + FOOTER_H - 4 - height)

    def afterFlowable(self, flowable: Flowable) -> None:
        if isinstance(flowable, _Heading):
            self.canv.bookmarkPage(flowable.key)
            self.canv.addOutlineEntry(flowable.plain, flowable.key, level=0)


def story(report: Report) -> list[Flowable]:
    """The report as platypus flowables (also what a test measures)."""
    out: list[Flowable] = [_para(report.title, "title")]
    out += [_para(f"{label}: {value}", "fact") for _, label, value in report.facts]
    out += [_para(report.suppression_legend, "legend"), _para(report.notation, "legend")]
    for section in report.sections:
        rule = HRFlowable(width="100%", thickness=0.8, color=BLUE, spaceBefore=1, spaceAfter=5)
        rule.keepWithNext = 1
        out += [_Heading(section.title, section.key), rule]
        for block in section.blocks:
            if isinstance(block, Paragraph):
                out.append(_para(block.text, "text"))
            elif isinstance(block, Table):
                out += _table(block)
            elif isinstance(block, Chart):
                out += _chart(block)
    return out


def render_pdf(report: Report, path: Path) -> None:
    _Document(path, report).build(story(report))
