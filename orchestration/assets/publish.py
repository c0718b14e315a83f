"""Audit and publish: the last step of a load. Only a candidate whose error-severity checks all
passed replaces the published warehouse; otherwise the last good warehouse stays."""

import dagster as dg
import duckdb

from orchestration.alerting import alert_urls
from orchestration.assets.dbt import warehouse_dbt_models
from orchestration.faults import fault_point
from orchestration.progress import ALERT_UNDELIVERED, stage_done
from orchestration.publishing import publish, reject_candidate
from orchestration.resources import WarehouseSettings
from ingest import intake
from quality import gate

PUBLISHED_KEY = dg.AssetKey(["published", "warehouse"])


def _alert_load_findings(home, load_id: str) -> list[int] | None:
    """One message per published load that had quality failures, safety signals or sites over
    a risk threshold, ending with where the load's quality dashboard is (written for it).
    None when there was nothing to send (or nowhere to send it), else the positions of the
    destinations that did not take it."""
    from monitoring.alerts import build_load_alert, undelivered
    from monitoring.indicators import with_dashboard, with_indicators

    urls = alert_urls()
    data_docs = home.data_docs(load_id)
    with duckdb.connect(str(home.published), read_only=True) as conn:
        alert = build_load_alert(conn, load_id, data_docs=data_docs if data_docs.exists() else None)
        alert = with_indicators(alert, conn, load_id)
    if not (alert and urls):
        return None
    from orchestration.quality_report import DEFAULT_FOLDER, build_quality_report

    try:
        alert = with_dashboard(alert, build_quality_report(home.published, home.root / DEFAULT_FOLDER))
    except Exception as exc:  # noqa: BLE001 - the load is published: the alert must still go out
        alert = with_dashboard(alert, None, f"{type(exc).__name__}: {exc}")
    return undelivered(alert, urls)


def build_published_asset() -> dg.AssetsDefinition:
    @dg.asset(key=PUBLISHED_KEY, deps=[warehouse_dbt_models()], group_name="publish",
              pool="duckdb_writer", kinds={"duckdb"},
              description="HOME/warehouse.duckdb: the audited warehouse analysts read.")
    def published_warehouse(context: dg.AssetExecutionContext, warehouse: WarehouseSettings):
        load_id = context.run_id
        home = warehouse.warehouse_home
        candidate = home.candidate(load_id)
        with duckdb.connect(str(candidate), config=warehouse.duckdb_config) as conn:
            decision = gate.evaluate_gate(conn, load_id)
            intake.finish_load_log(conn, load_id, "published" if decision.publish else "rejected")
            conn.execute("CHECKPOINT")
            open_queries = conn.execute(
                "SELECT count(*) FROM quality.site_query WHERE status = 'open'").fetchone()[0]
        if not decision.publish:
            kept = reject_candidate(home, load_id)
            raise dg.Failure(description="load not published: " + "; ".join(decision.reasons)
                             + (f" (the rejected candidate is kept at {kept})" if kept else ""),
                             allow_retries=False)
        fault_point("publish")
        version = publish(home, load_id, keep_versions=warehouse.keep_versions)
        failed = _alert_load_findings(home, load_id)
        alert_sent = failed == []
        context.log.info(stage_done("publish", f"version {version.name}; {open_queries} open site queries"
                                    + ("; the monitors were alerted" if alert_sent else "")))
        return dg.MaterializeResult(metadata={
            "path": str(home.published), "version": version.name, "open_site_queries": int(open_queries),
            "alert_sent": alert_sent,
            ALERT_UNDELIVERED: ", ".join(f"#{p}" for p in failed or []),
        })

    return published_warehouse
