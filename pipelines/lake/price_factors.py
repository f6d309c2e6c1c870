"""The price factor every endpoint's serverless list cost is multiplied by in a week: the ``price_basis`` table's
basis of the endpoint (its own billed price, else its provider and model's; docs/cost-model.md#price-bases).
Every step that costs serverless tokens (plans, backtest, pools, charts, what-if tables, spend concentration)
reads it here, so they all cost at one basis."""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.lake.providers import endpoint_provider_frame
from pipelines.lake.series import EndpointSeries, endpoint_series
from pipelines.lake.weekly_inputs import WeekRollups
from pipelines.lake.weekly_store import read_week_table

PRICE_FACTORS_SCHEMA = {
    "endpoint": pl.String,
    "model": pl.String,
    "basis": pl.String,
    "price_factor": pl.Float64,
    "basis_note": pl.String,
}


def with_providers(frame: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """``frame`` (with an ``endpoint`` column) with ``provider``: the provider whose rate-card rows price the
    endpoint (``provider.endpoints``, else ``provider.name``), as in the rollup."""
    providers = endpoint_provider_frame(settings, frame["endpoint"].unique().sort().to_list())
    return frame.join(providers, on="endpoint", how="left")


def week_price_factors(
    home: Home, settings: Settings, week_start: date, minutes: pl.LazyFrame | pl.DataFrame | None
) -> pl.DataFrame:
    """Per endpoint and model of the week's minute rollups: ``basis``, ``price_factor`` (unitless: the serverless
    cost at the basis is the list cost times it) and ``basis_note``, from the week's ``price_basis`` table.
    RuntimeError when the week has minutes but no price basis yet."""
    if minutes is None:
        return pl.DataFrame(schema=PRICE_FACTORS_SCHEMA)
    pairs = minutes.lazy().select("endpoint", "model").unique().collect()
    if pairs.height == 0:
        return pl.DataFrame(schema=PRICE_FACTORS_SCHEMA)
    bases = read_week_table(home, "price_basis", week_start)
    if bases is None:
        raise RuntimeError(f"week {week_start} has no price basis yet; run price_basis for it first")
    joined = with_providers(pairs, settings).join(
        bases.filter(pl.col("endpoint").is_not_null()).select(
            "provider", "model", "endpoint", "basis", "price_factor", "basis_note"
        ),
        on=["provider", "model", "endpoint"],
        how="left",
    )
    return joined.select(
        "endpoint",
        "model",
        pl.col("basis").fill_null("list"),
        pl.col("price_factor").fill_null(1.0),
        pl.col("basis_note").fill_null("list prices"),
    ).sort("endpoint", "model")


def basis_of_endpoints(price_factors: pl.DataFrame) -> dict[tuple[str, str], tuple[str, str]]:
    """(endpoint, model) → (basis, basis_note) of ``week_price_factors`` rows."""
    return {
        (r["endpoint"], r["model"]): (r["basis"], r["basis_note"])
        for r in price_factors.select("endpoint", "model", "basis", "basis_note").iter_rows(named=True)
    }


def priced_week_series(home: Home, settings: Settings, rollups: WeekRollups) -> dict[str, EndpointSeries]:
    """Every endpoint's dense minute series of the week (``endpoint_series``), its serverless cost at the week's
    price basis and, where that is not list, at list too; empty when the week has no minutes."""
    if rollups.minutes is None:
        return {}
    factors = week_price_factors(home, settings, rollups.week_start, rollups.minutes)
    return endpoint_series(rollups.minutes, rollups.covered_days, factors)
