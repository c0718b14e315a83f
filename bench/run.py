"""`make bench` / `python -m bench.run`: full and nightly-delta loads at registry sizes.

For each size: generate a scaled cohort, run the full load in a fresh HOME, measure the DuckDB
floor on the lab CSVs it read, add one site's new snapshot and run the delta load; then judge
the issue's targets and write bench/results/<date>-<machine>.json and .md (see bench.report
for the method). The 100,000-subject size takes hours on a small machine: pass --subjects to
run fewer sizes.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bench import cohort as bench_cohort
from bench.floor import Floor, measure_floor
from bench.machine import describe, finish, machine_name
from bench.postgres import measure_postgres, postgres_available
from bench.process import MeasuredProcess, run_measured
from bench.profiling import ProfileSummary, summarise
from bench.report import BenchRun, write
from bench.results import LoadResult, SizeResult, load_result
from bench.stages import STEP_STAGES, RunStages, latest_run_stages
from bench.targets import evaluate, extrapolate
from bench.warehouse import LoadFacts, dbt_slowest_nodes, load_facts
from bench.xlsx_csv import measure_xlsx_vs_csv

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = (1000, 10000, 100000)
DEFAULT_MONTHS = 24
DEFAULT_SEED = 20240611


class BenchError(RuntimeError):
    """A load of the benchmark did not publish: its numbers would mean nothing."""


def load_env() -> dict[str, str]:
    """The loads' environment: no telemetry, the Dagster instance under HOME (DAGSTER_HOME
    unset), and no ITP_* setting of the operator's shell: above all no ITP_ALERT_URLS, a
    benchmark must never alert the study's monitors."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITP_") and k != "DAGSTER_HOME"}
    env.update(DO_NOT_TRACK="1", DAGSTER_DISABLE_TELEMETRY="1", GX_ANALYTICS_ENABLED="false")
    return env


def load_command(cohort: bench_cohort.BenchCohort, home: Path, profile_to: Path | None = None) -> list[str]:
    """`itp-warehouse load`, through this interpreter (the venv need not be on PATH),
    optionally under cProfile."""
    profiler = ["-m", "cProfile", "-o", str(profile_to)] if profile_to else []
    return [sys.executable, *profiler, "-m", "orchestration.cli", "load", "--inbox", str(home / "inbox"),
            "--sites", str(cohort.sites_file), "--home", str(home)]


@dataclass(frozen=True)
class MeasuredLoad:
    proc: MeasuredProcess
    run: RunStages
    facts: LoadFacts

    home: Path

    def result(self, kind: str, floor: Floor) -> LoadResult:
        result = load_result(kind, self.proc, self.run, self.facts, floor)
        result.dbt_slowest = dbt_slowest_nodes(self.home, self.run.run_id)
        return result


def _measured_load(kind: str, cohort: bench_cohort.BenchCohort, home: Path, logs: Path) -> MeasuredLoad:
    proc = run_measured(load_command(cohort, home), cwd=REPO, env=load_env(), log_dir=logs, name=f"{kind}-load")
    if proc.returncode != 0:
        raise BenchError(f"the {kind} load failed (exit {proc.returncode}); log {proc.stderr_file}:\n"
                         + proc.stderr_tail())
    run = latest_run_stages(home / "dagster")
    missing = set(STEP_STAGES) - run.succeeded_steps
    if run.status != "SUCCESS" or missing:
        raise BenchError(f"the {kind} load (run {run.run_id}, {run.status}) did not publish: "
                         f"steps {', '.join(sorted(missing)) or 'none'} missing; log {proc.stdout_file}")
    return MeasuredLoad(proc, run, load_facts(home / "warehouse.duckdb", run.run_id), home)


def bench_size(subjects: int, months: int, seed: int, workdir: Path,
               generated: Path | None = None) -> tuple[SizeResult, bench_cohort.BenchCohort]:
    def say(text: str) -> None:
        print(f"[{subjects:,} subjects] {text}", flush=True)

    say("generating the cohort")
    cohort = bench_cohort.generate(generated or workdir / "generated", subjects=subjects, months=months, seed=seed)
    say(f"{cohort.sites} sites, {cohort.rows_written:,} rows written in {cohort.generate_s:.0f} s; full load")
    home, logs = workdir / "home", workdir / "logs"
    bench_cohort.place(cohort, cohort.full, home / "inbox")
    full = _measured_load("full", cohort, home, logs)
    floor = measure_floor(cohort, bench_cohort.lab_csv_files(cohort.full, full.facts.read_paths),
                          workdir / "scratch")
    say(f"full load {full.proc.wall_s:.0f} s; floor {floor.seconds:.2f} s for {floor.rows:,} rows")
    xlsx_csv = measure_xlsx_vs_csv(cohort, cohort.full, full.facts.read_paths, workdir / "xlsx-csv")
    if xlsx_csv:
        say(f"xlsx {xlsx_csv.xlsx_s:.2f} s against the same {xlsx_csv.rows:,} rows as CSV {xlsx_csv.csv_s:.2f} s "
            f"({xlsx_csv.ratio:.2f}x)")
    postgres, skipped = None, postgres_available() or ""
    if not skipped:
        postgres = measure_postgres(home / "warehouse.duckdb", cohort.registry.sites, workdir / "pg-scratch")
        say(f"PostgreSQL publication {postgres.publication_s:.1f} s, plain COPY {postgres.plain_copy_s:.1f} s "
            f"({postgres.ratio:.2f}x) for {postgres.rows:,} rows")
    say(f"delta load of site {cohort.delta_site}")
    bench_cohort.place(cohort, cohort.delta, home / "inbox")
    delta = _measured_load("delta", cohort, home, logs)
    say(f"delta load {delta.proc.wall_s:.0f} s")
    loads = [full.result("full", floor), delta.result("delta", floor)]
    return SizeResult(subjects=subjects, months=months, sites=cohort.sites, delta_site=cohort.delta_site,
                      rows_generated=cohort.rows_written, generate_s=round(cohort.generate_s, 1),
                      floor=floor, loads=loads, postgres=postgres, postgres_skipped=skipped,
                      xlsx_csv=xlsx_csv), cohort


def profile_full_load(cohort: bench_cohort.BenchCohort, workdir: Path, subjects: int,
                      text_file: Path) -> ProfileSummary:
    home = workdir / "profile-home"
    bench_cohort.place(cohort, cohort.full, home / "inbox")
    prof, log = workdir / "full-load.prof", workdir / "logs" / "profiled-full-load.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as fh:
        done = subprocess.run(load_command(cohort, home, profile_to=prof), cwd=REPO, env=load_env(),
                              stdout=fh, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise BenchError(f"the profiled full load failed (exit {done.returncode}); log {log}")
    run = latest_run_stages(home / "dagster")
    facts = load_facts(home / "warehouse.duckdb", run.run_id)
    text_file.parent.mkdir(parents=True, exist_ok=True)
    return summarise(prof, text_file, subjects, facts.rows_read)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, nargs="+", default=list(DEFAULT_SIZES), metavar="N",
                        help=f"cohort sizes (default {' '.join(map(str, DEFAULT_SIZES))})")
    parser.add_argument("--months", type=int, default=DEFAULT_MONTHS, help="months of enrollment (default 24)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results", help="where results are written")
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the generated inboxes and HOMEs")
    parser.add_argument("--cohorts", type=Path,
                        help="keep generated cohorts here and reuse them in later runs (same size, months, seed)")
    parser.add_argument("--machine", help="machine name in the result file names (default: host name)")
    parser.add_argument("--profile", action="store_true",
                        help="also run one full load of the largest size under cProfile")
    parser.add_argument("--note", action="append", default=[], help="a note for the report (repeatable)")
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.subjects) or args.months < 1:
        parser.error("--subjects and --months must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sorted(set(args.subjects))
    machine = describe(machine_name(args.machine))
    today = date.today().isoformat()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="itp-bench-"))
    results: list[SizeResult] = []
    profile: ProfileSummary | None = None
    try:
        for subjects in sizes:
            size_dir = workdir / f"{subjects}-subjects"
            shutil.rmtree(size_dir, ignore_errors=True)
            cached = args.cohorts / f"{subjects}x{args.months}-seed{args.seed}" if args.cohorts else None
            result, cohort = bench_size(subjects, args.months, args.seed, size_dir, cached)
            results.append(result)
            if args.profile and subjects == sizes[-1]:
                print(f"[{subjects:,} subjects] profiling one more full load", flush=True)
                profile = profile_full_load(cohort, size_dir, subjects,
                                            args.out / f"{today}-{machine.name}-profile.txt")
            if not args.keep:
                shutil.rmtree(size_dir, ignore_errors=True)
    except BenchError as exc:
        print(f"benchmark stopped: {exc}\n(scratch kept in {workdir})", file=sys.stderr)
        return 1
    finish(machine)
    estimate = extrapolate(results)
    run = BenchRun(date=today, command=" ".join(["python -m bench.run", *(argv if argv is not None else sys.argv[1:])]),
                   months=args.months, seed=args.seed, machine=machine, sizes=results,
                   targets=evaluate(results, estimate, profile), extrapolation=estimate, profile=profile, notes=args.note)
    json_file, md_file = write(run, args.out)
    if not args.keep and args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"results: {json_file} and {md_file}")
    for t in run.targets:
        print(f"  {t.verdict:12} {t.target} ({t.subjects:,} subjects): {t.measured}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
