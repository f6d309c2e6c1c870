"""The weekly pool step: search each model's endpoints for groups that are cheaper on one shared deployment than
apart, cost every candidate pool with the plan families, and decide with the pool policy
(docs/cost-model.md#pools). Reads the week's rollups, profiles, recommendations and SLO status."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.domain.cost_model import DedicatedOffer
from pipelines.domain.plan_families import FamilyPlan, ready_replicas
from pipelines.domain.pool_policy import PoolCandidate, PoolDecision, cost_candidate, decide_pool
from pipelines.domain.pools import (
    GroupScreening,
    PoolMember,
    PoolSearch,
    pooled_series,
    search_pools,
)
from pipelines.domain.provider import ProviderProfile
from pipelines.lake.price_factors import priced_week_series
from pipelines.lake.providers import load_provider_profiles, provider_profiles_for
from pipelines.lake.rate_card import ModelTerms, model_terms, priced_rate_card
from pipelines.lake.replica_capacity import endpoint_offer, load_replica_capacity
from pipelines.lake.series import EndpointSeries, week_cells
from pipelines.lake.weekly_inputs import load_week_rollups
from pipelines.lake.weekly_store import read_week_table
from pipelines.weekly.plans import policy_settings, schedule_time_zone

POOL_SCHEMA = {
    "week_start": pl.Date,
    "model": pl.String,
    "pool_id": pl.String,
    "members": pl.List(pl.String),
    "member_count": pl.Int64,
    "candidate": pl.String,
    "search_method": pl.String,
    "family": pl.String,
    "replicas": pl.Int64,
    "min_replicas": pl.Int64,
    "max_replicas": pl.Int64,
    "schedule_window": pl.String,
    "gpu_type": pl.String,
    "replica_capacity_tps": pl.Float64,
    "pooled_cost_usd": pl.Float64,
    "separate_cost_usd": pl.Float64,
    "separate_replicas": pl.Int64,
    "multiplexing_saving_usd": pl.Float64,
    "saving_pct": pl.Float64,
    "replica_hours": pl.Float64,
    "utilization": pl.Float64,
    "overflow_share": pl.Float64,
    "demand_correlation": pl.Float64,
    "peak_of_sum_tps": pl.Float64,
    "sum_of_peaks_tps": pl.Float64,
    "slo_max_overflow_share": pl.Float64,
    "is_raw": pl.Boolean,
    "action": pl.String,
    "reasons": pl.List(pl.String),
    "held_reasons": pl.List(pl.String),
}


@dataclass(frozen=True)
class ModelGroup:
    """One model's poolable endpoints of the week on one provider (they share GPU type, GPUs per replica and
    price), and that provider's profile."""

    model: str
    members: list[PoolMember]
    provider: ProviderProfile


def poolable_members(
    home: Home, settings: Settings, week_start: date
) -> tuple[list[ModelGroup], dict[str, Any]]:
    """Each model's endpoints that may share a deployment this week, with the week's context (covered hours,
    weekday-hour cells, time zone, covered days): priced endpoints with a dedicated offer and a recommendation, not
    ``pools.isolated``, grouped by model, provider (``provider.endpoints``) and offer (endpoints whose offers differ in
    GPU type or price cannot pool).
    An endpoint whose SLO is breached brings its overflow cap."""
    profiles = read_week_table(home, "endpoint_profiles", week_start)
    recommendations = read_week_table(home, "recommendations", week_start)
    if profiles is None or recommendations is None:
        raise RuntimeError(f"week {week_start} has no recommendations yet")
    rollups = load_week_rollups(home, week_start)
    series = priced_week_series(home, settings, rollups)
    card = priced_rate_card(settings)
    profiles_of_providers = load_provider_profiles(settings.provider_profiles_path)
    terms_of: dict[str, dict[str, ModelTerms]] = {}
    capacity = load_replica_capacity(settings.replica_capacity_path)
    zone = schedule_time_zone(settings)
    context = {
        "covered_hours": 24.0 * len(rollups.covered_days),
        "cells": week_cells(rollups.covered_days, zone),
        "zone": zone,
        "covered_days": sorted(rollups.covered_days),
    }
    caps = _breached_caps(read_week_table(home, "slo_status", week_start))
    own = {row["endpoint"]: row for row in recommendations.iter_rows(named=True)}
    by_key: dict[tuple[Any, ...], ModelGroup] = {}
    for profile in profiles.sort("endpoint").iter_rows(named=True):
        endpoint, model = profile["endpoint"], profile["model"]
        provider = provider_profiles_for(settings, profiles_of_providers, endpoint)
        if provider.name not in terms_of:
            terms_of[provider.name] = model_terms(card, week_start, provider.name)
        terms = terms_of[provider.name]
        decision = own.get(endpoint)
        if (
            decision is None
            or decision["raw_cost_usd"] is None
            or not profile["priced"]
            or model not in terms
            or settings.pools.is_isolated(endpoint)
            or endpoint not in series
        ):
            continue
        offer, _ = endpoint_offer(
            terms[model], capacity, profile["input_tokens_p50"], profile["output_tokens_p50"]
        )
        if offer is None:
            continue
        s: EndpointSeries = series[endpoint]
        member = PoolMember(endpoint, s.demand_tps, s.serverless_cost_usd, offer, float(decision["raw_cost_usd"]),
                            int(decision["raw_replicas"] or 0), caps.get(endpoint))  # fmt: skip
        key = (model, provider.name, offer.gpu_type, offer.gpus_per_replica, offer.usd_per_gpu_hour,
               offer.target_utilization, offer.min_replicas)  # fmt: skip
        by_key.setdefault(key, ModelGroup(model, [], provider)).members.append(member)
    return [group for group in by_key.values() if len(group.members) >= 2], context


def _breached_caps(slo_status: pl.DataFrame | None) -> dict[str, float]:
    """The overflow cap of every endpoint whose SLO is breached this week."""
    if slo_status is None:
        return {}
    breached = slo_status.filter(pl.col("status") == "breached")
    return dict(zip(breached["endpoint"], breached["max_overflow_share"], strict=True))


def search_model(
    members: list[PoolMember], covered_hours: float, profile: ProviderProfile, settings: Settings
) -> PoolSearch:
    """The search's partition of one model's members, each group costed by its screening cost."""
    screening = GroupScreening(members, covered_hours, profile)
    return search_pools(len(members), screening.cost, settings.pools.exact_search_limit,
                        settings.pools.max_open_pools)  # fmt: skip


def best_grouping(
    group: ModelGroup, search: PoolSearch, context: dict[str, Any]
) -> list[tuple[PoolCandidate, str]]:
    """The candidate pools of one model, each costed with every family: the search's groups of two or more and
    the pool of all the model's endpoints. The week's best grouping is the cheaper, at full cost, of the search's
    partition (its pools plus the other endpoints on their own plans) and the all-endpoints pool: the search ranks
    groups by the fixed-plan screening cost, so its choice is checked against the one alternative that is always
    there. Returns (candidate, provenance) pairs."""
    members = group.members
    found = [g for g in search.groups if len(g) >= 2]
    everyone = tuple(range(len(members)))
    groups = found + ([everyone] if everyone not in found else [])

    def costed(indices: tuple[int, ...], best: bool) -> PoolCandidate:
        chosen = [members[i] for i in indices]
        return cost_candidate(group.model, chosen, context["covered_hours"], group.provider,
                              context["cells"], context["zone"], in_best_grouping=best)  # fmt: skip

    candidates = {g: costed(g, best=False) for g in groups}
    pooled = {i for g in found for i in g}
    search_total = sum(candidates[g].pooled_cost_usd for g in found) + sum(
        members[i].own_cost_usd for i in everyone if i not in pooled
    )
    best_groups = found if search_total <= candidates[everyone].pooled_cost_usd + 0.005 else [everyone]
    out = []
    for g in groups:
        label = "search" if g in found else ""
        label = ", ".join(x for x in (label, "all endpoints" if g == everyone else "") if x)
        candidate = candidates[g]
        if g in best_groups:
            candidate = dataclasses.replace(candidate, in_best_grouping=True)
        out.append((candidate, label))
    return out


def _pool_history(home: Home, week_start: date, weeks: int) -> dict[str, list[str | None]]:
    """Per pool_id, the history key of its raw row in each of the ``weeks`` earlier weeks (most recent first,
    None where it was not the raw pool)."""
    history: dict[str, list[str | None]] = {}
    for back in range(1, weeks + 1):
        table = read_week_table(home, "pool_recommendations", week_start - timedelta(days=7 * back))
        raw: dict[str, str] = {}
        if table is not None:
            for row in table.filter(pl.col("is_raw")).iter_rows(named=True):
                raw[row["pool_id"]] = f"{row['pool_id']}/{row['family'] or 'serverless'}"
        for pool_id in set(history) | set(raw):
            history.setdefault(pool_id, [None] * (back - 1)).append(raw.get(pool_id))
    return history


def compute_week_pools(home: Home, settings: Settings, week_start: date) -> pl.DataFrame:
    """Every candidate pool of the week (each model's all-endpoints pool and the groups the search found) with its
    costs, settings and decision: the ``pool_recommendations`` table."""
    if not settings.pools.enabled:
        return pl.DataFrame(schema=POOL_SCHEMA)
    groups, context = poolable_members(home, settings, week_start)
    policy = policy_settings(settings)
    history = _pool_history(home, week_start, policy.persistence_weeks - 1)
    rows: list[dict[str, Any]] = []
    for group in groups:
        search = search_model(group.members, context["covered_hours"], group.provider, settings)
        for candidate, label in best_grouping(group, search, context):
            decision = decide_pool(candidate, history.get(candidate.pool_id, []), policy)
            rows.append(_pool_row(week_start, candidate, decision, label, search.method))
    return pl.DataFrame(rows, schema=POOL_SCHEMA)


def _pool_row(
    week_start: date, candidate: PoolCandidate, decision: PoolDecision, label: str, method: str
) -> dict[str, Any]:
    plan: FamilyPlan | None = candidate.plan if candidate.reserves else None
    offer: DedicatedOffer | None = candidate.offer
    caps = [c for c in candidate.member_caps if c is not None]
    return {
        "week_start": week_start,
        "model": candidate.model,
        "pool_id": candidate.pool_id,
        "members": list(candidate.members),
        "member_count": len(candidate.members),
        "candidate": label,
        "search_method": method,
        "family": plan.family if plan is not None else None,
        "replicas": plan.replicas if plan is not None else 0,
        "min_replicas": plan.min_replicas if plan is not None else None,
        "max_replicas": plan.max_replicas if plan is not None else None,
        "schedule_window": plan.window.label if plan is not None and plan.window is not None else None,
        "gpu_type": offer.gpu_type if offer is not None else None,
        "replica_capacity_tps": offer.replica_capacity_tps if offer is not None else None,
        "pooled_cost_usd": candidate.pooled_cost_usd,
        "separate_cost_usd": candidate.separate_cost_usd,
        "separate_replicas": candidate.separate_replicas,
        "multiplexing_saving_usd": candidate.saving_usd,
        "saving_pct": decision.saving_pct,
        "replica_hours": plan.replica_hours if plan is not None else 0.0,
        "utilization": plan.utilization if plan is not None else None,
        "overflow_share": plan.overflow_share if plan is not None else 1.0,
        "demand_correlation": candidate.correlation,
        "peak_of_sum_tps": candidate.peak_of_sum_tps,
        "sum_of_peaks_tps": candidate.sum_of_peaks_tps,
        "slo_max_overflow_share": min(caps) if caps else None,
        "is_raw": decision.is_raw,
        "action": decision.action,
        "reasons": decision.reasons,
        "held_reasons": decision.held_reasons,
    }


@dataclass(frozen=True)
class PoolTrace:
    """One pool's week minute by minute: each member's demand in the pool's weighted tokens/s, the shared plan's
    ready capacity (ready replicas × K_pool × u, weighted tokens/s), the plan in words and the covered days; for
    the fleet picture."""

    members: tuple[str, ...]
    member_demand_tps: tuple[np.ndarray, ...]
    capacity_tps: np.ndarray
    plan: str
    covered_days: tuple[date, ...]


def pool_trace(home: Home, settings: Settings, week_start: date, members: list[str]) -> PoolTrace | None:
    """The week of the pool of ``members`` (costed again as the pool step did), or None when they are not a
    poolable group this week or the pool reserves nothing."""
    groups, context = poolable_members(home, settings, week_start)
    wanted = set(members)
    for group in groups:
        chosen = [m for m in group.members if m.endpoint in wanted]
        if len(chosen) != len(wanted):
            continue
        candidate = cost_candidate(group.model, chosen, context["covered_hours"], group.provider,
                                   context["cells"], context["zone"])  # fmt: skip
        if candidate.plan is None or not candidate.reserves:
            return None
        series = pooled_series(chosen)
        ready = ready_replicas(
            candidate.plan, series.demand_tps, series.offer, group.provider, context["cells"]
        )
        capacity = ready.astype(np.float64) * series.offer.planned_replica_tps
        return PoolTrace(candidate.members, series.member_demand_tps, capacity, candidate.plan.settings_text(),
                         tuple(context["covered_days"]))  # fmt: skip
    return None
