"""The commitments asset on a built home (docs/cost-model.md#commitments): the steady endpoint's committed level and
money from two real weeks of recommendations, and the rules that hold the others back."""

from __future__ import annotations

from datetime import date

import pytest
from dagster import DagsterInstance, materialize

import assets.fleet
from pipelines.core.home import Home
from pipelines.lake.weekly_store import read_week_table
from pipelines.ops.resources import ModeshiftResource

WEEK = date(2026, 11, 9)
H100 = 3.99  # the shipped card's 8B replica: one H100 at $3.99 an hour


def _materialize(home: Home) -> dict[str, dict]:
    result = materialize(
        [assets.fleet.commitments],
        partition_key=WEEK.isoformat(),
        instance=DagsterInstance.ephemeral(),
        resources={"modeshift": ModeshiftResource(home_dir=str(home.root))},
    )
    assert result.success
    table = read_week_table(home, "commitments", WEEK)
    assert table is not None
    return {row["endpoint"]: row for row in table.iter_rows(named=True)}


def test_the_steady_endpoint_commits_its_replica_over_a_two_week_lookback(built_home: Home) -> None:
    built_home.config_file.write_text("commitments:\n  lookback_weeks: 2\n")
    recommendations = read_week_table(built_home, "recommendations", WEEK)
    steady_hours = recommendations.filter(recommendations["endpoint"] == "steady-big")[
        "hourly_billed_replicas"
    ][0]
    assert steady_hours.to_list() == [1.0] * 168  # its raw plan: one replica every hour of the week
    rows = _materialize(built_home)
    steady = rows["steady-big"]
    assert (steady["provider"], steady["term"], steady["gpu_type"]) == ("together", "1-month", "H100-80GB")
    assert steady["recommended"] and steady["committed_replicas"] == 1
    assert steady["on_demand_cost_usd"] == pytest.approx(H100 * 168)
    assert round(steady["committed_cost_usd"], 2) == round(0.9 * H100 * 168, 2) == 603.29
    assert round(steady["expected_saving_usd"], 2) == round(0.1 * H100 * 168, 2) == 67.03
    assert steady["committed_utilization"] == pytest.approx(1.0)
    assert steady["break_even_utilization"] == pytest.approx(0.9)
    assert (steady["lookback_weeks"], steady["weeks_with_data"], steady["weeks_lost"]) == (2, 2, 0)
    assert steady["cancellation"].startswith("none: owed for the whole term")
    assert any("saves $67.03/week" in reason for reason in steady["reasons"])
    # small-chat's cheapest plan is serverless: it never bills a replica, so nothing is committed
    assert not rows["small-chat"]["recommended"] and rows["small-chat"]["committed_replicas"] == 0
    assert "unpriced" not in rows  # no dedicated price: no row


def test_the_default_four_week_lookback_recommends_nothing_with_two_weeks_of_traffic(
    built_home: Home,
) -> None:
    steady = _materialize(built_home)["steady-big"]
    assert not steady["recommended"] and steady["committed_replicas"] == 0
    assert steady["reasons"][0] == "only 2 of the 4 lookback weeks have traffic: no commitment recommended"
