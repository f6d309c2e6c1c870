"""What-if: one endpoint's (or pool's) week costed under a plan the user names, beside the week's recommendation
(docs/cost-model.md#what-if). Reads the lake only: the week's rollups, profiles, recommendations and SLO status,
costed with the same series, offer, provider and cells the plan step used, so ``fixed:R`` is the week's
``plan_curve`` row for R and a pool is costed as ``pool_recommendations`` costs it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.domain.cost_model import DedicatedOffer
from pipelines.domain.plan_families import FamilyPlan, ScheduleWindow, cost_of_setting
from pipelines.domain.pool_policy import cost_candidate
from pipelines.domain.pools import pool_key
from pipelines.domain.whatif import AUTOSCALE, BATCH, FIXED, POOL, SCHEDULED, SERVERLESS, PlanSpec
from pipelines.lake.price_factors import priced_week_series
from pipelines.lake.rate_card import model_terms, priced_rate_card
from pipelines.lake.replica_capacity import endpoint_offer, load_replica_capacity
from pipelines.lake.series import EndpointSeries, week_cells
from pipelines.lake.weekly_inputs import load_week_rollups
from pipelines.lake.weekly_store import read_week_table, table_files
from pipelines.weekly.plans import provider_for, schedule_time_zone
from pipelines.weekly.pools import poolable_members

_COST_KEYS = ("reserved_cost_usd", "overflow_cost_usd", "total_cost_usd", "replica_hours", "utilization",
              "overflow_share", "cold_start_overflow_usd")  # fmt: skip


def recommended_weeks(home: Home) -> list[date]:
    """Every week (its Monday) whose ``recommendations`` are in the lake, oldest first."""
    return [
        date.fromisoformat(Path(f).parent.name.removeprefix("week="))
        for f in table_files(home, "recommendations")
    ]


def resolve_week(home: Home, week: date | None) -> date:
    """The week to cost: ``week`` when its recommendations exist, else (None) the newest week that has them;
    ModeshiftError otherwise."""
    weeks = recommended_weeks(home)
    if not weeks:
        raise ModeshiftError(
            "There are no recommendations in this home yet.", "Run 'modeshift materialize' first."
        )
    if week is None:
        return weeks[-1]
    if week not in weeks:
        shown = ", ".join(w.isoformat() for w in weeks[-5:])
        raise ModeshiftError(f"Week {week} has no recommendations.", f"Weeks with recommendations: {shown}.")
    return week


@dataclass(frozen=True)
class WhatIf:
    """One what-if, costed: the week, the endpoint (or the pool's endpoints), the spec, the costed plan (USD per
    week, replica-hours, shares as fractions), the SLO verdicts, and the week's recommendation(s) beside it."""

    week_start: date
    endpoint: str
    model: str
    spec: PlanSpec
    plan: FamilyPlan
    time_zone: str
    slo: list[dict[str, Any]]
    recommendation: dict[str, Any]
    pool: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """Everything the CLI prints, as JSON-ready values (dates as ISO text, money in USD per week)."""
        plan = self.plan
        out: dict[str, Any] = {
            "week_start": self.week_start.isoformat(),
            "endpoint": self.endpoint,
            "model": self.model,
            "spec": self.spec.text,
            "family": plan.family,
            "plan": plan.settings_text() if plan.family in (FIXED, AUTOSCALE, SCHEDULED) else plan.family,
            "replicas": plan.replicas,
            "min_replicas": plan.min_replicas,
            "max_replicas": plan.max_replicas,
            "window": plan.window.label if plan.window is not None else None,
            "time_zone": self.time_zone,
            **{key: getattr(plan, key) for key in _COST_KEYS},
            "slo": self.slo,
            "recommendation": self.recommendation,
            "difference_vs_recommended_usd": plan.total_cost_usd
            - self.recommendation["recommended_cost_usd"],
            "difference_vs_current_usd": plan.total_cost_usd - self.recommendation["current_cost_usd"],
        }
        if self.pool is not None:
            out["pool"] = self.pool
        return out


def _flat_plan(family: str, total_usd: float) -> FamilyPlan:
    """Serverless or batch as a costed plan: nothing reserved, every token off the replicas (the plan_options
    rows' convention: overflow share 1 when there is any cost)."""
    return FamilyPlan(family, 0, 0, 0, None, 0.0, total_usd, total_usd, 0.0, None, 1.0 if total_usd else 0.0)


def _recommended_text(row: dict[str, Any]) -> str:
    """The week's recommended plan in words (``dedicated: fixed 2 replicas``, ``serverless``)."""
    mode, family = row["recommended_mode"], row.get("plan_family")
    if family is None:
        return str(mode)
    if family == AUTOSCALE:
        return f"{mode}: autoscale {row['min_replicas']}–{row['max_replicas']} replicas"
    count = f"{row['replicas']} replica" + ("" if row["replicas"] == 1 else "s")
    if family == SCHEDULED:
        return f"{mode}: scheduled {count} {row['schedule_window']}"
    return f"{mode}: {family} {count}"


def _recommendation(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "endpoint": row["endpoint"],
        "action": row["action"],
        "recommended_mode": row["recommended_mode"],
        "recommended_plan": _recommended_text(row),
        "recommended_cost_usd": float(row["recommended_cost_usd"]),
        "current_mode": row["current_mode"],
        "current_cost_usd": float(row["current_cost_usd"]),
        "batch_eligible": row["batch_eligible"],
    }


def _slo_verdict(row: dict[str, Any], overflow_share: float | None) -> dict[str, Any]:
    """The week's ``slo_status`` row of one endpoint and whether the plan's overflow share (its own share of
    tokens on serverless) is within the SLO's ``max_overflow_share``."""
    cap = float(row["max_overflow_share"])
    return {
        "endpoint": row["endpoint"],
        "serverless_status": row["status"],
        "metric": row["metric"],
        "percentile": row["percentile"],
        "threshold_ms": row["threshold_ms"],
        "max_overflow_share": cap,
        "plan_overflow_share": overflow_share,
        "within": None if overflow_share is None else overflow_share <= cap + 1e-12,
    }


@dataclass(frozen=True)
class _Week:
    """What one week's costing needs, read once."""

    profiles: dict[str, dict[str, Any]]
    recommendations: dict[str, dict[str, Any]]
    slo: dict[str, dict[str, Any]]
    series: dict[str, EndpointSeries]
    covered_days: list[date]


def _read_week(home: Home, settings: Settings, week: date) -> _Week:
    profiles = read_week_table(home, "endpoint_profiles", week)
    recommendations = read_week_table(home, "recommendations", week)
    if profiles is None or recommendations is None:
        raise ModeshiftError(f"Week {week} has no recommendations.", "Run 'modeshift materialize' first.")
    slo = read_week_table(home, "slo_status", week)
    rollups = load_week_rollups(home, week)
    return _Week(
        profiles={r["endpoint"]: r for r in profiles.iter_rows(named=True)},
        recommendations={r["endpoint"]: r for r in recommendations.iter_rows(named=True)},
        slo={r["endpoint"]: r for r in slo.iter_rows(named=True)} if slo is not None else {},
        series=priced_week_series(home, settings, rollups),
        covered_days=rollups.covered_days,
    )


def _known(week: _Week, endpoint: str, week_start: date) -> dict[str, Any]:
    if endpoint not in week.profiles or endpoint not in week.recommendations:
        names = sorted(week.recommendations)
        shown = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "")
        raise ModeshiftError(f"Endpoint {endpoint!r} has no recommendation in week {week_start}.",
                             f"Endpoints that week: {shown}.")  # fmt: skip
    return week.profiles[endpoint]


def compute_whatif(home: Home, settings: Settings, week_start: date, endpoint: str, spec: PlanSpec) -> WhatIf:
    """Cost ``spec`` for ``endpoint`` on the week starting ``week_start`` (USD per week), beside the week's
    recommendation; ModeshiftError for an endpoint, price, offer or setting the week cannot cost."""
    week = _read_week(home, settings, week_start)
    profile = _known(week, endpoint, week_start)
    if spec.kind == POOL:
        return _pool_whatif(home, settings, week, week_start, endpoint, spec)
    model = profile["model"]
    terms = model_terms(priced_rate_card(settings), week_start, provider_for(settings, endpoint).name)
    if not profile["priced"] or model not in terms:
        raise ModeshiftError(f"Endpoint {endpoint!r} has no price in week {week_start} (model {model}).",
                             "Add the model to the rate card.")  # fmt: skip
    series = week.series.get(endpoint, EndpointSeries(np.zeros(1), np.zeros(1)))
    zone = spec.time_zone or schedule_time_zone(settings)
    serverless = float(series.serverless_cost_usd.sum())
    if spec.kind == SERVERLESS:
        plan = _flat_plan(SERVERLESS, serverless)
    elif spec.kind == BATCH:
        discount = terms[model].batch_discount
        if discount is None:
            raise ModeshiftError(f"Model {model} has no batch price on the rate card.", "Try another plan.")
        plan = _flat_plan(BATCH, serverless * (1 - discount))
    else:
        plan = _reserving_plan(settings, week, endpoint, profile, terms[model], series, spec, zone)
    recommendation = week.recommendations[endpoint]
    slo = [_slo_verdict(week.slo[endpoint], plan.overflow_share)] if endpoint in week.slo else []
    return WhatIf(week_start, endpoint, model, spec, plan, zone, slo, _recommendation(recommendation))


def _reserving_plan(
    settings: Settings,
    week: _Week,
    endpoint: str,
    profile: dict[str, Any],
    terms: Any,
    series: EndpointSeries,
    spec: PlanSpec,
    zone: str,
) -> FamilyPlan:
    """fixed, autoscale or scheduled costed with the plan step's offer, provider and cells."""
    capacity = load_replica_capacity(settings.replica_capacity_path)
    offer, _ = endpoint_offer(terms, capacity, profile["input_tokens_p50"], profile["output_tokens_p50"])
    if offer is None:
        raise ModeshiftError(f"Model {profile['model']} has no dedicated replica terms on the rate card.",
                             "Try serverless or batch.")  # fmt: skip
    provider = provider_for(settings, endpoint)
    if spec.kind == AUTOSCALE and spec.min_replicas < provider.lowest_min_replicas:
        raise ModeshiftError(f"Provider {provider.name} keeps at least {provider.lowest_min_replicas} replica(s) "
                             f"running; min {spec.min_replicas} is not allowed.",
                             f"Use autoscale:{provider.lowest_min_replicas}-{spec.max_replicas}.")  # fmt: skip
    try:
        cells = week_cells(week.covered_days, zone)
    except ValueError as error:
        raise ModeshiftError(
            f"Plan {spec.text!r}: {error}.", "Use an IANA zone such as Europe/Berlin."
        ) from None
    plan = cost_of_setting(spec.kind, spec.replicas, spec.min_replicas, spec.max_replicas, spec.window_cells,
                           series.demand_tps, series.serverless_cost_usd, offer, provider, cells)  # fmt: skip
    if plan.window is not None and spec.cells is not None:
        plan = dataclasses.replace(plan, window=ScheduleWindow(spec.cells, f"{spec.window} {zone}"))
    return plan


def _pool_whatif(
    home: Home, settings: Settings, week: _Week, week_start: date, endpoint: str, spec: PlanSpec
) -> WhatIf:
    """A pool of ``endpoint`` and the spec's members, costed with every family as the pool step costs a
    candidate, beside the members' own recommendations (summed)."""
    names = [endpoint] + [m for m in spec.members if m != endpoint]
    if len(names) < 2:
        raise ModeshiftError(
            f"Plan {spec.text!r} pools {endpoint!r} with nobody.", "Name at least one other endpoint."
        )
    for name in names:
        _known(week, name, week_start)
    groups, context = poolable_members(home, settings, week_start)
    home_group = {m.endpoint: g for g in groups for m in g.members}
    missing = [n for n in names if n not in home_group]
    if missing:
        raise ModeshiftError(
            f"{', '.join(repr(n) for n in missing)} cannot join a pool in week {week_start}.",
            "A pool member needs a price, a dedicated offer, another endpoint of its model and offer, and must not "
            "be in pools.isolated.",
        )
    group = home_group[names[0]]
    strangers = [n for n in names if home_group[n] is not group]
    if strangers:
        raise ModeshiftError(
            f"{', '.join(repr(n) for n in strangers)} cannot share a deployment with {endpoint!r} "
            f"(another model or replica offer).",
            "Pool endpoints of one model and GPU offer.",
        )
    chosen = [m for m in group.members if m.endpoint in names]  # the pool step's order
    candidate = cost_candidate(group.model, chosen, context["covered_hours"], group.provider,
                               context["cells"], context["zone"])  # fmt: skip
    plan = candidate.plan if candidate.reserves and candidate.plan is not None else None
    shown = plan if plan is not None else _flat_plan(SERVERLESS, candidate.serverless_cost_usd)
    shares = dict(zip(candidate.members, candidate.member_overflow_shares, strict=False)) if plan else {}
    slo = [
        _slo_verdict(week.slo[m], shares.get(m, 1.0 if plan is None else None))
        for m in candidate.members
        if m in week.slo
    ]
    members = [_recommendation(week.recommendations[m]) for m in candidate.members]
    summed = {
        "endpoint": ", ".join(candidate.members),
        "action": None,
        "recommended_mode": None,
        "recommended_plan": "each member on its own recommendation",
        "recommended_cost_usd": sum(m["recommended_cost_usd"] for m in members),
        "current_mode": None,
        "current_cost_usd": sum(m["current_cost_usd"] for m in members),
        "batch_eligible": None,
    }
    offer: DedicatedOffer | None = candidate.offer
    pool = {
        "pool_id": pool_key(group.model, list(candidate.members)),
        "members": list(candidate.members),
        "pooled_cost_usd": candidate.pooled_cost_usd,
        "separate_cost_usd": candidate.separate_cost_usd,
        "multiplexing_saving_usd": candidate.saving_usd,
        "replica_capacity_tps": offer.replica_capacity_tps if offer is not None else None,
        "demand_correlation": candidate.correlation,
        "member_recommendations": members,
        "week_pool_action": _week_pool_action(home, week_start, candidate.pool_id),
    }
    return WhatIf(week_start, endpoint, group.model, spec, shown, context["zone"], slo, summed, pool)


def _week_pool_action(home: Home, week_start: date, pool_id: str) -> str | None:
    """The action of this pool in the week's ``pool_recommendations`` (None when the step did not cost it)."""
    table = read_week_table(home, "pool_recommendations", week_start)
    if table is None:
        return None
    rows = [r for r in table.iter_rows(named=True) if r["pool_id"] == pool_id]
    return rows[0]["action"] if rows else None
