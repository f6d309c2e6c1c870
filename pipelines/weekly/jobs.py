"""The week's jobs: every endpoint's activity split into runs (docs/metrics.md#jobs), from the minute rollups'
first and last arrival of each active minute, and the ``batch_jobs`` table that lists them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

from pipelines.core.home import Home
from pipelines.domain.jobs import US_PER_SECOND, Runs, split_runs

JOBS_SCHEMA = {
    "week_start": pl.Date,
    "endpoint": pl.String,
    "run": pl.Int64,
    "start_ts": pl.Datetime("us", "UTC"),
    "end_ts": pl.Datetime("us", "UTC"),
    "requests": pl.Int64,
    "input_tokens": pl.Float64,
    "output_tokens": pl.Float64,
    "duration_s": pl.Float64,
    "continues_previous_week": pl.Boolean,
    "may_continue": pl.Boolean,
}


def _epoch_us(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * US_PER_SECOND


def _previous_last_arrivals(home: Home, week_start: date) -> dict[str, int]:
    """Each endpoint's last arrival (epoch µs) on the day before the week, from that day's minute rollup."""
    path = home.rollup_day_dir((week_start - timedelta(days=1)).isoformat()) / "minutes.parquet"
    if not path.exists():
        return {}
    last = pl.scan_parquet(path).group_by("endpoint").agg(pl.col("last_arrival_us").max()).collect()
    return dict(last.iter_rows())


def week_runs(
    home: Home, week_start: date, minutes: pl.LazyFrame | None, idle_gap_minutes: float
) -> dict[str, Runs]:
    """Every endpoint's runs in the week starting ``week_start`` (failed requests included: they were sent)."""
    if minutes is None:
        return {}
    slots = (
        minutes.group_by("endpoint", "minute")
        .agg(
            first=pl.col("first_arrival_us").min(),
            last=pl.col("last_arrival_us").max(),
            requests=pl.col("requests").sum(),
            input_tokens=pl.col("input_tokens").sum(),
            output_tokens=pl.col("output_tokens").sum(),
        )
        .sort("endpoint", "minute")
        .collect()
    )
    previous = _previous_last_arrivals(home, week_start)
    week_end_us = _epoch_us(week_start + timedelta(days=7))
    return {
        endpoint: split_runs(
            rows["first"].to_numpy(),
            rows["last"].to_numpy(),
            rows["requests"].to_numpy(),
            rows["input_tokens"].to_numpy(),
            rows["output_tokens"].to_numpy(),
            idle_gap_minutes,
            week_end_us=week_end_us,
            previous_last_us=previous.get(endpoint),
        )
        for (endpoint,), rows in slots.partition_by("endpoint", as_dict=True, maintain_order=True).items()
    }


def jobs_frame(week_start: date, runs: dict[str, Runs]) -> pl.DataFrame:
    """The ``batch_jobs`` rows of the week: one per endpoint and run, runs numbered from 1 in time order."""
    frames = [
        pl.DataFrame(
            {
                "week_start": [week_start] * r.count,
                "endpoint": [endpoint] * r.count,
                "run": range(1, r.count + 1),
                "start_ts": r.start_us,
                "end_ts": r.end_us,
                "requests": r.requests,
                "input_tokens": r.input_tokens,
                "output_tokens": r.output_tokens,
                "duration_s": r.duration_s,
                "continues_previous_week": r.continues_previous_week,
                "may_continue": r.may_continue,
            },
            schema_overrides={"start_ts": pl.Int64, "end_ts": pl.Int64},
        )
        for endpoint, r in sorted(runs.items())
        if r.count
    ]
    if not frames:
        return pl.DataFrame(schema=JOBS_SCHEMA)
    return (
        pl.concat(frames)
        .with_columns(
            pl.from_epoch("start_ts", "us").dt.replace_time_zone("UTC"),
            pl.from_epoch("end_ts", "us").dt.replace_time_zone("UTC"),
        )  # fmt: skip
        .cast(JOBS_SCHEMA)  # type: ignore[arg-type]
        .select(list(JOBS_SCHEMA))
    )


def jobs_outside_their_week(jobs: pl.DataFrame) -> list[str]:
    """Endpoints with a run that starts before its week, ends at or after its end, ends before it starts, or has
    no request (what the ``jobs_inside_week`` check refuses)."""
    start = pl.col("week_start").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    bad = jobs.filter(
        (pl.col("start_ts") < start)
        | (pl.col("end_ts") >= start + pl.duration(days=7))
        | (pl.col("end_ts") < pl.col("start_ts"))
        | (pl.col("requests") < 1)
    )
    return sorted(set(bad["endpoint"].to_list()))
