"""--suppress-below N: every count below N prints as <N and the percentages and medians that
rest on it are hidden, everywhere in the report, and the hidden values leak nowhere."""
from __future__ import annotations

from pypdf import PdfReader

from orchestration.report.cells import HIDDEN
from tests.report.conftest import SUPPRESS_BELOW
from tests.report.expected import endpoint_field_text

SMALL = f"<{SUPPRESS_BELOW}"
IDENTITY_ATTRS = {"data-endpoint", "data-timepoint", "data-field", "data-site", "data-response",
                  "data-month", "data-stat", "data-test", "data-grade", "data-ae-grade", "data-at-risk-day"}


def test_every_count_cell_is_suppressed_or_at_least_n(suppressed_report):
    counts = [c for c in suppressed_report.parsed.cells if c.kind == "count"]
    assert counts
    for cell in counts:
        assert cell.text == SMALL or (cell.text.isdigit() and int(cell.text) >= SUPPRESS_BELOW), cell
    shown = [c for c in counts if c.text != SMALL]
    hidden = [c for c in counts if c.text == SMALL]
    assert shown and hidden, "the demo should have counts on both sides of the threshold"


def test_endpoint_rows_with_a_small_count_hide_their_percentage(suppressed_report, mart):
    small = 0
    for endpoint, timepoint, n, denominator, pct in mart(
            "SELECT endpoint, timepoint, n, denominator, pct FROM marts.endpoint_summary"):
        cells = {c.attrs["data-field"]: c.text
                 for c in suppressed_report.parsed.where(endpoint=endpoint, timepoint=timepoint)}
        if n < SUPPRESS_BELOW or denominator < SUPPRESS_BELOW:
            small += 1
            assert cells["pct"] == HIDDEN, (endpoint, timepoint, cells)
        else:
            assert cells["pct"] == endpoint_field_text((n, denominator, pct), "pct")
        assert cells["n"] == (SMALL if n < SUPPRESS_BELOW else str(n)), (endpoint, timepoint)
    assert small, "no endpoint row below the threshold: the test proves nothing"


def test_medians_of_small_months_are_hidden(suppressed_report, mart):
    months = mart("""SELECT treatment_month, count(*) FROM marts.patient_month
                     WHERE plt_last IS NOT NULL GROUP BY 1""")
    small = [m for m, n in months if n < SUPPRESS_BELOW]
    large = [m for m, n in months if n >= SUPPRESS_BELOW]
    assert small and large, "the demo should have months on both sides of the threshold"
    for month in small:
        assert suppressed_report.parsed.one(month=str(month), field="subjects").text == SMALL
        for stat in ("median", "q1", "q3"):
            assert suppressed_report.parsed.one(month=str(month), stat=stat).text == HIDDEN
    for month in large:
        assert suppressed_report.parsed.one(month=str(month), stat="median").text != HIDDEN


def test_no_attribute_carries_a_value(suppressed_report):
    """Attributes identify cells; a hidden count must not survive in one."""
    names = {name for c in suppressed_report.parsed.cells for name in c.attrs}
    assert names <= IDENTITY_ATTRS, names - IDENTITY_ATTRS


def test_pdf_is_suppressed_too(suppressed_report):
    text = "\n".join(p.extract_text() for p in PdfReader(suppressed_report.pdf_path).pages)
    assert SMALL in text
    assert f"counts below {SUPPRESS_BELOW} are shown as {SMALL}" in text.replace("\n", " ")


def test_suppressed_report_says_so_and_does_not_overwrite_the_full_one(suppressed_report, full_report):
    assert suppressed_report.parsed.meta["data-suppress-below"] == str(SUPPRESS_BELOW)
    assert suppressed_report.html_path.name != full_report.html_path.name
    assert f"suppressed-below-{SUPPRESS_BELOW}" in suppressed_report.pdf_path.name
