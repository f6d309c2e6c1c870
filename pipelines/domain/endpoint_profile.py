"""One weekly profile row per endpoint, assembled from the daily rollups of the week's covered days
(see docs/metrics.md#the-endpoint-profile).

Pure Polars: the inputs are the rollup frames (see ``pipelines/lake/rollups.py`` for their columns), so a test can
build them by hand. The metric definitions live in the modules this one calls.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.domain.burstiness import burstiness_metrics, interarrival_moments
from pipelines.domain.histogram import histogram_percentile
from pipelines.domain.profile_metrics import (
    ProfileThresholds,
    classify,
    dense_minutes,
    scale_and_stability,
    wow_change,
)

# Per-request percentiles kept in the profile: (histogram metric, quantile, output column).
PERCENTILES: tuple[tuple[str, float, str], ...] = (
    ("input_tokens", 0.50, "input_tokens_p50"),
    ("input_tokens", 0.95, "input_tokens_p95"),
    ("output_tokens", 0.50, "output_tokens_p50"),
    ("output_tokens", 0.95, "output_tokens_p95"),
    ("latency_ms", 0.50, "latency_p50_ms"),
    ("latency_ms", 0.95, "latency_p95_ms"),
    ("latency_ms", 0.99, "latency_p99_ms"),
    ("ttft_ms", 0.95, "ttft_p95_ms"),
)

PROFILE_COLUMNS: tuple[str, ...] = (
    "week_start", "endpoint", "model", "current_mode", "coverage_days",
    "requests", "input_tokens", "output_tokens", "cached_input_tokens", "tokens_per_day",
    "mean_tps", "peak_tps", "p95_tps", "p99_tps",
    "input_tokens_p50", "input_tokens_p95", "output_tokens_p50", "output_tokens_p95",
    "baseline_tph", "baseline_ratio", "hourly_cv", "daily_cv", "active_hour_share", "mean_tokens_per_hour", "wow_change",
    "peak_to_mean", "p99_to_mean", "fano", "burstiness_b", "burstiness_an",
    "interactive_share", "offline_share", "signal_coverage",
    "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "ttft_p95_ms", "error_rate",
    "list_cost_usd", "billed_cost_usd", "unpriced_requests", "priced",
    "stability_class", "burst_class", "latency_class",
    "source_grain", "unavailable_metrics", "unavailable_reason",
)  # fmt: skip

# Aggregated sources (docs/metrics.md#aggregated-sources): what cannot be known from counts per time bucket.
# Needs single requests (arrival times, each request's size, latency and outcome): unknown at any bucket width.
REQUEST_LEVEL_METRICS: tuple[str, ...] = (
    "burstiness_b", "burstiness_an",
    "input_tokens_p50", "input_tokens_p95", "output_tokens_p50", "output_tokens_p95",
    "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "ttft_p95_ms", "error_rate",
)  # fmt: skip
# Needs minute counts: unknown when a bucket is coarser than a minute (its counts are spread evenly over it).
MINUTE_METRICS: tuple[str, ...] = ("peak_tps", "p95_tps", "p99_tps", "peak_to_mean", "p99_to_mean", "fano")
# Needs hour counts: unknown when a bucket is a day.
HOUR_METRICS: tuple[str, ...] = ("baseline_tph", "baseline_ratio", "hourly_cv", "active_hour_share")
# Bucket widths (seconds) and their names; "request" is a source of single requests.
GRAINS: dict[int, str] = {60: "1m", 3600: "1h", 86400: "1d"}


def _totals(minutes: pl.LazyFrame) -> pl.DataFrame:
    """Per endpoint: counts, tokens, spend, signal shares, dominant model and current deployment mode."""
    by_model = (
        minutes.group_by("endpoint", "model")
        .agg(
            model_tokens=(pl.col("input_tokens") + pl.col("output_tokens")).sum(),
            model_requests=pl.col("requests").sum(),
        )
        .collect()
    )
    dominant = (
        by_model.sort(["model_tokens", "model_requests", "model"], descending=[True, True, False])
        .group_by("endpoint", maintain_order=True)
        .first()
        .select("endpoint", "model")
    )
    requests = pl.col("requests").sum()
    totals = (
        minutes.group_by("endpoint")
        .agg(
            requests=requests,
            input_tokens=pl.col("input_tokens").sum(),
            output_tokens=pl.col("output_tokens").sum(),
            cached_input_tokens=pl.col("cached_input_tokens").sum(),
            list_cost_usd=pl.col("list_cost_usd").sum(),
            billed_cost_usd=pl.when(pl.col("billed_cost_usd").is_not_null().any()).then(
                pl.col("billed_cost_usd").sum()
            ),
            unpriced_requests=pl.col("unpriced_requests").sum(),
            error_rate=1 - pl.col("ok_requests").sum() / requests,
            interactive_share=pl.col("interactive_requests").sum() / requests,
            offline_share=pl.col("offline_requests").sum() / requests,
            signal_coverage=pl.col("signal_requests").sum() / requests,
            dedicated_requests=pl.col("dedicated_requests").sum(),
            batch_requests=pl.col("batch_requests").sum(),
            **_bucket_totals(minutes),
        )
        .collect()
    )
    serverless_requests = pl.col("requests") - pl.col("dedicated_requests") - pl.col("batch_requests")
    return totals.join(dominant, on="endpoint").with_columns(
        priced=pl.col("unpriced_requests") == 0,
        list_cost_usd=pl.when(pl.col("unpriced_requests") == 0).then(pl.col("list_cost_usd")),
        current_mode=pl.when(
            (pl.col("dedicated_requests") > serverless_requests)
            & (pl.col("dedicated_requests") >= pl.col("batch_requests"))
        )
        .then(pl.lit("dedicated"))
        .when(pl.col("batch_requests") > serverless_requests)
        .then(pl.lit("batch"))
        .otherwise(pl.lit("serverless")),
    )


def _bucket_totals(minutes: pl.LazyFrame) -> dict[str, pl.Expr]:
    """Per endpoint: the requests that came from aggregated usage buckets and the coarsest bucket width behind it
    (seconds; null for request rows only). Minute rollups written before aggregated sources have neither column."""
    names = minutes.collect_schema().names()
    if "bucket_width_s" not in names:
        return {
            "bucket_requests": pl.lit(0, dtype=pl.Int64),
            "bucket_width_s": pl.lit(None, dtype=pl.Int64),
        }
    return {
        "bucket_requests": pl.col("bucket_requests").fill_null(0).sum().cast(pl.Int64),
        "bucket_width_s": pl.col("bucket_width_s").max().cast(pl.Int64),
    }


def unavailable_metrics(grain: str, mixed: bool) -> tuple[list[str], str | None]:
    """Which profile metrics an endpoint whose coarsest source is ``grain`` ('request', '1m', '1h', '1d') cannot
    have, and the sentence saying why (docs/metrics.md#aggregated-sources); ``mixed``: part of its requests are
    single requests. ([], None) for an endpoint of single requests only."""
    if grain == "request":
        return [], None
    metrics = list(REQUEST_LEVEL_METRICS)
    source = "part of its traffic is" if mixed else "its traffic is"
    reason = (
        f"{source} aggregated usage in {grain} buckets, without single requests: arrival gaps (burstiness_b, "
        "burstiness_an), per-request token and latency percentiles and failures (error_rate) are unknown"
    )
    if grain in ("1h", "1d"):
        metrics += MINUTE_METRICS
        reason += (
            f"; minute bursts (peak_tps, p95_tps, p99_tps, peak_to_mean, p99_to_mean, fano) are unknown at the "
            f"{grain} grain: each bucket is spread evenly over its minutes, which hides its bursts"
        )
    if grain == "1d":
        metrics += HOUR_METRICS
        reason += "; hour shape (baseline_tph, baseline_ratio, hourly_cv, active_hour_share) is unknown within a day"
    return metrics, reason


def _mark_unavailable(profiles: pl.DataFrame) -> pl.DataFrame:
    """``profiles`` with ``source_grain``, ``unavailable_metrics`` and ``unavailable_reason``, and every metric an
    endpoint's aggregated sources cannot give set to null (before the classes are read off them)."""
    grains, metric_lists, reasons = [], [], []
    for width, bucket_requests, requests in profiles.select(
        "bucket_width_s", "bucket_requests", "requests"
    ).rows():
        grain = "request" if width is None else GRAINS.get(int(width), "1d")
        metrics, reason = unavailable_metrics(grain, mixed=(bucket_requests or 0) < (requests or 0))
        grains.append(grain)
        metric_lists.append(metrics)
        reasons.append(reason)
    profiles = profiles.with_columns(
        source_grain=pl.Series(grains, dtype=pl.String),
        unavailable_metrics=pl.Series(metric_lists, dtype=pl.List(pl.String)),
        unavailable_reason=pl.Series(reasons, dtype=pl.String),
    )
    every = REQUEST_LEVEL_METRICS + MINUTE_METRICS + HOUR_METRICS
    return profiles.with_columns(
        pl.when(pl.col("unavailable_metrics").list.contains(pl.lit(name)))
        .then(None)
        .otherwise(pl.col(name))
        .alias(name)
        for name in every
    )


def _percentiles(histograms: pl.DataFrame) -> pl.DataFrame:
    """Per endpoint, the per-request percentiles of PERCENTILES merged from daily histograms (null when absent)."""
    result = histograms.select("endpoint").unique()
    for metric, quantile, column in PERCENTILES:
        values = histogram_percentile(
            histograms.filter(pl.col("metric") == metric), by=["endpoint"], q=quantile, name=column
        )
        result = result.join(values, on="endpoint", how="left")
    return result


# How many dense (endpoint, minute) rows to hold at once: endpoints are profiled in groups so that memory stays
# bounded however many endpoints a week has (a dense week is 10,080 rows per endpoint).
DENSE_ROWS_PER_CHUNK = 1_000_000


def _scale_and_stability_in_chunks(per_minute: pl.DataFrame, covered_days: list[date]) -> pl.DataFrame:
    """``scale_and_stability`` of every endpoint, computed a group of endpoints at a time (same result)."""
    endpoints = per_minute.select("endpoint").unique().sort("endpoint")["endpoint"]
    per_chunk = max(1, DENSE_ROWS_PER_CHUNK // max(1, 1440 * len(set(covered_days))))
    parts = []
    for start in range(0, len(endpoints), per_chunk):
        chunk = per_minute.filter(pl.col("endpoint").is_in(endpoints[start : start + per_chunk].implode()))
        parts.append(scale_and_stability(dense_minutes(chunk, covered_days), covered_days))
    if not parts:
        return scale_and_stability(dense_minutes(per_minute, covered_days), covered_days)
    return pl.concat(parts).sort("endpoint")


def build_endpoint_profiles(
    minutes: pl.DataFrame | pl.LazyFrame,
    interarrival: pl.DataFrame | pl.LazyFrame,
    histograms: pl.DataFrame | pl.LazyFrame,
    covered_days: list[date],
    week_start: date,
    thresholds: ProfileThresholds,
    last_week: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The week's profile of every endpoint with traffic on a covered day: every metric and class of
    docs/metrics.md#the-endpoint-profile.

    ``minutes``, ``interarrival`` and ``histograms`` are the daily rollups of the week's covered days (frames or
    lazy scans: the minute rollup is aggregated before it is materialized);
    ``last_week`` is last week's profile table (for ``wow_change``), or None.
    """
    minutes = minutes.lazy()
    per_minute = (
        minutes.group_by("endpoint", "minute")
        .agg(pl.col("requests").sum(), tokens=(pl.col("input_tokens") + pl.col("output_tokens")).sum())
        .collect()
    )
    interarrival = interarrival.lazy().collect()
    histograms = (  # merged across the days before anything else: one row per endpoint, metric and bucket
        histograms.lazy().group_by("endpoint", "metric", "bucket").agg(pl.col("n").sum()).collect()
    )
    stability = _scale_and_stability_in_chunks(per_minute, covered_days).drop("tokens")
    bursts = burstiness_metrics(interarrival_moments(interarrival, covered_days)).select(
        "endpoint", "burstiness_b", "burstiness_an"
    )
    profiles = (
        _totals(minutes)
        .join(stability, on="endpoint", how="left")
        .join(bursts, on="endpoint", how="left")
        .join(_percentiles(histograms), on="endpoint", how="left")
        .with_columns(week_start=pl.lit(week_start, dtype=pl.Date))
    )
    profiles = wow_change(classify(_mark_unavailable(profiles), thresholds), last_week)
    return profiles.select(PROFILE_COLUMNS).sort("endpoint")
