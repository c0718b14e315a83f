"""The PostgreSQL publication as the load's last step (only when ITP_POSTGRES_URL is set):
after the DuckDB warehouse is published, the same file is published to PostgreSQL
(orchestration/pg_publishing.py). Its failure fails the run, so the load and the monitors hear
of it, but the DuckDB publication before it stands."""

import dagster as dg

from orchestration.assets.publish import PUBLISHED_KEY
from orchestration.pg_publishing import PostgresPublicationError, postgres_url, publish_to_postgres
from orchestration.resources import WarehouseSettings
from sources.registry import load_registry

POSTGRES_KEY = dg.AssetKey(["published", "postgres"])


def build_postgres_asset() -> dg.AssetsDefinition:
    @dg.asset(key=POSTGRES_KEY, deps=[PUBLISHED_KEY], group_name="publish", kinds={"postgres"},
              description="marts, quality (and adam) of the published warehouse in PostgreSQL "
                          "(ITP_POSTGRES_URL), with a role per site, analysts and monitors.")
    def published_postgres(context: dg.AssetExecutionContext, warehouse: WarehouseSettings):
        url = postgres_url()
        if url is None:
            raise dg.Failure(description="ITP_POSTGRES_URL is not set", allow_retries=False)
        sites = load_registry(warehouse.sites_file).sites
        try:
            done = publish_to_postgres(warehouse.warehouse_home.published, url, sites, log=context.log.info)
        except PostgresPublicationError as exc:
            raise dg.Failure(description=f"the PostgreSQL publication failed, its live schemas are unchanged "
                                         f"(the DuckDB warehouse was published): {exc}",
                             allow_retries=False) from None
        context.log.info(done.sentence())
        return dg.MaterializeResult(metadata={
            "load_id": done.load_id, "status": done.status, "target": done.target,
            "tables": done.tables, "rows": done.rows, "seconds": round(done.seconds, 2)})

    return published_postgres
