"""Key risk indicators per site (quality.site_indicators) on the demo cohort with a planted bad
site: the site crosses its thresholds, the clean sites do not, the monitors' alert names it
and says where the quality dashboard is."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sources.study_parameters import SEEDS_DIR
from tests.monitors.planted import BAD_SITE

CLEAN_SITES = ("PKUPH", "RJH", "WCH")


def _seed() -> dict[str, dict[str, str]]:
    with open(SEEDS_DIR / "site_indicator_thresholds.csv", encoding="utf-8", newline="") as fh:
        return {r["indicator"]: r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def indicators(monitored) -> dict[tuple[str, str], tuple]:
    rows = monitored.sql("""SELECT site_id, indicator, value, numerator, denominator, threshold, direction,
                                   is_over_threshold FROM quality.site_indicators WHERE load_id = ?""",
                         [monitored.load_id])
    return {(r[0], r[1]): r[2:] for r in rows}


def test_the_planted_site_crosses_its_thresholds(indicators):
    value = {indicator: v for (site, indicator), v in indicators.items() if site == BAD_SITE}
    assert value["quarantine_rate"][:3] == (6 / 66, 6, 66)           # one lab row per subject, of 66 rows
    assert value["open_queries_per_subject"][:3] == (1.0, 6, 6)      # one query per refused row
    assert value["days_since_last_export"][0] == 92                  # 2022-03-31 .. cutoff 2022-07-01
    assert value["exports_late_or_missing"][0] == 7                  # 3 late domains, 4 never sent
    assert value["missed_platelet_months"][:3] == (18 / 30, 18, 30)  # PLT in months 1-2 of 1-5
    assert value["safety_signals_per_patient_month"][:3] == (4 / 30, 4, 30)
    assert value["oldest_open_query_days"][0] == 0                   # opened by this very load
    over = sorted(i for i, v in value.items() if v[-1])
    assert over == sorted(set(value) - {"oldest_open_query_days"})


def test_the_clean_sites_stay_under_every_threshold(indicators):
    for site in CLEAN_SITES:
        over = [i for (s, i), v in indicators.items() if s == site and v[-1]]
        assert over == [], f"demo site {site} is over {over}"
        assert len([1 for (s, _) in indicators if s == site]) == len(_seed())


def test_thresholds_come_from_the_one_seed(indicators):
    seed = _seed()
    for (_, indicator), (*_, threshold, direction, _over) in indicators.items():
        assert (threshold, direction) == (float(seed[indicator]["threshold"]), seed[indicator]["direction"])


def test_each_load_keeps_its_indicators(monitored):
    loads = monitored.sql("""SELECT load_id, count(*), count(DISTINCT site_id) FROM quality.site_indicators
                             GROUP BY load_id ORDER BY min(cutoff_date)""")
    # the demo's load (3 sites) and this one (the planted site too)
    assert [(n_sites) for _, _, n_sites in loads] == [3, 4]
    assert loads[-1][0] == monitored.load_id


def test_the_alert_names_the_planted_site_and_the_dashboard(monitored):
    [(path, payload)] = monitored.alerts
    assert path == "/hooks/itp"
    assert f"site(s) over a risk threshold: {BAD_SITE}" in payload["title"]
    body = payload["message"]
    section = body.split("Sites over a key risk indicator threshold (1; quality.site_indicators):\n", 1)[1]
    section = section.split("\n\n", 1)[0]
    assert section.startswith(f"- site {BAD_SITE}: Rows quarantined 9.1% (threshold: above 5.0%); ")
    assert "Days since the last export 92 (threshold: above 45)" in section
    assert not any(site in section for site in CLEAN_SITES)
    dashboard = Path(body.split("Quality dashboard: ", 1)[1].splitlines()[0])
    assert dashboard.is_file() and dashboard.parent == monitored.home.home / "quality_reports"
