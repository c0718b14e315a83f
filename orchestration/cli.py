"""`itp-warehouse`: the command line of data engineers, analysts and monitors."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Before anything imports dbt, Dagster or GX: no telemetry, offline (dbt hangs ~30 s otherwise).
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def _settings(home: Path, inbox: Path, sites: Path, cutoff: str | None):
    from orchestration.resources import WarehouseSettings, tuning_from_env

    return WarehouseSettings(home=str(home.resolve()), inbox=str(inbox.resolve()),
                             sites_file=str(sites.resolve()), cutoff=cutoff or "", **tuning_from_env())


def _load(settings) -> int:
    from orchestration.loading import run_load

    outcome = run_load(settings)
    for message in outcome.messages:
        print(message, file=sys.stderr if not outcome.ok else sys.stdout)
    if outcome.status == "failed":
        print(f"load {outcome.load_id} FAILED: the published warehouse was not changed.", file=sys.stderr)
        return 1
    print(f"load {outcome.load_id}: {outcome.status} -> {Path(settings.home) / 'warehouse.duckdb'}")
    if outcome.postgres_failed:
        print(f"load {outcome.load_id}: the PostgreSQL publication FAILED; PostgreSQL still serves the "
              "previous load (retry with `itp-warehouse publish-postgres`).", file=sys.stderr)
        return 1
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    return _load(_settings(args.home, args.inbox, args.sites, args.cutoff))


def cmd_demo(args: argparse.Namespace) -> int:
    from orchestration.summary import print_summary
    from sources.generator import generate_cohort

    home = args.home.resolve()
    cohort = generate_cohort(home)
    print(f"demo cohort written: inbox {cohort.inbox}, registry {cohort.sites_file}")
    code = _load(_settings(home, cohort.inbox, cohort.sites_file, None))
    if code == 0:
        print_summary(home / "warehouse.duckdb")
    return code


def cmd_summary(args: argparse.Namespace) -> int:
    from orchestration.summary import print_summary

    return print_summary(args.home.resolve() / "warehouse.duckdb")


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
    from sources.registry import RegistryError, load_registry

    home = args.home.resolve()
    url = postgres_url()
    if url is None:
        print(f"{POSTGRES_URL_ENV} is not set: where should the warehouse be published?", file=sys.stderr)
        return 1
    published = home / "warehouse.duckdb"
    if not published.exists():
        print(f"no published warehouse at {published}", file=sys.stderr)
        return 1
    sites_file = args.sites or Path(os.environ.get("ITP_SITES", home / "sites.yaml"))
    try:
        sites = load_registry(sites_file).sites if args.sites or sites_file.exists() else {}
    except RegistryError as exc:
        print(f"site registry {sites_file} is invalid: {exc}", file=sys.stderr)
        return 1
    try:
        done = publish_to_postgres(published, url, sites, log=print if args.verbose else lambda _: None)
    except PostgresPublicationError as exc:
        print(f"PostgreSQL publication FAILED, its live schemas are unchanged: {exc}", file=sys.stderr)
        return 1
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


def cmd_queries(args: argparse.Namespace) -> int:
    import duckdb

    from quality.export import write_site_queries

    published = args.home.resolve() / "warehouse.duckdb"
    if not published.exists():
        print(f"no published warehouse at {published}", file=sys.stderr)
        return 1
    with duckdb.connect(str(published), read_only=True) as conn:
        n = write_site_queries(conn, args.out, site=args.site)
    print(f"{n} open queries written to {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="itp-warehouse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("load", help="load everything new in the inbox and publish HOME/warehouse.duckdb")
    p.add_argument("--inbox", type=Path, required=True)
    p.add_argument("--sites", type=Path, required=True, help="site registry (YAML)")
    p.add_argument("--home", type=Path, required=True)
    p.add_argument("--cutoff", help="data cutoff YYYY-MM-DD (default: latest export date)")
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("demo", help="generate the demo cohort, load it, print the endpoint summary")
    p.add_argument("--home", type=Path, default=Path("demo_home"))
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("summary", help="print marts.endpoint_summary of the published warehouse")
    p.add_argument("--home", type=Path, required=True)
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
    p.add_argument("--verbose", action="store_true", help="say each table as it is copied")
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

    p = sub.add_parser("queries", help="write the open site queries (CSV or xlsx by extension)")
    p.add_argument("--home", type=Path, required=True)
    p.add_argument("--site")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_queries)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
