"""Estimating what a dedicated replica sustains from traffic it actually served (``modeshift calibrate``; see
docs/cost-model.md#calibrating-replica-capacity).

Input: one endpoint's minutes served on dedicated replicas, each with its weighted tokens (input + w × output of
the ok requests) and its P95 request latency, and the replica count declared for the endpoint. Per minute m the
load per replica is x_m = weighted_m / 60 / R weighted tokens/s. The estimate is

* K̂ = the 95th percentile of x_m over the observed minutes (linear interpolation between order statistics): a
  load the replicas carried in the busiest 5 % of minutes, so a sustained rate, not one lucky minute;
* the **busiest minutes** are those with x_m ≥ K̂, and the latency reported beside K̂ is the median of their
  per-minute P95 latencies (what a busy minute's P95 looked like).

K̂ is what the replicas were seen to carry, not what they could: unless they were saturated (latency above the
target in those minutes), the true capacity is at least K̂. Pure functions: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SECONDS_PER_MINUTE = 60
CAPACITY_QUANTILE = 0.95


@dataclass(frozen=True)
class CapacityEstimate:
    """K̂ for one endpoint: ``per_replica_tps`` (weighted tokens/s per replica), from ``minutes_observed`` minutes,
    ``busy_minutes`` of which are at or above it; ``latency_p95_ms`` is the median per-minute P95 latency of those
    busy minutes (None when none of them recorded a latency)."""

    minutes_observed: int
    busy_minutes: int
    per_replica_tps: float
    latency_p95_ms: float | None


def estimate_replica_capacity(
    weighted_tokens: np.ndarray,
    latency_p95_ms: np.ndarray,
    replicas: int,
    quantile: float = CAPACITY_QUANTILE,
) -> CapacityEstimate:
    """K̂ from per-minute ``weighted_tokens`` (weighted tokens served in each observed minute) and the minutes'
    P95 latency in ms (NaN where a minute recorded none), for ``replicas`` declared replicas; see the module
    docstring. Raises ValueError for no minutes, mismatched or negative inputs, replicas < 1 or a quantile outside
    (0, 1]."""
    tokens = np.asarray(weighted_tokens, dtype=np.float64)
    latency = np.asarray(latency_p95_ms, dtype=np.float64)
    if tokens.ndim != 1 or tokens.shape != latency.shape:
        raise ValueError(
            f"weighted_tokens and latency_p95_ms must be 1-D of one length, got {tokens.shape}, {latency.shape}"
        )
    if tokens.size == 0:
        raise ValueError("at least one observed minute is needed")
    if not np.all(np.isfinite(tokens)) or np.any(tokens < 0):
        raise ValueError("weighted_tokens must be finite and >= 0")
    if replicas < 1:
        raise ValueError(f"replicas must be >= 1, got {replicas}")
    if not 0 < quantile <= 1:
        raise ValueError(f"quantile must be in (0, 1], got {quantile}")
    per_replica = tokens / SECONDS_PER_MINUTE / replicas
    estimate = float(np.quantile(per_replica, quantile, method="linear"))
    busy = per_replica >= estimate
    busy_latency = latency[busy]
    busy_latency = busy_latency[np.isfinite(busy_latency)]
    return CapacityEstimate(
        minutes_observed=int(tokens.size),
        busy_minutes=int(busy.sum()),
        per_replica_tps=estimate,
        latency_p95_ms=float(np.median(busy_latency)) if busy_latency.size else None,
    )
