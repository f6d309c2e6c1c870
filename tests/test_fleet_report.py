"""The fleet section of the reports (docs/cost-model.md#pools): pools recommended and held, with the noise controls,
in the Slack message and the terminal report alike."""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.delivery.featured import ReportSettings
from pipelines.delivery.fleet_report import (
    commitment_sentence,
    fleet_intro,
    fleet_summary,
    pool_plan_text,
    pool_sentence,
)
from pipelines.delivery.report import fleet_lines
from pipelines.delivery.slack_report import build_week_report, report_blocks
from pipelines.weekly.plans import RECOMMENDATION_SCHEMA
from pipelines.weekly.pools import POOL_SCHEMA

WEEK = date(2026, 11, 9)


def _pool(pool_id: str, members: list[str], action: str, saving: float, **extra: object) -> dict:
    row = {name: None for name in POOL_SCHEMA}
    row.update({"week_start": WEEK, "model": "meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo", "pool_id": pool_id,
                "members": members, "member_count": len(members), "family": "fixed", "replicas": 2,
                "min_replicas": 2, "max_replicas": 2, "pooled_cost_usd": 10_000.0,
                "separate_cost_usd": 10_000.0 + saving, "multiplexing_saving_usd": saving,
                "saving_pct": saving / (10_000.0 + saving), "action": action, "is_raw": action != "separate",
                "reasons": [], "held_reasons": ["needs 2 weeks in a row as the cheapest grouping, seen 1"]
                if action == "hold" else []})  # fmt: skip
    row.update(extra)
    return row


POOLS = pl.DataFrame(
    [
        _pool("pool-a", ["kb-amer", "kb-apac", "kb-emea"], "pool", 3968.0),
        _pool(
            "pool-b",
            ["chat-api", "office"],
            "hold",
            900.0,
            family="autoscale",
            min_replicas=1,
            max_replicas=8,
        ),
        _pool("pool-c", ["tail-01", "tail-02"], "pool", 20.0),  # below the $50 listing threshold
        _pool("pool-d", ["test-x", "test-y"], "pool", 500.0),  # every member excluded
        _pool("pool-e", ["a", "b"], "separate", 0.0),
    ],
    schema=POOL_SCHEMA,
)


def test_the_summary_lists_recommended_then_held_pools_with_the_noise_controls() -> None:
    summary = fleet_summary(POOLS.iter_rows(named=True), ReportSettings(50.0, 5, ("test-*",)))
    assert [line.members[0] for line in summary.pools] == ["kb-amer", "chat-api"]
    assert summary.hidden_pools == 2  # pool-c (small) and pool-d (excluded); separate rows are never counted
    assert summary.recommended_pools == 3
    assert summary.pooled_saving_usd == 3968.0 + 20.0 + 500.0  # totals count every recommended pool
    text = pool_sentence(summary.pools[0])
    assert text == ("pool kb-amer, kb-apac and kb-emea on Meta-Llama-3.1-405B-Instruct-Turbo: fixed 2 replicas, "
                    "$10,000/week against $13,968 apart, saves $3,968/week (28%)")  # fmt: skip
    assert "could pool chat-api and office" in pool_sentence(summary.pools[1])
    assert "held: needs 2 weeks in a row" in pool_sentence(summary.pools[1])
    assert pool_plan_text(POOLS.row(1, named=True)) == "autoscale 1–8 replicas"


def test_slack_shows_a_fleet_section_and_the_terminal_report_lists_every_pool() -> None:
    recs = pl.DataFrame(schema=RECOMMENDATION_SCHEMA)
    report = build_week_report(WEEK, recs, None, None, ReportSettings(50.0, 1), None, POOLS)
    fleet = [b for b in report_blocks(report) if b.get("text", {}).get("text", "").startswith("*Fleet*")]
    assert len(fleet) == 1
    text = fleet[0]["text"]["text"]
    assert "3 pooled deployment(s) recommended: they save $4,488/week" in text
    assert "`kb-amer`, `kb-apac` and `kb-emea`" in text and "chat-api" not in text  # top_n = 1
    assert "3 more not listed" in text
    lines = fleet_lines(POOLS.filter(pl.col("action") != "separate").to_dicts())
    assert lines[1].startswith("Fleet: 3 pooled deployment(s) recommended")
    assert len(lines) == 2 + 4


def test_no_fleet_section_without_pools() -> None:
    report = build_week_report(WEEK, pl.DataFrame(schema=RECOMMENDATION_SCHEMA), None, None, ReportSettings())
    assert not any(b.get("text", {}).get("text", "").startswith("*Fleet*") for b in report_blocks(report))
    assert fleet_lines([]) == []


COMMITMENTS = [
    {"endpoint": "chat-api", "term": "1-month", "committed_replicas": 1, "discount": 0.1, "expected_saving_usd": 134.06,
     "committed_utilization": 1.0, "break_even_utilization": 0.9, "weeks_lost": 0, "lookback_weeks": 3,
     "on_demand_cost_usd": 1340.64, "committed_cost_usd": 1206.58, "recommended": True},
    {"endpoint": "chat-api", "term": "1-year", "committed_replicas": 1, "discount": 0.3, "expected_saving_usd": 400.0,
     "committed_utilization": 1.0, "break_even_utilization": 0.7, "weeks_lost": 0, "lookback_weeks": 3,
     "on_demand_cost_usd": 1340.64, "committed_cost_usd": 940.64, "recommended": False},
    {"endpoint": "voice-agent", "term": "1-month", "committed_replicas": 1, "discount": 0.1, "expected_saving_usd": 40.0,
     "committed_utilization": 1.0, "break_even_utilization": 0.9, "weeks_lost": 1, "lookback_weeks": 3,
     "on_demand_cost_usd": 670.32, "committed_cost_usd": 630.32, "recommended": True},
]  # fmt: skip


def test_commitments_are_listed_with_their_risk_and_counted_in_the_intro() -> None:
    summary = fleet_summary([], ReportSettings(50.0, 5), COMMITMENTS)
    assert [line.endpoint for line in summary.commitments] == ["chat-api"]  # voice-agent: $40 < $50
    assert summary.hidden_commitments == 1 and summary.recommended_commitments == 2
    assert summary.committed_saving_usd == 134.06 + 40.0
    assert (summary.commitments[0].on_demand_cost_usd, summary.commitments[0].committed_cost_usd) == (
        1340.64,
        1206.58,
    )
    assert commitment_sentence(summary.commitments[0]) == (
        "commit 1 replica of chat-api for 1-month at 10% off: saves $134/week; its hours used 100% (pays above "
        "90%); lost money in 0 of 3 lookback weeks"
    )
    assert fleet_intro(summary).endswith(
        "2 commitment(s) recommended: $174/week on the replicas they commit to"
    )
    lines = fleet_lines([], COMMITMENTS)
    assert len(lines) == 2 + 2 and "voice-agent" in lines[-1] and "lost money in 1 of 3" in lines[-1]
    report = build_week_report(WEEK, pl.DataFrame(schema=RECOMMENDATION_SCHEMA), None, None, ReportSettings(),
                               None, None, pl.DataFrame(COMMITMENTS))  # fmt: skip
    fleet = next(b for b in report_blocks(report) if b.get("text", {}).get("text", "").startswith("*Fleet*"))
    assert "commit 1 replica of `chat-api` for 1-month" in fleet["text"]["text"]
