"""Dense per-minute series of one week: every endpoint's weighted demand and serverless cost per covered minute
(at the week's price basis, and at list), built from the minute rollups. The plan step, the backtest, the pools and
the charts all cost or draw these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import polars as pl

from pipelines.core.calendar import MINUTES_PER_DAY


@dataclass(frozen=True)
class EndpointSeries:
    """One endpoint's week, minute by minute over the covered days: weighted demand (tokens/s), serverless cost
    at the week's price basis (USD; docs/cost-model.md#price-bases) and the same at list prices
    (``list_cost_usd``; None = the basis is list), ok requests only."""

    demand_tps: np.ndarray
    serverless_cost_usd: np.ndarray
    list_cost_usd: np.ndarray | None = None

    @property
    def at_list(self) -> EndpointSeries:
        """The same week with the serverless cost at list prices."""
        if self.list_cost_usd is None:
            return self
        return EndpointSeries(self.demand_tps, self.list_cost_usd)

    @property
    def price_factor(self) -> float:
        """The week's serverless cost at the basis over its cost at list (unitless; 1 when equal or both 0)."""
        if self.list_cost_usd is None:
            return 1.0
        listed = float(self.list_cost_usd.sum())
        return float(self.serverless_cost_usd.sum()) / listed if listed > 0 else 1.0


def endpoint_series(
    minutes: pl.DataFrame | pl.LazyFrame, covered_days: list[date], price_factors: pl.DataFrame | None
) -> dict[str, EndpointSeries]:
    """Dense per-minute series of every endpoint over the covered days (zero where it had no ok request), its
    serverless cost at the basis: each endpoint and model's list cost times its ``price_factors`` row's
    ``price_factor`` (``week_price_factors``; None or a missing row = list)."""
    positions = pl.DataFrame(
        {"day": sorted(covered_days), "day_position": range(len(covered_days))},
        schema={"day": pl.Date, "day_position": pl.Int64},
    )
    factors = (
        price_factors.select("endpoint", "model", "price_factor")
        if price_factors is not None
        else pl.DataFrame(schema={"endpoint": pl.String, "model": pl.String, "price_factor": pl.Float64})
    )
    priced = pl.col("list_cost_usd") * pl.col("price_factor").fill_null(1.0)
    per_minute = (
        minutes.lazy()
        .join(factors.lazy(), on=["endpoint", "model"], how="left")
        .group_by("endpoint", "minute")
        .agg(
            weighted=pl.col("weighted_tokens").sum().fill_null(0.0),
            cost=priced.sum().fill_null(0.0),
            list_cost=pl.col("list_cost_usd").sum().fill_null(0.0),
            repriced=(pl.col("price_factor").fill_null(1.0) != 1.0).any(),
        )
        .with_columns(day=pl.col("minute").dt.date())
        .join(positions.lazy(), on="day")
        .with_columns(
            index=pl.col("day_position") * MINUTES_PER_DAY
            + pl.col("minute").dt.hour().cast(pl.Int64) * 60
            + pl.col("minute").dt.minute().cast(pl.Int64)
        )
        .select("endpoint", "index", "weighted", "cost", "list_cost", "repriced")
        .collect()
    )
    series: dict[str, EndpointSeries] = {}
    for (endpoint,), rows in per_minute.partition_by("endpoint", as_dict=True).items():
        demand = np.zeros(len(covered_days) * MINUTES_PER_DAY)
        cost = np.zeros_like(demand)
        index = rows["index"].to_numpy()
        demand[index] = rows["weighted"].to_numpy() / 60.0
        cost[index] = rows["cost"].to_numpy()
        listed = None
        if rows["repriced"].any():
            listed = np.zeros_like(demand)
            listed[index] = rows["list_cost"].to_numpy()
        series[endpoint] = EndpointSeries(demand, cost, listed)
    return series


def week_cells(covered_days: list[date], time_zone: str) -> np.ndarray:
    """The weekday-hour cell (weekday·24 + hour, Monday = 0, in ``time_zone``) of every covered minute, in the
    order of ``endpoint_series``'s arrays (covered days sorted, 1,440 UTC minutes each). ValueError for an unknown
    zone."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {time_zone!r}") from error
    if not covered_days:
        return np.zeros(0, dtype=np.int64)
    starts = [datetime.combine(day, time(), tzinfo=UTC) for day in sorted(covered_days)]
    minutes = np.concatenate(
        [np.datetime64(start.replace(tzinfo=None), "m") + np.arange(MINUTES_PER_DAY) for start in starts]
    ).astype("datetime64[ms]")
    frame = pl.DataFrame({"minute": minutes}).with_columns(
        local=pl.col("minute").dt.replace_time_zone("UTC").dt.convert_time_zone(zone.key)
    )
    cells = (frame["local"].dt.weekday().cast(pl.Int64) - 1) * 24 + frame["local"].dt.hour().cast(pl.Int64)
    return cells.to_numpy()
