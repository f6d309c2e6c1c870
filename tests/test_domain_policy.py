"""Recommendation policy (docs/cost-model.md#the-policy): thresholds, persistence, batch eligibility, current
costs and invariants."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.core.errors import ModeshiftError
from pipelines.core.text import format_usd
from pipelines.domain.cost_model import DedicatedOffer, plan_curve
from pipelines.domain.jobs import BatchLimits, JobsSummary
from pipelines.domain.policy import (
    Decision,
    EndpointWeekInput,
    PolicySettings,
    cost_of_plan,
    decide,
)

WEEK_MINUTES = 10_080
WEEK_HOURS = 168.0
WEEK = date(2024, 1, 8)
DEFAULTS = PolicySettings()

# One replica of K = 1,000 weighted tokens/s on 1 GPU at $2/GPU-hour, u = 1: $336 per week.
OFFER = DedicatedOffer("H100-80GB", 1, 2.0, 1_000.0, 1.0)


def offer_at(usd_per_week: float) -> DedicatedOffer:
    """OFFER with the GPU price set so one replica costs ``usd_per_week`` for the 168-hour week."""
    return DedicatedOffer("H100-80GB", 1, usd_per_week / WEEK_HOURS, 1_000.0, 1.0)


def flat(demand_tps: float, serverless_usd_per_week: float) -> tuple[np.ndarray, np.ndarray]:
    """A flat week: constant weighted demand and a constant serverless cost adding up to the given weekly total."""
    return (
        np.full(WEEK_MINUTES, demand_tps),
        np.full(WEEK_MINUTES, serverless_usd_per_week / WEEK_MINUTES),
    )


def week_input(
    demand: np.ndarray,
    cost: np.ndarray,
    offer: DedicatedOffer | None = OFFER,
    **overrides: object,
) -> EndpointWeekInput:
    """An input for endpoint ``chat`` with a full week of coverage; ``overrides`` replace any field."""
    curve = plan_curve(demand, cost, offer, WEEK_HOURS) if offer is not None else None
    fields: dict[str, object] = {
        "endpoint": "chat",
        "model": "llama-70b",
        "week_start": WEEK,
        "current_mode": "serverless",
        "latency_class": "interactive",
        "coverage_days": 7,
        "covered_hours": WEEK_HOURS,
        "serverless_cost_usd": float(cost.sum()),
        "curve": curve,
        "offer": offer,
        "batch_discount": None,
        "history_raw_modes": ["serverless"],
        "stability_class": "steady",
        "baseline_ratio": 0.83,
        "burst_class": "smooth",
        "peak_to_mean": 1.0,
    }
    fields.update(overrides)
    return EndpointWeekInput(**fields)  # type: ignore[arg-type]


def check_invariants(decision: Decision) -> None:
    """What every priced decision must satisfy, whatever the input."""
    assert decision.action in ("migrate", "hold", "stay", "tune")
    assert decision.confidence in ("high", "medium", "low")
    assert decision.savings_usd == pytest.approx(decision.current_cost_usd - decision.recommended_cost_usd)
    if decision.action == "tune":  # new settings in the family already running: both plans reserve capacity
        assert decision.raw_family == decision.plan_family
        assert decision.recommended_mode in ("dedicated", "hybrid")
        assert decision.current_mode == "dedicated"
    if decision.action in ("migrate", "tune"):
        assert decision.recommended_cost_usd <= decision.current_cost_usd
        assert decision.recommended_mode == decision.raw_mode
    else:
        assert decision.recommended_mode == decision.current_mode
        assert decision.recommended_cost_usd == decision.current_cost_usd
        assert decision.savings_usd == 0.0
    reserved = decision.recommended_mode in ("dedicated", "hybrid")
    assert (decision.replicas is not None and decision.replicas >= 1) == reserved
    assert (decision.gpu_type is not None) == reserved
    assert (decision.utilization is not None) == reserved
    if decision.raw_mode == "batch":
        assert decision.batch_upper_bound_savings_usd is None
    assert decision.reasons
    # The structured fields the report reads instead of the reasons text.
    assert decision.raw_savings_usd == pytest.approx(decision.current_cost_usd - decision.raw_cost_usd)
    assert (decision.raw_replicas >= 1) == (decision.raw_mode in ("dedicated", "hybrid"))
    if decision.action in ("migrate", "tune"):
        assert decision.raw_cost_usd == decision.recommended_cost_usd
    assert bool(decision.held_reasons) == (decision.action == "hold")
    assert [f"held: {why}" for why in decision.held_reasons] == [
        reason for reason in decision.reasons if reason.startswith("held: ")
    ]


# Flat week of test_domain_cost_model: 2,000 tokens/s, serverless $1,209.60, dedicated R* = 2 at $672,
# saving $537.60 (44.4 %) against a threshold of max($50, 10 % · $1,209.60 = $120.96).
SPIKE_DEMAND, SPIKE_COST = flat(2_000.0, 1_209.60)


def test_one_week_spike_is_held_with_the_raw_candidate_shown() -> None:
    decision = decide(
        week_input(SPIKE_DEMAND, SPIKE_COST, history_raw_modes=["serverless", "serverless"]), DEFAULTS
    )
    assert (decision.raw_mode, decision.action, decision.recommended_mode) == (
        "dedicated",
        "hold",
        "serverless",
    )
    assert decision.replicas == 0
    assert decision.current_cost_usd == pytest.approx(1_209.60)
    assert decision.recommended_cost_usd == pytest.approx(1_209.60)
    assert decision.savings_usd == 0.0
    assert "held: needs 2 weeks in a row, seen 1" in decision.reasons
    assert decision.held_reasons == ["needs 2 weeks in a row, seen 1"]
    assert (decision.raw_replicas, decision.raw_cost_usd) == (2, pytest.approx(672.0))
    assert decision.raw_savings_usd == pytest.approx(537.60)
    assert (
        "2 replicas of 1×H100-80GB at 100% of full capacity save $538/week (44%), costing $672/week "
        "($672 reserved, no overflow)"
    ) in decision.reasons
    assert "steady baseline: P10/P50 = 0.83 over 168 h" in decision.reasons
    check_invariants(decision)


def test_sustained_raw_mode_migrates() -> None:
    decision = decide(week_input(SPIKE_DEMAND, SPIKE_COST, history_raw_modes=["dedicated"]), DEFAULTS)
    assert (decision.raw_mode, decision.action, decision.recommended_mode) == (
        "dedicated",
        "migrate",
        "dedicated",
    )
    assert decision.replicas == 2
    assert decision.gpu_type == "H100-80GB"
    assert decision.recommended_cost_usd == pytest.approx(672.0)
    assert decision.savings_usd == pytest.approx(537.60)
    assert decision.savings_pct == pytest.approx(537.60 / 1_209.60)
    assert decision.utilization == pytest.approx(1.0)
    assert decision.overflow_share == pytest.approx(0.0)
    assert decision.confidence == "high"  # $537.60 >= 2 × $120.96
    check_invariants(decision)


def test_persistence_counts_consecutive_weeks_only() -> None:
    three = PolicySettings(persistence_weeks=3)
    broken = decide(
        week_input(SPIKE_DEMAND, SPIKE_COST, history_raw_modes=["dedicated", "serverless"]), three
    )
    assert broken.action == "hold"
    assert "held: needs 3 weeks in a row, seen 2" in broken.reasons
    sustained = decide(
        week_input(SPIKE_DEMAND, SPIKE_COST, history_raw_modes=["dedicated", "dedicated"]), three
    )
    assert sustained.action == "migrate"


def test_dedicated_and_hybrid_of_one_family_are_one_move_for_persistence() -> None:
    # the same fixed replicas, labelled hybrid last week (a few minutes overflowed) and dedicated this week
    decision = decide(week_input(SPIKE_DEMAND, SPIKE_COST, history_raw_modes=["hybrid/fixed"]), DEFAULTS)
    assert (decision.raw_mode, decision.action) == ("dedicated", "migrate")
    other_family = decide(
        week_input(SPIKE_DEMAND, SPIKE_COST, history_raw_modes=["hybrid/autoscale"]), DEFAULTS
    )
    assert other_family.action == "hold"  # another family is another move: persistence starts again
    assert "held: needs 2 weeks in a row, seen 1" in other_family.reasons


def test_saving_under_50_usd_holds() -> None:
    # Serverless $366 vs one replica $336 with no overflow: saving $30 < max($50, $36.60).
    demand, cost = flat(500.0, 366.0)
    decision = decide(week_input(demand, cost, history_raw_modes=["dedicated", "dedicated"]), DEFAULTS)
    assert (decision.raw_mode, decision.action, decision.recommended_mode) == (
        "dedicated",
        "hold",
        "serverless",
    )
    assert "held: saving $30.00 below the $50.00 threshold" in decision.reasons
    assert decision.held_reasons == ["saving $30.00 below the $50.00 threshold"]
    assert decision.raw_savings_usd == pytest.approx(30.0)
    assert decision.confidence == "medium"  # $25 <= $30 < $100
    check_invariants(decision)


def test_saving_under_ten_percent_holds() -> None:
    # Serverless $1,000 vs one replica $920: saving $80 >= $50 but < 10 % of $1,000 = $100.
    demand, cost = flat(500.0, 1_000.0)
    decision = decide(
        week_input(demand, cost, offer=offer_at(920.0), history_raw_modes=["dedicated"]), DEFAULTS
    )
    assert (decision.raw_mode, decision.action) == ("dedicated", "hold")
    assert "held: saving $80.00 below the $100 threshold" in decision.reasons
    # The same week with a 5 % threshold migrates: $80 >= max($50, $50); within 2× of it → medium confidence.
    looser = decide(
        week_input(demand, cost, offer=offer_at(920.0), history_raw_modes=["dedicated"]),
        PolicySettings(min_savings_pct=0.05),
    )
    assert (looser.action, looser.savings_usd, looser.confidence) == (
        "migrate",
        pytest.approx(80.0),
        "medium",
    )


def test_interactive_endpoint_gets_only_a_batch_upper_bound() -> None:
    # Serverless $302.40 is the cheapest plan (one replica costs $336); batch at 50 % off would cost $151.20.
    demand, cost = flat(2_000.0, 302.40)
    decision = decide(
        week_input(demand, cost, batch_discount=0.5, history_raw_modes=["batch", "batch"]),
        DEFAULTS,
    )
    assert (decision.raw_mode, decision.action, decision.recommended_mode) == (
        "serverless",
        "stay",
        "serverless",
    )
    assert decision.batch_upper_bound_savings_usd == pytest.approx(151.20)
    assert "batch would save up to $151/week but the endpoint is interactive" in decision.reasons
    check_invariants(decision)


def test_offline_endpoint_is_recommended_batch() -> None:
    demand, cost = flat(2_000.0, 302.40)
    decision = decide(
        week_input(demand, cost, batch_discount=0.5, latency_class="offline", history_raw_modes=["batch"]),
        DEFAULTS,
    )
    assert (decision.raw_mode, decision.action, decision.recommended_mode) == ("batch", "migrate", "batch")
    assert decision.recommended_cost_usd == pytest.approx(151.20)
    assert decision.savings_usd == pytest.approx(151.20)
    assert decision.replicas == 0
    assert decision.batch_upper_bound_savings_usd is None
    check_invariants(decision)


NIGHTLY_JOBS = JobsSummary(
    runs=7,
    max_run_tokens=1.3e9,
    median_run_tokens=1.2e9,
    longest_run_hours=70 / 60,
    earliest_start_minute=60,
    latest_end_minute=130,
)


def test_batch_reasons_name_the_jobs_and_why_batch_is_allowed() -> None:
    demand, cost = flat(2_000.0, 302.40)
    decision = decide(
        week_input(demand, cost, batch_discount=0.5, latency_class="offline", history_raw_modes=["batch"],
                   jobs=NIGHTLY_JOBS, offline_share=0.97),
        DEFAULTS,
    )  # fmt: skip
    assert (decision.recommended_mode, decision.batch_eligible) == ("batch", True)
    assert (
        "batch allowed: 97% of requests offline; 7 runs, 01:00–02:10 UTC, 1.2 B tokens each (median), every run "
        "within 30 B tokens per job and a 24 h window"
    ) in decision.reasons
    check_invariants(decision)


def test_a_run_over_the_batch_limit_or_a_short_deadline_rules_batch_out() -> None:
    demand, cost = flat(2_000.0, 302.40)
    for limits, why in (
        (
            BatchLimits(max_tokens_per_job=1e9),
            "its largest run has 1.3 B tokens, over the batch limit of 1 B per job",
        ),
        (BatchLimits(deadline_hours=8), "its results are needed within 8 h and batch may take up to 24 h"),
    ):
        decision = decide(
            week_input(demand, cost, batch_discount=0.5, latency_class="offline", history_raw_modes=["batch"],
                       jobs=NIGHTLY_JOBS, batch_limits=limits),
            DEFAULTS,
        )  # fmt: skip
        assert decision.raw_mode != "batch" and decision.recommended_mode != "batch"
        assert decision.batch_eligible is False
        assert (
            f"batch not eligible (7 runs, 01:00–02:10 UTC, 1.2 B tokens each (median)): {why}"
            in decision.reasons
        )
        check_invariants(decision)


def test_batch_not_offered_is_never_a_candidate() -> None:
    demand, cost = flat(2_000.0, 302.40)
    decision = decide(
        week_input(demand, cost, batch_discount=None, latency_class="offline", history_raw_modes=["batch"]),
        DEFAULTS,
    )
    assert decision.raw_mode == "serverless"
    assert decision.batch_upper_bound_savings_usd is None


def test_idle_dedicated_capacity_moves_back_to_serverless() -> None:
    # 4 declared replicas cost 4 × $336 = $1,344 for 10 tokens/s that serverless serves for $12.10.
    demand, cost = flat(10.0, 12.10)
    decision = decide(
        week_input(
            demand, cost, current_mode="dedicated", declared_replicas=4, history_raw_modes=["serverless"]
        ),
        DEFAULTS,
    )
    assert (decision.raw_mode, decision.action, decision.recommended_mode) == (
        "serverless",
        "migrate",
        "serverless",
    )
    assert decision.current_cost_usd == pytest.approx(1_344.0)
    assert decision.recommended_cost_usd == pytest.approx(12.10)
    assert decision.savings_usd == pytest.approx(1_344.0 - 12.10)
    assert decision.replicas == 0
    assert decision.utilization is None
    assert "move back to serverless: would save $1,332/week (99%)" in decision.reasons
    check_invariants(decision)


def test_undeclared_dedicated_is_costed_at_r_full_and_says_so() -> None:
    # R_full = 2 for 2,000 tokens/s: current cost 2 × $336 = $672, which is also R*: the plan stays.
    decision = decide(
        week_input(SPIKE_DEMAND, SPIKE_COST, current_mode="dedicated", history_raw_modes=["dedicated"]),
        DEFAULTS,
    )
    assert (decision.action, decision.recommended_mode, decision.replicas) == ("stay", "dedicated", 2)
    assert decision.current_cost_usd == pytest.approx(672.0)
    assert any(
        "no replica count declared for chat" in reason and "2 replicas" in reason
        for reason in decision.reasons
    )
    check_invariants(decision)


def test_over_provisioned_dedicated_is_resized() -> None:
    # 5 declared replicas cost $1,680; R* = 2 costs $672: a resize saving $1,008. Both are fixed plans, so the
    # resize is a tuning of the running family: applied at once, without waiting for persistence.
    for history in (["dedicated"], []):
        decision = decide(
            week_input(
                SPIKE_DEMAND,
                SPIKE_COST,
                current_mode="dedicated",
                declared_replicas=5,
                history_raw_modes=history,
            ),
            DEFAULTS,
        )
        assert (decision.action, decision.recommended_mode, decision.replicas) == ("tune", "dedicated", 2)
        assert decision.savings_usd == pytest.approx(1_008.0)
        assert (decision.plan_family, decision.min_replicas, decision.max_replicas) == ("fixed", 2, 2)
        assert any("tuning within the fixed family: 5 replicas → 2 replicas" in r for r in decision.reasons)
        check_invariants(decision)


def test_unpriced_model_is_never_recommended() -> None:
    unpriced = EndpointWeekInput(
        endpoint="chat",
        model="mystery-7b",
        week_start=WEEK,
        current_mode="serverless",
        latency_class="offline",
        coverage_days=7,
        covered_hours=WEEK_HOURS,
        priced=False,
        history_raw_modes=["batch", "batch"],
    )
    decision = decide(unpriced, DEFAULTS)
    assert (decision.raw_mode, decision.action, decision.recommended_mode) == (None, "stay", "serverless")
    assert decision.current_cost_usd is None and decision.recommended_cost_usd is None
    assert decision.savings_usd is None
    assert decision.raw_savings_usd is None and decision.raw_cost_usd is None and decision.held_reasons == []
    assert decision.reasons == ["model mystery-7b has no price in the rate card; not recommended"]


def test_short_coverage_and_history_give_low_confidence() -> None:
    short = decide(
        week_input(SPIKE_DEMAND, SPIKE_COST, coverage_days=5, history_raw_modes=["dedicated"]), DEFAULTS
    )
    assert short.action == "migrate"
    assert short.confidence == "low"
    assert "low confidence: only 5 of 7 days have data" in short.reasons
    new = decide(week_input(SPIKE_DEMAND, SPIKE_COST, history_raw_modes=[]), DEFAULTS)
    assert (new.action, new.confidence) == ("hold", "low")
    assert "low confidence: 0 earlier weeks of history, 1 needed" in new.reasons


def test_a_saving_on_an_assumed_replica_count_is_never_high() -> None:
    # 10 tokens/s on dedicated replicas: declared (4) the move back to serverless is certain; undeclared, the current
    # cost assumes the replicas the peak needs, and the same move is only medium confidence, saying why.
    demand, cost = flat(10.0, 12.10)
    declared = decide(
        week_input(
            demand, cost, current_mode="dedicated", declared_replicas=4, history_raw_modes=["serverless"]
        ),
        DEFAULTS,
    )
    assumed = decide(
        week_input(demand, cost, current_mode="dedicated", history_raw_modes=["serverless"]), DEFAULTS
    )
    assert (declared.action, declared.confidence) == ("migrate", "high")
    assert (assumed.action, assumed.confidence) == ("migrate", "medium")
    assert any(
        r.startswith("medium confidence: the current cost assumes a replica count") for r in assumed.reasons
    )
    assert not any(r.startswith("medium confidence") for r in declared.reasons)


def test_cost_of_plan_matches_the_curve() -> None:
    # Flat week: serverless $1,209.60, batch at 50 % $604.80, 1 replica $940.80 (hybrid), 2 replicas $672.
    args = (SPIKE_DEMAND, SPIKE_COST, OFFER, WEEK_HOURS, 0.5)
    assert cost_of_plan("serverless", 0, *args) == pytest.approx(1_209.60)
    assert cost_of_plan("batch", 0, *args) == pytest.approx(604.80)
    assert cost_of_plan("hybrid", 1, *args) == pytest.approx(940.80)
    assert cost_of_plan("dedicated", 2, *args) == pytest.approx(672.0)
    with pytest.raises(ValueError):
        cost_of_plan("batch", 0, SPIKE_DEMAND, SPIKE_COST, OFFER, WEEK_HOURS, None)


def test_settings_refuse_out_of_range_thresholds() -> None:
    # the domain stays callable without the settings loader, and still refuses thresholds it cannot apply
    assert PolicySettings(persistence_weeks=3).persistence_weeks == 3
    with pytest.raises(ModeshiftError):
        PolicySettings(min_savings_usd_per_week=-1)
    with pytest.raises(ModeshiftError):
        PolicySettings(min_savings_pct=10)
    with pytest.raises(ModeshiftError):
        PolicySettings(persistence_weeks=0)


def test_money_format() -> None:
    assert format_usd(1_240.4) == "$1,240"
    assert format_usd(12.34) == "$12.34"
    assert format_usd(99.999) == "$100"
    assert format_usd(-30.0) == "-$30.00"


MODES = ["serverless", "dedicated", "hybrid", "batch"]


def random_week(seed: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """A random week: log-normal demand with a daily cycle, serverless cost proportional to demand plus noise."""
    rng = np.random.default_rng(seed)
    cycle = 1.0 + 0.8 * np.sin(np.arange(WEEK_MINUTES) * 2 * np.pi / 1_440)
    demand = scale * cycle * rng.lognormal(0.0, 0.5, WEEK_MINUTES)
    cost = demand * 60 * rng.uniform(0.5e-6, 2e-6) * rng.uniform(0.8, 1.2, WEEK_MINUTES)
    return demand, cost


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 1_000),
    scale=st.sampled_from([50.0, 500.0, 2_000.0, 8_000.0]),
    discounts=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=2).map(sorted),
    current_mode=st.sampled_from(["serverless", "dedicated", "batch"]),
    history=st.lists(st.sampled_from(MODES), max_size=3),
)
def test_a_higher_batch_discount_never_removes_a_batch_recommendation(
    seed: int, scale: float, discounts: list[float], current_mode: str, history: list[str]
) -> None:
    demand, cost = random_week(seed, scale)
    low, high = discounts

    def recommended(discount: float) -> str:
        inp = week_input(
            demand,
            cost,
            current_mode=current_mode,
            latency_class="offline",
            batch_discount=discount,
            history_raw_modes=history,
        )
        return decide(inp, DEFAULTS).recommended_mode

    if recommended(low) == "batch":
        assert recommended(high) == "batch"


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 1_000),
    scale=st.sampled_from([5.0, 500.0, 2_000.0, 8_000.0]),
    current_mode=st.sampled_from(["serverless", "dedicated", "batch"]),
    declared=st.one_of(st.none(), st.integers(1, 30)),
    latency_class=st.sampled_from(["interactive", "offline", "mixed", "unknown"]),
    batch_discount=st.one_of(st.none(), st.floats(0.0, 0.9)),
    history=st.lists(st.one_of(st.none(), st.sampled_from(MODES)), max_size=3),
    coverage_days=st.integers(1, 7),
    usd_per_replica_week=st.sampled_from([50.0, 336.0, 2_000.0]),
    policy=st.builds(
        PolicySettings,
        min_savings_usd_per_week=st.sampled_from([0.0, 50.0, 500.0]),
        min_savings_pct=st.sampled_from([0.0, 0.1, 0.5]),
        persistence_weeks=st.integers(1, 3),
    ),
)
def test_every_decision_keeps_the_invariants(
    seed: int,
    scale: float,
    current_mode: str,
    declared: int | None,
    latency_class: str,
    batch_discount: float | None,
    history: list[str | None],
    coverage_days: int,
    usd_per_replica_week: float,
    policy: PolicySettings,
) -> None:
    demand, cost = random_week(seed, scale)
    inp = week_input(
        demand,
        cost,
        offer=offer_at(usd_per_replica_week),
        current_mode=current_mode,
        declared_replicas=declared,
        latency_class=latency_class,
        batch_discount=batch_discount,
        history_raw_modes=history,
        coverage_days=coverage_days,
    )
    decision = decide(inp, policy)
    check_invariants(decision)
    if latency_class != "offline":
        assert decision.raw_mode != "batch"
    if coverage_days < 7 or len(history) < policy.persistence_weeks - 1:
        assert decision.confidence == "low"
    if (
        current_mode != "serverless"
        and current_mode != "batch"
        and declared is None
        and decision.action != "stay"
    ):
        assert decision.confidence != "high"  # the saving rests on an assumed replica count
    if decision.action == "migrate":
        previous = history[: policy.persistence_weeks - 1]
        assert len(previous) == policy.persistence_weeks - 1
        assert all(mode == decision.raw_mode for mode in previous)
        threshold = max(policy.min_savings_usd_per_week, policy.min_savings_pct * decision.current_cost_usd)
        assert decision.savings_usd >= threshold


def test_reasons_state_utilization_against_full_capacity_and_the_planning_target() -> None:
    # K = 1,000 at u = 0.8 (800 planned per replica), flat 650 weighted tokens/s: 1 replica at 65 % of K, which is
    # 81 % of the 80 % it is planned at; $1,000/week on serverless against $336 reserved
    offer = DedicatedOffer("H100-80GB", 1, 2.0, 1_000.0, 0.8)
    demand, cost = flat(650.0, 1_000.0)
    decision = decide(week_input(demand, cost, offer=offer), DEFAULTS)
    assert decision.raw_mode == "dedicated" and decision.raw_replicas == 1
    assert (
        "1 replica of 1×H100-80GB at 65% of full capacity (81% of the 80% planning target) saves $664/week "
        "(66%), costing $336/week ($336 reserved, no overflow)"
    ) in decision.reasons


def test_reasons_split_a_hybrid_plan_into_its_reserved_and_overflow_costs() -> None:
    # 1,000 weighted tokens/s in 90 % of the minutes, 3,000 in 10 %, $3,000/week on serverless (the peak minutes
    # carry $750 of it): 1 replica = $336 + 2/3 × $750 = $836, the cheapest
    demand = np.where(np.arange(WEEK_MINUTES) % 10 == 0, 3_000.0, 1_000.0)
    cost = 3_000.0 * demand / demand.sum()
    decision = decide(week_input(demand, cost), DEFAULTS)
    assert (decision.raw_mode, decision.raw_replicas) == ("hybrid", 1)
    assert decision.raw_cost_usd == pytest.approx(836.0)
    assert (
        "1 replica of 1×H100-80GB at 100% of full capacity saves $2,164/week (72%), costing $836/week "
        "($336 reserved + $500 serverless overflow); 17% of weighted tokens overflow to serverless"
    ) in decision.reasons


def test_a_given_burst_reason_replaces_the_plain_peak_to_mean_sentence() -> None:
    demand, cost = flat(500.0, 200.0)
    plain = decide(week_input(demand, cost), DEFAULTS)
    quoted = decide(
        week_input(demand, cost, burst_reason="smooth: A_n = 0.00 < 0.1 and p99/mean = 1.0 < 3"), DEFAULTS
    )
    assert plain.reasons[1] == "smooth: peak/mean = 1.0"
    assert quoted.reasons[1] == "smooth: A_n = 0.00 < 0.1 and p99/mean = 1.0 < 3"
    assert quoted.reasons[2:] == plain.reasons[2:]
