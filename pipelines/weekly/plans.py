"""The weekly plan step: cost every endpoint's plans minute by minute (docs/cost-model.md#the-plan-curve),
decide (docs/cost-model.md#the-policy), and backtest last week's recommendations on this week's traffic
(docs/cost-model.md#the-backtest-and-regret). Reads the daily rollups and the week's profiles only."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from pipelines.core.calendar import parse_window
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.core.vocabulary import is_reserved
from pipelines.domain.cost_model import DedicatedOffer, PlanCurve, plan_curve
from pipelines.domain.jobs import BatchLimits, summarize_runs
from pipelines.domain.plan_families import (
    FamilyOptions,
    FamilyPlan,
    ScheduleWindow,
    billed_replicas_per_hour,
    cheapest_sellable_replicas,
    cost_of_setting,
    curve_replica_counts,
    family_options,
    fixed_plan,
    propose_windows,
)
from pipelines.domain.policy import (
    Decision,
    EndpointWeekInput,
    PolicySettings,
    cost_of_plan,
    decide,
    plan_key,
)
from pipelines.domain.price_comparison import with_price_basis
from pipelines.domain.profile_metrics import burst_reason
from pipelines.domain.provider import ProviderProfile
from pipelines.domain.slo import Slo, SloStatus, slo_statuses
from pipelines.lake.price_factors import basis_of_endpoints, priced_week_series, week_price_factors
from pipelines.lake.providers import load_provider_profiles, provider_profile, provider_profiles_for
from pipelines.lake.rate_card import ModelTerms, gpu_contract_notes, model_terms, priced_rate_card
from pipelines.lake.replica_capacity import endpoint_offer, load_replica_capacity
from pipelines.lake.series import EndpointSeries, endpoint_series, week_cells
from pipelines.lake.weekly_inputs import load_week_rollups
from pipelines.lake.weekly_store import read_week_table
from pipelines.weekly.jobs import jobs_frame, week_runs
from pipelines.weekly.profiles import profile_thresholds


@dataclass(frozen=True)
class WeekPlans:
    """The plan step's outputs for one week."""

    curves: pl.DataFrame
    options: pl.DataFrame
    recommendations: pl.DataFrame
    jobs: pl.DataFrame
    slo_status: pl.DataFrame


def _history(home: Home, week_start: date, weeks: int, at_list: bool = False) -> dict[str, list[str | None]]:
    """Raw candidates of the ``weeks`` previous weeks per endpoint as persistence keys (mode and family, e.g.
    ``hybrid/autoscale``), most recent first (None where there was none); ``at_list``: the candidates list prices
    gave (``list_raw_mode``, the same as ``raw_mode`` for an endpoint costed at list)."""
    history: dict[str, list[str | None]] = {}
    for back in range(1, weeks + 1):
        table = read_week_table(home, "recommendations", week_start - timedelta(days=7 * back))
        raw_by_endpoint: dict[str, str | None] = {}
        if table is not None:
            if at_list and "list_raw_mode" in table.columns:
                table = table.with_columns(
                    raw_mode=pl.when(pl.col("price_basis") != "list")
                    .then("list_raw_mode")
                    .otherwise("raw_mode"),
                    raw_family=pl.when(pl.col("price_basis") != "list")
                    .then("list_raw_family")
                    .otherwise("raw_family"),
                )
            family = table["raw_family"] if "raw_family" in table.columns else [None] * table.height
            for endpoint, mode, family_ in zip(table["endpoint"], table["raw_mode"], family, strict=True):
                raw_by_endpoint[endpoint] = plan_key(mode, family_)
        for endpoint in set(history) | set(raw_by_endpoint):
            history.setdefault(endpoint, [None] * (back - 1)).append(raw_by_endpoint.get(endpoint))
    return history


def policy_settings(settings: Settings) -> PolicySettings:
    """The policy's thresholds (USD per week, fraction of current cost, weeks in a row) from the validated
    ``policy`` settings."""
    policy = settings.policy
    return PolicySettings(
        min_savings_usd_per_week=policy.min_savings_usd_per_week,
        min_savings_pct=policy.min_savings_pct,
        persistence_weeks=policy.persistence_weeks,
    )


def endpoint_slos(settings: Settings, endpoints: list[str]) -> dict[str, Slo]:
    """The latency SLO of each of ``endpoints`` that has one (the first ``slos`` pattern matching its name)."""
    slos = {}
    for endpoint in endpoints:
        match = settings.slo_for(endpoint)
        if match is not None:
            pattern, slo = match
            slos[endpoint] = Slo(
                slo.metric, slo.percentile, slo.threshold_ms, slo.max_overflow_share, pattern
            )
    return slos


def week_slo_statuses(slos: dict[str, Slo], latency_hours: pl.LazyFrame | None) -> dict[str, SloStatus]:
    """The week's SLO status of every endpoint with an SLO, from the rollups' serverless latency histograms."""
    if not slos:
        return {}
    if latency_hours is None:
        return slo_statuses(slos, pl.DataFrame(schema=LATENCY_HOURS_SCHEMA))
    hist = latency_hours.filter(pl.col("endpoint").is_in(list(slos))).collect()
    return slo_statuses(slos, hist)


@dataclass(frozen=True)
class _WeekContext:
    """What every endpoint of one week is planned with (read once per week)."""

    settings: Settings
    week_start: date
    providers: Any
    terms_of: Callable[[str], dict[str, ModelTerms]]
    capacity: Any
    cells: np.ndarray
    zone: str
    policy: PolicySettings
    history: dict[str, list[str | None]]
    list_history: dict[str, list[str | None]]
    covered_hours: float
    thresholds: Any
    slos: dict[str, Slo]
    statuses: dict[str, SloStatus]
    runs: dict[str, Any]


@dataclass(frozen=True)
class _EndpointPlan:
    """One endpoint-week's decision and what it was chosen from (``priced``: the model has a rate-card price for
    the endpoint's provider this week and the profile is priced)."""

    decision: Decision
    priced: bool
    terms: ModelTerms
    offer: DedicatedOffer | None
    curve: PlanCurve | None
    families: FamilyOptions | None
    slo_families: FamilyOptions | None
    provider: ProviderProfile


def compute_week_plans(home: Home, settings: Settings, week_start: date) -> WeekPlans:
    """Plan curves and recommendations of every profiled endpoint of the week starting ``week_start``, every
    serverless figure at the week's price basis (docs/cost-model.md#price-bases); an endpoint not at list is
    decided at list too, and its row says what list prices would have recommended."""
    profiles = read_week_table(home, "endpoint_profiles", week_start)
    if profiles is None:
        raise RuntimeError(f"week {week_start} has no endpoint profiles yet")
    rollups = load_week_rollups(home, week_start)
    factors = week_price_factors(home, settings, week_start, rollups.minutes)
    series = endpoint_series(rollups.minutes, rollups.covered_days, factors)
    card = priced_rate_card(settings)
    zone = schedule_time_zone(settings)
    policy = policy_settings(settings)
    slos = endpoint_slos(settings, profiles["endpoint"].to_list())
    context = _WeekContext(
        settings=settings,
        week_start=week_start,
        providers=load_provider_profiles(settings.provider_profiles_path),
        terms_of=provider_terms(settings, card, week_start),
        capacity=load_replica_capacity(settings.replica_capacity_path),
        cells=week_cells(rollups.covered_days, zone),
        zone=zone,
        policy=policy,
        history=_history(home, week_start, policy.persistence_weeks - 1),
        list_history=_history(home, week_start, policy.persistence_weeks - 1, at_list=True),
        covered_hours=24.0 * len(rollups.covered_days),
        thresholds=profile_thresholds(settings),
        slos=slos,
        statuses=week_slo_statuses(slos, rollups.latency_hours),
        runs=week_runs(home, week_start, rollups.minutes, settings.jobs.idle_gap_minutes),
    )
    bases = basis_of_endpoints(factors)
    gpu_notes = functools.cache(lambda provider: gpu_contract_notes(card, week_start, provider))

    curve_rows: list[dict[str, Any]] = []
    option_rows: list[dict[str, Any]] = []
    decisions: list[Decision] = []
    billed_hours: dict[str, list[float]] = {}
    for profile in profiles.iter_rows(named=True):
        endpoint = profile["endpoint"]
        endpoint_series_ = series.get(endpoint, EndpointSeries(np.zeros(1), np.zeros(1)))
        planned = _plan_endpoint(context, profile, endpoint_series_)
        at_list = None
        if endpoint_series_.list_cost_usd is not None and planned.priced:
            at_list = _plan_endpoint(context, profile, endpoint_series_.at_list, at_list=True).decision
        basis, note = bases.get((endpoint, profile["model"]), ("list", "list prices"))
        decision = with_price_basis(planned.decision, basis, endpoint_series_.price_factor, note, at_list)
        gpu_note = gpu_notes(planned.provider.name).get(profile["model"])
        modes = (decision.current_mode, decision.raw_mode, decision.recommended_mode)
        if gpu_note is not None and planned.priced and any(is_reserved(mode) for mode in modes):
            decision = dataclasses.replace(decision, reasons=[*decision.reasons, gpu_note])
        decisions.append(decision)
        if planned.curve is not None:
            curve_rows.extend(_curve_rows(week_start, endpoint, profile["model"], planned.curve))
        raw_plan = _raw_reserving_plan(
            decision, planned.families, planned.slo_families, planned.curve, planned.provider
        )
        if raw_plan is not None and planned.offer is not None:
            billed_hours[endpoint] = billed_replicas_per_hour(
                raw_plan, endpoint_series_.demand_tps, planned.offer, planned.provider, context.cells
            ).tolist()
        if planned.priced:
            option_rows.extend(
                _option_rows(
                    week_start,
                    endpoint,
                    profile["model"],
                    endpoint_series_,
                    planned.terms,
                    planned.families,
                    decision,
                )  # fmt: skip
            )
    return WeekPlans(
        curves=pl.DataFrame(curve_rows, schema=CURVE_SCHEMA),
        options=pl.DataFrame(option_rows, schema=OPTIONS_SCHEMA),
        recommendations=pl.DataFrame(
            [asdict(d) | {"hourly_billed_replicas": billed_hours.get(d.endpoint)} for d in decisions],
            schema=RECOMMENDATION_SCHEMA,
        ),
        jobs=jobs_frame(week_start, context.runs),
        slo_status=_slo_status_frame(week_start, slos, context.statuses),
    )


def _plan_endpoint(
    context: _WeekContext, profile: dict[str, Any], endpoint_series_: EndpointSeries, at_list: bool = False
) -> _EndpointPlan:
    """Cost every plan of one profiled endpoint on ``endpoint_series_`` (its serverless cost at whichever basis the
    series carries) and decide; ``at_list``: with the candidates list prices gave in the weeks before."""
    settings, week_start, cells = context.settings, context.week_start, context.cells
    endpoint = profile["endpoint"]
    provider = provider_profiles_for(settings, context.providers, endpoint)
    terms = context.terms_of(provider.name)
    model_terms_ = terms.get(profile["model"], ModelTerms(None, None))
    priced = bool(profile["priced"]) and profile["model"] in terms
    curve = None
    families = slo_families = current_plan = None
    slo = context.slos.get(endpoint)
    status = context.statuses.get(endpoint)
    offer, capacity_note = endpoint_offer(
        model_terms_, context.capacity, profile["input_tokens_p50"], profile["output_tokens_p50"]
    )
    deployment = settings.deployment_of(endpoint)
    if priced and offer is not None:
        curve = plan_curve(
            endpoint_series_.demand_tps, endpoint_series_.serverless_cost_usd, offer, context.covered_hours
        )
        windows = endpoint_windows(endpoint_series_, offer, cells, context.zone, settings, endpoint)
        current_plan = declared_plan(settings, endpoint, endpoint_series_, offer, provider, cells)
        families = family_options(endpoint_series_.demand_tps, endpoint_series_.serverless_cost_usd, curve,
                                  provider, windows, cells)  # fmt: skip
        if slo is not None and status is not None and status.status == "breached":
            slo_families = family_options(endpoint_series_.demand_tps, endpoint_series_.serverless_cost_usd,
                                          curve, provider, windows, cells, slo.max_overflow_share)  # fmt: skip
    decision = decide(
        EndpointWeekInput(
            endpoint=endpoint,
            model=profile["model"],
            week_start=week_start,
            current_mode=profile["current_mode"],
            latency_class=profile["latency_class"],
            coverage_days=int(profile["coverage_days"]),
            covered_hours=context.covered_hours,
            priced=priced,
            serverless_cost_usd=float(endpoint_series_.serverless_cost_usd.sum()) if priced else None,
            curve=curve,
            offer=offer,
            batch_discount=model_terms_.batch_discount,
            declared_replicas=deployment.most_replicas if deployment is not None else None,
            declared_plan=current_plan,
            capacity_note=capacity_note if offer is not None else None,
            history_raw_modes=(context.list_history if at_list else context.history).get(endpoint, []),
            stability_class=profile["stability_class"],
            baseline_ratio=profile["baseline_ratio"],
            burst_class=profile["burst_class"],
            peak_to_mean=profile["peak_to_mean"],
            jobs=summarize_runs(context.runs[endpoint]) if endpoint in context.runs else None,
            batch_limits=BatchLimits(
                max_tokens_per_job=model_terms_.batch_max_tokens_per_job,
                completion_window_hours=model_terms_.batch_completion_window_hours,
                deadline_hours=settings.jobs.deadline_hours(endpoint),
            ),
            offline_share=profile["offline_share"],
            burst_reason=burst_reason(
                profile["burst_class"],
                profile["burstiness_an"],
                profile["peak_to_mean"],
                profile["p99_to_mean"],
                context.thresholds,
            )
            if profile["burst_class"] is not None
            else None,
            slo=slo,
            slo_status=status,
            families=families,
            slo_families=slo_families,
            provider=provider,
            source_grain=profile.get("source_grain"),
        ),
        context.policy,
    )
    return _EndpointPlan(decision, priced, model_terms_, offer, curve, families, slo_families, provider)


def _raw_reserving_plan(
    decision: Decision,
    families: FamilyOptions | None,
    slo_families: FamilyOptions | None,
    curve: PlanCurve | None,
    provider: ProviderProfile,
) -> FamilyPlan | None:
    """The family setting behind the decision's raw candidate when it reserves replicas (the SLO plan's when a
    breached SLO chose it); None when the raw candidate reserves nothing (serverless, batch, unpriced)."""
    if not is_reserved(decision.raw_mode) or not decision.raw_replicas or curve is None:
        return None
    plans = [
        *(slo_families.plans() if slo_families is not None else []),
        *(families.plans() if families else []),
    ]
    cost = decision.raw_cost_usd or 0.0
    for plan in plans:
        if (
            plan.family == decision.raw_family
            and plan.replicas == decision.raw_replicas
            and abs(plan.total_cost_usd - cost) <= 1e-9 * max(1.0, abs(cost))
        ):
            return plan
    return fixed_plan(curve, decision.raw_replicas, provider)  # the curve's R* (no families costed)


def provider_for(settings: Settings, endpoint: str | None = None) -> ProviderProfile:
    """The provider profile ``endpoint``'s families are costed with (``provider.endpoints``, else
    ``provider.name``; the ``provider:`` overrides apply to the default provider)."""
    return provider_profile(settings, endpoint)


def provider_terms(
    settings: Settings, card: pl.DataFrame, week_start: date
) -> Callable[[str], dict[str, ModelTerms]]:
    """A lookup from provider name to the week's rate-card terms of that provider's rows (``model_terms``),
    computed once per provider the settings choose."""
    by_provider = {name: model_terms(card, week_start, name) for name in settings.provider.chosen_names()}
    return lambda name: by_provider[name] if name in by_provider else model_terms(card, week_start, name)


def schedule_time_zone(settings: Settings) -> str:
    """The IANA time zone schedule windows are written in (hours of the day, weekdays)."""
    return settings.schedules.time_zone


def declared_plan(
    settings: Settings,
    endpoint: str,
    series: EndpointSeries,
    offer: DedicatedOffer,
    provider: ProviderProfile,
    cells: np.ndarray,
) -> FamilyPlan | None:
    """The deployment ``deployments:`` declares for ``endpoint`` (fixed count, autoscaler or schedule), costed on
    the week's traffic; None when none is declared."""
    deployment = settings.deployment_of(endpoint)
    if deployment is None:
        return None
    window_cells = None
    if deployment.window is not None:
        window_cells = [c for c, on in enumerate(parse_window(deployment.window)) if on]
    plan = cost_of_setting(deployment.family, deployment.most_replicas, deployment.min_replicas or 0,
                           deployment.most_replicas, window_cells, series.demand_tps, series.serverless_cost_usd,
                           offer, provider, cells)  # fmt: skip
    if plan.window is not None and deployment.window is not None:
        label = f"{deployment.window} {settings.schedules.time_zone}"
        plan = dataclasses.replace(plan, window=ScheduleWindow(plan.window.cells, label))
    return plan


def endpoint_windows(
    series: EndpointSeries,
    offer: DedicatedOffer,
    cells: np.ndarray,
    zone: str,
    settings: Settings,
    endpoint: str,
) -> list[ScheduleWindow]:
    """The schedule windows tried for ``endpoint``: the one ``schedules.windows`` declares for it (first), then the
    ones proposed from its week's hourly profile (docs/cost-model.md#scheduled)."""
    windows = []
    declared = settings.schedules.declared_window(endpoint)
    if declared is not None:
        windows.append(ScheduleWindow(parse_window(declared), f"{declared} {zone} (declared)"))
    proposed = propose_windows(series.demand_tps, series.serverless_cost_usd, offer, cells, zone)
    return windows + [w for w in proposed if all(w.cells != d.cells for d in windows)]


OPTIONS_SCHEMA = {
    "week_start": pl.Date,
    "endpoint": pl.String,
    "model": pl.String,
    "family": pl.String,
    "replicas": pl.Int64,
    "min_replicas": pl.Int64,
    "max_replicas": pl.Int64,
    "window": pl.String,
    "window_cells": pl.List(pl.Int64),
    "total_cost_usd": pl.Float64,
    "reserved_cost_usd": pl.Float64,
    "overflow_cost_usd": pl.Float64,
    "replica_hours": pl.Float64,
    "utilization": pl.Float64,
    "overflow_share": pl.Float64,
    "cold_start_overflow_usd": pl.Float64,
    "is_cheapest": pl.Boolean,
    "is_recommended": pl.Boolean,
}


def _option_rows(
    week_start: date,
    endpoint: str,
    model: str,
    series: EndpointSeries,
    terms: ModelTerms,
    families: FamilyOptions | None,
    decision: Decision,
) -> list[dict[str, Any]]:
    """One ``plan_options`` row per option of the endpoint-week: serverless, batch (when its jobs allow it), and
    the best setting of each reserving family (docs/cost-model.md#plan-families)."""
    base = {"week_start": week_start, "endpoint": endpoint, "model": model}
    serverless = float(series.serverless_cost_usd.sum())
    rows: list[dict[str, Any]] = [
        {**base, "family": "serverless", "replicas": 0, "total_cost_usd": serverless, "reserved_cost_usd": 0.0,
         "overflow_cost_usd": serverless, "replica_hours": 0.0, "overflow_share": 1.0 if serverless else 0.0,
         "cold_start_overflow_usd": 0.0}
    ]  # fmt: skip
    if decision.batch_eligible and terms.batch_discount is not None:
        batch = serverless * (1 - terms.batch_discount)
        rows.append({**base, "family": "batch", "replicas": 0, "total_cost_usd": batch, "reserved_cost_usd": 0.0,
                     "overflow_cost_usd": batch, "replica_hours": 0.0, "overflow_share": 1.0 if batch else 0.0,
                     "cold_start_overflow_usd": 0.0})  # fmt: skip
    for plan in families.plans() if families is not None else []:
        if plan.family == "autoscale" and plan.min_replicas == plan.max_replicas:
            continue  # autoscale(R, R) is fixed(R): the fixed row already says it
        rows.append({**base, **_family_row(plan)})
    cheapest = min(row["total_cost_usd"] for row in rows)
    for row in rows:
        row["is_cheapest"] = row["total_cost_usd"] <= cheapest + 1e-9 * max(1.0, cheapest)
        row["is_recommended"] = _is_recommended(row, decision)
    first_cheapest = next(row for row in rows if row["is_cheapest"])
    for row in rows:
        row["is_cheapest"] = row is first_cheapest
    return rows


def _family_row(plan: FamilyPlan) -> dict[str, Any]:
    return {
        "family": plan.family,
        "replicas": plan.replicas,
        "min_replicas": plan.min_replicas,
        "max_replicas": plan.max_replicas,
        "window": plan.window.label if plan.window is not None else None,
        "window_cells": [c for c, on in enumerate(plan.window.cells) if on]
        if plan.window is not None
        else None,
        "total_cost_usd": plan.total_cost_usd,
        "reserved_cost_usd": plan.reserved_cost_usd,
        "overflow_cost_usd": plan.overflow_cost_usd,
        "replica_hours": plan.replica_hours,
        "utilization": plan.utilization,
        "overflow_share": plan.overflow_share,
        "cold_start_overflow_usd": plan.cold_start_overflow_usd,
    }


def _is_recommended(row: dict[str, Any], decision: Decision) -> bool:
    """Whether the option row is the plan the decision recommends (same family and settings)."""
    if decision.plan_family is None:
        return row["family"] == decision.recommended_mode
    return (
        row["family"] == decision.plan_family
        and row["min_replicas"] == decision.min_replicas
        and row["max_replicas"] == decision.max_replicas
        and row["window"] == decision.schedule_window
    )


LATENCY_HOURS_SCHEMA = {
    "endpoint": pl.String,
    "hour": pl.Datetime("us", "UTC"),
    "metric": pl.String,
    "bucket": pl.Int64,
    "n": pl.Int64,
}

SLO_STATUS_SCHEMA = {
    "week_start": pl.Date,
    "endpoint": pl.String,
    "slo_pattern": pl.String,
    "metric": pl.String,
    "percentile": pl.String,
    "threshold_ms": pl.Float64,
    "max_overflow_share": pl.Float64,
    "status": pl.String,
    "hours_with_requests": pl.Int64,
    "breached_hours": pl.Int64,
    "breached_hour_share": pl.Float64,
    "requests": pl.Int64,
    "breached_request_share": pl.Float64,
    "worst_hour": pl.Datetime("us", "UTC"),
    "worst_hour_ms": pl.Float64,
    "week_ms": pl.Float64,
}


def _slo_status_frame(week_start: date, slos: dict[str, Slo], statuses: dict[str, SloStatus]) -> pl.DataFrame:
    """One ``slo_status`` row per endpoint with an SLO (docs/cost-model.md#latency-slos)."""
    rows = []
    for endpoint, slo in sorted(slos.items()):
        status = statuses[endpoint]
        rows.append(
            {
                "week_start": week_start,
                "endpoint": endpoint,
                "slo_pattern": slo.pattern,
                "metric": slo.column,
                "percentile": slo.percentile,
                "threshold_ms": slo.threshold_ms,
                "max_overflow_share": slo.max_overflow_share,
                "status": status.status,
                "hours_with_requests": status.hours_with_requests,
                "breached_hours": status.breached_hours,
                "breached_hour_share": status.breached_hours / status.hours_with_requests
                if status.hours_with_requests
                else None,
                "requests": status.requests,
                "breached_request_share": status.breached_request_share,
                "worst_hour": status.worst_hour,
                "worst_hour_ms": status.worst_hour_ms,
                "week_ms": status.week_ms,
            }
        )
    return pl.DataFrame(rows, schema=SLO_STATUS_SCHEMA)


CURVE_SCHEMA = {
    "week_start": pl.Date,
    "endpoint": pl.String,
    "model": pl.String,
    "replicas": pl.Int64,
    "reserved_cost_usd": pl.Float64,
    "overflow_cost_usd": pl.Float64,
    "total_cost_usd": pl.Float64,
    "utilization": pl.Float64,
    "overflow_share": pl.Float64,
    "sellable": pl.Boolean,
    "is_cheapest": pl.Boolean,
}

RECOMMENDATION_SCHEMA = {
    "week_start": pl.Date,
    "endpoint": pl.String,
    "model": pl.String,
    "current_mode": pl.String,
    "raw_mode": pl.String,
    "recommended_mode": pl.String,
    "action": pl.String,
    "replicas": pl.Int64,
    "gpu_type": pl.String,
    "gpus_per_replica": pl.Int64,
    "current_cost_usd": pl.Float64,
    "recommended_cost_usd": pl.Float64,
    "savings_usd": pl.Float64,
    "savings_pct": pl.Float64,
    "utilization": pl.Float64,
    "overflow_share": pl.Float64,
    "batch_upper_bound_savings_usd": pl.Float64,
    "confidence": pl.String,
    "reasons": pl.List(pl.String),
    "raw_replicas": pl.Int64,
    "raw_cost_usd": pl.Float64,
    "raw_savings_usd": pl.Float64,
    "held_reasons": pl.List(pl.String),
    "batch_eligible": pl.Boolean,
    "slo_status": pl.String,
    "slo_premium_usd": pl.Float64,
    "plan_family": pl.String,
    "min_replicas": pl.Int64,
    "max_replicas": pl.Int64,
    "schedule_window": pl.String,
    "schedule_cells": pl.List(pl.Int64),
    "replica_hours": pl.Float64,
    "cold_start_overflow_usd": pl.Float64,
    "raw_family": pl.String,
    "raw_plan": pl.String,
    "replica_capacity_tps": pl.Float64,
    "hourly_billed_replicas": pl.List(pl.Float64),
    "price_basis": pl.String,
    "price_factor": pl.Float64,
    "price_note": pl.String,
    "list_current_cost_usd": pl.Float64,
    "list_recommended_cost_usd": pl.Float64,
    "list_savings_usd": pl.Float64,
    "list_recommended_mode": pl.String,
    "list_action": pl.String,
    "list_raw_mode": pl.String,
    "list_raw_family": pl.String,
}


def _curve_rows(week_start: date, endpoint: str, model: str, curve: PlanCurve) -> list[dict[str, Any]]:
    """One ``plan_curve`` row per R of ``curve_replica_counts``; ``sellable``: the provider sells R replicas (0, or
    at least the deployment minimum); ``is_cheapest``: the cheapest sellable R."""
    minimum = max(1, curve.offer.min_replicas)
    cheapest = cheapest_sellable_replicas(curve)
    rows = []
    for r in curve_replica_counts(curve):
        cost = curve.plan(r)
        rows.append(
            {
                "week_start": week_start,
                "endpoint": endpoint,
                "model": model,
                "replicas": r,
                "reserved_cost_usd": cost.reserved_cost_usd,
                "overflow_cost_usd": cost.overflow_cost_usd,
                "total_cost_usd": cost.total_cost_usd,
                "utilization": cost.utilization,
                "overflow_share": cost.overflow_share,
                "sellable": r == 0 or r >= minimum,
                "is_cheapest": r == cheapest,
            }
        )
    return rows


def _hindsight_candidates(options: pl.DataFrame | None) -> dict[str, dict[str, float]]:
    """Per endpoint, this week's candidate plans by mode from its ``plan_options`` rows, in the order serverless,
    the cheapest reserving family (``dedicated`` when nothing overflows, else ``hybrid``; equal costs keep the
    order fixed, autoscale, scheduled), batch (present only where this week's jobs allowed it)."""
    candidates: dict[str, dict[str, float]] = {}
    if options is None:
        return candidates
    for (endpoint,), rows in options.partition_by("endpoint", as_dict=True, maintain_order=True).items():
        by_family = {row["family"]: row for row in rows.iter_rows(named=True)}
        modes = {"serverless": float(by_family["serverless"]["total_cost_usd"])}
        reserving = [
            row for row in rows.iter_rows(named=True) if row["family"] not in ("serverless", "batch")
        ]
        if reserving:
            best = min(reserving, key=lambda row: row["total_cost_usd"])  # first of equal costs
            modes["hybrid" if best["overflow_share"] > 1e-12 else "dedicated"] = float(best["total_cost_usd"])
        if "batch" in by_family:
            modes["batch"] = float(by_family["batch"]["total_cost_usd"])
        candidates[str(endpoint)] = modes
    return candidates


BACKTEST_SCHEMA = {
    "week_start": pl.Date,
    "endpoint": pl.String,
    "recommended_mode": pl.String,
    "replicas": pl.Int64,
    "recommended_plan_cost_usd": pl.Float64,
    "hindsight_mode": pl.String,
    "hindsight_cost_usd": pl.Float64,
    "regret_usd": pl.Float64,
    "regret_pct": pl.Float64,
}


def compute_week_backtest(home: Home, settings: Settings, week_start: date) -> pl.DataFrame:
    """Last week's recommended plan of each endpoint, costed on this week's traffic, against this week's best plan
    in hindsight (the cheapest of serverless, the best setting of every plan family and, where this week's jobs allowed
    it, batch: this week's ``plan_options``, which the plan step costed on the same traffic): regret in USD."""
    last_week = read_week_table(home, "recommendations", week_start - timedelta(days=7))
    this_week = read_week_table(home, "recommendations", week_start)
    if last_week is None or this_week is None:
        return pl.DataFrame(schema=BACKTEST_SCHEMA)
    profiles = read_week_table(home, "endpoint_profiles", week_start)
    rollups = load_week_rollups(home, week_start)
    series = priced_week_series(home, settings, rollups)
    terms_of = provider_terms(settings, priced_rate_card(settings), week_start)
    providers = load_provider_profiles(settings.provider_profiles_path)
    capacity = load_replica_capacity(settings.replica_capacity_path)
    covered_hours = 24.0 * len(rollups.covered_days)
    zone = schedule_time_zone(settings)
    cells = week_cells(rollups.covered_days, zone)
    by_endpoint = {row["endpoint"]: row for row in profiles.iter_rows(named=True)}
    hindsight_options = _hindsight_candidates(read_week_table(home, "plan_options", week_start))
    rows = []
    for plan in last_week.iter_rows(named=True):
        profile = by_endpoint.get(plan["endpoint"])
        provider = provider_profiles_for(settings, providers, plan["endpoint"])
        terms = terms_of(provider.name)
        if profile is None or not profile["priced"] or profile["model"] not in terms:
            continue  # no traffic this week, or nothing to price it with
        terms_ = terms[profile["model"]]
        offer, _ = endpoint_offer(terms_, capacity, profile["input_tokens_p50"], profile["output_tokens_p50"])
        s = series[plan["endpoint"]]
        mode = plan["recommended_mode"]
        if (is_reserved(mode) and offer is None) or (mode == "batch" and terms_.batch_discount is None):
            continue
        family = plan.get("plan_family")
        if is_reserved(mode) and family is not None and offer is not None:
            plan_cost = cost_of_setting(family, plan["replicas"], plan["min_replicas"], plan["max_replicas"],
                                        plan["schedule_cells"], s.demand_tps, s.serverless_cost_usd, offer,
                                        provider, cells).total_cost_usd  # fmt: skip
        else:
            plan_cost = cost_of_plan(mode, plan["replicas"] or 0, s.demand_tps, s.serverless_cost_usd,
                                     offer, covered_hours, terms_.batch_discount)  # fmt: skip
        candidates = hindsight_options.get(
            plan["endpoint"], {"serverless": float(s.serverless_cost_usd.sum())}
        )
        hindsight_mode = min(candidates, key=candidates.__getitem__)
        hindsight = candidates[hindsight_mode]
        regret = plan_cost - hindsight
        rows.append(
            {
                "week_start": week_start,
                "endpoint": plan["endpoint"],
                "recommended_mode": mode,
                "replicas": plan["replicas"],
                "recommended_plan_cost_usd": plan_cost,
                "hindsight_mode": hindsight_mode,
                "hindsight_cost_usd": hindsight,
                "regret_usd": regret,
                "regret_pct": regret / hindsight if hindsight > 0 else None,
            }
        )
    return pl.DataFrame(rows, schema=BACKTEST_SCHEMA)
