"""Long site names and Chinese text never overflow the report: the HTML rendered by headless
Chromium and the PDF's pages rendered by pdftoppm are inspected as images (nothing drawn
outside the content box or in the page margins), and the PDF's layout engine's own measured
widths are checked cell by cell."""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph as PdfParagraph
from reportlab.platypus import Table as PdfTable

from orchestration.report import _report, build_report
from orchestration.report.cells import Suppression
from orchestration.report.pdf import CELL_PAD, FONT, FRAME_H, FRAME_W, MARGIN, markup, story
from orchestration.report.warehouse import open_published, read_report_data
from tests.report.browser import pdf_page_images, screenshot
from tests.report.html_cells import parse_report

LONG_SITE = "PEKING-UNIVERSITY-PEOPLES-HOSPITAL-DEPARTMENT-OF-HEMATOLOGY-NORTH-CAMPUS-WARD-3"
CHINESE_SITE = "北京大学人民医院血液病研究所免疫性血小板减少症临床研究中心"
CHINESE_REASON = ("患者因经济原因及疫情期间交通不便自行要求退出研究，家属代诉：已在当地医院继续治疗，"
                  "不再返回本中心随访")
CHINESE_FILE = "北京协和医院血液内科_实验室检查结果_2022年第一季度导出文件_最终版本（已核对）_labs_20220101.xlsx"
CHINESE_REFUSAL = ("无法识别的站点代码「协和血液科」：站点登记表中没有这个代码，请与数据管理员联系，"
                   "按照命名规则重新命名文件后再次上传")
UNBROKEN_FILE = "RJH_labs_20220101_" + "0123456789abcdef" * 12 + ".csv"
INK = 235            # a pixel darker than this is ink (anti-aliased text included)


@pytest.fixture(scope="module")
def long_text_warehouse(demo_warehouse, tmp_path_factory) -> Path:
    """The demo warehouse with what sites really send: site codes far longer than a column,
    Chinese site names and reasons, a refused file whose name has no space to break at."""
    copy = tmp_path_factory.mktemp("long_text") / "warehouse.duckdb"
    shutil.copyfile(demo_warehouse, copy)
    with duckdb.connect(str(copy)) as conn:
        for old, new in (("WCH", LONG_SITE), ("RJH", CHINESE_SITE)):
            for table in ("marts.dim_subject", "quality.file_manifest", "quality.quarantine", "quality.site_query"):
                conn.execute(f"UPDATE {table} SET site_id = ? WHERE site_id = ?", [new, old])
        conn.execute("""UPDATE marts.dim_subject SET withdrawal_reason = ?
                        WHERE subject_id = (SELECT min(subject_id) FROM marts.dim_subject
                                            WHERE current_status = 'withdrawn')""", [CHINESE_REASON])
        for name, reason in ((CHINESE_FILE, CHINESE_REFUSAL), (UNBROKEN_FILE, "unknown site " + UNBROKEN_FILE)):
            conn.execute("""INSERT INTO quality.file_manifest (file_name, file_path, sha256, site_id, domain,
                              export_date, status, reason, is_current, load_id, loaded_at)
                            VALUES (?, ?, md5(?), ?, NULL, NULL, 'refused', ?, false, 'x', now())""",
                         [name, name, name, CHINESE_SITE, reason])
    return copy


@pytest.fixture(scope="module")
def long_text_report(long_text_warehouse, tmp_path_factory) -> tuple[Path, Path]:
    html, pdf = build_report(long_text_warehouse, tmp_path_factory.mktemp("long_text_report"))
    texts = {c.text for c in parse_report(html.read_text(encoding="utf-8")).cells}
    assert {LONG_SITE, CHINESE_SITE, CHINESE_REASON, CHINESE_FILE, CHINESE_REFUSAL, UNBROKEN_FILE} <= texts
    return html, pdf


def _gray(png: Path) -> np.ndarray:
    return np.asarray(Image.open(png).convert("L"), dtype=float)


# ---------------------------------------------------------------------------- HTML

def test_html_keeps_long_and_chinese_text_inside_the_page(long_text_report, tmp_path):
    """The body is 1100 px wide, centred in a 1280 px window (x 90 … 1190): a table pushed wider
    by a long name would paint beyond it."""
    html, _ = long_text_report
    png = tmp_path / "page.png"
    proc = screenshot(html, png, tmp_path / "profile", height=16000)
    assert png.is_file(), f"no screenshot: {proc.stderr[-2000:]}"
    pixels = _gray(png)
    ink_rows = np.where((pixels < INK).any(axis=1))[0]
    assert ink_rows.size and ink_rows.max() < pixels.shape[0] - 200, "the page is longer than the screenshot"
    ink_columns = np.where((pixels < INK).any(axis=0))[0]
    assert ink_columns.min() >= 85 and ink_columns.max() <= 1195, (
        f"content drawn from x={ink_columns.min()} to x={ink_columns.max()}, outside the body (90 … 1190)")


# ---------------------------------------------------------------------------- PDF

def _margin_ink(page: np.ndarray, dpi: int) -> tuple[int, int]:
    """Ink pixels in the left and right page margins (a hair inside them: anti-aliasing)."""
    margin = int(MARGIN / 72 * dpi) - 2
    return int((page[:, :margin] < INK).sum()), int((page[:, -margin:] < INK).sum())


def test_pdf_pages_keep_long_and_chinese_text_inside_the_margins(long_text_report, tmp_path):
    _, pdf = long_text_report
    pages = pdf_page_images(pdf, tmp_path / "pages", dpi=50)
    assert len(pages) >= 6
    for number, png in enumerate(pages, start=1):
        page = _gray(png)
        assert (page < INK).mean() > 0.005, f"page {number} is blank"
        assert _margin_ink(page, 50) == (0, 0), f"page {number} has text or lines in its side margins"
    text = "".join(p.extract_text() for p in PdfReader(pdf).pages)
    squeezed = "".join(text.split())
    for chinese in (CHINESE_SITE, CHINESE_REASON, CHINESE_REFUSAL, CHINESE_FILE):
        assert "".join(chinese.split()) in squeezed, f"{chinese!r} is not in the PDF's text"


def test_the_margin_check_sees_text_that_runs_over(tmp_path):
    """The page-image check can fail: a line drawn past the right margin is found."""
    pdf = tmp_path / "overflow.pdf"
    canvas = Canvas(str(pdf), pagesize=A4)
    canvas.setFont("Helvetica", 9)
    canvas.drawString(MARGIN, A4[1] / 2, "a site name that is far too long for its column " * 3)
    canvas.showPage()
    canvas.save()
    page = _gray(pdf_page_images(pdf, tmp_path / "pages", dpi=50)[0])
    assert _margin_ink(page, 50)[1] > 0


def _overflowing_lines(paragraph: PdfParagraph, width: float) -> list[float]:
    """How far each line of the wrapped paragraph runs past `width` (reportlab's own measure:
    a line's extraSpace is the width left over, negative when the line is too long)."""
    paragraph.wrap(width, 10_000)
    lines = paragraph.blPara.lines
    spare = [line.extraSpace if hasattr(line, "extraSpace") else line[0] for line in lines]
    return [-s for s in spare if s < -0.01]


def test_measured_widths_fit_every_table_cell(long_text_warehouse):
    with open_published(long_text_warehouse) as conn:
        report = _report(read_report_data(conn), Suppression(0), long_text_warehouse)
    tables = [f for f in story(report) if isinstance(f, PdfTable)]
    assert len(tables) >= 20
    for table in tables:
        width, _ = table.wrap(FRAME_W, FRAME_H)
        assert width <= FRAME_W + 0.01, f"table {width:.1f} pt wide in a {FRAME_W:.1f} pt frame"
        for row in table._cellvalues:
            for cell, column in zip(row, table._colWidths):
                for paragraph in (cell if isinstance(cell, (list, tuple)) else [cell]):
                    over = _overflowing_lines(paragraph, column - 2 * CELL_PAD)
                    assert not over, f"{paragraph.text[:60]!r} runs {max(over):.1f} pt past its column"


def test_the_width_check_sees_a_word_that_does_not_fit():
    """The measured check can fail: without reportlab's splitting of long words, the unbroken
    file name runs past a narrow column."""
    style = ParagraphStyle("unsplit", fontName=FONT, fontSize=7, splitLongWords=0)
    assert _overflowing_lines(PdfParagraph(markup(UNBROKEN_FILE), style), 100)
