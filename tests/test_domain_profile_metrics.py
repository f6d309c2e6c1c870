"""Weekly profile metrics from minute rollups: scale, stability, Fano, classes and week-over-week change."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import polars as pl
import pytest

from pipelines.domain.burstiness import burstiness_metrics, interarrival_moments
from pipelines.domain.profile_metrics import (
    ProfileThresholds,
    burst_reason,
    classify,
    dense_minutes,
    scale_and_stability,
    wow_change,
)
from tests.test_domain_burstiness import WEEK, daily_rollup, poisson_seconds, raw_requests

DAY_S = 86_400


def minute_rollup(raw: pl.DataFrame, tokens_per_request: int = 100) -> pl.DataFrame:
    """What the daily rollup stores per endpoint and minute, from raw ``endpoint, ts`` rows."""
    return raw.group_by("endpoint", minute=pl.col("ts").dt.truncate("1m")).agg(
        requests=pl.len().cast(pl.Int64), tokens=(pl.len() * tokens_per_request).cast(pl.Int64)
    )


def weekly_profile(raw: pl.DataFrame, covered: list[date]) -> dict:
    """One endpoint's full profile row (classified with default thresholds; no latency signal)."""
    scale = scale_and_stability(dense_minutes(minute_rollup(raw), covered), covered)
    bursts = burstiness_metrics(interarrival_moments(daily_rollup(raw), covered))
    profile = scale.join(bursts, on="endpoint").with_columns(
        interactive_share=pl.lit(0.0), offline_share=pl.lit(0.0), signal_coverage=pl.lit(0.0)
    )
    return classify(profile, ProfileThresholds()).row(0, named=True)


def sparse(rows: list[tuple[str, str, int, int]]) -> pl.DataFrame:
    """Sparse minute rows from (endpoint, ISO minute, requests, tokens)."""
    return pl.DataFrame(
        rows,
        schema={"endpoint": pl.String, "minute": pl.String, "requests": pl.Int64, "tokens": pl.Int64},
        orient="row",
    ).with_columns(pl.col("minute").str.to_datetime(time_unit="us", time_zone="UTC"))


def test_thresholds_are_frozen() -> None:
    # reading them from the settings (and refusing bad ones) is tested in test_settings.py
    t = dataclasses.replace(ProfileThresholds(), bursty_min_peak_to_mean=20.0)
    assert t.bursty_min_peak_to_mean == 20.0 and t.offline_min_share == ProfileThresholds().offline_min_share
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.offline_min_share = 0.1  # type: ignore[misc]


def test_dense_minutes_zero_fills_covered_days_only() -> None:
    rows = sparse(
        [
            ("a", "2024-01-01T00:00:00+00:00", 2, 50),
            ("a", "2024-01-03T23:59:00+00:00", 1, 7),
            ("b", "2024-01-03T12:30:00+00:00", 4, 40),
            ("b", "2024-01-02T12:30:00+00:00", 9, 90),  # Tuesday is not covered
        ]
    )
    covered = [date(2024, 1, 3), date(2024, 1, 1)]
    dense = dense_minutes(rows, covered)
    assert dense.schema == pl.Schema(
        {"endpoint": pl.String, "minute": pl.Datetime("us", "UTC"), "requests": pl.Int64, "tokens": pl.Int64}
    )
    assert dense.height == 2 * 2 * 1440
    per_endpoint = (
        dense.group_by("endpoint").agg(pl.len(), pl.col("requests", "tokens").sum()).sort("endpoint")
    )
    assert per_endpoint.rows() == [("a", 2880, 3, 57), ("b", 2880, 4, 40)]
    assert set(dense["minute"].dt.date().unique().to_list()) == set(covered)
    assert dense.filter(pl.col("requests") == 0)["tokens"].sum() == 0


def test_known_series_percentiles_and_scale() -> None:
    # One covered day; minute m carries 60·m tokens (m/s) and one request.
    minutes = pl.datetime_range(
        pl.datetime(2024, 1, 1, time_zone="UTC"),
        pl.datetime(2024, 1, 2, time_zone="UTC"),
        "1m",
        closed="left",
        eager=True,
    ).dt.cast_time_unit("us")
    m = np.arange(1440)
    rows = pl.DataFrame({"endpoint": "k", "minute": minutes, "requests": 1, "tokens": 60 * m})
    covered = [date(2024, 1, 1)]
    row = scale_and_stability(dense_minutes(rows, covered), covered).row(0, named=True)
    hourly = 216_000 * np.arange(24) + 106_200  # Σ of 60·m over the 60 minutes of hour k
    assert row["tokens"] == 60 * 1439 * 1440 // 2
    assert row["mean_tps"] == pytest.approx(719.5)
    assert row["peak_tps"] == 1439.0
    assert row["p95_tps"] == pytest.approx(0.95 * 1439)  # 1367.05: interpolated between minutes 1367 and 1368
    assert row["p99_tps"] == pytest.approx(0.99 * 1439)
    assert row["baseline_tph"] == pytest.approx(216_000 * 2.3 + 106_200)
    assert row["baseline_ratio"] == pytest.approx((216_000 * 2.3 + 106_200) / (216_000 * 11.5 + 106_200))
    assert row["hourly_cv"] == pytest.approx(hourly.std() / hourly.mean())
    assert row["daily_cv"] == 0.0
    assert row["fano"] == 0.0
    assert row["peak_to_mean"] == pytest.approx(2.0)
    assert row["p99_to_mean"] == pytest.approx(0.99 * 1439 / 719.5)
    assert row["tokens_per_day"] == row["tokens"]
    assert row["mean_tokens_per_hour"] == pytest.approx(row["tokens"] / 24)
    assert row["coverage_days"] == 1


def test_three_covered_days() -> None:
    covered = [date(2024, 1, 1), date(2024, 1, 3), date(2024, 1, 7)]
    rows = sparse(
        [
            ("a", "2024-01-01T10:00:00+00:00", 1, 100),
            ("a", "2024-01-03T10:00:00+00:00", 1, 300),
            ("a", "2024-01-07T10:00:00+00:00", 1, 200),
        ]
    )
    row = scale_and_stability(dense_minutes(rows, covered), covered).row(0, named=True)
    assert row["coverage_days"] == 3
    assert row["tokens"] == 600
    assert row["mean_tps"] == pytest.approx(600 / (3 * DAY_S))
    assert row["tokens_per_day"] == pytest.approx(200.0)
    assert row["mean_tokens_per_hour"] == pytest.approx(600 / 72)
    assert row["daily_cv"] == pytest.approx(np.sqrt(20_000 / 3) / 200)
    assert row["active_hour_share"] == pytest.approx(3 / 72)


def test_poisson_week_acceptance() -> None:
    seconds = poisson_seconds(0.1, 7 * DAY_S, seed=42)
    assert len(seconds) >= 50_000
    row = weekly_profile(raw_requests("p", seconds), WEEK)
    assert 0.9 <= row["fano"] <= 1.1
    assert abs(row["burstiness_b"]) <= 0.05
    assert abs(row["burstiness_an"]) <= 0.05
    assert row["coverage_days"] == 7


def test_flash_crowd_is_bursty() -> None:
    background = poisson_seconds(0.1, 7 * DAY_S, seed=8)
    burst = 2 * DAY_S + 14 * 3600 + poisson_seconds(0.1 * 50, 600, seed=9)  # Wednesday 14:00–14:10
    calm = weekly_profile(raw_requests("api", background), WEEK)
    crowd = weekly_profile(raw_requests("api", np.sort(np.concatenate([background, burst]))), WEEK)
    assert calm["peak_to_mean"] < 10
    assert calm["burst_class"] != "bursty"
    assert crowd["peak_to_mean"] >= 10
    assert crowd["peak_to_mean"] > 4 * calm["peak_to_mean"]
    assert crowd["burst_class"] == "bursty"


def test_flat_constant_load_is_steady_and_smooth() -> None:
    row = weekly_profile(raw_requests("flat", np.arange(0, 7 * DAY_S, 6.0)), WEEK)
    assert row["hourly_cv"] == 0.0
    assert row["daily_cv"] == 0.0
    assert row["baseline_ratio"] == 1.0
    assert row["active_hour_share"] == 1.0
    assert row["fano"] == 0.0
    assert row["peak_to_mean"] == pytest.approx(1.0)
    assert row["burstiness_an"] == pytest.approx(-1.0, abs=1e-9)
    assert (row["stability_class"], row["burst_class"]) == ("steady", "smooth")


def test_three_hours_a_day_is_sporadic() -> None:
    morning = np.arange(9 * 3600, 12 * 3600, 6.0)
    seconds = np.concatenate([day * DAY_S + morning for day in range(7)])
    row = weekly_profile(raw_requests("cron", seconds), WEEK)
    assert row["active_hour_share"] == pytest.approx(3 / 24)
    assert row["baseline_tph"] == 0.0
    assert row["baseline_ratio"] == 0.0  # the hourly median is 0
    assert row["hourly_cv"] == pytest.approx(np.sqrt(7))  # 3 equal hours out of 24
    assert row["daily_cv"] == 0.0
    assert row["stability_class"] == "sporadic"


CLASS_CASES = [
    # baseline_ratio, daily_cv, active_hour_share, an, peak_to_mean, p99_to_mean, interactive, offline, coverage
    # -> stability, burst, latency
    ((0.5, 0.2, 0.95, 0.3, 1.0, 1.0, 0.8, 0.0, 0.8), ("steady", "bursty", "interactive")),
    ((0.49, 0.2, 0.95, None, 10.0, 1.0, 0.5, 0.8, 1.0), ("variable", "bursty", "offline")),
    ((0.5, 0.21, 1.0, None, 2.0, 1.0, 0.9, 0.9, 1.0), ("variable", "moderate", "interactive")),
    ((0.9, 0.0, 0.49, 0.09, 2.0, 2.99, 0.3, 0.3, 0.5), ("sporadic", "smooth", "mixed")),
    ((0.9, None, 0.5, 0.1, 2.0, 1.0, 0.3, 0.3, 0.49), ("variable", "moderate", "unknown")),
    ((None, 0.0, 1.0, 0.05, 9.99, 3.0, None, None, None), ("variable", "moderate", "unknown")),
]
CLASS_COLUMNS = [
    "baseline_ratio",
    "daily_cv",
    "active_hour_share",
    "burstiness_an",
    "peak_to_mean",
    "p99_to_mean",
    "interactive_share",
    "offline_share",
    "signal_coverage",
]


def test_classify_follows_the_domain_rules() -> None:
    profiles = pl.DataFrame(
        [metrics for metrics, _ in CLASS_CASES], schema=dict.fromkeys(CLASS_COLUMNS, pl.Float64), orient="row"
    )
    classes = classify(profiles, ProfileThresholds()).select(
        "stability_class", "burst_class", "latency_class"
    )
    assert classes.rows() == [expected for _, expected in CLASS_CASES]


def test_classify_uses_the_given_thresholds() -> None:
    profiles = pl.DataFrame(
        [CLASS_CASES[1][0]], schema=dict.fromkeys(CLASS_COLUMNS, pl.Float64), orient="row"
    )
    strict = ProfileThresholds(
        bursty_min_peak_to_mean=100.0, offline_min_share=0.9, steady_min_baseline_ratio=0.4
    )
    assert classify(profiles, strict).select(pl.col("^.*_class$")).row(0) == ("steady", "moderate", "mixed")


def test_wow_change() -> None:
    this_week = pl.DataFrame({"endpoint": ["a", "b", "c"], "mean_tokens_per_hour": [150.0, 10.0, 5.0]})
    last_week = pl.DataFrame({"endpoint": ["b", "a"], "mean_tokens_per_hour": [0.0, 100.0]})
    changed = wow_change(this_week, last_week)
    assert changed["endpoint"].to_list() == ["a", "b", "c"]
    assert changed["wow_change"].to_list() == [pytest.approx(0.5), None, None]
    assert wow_change(this_week, None)["wow_change"].to_list() == [None, None, None]


@pytest.mark.parametrize(
    ("burst_class", "an", "peak", "p99", "sentence"),
    [
        ("bursty", 0.42, 4.0, 2.0, "bursty: A_n = 0.42 >= 0.3"),
        ("bursty", 0.05, 12.0, 2.0, "bursty: peak/mean = 12.0 >= 10"),
        ("bursty", 0.42, 12.0, 2.0, "bursty: A_n = 0.42 >= 0.3 and peak/mean = 12.0 >= 10"),
        ("smooth", 0.05, 1.5, 1.8, "smooth: A_n = 0.05 < 0.1 and p99/mean = 1.8 < 3"),
        (
            "moderate",
            0.2,
            4.0,
            3.5,
            "moderate: A_n = 0.20 and peak/mean = 4.0, below the bursty thresholds (0.3, 10); not smooth: smooth "
            "needs A_n < 0.1 and p99/mean < 3 (p99/mean = 3.5)",
        ),
        ("bursty", None, 12.0, 2.0, "bursty: peak/mean = 12.0 >= 10"),  # A_n NULL: too few arrivals
        (
            "moderate",
            0.2,
            9.98,
            2.0,
            "moderate: A_n = 0.20 and peak/mean = 9.98, below the bursty thresholds (0.3, "
            "10); not smooth: smooth needs A_n < 0.1 and p99/mean < 3 (p99/mean = 2.0)",
        ),  # not "10.0 below 10"
        (
            "moderate",
            None,
            4.0,
            2.0,
            "moderate: A_n = n/a and peak/mean = 4.0, below the bursty thresholds (0.3, "
            "10); not smooth: smooth needs A_n < 0.1 and p99/mean < 3 (p99/mean = 2.0)",
        ),
    ],
)
def test_the_burst_reason_quotes_the_metric_that_set_the_class(
    burst_class: str, an: float | None, peak: float, p99: float, sentence: str
) -> None:
    assert burst_reason(burst_class, an, peak, p99, ProfileThresholds()) == sentence
