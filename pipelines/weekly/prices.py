"""The weekly price basis step: effective prices (docs/cost-model.md#effective-prices) per model for one ISO week,
from the daily minute rollups. A measurement only: nothing else reads it yet."""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.domain.effective_price import PriceWarnings, effective_prices
from pipelines.weekly.profiles import week_rollups

_COLUMNS = ["model", "ok_requests", "billed_ok_requests", "billed_ok_cost_usd", "billed_list_cost_usd"]


def price_warnings(settings: Settings) -> PriceWarnings:
    """The warning thresholds (a share and a fraction) from the validated ``pricing`` settings."""
    return PriceWarnings(**settings.pricing.model_dump())


def compute_week_price_basis(home: Home, settings: Settings, week_start: date) -> pl.DataFrame:
    """Per model of the week starting ``week_start``: effective_factor, billed and list cost (USD) of the ok
    requests carrying both, rows_with_both, ok_requests, coverage_share and warning, with ``week_start`` first."""
    minutes = week_rollups(home, week_start).minutes.select(_COLUMNS).collect()
    rows = effective_prices(minutes, ["model"], price_warnings(settings))
    return rows.select(pl.lit(week_start, dtype=pl.Date).alias("week_start"), pl.all())
