"""Latency SLOs (docs/cost-model.md#latency-slos): hourly percentiles on serverless from the rollups' histograms,
the week's status, and the policy reserving capacity to meet a breached SLO, with known answers to the cent."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from pipelines.domain.cost_model import plan_curve
from pipelines.domain.histogram import bucket_of
from pipelines.domain.policy import Decision, decide
from pipelines.domain.slo import NOT_CHECKED, Slo, slo_plan, slo_statuses
from tests.test_domain_policy import DEFAULTS, OFFER, WEEK_HOURS, WEEK_MINUTES, flat, week_input

MONDAY = datetime(2024, 1, 8, tzinfo=UTC)
TTFT_P95_600 = Slo("ttft", "p95", 600.0)


def latency_hours(
    endpoint: str, values_by_hour: dict[int, list[float]], metric: str = "ttft_ms"
) -> pl.DataFrame:
    """A week's serverless latency histograms of one endpoint, as the rollups hold them: one row per hour and
    bucket (hours counted from Monday 00:00 UTC, values in ms)."""
    rows = []
    for hour, values in values_by_hour.items():
        buckets, counts = np.unique(bucket_of(values), return_counts=True)
        rows += [
            {
                "endpoint": endpoint,
                "hour": MONDAY + timedelta(hours=hour),
                "metric": metric,
                "bucket": int(b),
                "n": int(n),
            }
            for b, n in zip(buckets, counts, strict=True)
        ]
    return pl.DataFrame(
        rows,
        schema={"endpoint": pl.String, "hour": pl.Datetime("us", "UTC"), "metric": pl.String,
                "bucket": pl.Int64, "n": pl.Int64},
    )  # fmt: skip


def constant_week(value_ms: float, per_hour: int = 60) -> dict[int, list[float]]:
    """Every hour of the week, ``per_hour`` requests of the same latency."""
    return {hour: [value_ms] * per_hour for hour in range(168)}


# ------------------------------------------------------------------------------------------------ the status


def test_a_constant_900_ms_ttft_breaches_a_600_ms_p95_slo_in_every_hour() -> None:
    status = slo_statuses({"voice": TTFT_P95_600}, latency_hours("voice", constant_week(900.0)))["voice"]
    assert status.status == "breached"
    assert (status.hours_with_requests, status.breached_hours) == (168, 168)
    assert (status.requests, status.breached_requests, status.breached_request_share) == (10_080, 10_080, 1.0)
    assert status.worst_hour_ms == 900.0 and status.week_ms == 900.0  # integers below 1024 are exact buckets
    assert status.worst_hour == MONDAY


def test_breached_hours_worst_hour_and_request_share_are_counted_per_hour() -> None:
    # 31 hours of 100 requests at 1,430 ms, 137 hours of 50 requests with P95 at 500 ms
    hours = {h: [1_430.0] * 100 if h % 5 == 0 and h < 155 else [400.0] * 45 + [500.0] * 5 for h in range(168)}
    status = slo_statuses({"voice": TTFT_P95_600}, latency_hours("voice", hours))["voice"]
    assert status.status == "breached"
    assert (status.hours_with_requests, status.breached_hours) == (168, 31)
    assert status.requests == 31 * 100 + 137 * 50
    assert status.breached_request_share == pytest.approx(3_100 / 9_950)
    assert status.worst_hour_ms == pytest.approx(1_430.0, rel=0.005)  # log buckets: within 0.5 %
    assert status.worst_hour == MONDAY  # hour 0, the first of the worst
    assert status.week_ms == pytest.approx(1_430.0, rel=0.005)  # 31 % of the requests are at 1,430 ms


def test_one_threshold_is_compared_with_the_percentile_of_its_own_metric() -> None:
    both = pl.concat(
        [latency_hours("a", constant_week(900.0), "latency_ms"), latency_hours("a", constant_week(300.0))]
    )
    statuses = slo_statuses({"a": TTFT_P95_600}, both)
    assert statuses["a"].status == "met" and statuses["a"].week_ms == 300.0
    statuses = slo_statuses({"a": Slo("latency", "p50", 600.0)}, both)
    assert statuses["a"].status == "breached" and statuses["a"].week_ms == 900.0


def test_no_latency_data_is_not_checked_never_silently_met() -> None:
    only_latency = latency_hours("a", constant_week(300.0), "latency_ms")
    statuses = slo_statuses({"a": TTFT_P95_600, "b": TTFT_P95_600}, only_latency)
    assert statuses == {"a": NOT_CHECKED, "b": NOT_CHECKED}
    assert NOT_CHECKED.status == "not_checked" and NOT_CHECKED.breached_request_share is None


# ------------------------------------------------------------------------------------------------ the policy

# One replica of OFFER (K = 1,000 weighted tokens/s, u = 1) costs $336 a week.


def _breached(per_hour_ms: float = 900.0, slo: Slo = TTFT_P95_600) -> dict[str, object]:
    status = slo_statuses({"chat": slo}, latency_hours("chat", constant_week(per_hour_ms)))["chat"]
    return {"slo": slo, "slo_status": status}


def test_a_breached_slo_reserves_capacity_at_the_computed_premium_even_when_it_costs_more() -> None:
    # flat 500 weighted tokens/s, $200/week on serverless: serverless is the cheapest plan (1 replica: $336)
    demand, cost = flat(500.0, 200.0)
    held = decide(week_input(demand, cost, **_breached()), DEFAULTS)
    assert (held.raw_mode, held.raw_replicas, held.action) == ("dedicated", 1, "hold")
    assert held.raw_cost_usd == pytest.approx(336.0, abs=0.005)
    assert held.slo_premium_usd == pytest.approx(136.0, abs=0.005) and held.slo_status == "breached"
    assert held.held_reasons == ["needs 2 weeks in a row, seen 1"]  # persistence applies, the saving does not
    assert held.reasons[2] == (
        "p95 TTFT 900 ms > SLO 600 ms in 168 of 168 hours (worst hour; 900 ms for the week, 100% of serverless "
        "requests in breached hours)"
    )
    assert held.reasons[3] == (
        "1 replica costs $136/week more than serverless and serves 100% of weighted tokens on reserved capacity "
        "at 50% of full capacity, $336/week ($336 reserved, no overflow)"
    )
    assert "is an assumption" in held.reasons[4] and "defined at a target latency" in held.reasons[4]

    moved = decide(week_input(demand, cost, history_raw_modes=["hybrid"], **_breached()), DEFAULTS)
    assert (moved.action, moved.recommended_mode, moved.replicas) == ("migrate", "dedicated", 1)
    assert moved.recommended_cost_usd == pytest.approx(336.0, abs=0.005)
    assert moved.savings_usd == pytest.approx(-136.0, abs=0.005)  # meeting the SLO costs money
    assert moved.slo_premium_usd == pytest.approx(136.0, abs=0.005)
    assert moved.utilization == pytest.approx(0.5) and moved.overflow_share == 0.0


def _peaky() -> tuple[np.ndarray, np.ndarray]:
    """1,000 weighted tokens/s in 90 % of the minutes and 3,000 in 10 %; $300/week on serverless, cost in
    proportion to tokens. With K = 1,000, u = 1: overflow share 1/6 at R = 1, 1/12 at R = 2, 0 at R = 3."""
    demand = np.where(np.arange(WEEK_MINUTES) % 10 == 0, 3_000.0, 1_000.0)
    return demand, 300.0 * demand / demand.sum()


@pytest.mark.parametrize(
    ("cap", "replicas", "mode", "premium"),
    [
        # R = 1: $336 + overflow 2/3 of the peak minutes' $75 = $386; R = 2: $672 + $25; R = 3: $1,008
        (0.20, 1, "hybrid", 86.0),
        (0.10, 2, "hybrid", 397.0),
        (0.05, 3, "dedicated", 708.0),
        (0.0, 3, "dedicated", 708.0),
    ],
)
def test_the_overflow_cap_raises_the_replica_count(
    cap: float, replicas: int, mode: str, premium: float
) -> None:
    demand, cost = _peaky()
    slo = Slo("ttft", "p95", 600.0, max_overflow_share=cap)
    decision = decide(
        week_input(demand, cost, history_raw_modes=["dedicated"], **_breached(slo=slo)), DEFAULTS
    )
    assert (decision.action, decision.recommended_mode, decision.replicas) == ("migrate", mode, replicas)
    assert decision.overflow_share <= cap + 1e-12
    assert decision.slo_premium_usd == pytest.approx(premium, abs=0.005)
    assert decision.recommended_cost_usd == pytest.approx(300.0 + premium, abs=0.005)


def test_the_slo_plan_is_the_cheapest_r_that_holds_the_cap() -> None:
    demand, cost = _peaky()
    curve = plan_curve(demand, cost, OFFER, WEEK_HOURS)
    assert curve.r_full == 3 and curve.r_star == 0
    assert [slo_plan(curve, cap).replicas for cap in (1.0, 0.17, 0.16, 0.09, 0.08)] == [1, 1, 2, 2, 3]
    assert slo_plan(curve, 0.0).within_cap
    empty = plan_curve(np.zeros(WEEK_MINUTES), np.zeros(WEEK_MINUTES), OFFER, WEEK_HOURS)
    assert slo_plan(empty, 0.05) is None


def test_a_breached_slo_whose_cheapest_plan_already_holds_the_cap_costs_nothing_extra() -> None:
    # flat 2,000 weighted tokens/s at $2,000/week: 2 replicas ($672) are the cheapest plan and overflow nothing
    demand, cost = flat(2_000.0, 2_000.0)
    decision = decide(week_input(demand, cost, history_raw_modes=["dedicated"], **_breached()), DEFAULTS)
    assert (decision.action, decision.replicas, decision.slo_premium_usd) == ("migrate", 2, 0.0)
    assert decision.savings_usd == pytest.approx(2_000.0 - 672.0)


def _without_slo_fields(decision: Decision) -> dict[str, object]:
    fields = asdict(decision)
    for name in ("slo_status", "slo_premium_usd", "reasons"):
        fields.pop(name)
    return fields


@pytest.mark.parametrize("current_mode", ["serverless", "dedicated"])
def test_an_slo_met_on_serverless_changes_nothing(current_mode: str) -> None:
    demand, cost = flat(500.0, 200.0)
    plain = decide(week_input(demand, cost, current_mode=current_mode, declared_replicas=1), DEFAULTS)
    met = decide(
        week_input(demand, cost, current_mode=current_mode, declared_replicas=1, **_breached(450.0)), DEFAULTS
    )
    assert _without_slo_fields(met) == _without_slo_fields(plain)
    assert (plain.slo_status, plain.slo_premium_usd) == (None, None)  # no SLO: NULL
    assert (met.slo_status, met.slo_premium_usd) == ("met", 0.0)
    assert met.reasons == [
        *plain.reasons[:3],
        "SLO p95 TTFT <= 600 ms met on serverless: 450 ms for the week, at most 450 ms in any of 168 hours with "
        "serverless requests",
        *plain.reasons[3:],
    ]


def test_no_latency_data_gives_not_checked_and_the_cheapest_plan() -> None:
    demand, cost = flat(500.0, 200.0)
    plain = decide(week_input(demand, cost), DEFAULTS)
    unchecked = decide(week_input(demand, cost, slo=TTFT_P95_600), DEFAULTS)  # no status given: not checked
    assert _without_slo_fields(unchecked) == _without_slo_fields(plain)
    assert (unchecked.slo_status, unchecked.slo_premium_usd) == ("not_checked", 0.0)
    assert "SLO p95 TTFT <= 600 ms not checked: no ok serverless request of the week carries ttft_ms" in (
        unchecked.reasons
    )


def test_an_unchecked_slo_holds_a_move_off_reserved_capacity() -> None:
    # dedicated today with 1 replica ($336); serverless would cost $100 and has been the raw mode for weeks
    demand, cost = flat(500.0, 100.0)
    base = {"current_mode": "dedicated", "declared_replicas": 1, "history_raw_modes": ["serverless"] * 3}
    plain = decide(week_input(demand, cost, **base), DEFAULTS)
    assert (plain.action, plain.recommended_mode) == ("migrate", "serverless")
    guarded = decide(week_input(demand, cost, slo=TTFT_P95_600, **base), DEFAULTS)
    assert (guarded.action, guarded.recommended_mode, guarded.raw_mode) == ("hold", "dedicated", "serverless")
    assert guarded.held_reasons == [
        "the SLO (p95 TTFT) cannot be checked on serverless from this week's logs"
    ]
    assert guarded.slo_premium_usd == 0.0


def test_a_breached_slo_without_a_dedicated_offer_says_so_and_keeps_the_cheapest_plan() -> None:
    demand, cost = flat(500.0, 200.0)
    decision = decide(week_input(demand, cost, offer=None, **_breached()), DEFAULTS)
    assert (decision.raw_mode, decision.slo_status, decision.slo_premium_usd) == (
        "serverless",
        "breached",
        0.0,
    )
    assert any("no plan can reserve capacity to meet it" in reason for reason in decision.reasons)


def test_an_unpriced_endpoint_with_an_slo_has_a_zero_premium() -> None:
    demand, cost = flat(500.0, 200.0)
    decision = decide(
        week_input(demand, cost, priced=False, serverless_cost_usd=None, **_breached()), DEFAULTS
    )
    assert (decision.action, decision.slo_status, decision.slo_premium_usd) == ("stay", "breached", 0.0)


def test_slo_arguments_are_checked() -> None:
    for bad in (
        {"metric": "tpot"},
        {"percentile": "p90"},
        {"threshold_ms": 0.0},
        {"max_overflow_share": 1.5},
    ):
        with pytest.raises(ValueError):
            Slo(**({"metric": "ttft", "percentile": "p95", "threshold_ms": 600.0} | bad))  # type: ignore[arg-type]
    assert TTFT_P95_600.column == "ttft_ms" and TTFT_P95_600.q == 0.95 and TTFT_P95_600.label == "p95 TTFT"
