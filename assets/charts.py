"""The weekly pictures: demand against reserved capacity and the cost curve of the week's top endpoints by spend."""

from datetime import date

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from pipelines.core.text import markdown_table
from pipelines.delivery.chart_metadata import ChartEmbedder
from pipelines.delivery.charts import load_week_charts, write_week_charts
from pipelines.delivery.featured import ReportSettings, featured_endpoints
from pipelines.lake.weekly_store import read_week_table
from pipelines.ops.partitions import weekly_partitions
from pipelines.ops.resources import ModeshiftResource


@asset(
    partitions_def=weekly_partitions,
    deps=["recommendations"],
    group_name="recommendations",
    kinds={"matplotlib", "png"},
    description="PNG charts under MODESHIFT_HOME/reports/<week>/ for the week's top endpoints by spend "
    "(slack.top_n, slack.exclude_endpoints): per-minute weighted demand against the recommended reserved capacity "
    "(replicas × K × u; an autoscaler's ready capacity as a step line with its cold-start overflow minutes marked, "
    "a scheduled plan's inside its window) with the overflow shaded, total cost vs replicas with R* marked, and the "
    "plan options compared (plan_options: reserved / overflow per family, cheapest and recommended marked); plus overview.png, "
    "the picture the weekly Slack report uploads.",
)
def weekly_charts(context: AssetExecutionContext, modeshift: ModeshiftResource) -> MaterializeResult:
    """Draw and write the partition's week of pictures; attach them (embedded as Markdown images, see
    ``pipelines.delivery.chart_metadata``) and the recommendation table."""
    home, settings = modeshift.step_home(context), modeshift.settings()
    week = date.fromisoformat(context.partition_key)
    concentration = read_week_table(home, "spend_concentration", week)
    recommendations = read_week_table(home, "recommendations", week)
    if recommendations is None:
        raise RuntimeError(f"week {week} has no recommendations yet")
    endpoints = featured_endpoints(concentration, ReportSettings.from_settings(settings)) if (
        concentration is not None) else []  # fmt: skip
    written = write_week_charts(home, week, load_week_charts(home, settings, week, endpoints))
    table = recommendations.sort("savings_usd", descending=True, nulls_last=True).select(
        "endpoint", "current_mode", "recommended_mode", "action", "replicas", "current_cost_usd", "savings_usd",
        "confidence",
    )  # fmt: skip
    embed = ChartEmbedder()
    per_endpoint: dict[str, MetadataValue] = {}
    for index, endpoint in enumerate(written.demand, start=1):  # embedded first: the overview repeats them
        charts = [embed.markdown(written.demand[endpoint], f"{endpoint}: demand against reserved capacity")]
        if endpoint in written.curve:
            charts.append(embed.markdown(written.curve[endpoint], f"{endpoint}: cost against replicas"))
        if endpoint in written.options:
            charts.append(embed.markdown(written.options[endpoint], f"{endpoint}: plan options"))
        per_endpoint[f"endpoint_{index}"] = MetadataValue.md("\n\n".join(charts))
    metadata: dict[str, MetadataValue] = {
        "overview": MetadataValue.md(embed.markdown(written.overview, f"Week of {week}: overview")),
        "endpoints_charted": MetadataValue.int(len(written.demand)),
        "recommendations": MetadataValue.md(
            markdown_table(
                [
                    "endpoint",
                    "now",
                    "recommended",
                    "action",
                    "replicas",
                    "now $/wk",
                    "saving $/wk",
                    "confidence",
                ],
                table.rows(),
            )  # fmt: skip
        ),
        "savings_usd": MetadataValue.float(
            round(float(recommendations["savings_usd"].fill_null(0.0).sum()), 2)
        ),
        "migrate": MetadataValue.int(recommendations.filter(pl.col("action") == "migrate").height),
    }
    metadata |= per_endpoint
    metadata["embedded_kb"] = MetadataValue.int(round(embed.embedded_bytes / 1000))
    modeshift.commit(context)
    return MaterializeResult(metadata=metadata)
