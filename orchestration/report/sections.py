"""The report's sections, built from what `warehouse.read_report_data` read.

One function per section. Each prints endpoint figures through `endpoints.endpoint_cells` and
every other count through the same `Suppression`, so suppression holds everywhere.
"""
from __future__ import annotations

from collections import defaultdict

from orchestration.report import charts
from orchestration.report.cells import Cell, Suppression, text
from orchestration.report.endpoints import (CLASS_SUFFIX, EndpointIndex, endpoint_cells, endpoint_label,
                                            reason_label, timepoint_label)
from orchestration.report.model import Chart, Paragraph, Section, Table
from orchestration.report.stats import kaplan_meier, risk_table_days
from orchestration.report.warehouse import GradeCount, ReportData
from sources.study_parameters import response_categories, safety_signals, study_vars

ENDPOINT_HEADER = ["n", "N", "%", "95% CI"]
SITE_ALL = "All sites"
UNKNOWN_SITE = "(no site)"


def build_sections(data: ReportData, fmt: Suppression) -> list[Section]:
    index = EndpointIndex(data.endpoints)
    sections = [
        disposition(data, index, fmt),
        baseline(data, fmt),
        initial_response(data, index, fmt),
        monthly_response(index, fmt),
        response_duration(data, fmt),
        platelets(data, fmt),
        bleeding(index, fmt),
        conmeds(index, fmt),
        adverse_events(data, index, fmt),
        lab_safety(data, index, fmt),
        data_quality(data, fmt),
    ]
    leftover = other_endpoints(index, fmt)
    return sections + ([leftover] if leftover else [])


def _baseline_window() -> str:
    """Month 0 in study days, from the same vars dbt uses (Day 1 belongs to month 0)."""
    return f"{study_vars()['baseline_first_day']} … 1".replace("-", "−")


def _site(site_id: str | None) -> str:
    return UNKNOWN_SITE if site_id is None else site_id


def _endpoint_row(index: EndpointIndex, fmt: Suppression, endpoint: str, timepoint: str,
                  label: str) -> list[Cell]:
    return [text(label), *endpoint_cells(fmt, index.get(endpoint, timepoint),
                                         endpoint=endpoint, timepoint=timepoint)]


# ---------------------------------------------------------------------------- disposition

def disposition(data: ReportData, index: EndpointIndex, fmt: Suppression) -> Section:
    flow = [("treated", "all", endpoint_label("treated")),
            ("exposure_ge_3m", "all", endpoint_label("exposure_ge_3m")),
            ("exposure_gt_6m", "all", endpoint_label("exposure_gt_6m")),
            ("exposure_ge_12m", "all", endpoint_label("exposure_ge_12m"))]
    flow += [("withdrawn", tp, f"Withdrawn: {reason_label(tp)}")
             for tp in ["all", "no_response", "adverse_event", "other"]]
    rows = [[text("Subjects in the warehouse (any current snapshot)"), fmt.count(data.n_subjects),
             Cell(""), Cell(""), Cell("")]]
    rows += [_endpoint_row(index, fmt, e, tp, label) for e, tp, label in flow]
    bars = [charts.Bar(label, row.n if (row := index.get(e, tp)) else None) for e, tp, label in flow[:5]]
    statuses = [[text(s.current_status or "no disposition record"), text(s.withdrawal_reason or ""),
                 fmt.count(s.n)] for s in data.statuses]
    return Section("disposition", "Disposition", [
        Paragraph("Treated subjects have a Day 1 (first iguratimod dose) on or before the data "
                  "cutoff; exposure bands and withdrawals are shares of treated subjects. "
                  "Withdrawals count subjects whose current status is withdrawn."),
        Table("disposition-flow", "Disposition flow (endpoint summary)", ["", *ENDPOINT_HEADER], rows),
        Chart("disposition-chart", "Treated subjects by exposure and withdrawal",
              "Horizontal bars: treated subjects, exposure bands and withdrawn subjects",
              charts.count_bars(bars, fmt, xlabel="subjects"), aspect=0.32),
        Table("disposition-status", "Current status of treated subjects, with the reason as recorded",
              ["current status", "reason recorded", "subjects"], statuses),
    ])


# ---------------------------------------------------------------------------- baseline

def baseline(data: ReportData, fmt: Suppression) -> Section:
    rows = []
    for g in data.baseline:
        site = SITE_ALL if g.site_id is None else g.site_id
        rows.append([
            text(site), fmt.count(g.n_treated, site=site, field="treated"),
            fmt.count(g.n_male), fmt.pct(g.pct_male, g.n_male, g.n_treated),
            fmt.count(g.n_female), fmt.pct(g.pct_female, g.n_female, g.n_treated),
            fmt.median_iqr(g.age_median, g.age_q1, g.age_q3, g.age_n),
            fmt.median_iqr(g.plt_median, g.plt_q1, g.plt_q3, g.plt_n),
            fmt.count(g.plt_missing),
        ])
    return Section("baseline", "Baseline characteristics", [
        Paragraph("Treated subjects by site. Age at Day 1 = year of Day 1 − birth year (only the "
                  "birth year is collected). Baseline platelet count = the last PLT value in study "
                  f"days {_baseline_window()}; without one a subject is not evaluable for response."),
        Table("baseline-table", "Sex, age and baseline platelet count by site",
              ["site", "treated", "male n", "male %", "female n", "female %",
               "age, years: median (IQR)", "baseline PLT ×10⁹/L: median (IQR)", "no baseline PLT"],
              rows),
    ])


# ---------------------------------------------------------------------------- response

# The categories, their order and labels: seed response_categories.csv.
RESPONSE_ORDER = [c.category for c in response_categories()]
RESPONSE_LABELS = {c.category: f"{c.category}: {c.label}" for c in response_categories()}
RESPONSES = {c.category for c in response_categories() if c.is_response}


def initial_response(data: ReportData, index: EndpointIndex, fmt: Suppression) -> Section:
    by_category = {c.category: c for c in data.initial_categories}
    categories = []
    for category in RESPONSE_ORDER + sorted(set(by_category) - set(RESPONSE_ORDER)):
        c = by_category.get(category)
        n = c.n if c else 0
        confirmed = fmt.count(c.n_confirmed if c else 0) if category in RESPONSES else Cell("")
        categories.append([text(RESPONSE_LABELS.get(category, category)),
                           fmt.count(n, response=category), confirmed])
    v = study_vars()
    return Section("initial-response", "Initial response by Day 14", [
        Paragraph("Best IWG response over the platelet samples of study days 2 … "
                  f"{v['initial_response_last_day']}, unconfirmed by design; 'confirmed' = a second "
                  f"sample {v['confirm_min_days']} or more days later reaching at least the same "
                  "category. NE = no baseline platelet count or no sample in the window."),
        Table("initial-categories", "Subjects by best response by Day 14",
              ["best response", "subjects", "of which confirmed"], categories),
        Table("initial-endpoints", "Initial response endpoints (denominator: subjects with a baseline PLT)",
              ["", *ENDPOINT_HEADER],
              [_endpoint_row(index, fmt, e, "day14", endpoint_label(e)) for e in ("initial_or", "initial_cr")]),
    ])


def monthly_response(index: EndpointIndex, fmt: Suppression) -> Section:
    months = sorted(set(index.months("response_or")) | set(index.months("response_cr")))
    rows = []
    for k in months:
        tp = f"month_{k}"
        rows.append([text(timepoint_label(tp)),
                     *endpoint_cells(fmt, index.get("response_or", tp), endpoint="response_or", timepoint=tp),
                     *endpoint_cells(fmt, index.get("response_cr", tp), endpoint="response_cr", timepoint=tp)])
    lines = [("OR (CR or R)", charts.OR_COLOUR, [index.get("response_or", f"month_{k}") for k in months]),
             ("CR", charts.CR_COLOUR, [index.get("response_cr", f"month_{k}") for k in months])]
    return Section("monthly-response", "Response by treatment month", [
        Paragraph("Best response within each treatment month (month k = study days "
                  f"{study_vars()['days_per_month']}(k−1)+1 … {study_vars()['days_per_month']}k; month 1 "
                  "starts at Day 2). Denominator: subjects with a baseline and a platelet sample in that month."),
        Chart("monthly-response-chart",
              "Overall (OR) and complete (CR) response by month, % of evaluable subjects (band: 95% CI)",
              "Line chart: percentage of subjects with OR and with CR in each treatment month, "
              "with the 95% confidence interval as a band",
              charts.percent_lines([str(k) for k in months], lines, fmt, ylabel="% of evaluable subjects")),
        Table("monthly-response-table", "Response by month (endpoint summary)",
              ["month", "OR n", "OR N", "OR %", "OR 95% CI", "CR n", "CR N", "CR %", "CR 95% CI"], rows),
    ])


SWIMMER_MAX_RESPONDERS = 80   # one readable bar each on a page; beyond, the curve speaks for them


def response_duration(data: ReportData, fmt: Suppression) -> Section:
    """Duration of response as clinicians read it: the Kaplan–Meier curve (responders are
    censored at their last sample, so a mean of observed durations would be biased), its
    median with a 95% interval, the number at risk, and a swimmer plot of the responders."""
    responders = data.responders
    n, n_lost = len(responders), sum(not r.censored for r in responders)
    km = kaplan_meier([r.duration_days for r in responders], [r.censored for r in responders])
    days = risk_table_days(max((r.duration_days for r in responders), default=0),
                           int(study_vars()["days_per_month"]))
    summary = [[fmt.count(n, field="responders"), fmt.count(n_lost, field="lost"),
                fmt.count(n - n_lost, field="censored"),
                fmt.survival_time(km.median if km else None, n, stat="dor_median"),
                fmt.survival_interval(km.median_low if km else None, km.median_high if km else None, n,
                                      stat="dor_median_ci")]]
    at_risk = [[text("responders at risk"),
                *[fmt.count(km.at_risk(day) if km else 0, at_risk_day=str(day)) for day in days]]]
    blocks = [
        Paragraph("Duration of response starts at the first responding sample (R or CR) on or after "
                  "Day 2 and ends when response is lost (the first of two consecutive non-responding "
                  "samples more than a day apart); a responder without a loss is censored at the last "
                  "platelet sample. The Kaplan–Meier estimate (lifelines) accounts for censoring; the "
                  "median's 95% interval is where the curve's 95% band (log(−log), Greenwood variance) "
                  "crosses 50%, and 'not reached' means the curve or its band never falls to 50%."),
        Table("response-duration", "Duration of response (Kaplan–Meier)",
              ["subjects with a response", "response lost", "censored (no loss observed)",
               "median duration, days", "95% CI, days"], summary),
        Chart("dor-km-chart", "Duration of response: Kaplan–Meier estimate with 95% band, censored "
              "responders marked, number at risk below",
              "Step chart: proportion of responders still responding by days since first response, "
              "with censoring ticks and the number at risk under the axis",
              charts.kaplan_meier(km, days, fmt), aspect=0.5),
        Table("dor-at-risk", "Number at risk by days since first response",
              ["", *[str(day) for day in days]], at_risk,
              note=("Responders whose response lasted at least that many days and who were still "
                    "followed (duration ≥ day)."
                    + (f" Under suppression the curve stops where fewer than {fmt.below} responders "
                       "remain at risk." if fmt.active else ""))),
    ]
    if fmt.active:
        blocks.append(Paragraph("The swimmer plot (one bar per responder) is left out of a report with "
                                "small-cell suppression: each bar is one subject's own course."))
    elif n > SWIMMER_MAX_RESPONDERS:
        blocks.append(Paragraph(f"The swimmer plot is drawn for at most {SWIMMER_MAX_RESPONDERS} responders "
                                f"(one readable bar each); this cohort has {n}: the Kaplan–Meier curve above "
                                "summarises them."))
    elif n:
        blocks.append(Chart("dor-swimmer-chart", "Swimmer plot of responders: exposure, first response, "
                            "loss of response, censoring",
                            f"Swimmer plot: one horizontal bar per responder ({n}) showing exposure in study "
                            "days, with markers for first response, loss of response and censoring",
                            charts.swimmer(responders), aspect=charts.swimmer_aspect(n)))
    return Section("duration-of-response", "Duration of response", blocks)


def platelets(data: ReportData, fmt: Suppression) -> Section:
    v = study_vars()
    refs = [(float(v["cr_min_plt"]), f"CR threshold {v['cr_min_plt']}"),
            (float(v["r_min_plt"]), f"R threshold {v['r_min_plt']}")]
    rows = [[text(str(m.treatment_month)), fmt.count(m.n_subjects, month=str(m.treatment_month), field="subjects"),
             *[fmt.stat(value, m.n_subjects, month=str(m.treatment_month), stat=name)
               for name, value in (("median", m.median), ("q1", m.q1), ("q3", m.q3))]]
            for m in data.platelets_by_month]
    return Section("platelets", "Platelet count over time", [
        Paragraph("One value per subject and month: the month's last platelet count "
                  "(patient_month.plt_last), so subjects sampled often weigh no more than others. "
                  f"Month 0 is the baseline window (study days {_baseline_window()})."),
        Chart("platelet-chart", "Platelet count (×10⁹/L) by treatment month: median and interquartile range",
              "Line chart with band: median platelet count and interquartile range by treatment month",
              charts.quartile_band(data.platelets_by_month, fmt, ylabel="platelets ×10⁹/L",
                                   reference_lines=refs), aspect=0.45),
        Table("platelet-table", "Platelet count by treatment month",
              ["month", "subjects with a PLT", "median", "Q1", "Q3"], rows),
    ])


# ---------------------------------------------------------------------------- bleeding, conmeds

def bleeding(index: EndpointIndex, fmt: Suppression) -> Section:
    timepoints = ["baseline"] + [f"month_{k}" for k in index.months("bleeding_any")]
    found = [index.get("bleeding_any", tp) for tp in timepoints]
    labels = ["BL"] + [str(k) for k in index.months("bleeding_any")]
    return Section("bleeding", "Bleeding", [
        Paragraph("Share of subjects with any bleeding (highest WHO grade ≥ 1) among the subjects "
                  "with a bleeding assessment in the window: baseline (month 0) and treatment months."),
        Chart("bleeding-chart", "Any bleeding by month from baseline, % of assessed subjects (whiskers: 95% CI)",
              "Bar chart: percentage of assessed subjects with any bleeding, baseline and each month, "
              "with 95% confidence intervals",
              charts.percent_bars(labels, found, fmt, ylabel="% of assessed subjects",
                                  colour=charts.BLEEDING_COLOUR)),
        Table("bleeding-table", "Any bleeding by window (endpoint summary)", ["window", *ENDPOINT_HEADER],
              [_endpoint_row(index, fmt, "bleeding_any", tp, timepoint_label(tp)) for tp in timepoints]),
    ])


def conmeds(index: EndpointIndex, fmt: Suppression) -> Section:
    classes = sorted(tp[: -len(CLASS_SUFFIX)] for tp in index.timepoints("conmed_reduced")
                     if tp.endswith(CLASS_SUFFIX))
    overall = [_endpoint_row(index, fmt, "conmed_baseline", "all", endpoint_label("conmed_baseline")),
               _endpoint_row(index, fmt, "conmed_reduced", "month_3_to_6",
                             endpoint_label("conmed_reduced") + " (any class)")]
    by_class = [_endpoint_row(index, fmt, "conmed_reduced", c + CLASS_SUFFIX, c.replace("_", " "))
                for c in classes]
    found = [index.get("conmed_reduced", c + CLASS_SUFFIX) for c in classes]
    return Section("conmeds", "Concomitant ITP medication", [
        Paragraph("Baseline users take an ITP medication (any class but 'other') on Day 1. A user "
                  "reduced or stopped when, within study days "
                  f"{study_vars()['conmed_reduction_first_day']} … {study_vars()['conmed_reduction_last_day']}, "
                  "a baseline drug period ends "
                  "without a same-drug replacement or is replaced at a lower daily dose. Per class, the "
                  "denominator is the baseline users of that class."),
        Table("conmed-overall", "Use at baseline (of treated) and reduction (of baseline users)",
              ["", *ENDPOINT_HEADER], overall),
        Table("conmed-classes", "Reduced or stopped between months 3 and 6, by drug class",
              ["drug class", "reduced or stopped", "baseline users", "%", "95% CI"], by_class),
        Chart("conmed-chart", "Reduced or stopped between months 3 and 6, % of baseline users of the class "
              "(whiskers: 95% CI)",
              "Bar chart: percentage of baseline users who reduced or stopped, by drug class, "
              "with 95% confidence intervals",
              charts.percent_bars([c.replace("_", " ") for c in classes], found, fmt,
                                  ylabel="% of baseline users", colour=charts.CR_COLOUR), aspect=0.38),
    ])


# ---------------------------------------------------------------------------- safety

AE_ENDPOINTS = ["ae_any", "ae_grade3plus", "ae_serious", "ae_related", "ae_led_to_withdrawal"]


def adverse_events(data: ReportData, index: EndpointIndex, fmt: Suppression) -> Section:
    grades = [[text(f"grade {g.grade}"), fmt.count(g.n, ae_grade=str(g.grade))] for g in data.ae_worst_grades]
    labels = safety_signals()
    signals = [[text(labels.get(s.signal, s.signal)), fmt.count(s.n_subjects), fmt.count(s.n_rows)]
               for s in data.signals]
    return Section("adverse-events", "Adverse events and safety signals", [
        Table("ae-endpoints", "Treatment-emergent adverse events (subjects, of treated)", ["", *ENDPOINT_HEADER],
              [_endpoint_row(index, fmt, e, "all", endpoint_label(e)) for e in AE_ENDPOINTS]),
        Table("ae-grades", "Subjects by worst CTCAE grade of their adverse events", ["worst grade", "subjects"],
              grades or [[text("no adverse event"), Cell("")]],
              note="By onset month (patient_month.max_ae_grade, months 0 …). Month 0 spans study days "
                   f"{_baseline_window()}, so an event before the first dose counts here while the rows "
                   "above count treatment-emergent events only."),
        Table("safety-signals", "Safety signals for monitors (records by the cutoff, baseline included)",
              ["signal", "subjects", "signal rows"], signals or [[text("none"), Cell(""), Cell("")]]),
    ])


def lab_safety(data: ReportData, index: EndpointIndex, fmt: Suppression) -> Section:
    tests = list(dict.fromkeys(index.timepoints("lab_grade1plus") + index.timepoints("lab_grade3plus")))
    worst: dict[str, dict[int, int]] = defaultdict(dict)
    for g in data.lab_worst_grades:
        worst[g.group][g.grade] = g.n
    grade_range = _grade_range(data.lab_worst_grades)
    rows = []
    for test in tests:
        g1 = index.get("lab_grade1plus", test)
        g3 = index.get("lab_grade3plus", test)
        rows.append([
            text(test),
            *endpoint_cells(fmt, g1, endpoint="lab_grade1plus", timepoint=test, fields=("denominator",)),
            *[fmt.count(worst[test].get(grade, 0), test=test, grade=str(grade)) for grade in grade_range],
            *endpoint_cells(fmt, g1, endpoint="lab_grade1plus", timepoint=test,
                            fields=("n", "pct", "ci", "n_not_determinable")),
            *endpoint_cells(fmt, g3, endpoint="lab_grade3plus", timepoint=test,
                            fields=("n", "pct", "ci", "n_not_determinable")),
        ])
    return Section("lab-safety", "Laboratory safety: worst CTCAE v5 grades", [
        Paragraph("Worst post-baseline CTCAE v5 grade per subject and test (samples after Day 1, "
                  "by the cutoff); platelet count is the disease itself and is not graded."),
        Table("lab-grades", "Subjects by worst post-baseline grade",
              ["test", "subjects tested", *[f"grade {g}" for g in grade_range],
               "≥ 1 n", "≥ 1 %", "≥ 1 95% CI", "≥ 1 not determinable",
               "≥ 3 n", "≥ 3 %", "≥ 3 95% CI", "≥ 3 not determinable"], rows,
              note="Not determinable: subjects whose grade ≥ 1 (≥ 3) is neither certain nor excluded, "
                   "because results were sent as bounds (<x, >x) that allow both (endpoints.md §6); "
                   "they are not in n. The grade columns count each subject's worst determinable grade."),
    ])


def _grade_range(counts: list[GradeCount]) -> list[int]:
    top = max((g.grade for g in counts), default=4)
    return list(range(0, max(top, 4) + 1))


# ---------------------------------------------------------------------------- data quality

FILE_STATUSES = ["loaded", "duplicate", "superseded", "refused"]


def data_quality(data: ReportData, fmt: Suppression) -> Section:
    statuses = FILE_STATUSES + sorted({f.status for f in data.files} - set(FILE_STATUSES))
    per_site: dict[str | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for f in data.files:
        site = per_site[f.site_id]
        site[f.status] += f.n_files
        site["rows read"] += f.rows_read
        site["rows accepted"] += f.rows_accepted
        site["rows quarantined"] += f.rows_quarantined
    totals = ["rows read", "rows accepted", "rows quarantined"]
    files = [[text(_site(s)), *[fmt.count(c.get(k, 0)) for k in statuses + totals]]
             for s, c in per_site.items()]
    refused = [[text(r.file_name), text(_site(r.site_id)), text(r.reason)] for r in data.refused_files]
    quarantine = [[text(_site(q.site_id)), text(q.domain), text(q.check_name),
                   fmt.count(q.n_current), fmt.count(q.n_all)] for q in data.quarantine]
    queries = [[text(_site(q.site_id)), fmt.count(q.n_open, site=_site(q.site_id), field="open_queries"),
                fmt.count(q.n_resolved)] for q in data.queries_by_site]
    by_check = [[text(_site(q.site_id)), text(q.domain), text(q.check_name), fmt.count(q.n_open)]
                for q in data.open_queries_by_check]
    return Section("data-quality", "Data quality", [
        Paragraph("Every file seen in the inbox since the warehouse started, by site and status; rows "
                  "refused by a check are in quarantine and open a query to the site."),
        Table("dq-files", "Files by site and status", ["site", *statuses, *totals], files),
        Table("dq-refused", "Refused files", ["file", "site", "reason"],
              refused or [[text("none"), Cell(""), Cell("")]]),
        Table("dq-quarantine", "Quarantined rows by site, domain and check",
              ["site", "domain", "check", "rows in current snapshots", "rows in all files"],
              quarantine or [[text("none"), Cell(""), Cell(""), Cell(""), Cell("")]],
              note="Snapshots are cumulative: a row still wrong in the next export is quarantined again, "
                   "so 'all files' counts it once per file."),
        Table("dq-queries", "Site queries by site", ["site", "open", "resolved"],
              queries or [[text("none"), Cell(""), Cell("")]]),
        Table("dq-open-queries", "Open site queries by site and check", ["site", "domain", "check", "open"],
              by_check or [[text("none"), Cell(""), Cell(""), Cell("")]]),
    ])


def other_endpoints(index: EndpointIndex, fmt: Suppression) -> Section | None:
    """Rows of the mart no section printed (e.g. an endpoint added after this report)."""
    rows = [[text(endpoint_label(r.endpoint)), text(timepoint_label(r.timepoint)),
             *endpoint_cells(fmt, r, endpoint=r.endpoint, timepoint=r.timepoint)] for r in index.unused()]
    if not rows:
        return None
    return Section("other-endpoints", "Other endpoint figures", [
        Table("other-endpoints-table", "Endpoint summary rows not shown above",
              ["endpoint", "timepoint", *ENDPOINT_HEADER], rows)])
