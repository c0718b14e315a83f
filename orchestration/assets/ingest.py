"""Ingestion: the site exports of the inbox become raw.<domain> tables of a new candidate
warehouse, each row checked (pandera, Great Expectations) on the way in."""

from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import duckdb

from orchestration import exits
from orchestration.progress import ingest_progress, stage_done
from orchestration.faults import fault_point
from orchestration.publishing import LoadInProgress, create_candidate, discard_candidate
from orchestration.resources import WarehouseSettings
from ingest import holds, intake
from quality import query_answers, site_queries
from sources.domains import DOMAINS
from sources.registry import RegistryError, load_registry, study_id_problem

RAW_KEYS = {d: dg.AssetKey(["raw", d]) for d in DOMAINS}
MANIFEST_KEY = dg.AssetKey(["quality", "file_manifest"])
QUARANTINE_KEY = dg.AssetKey(["quality", "quarantine"])
LOAD_LOG_KEY = dg.AssetKey(["quality", "load_log"])

ROW_CHECK = "row_checks"
# Transient errors (a file system hiccup) get retried; dg.Failure(allow_retries=False) marks
# the deterministic ones (bad registry, failed audit) that a retry cannot fix.
TRANSIENT_RETRY = dg.RetryPolicy(max_retries=2, delay=5)
LAB_EXPECTATIONS = "lab_expectations"


def _specs() -> list[dg.AssetSpec]:
    raw = [
        dg.AssetSpec(key, group_name="ingest", skippable=True, kinds={"duckdb"},
                     description=f"Accepted `{d}` rows of every loaded snapshot (history), "
                                 "with file, sha256 and row provenance.")
        for d, key in RAW_KEYS.items()
    ]
    return raw + [
        dg.AssetSpec(MANIFEST_KEY, group_name="ingest", skippable=True, kinds={"duckdb"},
                     description="Every file seen in the inbox: status, reason and row counts."),
        dg.AssetSpec(QUARANTINE_KEY, group_name="ingest", skippable=True, kinds={"duckdb"},
                     description="Every refused row with its file, row number and reason."),
        dg.AssetSpec(LOAD_LOG_KEY, group_name="ingest", skippable=True, kinds={"duckdb"},
                     description="One row per load: cutoff, counts, outcome."),
    ]


def _check_specs() -> list[dg.AssetCheckSpec]:
    specs = [
        dg.AssetCheckSpec(ROW_CHECK, asset=key, blocking=False,
                          description="pandera row checks and parsing: failing rows are quarantined (warn)")
        for key in RAW_KEYS.values()
    ]
    specs.append(dg.AssetCheckSpec(LAB_EXPECTATIONS, asset=RAW_KEYS["labs"], blocking=False,
                                   description="Great Expectations lab suite: plausibility, "
                                               "NEUT/LYMPH <= WBC, per-site distribution"))
    return specs


@dg.multi_asset(specs=_specs(), check_specs=_check_specs(), name="site_exports",
                pool="duckdb_writer", retry_policy=TRANSIENT_RETRY)
def site_exports(context: dg.AssetExecutionContext, warehouse: WarehouseSettings):
    load_id = context.run_id
    home = warehouse.warehouse_home
    try:
        registry = load_registry(warehouse.sites_file)
    except RegistryError as exc:
        raise exits.failure(f"site registry {warehouse.sites_file} is invalid: {exc}", exits.CONFIGURATION) from exc
    if warehouse.study_id and study_id_problem(warehouse.study_id):
        raise exits.failure(f"study id: {study_id_problem(warehouse.study_id)}", exits.CONFIGURATION)
    inbox = Path(warehouse.inbox)
    if not inbox.is_dir():
        raise exits.failure(f"the inbox {inbox} is not a folder: check --inbox (ITP_INBOX)", exits.CONFIGURATION)

    try:
        with exits.faults_as_failures(f"the candidate warehouse could not be created under {home.build_dir}"):
            candidate = create_candidate(home, load_id)
    except LoadInProgress as exc:
        raise exits.failure(str(exc), exits.BUSY) from exc
    try:
        with exits.faults_as_failures("the load stopped"):
            yield from _ingest(context, warehouse, registry, candidate, load_id)
    except BaseException:
        discard_candidate(home, load_id)   # a partial candidate must not fill the disk
        raise


def _ingest_detail(report: intake.IntakeReport) -> str:
    """"21 new files (19 loaded, 1 refused, 1 duplicate): 48,149 rows read, 37 refused by the row checks"."""
    if not report.files:
        return "no new file in the inbox"
    statuses = ", ".join(f"{len(report.by_status(s))} {s}" for s in ("loaded", "superseded", "held", "duplicate",
                                                                     "refused") if report.by_status(s))
    read = sum(f.rows_read for f in report.files)
    refused = sum(f.rows_quarantined for f in report.files)
    return f"{len(report.files)} new files ({statuses}): {read:,} rows read, {refused:,} refused by the row checks"


def _checks_detail(lab, summary: intake.CheckSummary, report: intake.IntakeReport) -> str:
    """"lab expectations passed; 48,112 rows accepted, 37 quarantined; 0 files held"."""
    expectations = ("lab expectations passed" if lab.passed
                    else f"lab expectations failed ({lab.metadata['failed_expectations']})")
    held = len(report.by_status("held"))
    return (f"{expectations}; {sum(summary.accepted.values()):,} rows accepted, "
            f"{sum(summary.quarantined.values()):,} quarantined" + (f"; {held} files held" if held else ""))


def _ingest(context: dg.AssetExecutionContext, warehouse: WarehouseSettings, registry, candidate: Path,
            load_id: str):
    home = warehouse.warehouse_home
    with duckdb.connect(str(candidate), config=warehouse.duckdb_config) as conn:
        intake.prepare_warehouse(conn)
        previous_cutoff = intake.last_cutoff(conn)
        released = holds.apply_releases(conn, holds.read_requests(home.root), load_id)
        # Site answers recorded while a load ran, or lost with a rollback (orchestration.answers).
        answered = [query_answers.apply_batch(conn, batch, load_id)
                    for batch in query_answers.pending(conn, query_answers.read_batches(home.root))]
        report = intake.ingest_inbox(conn, Path(warehouse.inbox), registry,
                                     load_id, datetime.now(timezone.utc).replace(tzinfo=None),
                                     max_deleted_share=warehouse.max_deleted_share, limits=warehouse.read_limits,
                                     progress=ingest_progress(), native=warehouse.native_ingest,
                                     hash_cache=warehouse.warehouse_home.inbox_hashes)
        detail = _ingest_detail(report) + (f"; {len(answered)} answer workbooks applied" if answered else "")
        if report.files:
            context.log.info(f"{len(report.read_natively)} files read by DuckDB (the native CSV path, "
                             "ITP_NATIVE_INGEST); every other file read the Python way")
        context.log.info(stage_done("ingest", detail))  # bench splits stages here
        fault_point("ingest")
        cutoff = intake.resolve_cutoff(conn, warehouse.cutoff)
        if not report.files and not released and not answered and cutoff == previous_cutoff:
            context.log.info("No new file in the inbox and the same cutoff: nothing to publish.")
            conn.close()
            candidate.unlink(missing_ok=True)
            # No materialization: dbt and publish are skipped, the published file stays as is.
            for spec in _check_specs():
                yield dg.AssetCheckResult(asset_key=spec.asset_key, check_name=spec.name, passed=True,
                                          severity=dg.AssetCheckSeverity.WARN,
                                          metadata={"note": "no new file in the inbox"})
            return
        lab = intake.run_post_intake_checks(conn, report, home.data_docs(load_id),
                                            max_failing_share=warehouse.max_failing_share)
        fault_point("checks")
        intake.start_load_log(conn, report, cutoff, warehouse.study_id or registry.study_id)
        # Before dbt: quality.site_indicators measures this load's queries.
        site_queries.update_site_queries(conn, load_id)
        conn.execute("CHECKPOINT")
        summary = intake.check_summary(conn, load_id)
    context.log.info(stage_done("checks", _checks_detail(lab, summary, report)))

    for d, key in RAW_KEYS.items():
        yield dg.MaterializeResult(asset_key=key, metadata={
            "rows_accepted_this_load": summary.accepted.get(d, 0),
            "rows_quarantined_this_load": summary.quarantined.get(d, 0),
        })
        yield dg.AssetCheckResult(
            asset_key=key, check_name=ROW_CHECK, passed=summary.quarantined.get(d, 0) == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"rows_quarantined": summary.quarantined.get(d, 0),
                      "by_check": summary.by_check.get(d, {})},
        )
    yield dg.AssetCheckResult(
        asset_key=RAW_KEYS["labs"], check_name=LAB_EXPECTATIONS, passed=lab.passed,
        severity=dg.AssetCheckSeverity.WARN, metadata=lab.metadata,
    )
    yield dg.MaterializeResult(asset_key=MANIFEST_KEY, metadata={
        "files_new": len(report.files),
        **{f"files_{s}": len(report.by_status(s)) for s in ("loaded", "duplicate", "superseded", "refused", "held")},
        "files_released": len(released),
    })
    yield dg.MaterializeResult(asset_key=QUARANTINE_KEY,
                               metadata={"rows_this_load": sum(summary.quarantined.values())})
    yield dg.MaterializeResult(asset_key=LOAD_LOG_KEY, metadata={"cutoff": str(cutoff), "load_id": load_id})
