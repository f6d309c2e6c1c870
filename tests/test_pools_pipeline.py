"""Pools end to end through real Dagster runs (docs/cost-model.md#pools): two endpoints whose bursts alternate
share one deployment, to the cent, held the first week and recommended the second; an isolated one is never pooled."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.app.runner import materialize_pending
from pipelines.core.home import Home
from pipelines.ingest.landing import land_file

MONDAY = datetime(2026, 11, 2, tzinfo=UTC)
# $1 per million input tokens (output free), output weight 1, a replica of one GPU at $2 an hour serving
# K = 1,000 weighted tokens/s at u = 1; no batch.
RATE_CARD = """model,effective_from,effective_to,input_usd_per_mtok,output_usd_per_mtok,batch_offered,batch_discount,gpu_type,gpus_per_replica,usd_per_gpu_hour,replica_capacity_tps,output_weight,target_utilization,source,as_of
hand/model,2020-01-01,,1.0,0.0,false,,G1,1,2.0,1000,1,1.0,test card,2026-11-01
"""


def _alternating(endpoint: str, busy_first: bool, weeks: int) -> list[dict]:
    """120,000 input tokens (2,000 weighted tokens/s: two replicas' worth) in every other 10-minute slot, nothing in
    the others: too fast for a schedule or an autoscaler to follow."""
    rows = []
    for m in range(weeks * 7 * 1440):
        if ((m // 10) % 2 == 0) != busy_first:
            continue
        rows.append({"request_id": f"{endpoint}-{m}", "ts": (MONDAY + timedelta(minutes=m)).isoformat(),
                     "endpoint": endpoint, "model": "hand/model", "input_tokens": 120_000, "output_tokens": 0,
                     "stream": True})  # fmt: skip
    return rows


def _rows(home: Home, query: str) -> list[dict]:
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        relation = con.sql(query)
        return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


@pytest.mark.slow
def test_alternating_bursts_pool_into_one_deployment_to_the_cent(home: Home, tmp_path: Path) -> None:
    # Alone, each endpoint is cheapest on serverless: 5,040 busy minutes × $0.12 = $604.80 a week (fixed(2)
    # costs $672, fixed(1) $336 + $302.40 overflow). Together their demand is a flat 2,000 tokens/s:
    # fixed(2) = 2 × $2 × 168 h = $672.00 against $1,209.60 apart: saves $537.60 (44.4 %).
    card = tmp_path / "card.csv"
    card.write_text(RATE_CARD)
    home.config_file.write_text(f"rate_card: {card}\npools:\n  isolated: [tenant-*]\n")
    for name, busy_first in (("search-a", True), ("search-b", False), ("tenant-x", True)):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in _alternating(name, busy_first, 2)))
        land_file(home, path, "canonical", {})
    materialize_pending(home, progress=lambda _: None)

    pools = _rows(home, "SELECT * FROM pool_recommendations ORDER BY week_start, pool_id")
    assert all("tenant-x" not in p["members"] for p in pools)  # isolated: never pooled
    assert [(p["week_start"].isoformat(), p["members"], p["action"]) for p in pools] == [
        ("2026-11-02", ["search-a", "search-b"], "hold"),
        ("2026-11-09", ["search-a", "search-b"], "pool"),
    ]
    first, second = pools
    assert first["held_reasons"] == ["needs 2 weeks in a row as the cheapest grouping, seen 1"]
    assert (second["family"], second["replicas"], second["separate_replicas"]) == ("fixed", 2, 0)
    assert round(second["pooled_cost_usd"], 2) == 672.00
    assert round(second["separate_cost_usd"], 2) == 1209.60
    assert round(second["multiplexing_saving_usd"], 2) == 537.60
    assert second["demand_correlation"] == pytest.approx(-1.0)
    assert second["utilization"] == pytest.approx(1.0) and second["overflow_share"] == pytest.approx(0.0)
    assert second["reasons"][0] == (
        "search-a and search-b on model: separately 0 replicas, $1,210/week; pooled fixed 2 replicas, "
        "$672/week (saves $538/week, 44%)"
    )
    own = _rows(home, "SELECT endpoint, raw_mode FROM recommendations WHERE week_start = DATE '2026-11-09'")
    assert {r["endpoint"]: r["raw_mode"] for r in own} == {
        "search-a": "serverless", "search-b": "serverless", "tenant-x": "serverless"}  # fmt: skip
    assert (home.root / "reports" / "2026-11-09" / "fleet.png").stat().st_size > 10_000
