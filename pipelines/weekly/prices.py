"""The weekly price basis step (docs/cost-model.md#price-bases): per provider and model of one ISO week, and per
endpoint, the effective price measured in the daily minute rollups and the basis (list, billed or contract) every
serverless figure of the week is then costed at."""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.domain.effective_price import (
    BasisRule,
    ContractDiscount,
    PriceWarnings,
    effective_prices,
    with_bases,
    with_endpoint_bases,
)
from pipelines.lake.price_factors import with_providers
from pipelines.weekly.profiles import week_rollups

_COLUMNS = [
    "endpoint",
    "model",
    "ok_requests",
    "billed_ok_requests",
    "billed_ok_cost_usd",
    "billed_list_cost_usd",
]


def price_warnings(settings: Settings) -> PriceWarnings:
    """The warning thresholds (a share and a fraction) from the validated ``pricing`` settings."""
    return PriceWarnings(settings.pricing.max_billed_deviation, settings.pricing.min_billed_coverage)


def basis_rule(settings: Settings) -> BasisRule:
    """The basis setting, the coverage ``auto`` needs (fraction) and the contract discounts, from ``pricing``."""
    pricing = settings.pricing
    contracts = tuple(ContractDiscount(c.model, c.provider, c.discount, c.source) for c in pricing.contracts)
    return BasisRule(pricing.basis, pricing.min_billed_coverage, contracts)


def compute_week_price_basis(home: Home, settings: Settings, week_start: date) -> pl.DataFrame:
    """Per provider and model of the week starting ``week_start`` (``endpoint`` NULL), then per endpoint of each:
    effective_factor, billed and list cost (USD) of the ok requests carrying both, rows_with_both, ok_requests,
    coverage_share, warning, and the chosen basis, price_factor (unitless), basis_note and contract_source, with
    ``week_start`` first. The endpoint rows hold the basis each endpoint's serverless tokens are costed at."""
    minutes = with_providers(week_rollups(home, week_start).minutes.select(_COLUMNS).collect(), settings)
    warnings, rule = price_warnings(settings), basis_rule(settings)
    models = with_bases(effective_prices(minutes, ["provider", "model"], warnings), rule)
    endpoints = with_endpoint_bases(
        effective_prices(minutes, ["provider", "model", "endpoint"], warnings), models, rule
    )
    rows = pl.concat([models.with_columns(endpoint=pl.lit(None, dtype=pl.String)), endpoints], how="diagonal")
    return rows.select(
        pl.lit(week_start, dtype=pl.Date).alias("week_start"),
        "provider",
        "model",
        "endpoint",
        pl.exclude("provider", "model", "endpoint"),
    )
