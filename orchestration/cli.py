"""`itp-warehouse`: the command line of data engineers, analysts and monitors.

Every command ends with one line and an exit code (README "Exit codes", orchestration.exits);
an operational fault or an unexpected error is said in one sentence, with its traceback (and
Dagster's stack traces) only under `--verbose`."""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

# Before anything imports dbt, Dagster or GX: no telemetry, offline (dbt hangs ~30 s otherwise).
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def _settings(home: Path, inbox: Path, sites: Path, cutoff: str | None, study_id: str | None = None):
    from orchestration.resources import WarehouseSettings, tuning_from_env

    return WarehouseSettings(home=str(home.resolve()), inbox=str(inbox.resolve()),
                             sites_file=str(sites.resolve()), cutoff=cutoff or "",
                             study_id=study_id or os.environ.get("ITP_STUDY_ID", ""), **tuning_from_env())


def _verbose(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "verbose", False))


def _load(settings, verbose: bool = False) -> int:
    """Run a load: its stages, warnings and one closing line here; the full log in a file."""
    from orchestration.console import LoadConsole
    from orchestration.loading import run_load

    console = None if verbose else LoadConsole(sys.stdout)
    outcome = run_load(settings, verbose=verbose, console=console)
    for line in console.warnings() if console else []:
        print(line, file=sys.stderr)
    for message in outcome.messages:
        print(message, file=sys.stderr if not outcome.ok else sys.stdout)
    if outcome.status == "failed":
        print(f"load {outcome.load_id} FAILED (exit code {outcome.exit_code}): the published warehouse was not "
              f"changed; full log: {outcome.log_file}", file=sys.stderr)
        return outcome.exit_code
    print(f"load {outcome.load_id}: {outcome.status} -> {Path(settings.home) / 'warehouse.duckdb'}")
    if outcome.postgres_failed:
        print(f"load {outcome.load_id}: the PostgreSQL publication FAILED; PostgreSQL still serves the "
              "previous load (retry with `itp-warehouse publish-postgres`).", file=sys.stderr)
        from orchestration import exits

        return exits.SERVING
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from orchestration.publishing import WarehouseHome, drop_early_copy, start_early_copy

    # Before Dagster and dbt are imported: the copy of the published warehouse overlaps them.
    home = WarehouseHome(args.home.resolve())
    if args.home.is_dir():
        start_early_copy(home)
    try:
        return _load(_settings(args.home, args.inbox, args.sites, args.cutoff, args.study_id), _verbose(args))
    finally:
        drop_early_copy(home)   # a load that ended before it took the copy


def cmd_release(args: argparse.Namespace) -> int:
    """Record that a held file may become current: the next load applies it."""
    from datetime import datetime, timezone

    import duckdb

    from orchestration.exits import _user
    from ingest import holds

    home = args.home.resolve()
    published = home / "warehouse.duckdb"
    if not published.exists():
        print(f"nothing to release: no published warehouse at {published}", file=sys.stderr)
        return 1
    with duckdb.connect(str(published), read_only=True) as conn:
        held = holds.outstanding(conn)
        wanted = [h for h in held if args.file in (h.file_path, h.file_path.rsplit("/", 1)[-1])]
        sha256 = (conn.execute("SELECT sha256 FROM quality.file_manifest WHERE file_path = ? AND status = 'held'",
                               [wanted[0].file_path]).fetchone()[0] if len(wanted) == 1 else None)
    if len(wanted) != 1:
        shown = "; ".join(h.file_path for h in held) or "none"
        problem = "several held files have that name: give the path" if wanted else "no held file is named so"
        print(f"not released: {problem} {args.file!r} (held files: {shown})", file=sys.stderr)
        return 1
    request = holds.ReleaseRequest(wanted[0].file_path, sha256, args.by or _user(),
                                   datetime.now(timezone.utc).replace(tzinfo=None), args.note or "")
    holds.write_request(home, request)
    print(f"release of {request.file_path} recorded (by {request.released_by} at "
          f"{request.released_at:%Y-%m-%d %H:%M} UTC): the next load makes it current")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from orchestration.summary import print_summary
    from demo.cohort import generate_cohort

    home = args.home.resolve()
    cohort = generate_cohort(home)
    print(f"demo cohort written: inbox {cohort.inbox}, registry {cohort.sites_file}")
    code = _load(_settings(home, cohort.inbox, cohort.sites_file, None), _verbose(args))
    if code == 0:
        code = _adam(home, home / "adam", quiet_withheld=True)
        summary = print_summary(home / "warehouse.duckdb")   # last: the summary ends the demo
        code = code or summary
    return code


def cmd_summary(args: argparse.Namespace) -> int:
    from orchestration.summary import print_summary

    return print_summary(args.home.resolve() / "warehouse.duckdb", compact=not args.all)


def cmd_rollback(args: argparse.Namespace) -> int:
    from orchestration.publishing import WarehouseHome, rollback

    try:
        restored = rollback(WarehouseHome(args.home.resolve()))
    except RuntimeError as exc:
        print(f"rollback impossible: {exc}", file=sys.stderr)
        return 1
    print(f"published warehouse restored to {restored.name}")
    return 0


def cmd_publish_postgres(args: argparse.Namespace) -> int:
    from orchestration.pg_publishing import (POSTGRES_URL_ENV, PostgresPublicationError, postgres_url,
                                             publish_to_postgres)
    from orchestration import exits
    from sources.registry import RegistryError, load_registry

    home = args.home.resolve()
    url = postgres_url()
    if url is None:
        print(f"{POSTGRES_URL_ENV} is not set: where should the warehouse be published?", file=sys.stderr)
        return exits.CONFIGURATION
    published = home / "warehouse.duckdb"
    if not published.exists():
        print(f"no published warehouse at {published}", file=sys.stderr)
        return 1
    sites_file = args.sites or Path(os.environ.get("ITP_SITES", home / "sites.yaml"))
    try:
        sites = load_registry(sites_file).sites if args.sites or sites_file.exists() else {}
    except RegistryError as exc:
        print(f"site registry {sites_file} is invalid: {exc}", file=sys.stderr)
        return exits.CONFIGURATION
    try:
        done = publish_to_postgres(published, url, sites, log=print if _verbose(args) else lambda _: None)
    except PostgresPublicationError as exc:
        print(f"PostgreSQL publication FAILED, its live schemas are unchanged: {exc}", file=sys.stderr)
        return exits.SERVING
    print(done.sentence())
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from orchestration.status import print_status

    return print_status(args.home.resolve())


def cmd_report(args: argparse.Namespace) -> int:
    from orchestration.report import ReportError, build_report

    home = args.home.resolve()
    out = (args.out or home / "reports").resolve()
    try:
        paths = build_report(home / "warehouse.duckdb", out, suppress_below=args.suppress_below)
    except (ReportError, ValueError) as exc:
        print(f"report not built: {exc}", file=sys.stderr)
        return 1
    for p in paths:
        print(p)
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    import subprocess

    from orchestration.dbt_docs import generate_docs

    home = args.home.resolve()
    try:
        index = generate_docs(home, (args.out or home / "docs").resolve())
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stdout", "") or ""
        print(f"docs not generated: {exc}\n{detail[-2000:]}", file=sys.stderr)
        return 1
    print(f"dbt docs (table dictionary, lineage, tests): {index}")
    return 0


def _adam(home: Path, out: Path, quiet_withheld: bool = False) -> int:
    """Write the ADaM package; one line says where and what was withheld. The demo cohort's
    Chinese AE terms and drug names withhold two XPT files by design (adam.md §3): there
    (quiet_withheld) that is not a failure."""
    from orchestration.adam import export_adam

    result = export_adam(home, out.resolve())
    print(result.summary(), file=sys.stderr if result.status == 1 else sys.stdout)
    if quiet_withheld and result.status == 2:
        return 0
    return result.status


def cmd_adam(args: argparse.Namespace) -> int:
    home = args.home.resolve()
    return _adam(home, args.out or home / "adam")


def cmd_queries(args: argparse.Namespace) -> int:
    import duckdb

    from quality.export import write_site_queries

    if bool(args.out) == bool(args.answers):
        print("give either --out FILE (export the queries) or --answers FILE.xlsx (import a site's answers)",
              file=sys.stderr)
        return 2
    if args.answers:
        return _import_answers(args)
    published = args.home.resolve() / "warehouse.duckdb"
    if not published.exists():
        print(f"no published warehouse at {published}", file=sys.stderr)
        return 1
    with duckdb.connect(str(published), read_only=True) as conn:
        n = write_site_queries(conn, args.out, site=args.site)
    print(f"{n} queries waiting for the site (open or answered) written to {args.out}")
    return 0


def _import_answers(args: argparse.Namespace) -> int:
    """A site's filled workbook: refused with the reasons (nothing changes), or published."""
    from orchestration.answers import import_answers
    from orchestration.exits import _user
    from quality.query_workbook import WorkbookRefused

    try:
        outcome = import_answers(args.home.resolve(), args.answers, args.by or _user())
    except WorkbookRefused as exc:
        print(f"answers not imported: {exc}", file=sys.stderr)
        return 1
    print(outcome.sentence())
    if os.environ.get("ITP_POSTGRES_URL") and outcome.applied is not None:
        print("PostgreSQL serves the previous state until the next load or `itp-warehouse publish-postgres`")
    return 0


def cmd_quality_report(args: argparse.Namespace) -> int:
    from orchestration.quality_report import DEFAULT_FOLDER, ReportError, build_quality_report

    home = args.home.resolve()
    out = (args.out or home / DEFAULT_FOLDER).resolve()
    try:
        path = build_quality_report(home / "warehouse.duckdb", out)
    except (ReportError, ValueError) as exc:
        print(f"quality dashboard not built: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


class _Version(argparse.Action):
    """`--version`: this package's version and the engines' that shape the warehouse (read when
    asked, not at every start)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import version

        engines = ", ".join(f"{name} {version(name)}" for name in ("dagster", "dbt-core", "dbt-duckdb", "duckdb"))
        print(f"itp-warehouse {version('itp-warehouse')} ({engines})")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="itp-warehouse", description=__doc__)
    parser.add_argument("--version", action=_Version, help="show the version (and dagster's, dbt's, DuckDB's)")
    parser.add_argument("--verbose", action="store_true",
                        help="show tracebacks and Dagster's event log (stack traces of failed steps)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks and Dagster's event log (stack traces of failed steps)")
    sub = parser.add_subparsers(dest="command", required=True)
    _add = sub.add_parser

    def add_parser(name: str, **kw):
        return _add(name, parents=[common], **kw)

    sub.add_parser = add_parser  # type: ignore[method-assign]

    p = sub.add_parser("load", help="load everything new in the inbox and publish HOME/warehouse.duckdb")
    p.add_argument("--inbox", type=Path, required=True)
    p.add_argument("--sites", type=Path, required=True, help="site registry (YAML)")
    p.add_argument("--home", type=Path, required=True)
    p.add_argument("--cutoff", help="data cutoff YYYY-MM-DD (default: latest export date)")
    p.add_argument("--study-id", help="STUDYID of the ADaM datasets (default: ITP_STUDY_ID, "
                   "else the registry's study_id)")
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("demo", help="generate the demo cohort, load it, print the endpoint summary")
    p.add_argument("--home", type=Path, default=Path("demo_home"))
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("summary", help="print marts.endpoint_summary of the published warehouse")
    p.add_argument("--home", type=Path, required=True)
    p.add_argument("--all", action="store_true",
                   help="every row (endpoint, timepoint, n, denominator, pct) instead of the compact view")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("rollback", help="publish again the previous warehouse version")
    p.add_argument("--home", type=Path, required=True)
    p.set_defaults(func=cmd_rollback)

    p = sub.add_parser("publish-postgres",
                       help="publish the published warehouse (also after a rollback) to PostgreSQL (ITP_POSTGRES_URL)")
    p.add_argument("--home", type=Path, required=True)
    p.add_argument("--sites", type=Path,
                   help="site registry: one role per site (default $ITP_SITES, else HOME/sites.yaml if present; "
                        "sites with rows get their role anyway)")
    p.set_defaults(func=cmd_publish_postgres)

    p = sub.add_parser("status", help="last loads, what they published, open queries, failed checks")
    p.add_argument("--home", type=Path, required=True)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("report", help="the study report (HTML and PDF) from the published warehouse")
    p.add_argument("--home", type=Path, required=True)
    p.add_argument("--out", type=Path, help="output folder (default HOME/reports)")
    p.add_argument("--suppress-below", type=int, default=0, metavar="N",
                   help="show counts below N as <N (reports leaving the study team)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("docs", help="dbt docs of the warehouse (every mart and column) as one HTML file")
    p.add_argument("--home", type=Path, required=True)
    p.add_argument("--out", type=Path, help="output folder (default HOME/docs)")
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("release", help="let a held file become current at the next load (after the site "
                                       "confirmed it, e.g. real deletions)")
    p.add_argument("--home", type=Path, required=True)
    p.add_argument("--file", required=True, help="the held file's path in the inbox (or its name)")
    p.add_argument("--by", help="who confirmed it (default: the user running the command)")
    p.add_argument("--note", help="why, e.g. the site's confirmation")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("adam", help="the ADaM package (XPT v5, define.xml, define.html, conformance.csv) "
                       "of the published warehouse; exit 0 all written, 2 an XPT withheld, 1 nothing written")
    p.add_argument("--home", type=Path, required=True)
    p.add_argument("--out", type=Path, help="output folder (default HOME/adam)")
    p.set_defaults(func=cmd_adam)

    p = sub.add_parser("queries", help="write the site queries waiting for the site (CSV, or the answerable "
                                       "xlsx workbook), or import a site's answers (--answers)")
    p.add_argument("--home", type=Path, required=True)
    p.add_argument("--site")
    p.add_argument("--out", type=Path, help="write the queries to this .csv or .xlsx")
    p.add_argument("--answers", type=Path, metavar="FILE.xlsx",
                   help="import the workbook `queries --out` wrote, with the site's answers filled in")
    p.add_argument("--by", help="who imports the answers (default: the user running the command)")
    p.set_defaults(func=cmd_queries)

    p = sub.add_parser("quality-report", help="the monitors' quality dashboard (one self-contained HTML file) "
                                              "of the published warehouse")
    p.add_argument("--home", type=Path, required=True)
    p.add_argument("--out", type=Path, help="output folder (default HOME/quality_reports)")
    p.set_defaults(func=cmd_quality_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    from orchestration import exits

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted: nothing was published", file=sys.stderr)
        return exits.FAULT
    except Exception as exc:  # noqa: BLE001 - the edge: one line, never a traceback unless asked
        if _verbose(args):
            traceback.print_exc()
        sentence = exits.describe(exc)
        if sentence is not None:
            print(f"itp-warehouse {args.command} stopped: {sentence}", file=sys.stderr)
            return exits.FAULT
        print(f"itp-warehouse {args.command} stopped by an unexpected error ({type(exc).__name__}); run it again "
              "with --verbose for the traceback and send it to the warehouse team", file=sys.stderr)
        return exits.INTERNAL


if __name__ == "__main__":
    sys.exit(main())
