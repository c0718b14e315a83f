"""The Dagster code location: `dagster dev -w workspace.yaml` and `dagster definitions
validate` load `defs` from here; the CLI builds the same definitions with its own settings."""
from __future__ import annotations

import dagster as dg

from orchestration.assets.dbt import dbt_resource, warehouse_dbt_models
from orchestration.assets.ingest import site_exports
from orchestration.assets.postgres import build_postgres_asset
from orchestration.assets.publish import build_published_asset
from orchestration.automation import failure_sensor, inbox_sensor, nightly_schedule
from orchestration.pg_publishing import postgres_url
from orchestration.resources import WarehouseSettings

NIGHTLY_JOB = "nightly_load"


def build_definitions(settings: WarehouseSettings) -> dg.Definitions:
    nightly_load = dg.define_asset_job(
        NIGHTLY_JOB, selection=dg.AssetSelection.all(),
        description="One load of everything new in the inbox: ingest, check, dbt build, publish.",
        executor_def=dg.in_process_executor,  # DuckDB: one writer; steps run in order
    )
    # The PostgreSQL publication is a step of the load only where ITP_POSTGRES_URL is set.
    postgres = [build_postgres_asset()] if postgres_url() else []
    return dg.Definitions(
        assets=[site_exports, warehouse_dbt_models(), build_published_asset(), *postgres],
        jobs=[nightly_load],
        schedules=[nightly_schedule(nightly_load)],
        sensors=[inbox_sensor(nightly_load), failure_sensor(nightly_load)],
        resources={"warehouse": settings, "dbt": dbt_resource()},
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(WarehouseSettings.from_env())
