"""Billed replicas per clock hour of a plan (docs/cost-model.md#what-a-week-contributes): known answers on the
square wave, and for every family the hours add up to the plan's billed replica-hours."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.domain.cost_model import DedicatedOffer, plan_curve
from pipelines.domain.plan_families import (
    ScheduleWindow,
    autoscale_plan,
    billed_replicas_per_hour,
    fixed_plan,
    scheduled_curve,
)
from pipelines.domain.provider import ProviderProfile

OFFER = DedicatedOffer("H100-80GB", 1, 6.0, 1250.0, 0.8)  # 1,000 planned weighted tokens/s, $6/hour
PRICE = 0.0002  # serverless USD per (weighted token/s × minute)


def cells(minutes: int) -> np.ndarray:
    """Weekday-hour cell of each covered minute from a Monday 00:00."""
    minute = np.arange(minutes)
    return (minute // 1440) * 24 + (minute % 1440) // 60


def square_wave() -> np.ndarray:
    """One day: 2 h at 3,000 weighted tokens/s, 22 h at 500."""
    return np.concatenate([np.full(120, 3000.0), np.full(1320, 500.0)])


def profile(cold: int = 5, hourly: bool = False) -> ProviderProfile:
    return ProviderProfile("test", billing_granularity_minutes=60 if hourly else 1, cold_start_minutes=cold)


def test_fixed_is_constant_and_autoscale_follows_the_simulation() -> None:
    demand = square_wave()
    curve = plan_curve(demand, demand * PRICE, OFFER, 24.0)
    fixed = billed_replicas_per_hour(fixed_plan(curve, 2, profile()), demand, OFFER, profile(), cells(1440))
    assert fixed.tolist() == [2.0] * 24
    # autoscale 1–3 without cold start: minute 0 runs 1, minutes 1–129 run 3, 130–139 run 2, then 1
    plan = autoscale_plan(demand, demand * PRICE, OFFER, profile(0), 1, 3)
    hours = billed_replicas_per_hour(plan, demand, OFFER, profile(0), cells(1440))
    assert hours[0] == pytest.approx((1 + 59 * 3) / 60)
    assert hours[1] == 3.0
    assert hours[2] == pytest.approx((10 * 3 + 10 * 2 + 40 * 1) / 60)
    assert hours[3:].tolist() == [1.0] * 21
    assert hours.sum() == pytest.approx(plan.replica_hours)
    # hourly billing: each hour at its most running replicas (3, 3, 3, then 1)
    hourly = autoscale_plan(demand, demand * PRICE, OFFER, profile(0, hourly=True), 1, 3)
    per_hour = billed_replicas_per_hour(hourly, demand, OFFER, profile(0, hourly=True), cells(1440))
    assert per_hour.tolist() == [3.0, 3.0, 3.0] + [1.0] * 21
    assert per_hour.sum() == hourly.replica_hours == 30


def test_scheduled_books_the_warm_up_just_before_each_window_start() -> None:
    demand = np.tile(square_wave(), 2)
    window = ScheduleWindow(tuple((c % 24) in (1, 2) for c in range(168)), "daily 01:00–03:00")
    plan = scheduled_curve(demand, demand * PRICE, OFFER, profile(5), window, cells(2880), 2)[-1]
    hours = billed_replicas_per_hour(plan, demand, OFFER, profile(5), cells(2880))
    expected = np.zeros(48)
    expected[[1, 2, 25, 26]] = 2.0
    expected[[0, 24]] = 2 * 5 / 60  # the 5 warm-up minutes 00:55–01:00 of each day
    assert hours == pytest.approx(expected)
    assert hours.sum() == pytest.approx(plan.replica_hours)


@st.composite
def week(draw: st.DrawFn) -> np.ndarray:
    hours = draw(st.integers(2, 30))
    levels = draw(st.lists(st.sampled_from([0.0, 300.0, 900.0, 1500.0, 2600.0]), min_size=1, max_size=8))
    spans = draw(st.lists(st.integers(1, 150), min_size=len(levels), max_size=len(levels)))
    return np.resize(np.repeat(levels, spans), hours * 60).astype(float)


@settings(max_examples=60, deadline=None)
@given(week(), st.integers(0, 90), st.booleans(), st.integers(0, 2), st.integers(1, 3),
       st.lists(st.booleans(), min_size=24, max_size=24))  # fmt: skip
def test_every_family_adds_up_to_its_replica_hours(demand, cold, hourly, low, high, day_cells) -> None:
    provider = ProviderProfile("test", billing_granularity_minutes=60 if hourly else 1, cold_start_minutes=cold,
                               scale_to_zero=True)  # fmt: skip
    cost = demand * PRICE
    minutes = cells(demand.size)
    curve = plan_curve(demand, cost, OFFER, demand.size / 60)
    plans = [fixed_plan(curve, high, provider),
             autoscale_plan(demand, cost, OFFER, provider, min(low, high), high)]  # fmt: skip
    window = ScheduleWindow(tuple(day_cells[c % 24] for c in range(168)), "test window")
    plans.extend(scheduled_curve(demand, cost, OFFER, provider, window, minutes, high))
    for plan in plans:
        hours = billed_replicas_per_hour(plan, demand, OFFER, provider, minutes)
        assert hours.size == demand.size // 60
        assert (hours >= 0).all()
        assert hours.sum() == pytest.approx(plan.replica_hours, rel=1e-12, abs=1e-9), plan.family
