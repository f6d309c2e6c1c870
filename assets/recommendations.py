"""Recommendation assets: plan cost curves, the weekly recommendations (with blocking checks), and the backtest."""

from datetime import date, timedelta

import polars as pl
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.checks import blocking_checks, check_result
from assets.table_metadata import frame_metadata
from pipelines.core.text import markdown_table
from pipelines.core.vocabulary import (
    ACTIONS,
    CURRENT_MODES,
    PLAN_MODES,
    SLO_BREACHED,
    SLO_STATUSES,
    is_held_candidate,
    is_reserved,
)
from pipelines.lake.lineage import expected_week_fingerprints
from pipelines.lake.weekly_store import write_week_table
from pipelines.ops.partitions import previous_week, this_and_previous_week, weekly_partitions
from pipelines.ops.resources import ModeshiftResource
from pipelines.weekly.jobs import jobs_outside_their_week
from pipelines.weekly.plans import compute_week_backtest, compute_week_plans

CENT = 0.005


def recommendation_violations(recommendations: pl.DataFrame) -> dict[str, list[str]]:
    """Endpoints breaking each rule the recommendations must keep (empty lists when all is well)."""
    rows = recommendations.iter_rows(named=True)
    violations: dict[str, list[str]] = {"allowed_values": [], "replicas_iff_reserved": [], "migrate_saves": [],
                                        "savings_identity": [], "slo_premium": []}  # fmt: skip
    for r in rows:
        if (
            r["recommended_mode"] not in PLAN_MODES
            or r["current_mode"] not in CURRENT_MODES
            or r["action"] not in ACTIONS
            or (r["slo_status"] is not None and r["slo_status"] not in SLO_STATUSES)
        ):
            violations["allowed_values"].append(r["endpoint"])
        reserved = is_reserved(r["recommended_mode"])
        if reserved != ((r["replicas"] or 0) >= 1):
            violations["replicas_iff_reserved"].append(r["endpoint"])
        slo_move = r["slo_status"] == SLO_BREACHED and is_reserved(r["recommended_mode"])
        if (
            r["action"] == "migrate"
            and not slo_move
            and not (r["recommended_cost_usd"] <= r["current_cost_usd"] + CENT)
        ):
            violations["migrate_saves"].append(r["endpoint"])
        premium = r["slo_premium_usd"]
        if (r["slo_status"] is None) != (premium is None) or (premium is not None and not premium >= 0):
            violations["slo_premium"].append(r["endpoint"])
        if r["current_cost_usd"] is not None and r["recommended_cost_usd"] is not None:
            if abs(r["savings_usd"] - (r["current_cost_usd"] - r["recommended_cost_usd"])) > CENT:
                violations["savings_identity"].append(r["endpoint"])
    return violations


@asset(
    partitions_def=weekly_partitions,
    # hysteresis: the raw candidates of the weeks before (policy.persistence_weeks) come from this asset's own
    # earlier partitions, so the weeks run oldest first
    deps=["endpoint_profiles", "price_basis", previous_week("recommendations")],
    group_name="recommendations",
    kinds={"polars", "parquet"},
    description="Per endpoint and week, the recommended deployment mode with its money: current and recommended "
    "weekly cost, savings, replicas, confidence and reasons (see docs/cost-model.md#the-policy). Also writes "
    "batch_jobs (every endpoint's runs, see docs/metrics.md#jobs), plan_curve: total(R) for R = 0..R_full (see "
    "docs/cost-model.md#the-plan-curve), plan_options: each plan family's best setting beside serverless and batch "
    "(see docs/cost-model.md#plan-families), and slo_status: each latency SLO's week on serverless (see "
    "docs/cost-model.md#latency-slos).",
    check_specs=blocking_checks(
        "recommendations",
        {
            "allowed_values": "modes and actions come from their allowed sets",
            "replicas_iff_reserved": "replicas >= 1 exactly when the mode is dedicated or hybrid",
            "migrate_saves": "the recommended cost is at most the current cost whenever the action is migrate "
            "(except a move to reserved capacity that meets a breached SLO)",
            "savings_identity": "savings = current cost − recommended cost",
            "jobs_inside_week": "every run in batch_jobs lies inside its week and has at least one request",
            "slo_premium": "slo_premium_usd is NULL exactly on rows without an SLO and >= 0 on rows with one",
        },
    ),
)
def recommendations(context: AssetExecutionContext, modeshift: ModeshiftResource) -> MaterializeResult:
    """Cost every endpoint's plans minute by minute and decide, with hysteresis, what to recommend."""
    home, settings = modeshift.step_home(context), modeshift.settings()
    week = date.fromisoformat(context.partition_key)
    plans = compute_week_plans(home, settings, week)
    fingerprint = expected_week_fingerprints(home, settings)[week]
    write_week_table(home, "plan_curve", week, plans.curves, fingerprint)
    write_week_table(home, "plan_options", week, plans.options, fingerprint)
    write_week_table(home, "recommendations", week, plans.recommendations, fingerprint)
    write_week_table(home, "batch_jobs", week, plans.jobs, fingerprint)
    write_week_table(home, "slo_status", week, plans.slo_status, fingerprint)
    recs = plans.recommendations
    violations = recommendation_violations(recs) | {"jobs_inside_week": jobs_outside_their_week(plans.jobs)}
    migrate = recs.filter(pl.col("action") == "migrate")
    tune = recs.filter(pl.col("action") == "tune")
    held = [row for row in recs.iter_rows(named=True) if is_held_candidate(row)]
    top = recs.sort("savings_usd", descending=True, nulls_last=True).head(10)
    modeshift.commit(context)
    return MaterializeResult(
        metadata={
            **frame_metadata(recs),
            "endpoints": recs.height,
            "migrate": migrate.height,
            "tune": tune.height,
            "plan_families": MetadataValue.json(
                dict(recs.group_by("plan_family").len().drop_nulls().sort("plan_family").iter_rows())
            ),
            "held_candidates": len(held),
            "runs": plans.jobs.height,
            "batch_eligible": MetadataValue.json(recs.filter(pl.col("batch_eligible"))["endpoint"].to_list()),
            "current_cost_usd": round(float(recs["current_cost_usd"].sum()), 2),
            "recommended_cost_usd": round(float(recs["recommended_cost_usd"].sum()), 2),
            "savings_usd": round(float(recs["savings_usd"].sum()), 2),
            "slo_breached": MetadataValue.json(
                plans.slo_status.filter(pl.col("status") == SLO_BREACHED)["endpoint"].to_list()
            ),
            "slo_premium_usd": round(float(recs["slo_premium_usd"].fill_null(0.0).sum()), 2),
            "unpriced": MetadataValue.json(recs.filter(pl.col("raw_mode").is_null())["endpoint"].to_list()),
            "top_recommendations": MetadataValue.md(
                markdown_table(
                    ["endpoint", "now", "recommended", "action", "replicas", "saving $/wk", "confidence"],
                    top.select("endpoint", "current_mode", "recommended_mode", "action", "replicas", "savings_usd",
                               "confidence").rows(),
                )
            ),
        },
        check_results=[
            check_result(name, not endpoints, {"endpoints": MetadataValue.json(endpoints[:50])})
            for name, endpoints in violations.items()
        ],
    )  # fmt: skip


@asset(
    partitions_def=weekly_partitions,
    deps=[this_and_previous_week("recommendations")],  # last week's plans costed on this week's traffic
    group_name="recommendations",
    kinds={"polars", "parquet"},
    description="Last week's recommended plan costed on this week's actual traffic against the best plan in "
    "hindsight: regret per endpoint (and in total in the metadata), kept week after week.",
)
def backtest(context: AssetExecutionContext, modeshift: ModeshiftResource) -> MaterializeResult:
    """Backtest the previous week's recommendations on the partition's week."""
    home, settings = modeshift.step_home(context), modeshift.settings()
    week = date.fromisoformat(context.partition_key)
    result = compute_week_backtest(home, settings, week)
    write_week_table(home, "backtest", week, result, expected_week_fingerprints(home, settings)[week])
    plan_total = float(result["recommended_plan_cost_usd"].sum()) if result.height else 0.0
    hindsight_total = float(result["hindsight_cost_usd"].sum()) if result.height else 0.0
    modeshift.commit(context)
    return MaterializeResult(
        metadata={
            **frame_metadata(result),
            "endpoints": result.height,
            "recommended_plan_cost_usd": round(plan_total, 2),
            "hindsight_cost_usd": round(hindsight_total, 2),
            "regret_usd": round(plan_total - hindsight_total, 2),
            "regret_pct": round((plan_total - hindsight_total) / hindsight_total, 4)
            if hindsight_total
            else 0.0,
            "note": "no recommendations last week"
            if not result.height
            else f"plans of {week - timedelta(days=7)}",
        }
    )
