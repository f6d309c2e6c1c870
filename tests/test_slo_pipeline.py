"""Latency SLOs end to end through real Dagster runs (the runner on a temporary home): settings → rollups →
slo_status → recommendations (slo_status, slo_premium_usd) → warehouse and analytics, with the blocking check."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from assets.recommendations import recommendation_violations
from pipelines.app.runner import materialize_pending
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.delivery.publish import analytics_path
from pipelines.delivery.report import render_report
from pipelines.delivery.slack_report import load_week_report, report_message
from pipelines.ingest.landing import land_file
from pipelines.lake.weekly_store import read_week_table

MONDAY = datetime(2026, 11, 2, tzinfo=UTC)
WEEK = date(2026, 11, 2)
# $1 per million input tokens, output free; one replica of one GPU at $2 an hour ($336 a week) serving K = 1,000
# weighted tokens/s at u = 1.
RATE_CARD = """model,effective_from,effective_to,input_usd_per_mtok,output_usd_per_mtok,batch_offered,batch_discount,gpu_type,gpus_per_replica,usd_per_gpu_hour,replica_capacity_tps,output_weight,target_utilization,source,as_of
hand/model,2020-01-01,,1.0,0.0,true,0.5,G1,1,2.0,1000,1,1.0,test card,2026-11-01
"""
CONFIG = """
rate_card: {card}
policy:
  persistence_weeks: 1
slos:
  "voice-*": {{ttft_p95_ms: 600}}
"""


def _day(endpoint: str, ttft_ms: float | None, deployment_mode: str = "serverless") -> list[dict]:
    """One request at the start of every minute of Monday 2026-11-02 with 30,000 input tokens (500 weighted
    tokens/s: $0.03 a minute, $43.20 for the day on serverless; one replica costs $48 for the day's 24 hours),
    each with ``ttft_ms``."""
    return [
        {
            "request_id": f"{endpoint}-{m}",
            "ts": (MONDAY + timedelta(minutes=m)).isoformat(),
            "endpoint": endpoint,
            "model": "hand/model",
            "input_tokens": 30_000,
            "output_tokens": 0,
            "stream": True,
            "deployment_mode": deployment_mode,
            **({"ttft_ms": ttft_ms} if ttft_ms is not None else {}),
        }
        for m in range(1440)
    ]


def _query(path: Path, sql: str) -> list[dict]:
    with duckdb.connect(str(path), read_only=True) as con:
        relation = con.sql(sql)
        return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def test_a_breached_slo_reserves_capacity_through_real_runs(home: Home, tmp_path: Path) -> None:
    card = tmp_path / "card.csv"
    card.write_text(RATE_CARD)
    home.config_file.write_text(CONFIG.format(card=card))
    rows = _day("voice-slow", 900.0) + _day("voice-fast", 300.0) + _day("voice-quiet", None)
    rows += _day("voice-ded", 900.0, "dedicated")  # slow, but not on serverless: not counted
    rows += _day("chat", 900.0)  # the same slow traffic without an SLO
    source = tmp_path / "week.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    land_file(home, source, "canonical", {})
    summary = materialize_pending(home, progress=lambda _: None)  # raises when a blocking check fails
    assert summary.failures == []

    status = {r["endpoint"]: r for r in _query(home.warehouse, "SELECT * FROM slo_status")}
    assert set(status) == {
        "voice-slow",
        "voice-fast",
        "voice-quiet",
        "voice-ded",
    }  # one row per endpoint with an SLO
    slow = status["voice-slow"]
    assert (slow["status"], slow["metric"], slow["percentile"], slow["threshold_ms"]) == (
        "breached", "ttft_ms", "p95", 600.0
    )  # fmt: skip
    assert (slow["hours_with_requests"], slow["breached_hours"], slow["requests"]) == (24, 24, 1_440)
    assert slow["worst_hour_ms"] == 900.0 and slow["week_ms"] == 900.0 and slow["slo_pattern"] == "voice-*"
    assert status["voice-fast"]["status"] == "met" and status["voice-fast"]["breached_hours"] == 0
    assert status["voice-quiet"]["status"] == "not_checked" and status["voice-quiet"]["week_ms"] is None
    assert status["voice-ded"]["status"] == "not_checked"
    latency_hours = pl.read_parquet(home.rollup_day_dir("2026-11-02") / "latency_hours.parquet")
    assert set(latency_hours["endpoint"]) == {
        "voice-slow",
        "voice-fast",
        "chat",
    }  # ok serverless requests only

    recs = {r["endpoint"]: r for r in _query(home.warehouse, "SELECT * FROM recommendations")}
    moved = recs["voice-slow"]
    assert (moved["action"], moved["recommended_mode"], moved["replicas"]) == ("migrate", "dedicated", 1)
    assert round(moved["recommended_cost_usd"], 2) == 48.00 and round(moved["current_cost_usd"], 2) == 43.20
    assert round(moved["slo_premium_usd"], 2) == 4.80 and moved["slo_status"] == "breached"
    assert any("p95 TTFT 900 ms > SLO 600 ms in 24 of 24 hours" in reason for reason in moved["reasons"])
    assert any("$4.80/week more than serverless" in reason for reason in moved["reasons"])
    for endpoint in ("voice-fast", "voice-quiet"):
        assert (recs[endpoint]["action"], recs[endpoint]["slo_premium_usd"]) == ("stay", 0.0)
    assert (recs["voice-fast"]["slo_status"], recs["voice-quiet"]["slo_status"]) == ("met", "not_checked")
    chat = recs["chat"]  # no SLO: nothing changes, the premium is NULL
    assert (chat["action"], chat["recommended_mode"], chat["slo_status"], chat["slo_premium_usd"]) == (
        "stay", "serverless", None, None
    )  # fmt: skip

    published = _query(analytics_path(home), "SELECT endpoint, status FROM slo_status ORDER BY endpoint")
    assert [r["status"] for r in published] == ["not_checked", "met", "not_checked", "breached"]

    # the blocking check guards the premium: NULL exactly without an SLO, >= 0 with one
    table = read_week_table(home, "recommendations", WEEK)
    assert recommendation_violations(table)["slo_premium"] == []
    broken = table.with_columns(
        slo_premium_usd=pl.when(pl.col("endpoint") == "voice-slow")
        .then(-1.0)
        .when(pl.col("endpoint") == "chat")
        .then(0.0)
        .otherwise(pl.col("slo_premium_usd"))
    )
    assert sorted(recommendation_violations(broken)["slo_premium"]) == ["chat", "voice-slow"]
    # an SLO move may cost more than the current plan; any other migrate that does is still a violation
    assert recommendation_violations(table)["migrate_saves"] == []
    no_slo = table.with_columns(slo_status=pl.lit(None, dtype=pl.String), slo_premium_usd=pl.lit(None))
    assert recommendation_violations(no_slo)["migrate_saves"] == ["voice-slow"]

    # the terminal report and the Slack message show the SLOs and what meeting them costs
    out = render_report(home.warehouse, WEEK)
    assert (
        "SLOs: 4 endpoint(s) with a latency SLO: 1 breached, 1 met, 2 not checked; meeting the breached ones "
        "costs $4.80/week more than the cheapest plans"
    ) in out
    assert (
        "  voice-slow: p95 ttft_ms <= 600 ms breached in 24 of 24 hours (worst 900 ms); meeting it: 1 replica(s), "
        "dedicated, +$4.80/week (migrate)"
    ) in out
    assert "  voice-quiet: p95 ttft_ms <= 600 ms not checked: no serverless latency data this week" in out
    assert "voice-fast: p95" not in out  # met SLOs are counted, not listed
    report = load_week_report(home, Settings.load(home), WEEK)
    assert [(line.endpoint, line.status) for line in report.slos] == [
        ("voice-slow", "breached"), ("voice-ded", "not_checked"), ("voice-quiet", "not_checked")
    ]  # fmt: skip
    assert report.slo_premium_usd == pytest.approx(4.80)
    texts = [
        b["text"]["text"]
        for b in report_message(report)["blocks"]
        if b.get("type") == "section" and "text" in b
    ]
    slo = next(text for text in texts if text.startswith("*SLO*"))
    assert "4 endpoint(s) with a latency SLO: 1 breached, 1 met, 2 not checked" in slo
    assert (
        "`voice-slow`: p95 ttft_ms &lt;= 600 ms *breached* in 24 of 24 hours, worst hour 900 ms; meeting it: "
        "1 replica (dedicated), *+$4.80/week* over the cheapest plan (migrate)"
    ) in slo
    assert "`voice-quiet`: p95 ttft_ms &lt;= 600 ms *not checked*" in slo
