"""The weekly commitment step: for every endpoint with a dedicated offer, the committed level of each of the
provider's commitment terms, simulated on the lookback weeks' ``recommendations.hourly_billed_replicas``
(docs/cost-model.md#commitments). Reads the weekly recommendations tables and the rate card only."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.core.text import format_usd
from pipelines.domain.commitments import CommitmentOutcome, CommitmentTerm, recommend_commitment
from pipelines.lake.commitment_terms import provider_terms
from pipelines.lake.providers import load_provider_profiles, provider_profiles_for
from pipelines.lake.rate_card import ModelTerms, model_terms, priced_rate_card
from pipelines.lake.weekly_store import read_week_table

COMMITMENTS_SCHEMA = {
    "week_start": pl.Date,
    "endpoint": pl.String,
    "model": pl.String,
    "provider": pl.String,
    "gpu_type": pl.String,
    "term": pl.String,
    "term_weeks": pl.Float64,
    "discount": pl.Float64,
    "committed_replicas": pl.Int64,
    "on_demand_cost_usd": pl.Float64,
    "committed_cost_usd": pl.Float64,
    "expected_saving_usd": pl.Float64,
    "break_even_utilization": pl.Float64,
    "committed_utilization": pl.Float64,
    "lookback_weeks": pl.Int64,
    "weeks_with_data": pl.Int64,
    "weeks_lost": pl.Int64,
    "cancellation": pl.String,
    "recommended": pl.Boolean,
    "reasons": pl.List(pl.String),
}


def lookback_billed_hours(
    home: Home, week_start: date, lookback_weeks: int
) -> dict[str, list[np.ndarray | None]]:
    """Per endpoint, the hourly billed replicas of each lookback week, oldest first and this week last: an array
    for a week whose ``recommendations`` has the endpoint (empty when its cheapest plan reserved nothing), None
    for a week without it (no traffic, or a table written before the column existed)."""
    per_week: list[dict[str, np.ndarray]] = []
    for back in range(lookback_weeks - 1, -1, -1):
        table = read_week_table(home, "recommendations", week_start - timedelta(days=7 * back))
        week: dict[str, np.ndarray] = {}
        if table is not None and "hourly_billed_replicas" in table.columns:
            for endpoint, hours in zip(table["endpoint"], table["hourly_billed_replicas"], strict=True):
                week[endpoint] = np.asarray(hours if hours is not None else [], dtype=np.float64)
        per_week.append(week)
    endpoints = sorted(set().union(*per_week)) if per_week else []
    return {endpoint: [week.get(endpoint) for week in per_week] for endpoint in endpoints}


def compute_week_commitments(home: Home, settings: Settings, week_start: date) -> pl.DataFrame:
    """One ``commitments`` row per endpoint of the week with a dedicated offer and per commitment term of the
    provider: the level recommended, its money (USD per week) and why. Of an endpoint's terms, only the one that
    saves the most (ties: the shorter term) is ``recommended``."""
    this_week = read_week_table(home, "recommendations", week_start)
    if this_week is None:
        return pl.DataFrame(schema=COMMITMENTS_SCHEMA)
    lookback = settings.commitments.lookback_weeks
    threshold = settings.policy.min_savings_usd_per_week
    card = priced_rate_card(settings)
    profiles = load_provider_profiles(settings.provider_profiles_path)
    offers_of: dict[str, dict[str, ModelTerms]] = {}
    terms_of: dict[str, list[CommitmentTerm]] = {}
    history = lookback_billed_hours(home, week_start, lookback)
    rows: list[dict[str, Any]] = []
    for endpoint, model in zip(this_week["endpoint"], this_week["model"], strict=True):
        provider = provider_profiles_for(settings, profiles, endpoint).name
        if provider not in offers_of:
            offers_of[provider] = model_terms(card, week_start, provider)
            terms_of[provider] = provider_terms(settings, provider)
        offers, terms = offers_of[provider], terms_of[provider]
        offer = offers[model].offer if model in offers else None
        if offer is None or not terms:
            continue  # no dedicated price, or no commitment sold: nothing to commit to
        outcomes = [
            recommend_commitment(
                history.get(endpoint, []), offer.replica_usd_per_hour, term, lookback, threshold
            )
            for term in terms
        ]
        chosen = _best_term(outcomes)
        for outcome in outcomes:
            reasons = list(outcome.reasons)
            recommended = outcome is chosen
            if outcome.recommended and not recommended and chosen is not None:
                reasons.append(
                    f"not the best term: {chosen.term.term} saves {format_usd(chosen.expected_saving_usd)}/week vs "
                    f"{format_usd(outcome.expected_saving_usd)}"
                )
            rows.append(_row(week_start, endpoint, model, provider, offer.gpu_type, outcome,
                             recommended, reasons))  # fmt: skip
    return pl.DataFrame(rows, schema=COMMITMENTS_SCHEMA)


def _best_term(outcomes: list[CommitmentOutcome]) -> CommitmentOutcome | None:
    """The recommended outcome saving the most per week (ties: the shorter term, then file order)."""
    passing = [outcome for outcome in outcomes if outcome.recommended]
    if not passing:
        return None
    best = max(outcome.expected_saving_usd for outcome in passing)
    tied = [o for o in passing if o.expected_saving_usd >= best - 1e-9 * max(1.0, abs(best))]
    return min(tied, key=lambda outcome: outcome.term.term_weeks)


def _row(
    week_start: date,
    endpoint: str,
    model: str,
    provider: str,
    gpu_type: str,
    outcome: CommitmentOutcome,
    recommended: bool,
    reasons: list[str],
) -> dict[str, Any]:
    return {
        "week_start": week_start,
        "endpoint": endpoint,
        "model": model,
        "provider": provider,
        "gpu_type": gpu_type,
        "term": outcome.term.term,
        "term_weeks": outcome.term.term_weeks,
        "discount": outcome.term.discount,
        "committed_replicas": outcome.committed_replicas,
        "on_demand_cost_usd": outcome.on_demand_cost_usd,
        "committed_cost_usd": outcome.committed_cost_usd,
        "expected_saving_usd": outcome.expected_saving_usd,
        "break_even_utilization": outcome.break_even_utilization,
        "committed_utilization": outcome.committed_utilization,
        "lookback_weeks": outcome.lookback_weeks,
        "weeks_with_data": outcome.weeks_with_data,
        "weeks_lost": outcome.weeks_lost,
        "cancellation": outcome.term.cancellation,
        "recommended": recommended,
        "reasons": reasons,
    }
