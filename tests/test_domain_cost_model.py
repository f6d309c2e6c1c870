"""Plan cost model (docs/cost-model.md#the-plan-curve): hand-computed weeks, the per-minute definition, and
properties of R*."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.domain.cost_model import (
    DedicatedOffer,
    batch_cost_usd,
    full_coverage_replicas,
    plan_curve,
    serverless_cost_usd,
    total_cost_usd,
    weighted_demand_tps,
)

WEEK_MINUTES = 10_080
WEEK_HOURS = 168.0

# One replica of K = 1,000 weighted tokens/s on 1 GPU at $2/GPU-hour, planned at u = 1: $336 per week.
ONE_GPU_OFFER = DedicatedOffer("H100-80GB", 1, 2.0, 1_000.0, 1.0)


def flat_week() -> tuple[np.ndarray, np.ndarray]:
    """A flat 2,000 weighted tokens/s for the whole week (w = 3, $1 / $3 per million input / output tokens).

    Per minute: 60,000 input + 20,000 output tokens → (60,000 + 3·20,000) / 60 = 2,000 weighted tokens/s;
    serverless 60,000·$1e-6 + 20,000·$3e-6 = $0.06 + $0.06 = $0.12 per minute.
    """
    tokens_in = np.full(WEEK_MINUTES, 60_000)
    tokens_out = np.full(WEEK_MINUTES, 20_000)
    return weighted_demand_tps(tokens_in, tokens_out, 3.0), serverless_cost_usd(
        tokens_in, tokens_out, 1.0, 3.0
    )


def brute_force_total(
    replicas: int, demand: np.ndarray, cost: np.ndarray, offer: DedicatedOffer, hours: float
) -> float:
    """total(R) straight from the formula of docs/cost-model.md#the-plan-curve, one minute at a time."""
    if replicas == 0:
        return float(sum(cost))
    capacity = replicas * offer.replica_capacity_tps * offer.target_utilization
    overflow = 0.0
    for d, s in zip(demand, cost, strict=True):
        served = 1.0 if d == 0 else min(1.0, capacity / d)
        overflow += (1.0 - served) * s
    return replicas * offer.gpus_per_replica * offer.usd_per_gpu_hour * hours + overflow


def test_per_minute_demand_and_serverless_cost() -> None:
    # (100 + 6·50) / 60 = 400 / 60 weighted tokens/s; 100·$0.88e-6 + 50·$0.88e-6 = $0.000132.
    assert weighted_demand_tps(np.array([100]), np.array([50]), 6.0)[0] == pytest.approx(400 / 60)
    assert serverless_cost_usd(np.array([100]), np.array([50]), 0.88, 0.88)[0] == pytest.approx(150 * 0.88e-6)


def test_flat_week_by_hand() -> None:
    demand, cost = flat_week()
    # total(0) = 10,080 minutes · $0.12 = $1,209.60.
    # total(1) = 1·1·$2·168 h = $336 reserved; φ = 1,000 / 2,000 = 0.5, overflow = 0.5·$1,209.60 = $604.80 → $940.80.
    # total(2) = 2·$336 = $672; capacity 2,000 = demand, no overflow → $672.00.
    # R_full = ceil(2,000 / (1,000·1)) = 2; the cheapest is R* = 2 = R_full → dedicated.
    curve = plan_curve(demand, cost, ONE_GPU_OFFER, WEEK_HOURS)
    assert curve.r_full == 2
    assert list(curve.replicas) == [0, 1, 2]
    assert np.round(curve.total_cost_usd, 2).tolist() == [1209.60, 940.80, 672.00]
    assert np.round(curve.reserved_cost_usd, 2).tolist() == [0.0, 336.0, 672.0]
    assert np.round(curve.overflow_cost_usd, 2).tolist() == [1209.60, 604.80, 0.0]
    assert curve.r_star == 2
    assert curve.mode == "dedicated"
    # Overflow share: everything at R = 0, half at R = 1 (1,000 of 2,000 tokens/s), nothing at R = 2.
    assert curve.overflow_share.tolist() == pytest.approx([1.0, 0.5, 0.0])
    # Utilization: served / (R·K·60·minutes) = 1,000/1,000 at R = 1 and 2,000/2,000 at R = 2; undefined at R = 0.
    assert np.isnan(curve.utilization[0])
    assert curve.utilization[1:].tolist() == pytest.approx([1.0, 1.0])


def test_flat_week_with_cheap_serverless_stays_serverless() -> None:
    demand, cost = flat_week()
    cheap = cost / 4  # $0.03 per minute → total(0) = $302.40 < total(1) = $336 + $151.20 < total(2) = $672
    curve = plan_curve(demand, cheap, ONE_GPU_OFFER, WEEK_HOURS)
    assert np.round(curve.total_cost_usd, 2).tolist() == [302.40, 487.20, 672.00]
    assert (curve.r_star, curve.mode) == (0, "serverless")


def test_ties_go_to_fewer_replicas() -> None:
    demand, cost = flat_week()
    tied = cost * (672.0 / 1_209.60)  # serverless $672 for the week
    # total(0) = $672; total(1) = $336 + 0.5·$672 = $672; total(2) = 2·$336 = $672: a three-way tie → R* = 0.
    curve = plan_curve(demand, tied, ONE_GPU_OFFER, WEEK_HOURS)
    assert np.round(curve.total_cost_usd, 2).tolist() == [672.0, 672.0, 672.0]
    assert (curve.r_star, curve.mode) == (0, "serverless")


def test_half_low_half_high_week_is_hybrid() -> None:
    # 5,040 minutes at 1,000 tokens/s ($0.06 each) and 5,040 at 3,000 tokens/s ($0.18 each): w = 1, $1 per Mtok.
    tokens_in = np.repeat([60_000, 180_000], WEEK_MINUTES // 2)
    tokens_out = np.zeros(WEEK_MINUTES)
    demand = weighted_demand_tps(tokens_in, tokens_out, 1.0)
    cost = serverless_cost_usd(tokens_in, tokens_out, 1.0, 1.0)
    # total(0) = 5,040·0.06 + 5,040·0.18 = 302.40 + 907.20 = $1,209.60
    # total(1) = 336 + (1 − 1/3)·907.20 = 336 + 604.80 = $940.80 (low minutes fully served)
    # total(2) = 672 + (1 − 2/3)·907.20 = 672 + 302.40 = $974.40
    # total(3) = 3·336 = $1,008.00  → R* = 1 of R_full = 3: hybrid.
    curve = plan_curve(demand, cost, ONE_GPU_OFFER, WEEK_HOURS)
    assert np.round(curve.total_cost_usd, 2).tolist() == [1209.60, 940.80, 974.40, 1008.00]
    assert (curve.r_star, curve.r_full, curve.mode) == (1, 3, "hybrid")
    # Served weighted tokens/s averaged over the week: R=1 → 1,000 of 1,000; R=2 → (1,000+2,000)/2 of 2,000;
    # R=3 → 2,000 of 3,000. Overflow: 1,000 of 2,000 at R=1, 500 of 2,000 at R=2.
    assert curve.utilization[1:].tolist() == pytest.approx([1.0, 0.75, 2 / 3])
    assert curve.overflow_share.tolist() == pytest.approx([1.0, 0.5, 0.25, 0.0])


def test_utilization_is_against_full_replica_capacity() -> None:
    # K = 1,250 at u = 0.8 plans 1,000 tokens/s per replica: same costs as the flat case, but the 2 replicas
    # run at 2,000 / (2·1,250) = 80% of their full capacity.
    demand, cost = flat_week()
    offer = DedicatedOffer("H100-80GB", 1, 2.0, 1_250.0, 0.8)
    curve = plan_curve(demand, cost, offer, WEEK_HOURS)
    assert curve.r_full == 2
    assert np.round(curve.total_cost_usd, 2).tolist() == [1209.60, 940.80, 672.00]
    assert curve.utilization[2] == pytest.approx(0.8)


def test_over_provisioned_plan_beyond_r_full() -> None:
    demand, cost = flat_week()
    # 5 replicas: 5·$336 = $1,680, no overflow, 2,000 of 5,000 tokens/s used.
    plan = total_cost_usd(5, demand, cost, ONE_GPU_OFFER, WEEK_HOURS)
    assert plan.total_cost_usd == pytest.approx(1680.0)
    assert plan.overflow_cost_usd == 0.0
    assert plan.utilization == pytest.approx(0.4)
    assert plan.overflow_share == 0.0
    assert plan_curve(demand, cost, ONE_GPU_OFFER, WEEK_HOURS).plan(5) == plan


def test_no_demand_is_serverless_with_zero_cost() -> None:
    zeros = np.zeros(WEEK_MINUTES)
    curve = plan_curve(zeros, zeros, ONE_GPU_OFFER, WEEK_HOURS)
    assert (curve.r_full, curve.r_star, curve.mode) == (0, 0, "serverless")
    assert curve.total_cost_usd.tolist() == [0.0]
    assert curve.overflow_share.tolist() == [0.0]
    idle = total_cost_usd(2, zeros, zeros, ONE_GPU_OFFER, WEEK_HOURS)
    assert idle.total_cost_usd == pytest.approx(672.0)
    assert idle.utilization == 0.0


def test_r_full_at_exact_multiples() -> None:
    offer = DedicatedOffer("H100-80GB", 1, 1.0, 1_000.0, 0.8)  # 800 planned tokens/s per replica
    assert full_coverage_replicas(1_600.0, offer) == 2
    assert full_coverage_replicas(1_600.0001, offer) == 3
    assert full_coverage_replicas(0.1, offer) == 1
    assert full_coverage_replicas(0.0, offer) == 0


def test_offer_price_per_replica_hour() -> None:
    assert DedicatedOffer("H100-80GB", 8, 5.49, 8_000.0).replica_usd_per_hour == pytest.approx(43.92)
    with pytest.raises(ValueError):
        DedicatedOffer("H100-80GB", 1, 5.49, 0.0)


def test_batch_cost() -> None:
    assert batch_cost_usd(1209.60, 0.5) == pytest.approx(604.80)
    with pytest.raises(ValueError):
        batch_cost_usd(10.0, 1.5)


def random_week(
    seed: int, minutes: int, scale: float = 1.0, sigma: float = 1.0, spiky: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """A random series: a log-normal baseline (spread ``sigma``), some idle minutes and, when ``spiky``, 20× spikes."""
    rng = np.random.default_rng(seed)
    tokens_in = scale * rng.lognormal(mean=8.0, sigma=sigma, size=minutes)
    if spiky:
        tokens_in *= rng.random(minutes) > 0.2
        tokens_in[rng.random(minutes) < 0.02] *= 20
    tokens_out = tokens_in * rng.uniform(0.1, 0.5, size=minutes)
    return weighted_demand_tps(tokens_in, tokens_out, 4.0), serverless_cost_usd(
        tokens_in, tokens_out, 0.9, 2.7
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sorted_evaluation_matches_the_per_minute_definition(seed: int) -> None:
    demand, cost = random_week(seed, 600)
    offer = DedicatedOffer("H100-80GB", 1, 0.5, 200.0, 0.8)
    curve = plan_curve(demand, cost, offer, 10.0)
    assert curve.r_full > 3  # the case is not trivial
    for r in range(curve.r_full + 3):
        expected = brute_force_total(r, demand, cost, offer, 10.0)
        assert curve.plan(r).total_cost_usd == pytest.approx(expected, rel=1e-9, abs=1e-9)
        if r <= curve.r_full:
            assert curve.total_cost_usd[r] == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert curve.r_star == int(
        np.argmin([brute_force_total(r, demand, cost, offer, 10.0) for r in curve.replicas])
    )


def test_large_r_full_stays_fast() -> None:
    demand, cost = random_week(7, WEEK_MINUTES)
    offer = DedicatedOffer("H100-80GB", 1, 0.01, 2.0, 0.8)  # tiny replicas: R_full in the thousands
    curve = plan_curve(demand, cost, offer, WEEK_HOURS)
    assert curve.r_full > 1_000
    assert curve.total_cost_usd[0] == pytest.approx(cost.sum())


weeks = st.builds(
    random_week,
    seed=st.integers(0, 10_000),
    minutes=st.integers(1, 2_000),
    scale=st.sampled_from([1.0, 10.0, 100.0, 1_000.0, 10_000.0]),
    sigma=st.floats(0.05, 1.0),
    spiky=st.booleans(),
)

offers = st.builds(
    DedicatedOffer,
    gpu_type=st.just("H100-80GB"),
    gpus_per_replica=st.integers(1, 8),
    usd_per_gpu_hour=st.sampled_from([0.05, 0.5, 2.0, 5.49]),
    replica_capacity_tps=st.floats(50.0, 5_000.0),
    target_utilization=st.floats(0.3, 1.0),
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(week=weeks, offer=offers)
def test_curve_properties_on_random_weeks(week: tuple[np.ndarray, np.ndarray], offer: DedicatedOffer) -> None:
    demand, cost = week
    hours = demand.size / 60
    curve = plan_curve(demand, cost, offer, hours)
    totals = curve.total_cost_usd
    assert totals[0] == pytest.approx(cost.sum())
    assert totals[curve.r_star] <= totals[0] + 1e-9
    assert totals[curve.r_star] <= totals[curve.r_full] + 1e-9
    assert np.all((curve.overflow_share >= 0) & (curve.overflow_share <= 1))
    if demand.sum() > 0:
        assert np.all((curve.utilization[1:] > 0) & (curve.utilization[1:] <= 1 + 1e-12))
        assert curve.overflow_share[0] == 1.0
        assert curve.overflow_share[-1] == 0.0
    np.testing.assert_allclose(curve.reserved_cost_usd + curve.overflow_cost_usd, totals, rtol=1e-12)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    tokens_per_minute=st.floats(1.0, 1e7),
    usd_per_mtok=st.floats(0.05, 5.0),
    minutes=st.integers(1, 2_000),
    offer=offers,
)
def test_doubling_a_steady_demand_never_lowers_r_star(
    tokens_per_minute: float, usd_per_mtok: float, minutes: int, offer: DedicatedOffer
) -> None:
    def r_star(scale: float) -> int:
        tokens = np.full(minutes, tokens_per_minute * scale)
        demand = weighted_demand_tps(tokens, np.zeros(minutes), 1.0)
        cost = serverless_cost_usd(tokens, np.zeros(minutes), usd_per_mtok, usd_per_mtok)
        return plan_curve(demand, cost, offer, minutes / 60).r_star

    assert r_star(2.0) >= r_star(1.0)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(week=weeks, offer=offers, price_factor=st.floats(1.01, 10.0))
def test_raising_the_gpu_price_never_raises_r_star(
    week: tuple[np.ndarray, np.ndarray], offer: DedicatedOffer, price_factor: float
) -> None:
    demand, cost = week
    minutes = demand.size
    pricier = DedicatedOffer(
        offer.gpu_type,
        offer.gpus_per_replica,
        offer.usd_per_gpu_hour * price_factor,
        offer.replica_capacity_tps,
        offer.target_utilization,
    )
    cheap = plan_curve(demand, cost, offer, minutes / 60)
    dear = plan_curve(demand, cost, pricier, minutes / 60)
    assert dear.r_star <= cheap.r_star
