"""Profiling endpoints a group at a time (bounded memory) gives exactly the all-at-once result."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
from polars.testing import assert_frame_equal

from pipelines.domain import endpoint_profile


def _per_minute(endpoints: int, days: list[date], seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(endpoints):
        minutes = rng.choice(1440 * len(days), size=300, replace=False)
        for m in minutes:
            day = days[m // 1440]
            at = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(minutes=int(m % 1440))
            rows.append((f"ep-{e:02d}", at, int(rng.integers(1, 9)), int(rng.integers(10, 5000))))
    return pl.DataFrame(
        rows, schema={"endpoint": pl.String, "minute": pl.Datetime("us", "UTC"), "requests": pl.Int64,
                      "tokens": pl.Int64}, orient="row",
    )  # fmt: skip


def test_chunked_scale_and_stability_equals_one_pass(monkeypatch):
    days = [date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 5)]
    per_minute = _per_minute(23, days)
    monkeypatch.setattr(endpoint_profile, "DENSE_ROWS_PER_CHUNK", 10**9)
    whole = endpoint_profile._scale_and_stability_in_chunks(per_minute, days)
    monkeypatch.setattr(endpoint_profile, "DENSE_ROWS_PER_CHUNK", 4 * 1440 * len(days))  # 4 endpoints a chunk
    chunked = endpoint_profile._scale_and_stability_in_chunks(per_minute, days)
    assert whole.height == 23
    assert_frame_equal(whole, chunked)
