"""Sizing against the providers' own worked examples, with modeshift's functions and the shipped rate card
(docs/cost-model.md#sizing-checked-against-the-providers-examples).

Azure OpenAI: the page "Performance and latency" of the Azure OpenAI documentation (learn.microsoft.com,
MicrosoftDocs azure-ai-docs ``articles/ai-services/openai/how-to/latency.md``, ms.date 2024-09-20), section "How to
use system level throughput estimates", table "Here are a few examples for the GPT-4o mini model": three workloads
given as input TPM and output TPM with the PTUs required (15, 140, 30), rounded to the deployment increment as the
capacity calculator does. modeshift's fixed plan for the same workload held at its peak all week (every minute at
the example's input and output TPM) must need the documented PTUs (within 1 PTU).

Amazon Bedrock: a known answer of the hourly model-unit billing (N model units all week at the card's price per
MU-hour), and that no autoscale plan is offered for a provider without an autoscaler.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from pipelines.core.settings import shipped_provider_profiles_path, shipped_rate_card_path
from pipelines.domain.cost_model import DedicatedOffer, plan_curve, serverless_cost_usd, weighted_demand_tps
from pipelines.domain.plan_families import ScheduleWindow, best_fixed, family_options
from pipelines.domain.provider import ProviderProfile
from pipelines.lake.providers import load_provider_profiles
from pipelines.lake.rate_card import load_rate_card, model_terms

WEEK = date(2026, 11, 9)
MINUTES = 7 * 1440


def _shipped(provider: str, model: str) -> tuple[ProviderProfile, object, float, float, float]:
    """The shipped profile, the model's offer and its serverless prices and output weight on ``provider``."""
    profile = load_provider_profiles(shipped_provider_profiles_path())[provider]
    card = load_rate_card(shipped_rate_card_path())
    terms = model_terms(card, WEEK, provider)[model]
    row = card.filter((card["provider"] == provider) & (card["model"] == model)).row(0, named=True)
    return profile, terms.offer, row["input_usd_per_mtok"], row["output_usd_per_mtok"], row["output_weight"]


@pytest.mark.parametrize(
    ("input_tpm", "output_tpm", "documented_ptus"),
    [
        (24_000, 4_500, 15),  # 800 in / 150 out tokens, 30 requests per minute: the deployment minimum
        (5_000_000, 50_000, 140),  # 5,000 in / 50 out, 1,000 requests per minute
        (500_000, 150_000, 30),  # 1,000 in / 300 out, 500 requests per minute
    ],
)
def test_the_fixed_plan_needs_the_ptus_of_the_azure_examples(
    input_tpm: int, output_tpm: int, documented_ptus: int
) -> None:
    profile, offer, p_in, p_out, weight = _shipped("azure-openai", "gpt-4o-mini")
    tokens_in = np.full(MINUTES, float(input_tpm))
    tokens_out = np.full(MINUTES, float(output_tpm))
    demand = weighted_demand_tps(tokens_in, tokens_out, weight)
    cost = serverless_cost_usd(tokens_in, tokens_out, p_in, p_out)
    curve = plan_curve(demand, cost, offer, covered_hours=168.0)
    plan = best_fixed(
        curve, profile, max_overflow_share=0.0
    )  # sized to serve the peak, as the calculator does
    assert plan is not None and plan.overflow_share == 0.0
    ptus = plan.replicas * offer.gpus_per_replica
    assert abs(ptus - documented_ptus) <= 1
    assert ptus % 5 == 0 and ptus >= 15  # whole increments of 5 PTUs, at least the Global minimum of 15
    # the reserved cost is the PTUs at the card's price per PTU-hour, every hour of the week
    assert plan.reserved_cost_usd == pytest.approx(ptus * offer.usd_per_gpu_hour * 168.0)


def test_the_azure_example_by_hand_is_the_weighted_tpm_over_the_tpm_per_ptu() -> None:
    # 5,000,000 input + 3 x 50,000 output TPM = 5,150,000 weighted TPM; / 37,000 per PTU = 139.2 -> 140 (increments of 5)
    _, offer, _, _, weight = _shipped("azure-openai", "gpt-4o-mini")
    assert weight == 3 and offer.gpus_per_replica == 5 and offer.min_replicas == 3
    assert offer.replica_capacity_tps * 60 / offer.gpus_per_replica == pytest.approx(37_000)
    raw = (5_000_000 + weight * 50_000) / 37_000
    assert raw == pytest.approx(139.19, abs=0.01)
    assert -(-raw // 5) * 5 == 140


def test_a_small_azure_workload_still_pays_the_deployment_minimum_or_stays_serverless() -> None:
    profile, offer, p_in, p_out, weight = _shipped("azure-openai", "gpt-4o")
    tokens_in = np.full(MINUTES, 1_000.0)  # 1,000 input TPM: well under one PTU (2,500 input TPM)
    tokens_out = np.full(MINUTES, 100.0)
    demand = weighted_demand_tps(tokens_in, tokens_out, weight)
    cost = serverless_cost_usd(tokens_in, tokens_out, p_in, p_out)
    curve = plan_curve(demand, cost, offer, covered_hours=168.0)
    assert curve.r_full == 1  # one 5-PTU increment would carry it, but the minimum deployment is 15 PTUs
    plan = best_fixed(curve, profile)
    assert plan is not None and plan.replicas == 3
    assert plan.reserved_cost_usd == pytest.approx(15 * 1.00 * 168.0)  # 15 PTUs at $1 per PTU-hour: $2,520
    options = family_options(demand, cost, curve, profile, [], np.zeros(MINUTES, dtype=np.int64))
    assert options.autoscale is None  # provisioned deployments have a fixed size


@pytest.mark.parametrize("model_units", [1, 2, 5])
def test_bedrock_model_units_for_a_week_cost_the_hourly_price_times_168(model_units: int) -> None:
    profile, offer, p_in, p_out, weight = _shipped("bedrock", "anthropic.claude-instant-v1")
    assert profile.unit == "model unit" and profile.billing_granularity_minutes == 60
    assert not profile.autoscaling
    # demand that needs exactly ``model_units`` MUs at the card's assumed capacity K·u
    per_mu_tpm = offer.planned_replica_tps * 60
    tokens_in = np.full(MINUTES, per_mu_tpm * (model_units - 0.5))
    tokens_out = np.zeros(MINUTES)
    demand = weighted_demand_tps(tokens_in, tokens_out, weight)
    cost = serverless_cost_usd(tokens_in, tokens_out, p_in, p_out)
    curve = plan_curve(demand, cost, offer, covered_hours=168.0)
    plan = best_fixed(curve, profile, max_overflow_share=0.0)
    assert plan is not None and plan.replicas == model_units
    assert plan.reserved_cost_usd == pytest.approx(model_units * 39.60 * 168.0)  # 1 MU: $6,652.80 a week
    assert plan.settings_text(profile) == f"fixed {profile.count(model_units)}"


def _square_demand() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A week of 1 weighted token/s per minute, 2.5 in weekday hours 08-20 (cells), at $0.01 per minute."""
    minute = np.arange(MINUTES)
    cell = (minute // 1440) * 24 + (minute % 1440) // 60
    busy = (cell % 24 >= 8) & (cell % 24 < 20) & (cell < 5 * 24)
    demand = np.where(busy, 2.5, 1.0)
    return demand, np.full(MINUTES, 0.01) * demand, cell


@pytest.mark.parametrize("minimum", [1, 4])
def test_every_family_respects_the_deployment_minimum(minimum: int) -> None:
    demand, cost, cell = _square_demand()
    # K·u = 1 weighted token/s per replica at $0.1 per replica-hour: serving the 1.0 base with one replica costs
    # $16.80 a week against $100.80 serverless; the busy hours need 3 replicas.
    offer = DedicatedOffer("test", 1, 0.1, 1.0, 1.0, min_replicas=minimum)
    profile = ProviderProfile(name="test")
    curve = plan_curve(demand, cost, offer, covered_hours=168.0)
    assert curve.r_full == 3
    window = ScheduleWindow(
        tuple(bool((c % 24 >= 8) and (c % 24 < 20) and c < 120) for c in range(168)), "busy"
    )
    options = family_options(demand, cost, curve, profile, [window], cell)
    fixed, autoscale, scheduled = options.fixed, options.autoscale, options.scheduled
    assert fixed is not None and autoscale is not None and scheduled is not None
    if (
        minimum == 1
    ):  # without a minimum: 3 replicas all week (the busy overflow at $0.01/min beats a replica)
        assert fixed.replicas == 3
        assert autoscale.min_replicas == 1
    else:  # a minimum of 4 (above R_full = 3): every family reserves exactly 4
        assert fixed.replicas == 4
        assert fixed.reserved_cost_usd == pytest.approx(4 * 0.1 * 168.0)
        assert (autoscale.min_replicas, autoscale.max_replicas) == (4, 4)
        assert scheduled.replicas == 4
        assert scheduled.reserved_cost_usd == pytest.approx(
            4 * 0.1 * (60 + 5 * 5 / 60)
        )  # 60 h + 5 warm-ups of 5 min
    for plan in options.plans():
        assert plan.replicas >= minimum and plan.min_replicas in (0, *range(minimum, 100))


def test_the_plan_curve_flags_only_the_replica_counts_the_provider_sells() -> None:
    from pipelines.domain.plan_families import cheapest_sellable_replicas
    from pipelines.weekly.plans import _curve_rows

    # One replica's worth of demand half the day: unconstrained, R* = 1 (a replica at $1/h against $10/h of
    # serverless when busy); with a deployment minimum of 3 the choice is between 0 and 3.
    demand = np.where(np.arange(1440) < 720, 800.0, 0.0)
    cost = demand * 60 * 1e-6 * (10 / (800 * 60 * 1e-6 * 60))
    free = plan_curve(demand, cost, DedicatedOffer("G", 1, 1.0, 1000.0, 0.8), 24.0)
    assert free.r_star == 1 and cheapest_sellable_replicas(free) == 1
    bound = plan_curve(demand, cost, DedicatedOffer("G", 1, 1.0, 1000.0, 0.8, min_replicas=3), 24.0)
    assert bound.r_star == 1 and bound.r_full == 1
    rows = _curve_rows(date(2026, 11, 9), "e", "m", bound)
    # the table reaches the minimum, and fixed(3) ($72/day) beats serverless ($120/day): that is what is sold
    assert [(r["replicas"], r["sellable"], r["is_cheapest"]) for r in rows] == [
        (0, True, False), (1, False, False), (2, False, False), (3, True, True)]  # fmt: skip
    assert cheapest_sellable_replicas(bound) == 3
    assert rows[3]["total_cost_usd"] == pytest.approx(3 * 1.0 * 24)
    assert rows[0]["total_cost_usd"] == pytest.approx(120)
