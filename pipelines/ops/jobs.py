"""Jobs: the units ``modeshift materialize``, the sensors and the schedules run."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from pipelines.ops.partitions import daily_partitions, landed_files_partitions, weekly_partitions

STAGE_FILES = "stage_files"
DAILY = "daily"
WEEKLY = "weekly"
REFRESH_WAREHOUSE = "refresh_warehouse"
PUBLISH_ANALYTICS = "publish_analytics"
# The Dagster pool (limit 1 in the instance) that keeps warehouse.duckdb to one writer at a time.
WAREHOUSE_POOL = "modeshift_warehouse"

stage_files_job = define_asset_job(
    STAGE_FILES,
    selection=AssetSelection.assets("staged_file"),
    partitions_def=landed_files_partitions,
    description="Parse one landed file into day slices.",
)
daily_job = define_asset_job(
    DAILY,
    selection=AssetSelection.assets("requests", "daily_rollups"),
    partitions_def=daily_partitions,
    description="Merge one UTC day into the request lake, validate it, and roll it up.",
)
weekly_job = define_asset_job(
    WEEKLY,
    selection=AssetSelection.assets(
        "endpoint_profiles",
        "spend_concentration",
        "price_basis",
        "recommendations",
        "backtest",
        "pool_recommendations",
        "commitments",
        "weekly_charts",
        "fleet_charts",
    ),
    partitions_def=weekly_partitions,
    description="Profile every endpoint for one ISO week, measure spend concentration, recommend, backtest, "
    "search pooled deployments and commitments.",
)
refresh_warehouse_job = define_asset_job(
    REFRESH_WAREHOUSE,
    selection=AssetSelection.assets("warehouse"),
    description="Reload warehouse.duckdb (ingest log, views, rate card, weekly tables) from the lake.",
)
publish_analytics_job = define_asset_job(
    PUBLISH_ANALYTICS,
    selection=AssetSelection.assets("analytics"),
    description="Publish a new read-only snapshot for analysts (analytics.duckdb), atomically.",
)
