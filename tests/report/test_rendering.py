"""The HTML report renders in a real browser (headless Chromium) as a page with content, not
a blank or broken page."""
from __future__ import annotations

import numpy as np
from PIL import Image

from tests.report.browser import screenshot
from tests.report.expected import endpoint_figure_mismatches


def test_report_renders_in_headless_chromium(full_report, mart, tmp_path):
    png = tmp_path / "report.png"
    proc = screenshot(full_report.html_path, png, tmp_path / "profile")
    assert png.is_file(), f"no screenshot: {proc.stderr[-2000:]}"

    pixels = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert pixels.shape == (4000, 1280)
    non_white = (pixels < 235).mean()
    assert non_white > 0.03, f"page nearly blank: {non_white:.1%} non-white pixels"
    assert pixels.std() > 15, "page has no contrast"
    # Content all the way down the 4000 px: the charts and tables rendered, not only a header.
    lower_half = pixels[2000:]
    assert (lower_half < 235).mean() > 0.02

    # ... and what it rendered holds the published endpoint figures.
    rows = mart("SELECT endpoint, timepoint, n, denominator, pct FROM marts.endpoint_summary")
    assert rows and not endpoint_figure_mismatches(full_report.parsed, rows)
