"""Plan families (fixed, autoscale, scheduled): known answers to the cent on a square wave and a sporadic endpoint,
the compiled autoscaler against its plain-Python reference, and the invariants of docs/cost-model.md#plan-families."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.domain.autoscaler import replicas_needed, simulate, simulate_reference
from pipelines.domain.cost_model import DedicatedOffer, plan_curve
from pipelines.domain.plan_families import (
    AUTOSCALE,
    SCHEDULED,
    ScheduleWindow,
    autoscale_plan,
    best_autoscale,
    best_fixed,
    best_scheduled,
    family_options,
    propose_windows,
    scheduled_curve,
    window_starts,
)
from pipelines.domain.provider import ProviderProfile

# One replica: K = 1,250 weighted tokens/s at u = 0.8 → 1,000 planned; $6/hour = $0.10 per minute.
OFFER = DedicatedOffer("H100-80GB", 1, 6.0, 1250.0, 0.8)
USD_PER_TPS_MINUTE = 0.0002  # serverless: a minute at 1,000 tokens/s costs $0.20, twice a replica-minute
MINUTES_PER_DAY = 1440


def square_wave(days: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Each day: 2 h at 3× one replica's planned capacity, then 22 h at 0.5×."""
    day = np.concatenate([np.full(120, 3000.0), np.full(1320, 500.0)])
    demand = np.tile(day, days)
    return demand, demand * USD_PER_TPS_MINUTE


def cells(days: int) -> np.ndarray:
    """Weekday-hour cell of each minute for ``days`` days from a Monday 00:00."""
    minute = np.arange(days * MINUTES_PER_DAY)
    return (minute // MINUTES_PER_DAY) * 24 + (minute % MINUTES_PER_DAY) // 60


def profile(cold_start: int = 5, **overrides: object) -> ProviderProfile:
    return ProviderProfile("test", cold_start_minutes=cold_start, **overrides)  # type: ignore[arg-type]


def test_square_wave_fixed_plans_to_the_cent() -> None:
    demand, cost = square_wave()
    curve = plan_curve(demand, cost, OFFER, 24.0)
    assert curve.r_full == 3
    assert curve.total_cost_usd.round(2).tolist() == [204.0, 192.0, 312.0, 432.0]
    best = best_fixed(curve, profile())
    assert (best.replicas, round(best.total_cost_usd, 2), best.replica_hours) == (1, 192.0, 24.0)


def test_square_wave_autoscale_without_cold_start() -> None:
    demand, cost = square_wave()
    plan = autoscale_plan(demand, cost, OFFER, profile(cold_start=0), 1, 3)
    # minute 0 runs 1 (warm start) and overflows 2/3 of $0.60; 3 replicas serve minutes 1-129; after 10 minutes
    # below target one stops (130-139 run 2), after 10 more another (140-1439 run 1): 1 + 387 + 20 + 1,300 minutes
    assert plan.replica_hours * 60 == pytest.approx(1708)
    assert round(plan.reserved_cost_usd, 2) == 170.80
    assert round(plan.overflow_cost_usd, 2) == 0.40
    assert round(plan.total_cost_usd, 2) == 171.20
    assert plan.cold_start_overflow_usd == 0


def test_square_wave_autoscale_cold_start_overflow_is_the_delay_minutes_demand() -> None:
    demand, cost = square_wave()
    plan = autoscale_plan(demand, cost, OFFER, profile(cold_start=5), 1, 3)
    # the 2 replicas started at the end of minute 0 are billed from minute 1 but serve from minute 6: the demand
    # above one replica in minutes 1-5 (5 × 2/3 × $0.60 = $2.00) overflows on top of minute 0's $0.40
    assert round(plan.cold_start_overflow_usd, 2) == 2.00
    assert round(plan.overflow_cost_usd, 2) == 2.40
    assert round(plan.reserved_cost_usd, 2) == 170.80
    assert round(plan.total_cost_usd, 2) == 173.20


def test_square_wave_week_repeats_the_day() -> None:
    demand, cost = square_wave(days=7)
    plan = autoscale_plan(demand, cost, OFFER, profile(cold_start=5), 1, 3)
    assert round(plan.total_cost_usd, 2) == round(7 * 173.20, 2)
    search = best_autoscale(demand, cost, plan_curve(demand, cost, OFFER, 168.0), profile(cold_start=5))
    assert (search.best.min_replicas, search.best.max_replicas) == (1, 3)
    assert round(search.best.total_cost_usd, 2) == round(7 * 173.20, 2)


def test_square_wave_scheduled_in_the_busy_hours() -> None:
    demand, cost = square_wave()
    busy = ScheduleWindow(tuple(c < 2 for c in range(168)), "Mon 00:00–02:00 UTC")
    plans = scheduled_curve(demand, cost, OFFER, profile(cold_start=5), busy, cells(1), 3)
    # R replicas for 120 window minutes + 5 warm-up minutes at $0.10, the other 22 h on serverless ($132)
    assert [round(p.total_cost_usd, 2) for p in plans] == [192.50, 181.00, 169.50]
    assert [round(p.reserved_cost_usd, 2) for p in plans] == [12.50, 25.00, 37.50]
    best = best_scheduled(demand, cost, plan_curve(demand, cost, OFFER, 24.0), profile(5), [busy], cells(1))
    assert (best.replicas, round(best.total_cost_usd, 2)) == (3, 169.50)


def test_proposed_windows_are_the_hours_a_replica_pays_for() -> None:
    demand, cost = square_wave(days=7)
    windows = propose_windows(demand, cost, OFFER, cells(7), "UTC")
    labels = [w.label for w in windows]
    # the busy cells are every day's 00:00-02:00, so they are the daily band (kept once, by its name)
    assert labels == ["Mon–Fri 00:00–02:00 UTC", "daily 00:00–02:00 UTC"]
    assert (windows[0].hours_per_week, windows[1].hours_per_week) == (10, 14)
    demand[3 * 1440 + 600 : 3 * 1440 + 660] = 3000.0  # Thursday 10:00 gets busy too
    windows = propose_windows(demand, demand * USD_PER_TPS_MINUTE, OFFER, cells(7), "UTC")
    assert [w.label for w in windows][-1] == "15 busiest hours of the week"


def test_scheduled_all_week_is_fixed_plus_one_warm_up() -> None:
    demand, cost = square_wave(days=7)
    curve = plan_curve(demand, cost, OFFER, 168.0)
    always = ScheduleWindow((True,) * 168, "always")
    plans = scheduled_curve(demand, cost, OFFER, profile(cold_start=5), always, cells(7), 3)
    for r, plan in enumerate(plans, start=1):
        assert plan.total_cost_usd == pytest.approx(curve.total_cost_usd[r] + r * 5 * 0.10, abs=1e-9)
    assert window_starts(always.minute_mask(cells(7))) == 1


def test_scale_to_zero_on_a_sporadic_endpoint() -> None:
    demand = np.zeros(MINUTES_PER_DAY)
    demand[600:660] = 3000.0
    cost = demand * USD_PER_TPS_MINUTE
    zero = profile(cold_start=5, scale_to_zero=True)
    plan = autoscale_plan(demand, cost, OFFER, zero, 0, 3)
    # 3 start at the end of minute 600, serve from 606 (600-605 all overflow: 6 × $0.60); the demand stops at 660
    # and one replica stops after every 10 idle minutes: billed 3×69 + 2×10 + 1×10 = 237 replica-minutes
    assert round(plan.overflow_cost_usd, 2) == 3.60
    assert round(plan.reserved_cost_usd, 2) == 23.70
    assert round(plan.total_cost_usd, 2) == 27.30
    search = best_autoscale(demand, cost, plan_curve(demand, cost, OFFER, 24.0), zero)
    assert (search.best.min_replicas, search.best.max_replicas) == (0, 3)
    assert round(search.best.total_cost_usd, 2) == 27.30  # serverless $36.00; any fixed plan $144 or more
    warm = best_autoscale(demand, cost, plan_curve(demand, cost, OFFER, 24.0), profile(cold_start=5))
    assert warm.best.min_replicas == 1 and warm.best.total_cost_usd > 144


def test_hourly_billing_bills_each_hour_at_its_most_replicas() -> None:
    demand, cost = square_wave()
    plan = autoscale_plan(demand, cost, OFFER, profile(cold_start=0, billing_granularity_minutes=60), 1, 3)
    # hours 0-2 ran 3 replicas at some minute (3 × 3 h), hour 2 also saw 2; hours 3-23 ran 1: 9 + 21 = 30
    assert plan.replica_hours == 30
    assert round(plan.reserved_cost_usd, 2) == 180.00


@st.composite
def traffic(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    minutes = draw(st.integers(60, 600))
    levels = draw(
        st.lists(st.sampled_from([0.0, 300.0, 900.0, 1500.0, 2600.0, 4100.0]), min_size=1, max_size=8)
    )
    spans = draw(st.lists(st.integers(1, 90), min_size=len(levels), max_size=len(levels)))
    demand = np.resize(np.repeat(levels, spans), minutes).astype(float)
    price = draw(st.sampled_from([0.00005, 0.0001, 0.0002, 0.0004]))
    return demand, demand * price


@settings(max_examples=60, deadline=None)
@given(
    traffic(),
    st.integers(0, 4),
    st.integers(1, 6),
    st.integers(1, 3),
    st.integers(1, 12),
    st.integers(0, 7),
)
def test_compiled_autoscaler_matches_its_reference(traffic_, low, high, up, down, cold) -> None:
    demand, _ = traffic_
    high = max(high, low, 1)
    needed = replicas_needed(demand, OFFER.planned_replica_tps)
    fast = simulate(needed, low, high, up, down, cold)
    slow = simulate_reference(needed, low, high, up, down, cold)
    assert fast.running.tolist() == slow.running.tolist()
    assert fast.ready.tolist() == slow.ready.tolist()
    assert (fast.ready <= fast.running).all() and (fast.running <= high).all() and (fast.running >= low).all()


@settings(max_examples=40, deadline=None)
@given(traffic(), st.integers(0, 7), st.booleans())
def test_autoscale_min_equals_max_is_fixed_and_the_best_never_costs_more(traffic_, cold, hourly) -> None:
    demand, cost = traffic_
    prof = profile(cold_start=cold, billing_granularity_minutes=60 if hourly else 1)
    curve = plan_curve(demand, cost, OFFER, demand.size / 60)
    for r in range(1, curve.r_full + 1):
        if hourly and demand.size % 60:
            continue  # hourly billing is defined on whole hours
        same = autoscale_plan(demand, cost, OFFER, prof, r, r)
        assert round(same.total_cost_usd, 2) == round(float(curve.total_cost_usd[r]), 2)
    search = best_autoscale(demand, cost, curve, prof)
    fixed = best_fixed(curve, prof)
    if fixed is not None:
        assert search.best.total_cost_usd <= fixed.total_cost_usd + 1e-9


@settings(max_examples=40, deadline=None)
@given(traffic(), st.integers(0, 6), st.booleans(), st.sampled_from([None, 0.02, 0.2]))
def test_branch_and_bound_finds_the_grid_minimum(traffic_, cold, to_zero, cap) -> None:
    demand, cost = traffic_
    prof = profile(cold_start=cold, scale_to_zero=to_zero)
    curve = plan_curve(demand, cost, OFFER, demand.size / 60)
    search = best_autoscale(demand, cost, curve, prof, max_overflow_share=cap)
    grid = [
        autoscale_plan(demand, cost, OFFER, prof, low, high)
        for low, high in itertools.product(range(prof.lowest_min_replicas, curve.r_full + 1), repeat=2)
        if low <= high and high >= 1
    ]
    grid = [p for p in grid if cap is None or p.overflow_share <= cap + 1e-12]
    if not grid:
        assert search.best is None
        return
    assert search.best.total_cost_usd == pytest.approx(min(p.total_cost_usd for p in grid), abs=1e-9)
    assert search.settings_simulated <= search.settings_in_grid


def test_family_options_on_the_square_wave() -> None:
    demand, cost = square_wave(days=7)
    curve = plan_curve(demand, cost, OFFER, 168.0)
    windows = propose_windows(demand, cost, OFFER, cells(7), "UTC")
    options = family_options(demand, cost, curve, profile(cold_start=5), windows, cells(7))
    assert round(options.fixed.total_cost_usd, 2) == 7 * 192.0
    assert round(options.autoscale.total_cost_usd, 2) == round(7 * 173.20, 2)
    assert options.scheduled.family == SCHEDULED and options.scheduled.replicas == 3
    assert round(options.scheduled.total_cost_usd, 2) == round(7 * 169.50, 2)
    assert options.cheapest().family == SCHEDULED
    assert options.autoscale.family == AUTOSCALE
    assert options.autoscale_settings_simulated < options.autoscale_settings_in_grid
