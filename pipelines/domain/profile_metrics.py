"""Weekly traffic profile of each endpoint: scale, baseline stability, burst and latency classes
(see docs/metrics.md#time and docs/metrics.md#the-endpoint-profile).

Inputs are per-minute rollups (``endpoint, minute, requests, tokens``), never raw requests, so the cost grows
with endpoints × minutes. Only *covered* days (days with ingested data) count; inside them every minute is
present, zero-filled (``dense_minutes``). Standard deviations and variances are population statistics and
percentiles interpolate linearly between order statistics (numpy's default, DuckDB's quantile_cont).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import polars as pl

SECONDS_PER_DAY = 86_400
HOURS_PER_DAY = 24


@dataclass(frozen=True)
class ProfileThresholds:
    """Class thresholds (docs/metrics.md#classes); shares and ratios are fractions, defaults as shipped in
    defaults.yaml."""

    steady_min_baseline_ratio: float = 0.5
    steady_max_daily_cv: float = 0.2
    steady_min_active_hour_share: float = 0.95
    sporadic_max_active_hour_share: float = 0.5
    bursty_min_burstiness_an: float = 0.3
    bursty_min_peak_to_mean: float = 10.0
    smooth_max_burstiness_an: float = 0.1
    smooth_max_p99_to_mean: float = 3.0
    interactive_min_share: float = 0.8
    offline_min_share: float = 0.8
    mixed_min_signal_coverage: float = 0.5


def _minute_grid(covered_days: list[date]) -> pl.DataFrame:
    """Every minute (Datetime us, UTC) of the covered days, 1440 per day, in order."""
    starts = [datetime.combine(day, time(), tzinfo=UTC) for day in sorted(set(covered_days))]
    ranges = [
        pl.datetime_range(start, start + timedelta(days=1), "1m", closed="left", time_unit="us", eager=True)
        for start in starts
    ]
    minutes = pl.concat(ranges) if ranges else pl.Series([], dtype=pl.Datetime("us", "UTC"))
    return pl.DataFrame({"minute": minutes})


def dense_minutes(minutes: pl.DataFrame, covered_days: list[date]) -> pl.DataFrame:
    """Zero-filled ``endpoint, minute, requests, tokens``: every minute of every covered day for every endpoint.

    ``minutes`` holds sparse per-minute rows (``minute`` a UTC Datetime truncated to the minute; ``tokens`` =
    input + output). Rows outside the covered days are dropped; endpoints are those with a row in covered time.
    """
    grid = _minute_grid(covered_days)
    sparse = (
        minutes.with_columns(pl.col("minute").dt.truncate("1m"))
        .filter(pl.col("minute").dt.date().is_in(covered_days))
        .group_by("endpoint", "minute")
        .agg(pl.col("requests").sum().cast(pl.Int64), pl.col("tokens").sum().cast(pl.Int64))
    )
    endpoints = sparse.select("endpoint").unique().sort("endpoint")
    # The cross join is endpoint-major and the left join keeps that order: sorted without a sort of 10 M rows.
    return (
        endpoints.join(grid, how="cross")
        .join(sparse, on=["endpoint", "minute"], how="left", maintain_order="left")
        .with_columns(pl.col("requests", "tokens").fill_null(0))
    )


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator, null where the denominator is 0."""
    return pl.when(denominator != 0).then(numerator / denominator)


def _minute_stats(dense: pl.DataFrame) -> pl.DataFrame:
    """Per endpoint: tokens, peak/p95/p99 tokens per second over minutes, Fano factor of requests per minute."""
    tps = pl.col("tokens") / 60
    requests = pl.col("requests").cast(pl.Float64)
    return dense.group_by("endpoint").agg(
        pl.col("tokens").sum(),
        peak_tps=tps.max(),
        p95_tps=tps.quantile(0.95, interpolation="linear"),
        p99_tps=tps.quantile(0.99, interpolation="linear"),
        fano=_ratio(requests.var(ddof=0), requests.mean()),
    )


def _hour_stats(dense: pl.DataFrame) -> pl.DataFrame:
    """Per endpoint: baseline (P10 of hourly tokens), its ratio to P50, hourly CV, share of active hours."""
    hourly = dense.group_by("endpoint", pl.col("minute").dt.truncate("1h")).agg(
        pl.col("tokens").sum(), pl.col("requests").sum()
    )
    p10 = pl.col("tokens").quantile(0.1, interpolation="linear")
    p50 = pl.col("tokens").quantile(0.5, interpolation="linear")
    return hourly.group_by("endpoint").agg(
        baseline_tph=p10,
        baseline_ratio=pl.when(p50 > 0).then(p10 / p50).otherwise(0.0),
        hourly_cv=_ratio(pl.col("tokens").std(ddof=0), pl.col("tokens").mean()),
        active_hour_share=(pl.col("requests") > 0).mean(),
    )


def _day_stats(dense: pl.DataFrame) -> pl.DataFrame:
    """Per endpoint: coefficient of variation of daily tokens."""
    daily = dense.group_by("endpoint", pl.col("minute").dt.date()).agg(pl.col("tokens").sum())
    return daily.group_by("endpoint").agg(
        daily_cv=_ratio(pl.col("tokens").std(ddof=0), pl.col("tokens").mean())
    )


def scale_and_stability(dense: pl.DataFrame, covered_days: list[date]) -> pl.DataFrame:
    """Scale, stability and minute-level burst metrics per endpoint from ``dense_minutes`` output
    (docs/metrics.md#scale, docs/metrics.md#baseline-stability, docs/metrics.md#burstiness).

    Units: ``tokens`` (count), ``mean_tps``/``peak_tps``/``p95_tps``/``p99_tps`` (tokens per second),
    ``tokens_per_day``, ``baseline_tph`` and ``mean_tokens_per_hour`` (tokens per day / hour of covered time);
    ``baseline_ratio``, ``hourly_cv``, ``daily_cv``, ``active_hour_share``, ``fano``, ``peak_to_mean``,
    ``p99_to_mean`` are unitless (ratios are null where their denominator is 0, except ``baseline_ratio`` = 0
    when the hourly median is 0); ``coverage_days`` counts the covered days.
    """
    coverage_days = len(set(covered_days))
    tokens = pl.col("tokens").cast(pl.Float64)
    mean_tps = tokens / (coverage_days * SECONDS_PER_DAY)
    return (
        _minute_stats(dense)
        .join(_hour_stats(dense), on="endpoint", how="left")
        .join(_day_stats(dense), on="endpoint", how="left")
        .with_columns(
            mean_tps=mean_tps,
            tokens_per_day=tokens / coverage_days,
            mean_tokens_per_hour=tokens / (coverage_days * HOURS_PER_DAY),
            peak_to_mean=_ratio(pl.col("peak_tps"), mean_tps),
            p99_to_mean=_ratio(pl.col("p99_tps"), mean_tps),
            coverage_days=pl.lit(coverage_days, dtype=pl.Int64),
        )
        .sort("endpoint")
    )


def classify(profiles: pl.DataFrame, t: ProfileThresholds) -> pl.DataFrame:
    """``profiles`` plus ``stability_class``, ``burst_class`` and ``latency_class`` (docs/metrics.md#classes).

    Needs ``baseline_ratio, daily_cv, active_hour_share, burstiness_an, peak_to_mean, p99_to_mean,
    interactive_share, offline_share, signal_coverage``. A null metric never meets a condition.
    """

    def meets(condition: pl.Expr) -> pl.Expr:
        return condition.fill_null(False)

    steady = meets(
        (pl.col("baseline_ratio") >= t.steady_min_baseline_ratio)
        & (pl.col("daily_cv") <= t.steady_max_daily_cv)
        & (pl.col("active_hour_share") >= t.steady_min_active_hour_share)
    )
    sporadic = meets(pl.col("active_hour_share") < t.sporadic_max_active_hour_share)
    bursty = meets(pl.col("burstiness_an") >= t.bursty_min_burstiness_an) | meets(
        pl.col("peak_to_mean") >= t.bursty_min_peak_to_mean
    )
    smooth = meets(
        (pl.col("burstiness_an") < t.smooth_max_burstiness_an)
        & (pl.col("p99_to_mean") < t.smooth_max_p99_to_mean)
    )
    interactive = meets(pl.col("interactive_share") >= t.interactive_min_share)
    offline = meets(pl.col("offline_share") >= t.offline_min_share)
    mixed = meets(pl.col("signal_coverage") >= t.mixed_min_signal_coverage)
    return profiles.with_columns(
        stability_class=pl.when(steady)
        .then(pl.lit("steady"))
        .when(sporadic)
        .then(pl.lit("sporadic"))
        .otherwise(pl.lit("variable")),
        burst_class=pl.when(bursty)
        .then(pl.lit("bursty"))
        .when(smooth)
        .then(pl.lit("smooth"))
        .otherwise(pl.lit("moderate")),
        latency_class=pl.when(interactive)
        .then(pl.lit("interactive"))
        .when(offline)
        .then(pl.lit("offline"))
        .when(mixed)
        .then(pl.lit("mixed"))
        .otherwise(pl.lit("unknown")),
    )


def wow_change(
    this_week: pl.DataFrame, last_week: pl.DataFrame | None, key: str = "endpoint"
) -> pl.DataFrame:
    """``this_week`` plus ``wow_change``: its ``mean_tokens_per_hour`` / last week's − 1 (unitless fraction).

    Null when there is no last week, the endpoint is absent from it, or last week's mean was 0.
    """
    if last_week is None:
        return this_week.with_columns(wow_change=pl.lit(None, dtype=pl.Float64))
    previous = last_week.select(key, pl.col("mean_tokens_per_hour").alias("_last_tph"))
    return (
        this_week.join(previous, on=key, how="left", maintain_order="left")
        .with_columns(wow_change=_ratio(pl.col("mean_tokens_per_hour"), pl.col("_last_tph")) - 1)
        .drop("_last_tph")
    )


def _num(value: float | None, digits: int, *thresholds: float) -> str:
    """A metric for a sentence: ``0.42`` / ``12.0``; ``n/a`` when it could not be computed (NULL). More digits
    (up to 4) when the rounded value would read as equal to a threshold it is not equal to (9.98 is not "10.0")."""
    if value is None:
        return "n/a"
    while digits < 4 and any(value != t and round(value, digits) == t for t in thresholds):
        digits += 1
    return f"{value:.{digits}f}"


def burst_reason(
    burst_class: str,
    burstiness_an: float | None,
    peak_to_mean: float | None,
    p99_to_mean: float | None,
    t: ProfileThresholds,
) -> str:
    """The burst sentence of a recommendation, quoting the metric(s) that set ``burst_class`` against their
    thresholds (docs/metrics.md#burst-class): ``bursty: A_n = 0.42 >= 0.30``, ``bursty: peak/mean = 12.0 >= 10``,
    ``smooth: A_n = 0.05 < 0.10 and p99/mean = 1.8 < 3``, or for ``moderate`` why it is neither. A_n is Kim–Jo's
    burstiness (unitless, -1..1), the ratios are of tokens per second over the mean (unitless)."""
    an = _num(burstiness_an, 2, t.bursty_min_burstiness_an, t.smooth_max_burstiness_an)
    peak = _num(peak_to_mean, 1, t.bursty_min_peak_to_mean)
    p99 = _num(p99_to_mean, 1, t.smooth_max_p99_to_mean)
    if burst_class == "bursty":
        parts = []
        if burstiness_an is not None and burstiness_an >= t.bursty_min_burstiness_an:
            parts.append(f"A_n = {an} >= {t.bursty_min_burstiness_an:g}")
        if peak_to_mean is not None and peak_to_mean >= t.bursty_min_peak_to_mean:
            parts.append(f"peak/mean = {peak} >= {t.bursty_min_peak_to_mean:g}")
        return "bursty: " + (" and ".join(parts) or f"A_n = {an}, peak/mean = {peak}")
    if burst_class == "smooth":
        return (
            f"smooth: A_n = {an} < {t.smooth_max_burstiness_an:g} and p99/mean = {p99} < "
            f"{t.smooth_max_p99_to_mean:g}"
        )
    return (
        f"{burst_class}: A_n = {an} and peak/mean = {peak}, below the bursty thresholds "
        f"({t.bursty_min_burstiness_an:g}, {t.bursty_min_peak_to_mean:g}); not smooth: smooth needs A_n < "
        f"{t.smooth_max_burstiness_an:g} and p99/mean < {t.smooth_max_p99_to_mean:g} (p99/mean = {p99})"
    )
