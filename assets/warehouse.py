"""Warehouse assets: the tables and views of ``warehouse.duckdb`` that analysts and later steps read."""

from dagster import AssetExecutionContext, MaterializeResult, asset

from pipelines.delivery.warehouse import refresh_ingest_tables, refresh_weekly_tables
from pipelines.lake.weekly_store import WEEKLY_TABLES
from pipelines.ops.jobs import WAREHOUSE_POOL
from pipelines.ops.resources import ModeshiftResource


@asset(
    deps=[
        "requests",
        "endpoint_profiles",
        "spend_concentration",
        "price_basis",
        "recommendations",
        "backtest",
        "pool_recommendations",
        "commitments",
    ],
    group_name="warehouse",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    description="warehouse.duckdb: ingest_log, the requests and quarantine views, the rate card and every weekly "
    "table (endpoint_profiles, spend_concentration, ...), reloaded from the lake.",
)
def warehouse(context: AssetExecutionContext, modeshift: ModeshiftResource) -> MaterializeResult:
    """Refresh every table and view of the warehouse from the lake's manifests and files."""
    home = modeshift.step_home(context)
    counts = refresh_ingest_tables(home) | refresh_weekly_tables(home, modeshift.settings(), WEEKLY_TABLES)
    context.log.info(f"warehouse {home.warehouse}: {counts}")
    modeshift.commit(context)
    return MaterializeResult(
        metadata={f"{name}_rows": value for name, value in counts.items()} | {"path": str(home.warehouse)}
    )
