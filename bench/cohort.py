"""The benchmark's inbox: a scaled generated cohort split into a full load and a nightly delta.

The generator's "delta" mode writes two cumulative snapshots per site and domain: the month
before the cutoff and the cutoff. The full load is every file of the earlier month (plus the
generator's resend, a byte copy of one of them, as a real inbox has); the nightly delta is
then the cutoff snapshot of ONE site, i.e. what a normal night brings: one site sending its
new export. The other sites' cutoff files are never loaded.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from demo.cohort import generate_cohort
from sources.model import ExportName
from sources.naming import parse_file_name
from sources.registry import SiteRegistry, load_registry


@dataclass(frozen=True)
class InboxEntry:
    rel_path: str        # relative to the generated inbox, "/"-separated
    name: ExportName


@dataclass(frozen=True)
class BenchCohort:
    generated: Path              # the generator's HOME: inbox/, sites.yaml, truth/
    sites_file: Path
    registry: SiteRegistry
    full: list[InboxEntry]       # the earlier snapshot of every site (+ the resend copy)
    delta: list[InboxEntry]      # the cutoff snapshot of delta_site
    delta_site: str
    sites: int
    rows_written: int            # rows the generator wrote over both snapshots
    generate_s: float

    @property
    def inbox(self) -> Path:
        return self.generated / "inbox"

    def paths(self, entries: list[InboxEntry]) -> list[Path]:
        return [self.inbox / e.rel_path for e in entries]


GENERATED_RECORD = "generated.json"   # written last: its presence means the cohort is complete


def generate(out: Path, *, subjects: int, months: int, seed: int) -> BenchCohort:
    """Generate the cohort into `out`, or reuse the one a previous run completed there (the
    100,000-subject cohort takes a quarter of an hour to write: `--cohorts` keeps it)."""
    record = out / GENERATED_RECORD
    wanted = {"subjects": subjects, "months": months, "seed": seed}
    done = json.loads(record.read_text()) if record.exists() else {}
    if {k: done.get(k) for k in wanted} == wanted:
        sites_file, rows_written, generate_s = out / "sites.yaml", done["rows_written"], done["generate_s"]
    else:
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        cohort = generate_cohort(out, seed=seed, subjects=subjects, months=months, snapshots="delta")
        generate_s = time.perf_counter() - started
        sites_file, rows_written = cohort.sites_file, cohort.rows_written
        record.write_text(json.dumps({**wanted, "rows_written": rows_written, "generate_s": generate_s}))
    inbox = out / "inbox"
    registry = load_registry(sites_file)
    entries = [InboxEntry(p.relative_to(inbox).as_posix(), parse_file_name(p.name, registry))
               for p in sorted(inbox.rglob("*")) if p.is_file()]
    dates = sorted({e.name.export_date for e in entries})
    if len(dates) != 2:
        raise RuntimeError(f"the generator's delta mode should write two export dates, found {dates}")
    earlier, cutoff = dates
    delta_site = sorted(registry.sites)[0]
    return BenchCohort(
        generated=out, sites_file=sites_file, registry=registry,
        full=_of(entries, earlier),
        delta=[e for e in _of(entries, cutoff) if e.name.site == delta_site],
        delta_site=delta_site, sites=len(registry.sites), rows_written=rows_written,
        generate_s=generate_s)


def _of(entries: list[InboxEntry], export_date: date) -> list[InboxEntry]:
    return [e for e in entries if e.name.export_date == export_date]


def place(cohort: BenchCohort, entries: list[InboxEntry], inbox: Path) -> None:
    """Drop files into a load's inbox as a site's transfer would (same relative paths)."""
    for e in entries:
        target = inbox / e.rel_path
        target.parent.mkdir(parents=True, exist_ok=True)
        try:  # a hard link: the 100,000-subject inbox is gigabytes, and loads never write to it
            os.link(cohort.inbox / e.rel_path, target)
        except OSError:
            shutil.copyfile(cohort.inbox / e.rel_path, target)



def lab_csv_files(entries: list[InboxEntry], loaded: set[str]) -> list[InboxEntry]:
    """The files the DuckDB floor reads: the lab CSVs the load actually read (`loaded`: its
    manifest paths; a resent copy is not read). xlsx has no DuckDB reader without an extension
    download, and labs are most of the rows."""
    return [e for e in entries if e.name.domain == "labs" and e.name.ext == "csv" and e.rel_path in loaded]
