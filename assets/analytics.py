"""The analysts' asset: publish ``analytics.duckdb``, the read-only DuckDB file analysts query (docs/analytics.md)."""

from typing import Any

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from pipelines.core.text import markdown_table
from pipelines.delivery.publish import PUBLISHED_TABLES, publish_analytics
from pipelines.delivery.published_lake import upload_published
from pipelines.ops.jobs import WAREHOUSE_POOL
from pipelines.ops.resources import ModeshiftResource

PREVIEW_COLUMNS = (
    ("endpoint", "endpoint"),
    ("current_mode", "now"),
    ("recommended_mode", "recommended"),
    ("action", "action"),
    ("replicas", "replicas"),
    ("current_cost_usd", "now $/wk"),
    ("recommended_cost_usd", "plan $/wk"),
    ("savings_usd", "saving $/wk"),
    ("confidence", "confidence"),
)


def recommendations_preview(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of the newest week's top recommendations (rows of ``sql/analyst/top_savings.sql``)."""
    if not rows:
        return "_no recommendations yet_"
    return markdown_table(
        [header for _, header in PREVIEW_COLUMNS], [[row[key] for key, _ in PREVIEW_COLUMNS] for row in rows]
    )


@asset(
    deps=["warehouse"],
    group_name="warehouse",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    description="analytics.duckdb: the read-only file analysts open (duckdb -readonly), replaced atomically on "
    "each publish. Tables: " + ", ".join(PUBLISHED_TABLES) + ", published. See docs/analytics.md.",
)
def analytics(context: AssetExecutionContext, modeshift: ModeshiftResource) -> MaterializeResult:
    """Publish a new snapshot of the warehouse and the request lake as ``$MODESHIFT_HOME/analytics.duckdb``."""
    result = publish_analytics(modeshift.step_home(context), modeshift.settings())
    context.log.info(f"published {result.path} (snapshot {result.snapshot})")
    counts = {f"{table}_rows": count for table, count in result.row_counts.items() if count is not None}
    missing = [table for table, count in result.row_counts.items() if count is None]
    modeshift.commit(context)
    if (
        modeshift.mirror is not None
    ):  # object mode: the snapshot goes beside the lake, for analysts to download
        key = upload_published(modeshift.mirror, result)
        context.log.info(
            f"uploaded to {modeshift.mirror.store.url}/{key} ('modeshift analytics-download DIR')"
        )
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(result.path)),
            "snapshot": result.snapshot,
            "snapshot_dir": MetadataValue.path(str(result.snapshot_dir)),
            "published_at": result.published_at.isoformat(),
            "newest_week": result.newest_week.isoformat() if result.newest_week else "",
            **counts,
            "not_published_yet": MetadataValue.json(missing),
            "try": f'duckdb -readonly "{result.path}" -c "FROM recommendations ORDER BY week_start DESC LIMIT 10"',
            "top_recommendations": MetadataValue.md(recommendations_preview(result.top_recommendations)),
        }
    )
