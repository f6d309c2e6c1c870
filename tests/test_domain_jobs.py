"""Known answers for the job splitter and batch eligibility (pipelines/domain/jobs.py, docs/metrics.md#jobs)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.domain.jobs import (
    US_PER_MINUTE,
    BatchLimits,
    JobsSummary,
    batch_blockers,
    describe_jobs,
    split_arrivals,
    split_runs,
    summarize_runs,
)

WEEK = date(2026, 11, 9)
WEEK_START_US = int(datetime(2026, 11, 9, tzinfo=UTC).timestamp()) * 1_000_000
WEEK_END_US = WEEK_START_US + 7 * 1440 * US_PER_MINUTE


def at(day: int, hour: int, minute: float) -> int:
    """Epoch µs of a moment of the test week (day 0 = Monday)."""
    return WEEK_START_US + round(((day * 24 + hour) * 60 + minute) * US_PER_MINUTE)


def ones(n: int) -> np.ndarray:
    return np.ones(n)


def test_a_gap_just_under_the_idle_gap_keeps_one_run_and_just_over_splits() -> None:
    under = [at(0, 1, 0), at(0, 1, 29.999)]
    over = [at(0, 1, 0), at(0, 1, 30.0)]
    assert split_arrivals(under, ones(2), ones(2), 30).count == 1
    runs = split_arrivals(over, ones(2), ones(2), 30)
    assert (
        runs.count == 2
    )  # a gap of exactly G ends the run: consecutive arrivals must be *less* than G apart
    assert list(runs.requests) == [1, 1]


def test_runs_carry_their_first_and_last_arrival_requests_and_tokens() -> None:
    arrivals = [at(0, 1, 0), at(0, 1, 10), at(0, 1, 20), at(0, 5, 0), at(0, 5, 1)]
    runs = split_arrivals(arrivals, [10, 20, 30, 40, 50], [1, 2, 3, 4, 5], 30)
    assert runs.count == 2
    assert list(runs.start_us) == [at(0, 1, 0), at(0, 5, 0)]
    assert list(runs.end_us) == [at(0, 1, 20), at(0, 5, 1)]
    assert list(runs.requests) == [3, 2]
    assert list(runs.tokens) == [66.0, 99.0]
    assert list(runs.duration_s) == [1200.0, 60.0]


def test_a_run_across_midnight_is_one_run() -> None:
    arrivals = [at(0, 23, 50), at(0, 23, 59), at(1, 0, 10), at(1, 0, 35)]
    runs = split_arrivals(arrivals, ones(4), ones(4), 30)
    assert runs.count == 1 and runs.duration_s[0] == 45 * 60


def test_a_run_across_the_week_boundary_is_split_and_flagged() -> None:
    previous_last = WEEK_START_US - 10 * US_PER_MINUTE  # Sunday 23:50 of the previous week
    arrivals = [at(0, 0, 5), at(0, 0, 20), at(6, 23, 45)]
    runs = split_arrivals(arrivals, ones(3), ones(3), 30, WEEK_END_US, previous_last)
    assert runs.count == 2
    assert list(runs.continues_previous_week) == [True, False]  # 15 minutes after the previous week's last
    assert list(runs.may_continue) == [False, True]  # ends 15 minutes before the week ends
    far = split_arrivals(arrivals, ones(3), ones(3), 30, WEEK_END_US, WEEK_START_US - 40 * US_PER_MINUTE)
    assert list(far.continues_previous_week) == [False, False]


def test_minute_slots_measure_the_exact_gap_between_active_minutes() -> None:
    """Two active minutes 31 minutes apart whose arrivals are 29.5 minutes apart stay one run: the gap is the next
    minute's first arrival minus this minute's last arrival, not the distance between the minutes."""
    first = [at(0, 2, 0), at(0, 2, 31)]
    last = [at(0, 2, 0.9), at(0, 2, 31) + 1]
    first[1] = last[0] + round(29.5 * US_PER_MINUTE)
    runs = split_runs(first, last, [3, 2], [100, 50], [10, 5], 30)
    assert runs.count == 1 and runs.requests[0] == 5 and runs.tokens[0] == 165
    assert split_runs(first, last, [3, 2], [100, 50], [10, 5], 29).count == 2


def test_bad_slots_and_gaps_are_refused() -> None:
    with pytest.raises(ValueError, match="time-ordered"):
        split_runs([5, 3], [6, 4], [1, 1], [1, 1], [1, 1], 30)
    with pytest.raises(ValueError, match="positive"):
        split_runs([1], [1], [1], [1], [1], 0)
    assert split_runs([], [], [], [], [], 30).count == 0
    assert summarize_runs(split_runs([], [], [], [], [], 30)) is None


def test_a_run_over_the_token_limit_blocks_batch_with_a_reason() -> None:
    nightly = [at(d, 1, m) for d in range(7) for m in range(0, 70, 5)]
    runs = split_arrivals(nightly, np.full(len(nightly), 80e6), np.full(len(nightly), 5e6), 30)
    summary = summarize_runs(runs)
    assert summary == JobsSummary(7, 14 * 85e6, 14 * 85e6, 65 / 60, 60, 125)
    assert describe_jobs(summary) == "7 runs, 01:00–02:05 UTC, 1.19 B tokens each (median)"
    assert batch_blockers(summary, BatchLimits()) == []
    (blocker,) = batch_blockers(summary, BatchLimits(max_tokens_per_job=1e9))
    assert blocker == "its largest run has 1.19 B tokens, over the batch limit of 1 B per job"
    (late,) = batch_blockers(summary, BatchLimits(deadline_hours=6))
    assert late == "its results are needed within 6 h and batch may take up to 24 h"
    assert batch_blockers(summary, BatchLimits(deadline_hours=24)) == []


@given(
    gaps_min=st.lists(st.floats(0.001, 200.0), min_size=0, max_size=60),
    idle_gap=st.floats(1.0, 120.0),
)
def test_runs_partition_the_requests_and_only_long_gaps_split(gaps_min: list[float], idle_gap: float) -> None:
    arrivals = np.cumsum([at(0, 0, 0)] + [round(g * US_PER_MINUTE) for g in gaps_min])
    arrivals = np.unique(arrivals)
    tokens = np.arange(1, arrivals.size + 1, dtype=float)
    runs = split_arrivals(arrivals, tokens, tokens, idle_gap)
    assert runs.requests.sum() == arrivals.size
    assert runs.tokens.sum() == pytest.approx(2 * tokens.sum())
    assert runs.count == 1 + int(np.sum(np.diff(arrivals) >= idle_gap * US_PER_MINUTE))
    assert np.all(runs.start_us[1:] - runs.end_us[:-1] >= idle_gap * US_PER_MINUTE)
