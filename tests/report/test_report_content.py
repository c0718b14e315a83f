"""The report's numbers are the published marts' numbers (endpoints.md §7-§8), read back from
the HTML by their data-* attributes, and the PDF carries the same report."""
from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path

from pypdf import PdfReader

from tests.report.expected import count_text, endpoint_field_text, endpoint_figure_mismatches, pct_text


def _endpoint_rows(mart) -> dict[tuple[str, str], tuple]:
    return {(e, t): (n, d, p) for e, t, n, d, p in
            mart("SELECT endpoint, timepoint, n, denominator, pct FROM marts.endpoint_summary")}


def test_every_endpoint_cell_equals_the_mart(full_report, mart):
    rows = {(e, t): (n, d, p, nd) for e, t, n, d, p, nd in mart(
        "SELECT endpoint, timepoint, n, denominator, pct, n_not_determinable FROM marts.endpoint_summary")}
    cells = [c for c in full_report.parsed.cells if "data-endpoint" in c.attrs]
    assert cells
    # The lab table says how many subjects' grades were not determinable (endpoints.md §6 v1.1).
    assert {c.attrs["data-endpoint"] for c in cells if c.attrs["data-field"] == "n_not_determinable"} == {
        "lab_grade1plus", "lab_grade3plus"}
    for cell in cells:
        key = (cell.attrs["data-endpoint"], cell.attrs["data-timepoint"])
        assert key in rows, f"the report shows {key}, which is not in marts.endpoint_summary"
        assert cell.text == endpoint_field_text(rows[key], cell.attrs["data-field"]), (key, cell)


def test_every_endpoint_row_is_in_the_report_with_its_n_and_pct(full_report, mart):
    rows = mart("SELECT endpoint, timepoint, n, denominator, pct FROM marts.endpoint_summary")
    assert rows
    assert endpoint_figure_mismatches(full_report.parsed, rows) == []


def test_report_names_the_load_and_cutoff_it_was_built_from(full_report, mart):
    load_id, cutoff = mart("""SELECT load_id, cutoff_date FROM quality.load_log
                              WHERE status = 'published' ORDER BY started_at DESC LIMIT 1""")[0]
    assert full_report.parsed.meta["data-load-id"] == load_id
    assert full_report.parsed.meta["data-cutoff"] == str(cutoff)
    assert full_report.parsed.meta["data-suppress-below"] == "0"
    assert load_id in full_report.html_path.name and str(cutoff) in full_report.html_path.name


def test_initial_response_categories_equal_the_mart(full_report, mart):
    expected = dict(mart("SELECT best_response, count(*) FROM marts.endpoint_initial_response GROUP BY 1"))
    for category in ("CR", "R", "NR", "NE"):
        assert full_report.parsed.one(response=category).text == count_text(expected.get(category, 0))


def test_treated_subjects_by_site_equal_dim_subject(full_report, mart):
    by_site = dict(mart("SELECT site_id, count(*) FROM marts.dim_subject WHERE is_treated GROUP BY 1"))
    assert len(by_site) >= 2, "the demo cohort should have several sites"
    for site, n in by_site.items():
        assert full_report.parsed.one(site=site, field="treated").text == count_text(n)
    treated = _endpoint_rows(mart)[("treated", "all")][0]
    assert full_report.parsed.one(site="All sites", field="treated").text == count_text(treated)


def test_platelet_subjects_per_month_equal_patient_month(full_report, mart):
    expected = mart("""SELECT treatment_month, count(*) FROM marts.patient_month
                       WHERE plt_last IS NOT NULL GROUP BY 1""")
    assert expected
    for month, n in expected:
        assert full_report.parsed.one(month=str(month), field="subjects").text == count_text(n)


def test_worst_lab_grades_add_up_to_the_lab_endpoints(full_report, mart):
    """Two independent reads agree: the grade distribution (fct_lab_result) sums to the
    lab_grade1plus / lab_grade3plus rows (endpoint_summary) the same table prints."""
    rows = _endpoint_rows(mart)
    grades: dict[str, dict[int, int]] = defaultdict(dict)
    for cell in full_report.parsed.where():
        if "data-test" in cell.attrs:
            grades[cell.attrs["data-test"]][int(cell.attrs["data-grade"])] = int(cell.text)
    tests = {t for e, t in rows if e == "lab_grade1plus"}
    assert tests and set(grades) == tests
    for test, counts in grades.items():
        n1, tested, _ = rows[("lab_grade1plus", test)]
        n3 = rows[("lab_grade3plus", test)][0]
        assert sum(counts.values()) == tested, test
        assert sum(v for g, v in counts.items() if g >= 1) == n1, test
        assert sum(v for g, v in counts.items() if g >= 3) == n3, test


def test_open_site_queries_per_site_equal_the_quality_table(full_report, mart):
    expected = mart("""SELECT coalesce(site_id, '(no site)'), count(*) FILTER (WHERE status = 'open')
                       FROM quality.site_query GROUP BY 1""")
    assert expected, "the demo plants bad rows, so it has site queries"
    for site, n in expected:
        assert full_report.parsed.one(site=site, field="open_queries").text == count_text(n)


def test_report_is_self_contained_with_its_charts(full_report):
    html = full_report.html_path.read_text(encoding="utf-8")
    assert full_report.parsed.images >= 4
    assert "<link" not in html and "<script" not in html and "http://" not in html and "https://" not in html


def test_pdf_has_pages_and_the_same_report(full_report, mart):
    reader = PdfReader(full_report.pdf_path)
    assert len(reader.pages) >= 1
    text = "\n".join(page.extract_text() for page in reader.pages)
    load_id = full_report.parsed.meta["data-load-id"]
    assert load_id in text and load_id in reader.metadata["/Subject"]
    for title in ("Disposition", "Baseline characteristics", "Initial response by Day 14",
                  "Response by treatment month", "Duration of response", "Platelet count over time", "Bleeding",
                  "Concomitant ITP medication", "Adverse events and safety signals",
                  "Laboratory safety", "Data quality"):
        assert title in text, f"section {title!r} missing from the PDF"
    treated_n, _, treated_pct = _endpoint_rows(mart)[("exposure_ge_3m", "all")]
    assert pct_text(treated_pct) in text


def test_building_reports_leaves_the_published_warehouse_byte_identical(demo, full_report, suppressed_report):
    assert hashlib.sha256(demo.path.read_bytes()).hexdigest() == demo.sha256
    assert not Path(str(demo.path) + ".wal").exists()


def test_reports_are_readable_by_the_study_team(full_report):
    for path in (full_report.html_path, full_report.pdf_path):
        assert path.stat().st_mode & 0o777 == 0o644, path
