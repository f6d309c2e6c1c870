"""Deterministic demo traffic with known answers: three ISO weeks of request logs plus ground truth.

``generate_demo`` writes one gzip-compressed canonical JSONL file per UTC day from Monday 2026-10-26 to Sunday
2026-11-15 (``requests-YYYY-MM-DD.jsonl.gz``), one LiteLLM SpendLogs export per ISO week for the endpoint behind the
team's LiteLLM proxy (``litellm-spend-logs-YYYY-MM-DD.jsonl.gz``, named by the week's Monday; its ``spend`` is the
billed cost, below list: a negotiated discount) and ``ground_truth.json``. Twenty-four endpoints each have a known shape: an
arrival process built minute by minute (expected requests per minute, then Poisson counts, then uniform
millisecond offsets inside the minute) and lognormal token counts per request, all drawn from numpy generators
seeded by ``seed``. The ground truth states, per endpoint, the classes (docs/metrics.md#classes) and the mode
the cost model (docs/cost-model.md#the-plan-curve) should recommend; those expectations hold at ``scale = 1``
(``tests/test_recommendations_pipeline.py`` runs the whole demo through the pipeline and checks them). Smaller
scales are for fast tests.

Two things are planted on purpose:
- privacy canaries: about 1 % of rows carry ``prompt`` / ``completion`` text containing ``CANARY`` and a raw
  ``api_key`` starting ``sk-demo-``; ingest must drop the text and hash the key, so none of it may reach storage;
- a request crossing midnight: the file of the last day of week 1 also holds the first requests of the next day.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl

from pipelines.core.atomic import replace_file, temp_sibling, write_json
from pipelines.core.schema import REQUEST_COLUMNS
from pipelines.core.settings import shipped_rate_card_path
from pipelines.lake.rate_card import load_rate_card

DEFAULT_SEED = 20261026
START = datetime(2026, 10, 26, tzinfo=UTC)  # a Monday, 00:00 UTC
WEEKS = 3
DAYS = 7 * WEEKS
MINUTES = DAYS * 1440
START_MS = int(START.timestamp() * 1000)
MS_PER_MINUTE = 60_000

CANARY = "CANARY-7f3a"
API_KEY_PREFIX = "sk-demo-"
PRIVACY_ROW_SHARE = 0.01
# The file of this day also holds the first requests of the next day (about 100 at scale 1).
MIDNIGHT_FILE_DAY = date(2026, 11, 1)
MIDNIGHT_ROWS_AT_SCALE_1 = 100
MIDNIGHT_ROWS_MIN = 5

MODEL_8B = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
MODEL_70B = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
MODEL_405B = "meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo"
MODEL_UNPRICED = "acme/support-ft-7b"
# The LiteLLM endpoint (partner-gateway): its requests per minute and billed / list price.
GATEWAY_PER_MINUTE, GATEWAY_BILLED_FACTOR = 8.0, 0.6

# Column order of every JSONL row: the request record (docs/metrics.md#the-request-record), then the fields
# ingest must never store.
ROW_KEYS: tuple[str, ...] = REQUEST_COLUMNS + ("prompt", "completion", "api_key")

_LOREM: tuple[str, ...] = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
    "Sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.",
    "Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris.",
    "Duis aute irure dolor in reprehenderit in voluptate velit esse.",
    "Excepteur sint occaecat cupidatat non proident, sunt in culpa.",
)


# --- arrival shapes: expected requests per minute (at scale 1) for every minute of the three weeks -------------


class ArrivalShape(Protocol):
    """Expected requests per minute for each minute index (0 = Monday 2026-10-26 00:00 UTC)."""

    def rates(self, minutes: np.ndarray, rng: np.random.Generator) -> np.ndarray: ...


def _hour_of_day(minutes: np.ndarray) -> np.ndarray:
    """Fractional UTC hour of the day (0.0 to 23.98) of each minute index."""
    return (minutes % 1440) / 60.0


def _weekday(minutes: np.ndarray) -> np.ndarray:
    """ISO weekday minus one (0 = Monday, 6 = Sunday) of each minute index."""
    return (minutes // 1440) % 7


def _diurnal(minutes: np.ndarray, amplitude: float, peak_hour: float) -> np.ndarray:
    """Multiplier 1 + amplitude·cos(2π(hour − peak_hour)/24): a smooth daily cycle peaking at ``peak_hour`` UTC."""
    return 1.0 + amplitude * np.cos(2 * np.pi * (_hour_of_day(minutes) - peak_hour) / 24.0)


def _business_hours(minutes: np.ndarray, first_hour: int, end_hour: int) -> np.ndarray:
    """True for minutes Monday to Friday in [first_hour, end_hour) UTC."""
    hour = _hour_of_day(minutes)
    return (_weekday(minutes) < 5) & (hour >= first_hour) & (hour < end_hour)


@dataclass(frozen=True)
class Steady:
    """A constant rate with a mild daily cycle (requests per minute; amplitude as a fraction of the rate)."""

    per_minute: float
    amplitude: float = 0.0
    peak_hour: float = 15.0

    def rates(self, minutes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``per_minute`` times the daily cycle."""
        return self.per_minute * _diurnal(minutes, self.amplitude, self.peak_hour)


@dataclass(frozen=True)
class BusinessHours:
    """``per_minute`` Monday to Friday in [first_hour, end_hour) UTC, ``floor_per_minute`` at all other times."""

    per_minute: float
    floor_per_minute: float
    first_hour: int = 8
    end_hour: int = 18

    def rates(self, minutes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The business-hours rate or the off-hours floor (requests per minute)."""
        inside = _business_hours(minutes, self.first_hour, self.end_hour)
        return np.where(inside, self.per_minute, self.floor_per_minute)


@dataclass(frozen=True)
class OfficeBursts:
    """An office tool: ``per_minute`` Monday to Friday in [first_hour, end_hour) UTC, ``floor_per_minute`` at
    night and at weekends, plus short bursts on every weekday (all rates in requests per minute).

    Each weekday gets between ``bursts_per_day[0]`` and ``bursts_per_day[1]`` bursts (inclusive); a burst lasts
    ``burst_minutes`` (inclusive range), lies wholly inside the business hours and runs at a random multiple in
    ``multiplier`` of ``per_minute`` (a meeting ending, a team-wide prompt, a report deadline). Bursts may overlap:
    the later one's rate wins.
    """

    per_minute: float
    floor_per_minute: float
    first_hour: int = 8
    end_hour: int = 19
    bursts_per_day: tuple[int, int] = (1, 3)
    burst_minutes: tuple[int, int] = (10, 40)
    multiplier: tuple[float, float] = (3.0, 5.0)

    def rates(self, minutes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The business-hours rate (with its bursts) or the off-hours floor (requests per minute)."""
        inside = _business_hours(minutes, self.first_hour, self.end_hour)
        rates = np.where(inside, self.per_minute, self.floor_per_minute)
        for day in range(DAYS):
            if day % 7 >= 5:
                continue  # 2026-10-26 is a Monday: days 5 and 6 of each week are the weekend
            for _ in range(int(rng.integers(self.bursts_per_day[0], self.bursts_per_day[1] + 1))):
                length = int(rng.integers(self.burst_minutes[0], self.burst_minutes[1] + 1))
                start = day * 1440 + int(rng.integers(self.first_hour * 60, self.end_hour * 60 - length + 1))
                factor = float(rng.uniform(*self.multiplier))
                burst = (minutes >= start) & (minutes < start + length)
                rates[burst] = self.per_minute * factor
        return rates


@dataclass(frozen=True)
class FlashCrowds:
    """A growing daily-cycle base rate plus, each week, a few flash crowds of ``multiplier`` × the base rate.

    Each crowd starts at a random minute between 09:00 and 21:00 UTC of a random day of the week and lasts
    ``crowd_minutes`` (both ranges inclusive), at a random multiplier in ``multiplier``.
    """

    per_minute: float
    amplitude: float
    weekly_growth: float
    crowds_per_week: int
    crowd_minutes: tuple[int, int] = (10, 30)
    multiplier: tuple[float, float] = (30.0, 80.0)

    def rates(self, minutes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Base rate × daily cycle × growth, replaced by the crowd rate inside each crowd (requests per minute)."""
        week = minutes // (7 * 1440)
        base = self.per_minute * self.weekly_growth**week
        rates = base * _diurnal(minutes, self.amplitude, peak_hour=16.0)
        for week_index in range(WEEKS):
            for _ in range(self.crowds_per_week):
                day = int(rng.integers(0, 7))
                start = (week_index * 7 + day) * 1440 + int(rng.integers(9 * 60, 21 * 60))
                length = int(rng.integers(self.crowd_minutes[0], self.crowd_minutes[1] + 1))
                factor = float(rng.uniform(*self.multiplier))
                crowd = (minutes >= start) & (minutes < start + length)
                rates[crowd] = base[crowd] * factor
        return rates


@dataclass(frozen=True)
class NightlyWindow:
    """``per_minute`` every day in [first_hour, end_hour) UTC, nothing otherwise."""

    per_minute: float
    first_hour: int = 1
    end_hour: int = 3

    def rates(self, minutes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The window rate inside the nightly window, 0 outside (requests per minute)."""
        hour = _hour_of_day(minutes)
        return np.where((hour >= self.first_hour) & (hour < self.end_hour), self.per_minute, 0.0)


@dataclass(frozen=True)
class SporadicHours:
    """On a few random weekdays of each week, a few random working hours (09–17 UTC) at ``per_hour``."""

    per_hour: float
    days_per_week: tuple[int, int] = (2, 4)
    hours_per_day: tuple[int, int] = (1, 3)

    def rates(self, minutes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``per_hour`` / 60 inside the chosen hours, 0 elsewhere (requests per minute)."""
        active = np.zeros(DAYS * 24, dtype=bool)
        for week_index in range(WEEKS):
            n_days = int(rng.integers(self.days_per_week[0], self.days_per_week[1] + 1))
            for day in rng.choice(5, size=n_days, replace=False):
                n_hours = int(rng.integers(self.hours_per_day[0], self.hours_per_day[1] + 1))
                for hour in rng.choice(np.arange(9, 17), size=n_hours, replace=False):
                    active[(week_index * 7 + int(day)) * 24 + int(hour)] = True
        return np.where(active[minutes // 60], self.per_hour / 60.0, 0.0)


@dataclass(frozen=True)
class Trickle:
    """A handful of requests per hour, around the clock or only in business hours (Mon–Fri 08–18 UTC)."""

    per_hour: float
    business_hours_only: bool = False

    def rates(self, minutes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``per_hour`` / 60 when active (requests per minute)."""
        rate = np.full(minutes.shape, self.per_hour / 60.0)
        if self.business_hours_only:
            rate[~_business_hours(minutes, 8, 18)] = 0.0
        return rate


# --- endpoints ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lognormal:
    """A lognormal token count: ``median`` tokens, log-space standard deviation ``sigma``, clipped to [low, high]."""

    median: float
    sigma: float
    low: int = 1
    high: int = 120_000

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` integer token counts (int64)."""
        values = np.rint(self.median * np.exp(self.sigma * rng.standard_normal(n)))
        return np.clip(values, self.low, self.high).astype(np.int64)


@dataclass(frozen=True)
class Signals:
    """Shares of requests with ``stream`` / ``interactive`` true and false (the rest carry null)."""

    stream_true: float
    stream_false: float
    interactive_true: float
    interactive_false: float


@dataclass(frozen=True)
class EndpointDesign:
    """Everything the generator needs to draw one endpoint's requests, and what the pipeline should conclude."""

    name: str
    model: str
    client: str
    deployment_mode: str
    shape: ArrivalShape
    input_tokens: Lognormal
    output_tokens: Lognormal
    cached_share: float  # cached_input_tokens ≈ cached_share × input_tokens
    signals: Signals
    error_rate: float
    billed: bool  # whether the log carries billed_cost_usd (billed_factor × list price of ok requests, 0 for failed)
    expected: dict[str, Any]
    # (first hour, end hour, factor): serverless time to first token is ``factor`` times slower in those UTC hours
    # (a provider's busy evening), None for an endpoint whose latency does not depend on the hour
    peak_slowdown: tuple[int, int, float] | None = None
    billed_factor: float = 1.0  # billed cost / list price (below 1: a discount the bill carries)
    log_format: str = "canonical"  # the format of the files its requests are written in: canonical or litellm


INTERACTIVE_STREAM = Signals(stream_true=1.0, stream_false=0.0, interactive_true=0.0, interactive_false=0.0)


def _tail(
    index: int, model: str, per_hour: float, business_only: bool, signals: Signals, stability: str | list[str]
) -> EndpointDesign:
    """One of the long-tail endpoints ``tail-NN``: a trickle of small requests on serverless.

    ``stability`` is the class the scratch check found (business-hours-only trickles are active in at most 50 of
    168 hours, hence sporadic; a list where the class changes from week to week).
    """
    unpriced = model == MODEL_UNPRICED
    return EndpointDesign(
        name=f"tail-{index:02d}",
        model=model,
        client=f"team-labs-{index % 4}",
        deployment_mode="serverless",
        shape=Trickle(per_hour, business_hours_only=business_only),
        input_tokens=Lognormal(median=700, sigma=0.7),
        output_tokens=Lognormal(median=200, sigma=0.7),
        cached_share=0.0,
        signals=signals,
        error_rate=0.01,
        billed=False,
        expected={
            "stability_class": stability,
            "burst_class": "bursty",  # peak minute / mean is far above 10 for a few requests per hour
            "latency_class": _latency_class_of(signals),
            "expected_recommended_mode": "unpriced" if unpriced else "serverless",
        },
    )


def _latency_class_of(signals: Signals) -> str:
    """The latency class (docs/metrics.md#latency-class) a large sample with these signal shares gets (stream
    and hint drawn independently, deployment mode serverless)."""
    interactive = 1 - (1 - signals.stream_true) * (1 - signals.interactive_true)
    if interactive >= 0.8:
        return "interactive"
    if signals.interactive_false >= 0.8:
        return "offline"
    recorded_stream = signals.stream_true + signals.stream_false  # true or false: both are a signal
    coverage = 1 - (1 - recorded_stream) * (1 - signals.interactive_true - signals.interactive_false)
    return "mixed" if coverage >= 0.5 else "unknown"


_KB_SEARCH_EXPECTED: dict[str, Any] = {
    "stability_class": "variable",  # the daily cycle of ±60 % keeps the baseline ratio below steady's 0.5
    "burst_class": ["smooth", "moderate"],
    "latency_class": "interactive",
    # alone, one replica in each region's busy hours (serverless for the rest) beats both serverless and a replica
    # held all week
    "expected_recommended_mode": "hybrid",
    "expected_plan_family": ["scheduled", "autoscale"],
    # the pool of the three (docs/cost-model.md#pools): recommended from the second week (persistence 2)
    "expected_pool": "kb-search",
}


def endpoint_designs() -> tuple[EndpointDesign, ...]:
    """The demo's endpoints in a fixed order (the order seeds each endpoint's random streams)."""
    no_signal = Signals(0.0, 0.0, 0.0, 0.0)
    return (
        EndpointDesign(
            name="chat-api",
            model=MODEL_70B,
            client="team-search",
            deployment_mode="serverless",
            shape=Steady(per_minute=18.0, amplitude=0.08, peak_hour=15.0),
            input_tokens=Lognormal(median=17_000, sigma=0.35),
            output_tokens=Lognormal(median=500, sigma=0.5),
            cached_share=0.4,
            signals=Signals(1.0, 0.0, 0.3, 0.0),
            error_rate=0.01,
            billed=True,
            expected={
                "stability_class": "steady",
                "burst_class": "smooth",
                "latency_class": "interactive",
                "expected_recommended_mode": ["dedicated", "hybrid"],
                # its cheapest plan keeps at least one replica busy every hour of every week: worth committing
                # to for the provider's shortest term (docs/cost-model.md#commitments)
                "expected_commitment": {"term": "1-month", "min_replicas": 1},
            },
        ),
        EndpointDesign(
            name="support-agent",
            model=MODEL_70B,
            client="team-support",
            deployment_mode="serverless",
            shape=BusinessHours(per_minute=12.0, floor_per_minute=0.5),
            input_tokens=Lognormal(median=3_500, sigma=0.5),
            output_tokens=Lognormal(median=350, sigma=0.6),
            cached_share=0.2,
            signals=Signals(1.0, 0.0, 0.5, 0.0),
            error_rate=0.015,
            billed=True,
            expected={
                "stability_class": "variable",
                "burst_class": "bursty",
                "latency_class": "interactive",
                "expected_recommended_mode": "serverless",
            },
        ),
        EndpointDesign(
            name="launch-feature",
            model=MODEL_8B,
            client="team-growth",
            deployment_mode="serverless",
            shape=FlashCrowds(per_minute=2.0, amplitude=0.75, weekly_growth=1.25, crowds_per_week=3),
            input_tokens=Lognormal(median=900, sigma=0.6),
            output_tokens=Lognormal(median=250, sigma=0.6),
            cached_share=0.0,
            signals=Signals(0.92, 0.08, 0.0, 0.0),
            error_rate=0.018,
            billed=True,
            expected={
                "stability_class": "variable",
                "burst_class": "bursty",
                "latency_class": "interactive",
                "expected_recommended_mode": "serverless",
            },
        ),
        EndpointDesign(
            name="nightly-summarize",
            model=MODEL_70B,
            client="team-data",
            deployment_mode="serverless",
            shape=NightlyWindow(per_minute=40.0),
            input_tokens=Lognormal(median=18_000, sigma=0.4),
            output_tokens=Lognormal(median=700, sigma=0.4),
            cached_share=0.0,
            signals=Signals(0.0, 1.0, 0.0, 1.0),
            error_rate=0.008,
            billed=True,
            expected={
                "stability_class": "sporadic",
                "burst_class": "bursty",
                "latency_class": "offline",
                # nobody waits and the job runs at the same two hours every night: batch at 50% off, or replicas
                # scheduled for exactly those hours (per-minute billing), whichever the card makes cheaper
                "expected_recommended_mode": ["batch", "hybrid", "dedicated"],
                "expected_plan_family": [None, "scheduled"],
                "expected_runs_per_week": {"exactly": 7},  # one run a night, 01:00-03:00 UTC
            },
        ),
        EndpointDesign(
            name="voice-agent",
            model=MODEL_8B,
            client="team-voice",
            deployment_mode="serverless",
            shape=Steady(per_minute=36.0, amplitude=0.1, peak_hour=17.0),
            input_tokens=Lognormal(median=23_000, sigma=0.25),
            output_tokens=Lognormal(median=100, sigma=0.4),
            cached_share=0.7,
            signals=Signals(1.0, 0.0, 1.0, 0.0),
            error_rate=0.006,
            billed=True,
            expected={
                "stability_class": "steady",
                "burst_class": "smooth",
                "latency_class": "interactive",
                "expected_recommended_mode": ["dedicated", "hybrid"],
            },
        ),
        EndpointDesign(
            name="internal-tool",
            model=MODEL_405B,
            client="team-platform",
            deployment_mode="serverless",
            shape=SporadicHours(per_hour=12.0),
            input_tokens=Lognormal(median=6_000, sigma=0.7),
            output_tokens=Lognormal(median=900, sigma=0.5),
            cached_share=0.0,
            signals=Signals(0.0, 1.0, 1.0, 0.0),
            error_rate=0.012,
            billed=True,
            expected={
                "stability_class": "sporadic",
                "burst_class": "bursty",
                "latency_class": "interactive",
                "expected_recommended_mode": "serverless",
            },
        ),
        EndpointDesign(
            name="legacy-dedicated",
            model=MODEL_70B,
            client="team-legacy",
            deployment_mode="dedicated",
            shape=Steady(per_minute=0.8, amplitude=0.2, peak_hour=14.0),
            input_tokens=Lognormal(median=1_200, sigma=0.5),
            output_tokens=Lognormal(median=250, sigma=0.5),
            cached_share=0.0,
            signals=Signals(0.65, 0.35, 0.0, 0.0),
            error_rate=0.007,
            billed=False,
            expected={
                "stability_class": "steady",
                "burst_class": ["moderate", "bursty"],
                "latency_class": "mixed",
                "expected_recommended_mode": "serverless",
            },
        ),
        _tail(0, MODEL_8B, 4.0, False, INTERACTIVE_STREAM, "variable"),
        _tail(1, MODEL_70B, 2.0, False, no_signal, "variable"),
        _tail(2, MODEL_405B, 1.0, True, INTERACTIVE_STREAM, "sporadic"),
        _tail(3, MODEL_8B, 6.0, True, Signals(0.6, 0.4, 0.0, 0.0), "sporadic"),
        _tail(4, MODEL_UNPRICED, 5.0, False, INTERACTIVE_STREAM, ["steady", "variable"]),
        _tail(5, MODEL_70B, 0.5, False, no_signal, "sporadic"),
        _tail(6, MODEL_8B, 3.0, True, no_signal, "sporadic"),
        _tail(7, MODEL_70B, 1.5, False, INTERACTIVE_STREAM, "variable"),
        _tail(8, MODEL_405B, 0.3, True, INTERACTIVE_STREAM, "sporadic"),
        _tail(9, MODEL_8B, 2.5, False, Signals(0.3, 0.7, 0.0, 0.0), "variable"),
        # Appended after the tail so every endpoint above keeps its random streams (they are seeded by position).
        EndpointDesign(
            name="voice-assist",
            model=MODEL_70B,
            client="team-voice",
            deployment_mode="serverless",
            shape=Steady(per_minute=6.0, amplitude=0.3, peak_hour=18.0),
            input_tokens=Lognormal(median=1_500, sigma=0.4),
            output_tokens=Lognormal(median=120, sigma=0.4),
            cached_share=0.2,
            signals=Signals(1.0, 0.0, 1.0, 0.0),
            error_rate=0.005,
            billed=True,
            peak_slowdown=(16, 21, 2.8),
            expected={
                "stability_class": "steady",
                "burst_class": ["smooth", "moderate"],
                "latency_class": "interactive",
                # serverless is far cheaper, but its p95 TTFT breaks the 600 ms SLO every evening (16-21 UTC)
                "slo": {"ttft_p95_ms": 600},
                "expected_slo_status": "breached",
                "expected_slo_premium": "positive",
                "expected_recommended_mode": ["dedicated", "hybrid"],
            },
        ),
        EndpointDesign(
            name="offline-trickle",
            model=MODEL_70B,
            client="team-data",
            deployment_mode="serverless",
            shape=Trickle(per_hour=1.0),
            input_tokens=Lognormal(median=800, sigma=0.5),
            output_tokens=Lognormal(median=150, sigma=0.5),
            cached_share=0.0,
            signals=Signals(0.0, 1.0, 0.0, 1.0),
            error_rate=0.01,
            billed=False,
            expected={
                "stability_class": ["variable", "sporadic"],
                "burst_class": "bursty",
                "latency_class": "offline",
                # batch is the cheapest plan and its tiny runs fit every batch limit, but it saves cents: held
                "expected_raw_mode": "batch",
                "expected_recommended_mode": "serverless",
                "expected_runs_per_week": {"min": 50},
            },
        ),
        EndpointDesign(
            name="office-copilot",
            model=MODEL_70B,
            client="team-workplace",
            deployment_mode="serverless",
            # ~25 k weighted tokens/s on weekdays 08-19 UTC (~29 k with the bursts: 3 replicas at K·u = 9,600),
            # 3 requests an hour otherwise, and 1-3 bursts of 3-5x the daytime level for 10-40 minutes a weekday
            shape=OfficeBursts(per_minute=22.0, floor_per_minute=0.05),
            # answers over a user's documents, mail threads and meeting notes: long prompts, short answers
            input_tokens=Lognormal(median=60_000, sigma=0.3),
            output_tokens=Lognormal(median=400, sigma=0.5),
            cached_share=0.3,
            signals=Signals(1.0, 0.0, 0.6, 0.0),
            error_rate=0.01,
            billed=True,
            expected={
                "stability_class": "variable",
                "burst_class": "bursty",
                "latency_class": "interactive",
                # Replicas held all week barely beat serverless (the nights and weekends are idle), so a model that
                # costs only fixed plans keeps it on serverless or a thin hybrid; replicas in business hours only
                # (scheduled) or an autoscaler beat both (tests/test_demo_data.py sizes it with the cost model).
                "expected_fixed_only_mode": ["serverless", "hybrid"],
                "expected_plan_family": ["scheduled", "autoscale"],
                "expected_recommended_mode": ["dedicated", "hybrid"],
                "expected_schedule_window": "Mon–Fri 08:00–19:00 UTC",  # the window proposed from its hours
            },
        ),
        # Three regions of one knowledge-base search on the 405B model: alone each half-fills a replica around its
        # own daytime; together their daily cycles cancel (peaks 8 hours apart), so one shared deployment
        # serves all three with fewer replica-hours than their own plans: the demo's pool.
        EndpointDesign(
            name="kb-search-emea",
            model=MODEL_405B,
            client="team-knowledge",
            deployment_mode="serverless",
            # one region's knowledge-base answers: half a 405B replica on average (K·u ≈ 7,800 weighted tokens/s
            # at this shape), peaking at 10:00 UTC; the three regions peak 8 hours apart
            shape=Steady(per_minute=3.25, amplitude=0.6, peak_hour=10.0),
            input_tokens=Lognormal(median=60_000, sigma=0.3),
            output_tokens=Lognormal(median=1_000, sigma=0.4),
            cached_share=0.5,
            signals=Signals(1.0, 0.0, 0.5, 0.0),
            error_rate=0.005,
            billed=True,
            expected=_KB_SEARCH_EXPECTED,
        ),
        EndpointDesign(
            name="kb-search-amer",
            model=MODEL_405B,
            client="team-knowledge",
            deployment_mode="serverless",
            # one region's knowledge-base answers: half a 405B replica on average (K·u ≈ 7,800 weighted tokens/s
            # at this shape), peaking at 18:00 UTC; the three regions peak 8 hours apart
            shape=Steady(per_minute=3.25, amplitude=0.6, peak_hour=18.0),
            input_tokens=Lognormal(median=60_000, sigma=0.3),
            output_tokens=Lognormal(median=1_000, sigma=0.4),
            cached_share=0.5,
            signals=Signals(1.0, 0.0, 0.5, 0.0),
            error_rate=0.005,
            billed=True,
            expected=_KB_SEARCH_EXPECTED,
        ),
        EndpointDesign(
            name="kb-search-apac",
            model=MODEL_405B,
            client="team-knowledge",
            deployment_mode="serverless",
            # one region's knowledge-base answers: half a 405B replica on average (K·u ≈ 7,800 weighted tokens/s
            # at this shape), peaking at 02:00 UTC; the three regions peak 8 hours apart
            shape=Steady(per_minute=3.25, amplitude=0.6, peak_hour=2.0),
            input_tokens=Lognormal(median=60_000, sigma=0.3),
            output_tokens=Lognormal(median=1_000, sigma=0.4),
            cached_share=0.5,
            signals=Signals(1.0, 0.0, 0.5, 0.0),
            error_rate=0.005,
            billed=True,
            expected=_KB_SEARCH_EXPECTED,
        ),
        EndpointDesign(
            name="partner-gateway",
            model=MODEL_70B,
            client="team-partners",
            deployment_mode="serverless",
            # a partner-facing assistant behind the team's LiteLLM proxy, logged as LiteLLM SpendLogs whose spend
            # is what the provider bills: 60 % of list (a negotiated discount). Steady and busy enough that a
            # dedicated plan beats list prices, not the billed ones: at billed prices it stays on serverless.
            shape=Steady(per_minute=GATEWAY_PER_MINUTE, amplitude=0.1, peak_hour=13.0),
            input_tokens=Lognormal(median=23_500, sigma=0.35),
            output_tokens=Lognormal(median=400, sigma=0.5),
            cached_share=0.3,
            signals=Signals(0.0, 0.0, 1.0, 0.0),
            error_rate=0.01,
            billed=True,
            billed_factor=GATEWAY_BILLED_FACTOR,
            log_format="litellm",
            expected={
                "stability_class": "steady",
                "burst_class": "smooth",
                "latency_class": "interactive",
                "log_format": "litellm",
                "expected_price_basis": "billed",
                "expected_price_factor": GATEWAY_BILLED_FACTOR,
                "expected_recommended_mode": "serverless",
                "expected_list_raw_mode": ["dedicated", "hybrid"],
            },
        ),
    )


# --- drawing requests ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelTiming:
    """A rough latency model: time to first token = (base + prefill per input token) × noise; then decode."""

    ttft_base_ms: float
    prefill_ms_per_token: float
    decode_ms_per_token: float


TIMINGS: dict[str, ModelTiming] = {
    MODEL_8B: ModelTiming(120.0, 0.004, 6.0),
    MODEL_70B: ModelTiming(250.0, 0.02, 18.0),
    MODEL_405B: ModelTiming(600.0, 0.05, 35.0),
    MODEL_UNPRICED: ModelTiming(150.0, 0.006, 8.0),
}


def _serverless_prices(models: list[str]) -> dict[str, tuple[float, float, float | None]]:
    """USD per token (input, output, cached input or None when the card prices cache hits as input) of each priced
    model in the shipped rate card, in force at the demo start."""
    card = load_rate_card(shipped_rate_card_path())
    start = START.date()
    in_force = card.filter(
        (pl.col("provider") == "together")  # the demo's endpoints run on the default provider
        & (pl.col("effective_from") <= start)
        & (pl.col("effective_to").is_null() | (pl.col("effective_to") > start))
    )
    return {
        row["model"]: (
            row["input_usd_per_mtok"] / 1e6,
            row["output_usd_per_mtok"] / 1e6,
            None if row["cached_input_usd_per_mtok"] is None else row["cached_input_usd_per_mtok"] / 1e6,
        )
        for row in in_force.iter_rows(named=True)
        if row["model"] in models
    }


def _tri_state(rng: np.random.Generator, n: int, share_true: float, share_false: float) -> np.ndarray:
    """Codes for a nullable boolean: 1 = true (share_true), 0 = false (share_false), 2 = null (the rest)."""
    u = rng.random(n)
    return np.where(u < share_true, 1, np.where(u < share_true + share_false, 0, 2)).astype(np.int8)


def _endpoint_requests(
    design: EndpointDesign,
    index: int,
    seed: int,
    scale: float,
    prices: dict[str, tuple[float, float, float | None]],
) -> dict[str, np.ndarray]:
    """Numpy columns of one endpoint's requests over the three weeks (unsorted across endpoints).

    The arrival shape uses its own random stream, so a flash crowd or an active hour lands at the same time
    whatever the scale; counts and per-request values come from a second stream.
    """
    minutes = np.arange(MINUTES, dtype=np.int64)
    shape_rng = np.random.default_rng([seed, index, 0])
    rng = np.random.default_rng([seed, index, 1])
    counts = rng.poisson(design.shape.rates(minutes, shape_rng) * scale)
    n = int(counts.sum())
    ts_ms = START_MS + np.repeat(minutes, counts) * MS_PER_MINUTE + rng.integers(0, MS_PER_MINUTE, n)

    input_tokens = design.input_tokens.draw(rng, n)
    output_tokens = design.output_tokens.draw(rng, n)
    ok = rng.random(n) >= design.error_rate
    output_tokens[~ok] = 0
    cached = np.floor(input_tokens * design.cached_share * rng.uniform(0.7, 1.0, n)).astype(np.int64)

    stream = _tri_state(rng, n, design.signals.stream_true, design.signals.stream_false)
    interactive = _tri_state(rng, n, design.signals.interactive_true, design.signals.interactive_false)

    timing = TIMINGS[design.model]
    first_token = (timing.ttft_base_ms + timing.prefill_ms_per_token * input_tokens) * rng.lognormal(
        0, 0.25, n
    )
    if design.peak_slowdown is not None:
        first_hour, end_hour, factor = design.peak_slowdown
        hour = (ts_ms // (60 * MS_PER_MINUTE)) % 24
        first_token = np.where((hour >= first_hour) & (hour < end_hour), first_token * factor, first_token)
    decode = output_tokens * timing.decode_ms_per_token * rng.lognormal(0, 0.2, n)
    latency = np.where(ok, first_token + decode, first_token * rng.uniform(0.2, 1.0, n))
    ttft = np.where(ok & (stream == 1), first_token, np.nan)

    price = prices.get(design.model)
    if design.billed and price is not None and price[2] is None:  # cache hits billed as input tokens
        billed = np.where(ok, input_tokens * price[0] + output_tokens * price[1], 0.0) * design.billed_factor
    elif design.billed and price is not None:
        fresh = input_tokens - cached
        billed = np.where(ok, fresh * price[0] + cached * price[2] + output_tokens * price[1], 0.0)
        billed = billed * design.billed_factor
    else:
        billed = np.full(n, np.nan)
    return {
        "ts_ms": ts_ms,
        "endpoint_code": np.full(n, index, dtype=np.int16),
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cached_input_tokens": cached,
        "latency_ms": np.round(latency, 1),
        "ttft_ms": np.round(ttft, 1),
        "ok": ok,
        "stream_code": stream,
        "interactive_code": interactive,
        "billed_cost_usd": np.round(billed, 9),
    }


def endpoint_minute_tokens(
    name: str, seed: int = DEFAULT_SEED, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """(input tokens, output tokens) of the ok requests of demo endpoint ``name`` in each minute of the three
    weeks (float64 arrays of ``MINUTES`` values, minute 0 = Monday 2026-10-26 00:00 UTC): the same requests
    ``build_requests`` writes, summed per minute as the minute rollups sum them (for sizing an endpoint with the
    cost model without running the pipeline)."""
    designs = endpoint_designs()
    index = next((i for i, design in enumerate(designs) if design.name == name), None)
    if index is None:
        raise ValueError(f"no demo endpoint is named {name!r}")
    design = designs[index]
    columns = _endpoint_requests(design, index, seed, scale, _serverless_prices([design.model]))
    ok = columns["ok"]
    minute = (columns["ts_ms"][ok] - START_MS) // MS_PER_MINUTE
    tokens_in = np.bincount(minute, weights=columns["input_tokens"][ok], minlength=MINUTES)
    tokens_out = np.bincount(minute, weights=columns["output_tokens"][ok], minlength=MINUTES)
    return tokens_in.astype(np.float64), tokens_out.astype(np.float64)


def _nullable_bool(code_column: str) -> pl.Expr:
    """A Boolean column from tri-state codes (1 true, 0 false, 2 null)."""
    code = pl.col(code_column)
    return pl.when(code == 2).then(None).otherwise(code == 1)


def _privacy_columns(rng: np.random.Generator, endpoint_code: np.ndarray, n_endpoints: int) -> pl.DataFrame:
    """``prompt``, ``completion`` and ``api_key`` for about 1 % of rows (null elsewhere), each text with CANARY."""
    n = endpoint_code.size
    planted = rng.random(n) < PRIVACY_ROW_SHARE
    keys = [API_KEY_PREFIX + rng.bytes(16).hex() for _ in range(3 * n_endpoints)]
    key_choice = endpoint_code.astype(np.int64) * 3 + rng.integers(0, 3, n)
    lorem = pl.Series(_LOREM)
    frame = pl.DataFrame(
        {
            "planted": planted,
            "prompt_text": lorem.gather(rng.integers(0, len(_LOREM), n)),
            "completion_text": lorem.gather(rng.integers(0, len(_LOREM), n)),
            "key": pl.Series(keys).gather(key_choice),
        }
    )
    return frame.select(
        prompt=pl.when("planted").then(
            pl.format("{} [{}] Please answer briefly.", "prompt_text", pl.lit(CANARY))
        ),
        completion=pl.when("planted").then(pl.format("Sure. {} [{}]", "completion_text", pl.lit(CANARY))),
        api_key=pl.when("planted").then("key"),
    )


def _run_tag(seed: int, scale: float) -> str:
    """8 hex digits naming a (seed, scale) run, so request ids of different runs never collide."""
    return hashlib.sha256(f"{seed}:{scale!r}".encode()).hexdigest()[:8]


def build_requests(seed: int = DEFAULT_SEED, scale: float = 1.0) -> pl.DataFrame:
    """All demo requests as canonical rows (columns ``ROW_KEYS``, ``ts`` as ISO text) sorted by arrival, plus
    ``day`` (the UTC date of ``ts``). ``scale`` multiplies every arrival rate (1.0 = the designed volumes).
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    designs = endpoint_designs()
    prices = _serverless_prices([design.model for design in designs])
    parts = [_endpoint_requests(design, index, seed, scale, prices) for index, design in enumerate(designs)]
    columns = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    order = np.lexsort((columns["endpoint_code"], columns["ts_ms"]))  # by time, ties by endpoint
    columns = {name: values[order] for name, values in columns.items()}

    def lookup(values: list[str]) -> pl.Series:
        return pl.Series(values).gather(columns["endpoint_code"].astype(np.int64))

    privacy = _privacy_columns(np.random.default_rng([seed, 10_000]), columns["endpoint_code"], len(designs))
    frame = pl.DataFrame(columns).with_columns(
        endpoint=lookup([d.name for d in designs]),
        model=lookup([d.model for d in designs]),
        client=lookup([d.client for d in designs]),
        deployment_mode=lookup([d.deployment_mode for d in designs]),
    )
    timestamp = pl.from_epoch("ts_ms", time_unit="ms")
    return pl.concat([frame, privacy], how="horizontal").select(
        request_id=pl.format(
            "req-{}-{}", pl.lit(_run_tag(seed, scale)), pl.int_range(pl.len()).cast(pl.String).str.zfill(8)
        ),
        ts=timestamp.dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
        endpoint="endpoint",
        model="model",
        input_tokens="input_tokens",
        output_tokens="output_tokens",
        cached_input_tokens="cached_input_tokens",
        latency_ms="latency_ms",
        ttft_ms=pl.col("ttft_ms").fill_nan(None),
        ok="ok",
        stream=_nullable_bool("stream_code"),
        interactive=_nullable_bool("interactive_code"),
        client="client",
        deployment_mode="deployment_mode",
        billed_cost_usd=pl.col("billed_cost_usd").fill_nan(None),
        prompt="prompt",
        completion="completion",
        api_key="api_key",
        day=timestamp.dt.date(),
    )


# --- files and ground truth ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoManifest:
    """What ``generate_demo`` wrote: the daily canonical request files in date order, the weekly LiteLLM spend log
    files in week order, the row count (of both), the ground truth."""

    files: list[Path]
    litellm_files: list[Path]
    rows: int
    ground_truth: dict[str, Any]
    ground_truth_path: Path


def demo_days() -> list[date]:
    """The 21 UTC days the demo covers, Monday 2026-10-26 to Sunday 2026-11-15."""
    return [START.date() + timedelta(days=offset) for offset in range(DAYS)]


def day_file_name(day: date) -> str:
    """The file name holding the requests of ``day``: ``requests-YYYY-MM-DD.jsonl.gz``."""
    return f"requests-{day.isoformat()}.jsonl.gz"


def midnight_rows(scale: float) -> int:
    """How many of the first requests of the day after ``MIDNIGHT_FILE_DAY`` are written to that day's file."""
    return max(MIDNIGHT_ROWS_MIN, round(MIDNIGHT_ROWS_AT_SCALE_1 * scale))


def _file_day(requests: pl.DataFrame, scale: float) -> pl.Series:
    """The day whose file each (time-sorted) row goes to: its own day, except the first ``midnight_rows`` of the
    day after ``MIDNIGHT_FILE_DAY``, which go to that day's file."""
    next_day = MIDNIGHT_FILE_DAY + timedelta(days=1)
    first_of_next = requests.select(
        (pl.col("day") == next_day) & (pl.int_range(pl.len()).over("day") < midnight_rows(scale))
    ).to_series()
    return requests["day"].set(first_of_next, MIDNIGHT_FILE_DAY)


def litellm_file_name(week_start: date) -> str:
    """The file name of the LiteLLM spend logs of the ISO week starting ``week_start``."""
    return f"litellm-spend-logs-{week_start.isoformat()}.jsonl.gz"


def litellm_records(requests: pl.DataFrame) -> pl.DataFrame:
    """Canonical demo rows (``build_requests``) as the records of a LiteLLM SpendLogs export: ``model_group`` the
    endpoint, ``spend`` the billed cost (USD), times from the arrival, latency and time to first token (a call
    without a streamed first token has ``completionStartTime`` = ``endTime``, as LiteLLM writes it), tags from the
    interactive hint, cached tokens in ``metadata.usage_object``, ``api_key`` a SHA-256 hash (LiteLLM hashes keys)
    and ``messages`` / ``response`` carrying the rows' planted text, which ingest must never store."""
    started = pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%S%.3fZ", time_unit="us", time_zone="UTC")
    ended = started + pl.duration(microseconds=(pl.col("latency_ms") * 1000).round(0).cast(pl.Int64))
    first = started + pl.duration(microseconds=(pl.col("ttft_ms") * 1000).round(0).cast(pl.Int64))
    iso = "%Y-%m-%dT%H:%M:%S%.6fZ"
    key = pl.coalesce("api_key", pl.lit("demo-gateway-key"))
    return requests.select(
        "request_id",
        call_type=pl.lit("acompletion"),
        api_key=key.map_elements(
            lambda text: hashlib.sha256(text.encode()).hexdigest(), return_dtype=pl.String
        ),
        spend=pl.col("billed_cost_usd"),
        total_tokens=pl.col("input_tokens") + pl.col("output_tokens"),
        prompt_tokens="input_tokens",
        completion_tokens="output_tokens",
        startTime=started.dt.strftime(iso),
        endTime=ended.dt.strftime(iso),
        completionStartTime=pl.coalesce(first, ended).dt.strftime(iso),
        model="model",
        model_group="endpoint",
        custom_llm_provider=pl.lit("together_ai"),
        metadata=pl.struct(
            usage_object=pl.struct(prompt_tokens_details=pl.struct(cached_tokens="cached_input_tokens"))
        ),
        cache_hit=pl.lit("False"),
        request_tags=pl.when(pl.col("interactive"))
        .then(pl.lit(["interactive"]))
        .when(pl.col("interactive").not_())
        .then(pl.lit(["batch"]))
        .otherwise(pl.lit([], dtype=pl.List(pl.String))),
        team_id="client",
        end_user=pl.lit(""),
        messages=pl.coalesce("prompt", pl.lit("{}")),
        response=pl.coalesce("completion", pl.lit("{}")),
        status=pl.when("ok").then(pl.lit("success")).otherwise(pl.lit("failure")),
    )


def _write_gzip_jsonl(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` as gzip-compressed JSONL, atomically (the gzip header has no time stamp: reproducible)."""
    tmp = temp_sibling(path)
    frame.write_ndjson(tmp, compression="gzip", compression_level=6, check_extension=False)
    replace_file(tmp, path)


def expected_outcomes() -> dict[str, dict[str, Any]]:
    """Per endpoint: model, current mode and the expected classes and recommended mode (valid at scale 1)."""
    return {
        design.name: {"model": design.model, "current_mode": design.deployment_mode, **design.expected}
        for design in endpoint_designs()
    }


# Keys of ground_truth.json that describe one run (they change with seed and scale); all others never do.
RUN_KEYS: tuple[str, ...] = ("seed", "scale", "rows", "rows_by_endpoint", "midnight_crossing")


def ground_truth(
    seed: int, scale: float, rows_by_endpoint: dict[str, int], midnight_crossing_rows: int
) -> dict[str, Any]:
    """The content of ``ground_truth.json``: the expectations, plus what this run wrote (``RUN_KEYS``)."""
    return {
        "seed": seed,
        "scale": scale,
        "rows": sum(rows_by_endpoint.values()),
        "rows_by_endpoint": rows_by_endpoint,
        "midnight_crossing": {
            "file": day_file_name(MIDNIGHT_FILE_DAY),
            "day": (MIDNIGHT_FILE_DAY + timedelta(days=1)).isoformat(),
            "rows": midnight_crossing_rows,
        },
        "expectations_hold_at_scale": 1.0,
        "expected_recommended_mode_means": (
            "the raw candidate (docs/cost-model.md#raw-candidate: the cheapest plan) in every week; a list "
            "holds the acceptable values. Whether the recommendation migrates also depends on history "
            "(persistence_weeks)."
        ),
        "expected_plan_family_means": (
            "the plan family (fixed, autoscale or scheduled: docs/cost-model.md) of that cheapest plan once the "
            "plan families are costed; expected_fixed_only_mode is the raw candidate's mode when only fixed "
            "plans (R replicas all week) are costed."
        ),
        "weeks": [(START.date() + timedelta(days=7 * week)).isoformat() for week in range(WEEKS)],
        "days": [day.isoformat() for day in demo_days()],
        "canary": CANARY,
        "api_key_prefix": API_KEY_PREFIX,
        "endpoints": expected_outcomes(),
    }


def generate_demo(out_dir: Path, seed: int = DEFAULT_SEED, scale: float = 1.0) -> DemoManifest:
    """Write the demo's 21 daily request files, its 3 weekly LiteLLM spend logs and ``ground_truth.json`` into
    ``out_dir``; return the manifest.

    Same seed and scale → byte-identical files. ``scale`` multiplies every arrival rate (use small values such as
    0.02 in tests); the expectations in the ground truth hold at scale 1 only.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    everything = build_requests(seed, scale)
    litellm_endpoints = [d.name for d in endpoint_designs() if d.log_format == "litellm"]
    through_litellm = pl.col("endpoint").is_in(litellm_endpoints)
    requests = everything.filter(~through_litellm)
    file_day = _file_day(requests, scale)
    moved = int((file_day != requests["day"]).sum())
    rows_by_day = requests.with_columns(file_day=file_day).partition_by(
        "file_day", as_dict=True, include_key=False
    )
    files = []
    for day in demo_days():
        path = out_dir / day_file_name(day)
        day_rows = rows_by_day.get((day,), requests.clear())
        _write_gzip_jsonl(day_rows.select(ROW_KEYS), path)
        files.append(path)
    gateway = everything.filter(through_litellm)
    litellm_files = []
    for week in range(WEEKS):
        week_start = START.date() + timedelta(days=7 * week)
        in_week = (pl.col("day") >= week_start) & (pl.col("day") < week_start + timedelta(days=7))
        path = out_dir / litellm_file_name(week_start)
        _write_gzip_jsonl(litellm_records(gateway.filter(in_week)), path)
        litellm_files.append(path)
    counts = everything.group_by("endpoint").len().sort("endpoint")
    truth = ground_truth(seed, scale, dict(zip(counts["endpoint"], counts["len"], strict=True)), moved)
    truth_path = out_dir / "ground_truth.json"
    write_json(truth_path, truth)
    return DemoManifest(
        files=files,
        litellm_files=litellm_files,
        rows=everything.height,
        ground_truth=json.loads(json.dumps(truth)),
        ground_truth_path=truth_path,
    )
