"""Mergeable histograms of per-request values (token counts, latencies in ms) for weekly percentiles.

Daily rollups keep, per endpoint and day, how many requests fell in each *bucket*; adding the counts of seven days
gives the week's histogram, and ``histogram_percentile`` reads percentiles off it.

Bucket rule (values must be >= 0):
- below 1024 the bucket is the integer part of the value (``floor``), so integers 0..1023 are exact;
- from 1024 up, buckets are log-spaced with ratio 1.01: bucket ``1024 + j`` holds [1024·1.01^j, 1024·1.01^(j+1)),
  i.e. ``j = floor(ln(value / 1024) / ln(1.01))``.
A bucket is represented by its arithmetic midpoint (its lower edge times 1.005 for log buckets), which is within
0.5% of every value in the bucket. ``BUCKET_SQL_EXPRESSION`` computes the same bucket in DuckDB.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import polars as pl

EXACT_LIMIT = 1024
RATIO = 1.01
# One Python float shared by numpy and the SQL text, so both divide by exactly the same number.
LOG_RATIO = math.log(RATIO)

# SQL twin of ``bucket_of``. ``{col}`` is a column name chosen by code, never user input.
BUCKET_SQL_EXPRESSION = (
    f"CASE WHEN {{col}} < {EXACT_LIMIT} THEN CAST(floor({{col}}) AS BIGINT) "
    f"ELSE {EXACT_LIMIT} + CAST(floor(ln({{col}} / {EXACT_LIMIT}.0) / {LOG_RATIO!r}) AS BIGINT) END"
)


def bucket_of(value: npt.ArrayLike) -> np.ndarray:
    """Bucket index (int64) of each value (same unit as stored: tokens or ms); see the module docstring."""
    values = np.asarray(value, dtype=np.float64)
    if np.isnan(values).any() or (values < 0).any():
        raise ValueError("histogram values must be non-negative numbers")
    exact = values < EXACT_LIMIT
    safe = np.where(exact, EXACT_LIMIT, values)  # keeps log() away from the exact range
    log_bucket = EXACT_LIMIT + np.floor(np.log(safe / EXACT_LIMIT) / LOG_RATIO)
    return np.where(exact, np.floor(values), log_bucket).astype(np.int64)


def bucket_value(bucket: npt.ArrayLike) -> np.ndarray:
    """Representative value (float64, unit of the bucketed values) of each bucket index: its midpoint."""
    buckets = np.asarray(bucket, dtype=np.int64)
    log_steps = np.maximum(buckets - EXACT_LIMIT, 0).astype(np.float64)
    log_value = EXACT_LIMIT * RATIO**log_steps * (1 + RATIO) / 2
    return np.where(buckets < EXACT_LIMIT, buckets.astype(np.float64), log_value)


def _bucket_value_expr(bucket: pl.Expr) -> pl.Expr:
    """Polars version of ``bucket_value``."""
    log_value = EXACT_LIMIT * pl.lit(RATIO).pow(bucket - EXACT_LIMIT) * (1 + RATIO) / 2
    return pl.when(bucket < EXACT_LIMIT).then(bucket.cast(pl.Float64)).otherwise(log_value)


def _merged_counts(hist: pl.DataFrame, keys: list[str], bucket_col: str, count_col: str) -> pl.DataFrame:
    """Counts ``_n`` added up per group and bucket, empty buckets dropped, sorted by group then bucket."""
    return (
        hist.group_by([*keys, bucket_col])
        .agg(pl.col(count_col).sum().alias("_n"))
        .filter(pl.col("_n") > 0)
        .sort([*keys, bucket_col])
    )


def histogram_percentile(
    hist: pl.DataFrame,
    by: list[str],
    q: float,
    bucket_col: str = "bucket",
    count_col: str = "n",
    name: str = "value",
) -> pl.DataFrame:
    """Percentile ``q`` (0..1) per group ``by`` of a bucket histogram, as column ``name`` (unit of the values).

    Rows with the same group and bucket are added up first (so daily histograms can be passed as they are).
    Like DuckDB's quantile_cont, the answer interpolates linearly between the order statistics at positions
    floor(h) and ceil(h), h = (N − 1)·q, each taken as the value of its bucket: exact for integers below 1024
    (P50 of [1, 2] is 1.5), within 0.5% above. Groups without any counted value are left out.
    """
    if not 0 <= q <= 1:
        raise ValueError(f"percentile q must be within 0..1, got {q}")
    keys = by or ["_all"]
    data = hist if by else hist.with_columns(_all=pl.lit(0))
    merged = _merged_counts(data, keys, bucket_col, count_col)
    end = pl.col("_n").cum_sum().over(keys)
    position = (pl.col("_n").sum().over(keys) - 1) * q
    ranked = merged.with_columns(
        _value=_bucket_value_expr(pl.col(bucket_col)),
        _start=end - pl.col("_n"),
        _end=end,
        _lo=position.floor(),
        _hi=position.ceil(),
        _frac=position - position.floor(),
    )

    def value_at(index: str) -> pl.Expr:
        holds = (pl.col("_start") <= pl.col(index)) & (pl.col(index) < pl.col("_end"))
        return pl.col("_value").filter(holds).first()

    result = ranked.group_by(keys).agg(
        value_at("_lo").alias("_v_lo"), value_at("_hi").alias("_v_hi"), pl.col("_frac").first()
    )
    percentile = pl.col("_v_lo") + pl.col("_frac") * (pl.col("_v_hi") - pl.col("_v_lo"))
    out = result.select(*keys, percentile.alias(name)).sort(keys)
    return out if by else out.drop("_all")
