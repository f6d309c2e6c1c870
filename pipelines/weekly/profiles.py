"""The weekly profile step: endpoint profiles, then spend concentration, for one ISO week, from daily rollups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.domain.concentration import spend_concentration
from pipelines.domain.effective_price import basis_label
from pipelines.domain.endpoint_profile import build_endpoint_profiles
from pipelines.domain.profile_metrics import ProfileThresholds
from pipelines.lake.price_factors import week_price_factors
from pipelines.lake.weekly_inputs import WeekRollups, load_week_rollups
from pipelines.lake.weekly_store import read_week_table

_SUMMARY_SCHEMA = {
    "week_start": pl.Date,
    "hhi": pl.Float64,
    "gini": pl.Float64,
    "top_k_80": pl.Int64,
    "total_cost_usd": pl.Float64,
    "endpoints": pl.Int64,
    "unpriced": pl.String,
    "price_basis": pl.String,
}


@dataclass(frozen=True)
class WeekConcentration:
    """Spend concentration of one week, across endpoints and across models."""

    by_endpoint: pl.DataFrame
    summary: pl.DataFrame
    by_model: pl.DataFrame
    model_summary: pl.DataFrame


def week_rollups(home: Home, week_start: date) -> WeekRollups:
    """The week's rollups; an error when the week has no covered day."""
    rollups = load_week_rollups(home, week_start)
    if rollups.minutes is None:
        raise RuntimeError(f"week {week_start} has no covered day")
    return rollups


def profile_thresholds(settings: Settings) -> ProfileThresholds:
    """The profile class thresholds (fractions and ratios) from the validated ``profiles`` settings."""
    groups = settings.profiles
    return ProfileThresholds(
        **groups.stability.model_dump(), **groups.burst.model_dump(), **groups.latency.model_dump()
    )


def compute_week_profiles(home: Home, settings: Settings, week_start: date) -> pl.DataFrame:
    """The profile (docs/metrics.md#the-endpoint-profile) of every endpoint active in the week starting
    ``week_start``."""
    rollups = week_rollups(home, week_start)
    return build_endpoint_profiles(
        rollups.minutes,
        rollups.interarrival,
        rollups.histograms,
        rollups.covered_days,
        week_start,
        profile_thresholds(settings),
        last_week=read_week_table(home, "endpoint_profiles", week_start - timedelta(days=7)),
    )


def compute_week_concentration(
    home: Home, settings: Settings, week_start: date, profiles: pl.DataFrame
) -> WeekConcentration:
    """Spend concentration (docs/metrics.md#spend-concentration) over the endpoints' serverless cost at the
    week's price basis (docs/cost-model.md#price-bases), and over models from the minute rollups; the summaries
    name the basis (``list``, ``billed``, ``contract``, or ``mixed (…)`` when endpoints differ)."""
    minutes = week_rollups(home, week_start).minutes
    factors = week_price_factors(home, settings, week_start, minutes)
    priced = minutes.join(
        factors.lazy().select("endpoint", "model", "price_factor"), on=["endpoint", "model"], how="left"
    ).with_columns(basis_cost_usd=pl.col("list_cost_usd") * pl.col("price_factor").fill_null(1.0))
    endpoint_factor = (
        priced.group_by("endpoint")
        .agg(listed=pl.col("list_cost_usd").sum(), at_basis=pl.col("basis_cost_usd").sum())
        .select("endpoint", factor=pl.when(pl.col("listed") > 0).then(pl.col("at_basis") / pl.col("listed")))
        .collect()
    )
    by_endpoint = (
        profiles.select("endpoint", "list_cost_usd")
        .join(endpoint_factor, on="endpoint", how="left")
        .select("endpoint", cost_usd=pl.col("list_cost_usd") * pl.col("factor").fill_null(1.0))
    )
    by_model = (
        priced.group_by("model")
        .agg(cost_usd=pl.when(pl.col("unpriced_requests").sum() == 0).then(pl.col("basis_cost_usd").sum()))
        .collect()
    )
    basis = basis_label(factors["basis"].to_list())
    endpoint_rows, endpoint_summary = _concentration(by_endpoint, "endpoint", week_start, basis)
    model_rows, model_summary = _concentration(by_model, "model", week_start, basis)
    return WeekConcentration(
        endpoint_rows, endpoint_summary, model_rows, model_summary.rename({"endpoints": "models"})
    )


def _concentration(
    costs: pl.DataFrame, key: str, week_start: date, basis: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows, summary = spend_concentration(costs, key=key)
    week = pl.lit(week_start, dtype=pl.Date).alias("week_start")
    rows = rows.select(week, key, "cost_usd", "share", "rank", "cum_share", "in_top_80")
    summary_row = {
        **summary,
        "week_start": week_start,
        "unpriced": ", ".join(summary["unpriced"]) or None,
        "price_basis": basis,
    }
    return rows, pl.DataFrame([summary_row], schema=_SUMMARY_SCHEMA)
