"""The demo cohort (a package of its own: it is how the demo and the tests get input, not
how the product reads site files): site exports that exercise every rule of the export contract, plus the
truth of what was planted, computed by an oracle that shares no code with the warehouse.

Why it exists: the warehouse must reproduce the study's first report (endpoints.md §9)
exactly, and a demo or test can only prove that if the input is known to the last row. So the
default call writes a *calibrated* cohort (three sites with three conventions, monthly
cumulative snapshots with corrections, deletions, a resend, identifying columns and bad rows)
whose clean final data give the §9 figures; `subjects=`/`months=` write a *scaled* cohort of
the same shapes for benchmarks, streamed subject by subject so memory stays bounded.

Layout of the `demo` package, in the order data flows:
  demo.rules        the spec's windows and thresholds (dbt_project.yml vars, never repeated here)
  demo.conventions  how each family of sites writes files (encoding, units, aliases, names)
  demo.plans        what happens to one subject, in study days (calibrated and scaled planners)
  demo.rows         a plan as export rows in the site's own units, with snapshot visibility
  demo.plants       corrections, deletions, bad rows, a text date cell: what the load must handle
  demo.writers      streaming CSV/xlsx writers fanning each row out to every snapshot it belongs to
  demo.truth        the oracle: per-subject truth and endpoint figures from the clean final rows
                    (the tests' independent implementation of the IWG rules, not product logic)
  demo.cohort       generate_cohort and the CLI (`python -m demo.cohort`)
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import yaml

from demo.conventions import CALIBRATED_SITES, DEMO_STUDY_ID, Site
from demo.plans import Calibration, calibrated_plans, scaled_plans, scaled_sites
from demo.plants import PlantLog, Planter
from demo.rows import plan_rows
from demo.rules import (CUTOFF, DEFAULT_SCALED_MONTHS, DEFAULT_SCALED_SUBJECTS, EXPORT_HISTORY_MONTHS, SNAPSHOT_MODES,
                        Rules)
from demo.truth import Figures, SubjectData, TRUTH_COLUMNS, oracle, truth_cell
from demo.writers import SiteExports, header_text
from sources.domains import DOMAINS


@dataclass(frozen=True)
class GeneratedCohort:
    inbox: Path          # HOME/inbox (site exports, sub-folders allowed)
    sites_file: Path     # HOME/sites.yaml (site registry, spec §4)
    truth_file: Path     # HOME/truth/subjects.csv (what was planted, per subject)
    cutoff: date         # latest export date written
    planted_file: Path | None = None   # HOME/truth/planted.json
    figures_file: Path | None = None   # HOME/truth/endpoint_summary.csv (oracle figures)
    rows_written: int = 0


def export_calendar(cutoff: date, months: int) -> list[date]:
    """Month-end export dates, the last being the cutoff."""
    out = [cutoff]
    while len(out) < months:
        out.append(out[-1].replace(day=1) - timedelta(days=1))
    return sorted(out)


def written_dates(calendar: list[date], snapshots: str) -> list[date]:
    if snapshots not in SNAPSHOT_MODES:
        raise ValueError(f"snapshots must be one of {', '.join(SNAPSHOT_MODES)}, not {snapshots!r}")
    return {"monthly": calendar, "final": calendar[-1:], "delta": calendar[-2:]}[snapshots]


def generate_cohort(home: Path, *, seed: int = 20240611, subjects: int | None = None, months: int | None = None,
                    snapshots: str = "monthly") -> GeneratedCohort:
    """Write the demo cohort under `home`: inbox/<SITE>/<SITE>_<domain>_<YYYYMMDD>.<ext>, a
    resend under inbox/resend/, sites.yaml and truth/ (subjects.csv, planted.json,
    endpoint_summary.csv). Without `subjects` and `months` it is the calibrated cohort of
    endpoints.md §9; with either, a scaled cohort of the same shapes.

    `snapshots`: "monthly" = a cumulative snapshot at each of the last EXPORT_HISTORY_MONTHS
    month ends; "final" = the cutoff snapshot only; "delta" = the cutoff and the month before
    (a nightly-delta benchmark loads the first, then the second).

    Files are overwritten in place; other files already in the inbox are left alone."""
    home = Path(home)
    r = Rules.load()
    calibrated = subjects is None and months is None
    cutoff = CUTOFF
    n_months = months or DEFAULT_SCALED_MONTHS
    calendar = export_calendar(cutoff, min(EXPORT_HISTORY_MONTHS, n_months))
    dates = written_dates(calendar, snapshots)
    inbox, truth_dir = home / "inbox", home / "truth"
    inbox.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)

    if calibrated:
        sites = list(CALIBRATED_SITES)
        all_plans = calibrated_plans(seed, r, cutoff)
        plans_of = lambda s: [p for p in all_plans if p.site.code == s.code]  # noqa: E731
    else:
        n = subjects or DEFAULT_SCALED_SUBJECTS
        sites = scaled_sites(n)
        per_site = {s.code: n // len(sites) + (1 if i < n % len(sites) else 0) for i, s in enumerate(sites)}
        plans_of = lambda s: scaled_plans(seed, r, s, per_site[s.code], n_months, cutoff)  # noqa: E731

    sites_file = home / "sites.yaml"
    registry = {"study_id": DEMO_STUDY_ID, "sites": {s.code: s.registry_entry() for s in sites}}
    sites_file.write_text(yaml.safe_dump(registry, allow_unicode=True, sort_keys=False), encoding="utf-8")
    log = PlantLog()
    figures = Figures(r)
    identifiers: list[dict[str, object]] = []
    truth_file = truth_dir / "subjects.csv"
    total = 0
    with open(truth_file, "w", encoding="utf-8", newline="") as fh:
        truth = csv.writer(fh, lineterminator="\n")
        truth.writerow(TRUTH_COLUMNS)
        for site in sites:
            exports = SiteExports(inbox, site, dates, log)
            planter = Planter(site, calendar, log)
            samples: list[dict[str, str]] = []
            for plan in plans_of(site):
                rows = plan_rows(plan)
                planter.apply(plan, rows)
                for domain in DOMAINS:
                    for row in rows[domain]:
                        exports.write(row)
                outcome = oracle(r, SubjectData.from_rows(site.code, plan.subject_id, rows, cutoff), cutoff, plan.case)
                truth.writerow([truth_cell(outcome.truth[c]) for c in TRUTH_COLUMNS])
                figures.add(outcome)
                if len(samples) < 20:
                    v = rows["subjects"][0].values
                    samples.append({k: str(v[k]) for k, _ in site.convention.extra_columns.get("subjects", ())})
            exports.close()
            total += sum(exports.rows_written.values())
            extra = site.convention.extra_columns.get("subjects", ())
            if extra:
                identifiers.append({
                    "kind": "identifier_columns", "site": site.code,
                    "files": [f"{site.code}/{site.file_name('subjects', e)}" for e in dates],
                    "columns": [header_text(site.convention, "subjects", k) for k, _ in extra],
                    "values": samples})

    resend = plant_resend(inbox, sites[0], dates)
    figures_file = truth_dir / "endpoint_summary.csv"
    with open(figures_file, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("endpoint", "timepoint", "n", "denominator", "pct"))
        w.writerows(figures.rows())
    planted = {
        "cutoff": cutoff.isoformat(), "seed": seed, "calibrated": calibrated, "snapshots": snapshots,
        "export_dates": [d.isoformat() for d in dates],
        "items": identifiers + [resend] + log.written(),
    }
    planted_file = truth_dir / "planted.json"
    planted_file.write_text(json.dumps(planted, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    if calibrated:
        check_calibration(figures, r)
    return GeneratedCohort(inbox, sites_file, truth_file, dates[-1], planted_file, figures_file, total)


def plant_resend(inbox: Path, site: Site, dates: list[date]) -> dict[str, object]:
    """The same bytes again under another path: a no-op for the load (site-exports.md §1)."""
    export = dates[-2] if len(dates) > 1 else dates[-1]
    name = site.file_name("labs", export)
    target = inbox / "resend" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(inbox / site.code / name, target)
    return {"id": f"{site.code}:resend", "kind": "resend", "site": site.code,
            "original": f"{site.code}/{name}", "copy": f"resend/{name}"}


def check_calibration(figures: Figures, r: Rules, cal: Calibration = Calibration()) -> None:
    """The calibrated cohort must give §9's figures; anything else is a generator bug."""
    expected = {("treated", "all"): (cal.treated, cal.treated),
                ("exposure_ge_3m", "all"): (cal.treated, cal.treated),
                ("exposure_gt_6m", "all"): (cal.exposure_gt_6m, cal.treated),
                ("exposure_ge_12m", "all"): (cal.exposure_ge_12m, cal.treated),
                ("withdrawn", "all"): (cal.withdrawn, cal.treated),
                ("withdrawn", "no_response"): (cal.withdrawn_no_response, cal.treated),
                ("withdrawn", "adverse_event"): (0, cal.treated),
                ("conmed_baseline", "all"): (cal.conmed_users, cal.treated),
                ("conmed_reduced", "month_3_to_6"): (cal.conmed_reduced, cal.conmed_users)}
    for w, n, any_ in cal.bleeding_assessed:
        expected[("bleeding_any", "baseline" if w == 0 else f"month_{w}")] = (any_, n)
    wrong = {k: (figures.get(*k), v) for k, v in expected.items() if figures.get(*k) != v}
    n0, d0 = figures.get("bleeding_any", "baseline")
    for k in range(1, r.report_months + 1):
        n, d = figures.get("bleeding_any", f"month_{k}")
        if d and n * d0 >= n0 * d:
            wrong[("bleeding_any", f"month_{k}")] = ((n, d), "below baseline share")
    if wrong:
        raise RuntimeError(f"calibrated cohort misses endpoints.md §9: {wrong}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.cohort", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="HOME folder to write inbox/, sites.yaml, truth/")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--subjects", type=int, default=None, help="scaled cohort of N subjects")
    parser.add_argument("--months", type=int, default=None, help="scaled cohort over M months of enrollment")
    parser.add_argument("--snapshots", choices=SNAPSHOT_MODES, default="monthly")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    cohort = generate_cohort(args.out, seed=args.seed, subjects=args.subjects, months=args.months,
                             snapshots=args.snapshots)
    elapsed = time.perf_counter() - t0
    files = sum(1 for p in cohort.inbox.rglob("*") if p.is_file())
    print(f"{files} files, {cohort.rows_written} rows in {elapsed:.1f} s "
          f"({cohort.rows_written / elapsed:,.0f} rows/s); cutoff {cohort.cutoff}; inbox {cohort.inbox}; "
          f"truth {cohort.truth_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
