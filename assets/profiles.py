"""Traffic-profile assets: daily rollups of the request lake, then weekly endpoint profiles and spend concentration.

The weekly assets read the rollups only, never the requests: their cost grows with endpoints × minutes.
"""

from datetime import date

import polars as pl
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.checks import blocking_checks, check_result
from assets.table_metadata import ROW_COUNT, frame_metadata
from pipelines.core.calendar import week_days
from pipelines.core.text import markdown_table
from pipelines.core.vocabulary import BURST_CLASSES, LATENCY_CLASSES, STABILITY_CLASSES
from pipelines.ingest.day_merge import read_merged
from pipelines.ingest.usage_merge import read_usage_merged
from pipelines.lake.lineage import expected_week_fingerprints
from pipelines.lake.rollups import rollup_day
from pipelines.lake.weekly_store import read_week_table, write_week_table
from pipelines.ops.partitions import daily_partitions, previous_week, weekly_partitions
from pipelines.ops.resources import ModeshiftResource
from pipelines.weekly.prices import compute_week_price_basis
from pipelines.weekly.profiles import compute_week_concentration, compute_week_profiles

CLASS_VALUES = {
    "stability_class": set(STABILITY_CLASSES),
    "burst_class": set(BURST_CLASSES),
    "latency_class": set(LATENCY_CLASSES),
}


@asset(
    partitions_def=daily_partitions,
    deps=["requests"],
    group_name="profiles",
    kinds={"duckdb", "parquet"},
    description="Per endpoint and minute of one UTC day: requests, tokens, list cost, latency signals; plus the "
    "day's inter-arrival sums and per-request histograms. What the weekly step reads instead of raw requests.",
)
def daily_rollups(context: AssetExecutionContext, modeshift: ModeshiftResource) -> MaterializeResult:
    """Roll up the partition's day of the request lake."""
    result = rollup_day(modeshift.step_home(context), modeshift.settings(), context.partition_key)
    modeshift.commit(context)
    if result is None:
        return MaterializeResult(metadata={"requests": 0, "note": "no data that day (missing, not zero)"})
    return MaterializeResult(
        metadata={
            ROW_COUNT: result.minute_rows,  # minutes.parquet: one row per endpoint and active minute
            "requests": result.requests,
            "endpoints": result.endpoints,
            "minute_rows": result.minute_rows,
            "list_cost_usd": round(result.list_cost_usd, 2),
            "unpriced_requests": result.unpriced_requests,
        }
    )


def _week_start(context: AssetExecutionContext) -> date:
    return date.fromisoformat(context.partition_key)


@asset(
    partitions_def=weekly_partitions,
    deps=[
        "daily_rollups",
        previous_week("endpoint_profiles"),
    ],  # week-over-week change reads last week's profile
    group_name="profiles",
    kinds={"polars", "parquet"},
    description="One row per endpoint and ISO week: scale, baseline stability, burstiness, latency sensitivity, "
    "spend and their classes (see docs/metrics.md#the-endpoint-profile).",
    check_specs=blocking_checks(
        "endpoint_profiles",
        {
            "requests_match_days": "the week's request count equals the sum over its merged days (requests, and the "
            "requests of the aggregated usage buckets)",
            "classes_allowed": "every class is one of its allowed values",
        },
    ),
)
def endpoint_profiles(context: AssetExecutionContext, modeshift: ModeshiftResource) -> MaterializeResult:
    """Profile every endpoint active in the partition's week."""
    home, settings = modeshift.step_home(context), modeshift.settings()
    week = _week_start(context)
    profiles = compute_week_profiles(home, settings, week)
    write_week_table(
        home, "endpoint_profiles", week, profiles, expected_week_fingerprints(home, settings)[week]
    )
    merged = [read_merged(home, day) for day in week_days(week)]
    usage = [read_usage_merged(home, day) for day in week_days(week)]
    day_requests = sum(m.accepted for m in merged if m is not None) + sum(
        u.requests for u in usage if u is not None
    )
    profile_requests = int(profiles["requests"].sum())
    bad_classes = {
        column: sorted(set(profiles[column].to_list()) - allowed) for column, allowed in CLASS_VALUES.items()
    }
    unpriced = profiles.filter(~pl.col("priced"))["endpoint"].to_list()
    if unpriced:
        context.log.warning(f"unpriced endpoints (no rate-card price for their model): {', '.join(unpriced)}")
    top = profiles.sort("list_cost_usd", descending=True, nulls_last=True).head(10)
    modeshift.commit(context)
    return MaterializeResult(
        metadata={
            **frame_metadata(profiles),
            "endpoints": profiles.height,
            "coverage_days": int(profiles["coverage_days"].max()),
            "requests": profile_requests,
            "list_cost_usd": round(float(profiles["list_cost_usd"].sum()), 2),
            "unpriced_endpoints": MetadataValue.json(unpriced),
            "top_endpoints": MetadataValue.md(
                markdown_table(
                    ["endpoint", "requests", "list $", "stability", "burst", "latency"],
                    top.select("endpoint", "requests", "list_cost_usd", "stability_class", "burst_class",
                               "latency_class").rows(),
                )
            ),
        },
        check_results=[
            check_result(
                "requests_match_days",
                profile_requests == day_requests,
                {"profile_requests": profile_requests, "day_requests": day_requests},
            ),
            check_result(
                "classes_allowed", not any(bad_classes.values()), {"unexpected": MetadataValue.json(bad_classes)}
            ),
        ],
    )  # fmt: skip


@asset(
    partitions_def=weekly_partitions,
    deps=[endpoint_profiles, "price_basis"],
    group_name="profiles",
    kinds={"polars", "parquet"},
    description="Each endpoint's (and model's) share of the week's serverless spend at the price basis, rank, cumulative share and whether it "
    "is in the top 80 %; per week HHI, Gini, top_k_80, total spend "
    "(see docs/metrics.md#spend-concentration).",
    check_specs=blocking_checks(
        "spend_concentration", {"shares_sum_to_one": "the priced endpoints' shares sum to 1"}
    ),
)
def spend_concentration(context: AssetExecutionContext, modeshift: ModeshiftResource) -> MaterializeResult:
    """Spend concentration of the partition's week across endpoints and across models."""
    home, settings = modeshift.step_home(context), modeshift.settings()
    week = _week_start(context)
    profiles = read_week_table(home, "endpoint_profiles", week)
    result = compute_week_concentration(home, settings, week, profiles)
    fingerprint = expected_week_fingerprints(home, settings)[week]
    write_week_table(home, "spend_concentration", week, result.by_endpoint, fingerprint)
    write_week_table(home, "spend_concentration_summary", week, result.summary, fingerprint)
    write_week_table(home, "model_spend_concentration", week, result.by_model, fingerprint)
    write_week_table(home, "model_spend_concentration_summary", week, result.model_summary, fingerprint)
    summary = result.summary.row(0, named=True)
    share_sum = float(result.by_endpoint["share"].sum())
    expected_sum = 1.0 if summary["total_cost_usd"] > 0 else 0.0
    modeshift.commit(context)
    return MaterializeResult(
        metadata={
            **frame_metadata(result.by_endpoint),
            "total_cost_usd": round(summary["total_cost_usd"], 2),
            "hhi": round(summary["hhi"], 4),
            "gini": round(summary["gini"], 4),
            "top_k_80": summary["top_k_80"],
            "endpoints": summary["endpoints"],
        },
        check_results=[
            check_result("shares_sum_to_one", abs(share_sum - expected_sum) < 1e-9, {"share_sum": share_sum})
        ],
    )


@asset(
    partitions_def=weekly_partitions,
    deps=[endpoint_profiles],
    group_name="profiles",
    kinds={"polars", "parquet"},
    description="Effective price per provider, model and week: billed / list cost over the ok requests carrying "
    "both, the share of ok requests billed, a plain-words warning, and the basis (list, billed or contract) and "
    "price factor every serverless figure of the week is costed at (see docs/cost-model.md#price-bases).",
)
def price_basis(context: AssetExecutionContext, modeshift: ModeshiftResource) -> MaterializeResult:
    """The effective price of each model in the partition's week."""
    home, settings = modeshift.step_home(context), modeshift.settings()
    week = _week_start(context)
    rows = compute_week_price_basis(home, settings, week)
    write_week_table(home, "price_basis", week, rows, expected_week_fingerprints(home, settings)[week])
    modeshift.commit(context)
    return MaterializeResult(
        metadata=frame_metadata(rows)
        | {"warnings": MetadataValue.int(int(rows["warning"].is_not_null().sum()))}
    )
