"""Effective prices: what the log says was billed against the list price of the same requests, per group of
minute rollup rows (the weekly table groups by model; see docs/cost-model.md#effective-prices). Pure: frames in,
frames out."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class PriceWarnings:
    """When a row is flagged: ``max_billed_deviation`` (share of 1 the factor may deviate by) and
    ``min_billed_coverage`` (fraction of ok requests that must carry a billed cost)."""

    max_billed_deviation: float = 0.5
    min_billed_coverage: float = 0.95


def effective_prices(minutes: pl.DataFrame, keys: list[str], warnings: PriceWarnings) -> pl.DataFrame:
    """Per ``keys`` group of minute rollup rows (columns ``ok_requests``, ``billed_ok_requests``,
    ``billed_ok_cost_usd``, ``billed_list_cost_usd``, USD): ``billed_cost_usd`` and ``list_cost_usd`` (USD, over the
    ok requests carrying both a billed and a list cost), ``effective_factor`` = billed / list (unitless; NULL when no
    such request or their list cost is 0), ``rows_with_both``, ``ok_requests``, ``coverage_share`` = rows_with_both /
    ok_requests (0 without ok requests) and ``warning`` (plain words; NULL when none)."""
    priced = pl.col("billed_list_cost_usd").is_not_null() & pl.col("billed_ok_cost_usd").is_not_null()
    grouped = (
        minutes.group_by(keys)
        .agg(
            billed_cost_usd=pl.col("billed_ok_cost_usd").filter(priced).sum(),
            list_cost_usd=pl.col("billed_list_cost_usd").filter(priced).sum(),
            rows_with_both=pl.col("billed_ok_requests").filter(priced).sum().cast(pl.Int64),
            ok_requests=pl.col("ok_requests").sum().cast(pl.Int64),
        )
        .sort(keys)
    )
    factor = (
        pl.when((pl.col("rows_with_both") > 0) & (pl.col("list_cost_usd") > 0))
        .then(pl.col("billed_cost_usd") / pl.col("list_cost_usd"))
        .otherwise(None)
    )
    coverage = (
        pl.when(pl.col("ok_requests") > 0)
        .then(pl.col("rows_with_both") / pl.col("ok_requests"))
        .otherwise(0.0)
    )
    out = grouped.with_columns(effective_factor=factor, coverage_share=coverage)
    deviation = pl.when((pl.col("effective_factor") - 1).abs() > warnings.max_billed_deviation).then(
        pl.format(
            "billed is {} of list, more than {} away from list",
            pl.col("effective_factor").round(3),
            pl.lit(warnings.max_billed_deviation),
        )
    )
    partial = pl.when(pl.col("coverage_share") < warnings.min_billed_coverage).then(
        pl.format(
            "billed cost on only {} of ok requests (partial coverage)",
            pl.col("coverage_share").round(3),
        )
    )
    warning = pl.concat_str([deviation, partial], separator="; ", ignore_nulls=True)
    out = out.with_columns(warning=pl.when(warning != "").then(warning))
    return out.select(
        *keys,
        "effective_factor",
        "billed_cost_usd",
        "list_cost_usd",
        "rows_with_both",
        "ok_requests",
        "coverage_share",
        "warning",
    )
