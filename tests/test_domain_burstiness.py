"""Burstiness from daily inter-arrival rollups: Goh–Barabási B, Kim–Jo A_n and the day-boundary stitching."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from pipelines.domain.burstiness import (
    burstiness_metrics,
    goh_barabasi_b,
    interarrival_moments,
    kim_jo_an,
)

WEEK_START = date(2024, 1, 1)  # a Monday
WEEK = [WEEK_START + timedelta(days=i) for i in range(7)]
MICROS = 1_000_000


def raw_requests(endpoint: str, seconds: np.ndarray, start: date = WEEK_START) -> pl.DataFrame:
    """Raw ``endpoint, ts`` rows for arrivals ``seconds`` after midnight UTC of ``start`` (microsecond precision)."""
    origin = int(datetime.combine(start, datetime.min.time(), tzinfo=UTC).timestamp()) * MICROS
    micros = origin + np.round(np.asarray(seconds, dtype=np.float64) * MICROS).astype(np.int64)
    ts = pl.from_epoch(pl.Series(micros), time_unit="us").dt.replace_time_zone("UTC")
    return pl.DataFrame({"endpoint": endpoint, "ts": ts})


def daily_rollup(raw: pl.DataFrame) -> pl.DataFrame:
    """What the daily rollup stores per endpoint and day, computed here from raw ``endpoint, ts`` rows."""
    with_gaps = (
        raw.sort("endpoint", "ts")
        .with_columns(day=pl.col("ts").dt.date())
        .with_columns(tau=pl.col("ts").diff().over("endpoint", "day").dt.total_microseconds() / MICROS)
    )
    return with_gaps.group_by("endpoint", "day").agg(
        n_requests=pl.len().cast(pl.Int64),
        n_intervals=pl.col("tau").count().cast(pl.Int64),
        sum_tau_s=pl.col("tau").sum(),
        sum_tau2_s2=(pl.col("tau") ** 2).sum(),
        first_ts=pl.col("ts").min(),
        last_ts=pl.col("ts").max(),
    )


def brute_force_gaps(raw: pl.DataFrame, endpoint: str, covered: set[date]) -> np.ndarray:
    """Gaps (s) between consecutive requests of ``endpoint`` whose days, and every day between, are covered."""
    ts = raw.filter(pl.col("endpoint") == endpoint).sort("ts")["ts"].to_list()
    gaps = []
    for before, after in zip(ts, ts[1:], strict=False):
        span = (after.date() - before.date()).days
        if all(before.date() + timedelta(days=k) in covered for k in range(span + 1)):
            gaps.append((after - before).total_seconds())
    return np.array(gaps)


def poisson_seconds(rate_per_s: float, seconds: float, seed: int) -> np.ndarray:
    """Arrival times (s) of a Poisson process of ``rate_per_s`` over [0, seconds), fixed seed."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1 / rate_per_s, size=int(rate_per_s * seconds * 1.2) + 100)
    arrivals = np.cumsum(gaps)
    return arrivals[arrivals < seconds]


def test_goh_barabasi_known_values() -> None:
    assert goh_barabasi_b(10.0, 0.0) == -1.0
    assert goh_barabasi_b(10.0, 10.0) == 0.0
    assert goh_barabasi_b(1.0, 3.0) == 0.5
    assert goh_barabasi_b(0.0, 0.0) is None


@pytest.mark.parametrize("n", [3, 4, 10, 1_000, 1_000_000])
def test_kim_jo_identities(n: int) -> None:
    mean = 2.5
    assert kim_jo_an(mean, 0.0, n) == pytest.approx(-1.0, abs=1e-12)
    assert kim_jo_an(mean, mean * math.sqrt((n - 1) / (n + 1)), n) == pytest.approx(0.0, abs=1e-12)
    assert kim_jo_an(mean, mean * math.sqrt(n - 1), n) == pytest.approx(1.0, abs=1e-12)


def test_kim_jo_undefined() -> None:
    assert kim_jo_an(1.0, 1.0, 2) is None
    assert kim_jo_an(0.0, 1.0, 100) is None


def test_burstiness_metrics_match_scalar_formulas() -> None:
    moments = pl.DataFrame(
        {
            "endpoint": ["a", "b", "c", "d", "e"],
            "n_requests": [100, 5, 2, 50, 1],
            "n_intervals": [99, 4, 1, 49, 0],
            "mean_tau_s": [10.0, 3.0, 5.0, 0.0, None],
            "sd_tau_s": [25.0, 1.0, 0.0, 0.0, None],
        }
    )
    out = burstiness_metrics(moments).sort("endpoint")
    for row in out.iter_rows(named=True):
        mean, sd, n = row["mean_tau_s"], row["sd_tau_s"], row["n_requests"]
        expected_b = goh_barabasi_b(mean, sd) if mean is not None else None
        expected_an = kim_jo_an(mean, sd, n) if mean is not None else None
        assert row["burstiness_b"] == (
            pytest.approx(expected_b, abs=1e-12) if expected_b is not None else None
        )
        assert row["burstiness_an"] == (
            pytest.approx(expected_an, abs=1e-12) if expected_an is not None else None
        )
    # Hand-computed: a has B = (25 − 10) / 35, c (2 requests) has no A_n, d (μ = σ = 0) has neither.
    assert out.row(0, named=True)["burstiness_b"] == pytest.approx(15 / 35)
    assert out.filter(pl.col("endpoint") == "c")["burstiness_an"].item() is None
    assert out.filter(pl.col("endpoint") == "d")["burstiness_b"].item() is None


def test_gap_across_midnight_is_one_interval() -> None:
    raw = raw_requests("a", np.array([86_400 - 10, 86_400 + 10]))
    moments = interarrival_moments(daily_rollup(raw), WEEK)
    row = moments.row(0, named=True)
    assert (row["n_requests"], row["n_intervals"]) == (2, 1)
    assert row["mean_tau_s"] == pytest.approx(20.0)
    assert row["sd_tau_s"] == 0.0


def test_no_interval_across_an_uncovered_day() -> None:
    raw = raw_requests("a", np.array([86_400 - 10, 2 * 86_400 + 10]))
    covered = [WEEK[0], WEEK[2]]
    row = interarrival_moments(daily_rollup(raw), covered).row(0, named=True)
    assert (row["n_requests"], row["n_intervals"]) == (2, 0)
    assert row["mean_tau_s"] is None and row["sd_tau_s"] is None


def test_gap_spans_a_covered_day_without_requests() -> None:
    raw = raw_requests("a", np.array([86_400 - 10, 2 * 86_400 + 10]))
    row = interarrival_moments(daily_rollup(raw), WEEK[:3]).row(0, named=True)
    assert row["n_intervals"] == 1
    assert row["mean_tau_s"] == pytest.approx(86_420.0)


def test_stitching_matches_brute_force_on_random_week() -> None:
    rng = np.random.default_rng(7)
    covered = {WEEK[i] for i in (0, 1, 2, 4, 5)}  # Thursday and Sunday are missing
    frames = []
    for endpoint, n in (("chat", 400), ("embed", 60), ("rare", 5)):
        seconds = np.sort(rng.uniform(0, 7 * 86_400, size=n))
        frames.append(raw_requests(endpoint, seconds))
    raw = pl.concat(frames).filter(pl.col("ts").dt.date().is_in(sorted(covered)))
    moments = interarrival_moments(daily_rollup(raw), sorted(covered))
    assert moments["endpoint"].to_list() == ["chat", "embed", "rare"]
    for row in moments.iter_rows(named=True):
        gaps = brute_force_gaps(raw, row["endpoint"], covered)
        assert row["n_requests"] == raw.filter(pl.col("endpoint") == row["endpoint"]).height
        assert row["n_intervals"] == len(gaps)
        if len(gaps):
            assert row["mean_tau_s"] == pytest.approx(gaps.mean(), rel=1e-9)
            assert row["sd_tau_s"] == pytest.approx(gaps.std(), rel=1e-6, abs=1e-6)


def test_rollup_rows_of_uncovered_days_are_ignored() -> None:
    raw = raw_requests("a", np.array([10.0, 20.0, 86_400 + 10, 86_400 + 40]))
    row = interarrival_moments(daily_rollup(raw), [WEEK[0]]).row(0, named=True)
    assert (row["n_requests"], row["n_intervals"], row["mean_tau_s"]) == (2, 1, 10.0)


def test_periodic_arrivals_are_minus_one() -> None:
    raw = raw_requests("tick", np.arange(0, 7 * 86_400, 6.0))
    moments = interarrival_moments(daily_rollup(raw), WEEK)
    row = burstiness_metrics(moments).row(0, named=True)
    assert row["n_intervals"] == row["n_requests"] - 1
    assert row["burstiness_b"] == pytest.approx(-1.0, abs=1e-9)
    assert row["burstiness_an"] == pytest.approx(-1.0, abs=1e-9)


def test_poisson_arrivals_are_near_zero() -> None:
    seconds = poisson_seconds(0.1, 7 * 86_400, seed=42)
    assert len(seconds) >= 50_000
    row = burstiness_metrics(interarrival_moments(daily_rollup(raw_requests("p", seconds)), WEEK)).row(
        0, named=True
    )
    assert row["n_intervals"] == len(seconds) - 1
    assert abs(row["burstiness_b"]) <= 0.05
    assert abs(row["burstiness_an"]) <= 0.05


def test_null_sums_of_single_request_days_count_as_zero() -> None:
    # DuckDB's SUM over no gaps is NULL: a day with one request may arrive with null sums.
    raw = raw_requests("a", np.array([100.0, 86_400 + 100.0, 86_400 + 130.0]))
    daily = daily_rollup(raw).with_columns(
        pl.when(pl.col("n_intervals") == 0).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("sum_tau_s", "sum_tau2_s2")
    )
    assert daily["sum_tau_s"].null_count() == 1
    row = interarrival_moments(daily, WEEK).row(0, named=True)
    assert row["n_intervals"] == 2
    assert row["mean_tau_s"] == pytest.approx((86_400 + 30) / 2)
    assert row["sd_tau_s"] == pytest.approx((86_400 - 30) / 2)
