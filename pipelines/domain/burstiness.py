"""Burstiness of an endpoint's arrivals over a week, from inter-arrival times (docs/metrics.md#burstiness).

The weekly step never sees raw requests: it reads one rollup row per endpoint and day holding the count, sum and
sum of squares of the gaps between consecutive requests *inside* that day, plus the first and last arrival.
``interarrival_moments`` stitches those days together (the gap across midnight counts too) and returns the mean
and population standard deviation of the gaps over the week; ``burstiness_metrics`` turns them into the
Goh–Barabási coefficient B and the Kim–Jo finite-size coefficient A_n.
"""

from __future__ import annotations

import math
from datetime import date

import polars as pl

MICROSECONDS_PER_SECOND = 1_000_000


def goh_barabasi_b(mean_tau: float, sd_tau: float) -> float | None:
    """Goh–Barabási burstiness B = (σ − μ) / (σ + μ) of inter-arrival times (any time unit, unitless result).

    −1 for periodic arrivals, about 0 for Poisson arrivals, towards 1 for bursts. None when σ + μ = 0.
    """
    total = sd_tau + mean_tau
    if total == 0:
        return None
    return (sd_tau - mean_tau) / total


def kim_jo_an(mean_tau: float, sd_tau: float, n: int) -> float | None:
    """Kim–Jo burstiness A_n, B corrected for a finite number ``n`` of requests (unitless).

    With r = σ / μ: A_n = (√(n+1)·r − √(n−1)) / ((√(n+1) − 2)·r + √(n−1)).
    It is −1 at r = 0, 0 at the Poisson value r = √((n−1)/(n+1)) and 1 at the largest possible r = √(n−1).
    None when n < 3 or μ = 0.
    """
    if n < 3 or mean_tau == 0:
        return None
    r = sd_tau / mean_tau
    up, down = math.sqrt(n + 1), math.sqrt(n - 1)
    return (up * r - down) / ((up - 2) * r + down)


def _stitched_gaps(daily: pl.DataFrame, covered_days: list[date]) -> pl.DataFrame:
    """The gaps (seconds) between an endpoint's last request of one day and its next request on a later day.

    A gap counts only when every calendar day from the earlier to the later day is covered. Trick: number the
    covered days 0, 1, 2, ... in date order; ``day - rank`` is then constant exactly along a run of consecutive
    covered days, so two days are joined by covered days only when they share that value.
    """
    covered = pl.DataFrame({"day": sorted(set(covered_days))}, schema={"day": pl.Date}).with_row_index("rank")
    run_id = pl.col("day").cast(pl.Int64) - pl.col("rank").cast(pl.Int64)
    prev = pl.col("last_ts").shift(1).over("endpoint", order_by="day")
    same_run = run_id == run_id.shift(1).over("endpoint", order_by="day")
    return (
        daily.join(covered, on="day", how="inner")
        .with_columns(
            gap_s=pl.when(same_run)
            .then((pl.col("first_ts") - prev).dt.total_microseconds() / MICROSECONDS_PER_SECOND)
            .otherwise(None)
        )
        .group_by("endpoint")
        .agg(
            stitched_intervals=pl.col("gap_s").count(),
            stitched_sum_s=pl.col("gap_s").sum(),
            stitched_sum2_s2=(pl.col("gap_s") ** 2).sum(),
        )
    )


def interarrival_moments(daily: pl.DataFrame, covered_days: list[date]) -> pl.DataFrame:
    """Per endpoint over the week: ``n_requests``, ``n_intervals``, ``mean_tau_s`` and ``sd_tau_s`` (seconds).

    ``daily`` holds one rollup row per endpoint and day (``endpoint, day, n_requests, n_intervals, sum_tau_s,
    sum_tau2_s2, first_ts, last_ts``) with the gap statistics *within* that day. The gap from an endpoint's last
    request before midnight to its next request is added as one more interval when every day in between is in
    ``covered_days``; gaps across an uncovered day are not counted. Rows of uncovered days and rows without
    requests are ignored. ``sd_tau_s`` is the population standard deviation; both moments are null when the
    endpoint has no interval.
    """
    active = daily.filter(pl.col("n_requests") > 0, pl.col("day").is_in(covered_days))
    within = active.group_by("endpoint").agg(
        pl.col("n_requests").sum(),
        pl.col("n_intervals").sum(),
        pl.col("sum_tau_s").sum(),
        pl.col("sum_tau2_s2").sum(),
    )
    stitched = _stitched_gaps(active, covered_days)
    n_intervals = pl.col("n_intervals") + pl.col("stitched_intervals")
    mean = (pl.col("sum_tau_s") + pl.col("stitched_sum_s")) / n_intervals
    mean_square = (pl.col("sum_tau2_s2") + pl.col("stitched_sum2_s2")) / n_intervals
    return (
        within.join(stitched, on="endpoint", how="left")
        .with_columns(pl.col("^stitched_.*$").fill_null(0))
        .select(
            "endpoint",
            pl.col("n_requests").cast(pl.Int64),
            n_intervals.cast(pl.Int64).alias("n_intervals"),
            pl.when(n_intervals > 0).then(mean).alias("mean_tau_s"),
            pl.when(n_intervals > 0)
            .then((mean_square - mean**2).clip(lower_bound=0).sqrt())
            .alias("sd_tau_s"),
        )
        .sort("endpoint")
    )


def burstiness_metrics(moments: pl.DataFrame) -> pl.DataFrame:
    """``moments`` plus ``burstiness_b`` (Goh–Barabási) and ``burstiness_an`` (Kim–Jo), null where undefined.

    Same formulas as ``goh_barabasi_b`` and ``kim_jo_an``, vectorised over the rows (one per endpoint).
    """
    mean, sd, n = pl.col("mean_tau_s"), pl.col("sd_tau_s"), pl.col("n_requests").cast(pl.Float64)
    r = sd / mean
    up, down = (n + 1).sqrt(), (n - 1).sqrt()
    return moments.with_columns(
        burstiness_b=pl.when(sd + mean != 0).then((sd - mean) / (sd + mean)),
        burstiness_an=pl.when((n >= 3) & (mean != 0)).then((up * r - down) / ((up - 2) * r + down)),
    )
