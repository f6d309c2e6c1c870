"""Per-endpoint providers through the real pipeline (docs/cost-model.md#choosing-a-provider-per-endpoint): two
endpoints with the same model and traffic, one on together and one on a PTU provider chosen by a glob, are priced
with their own provider's rows (serverless prices in the rollup, the dedicated offer with its deployment minimum),
and the PTU endpoint gets no autoscale option."""

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
HEADER = (
    "provider,model,effective_from,effective_to,input_usd_per_mtok,output_usd_per_mtok,batch_offered,"
    "batch_discount,gpu_type,gpus_per_replica,usd_per_gpu_hour,replica_capacity_tps,output_weight,"
    "target_utilization,min_replicas,source,as_of\n"
)
# The same model on two price lists: together at $1 per million input tokens, replicas of one GPU at $2 an hour
# serving 1,000 weighted tokens/s; azure-openai at $4 per million, one replica = 5 PTUs at $1 per PTU-hour serving
# 1,000 weighted tokens/s, deployment minimum 3 increments (15 PTUs).
CARD = HEADER + (
    "together,hand/model,2020-01-01,,1.0,0.0,true,0.5,G1,1,2.0,1000,1,1.0,,test card,2026-11-01\n"
    "azure-openai,hand/model,2020-01-01,,4.0,0.0,false,,PTU-global,5,1.0,1000,1,1.0,3,test card,2026-11-01\n"
)


def _flat(endpoint: str, tokens_per_minute: int) -> list[dict]:
    return [
        {
            "request_id": f"{endpoint}-{m}",
            "ts": (MONDAY + timedelta(minutes=m)).isoformat(),
            "endpoint": endpoint,
            "model": "hand/model",
            "input_tokens": tokens_per_minute,
            "output_tokens": 0,
            "stream": True,
        }
        for m in range(7 * 1440)
    ]


def _rows(home: Home, query: str) -> list[dict]:
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        relation = con.sql(query)
        return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


@pytest.mark.slow
def test_each_endpoint_is_costed_with_its_own_provider(home: Home, tmp_path: Path) -> None:
    card = tmp_path / "card.csv"
    card.write_text(CARD)
    home.config_file.write_text(f'rate_card: {card}\nprovider:\n  endpoints:\n    "az-*": azure-openai\n')
    for endpoint in ("az-flat", "tg-flat"):
        path = tmp_path / f"{endpoint}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in _flat(endpoint, 120_000)))  # 2,000 tokens/s
        land_file(home, path, "canonical", {})
    materialize_pending(home, progress=lambda _: None)

    options = {
        (r["endpoint"], r["family"]): r
        for r in _rows(home, "SELECT * FROM plan_options WHERE week_start = DATE '2026-11-02'")
    }
    # serverless: 120,000 tokens a minute × 10,080 minutes at $1 (together) and $4 (azure) per million
    assert options[("tg-flat", "serverless")]["total_cost_usd"] == pytest.approx(1209.60)
    assert options[("az-flat", "serverless")]["total_cost_usd"] == pytest.approx(4838.40)
    # together: 2 replicas serve the week; azure: 2 increments would, but the minimum is 3 (15 PTUs at $1 × 168 h)
    assert options[("tg-flat", "fixed")]["replicas"] == 2
    assert options[("tg-flat", "fixed")]["total_cost_usd"] == pytest.approx(672.00)
    assert options[("az-flat", "fixed")]["replicas"] == 3
    assert options[("az-flat", "fixed")]["total_cost_usd"] == pytest.approx(2520.00)
    assert ("az-flat", "autoscale") not in options  # fixed-size deployments: no autoscaler
    assert ("az-flat", "batch") not in options  # the azure row offers no batch
    recommendation = _rows(home, "SELECT * FROM recommendations WHERE endpoint = 'az-flat'")[0]
    assert recommendation["raw_mode"] == "dedicated" and recommendation["raw_replicas"] == 3
    assert "PTU increment" in recommendation["raw_plan"]
    assert recommendation["action"] == "hold"  # the first week has no history yet
    assert any("3 PTU increments of 5×PTU-global" in reason for reason in recommendation["reasons"])
