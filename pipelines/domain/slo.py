"""Latency SLOs on serverless (docs/cost-model.md#latency-slos): each hour's percentile of the SLO's metric over
the requests served on serverless, read off the daily rollups' per-hour histograms, against the threshold; the
week's status; and the plan that reserves enough capacity to meet a breached SLO.

An hour is *breached* when its percentile (of the SLO's metric, in ms) exceeds the threshold. The week is
``breached`` when at least one hour with requests is, ``met`` when none is, and ``not_checked`` when no serverless
request of the week carries the metric (never silently met). Pure functions: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl

from pipelines.core.vocabulary import SLO_BREACHED, SLO_MET, SLO_NOT_CHECKED
from pipelines.domain.cost_model import PlanCurve, plan_mode
from pipelines.domain.histogram import histogram_percentile

METRIC_COLUMNS = {"ttft": "ttft_ms", "latency": "latency_ms"}
METRIC_LABELS = {"ttft": "TTFT", "latency": "latency"}
PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


@dataclass(frozen=True)
class Slo:
    """One endpoint's latency SLO: ``percentile`` ('p50', 'p95', 'p99') of ``metric`` ('ttft': time to first
    token, 'latency': whole request) at most ``threshold_ms`` milliseconds, and the largest share of weighted tokens
    (fraction) a reserved plan meeting it may still overflow to serverless. ``pattern``: the settings key it came
    from."""

    metric: str
    percentile: str
    threshold_ms: float
    max_overflow_share: float = 0.05
    pattern: str | None = None

    def __post_init__(self) -> None:
        if self.metric not in METRIC_COLUMNS:
            raise ValueError(f"SLO metric must be one of {tuple(METRIC_COLUMNS)}, got {self.metric!r}")
        if self.percentile not in PERCENTILES:
            raise ValueError(f"SLO percentile must be one of {tuple(PERCENTILES)}, got {self.percentile!r}")
        if not self.threshold_ms > 0:
            raise ValueError(f"SLO threshold must be > 0 ms, got {self.threshold_ms}")
        if not 0 <= self.max_overflow_share <= 1:
            raise ValueError(f"max_overflow_share must be in [0, 1], got {self.max_overflow_share}")

    @property
    def column(self) -> str:
        """The request column the SLO reads: 'ttft_ms' or 'latency_ms'."""
        return METRIC_COLUMNS[self.metric]

    @property
    def q(self) -> float:
        """The percentile as a fraction (0.95 for p95)."""
        return PERCENTILES[self.percentile]

    @property
    def label(self) -> str:
        """``p95 TTFT`` / ``p99 latency``."""
        return f"{self.percentile} {METRIC_LABELS[self.metric]}"


@dataclass(frozen=True)
class SloStatus:
    """One endpoint-week of an SLO on serverless. Counts are hours and requests (ok serverless requests carrying
    the metric); ``worst_hour_ms`` and ``week_ms`` are the worst hour's and the whole week's percentile in ms
    (None when not checked); ``breached_request_share`` = requests in breached hours / requests (fraction)."""

    status: str
    hours_with_requests: int
    breached_hours: int
    requests: int
    breached_requests: int
    worst_hour: datetime | None
    worst_hour_ms: float | None
    week_ms: float | None

    @property
    def breached_request_share(self) -> float | None:
        """Share of the week's requests that fell in breached hours (None when there were none)."""
        return self.breached_requests / self.requests if self.requests else None


NOT_CHECKED = SloStatus(SLO_NOT_CHECKED, 0, 0, 0, 0, None, None, None)


def slo_statuses(slos: Mapping[str, Slo], latency_hours: pl.DataFrame) -> dict[str, SloStatus]:
    """The week's SLO status of every endpoint in ``slos``.

    ``latency_hours``: the week's serverless latency histograms, columns endpoint, hour, metric ('ttft_ms' /
    'latency_ms'), bucket, n (requests), as the daily rollups hold them (rows of one endpoint, hour, metric and
    bucket from several files are added up). An endpoint without a row for its metric is ``not_checked``.
    """
    statuses = {endpoint: NOT_CHECKED for endpoint in slos}
    groups: dict[tuple[str, float], list[str]] = {}
    for endpoint, slo in slos.items():
        groups.setdefault((slo.column, slo.q), []).append(endpoint)
    for (column, q), endpoints in groups.items():
        hist = latency_hours.filter(pl.col("metric") == column, pl.col("endpoint").is_in(endpoints))
        if hist.is_empty():
            continue
        hourly = histogram_percentile(hist, ["endpoint", "hour"], q, name="value").join(
            hist.group_by("endpoint", "hour").agg(requests=pl.col("n").sum()), on=["endpoint", "hour"]
        )
        weekly = dict(histogram_percentile(hist, ["endpoint"], q, name="value").iter_rows())
        for (endpoint,), rows in hourly.partition_by("endpoint", as_dict=True).items():
            statuses[endpoint] = _status(slos[endpoint], rows.sort("hour"), weekly[endpoint])
    return statuses


def _status(slo: Slo, hourly: pl.DataFrame, week_ms: float) -> SloStatus:
    """Status from one endpoint's hourly percentiles (columns hour, value in ms, requests), hours sorted."""
    values = hourly["value"].to_numpy()
    requests = hourly["requests"].to_numpy()
    breached = values > slo.threshold_ms
    worst = int(np.argmax(values))  # the first hour of the largest value
    return SloStatus(
        status=SLO_BREACHED if breached.any() else SLO_MET,
        hours_with_requests=int(len(values)),
        breached_hours=int(breached.sum()),
        requests=int(requests.sum()),
        breached_requests=int(requests[breached].sum()),
        worst_hour=hourly["hour"][worst],
        worst_hour_ms=float(values[worst]),
        week_ms=float(week_ms),
    )


@dataclass(frozen=True)
class SloPlan:
    """The reserved plan chosen to meet a breached SLO: ``replicas`` (>= 1) on the plan curve, its mode
    ('dedicated' or 'hybrid'), and whether its overflow share is within the SLO's cap (False only when even R_full
    overflows more than the cap, and R_full is taken)."""

    replicas: int
    mode: str
    within_cap: bool


def slo_plan(curve: PlanCurve, max_overflow_share: float) -> SloPlan | None:
    """The cheapest plan with R >= 1 on ``curve`` whose overflow share (fraction of weighted tokens) is at most
    ``max_overflow_share``; fewer replicas on ties. The overflow share falls as R rises, so this is the cheapest R
    from the first one that holds the cap up to R_full. When no R holds it, R_full (``within_cap`` False). None
    when the curve has no R >= 1 (no demand)."""
    if curve.r_full < 1:
        return None
    reserved = np.arange(1, curve.r_full + 1)
    holds = curve.overflow_share[reserved] <= max_overflow_share + 1e-12
    if not holds.any():
        return SloPlan(curve.r_full, plan_mode(curve.r_full, curve.r_full), within_cap=False)
    feasible = reserved[holds]
    totals = curve.total_cost_usd[feasible]
    best = float(totals.min())
    replicas = int(feasible[np.flatnonzero(totals <= best + 1e-9 * max(1.0, abs(best)))[0]])
    return SloPlan(replicas, plan_mode(replicas, curve.r_full), within_cap=True)
