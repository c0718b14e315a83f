"""The report's statistics as clinicians read them: exact 95% intervals of every endpoint
proportion (equal to the library's to the printed decimal), and duration of response as a
Kaplan–Meier estimate checked against a hand-worked set of responders, with its number-at-risk
table under small-cell suppression."""
from __future__ import annotations

import re
import shutil
from datetime import timedelta
from html.parser import HTMLParser

import duckdb
import pytest
from pypdf import PdfReader
from scipy.stats import beta

from orchestration.report import build_report
from orchestration.report.cells import HIDDEN, Suppression
from orchestration.report.stats import kaplan_meier
from tests.report.conftest import SUPPRESS_BELOW
from tests.report.expected import ci_text
from tests.report.html_cells import ParsedReport, parse_report

# ---------------------------------------------------------------------------- intervals

# endpoints.md §9: 73.5% = 50/68 (any bleeding at baseline), 61.8% = 42/68 (month 3),
# 36.5% = 23/63 (concomitant medication reduced between months 3 and 6). The intervals are
# written out, as a reader of the report would check them against a table of exact intervals.
REFERENCE_FIGURES = [
    ("bleeding_any", "baseline", 50, 68, "61.4–83.5"),
    ("bleeding_any", "month_3", 42, 68, "49.2–73.3"),
    ("conmed_reduced", "month_3_to_6", 23, 63, "24.7–49.6"),
]


@pytest.mark.parametrize("endpoint, timepoint, n, denominator, printed", REFERENCE_FIGURES)
def test_intervals_of_the_reference_figures_equal_the_library(full_report, mart, endpoint, timepoint, n,
                                                              denominator, printed):
    assert mart("SELECT n, denominator FROM marts.endpoint_summary WHERE endpoint = ? AND timepoint = ?",
                [endpoint, timepoint]) == [(n, denominator)]
    shown = {c.text for c in full_report.parsed.where(endpoint=endpoint, timepoint=timepoint, field="ci")}
    assert shown == {printed}
    # scipy.stats.binomtest(...).proportion_ci(method="exact") to the printed decimal ...
    assert ci_text(n, denominator) == printed
    # ... which is the Clopper–Pearson definition: beta quantiles of the counts.
    low, high = beta.ppf(0.025, n, denominator - n + 1), beta.ppf(0.975, n + 1, denominator - n)
    assert f"{100 * low:.1f}–{100 * high:.1f}" == printed


def test_every_proportion_of_the_endpoint_summary_has_its_interval(full_report, mart):
    rows = mart("SELECT endpoint, timepoint, n, denominator FROM marts.endpoint_summary")
    assert rows
    for endpoint, timepoint, n, denominator in rows:
        shown = {c.text for c in full_report.parsed.where(endpoint=endpoint, timepoint=timepoint, field="ci")}
        assert shown == {ci_text(n, denominator)}, (endpoint, timepoint)


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "title")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "title")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def test_the_interval_method_is_named_once(full_report):
    parser = _VisibleText()
    parser.feed(full_report.html_path.read_text(encoding="utf-8"))
    visible = " ".join(parser.parts)
    assert visible.count("Clopper–Pearson") == 1
    pdf_text = " ".join(p.extract_text() for p in PdfReader(full_report.pdf_path).pages)
    assert re.sub(r"\s+", " ", pdf_text).count("Clopper–Pearson") == 1


def test_intervals_are_hidden_with_their_percentage(suppressed_report, mart):
    small = 0
    for endpoint, timepoint, n, denominator in mart(
            "SELECT endpoint, timepoint, n, denominator FROM marts.endpoint_summary"):
        ci = suppressed_report.parsed.one(endpoint=endpoint, timepoint=timepoint, field="ci").text
        if n < SUPPRESS_BELOW or denominator < SUPPRESS_BELOW:
            small += 1
            assert ci == HIDDEN, (endpoint, timepoint)
        else:
            assert ci == ci_text(n, denominator), (endpoint, timepoint)
    assert small


# ---------------------------------------------------------------------------- Kaplan–Meier

# Six responders worked by hand (duration in days from the first response; lost or censored):
#
#   subject  1   2     3   4   5     6
#   days    10  30    30  45  60    75
#   lost?  yes  no   yes yes  no    no      (no = censored at the last sample)
#
# day 10: 6 at risk, 1 lost            S = 5/6          = 0.833
# day 30: 5 at risk, 1 lost (subject 2 is censored after the loss, by convention)
#                                      S = 5/6 · 4/5    = 0.667
# day 45: 3 at risk, 1 lost            S = 2/3 · 2/3    = 0.444  → median = 45 (first S ≤ 0.5)
# No loss after 45: the curve stays at 0.444.
# 95% interval of the median, from the log(−log) band (Greenwood variance V = Σ d / (n(n−d))):
#   lower limit: the band's lower edge at day 10 is S^exp(1.96·√V/|ln S|) with V = 1/30,
#     = 0.833^exp(1.96 · 0.1826/0.1823) = 0.833^7.12 = 0.273 ≤ 0.5 → 10
#   upper limit: the band's upper edge from day 45 on is S^exp(−1.96·√V/|ln S|) with
#     V = 1/30 + 1/20 + 1/6 = 0.25: 0.444^exp(−1.96 · 0.5/0.811) = 0.444^0.299 = 0.785 > 0.5,
#     and it never falls lower → not reached.
# Number at risk (duration ≥ day): day 0: 6; day 30: 5 (subjects 2–6); day 60: 2 (5, 6); day 90: 0.
HAND_WORKED = [(10, False), (30, True), (30, False), (45, False), (60, True), (75, True)]
AT_RISK = {0: 6, 30: 5, 60: 2, 90: 0}


def test_kaplan_meier_of_the_hand_worked_responders():
    km = kaplan_meier([d for d, _ in HAND_WORKED], [c for _, c in HAND_WORKED])
    assert km is not None and km.n == 6
    assert km.median == 45
    assert km.median_low == 10
    assert km.median_high == float("inf")
    assert dict(zip(km.times, km.survival)) == pytest.approx({0: 1, 10: 5 / 6, 30: 2 / 3, 45: 4 / 9,
                                                              60: 4 / 9, 75: 4 / 9})
    assert km.lower[km.times.index(10)] == pytest.approx(0.273, abs=5e-4)
    assert km.upper[km.times.index(45)] == pytest.approx(0.785, abs=5e-4)
    assert {day: km.at_risk(day) for day in AT_RISK} == AT_RISK
    assert km.censor_times == [30, 60, 75]
    assert km.censor_survival == pytest.approx([2 / 3, 4 / 9, 4 / 9])


def test_a_median_of_a_small_group_is_hidden():
    fmt = Suppression(7)
    assert fmt.survival_time(45, 6).text == HIDDEN
    assert fmt.survival_interval(10, float("inf"), 6).text == HIDDEN
    assert Suppression(5).survival_interval(10, float("inf"), 6).text == "10–not reached"


@pytest.fixture(scope="module")
def hand_worked_reports(demo_warehouse, tmp_path_factory) -> dict[int, ParsedReport]:
    """The demo warehouse with its responders replaced by the six hand-worked ones (real
    subjects of the demo, so the swimmer plot has their exposure), reported without and with
    suppression below 5."""
    work = tmp_path_factory.mktemp("hand_worked")
    copy = work / "warehouse.duckdb"
    shutil.copyfile(demo_warehouse, copy)
    with duckdb.connect(str(copy)) as conn:
        subjects = conn.execute("""SELECT site_id, subject_id, day1_date FROM marts.dim_subject
                                   WHERE is_treated ORDER BY site_id, subject_id LIMIT 6""").fetchall()
        conn.execute("DELETE FROM marts.endpoint_response_duration")
        for (site, subject, day1), (days, censored) in zip(subjects, HAND_WORKED):
            start = day1 + timedelta(days=9)
            end = start + timedelta(days=days)
            conn.execute("""INSERT INTO marts.endpoint_response_duration
                            (site_id, subject_id, start_date, start_study_day, start_response, loss_date,
                             last_sample_date, duration_days, censored)
                            VALUES (?, ?, ?, 10, 'R', ?, ?, ?, ?)""",
                         [site, subject, start, None if censored else end, end + timedelta(days=20),
                          days, censored])
    reports = {}
    for below in (0, 5):
        html, _ = build_report(copy, work / f"out{below}", suppress_below=below)
        reports[below] = parse_report(html.read_text(encoding="utf-8"))
    return reports


def test_report_prints_the_hand_worked_median_and_number_at_risk(hand_worked_reports):
    report = hand_worked_reports[0]
    assert report.one(stat="dor_median").text == "45"
    assert report.one(stat="dor_median_ci").text == "10–not reached"
    assert {c.attrs["data-at-risk-day"]: c.text for c in report.where() if "data-at-risk-day" in c.attrs} \
        == {str(day): str(n) for day, n in AT_RISK.items()}
    assert [report.one(field=f).text for f in ("responders", "lost", "censored")] == ["6", "3", "3"]


def test_suppression_hides_at_risk_counts_below_the_threshold(hand_worked_reports):
    report = hand_worked_reports[5]
    at_risk = {c.attrs["data-at-risk-day"]: c for c in report.where() if "data-at-risk-day" in c.attrs}
    assert {day: c.text for day, c in at_risk.items()} == {"0": "6", "30": "5", "60": "<5", "90": "<5"}
    assert all(c.kind == "count" for c in at_risk.values())
    # Six responders are not a small group: their median stays; the small counts do not.
    assert report.one(stat="dor_median").text == "45"
    assert [report.one(field=f).text for f in ("responders", "lost", "censored")] == ["6", "<5", "<5"]


def test_at_risk_counts_of_the_demo_equal_the_mart(full_report, suppressed_report, mart):
    """On the demo's real responders, unsuppressed and suppressed: responders whose
    duration is at least the day, from marts.endpoint_response_duration."""
    durations = [d for (d,) in mart("SELECT duration_days FROM marts.endpoint_response_duration")]
    assert len(durations) >= 20
    cells = {c.attrs["data-at-risk-day"]: c.text for c in full_report.parsed.where()
             if "data-at-risk-day" in c.attrs}
    hidden = {c.attrs["data-at-risk-day"]: c.text for c in suppressed_report.parsed.where()
              if "data-at-risk-day" in c.attrs}
    assert cells and cells.keys() == hidden.keys()
    small = 0
    for day, text in cells.items():
        expected = sum(d >= int(day) for d in durations)
        assert text == str(expected), day
        if expected < SUPPRESS_BELOW:
            small += 1
            assert hidden[day] == f"<{SUPPRESS_BELOW}", day
        else:
            assert hidden[day] == str(expected), day
    assert small, "the demo's at-risk row should reach below the threshold"


def test_swimmer_plot_is_in_the_full_report_only(full_report, suppressed_report):
    full = full_report.html_path.read_text(encoding="utf-8")
    suppressed = suppressed_report.html_path.read_text(encoding="utf-8")
    assert 'id="dor-swimmer-chart"' in full and 'id="dor-km-chart"' in full
    assert 'id="dor-swimmer-chart"' not in suppressed and 'id="dor-km-chart"' in suppressed
    assert "each bar is one subject" in suppressed
