"""The quality dashboard the alert points to: one self-contained HTML file, rendered by headless
Chromium, with the planted site over its thresholds visible at the top of the page."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.monitors.planted import BAD_SITE
from tests.report.browser import screenshot
from tests.report.html_cells import parse_report

OVER_CELL = (0xF8, 0xD0, 0xD0)    # a table cell over its threshold (report template)
OVER_CHART = (0xC6, 0x28, 0x28)   # a heat map cell over its threshold (quality_report.charts)


@pytest.fixture(scope="module")
def dashboard(monitored) -> Path:
    body = monitored.alerts[0][1]["message"]
    return Path(body.split("Quality dashboard: ", 1)[1].splitlines()[0])


def test_the_dashboard_is_one_self_contained_file(dashboard):
    html = dashboard.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", html), "the dashboard loads something from a network"
    assert "<script" not in html and "<link" not in html
    parsed = parse_report(html)
    assert parsed.images >= 5   # heat map, row checks, query ages, two trends: data: URIs


def test_only_the_planted_site_is_flagged(dashboard):
    parsed = parse_report(dashboard.read_text(encoding="utf-8"))
    flagged = parsed.where(over_threshold="yes")
    assert flagged and {c.attrs["data-site"] for c in flagged} == {BAD_SITE}
    # in the table of indicators over their thresholds and in the table of every indicator
    days = parsed.where(site=BAD_SITE, indicator="days_since_last_export", over_threshold="yes")
    assert [c.text for c in days] == ["92", "92"]
    assert {c.text for c in parsed.where(site=BAD_SITE, status="open")} == {"6"}


def _near(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: int = 6) -> int:
    return int((np.abs(pixels - np.array(colour)).max(axis=2) <= tolerance).sum())


def test_the_planted_site_is_visible_in_headless_chromium(dashboard, tmp_path):
    png = tmp_path / "dashboard.png"
    proc = screenshot(dashboard, png, tmp_path / "profile", height=4000)
    assert png.is_file(), f"no screenshot: {proc.stderr[-2000:]}"
    pixels = np.asarray(Image.open(png).convert("RGB"), dtype=int)
    gray = pixels.mean(axis=2)
    assert (gray < 235).mean() > 0.03 and gray.std() > 15, "page nearly blank"
    first_screen = pixels[:1400]
    # the flagged cells of the tables and the red cells of the heat map, on the first screen
    assert _near(first_screen, OVER_CELL) > 2000, "no over-threshold table cell is visible at the top"
    assert _near(first_screen, OVER_CHART) > 2000, "no over-threshold heat map cell is visible at the top"
    assert (gray[2500:] < 235).mean() > 0.01, "the lower sections (queries, trends) did not render"
