"""Read the daily rollups of one ISO week (covered days only) as lazy Polars scans for the weekly step.

The scans are lazy so each consumer reads only the columns it needs and aggregates before anything is materialized
(a saturated week of 1,000 endpoints has 10 M minute rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from pipelines.core.calendar import week_days
from pipelines.core.home import Home
from pipelines.lake.lineage import day_fingerprint


@dataclass(frozen=True)
class WeekRollups:
    """The rollups of a week's covered days, as lazy scans (None when the week has no covered day)."""

    week_start: date
    covered_days: list[date]
    minutes: pl.LazyFrame | None
    interarrival: pl.LazyFrame | None
    histograms: pl.LazyFrame | None
    latency_hours: pl.LazyFrame | None


def load_week_rollups(home: Home, week_start: date) -> WeekRollups:
    """Lazy scans of the minute, arrival, histogram and serverless latency-hour rollups of every covered day of the week."""
    days = [day for day in week_days(week_start) if day_fingerprint(home, day) is not None]
    missing = [day for day in days if not (home.rollup_day_dir(day) / "_manifest.json").exists()]
    if missing:
        raise RuntimeError(f"week {week_start}: no rollup yet for {', '.join(missing)}; run those days first")
    scans: dict[str, pl.LazyFrame | None] = {}
    for table in ("minutes", "interarrival", "histograms", "latency_hours"):
        files = [str(home.rollup_day_dir(day) / f"{table}.parquet") for day in days]
        scans[table] = pl.scan_parquet(files) if files else None
    return WeekRollups(
        week_start=week_start,
        covered_days=[date.fromisoformat(day) for day in days],
        minutes=scans["minutes"],
        interarrival=scans["interarrival"],
        histograms=scans["histograms"],
        latency_hours=scans["latency_hours"],
    )
