"""The what-if tables of the analytics file (docs/analytics.md#what-if-in-sql): the per-minute series and replica
economics the plan step costed, for the newest ``analytics.whatif_weeks`` weeks, so the ``whatif_*`` table macros
cost fixed and scheduled plans (and pools of them) in SQL exactly as ``modeshift whatif`` does.

* ``week_minutes``: one row per covered minute of each week (10,080 for a full week), with its position in the
  week's series, its weekday-hour cell in ``schedules.time_zone`` and in UTC;
* ``endpoint_minutes``: one row per priced endpoint and covered minute with demand or serverless cost (minutes
  without either are left out: they cost nothing and overflow nothing), in weighted tokens/s and USD;
* ``endpoint_offers``: one row per endpoint-week with a dedicated offer: K, u, the replica's price per hour, and the
  provider's cold start and billing granularity.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.lake.price_factors import priced_week_series
from pipelines.lake.providers import load_provider_profiles, provider_profiles_for
from pipelines.lake.rate_card import model_terms, priced_rate_card
from pipelines.lake.replica_capacity import endpoint_offer, load_replica_capacity
from pipelines.lake.series import week_cells
from pipelines.lake.weekly_inputs import load_week_rollups
from pipelines.lake.weekly_store import read_week_table

WEEK_MINUTES_SCHEMA = {
    "week_start": pl.Date,
    "minute_index": pl.Int64,
    "minute": pl.Datetime("us", "UTC"),
    "cell": pl.Int64,
    "cell_utc": pl.Int64,
    "time_zone": pl.String,
}
ENDPOINT_MINUTES_SCHEMA = {
    "week_start": pl.Date,
    "endpoint": pl.String,
    "model": pl.String,
    "minute_index": pl.Int64,
    "minute": pl.Datetime("us", "UTC"),
    "cell": pl.Int64,
    "cell_utc": pl.Int64,
    "demand_tps": pl.Float64,
    "serverless_cost_usd": pl.Float64,
}
ENDPOINT_OFFERS_SCHEMA = {
    "week_start": pl.Date,
    "endpoint": pl.String,
    "model": pl.String,
    "gpu_type": pl.String,
    "gpus_per_replica": pl.Int64,
    "replica_usd_per_hour": pl.Float64,
    "replica_capacity_tps": pl.Float64,
    "target_utilization": pl.Float64,
    "planned_replica_tps": pl.Float64,
    "cold_start_minutes": pl.Int64,
    "billing_granularity_minutes": pl.Int64,
    "covered_minutes": pl.Int64,
}
WHATIF_TABLES = ("week_minutes", "endpoint_minutes", "endpoint_offers")


def whatif_frames(home: Home, settings: Settings, weeks: list[date]) -> dict[str, pl.DataFrame]:
    """The three what-if tables (module docstring) for ``weeks`` (Mondays whose plan step ran)."""
    frames: dict[str, list[pl.DataFrame]] = {name: [] for name in WHATIF_TABLES}
    providers = load_provider_profiles(settings.provider_profiles_path)
    terms_of: dict[tuple[str, date], dict] = {}
    card = priced_rate_card(settings)
    capacity = load_replica_capacity(settings.replica_capacity_path)
    zone = settings.schedules.time_zone
    for week in sorted(weeks):
        profiles = read_week_table(home, "endpoint_profiles", week)
        rollups = load_week_rollups(home, week)
        if profiles is None or rollups.minutes is None:
            continue
        days = sorted(rollups.covered_days)
        minutes = np.concatenate(
            [np.datetime64(day.isoformat(), "m") + np.arange(1440) for day in days]
        ).astype("datetime64[us]")
        local, utc = week_cells(days, zone), week_cells(days, "UTC")
        frames["week_minutes"].append(
            pl.DataFrame(
                {
                    "week_start": [week] * minutes.size,
                    "minute_index": np.arange(minutes.size),
                    "minute": minutes,
                    "cell": local,
                    "cell_utc": utc,
                    "time_zone": [zone] * minutes.size,
                }  # fmt: skip
            )
            .with_columns(pl.col("minute").dt.replace_time_zone("UTC"))
            .cast(WEEK_MINUTES_SCHEMA)  # type: ignore[arg-type]
        )
        series = priced_week_series(home, settings, rollups)
        offers = []
        for profile in profiles.iter_rows(named=True):
            endpoint, model = profile["endpoint"], profile["model"]
            provider = provider_profiles_for(settings, providers, endpoint)  # the endpoint's own provider
            if (provider.name, week) not in terms_of:
                terms_of[(provider.name, week)] = model_terms(card, week, provider.name)
            terms = terms_of[(provider.name, week)]
            if not profile["priced"] or model not in terms or endpoint not in series:
                continue
            s = series[endpoint]
            keep = np.flatnonzero((s.demand_tps > 0) | (s.serverless_cost_usd > 0))
            frames["endpoint_minutes"].append(
                pl.DataFrame(
                    {
                        "week_start": [week] * keep.size,
                        "endpoint": [endpoint] * keep.size,
                        "model": [model] * keep.size,
                        "minute_index": keep,
                        "minute": minutes[keep],
                        "cell": local[keep],
                        "cell_utc": utc[keep],
                        "demand_tps": s.demand_tps[keep],
                        "serverless_cost_usd": s.serverless_cost_usd[keep],
                    }  # fmt: skip
                )
                .with_columns(pl.col("minute").dt.replace_time_zone("UTC"))
                .cast(ENDPOINT_MINUTES_SCHEMA)  # type: ignore[arg-type]
            )
            offer, _ = endpoint_offer(
                terms[model], capacity, profile["input_tokens_p50"], profile["output_tokens_p50"]
            )
            if offer is None:
                continue
            offers.append(
                {
                    "week_start": week,
                    "endpoint": endpoint,
                    "model": model,
                    "gpu_type": offer.gpu_type,
                    "gpus_per_replica": offer.gpus_per_replica,
                    "replica_usd_per_hour": offer.replica_usd_per_hour,
                    "replica_capacity_tps": offer.replica_capacity_tps,
                    "target_utilization": offer.target_utilization,
                    "planned_replica_tps": offer.planned_replica_tps,
                    "cold_start_minutes": provider.cold_start_minutes,
                    "billing_granularity_minutes": provider.billing_granularity_minutes,
                    "covered_minutes": int(minutes.size),
                }  # fmt: skip
            )
        frames["endpoint_offers"].append(pl.DataFrame(offers, schema=ENDPOINT_OFFERS_SCHEMA))
    schemas = {"week_minutes": WEEK_MINUTES_SCHEMA, "endpoint_minutes": ENDPOINT_MINUTES_SCHEMA,
               "endpoint_offers": ENDPOINT_OFFERS_SCHEMA}  # fmt: skip
    return {
        name: pl.concat(parts) if parts else pl.DataFrame(schema=schemas[name])
        for name, parts in frames.items()
    }
