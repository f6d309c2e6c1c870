"""Commitments (docs/cost-model.md#commitments): known answers to the cent, the data and threshold rules, and the
properties of the level search."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.domain.commitments import (
    HOURS_PER_WEEK,
    CommitmentTerm,
    level_savings,
    max_observed_level,
    recommend_commitment,
    simulate_level,
)

REPLICA_USD_PER_HOUR = 10.98  # g·P: 2 GPUs at $5.49
TERM = CommitmentTerm("together", "1-month", 52 / 12, 0.20)


def test_a_steady_endpoint_commits_its_two_replicas_and_saves_the_discount_to_the_cent() -> None:
    weeks = [np.full(HOURS_PER_WEEK, 2.0) for _ in range(4)]
    outcome = recommend_commitment(weeks, REPLICA_USD_PER_HOUR, TERM, 4, 50.0)
    assert outcome.recommended and outcome.committed_replicas == 2
    assert round(outcome.expected_saving_usd, 2) == round(2 * REPLICA_USD_PER_HOUR * 168 * 0.2, 2) == 737.86
    assert round(outcome.on_demand_cost_usd, 2) == round(2 * REPLICA_USD_PER_HOUR * 168, 2) == 3689.28
    assert round(outcome.committed_cost_usd, 2) == round(2 * 0.8 * REPLICA_USD_PER_HOUR * 168, 2) == 2951.42
    assert outcome.committed_utilization == pytest.approx(1.0)
    assert outcome.break_even_utilization == pytest.approx(0.8)
    assert (outcome.weeks_with_data, outcome.weeks_lost) == (4, 0)
    assert any("saves $738/week" in reason for reason in outcome.reasons)
    # owed over the term: 2 × 0.8 × $10.98 × 168 h × 52/12 weeks
    assert (
        "owed for 4.33 weeks: $12,790 committed over the term; cancellation: none: owed for the whole term"
        in (outcome.reasons)
    )


def test_a_spiky_endpoint_commits_only_its_baseline() -> None:
    # 1 replica all week, 4 replicas for 12 hours a day: the 3 extra replicas run 50% of the hours, below the
    # 80% break-even, so only the baseline replica is committed
    day = np.array([4.0] * 12 + [1.0] * 12)
    weeks = [np.tile(day, 7) for _ in range(4)]
    outcome = recommend_commitment(weeks, REPLICA_USD_PER_HOUR, TERM, 4, 0.0)
    assert outcome.committed_replicas == 1
    assert round(outcome.expected_saving_usd, 2) == round(REPLICA_USD_PER_HOUR * 168 * 0.2, 2)
    # the second replica would be used 50% of its hours: 168·(0.5 − 0.8)·g·P a week lost on it
    savings = level_savings(weeks, REPLICA_USD_PER_HOUR, 0.2, 4) / 4
    assert savings[2] - savings[1] == pytest.approx(REPLICA_USD_PER_HOUR * 168 * (0.5 - 0.8))


def test_fewer_weeks_than_the_lookback_recommend_nothing_and_say_why() -> None:
    weeks = [None, *(np.full(HOURS_PER_WEEK, 2.0) for _ in range(3))]
    outcome = recommend_commitment(weeks, REPLICA_USD_PER_HOUR, TERM, 4, 50.0)
    assert not outcome.recommended and outcome.committed_replicas == 0
    assert outcome.expected_saving_usd == 0
    assert "only 3 of the 4 lookback weeks have traffic: no commitment recommended" in outcome.reasons
    # the missing week still owes the commitment: each replica is used 3 of 4 weeks (75%), below the 80% break-even
    assert outcome.best_level == 0
    assert "even 1 committed replica is used less than the 80% break-even" in outcome.reasons[1]


def test_a_saving_below_the_threshold_is_held() -> None:
    weeks = [np.full(HOURS_PER_WEEK, 1.0) for _ in range(4)]
    outcome = recommend_commitment(weeks, 1.0, TERM, 4, 50.0)  # saves $33.60 a week
    assert not outcome.recommended and outcome.committed_replicas == 0 and outcome.best_level == 1
    assert outcome.reasons == ["1 committed replica would save $33.60/week, below the $50.00 threshold"]


def test_the_minimum_quantity_is_respected() -> None:
    weeks = [np.full(HOURS_PER_WEEK, 2.0) for _ in range(4)]
    term = CommitmentTerm("bedrock", "6-month", 26.0, 0.2, minimum_quantity=3)
    outcome = recommend_commitment(weeks, REPLICA_USD_PER_HOUR, term, 4, 0.0)
    assert outcome.committed_replicas == 0 and not outcome.recommended
    assert "needs at least 3 units" in outcome.reasons[0]


def test_uncovered_hours_are_still_billed_by_the_commitment() -> None:
    # 5 covered days of 2 replicas: the commitment bills 168 hours, on demand only the 120 covered ones
    week = simulate_level([np.full(120, 2.0)], 2, 1.0, 0.2)
    assert week.on_demand_usd[0] == 240.0
    assert week.committed_usd[0] == pytest.approx(2 * 0.8 * 168)
    assert week.savings_usd[0] < 0  # 120/168 = 71% use, below the 80% break-even


hours = st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 4.0]), min_size=1, max_size=48)
lookback = st.lists(st.one_of(st.none(), hours.map(np.asarray)), min_size=1, max_size=5)


@settings(max_examples=80, deadline=None)
@given(lookback, st.sampled_from([0.1, 0.2, 0.37, 0.64]), st.sampled_from([0.0, 2.0]))
def test_the_recommended_level_saves_at_least_every_other_level(weeks, discount, minimum) -> None:
    term = CommitmentTerm("p", "t", 4.0, discount, minimum_quantity=minimum)
    outcome = recommend_commitment(weeks, 3.0, term, 1, 0.0)
    top = max_observed_level(weeks)
    totals = level_savings(weeks, 3.0, discount, top + 3)
    assert totals[0] == 0.0
    allowed = [0, *(level for level in range(1, top + 1) if level >= minimum)]
    best_total = outcome.best_saving_usd * max(1, len(weeks))
    assert all(best_total >= totals[level] - 1e-6 for level in allowed)
    assert outcome.best_level in allowed
    assert all(totals[level + 1] <= totals[level] + 1e-9 for level in range(top, top + 3))
    if outcome.recommended:
        assert outcome.committed_replicas == outcome.best_level >= 1
        assert outcome.expected_saving_usd >= 0
    else:
        assert outcome.committed_replicas == 0 and outcome.expected_saving_usd == 0
