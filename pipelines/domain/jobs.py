"""Jobs: an endpoint's activity split into runs, and whether batch can take them (docs/metrics.md#jobs).

A *run* is a maximal sequence of an endpoint's requests whose consecutive arrivals are less than the idle gap G
apart (default 30 minutes); it starts at its first arrival and ends at its last. Runs are split at the week
boundary: a run whose first arrival follows the previous week's last arrival by less than G carries
``continues_previous_week``, and one that ends less than G before the week ends carries ``may_continue``.

The splitter works on *active slots*: time-ordered, non-overlapping spans [first, last] of arrivals with their
request and token counts (one slot per active minute in the pipeline, from the minute rollups; one slot per request
for a plain arrival list). Inside a slot the gaps are below G whenever a slot is shorter than G (a minute is), so
the gaps that can split are exactly those between consecutive slots: the next slot's first arrival minus this
slot's last arrival, in microseconds since the epoch. Everything is vectorised with NumPy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND


@dataclass(frozen=True, eq=False)
class Runs:
    """An endpoint's runs of one week, in time order: first and last arrival (epoch µs), requests, input and output
    tokens, and the two week-boundary flags. All arrays have one entry per run."""

    start_us: npt.NDArray[np.int64]
    end_us: npt.NDArray[np.int64]
    requests: npt.NDArray[np.int64]
    input_tokens: npt.NDArray[np.float64]
    output_tokens: npt.NDArray[np.float64]
    continues_previous_week: npt.NDArray[np.bool_]
    may_continue: npt.NDArray[np.bool_]

    @property
    def count(self) -> int:
        """Number of runs."""
        return int(self.start_us.size)

    @property
    def tokens(self) -> npt.NDArray[np.float64]:
        """Input + output tokens of each run."""
        return self.input_tokens + self.output_tokens

    @property
    def duration_s(self) -> npt.NDArray[np.float64]:
        """Last arrival − first arrival of each run, seconds (0 for a run of one request)."""
        return (self.end_us - self.start_us) / US_PER_SECOND


def split_runs(
    first_us: npt.ArrayLike,
    last_us: npt.ArrayLike,
    requests: npt.ArrayLike,
    input_tokens: npt.ArrayLike,
    output_tokens: npt.ArrayLike,
    idle_gap_minutes: float,
    week_end_us: int | None = None,
    previous_last_us: int | None = None,
) -> Runs:
    """Split time-ordered active slots into runs: a new run starts where the idle time between a slot's last
    arrival and the next slot's first arrival is at least ``idle_gap_minutes``.

    ``week_end_us``: the week's end (exclusive, epoch µs) for the ``may_continue`` flag; ``previous_last_us``: the
    last arrival before the week (None when there was none) for ``continues_previous_week``.
    """
    if idle_gap_minutes <= 0 or not math.isfinite(idle_gap_minutes):
        raise ValueError(f"idle_gap_minutes must be a positive number, got {idle_gap_minutes}")
    first = np.asarray(first_us, dtype=np.int64)
    last = np.asarray(last_us, dtype=np.int64)
    counts = np.asarray(requests, dtype=np.int64)
    inputs = np.asarray(input_tokens, dtype=np.float64)
    outputs = np.asarray(output_tokens, dtype=np.float64)
    if not (first.size == last.size == counts.size == inputs.size == outputs.size):
        raise ValueError("every slot array must have the same length")
    if first.size and (np.any(last < first) or np.any(first[1:] <= last[:-1])):
        raise ValueError("slots must be time-ordered, non-overlapping spans with first <= last")
    gap_us = idle_gap_minutes * US_PER_MINUTE
    if first.size == 0:
        empty_int, empty_float = np.zeros(0, np.int64), np.zeros(0, np.float64)
        empty_bool = np.zeros(0, np.bool_)
        return Runs(empty_int, empty_int, empty_int, empty_float, empty_float, empty_bool, empty_bool)
    starts = np.concatenate(([0], np.flatnonzero(first[1:] - last[:-1] >= gap_us) + 1))
    ends = np.concatenate((starts[1:] - 1, [first.size - 1]))
    start_us, end_us = first[starts], last[ends]
    continues = np.zeros(starts.size, np.bool_)
    if previous_last_us is not None:
        continues[0] = start_us[0] - previous_last_us < gap_us
    may_continue = np.zeros(starts.size, np.bool_)
    if week_end_us is not None:
        may_continue[-1] = week_end_us - end_us[-1] < gap_us
    return Runs(
        start_us=start_us,
        end_us=end_us,
        requests=np.add.reduceat(counts, starts),
        input_tokens=np.add.reduceat(inputs, starts),
        output_tokens=np.add.reduceat(outputs, starts),
        continues_previous_week=continues,
        may_continue=may_continue,
    )


def split_arrivals(
    arrivals_us: npt.ArrayLike,
    input_tokens: npt.ArrayLike,
    output_tokens: npt.ArrayLike,
    idle_gap_minutes: float,
    week_end_us: int | None = None,
    previous_last_us: int | None = None,
) -> Runs:
    """Runs of a plain list of arrivals (epoch µs, any order) with each request's tokens: every request is its own
    slot. Requests that arrive at the same microsecond are one slot."""
    arrivals = np.asarray(arrivals_us, dtype=np.int64)
    order = np.argsort(arrivals, kind="stable")
    arrivals = arrivals[order]
    inputs = np.asarray(input_tokens, dtype=np.float64)[order]
    outputs = np.asarray(output_tokens, dtype=np.float64)[order]
    unique, first_index = np.unique(arrivals, return_index=True)
    return split_runs(
        unique,
        unique,
        np.diff(np.append(first_index, arrivals.size)),
        np.add.reduceat(inputs, first_index) if arrivals.size else inputs,
        np.add.reduceat(outputs, first_index) if arrivals.size else outputs,
        idle_gap_minutes,
        week_end_us,
        previous_last_us,
    )


@dataclass(frozen=True)
class BatchLimits:
    """What a provider's batch service takes: at most ``max_tokens_per_job`` input + output tokens per job, results
    within ``completion_window_hours``; ``deadline_hours`` is how late the endpoint's results may arrive (None: any
    time within the window is fine)."""

    max_tokens_per_job: float = 30e9
    completion_window_hours: float = 24.0
    deadline_hours: float | None = None


@dataclass(frozen=True)
class JobsSummary:
    """An endpoint's runs of the week in a few numbers for the policy: run count, tokens of the largest and the
    median run, the longest run (hours), and the UTC time of day (minutes after midnight) the runs start and end
    within (earliest start, latest end)."""

    runs: int
    max_run_tokens: float
    median_run_tokens: float
    longest_run_hours: float
    earliest_start_minute: int
    latest_end_minute: int


def summarize_runs(runs: Runs) -> JobsSummary | None:
    """The summary of ``runs`` (None when there is none)."""
    if runs.count == 0:
        return None

    def minute_of_day(us: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return (us // US_PER_MINUTE) % 1440

    return JobsSummary(
        runs=runs.count,
        max_run_tokens=float(runs.tokens.max()),
        median_run_tokens=float(np.median(runs.tokens)),
        longest_run_hours=float(runs.duration_s.max()) / 3600.0,
        earliest_start_minute=int(minute_of_day(runs.start_us).min()),
        latest_end_minute=int(minute_of_day(runs.end_us).max()),
    )


def batch_blockers(jobs: JobsSummary | None, limits: BatchLimits) -> list[str]:
    """Why batch cannot take an endpoint's jobs, one sentence per unmet limit (empty when it can): a run larger
    than the provider's tokens per job, or results needed sooner than the completion window."""
    blockers = []
    if jobs is not None and jobs.max_run_tokens > limits.max_tokens_per_job:
        blockers.append(
            f"its largest run has {format_tokens(jobs.max_run_tokens)} tokens, over the batch limit of "
            f"{format_tokens(limits.max_tokens_per_job)} per job"
        )
    if limits.deadline_hours is not None and limits.deadline_hours < limits.completion_window_hours:
        blockers.append(
            f"its results are needed within {limits.deadline_hours:g} h and batch may take up to "
            f"{limits.completion_window_hours:g} h"
        )
    return blockers


def format_tokens(count: float) -> str:
    """``1.2 B`` / ``340 M`` / ``12 k`` / ``950``: token counts for reasons."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(count) >= size:
            return f"{count / size:.3g} {suffix}"
    return f"{count:.0f}"


def describe_jobs(jobs: JobsSummary) -> str:
    """``7 runs, 01:00–02:10 UTC, 1.2 B tokens each (median)`` for reasons."""

    def clock(minute: int) -> str:
        return f"{minute // 60:02d}:{minute % 60:02d}"

    runs = f"{jobs.runs} run" + ("" if jobs.runs == 1 else "s")
    window = f"{clock(jobs.earliest_start_minute)}–{clock(jobs.latest_end_minute)} UTC"
    each = "" if jobs.runs == 1 else " each (median)"
    return f"{runs}, {window}, {format_tokens(jobs.median_run_tokens)} tokens{each}"
