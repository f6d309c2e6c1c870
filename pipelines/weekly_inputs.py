"""Read the daily rollups of one ISO week (covered days only) as Polars frames for the weekly step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from pipelines.home import Home
from pipelines.ingest.duck import connect
from pipelines.lineage import day_fingerprint, week_days
from pipelines.rollups import rollup_dir
from pipelines.sql_loader import load_sql


@dataclass(frozen=True)
class WeekRollups:
    """The rollups of a week's covered days."""

    week_start: date
    covered_days: list[date]
    minutes: pl.DataFrame | None  # None when the week has no covered day
    interarrival: pl.DataFrame | None
    histograms: pl.DataFrame | None


def load_week_rollups(home: Home, week_start: date) -> WeekRollups:
    """The minute, arrival and histogram rollups of every covered day of the week starting ``week_start``."""
    days = [day for day in week_days(week_start) if day_fingerprint(home, day) is not None]
    missing = [day for day in days if not (rollup_dir(home, day) / "_manifest.json").exists()]
    if missing:
        raise RuntimeError(f"week {week_start}: no rollup yet for {', '.join(missing)}; run those days first")
    frames: dict[str, pl.DataFrame | None] = {}
    with connect() as con:
        for table in ("minutes", "interarrival", "histograms"):
            files = [str(rollup_dir(home, day) / f"{table}.parquet") for day in days]
            frames[table] = (
                con.sql(load_sql("read_parquet_files"), params={"files": files}).pl() if files else None
            )
    return WeekRollups(
        week_start=week_start,
        covered_days=[date.fromisoformat(day) for day in days],
        minutes=frames["minutes"],
        interarrival=frames["interarrival"],
        histograms=frames["histograms"],
    )
