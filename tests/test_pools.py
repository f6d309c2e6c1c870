"""Pools (docs/cost-model.md#pools): pooled series, the partition search, costing and the pool policy, pure."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.domain.cost_model import DedicatedOffer, plan_curve
from pipelines.domain.plan_families import family_options, propose_windows, ready_replicas
from pipelines.domain.policy import PolicySettings
from pipelines.domain.pool_policy import HOLD, POOL, SEPARATE, cost_candidate, decide_pool
from pipelines.domain.pools import (
    GroupScreening,
    PoolMember,
    demand_correlation,
    member_overflow_shares,
    overflow_cap,
    pool_key,
    pooled_series,
    screening_cost,
    search_pools,
)
from pipelines.domain.provider import TOGETHER_DEFAULT

MINUTES = 1440  # one covered day keeps every test fast
HOURS = MINUTES / 60
OFFER = DedicatedOffer("H100", 1, 1.0, 1000.0, 0.8)  # a replica plans 800 weighted tokens/s at $1/hour
PRICE_PER_TOKEN = 1e-6  # serverless USD per weighted token
CELLS = np.arange(MINUTES) // 60  # Monday's 24 hours
POLICY = PolicySettings(min_savings_usd_per_week=5.0, min_savings_pct=0.1, persistence_weeks=2)


def serverless_cost(demand: np.ndarray) -> np.ndarray:
    """Serverless USD per minute at a flat price per weighted token."""
    return demand * 60 * PRICE_PER_TOKEN


def member(
    name: str, demand: np.ndarray, offer: DedicatedOffer = OFFER, cap: float | None = None
) -> PoolMember:
    """A member whose own cost and replicas are its best family plan on its own (as the weekly step's raw plan)."""
    cost = serverless_cost(demand)
    curve = plan_curve(demand, cost, offer, HOURS)
    windows = propose_windows(demand, cost, offer, CELLS, "UTC")
    options = family_options(demand, cost, curve, TOGETHER_DEFAULT, windows, CELLS, cap)
    best = options.cheapest()
    own = best.total_cost_usd if best is not None else float(cost.sum())
    if cap is None and float(cost.sum()) < own:
        best, own = None, float(cost.sum())
    return PoolMember(name, demand, cost, offer, own, best.replicas if best is not None else 0, cap)


def square_wave(high_first: bool, level: float, half_period_minutes: int = 10) -> np.ndarray:
    """``level`` for ``half_period_minutes``, then 0 as long, all day (or 0 first): too fast for a schedule
    (whole hours) or an autoscaler (a 5-minute cold start, 10 minutes before scaling down) to follow."""
    step = np.arange(MINUTES) // half_period_minutes
    on = (step % 2 == 0) if high_first else (step % 2 == 1)
    return np.where(on, level, 0.0)


def test_complementary_square_waves_pool_into_half_the_replicas() -> None:
    a = member("chat-api", square_wave(True, 1600.0))  # 2 replicas' worth, 10 minutes on, 10 off
    b = member("support-agent", square_wave(False, 1600.0))  # the same, 10 off, 10 on
    assert a.own_replicas == 2 and b.own_replicas == 2
    pool = cost_candidate("m", [a, b], HOURS, TOGETHER_DEFAULT, CELLS, "UTC")
    assert pool.plan is not None and pool.plan.family == "fixed"
    assert pool.plan.replicas == 2  # half of the 4 the members run apart
    assert pool.pooled_cost_usd == pytest.approx(2 * 1.0 * HOURS)
    assert pool.saving_usd > 0
    assert pool.correlation == pytest.approx(-1.0)
    assert pool.peak_of_sum_tps == 1600.0 and pool.sum_of_peaks_tps == 3200.0
    first = decide_pool(pool, [], POLICY)
    assert first.action == HOLD and first.is_raw  # persistence: one week seen of two
    assert "needs 2 weeks in a row" in first.held_reasons[0]
    second = decide_pool(pool, [pool.history_key], POLICY)
    assert second.action == POOL
    assert "chat-api and support-agent on m: separately 4 replicas" in second.reasons[0]
    assert "rarely coincide (correlation of minute demand -1.00)" in second.reasons[1]


def test_identical_series_pool_into_the_same_replicas() -> None:
    demand = square_wave(True, 1600.0) + 800.0  # 1 replica all day, 3 every other 10 minutes
    a, b = member("a", demand), member("b", demand.copy())
    pool = cost_candidate("m", [a, b], HOURS, TOGETHER_DEFAULT, CELLS, "UTC")
    assert pool.plan is not None
    assert pool.pooled_cost_usd == pytest.approx(a.own_cost_usd + b.own_cost_usd, abs=0.005)
    assert pool.saving_usd == pytest.approx(0.0, abs=0.005)  # no false multiplexing gain
    assert pool.correlation == pytest.approx(1.0)
    assert decide_pool(pool, [pool.history_key], POLICY).action == SEPARATE


def test_pooled_series_converts_members_to_the_pool_capacity() -> None:
    rng = np.random.default_rng(3)
    short = DedicatedOffer("H100", 1, 1.0, 2000.0, 0.8)
    long = DedicatedOffer("H100", 1, 1.0, 500.0, 0.8)
    da, db = rng.gamma(2.0, 100.0, MINUTES), rng.gamma(2.0, 300.0, MINUTES)
    series = pooled_series([PoolMember("a", da, serverless_cost(da), short, 0.0),
                            PoolMember("b", db, serverless_cost(db), long, 0.0)])  # fmt: skip
    wa, wb = da.sum(), db.sum()
    assert series.offer.replica_capacity_tps == pytest.approx((wa + wb) / (wa / 2000 + wb / 500))
    assert series.demand_tps.sum() == pytest.approx(wa + wb)  # the week's weighted tokens are kept
    # replica-seconds per minute are the members' own: D_m / K_pool = Σ D_i,m / K_i
    expected = da / 2000 + db / 500
    assert np.allclose(series.demand_tps / series.offer.replica_capacity_tps, expected)
    with pytest.raises(ValueError, match="share GPU type"):
        pooled_series([PoolMember("a", da, da, short, 0.0),
                       PoolMember("b", db, db, DedicatedOffer("H200", 1, 1.0, 500.0), 0.0)])  # fmt: skip


def test_member_overflow_shares_add_up_to_the_pool_share() -> None:
    rng = np.random.default_rng(5)
    members = [member(f"e{i}", rng.gamma(1.5, 400.0, MINUTES)) for i in range(3)]
    pool = cost_candidate("m", members, HOURS, TOGETHER_DEFAULT, CELLS, "UTC")
    series = pooled_series(members)
    ready = ready_replicas(pool.plan, series.demand_tps, series.offer, TOGETHER_DEFAULT, CELLS)
    shares = member_overflow_shares(series, ready, series.offer)
    weights = [m.demand_tps.sum() for m in members]
    assert np.average(shares, weights=weights) == pytest.approx(pool.plan.overflow_share, abs=1e-9)


def test_an_slo_cap_carries_over_to_the_pool() -> None:
    rng = np.random.default_rng(11)
    spiky = rng.gamma(0.3, 600.0, MINUTES)
    free = member("batchy", spiky)
    capped = member("voice-agent", spiky[::-1].copy(), cap=0.02)
    pool = cost_candidate("m", [free, capped], HOURS, TOGETHER_DEFAULT, CELLS, "UTC")
    assert pool.plan is not None and pool.plan.overflow_share <= 0.02 + 1e-12
    reasons = decide_pool(pool, [], POLICY).reasons
    assert any("the SLO of voice-agent carries over" in r for r in reasons)


def _all_partitions(items: list[int]):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _all_partitions(rest):
        for i in range(len(part)):
            yield part[:i] + [[first, *part[i]]] + part[i + 1 :]
        yield [[first], *part]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_the_exact_search_finds_the_least_cost_partition(size: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    table = {g: float(rng.uniform(1, 10) * len(g) ** rng.uniform(0.5, 1.2))
             for r in range(1, size + 1) for g in itertools.combinations(range(size), r)}  # fmt: skip
    search = search_pools(size, table.__getitem__, exact_limit=8)
    assert search.method == "exact"
    assert sorted(i for g in search.groups for i in g) == list(range(size))  # a partition
    best = min(sum(table[tuple(sorted(g))] for g in part) for part in _all_partitions(list(range(size))))
    assert sum(table[g] for g in search.groups) == pytest.approx(best)


@settings(max_examples=30, deadline=None)
@given(st.integers(9, 30), st.integers(1, 5), st.integers(0, 2**31 - 1))
def test_the_greedy_search_is_bounded_and_never_worse_than_apart(
    size: int, open_pools: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    alone = rng.uniform(1, 10, size)
    calls = []

    def cost(group: tuple[int, ...]) -> float:
        calls.append(group)
        return float(alone[list(group)].sum() ** 0.8)  # subadditive: pooling pays

    search = search_pools(size, cost, exact_limit=8, max_open_pools=open_pools)
    assert search.method == "greedy"
    assert sorted(i for g in search.groups for i in g) == list(range(size))
    assert len([g for g in search.groups if len(g) > 1]) <= open_pools
    assert search.groups_costed == len(set(calls)) <= size * (open_pools + 2)
    assert sum(cost(g) for g in search.groups) <= alone.sum() + 1e-9


def test_screening_cost_respects_the_cap_and_serverless() -> None:
    demand = square_wave(True, 100.0, 60)  # far below one replica: serverless is cheaper
    cost = serverless_cost(demand)
    series = pooled_series([PoolMember("a", demand, cost, OFFER, 0.0)])
    assert screening_cost(series, HOURS, TOGETHER_DEFAULT, None) == pytest.approx(cost.sum())
    assert screening_cost(series, HOURS, TOGETHER_DEFAULT, 0.0) == pytest.approx(1.0 * HOURS)


def test_pool_key_and_correlation() -> None:
    assert pool_key("m", ["b", "a"]) == pool_key("m", ["a", "b"]) != pool_key("n", ["a", "b"])
    assert demand_correlation([np.ones(3)]) is None
    assert demand_correlation([np.ones(3), np.array([1.0, 2.0, 3.0])]) is None  # constant: undefined


def test_group_screening_equals_screening_the_pooled_series() -> None:
    rng = np.random.default_rng(17)
    offers = [OFFER, DedicatedOffer("H100", 1, 1.0, 400.0, 0.8), DedicatedOffer("H100", 1, 1.0, 2500.0, 0.8)]
    members = [PoolMember(f"e{i}", d, serverless_cost(d), offers[i % 3], 0.0, 0, 0.05 if i == 2 else None)
               for i, d in enumerate(rng.gamma(0.8, 500.0, (5, MINUTES)))]  # fmt: skip
    screening = GroupScreening(members, HOURS, TOGETHER_DEFAULT)
    for group in [(0,), (0, 1), (0, 1, 3), (1, 3), (0, 1, 2, 3, 4), (2, 4)]:
        chosen = [members[i] for i in group]
        direct = screening_cost(pooled_series(chosen), HOURS, TOGETHER_DEFAULT, overflow_cap(chosen))
        assert screening.cost(group) == pytest.approx(direct, rel=1e-9)
