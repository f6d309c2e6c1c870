"""Fleet assets: decisions across weeks of one endpoint's capacity, such as how many replicas to commit to for a
term (docs/cost-model.md#commitments)."""

from datetime import date

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from pipelines.core.text import markdown_table
from pipelines.lake.lineage import expected_week_fingerprints
from pipelines.lake.weekly_store import write_week_table
from pipelines.ops.partitions import weekly_partitions
from pipelines.ops.resources import ModeshiftResource
from pipelines.weekly.commitments import compute_week_commitments


@asset(
    partitions_def=weekly_partitions,
    deps=["recommendations"],
    group_name="recommendations",
    kinds={"polars", "parquet"},
    description="Per endpoint and commitment term of the provider, the replicas worth committing to, simulated on "
    "the lookback weeks' billed capacity: committed level, expected weekly saving, break-even and committed "
    "utilization, weeks that would have lost money (see docs/cost-model.md#commitments).",
)
def commitments(context: AssetExecutionContext, modeshift: ModeshiftResource) -> MaterializeResult:
    """Simulate every commitment level on the lookback weeks and write the week's ``commitments`` table."""
    home, settings = modeshift.home(), modeshift.settings()
    week = date.fromisoformat(context.partition_key)
    table = compute_week_commitments(home, settings, week)
    write_week_table(home, "commitments", week, table, expected_week_fingerprints(home, settings)[week])
    chosen = table.filter(pl.col("recommended"))
    return MaterializeResult(
        metadata={
            "rows": table.height,
            "recommended": chosen.height,
            "expected_saving_usd": round(float(chosen["expected_saving_usd"].sum()), 2) if chosen.height else 0.0,
            "lookback_weeks": settings.commitments.lookback_weeks,
            "commitments": MetadataValue.md(
                markdown_table(
                    ["endpoint", "term", "replicas", "saving $/wk", "utilization", "weeks lost"],
                    chosen.select("endpoint", "term", "committed_replicas", "expected_saving_usd",
                                  "committed_utilization", "weeks_lost").rows(),
                )
            ),
        }
    )  # fmt: skip
