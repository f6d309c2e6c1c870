"""Fleet assets: what only shows across endpoints or across weeks — pooled deployments
(docs/cost-model.md#pools), commitments (docs/cost-model.md#commitments), and the fleet picture."""

from datetime import date

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.checks import blocking_checks, check_result
from assets.table_metadata import frame_metadata
from pipelines.core.text import markdown_table
from pipelines.delivery.chart_metadata import ChartEmbedder
from pipelines.delivery.charts import reports_dir, write_file_atomically
from pipelines.delivery.featured import ReportSettings
from pipelines.delivery.fleet_charts import PoolPicture, fleet_png
from pipelines.delivery.fleet_report import fleet_summary
from pipelines.domain.pool_policy import POOL, POOL_ACTIONS
from pipelines.lake.lineage import expected_week_fingerprints
from pipelines.lake.weekly_store import read_week_table, write_week_table
from pipelines.ops.partitions import previous_week, weekly_partitions
from pipelines.ops.resources import ModeshiftResource
from pipelines.weekly.commitments import compute_week_commitments
from pipelines.weekly.pools import compute_week_pools, pool_trace

CENT = 0.005


def pool_violations(pools: pl.DataFrame) -> dict[str, list[str]]:
    """Pools breaking each rule ``pool_recommendations`` must keep (empty lists when all is well)."""
    violations: dict[str, list[str]] = {"allowed_actions": [], "one_pool_per_endpoint": [],
                                        "saving_identity": [], "pool_saves": []}  # fmt: skip
    pooled: dict[str, str] = {}
    for row in pools.iter_rows(named=True):
        if row["action"] not in POOL_ACTIONS:
            violations["allowed_actions"].append(row["pool_id"])
        if abs(row["multiplexing_saving_usd"] - (row["separate_cost_usd"] - row["pooled_cost_usd"])) > CENT:
            violations["saving_identity"].append(row["pool_id"])
        if row["action"] == POOL:
            if not row["multiplexing_saving_usd"] > 0:
                violations["pool_saves"].append(row["pool_id"])
            for endpoint in row["members"]:
                if endpoint in pooled:
                    violations["one_pool_per_endpoint"].append(endpoint)
                pooled[endpoint] = row["pool_id"]
    return violations


@asset(
    partitions_def=weekly_partitions,
    deps=[
        "recommendations",
        previous_week("pool_recommendations"),
    ],  # hysteresis reads the earlier weeks' pools
    group_name="fleet",
    kinds={"polars", "parquet"},
    description="Per week, candidate pools of endpoints serving the same model on one shared deployment: each "
    "model's all-endpoints pool and the groups the search found, costed with every plan family on the summed "
    "demand against the members' own best plans, with the decision (pool / hold / separate) and reasons (see "
    "docs/cost-model.md#pools).",
    check_specs=blocking_checks(
        "pool_recommendations",
        {
            "allowed_actions": "actions come from pool, hold, separate",
            "one_pool_per_endpoint": "an endpoint is in at most one recommended pool per week",
            "saving_identity": "multiplexing saving = separate cost − pooled cost",
            "pool_saves": "a recommended pool costs less than its members apart",
        },
    ),
)
def pool_recommendations(context: AssetExecutionContext, modeshift: ModeshiftResource) -> MaterializeResult:
    """Search each model's endpoints for pools and decide, with hysteresis, which to recommend."""
    home, settings = modeshift.step_home(context), modeshift.settings()
    week = date.fromisoformat(context.partition_key)
    pools = compute_week_pools(home, settings, week)
    write_week_table(
        home, "pool_recommendations", week, pools, expected_week_fingerprints(home, settings)[week]
    )
    recommended = pools.filter(pl.col("action") == POOL)
    modeshift.commit(context)
    return MaterializeResult(
        metadata={
            **frame_metadata(pools),
            "candidates": pools.height,
            "recommended": recommended.height,
            "held": pools.filter(pl.col("action") == "hold").height,
            "multiplexing_saving_usd": round(float(recommended["multiplexing_saving_usd"].sum()), 2),
            "pools": MetadataValue.md(
                markdown_table(
                    ["model", "members", "action", "family", "replicas", "pooled $/wk", "apart $/wk"],
                    [(r["model"], ", ".join(r["members"]), r["action"], r["family"], r["replicas"],
                      round(r["pooled_cost_usd"], 2), round(r["separate_cost_usd"], 2))
                     for r in pools.iter_rows(named=True)],
                )
            ),
        },
        check_results=[
            check_result(name, not bad, {"pools": MetadataValue.json(bad[:50])}) for name, bad in pool_violations(pools).items()
        ],
    )  # fmt: skip


@asset(
    partitions_def=weekly_partitions,
    deps=[pool_recommendations, "commitments"],
    group_name="fleet",
    kinds={"matplotlib", "png"},
    description="MODESHIFT_HOME/reports/<week>/fleet.png: the week's top pool (its members' demand stacked under "
    "the shared plan's capacity), every listed pool's cost together against apart and every listed commitment's "
    "cost on demand against committed, with the Slack report's noise controls (slack.min_saving_usd, top_n, "
    "exclude_endpoints).",
)
def fleet_charts(context: AssetExecutionContext, modeshift: ModeshiftResource) -> MaterializeResult:
    """Draw the partition's fleet picture."""
    home, settings = modeshift.step_home(context), modeshift.settings()
    week = date.fromisoformat(context.partition_key)
    pools = read_week_table(home, "pool_recommendations", week)
    commitment_rows = read_week_table(home, "commitments", week)
    summary = fleet_summary(pools.iter_rows(named=True) if pools is not None else [],
                            ReportSettings.from_settings(settings),
                            commitment_rows.iter_rows(named=True) if commitment_rows is not None else [])  # fmt: skip
    picture = None
    if summary.pools:
        top = summary.pools[0]
        trace = pool_trace(home, settings, week, list(top.members))
        if trace is not None:
            picture = PoolPicture(
                title=f"{top.model.rsplit('/', 1)[-1]}: {len(top.members)} endpoints on one deployment "
                f"({top.action}), week of {week}",
                members=trace.members,
                member_demand_tps=trace.member_demand_tps,
                capacity_tps=trace.capacity_tps,
                plan=trace.plan,
                covered_days=trace.covered_days,
            )
    path = reports_dir(home, week) / "fleet.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file_atomically(path, fleet_png(summary, picture, week))
    modeshift.commit(context)
    return MaterializeResult(
        metadata={
            "fleet": MetadataValue.md(ChartEmbedder().markdown(path, f"Fleet, week of {week}")),
            "pools_listed": len(summary.pools),
        }
    )


@asset(
    partitions_def=weekly_partitions,
    deps=["recommendations"],
    group_name="fleet",
    kinds={"polars", "parquet"},
    description="Per endpoint and commitment term of the provider, the replicas worth committing to, simulated on "
    "the lookback weeks' billed capacity: committed level, expected weekly saving, break-even and committed "
    "utilization, weeks that would have lost money (see docs/cost-model.md#commitments).",
)
def commitments(context: AssetExecutionContext, modeshift: ModeshiftResource) -> MaterializeResult:
    """Simulate every commitment level on the lookback weeks and write the week's ``commitments`` table."""
    home, settings = modeshift.step_home(context), modeshift.settings()
    week = date.fromisoformat(context.partition_key)
    table = compute_week_commitments(home, settings, week)
    write_week_table(home, "commitments", week, table, expected_week_fingerprints(home, settings)[week])
    chosen = table.filter(pl.col("recommended"))
    modeshift.commit(context)
    return MaterializeResult(
        metadata={
            **frame_metadata(table),
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
