"""The autoscaler, simulated minute by minute on one week's demand (see docs/cost-model.md#autoscale).

The rules, for an endpoint scaling between ``min`` and ``max`` replicas with scale-up window W_up, scale-down
window W_down and cold start C (minutes), on the replicas each minute needs, n_m = ceil(D_m / (K·u)):

* desired_m = clamp(n_m, min, max); the week starts warm, with ``min`` replicas running and ready;
* at the end of minute m, if desired was above running in each of the last W_up minutes, start
  (the smallest desired of those minutes − running) replicas: billed from minute m+1, serving from m+1+C;
* else, if desired was below running in each of the last W_down minutes, stop one replica (the most recently
  started first) from minute m+1, and count the W_down minutes afresh.

The loop over minutes is compiled with numba (one pass, O(minutes)); ``simulate_reference`` is the same rules
written plainly in Python, kept for the tests that check the compiled kernel against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit


@dataclass(frozen=True, eq=False)
class AutoscaleTrace:
    """Replicas per covered minute: ``running`` (billed: starting or ready) and ``ready`` (serving), int64."""

    running: np.ndarray
    ready: np.ndarray


@njit(cache=True, nogil=True)
def _simulate(
    needed: np.ndarray,
    min_replicas: int,
    max_replicas: int,
    up_window: int,
    down_window: int,
    cold_start: int,
    running_out: np.ndarray,
    ready_out: np.ndarray,
) -> None:  # pragma: no cover - compiled; checked against simulate_reference
    minutes = needed.size
    # ready-at minute of each running replica, oldest first (a stack: the last started stops first)
    ready_at = np.empty(max(max_replicas, 1), dtype=np.int64)
    running = min_replicas
    for i in range(running):
        ready_at[i] = -1
    ready = running  # replicas ready_at[0:ready] serve; ready_at is non-decreasing along the stack
    up_streak = 0
    down_streak = 0
    for m in range(minutes):
        while ready < running and ready_at[ready] <= m:
            ready += 1
        running_out[m] = running
        ready_out[m] = ready
        desired = min(max(needed[m], min_replicas), max_replicas)
        up_streak = up_streak + 1 if desired > running else 0
        down_streak = down_streak + 1 if desired < running else 0
        if up_streak >= up_window:
            smallest = desired
            for j in range(m - up_window + 1, m):
                smallest = min(smallest, min(max(needed[j], min_replicas), max_replicas))
            for _ in range(smallest - running):
                ready_at[running] = m + 1 + cold_start
                running += 1
        elif down_streak >= down_window:
            running -= 1
            ready = min(ready, running)
            down_streak = 0


def replicas_needed(demand_tps: np.ndarray, planned_replica_tps: float) -> np.ndarray:
    """n_m = ceil(D_m / (K·u)): the replicas each minute's demand (weighted tokens/s) needs, int64 (0 when idle).

    Computed so that n_m·(K·u) >= D_m holds exactly as capacity is computed (the rounding of the division is
    corrected both ways)."""
    demand = np.asarray(demand_tps, dtype=np.float64)
    needed = np.ceil(demand / planned_replica_tps).astype(np.int64)
    needed[(needed > 0) & ((needed - 1) * planned_replica_tps >= demand)] -= 1
    needed[needed * planned_replica_tps < demand] += 1
    return needed


def simulate(
    needed: np.ndarray,
    min_replicas: int,
    max_replicas: int,
    up_window: int,
    down_window: int,
    cold_start: int,
) -> AutoscaleTrace:
    """Running and ready replicas per minute of an autoscaler between ``min_replicas`` and ``max_replicas`` on the
    replicas each minute needs (``replicas_needed``); windows and cold start in minutes."""
    _check(min_replicas, max_replicas, up_window, down_window, cold_start)
    needed = np.ascontiguousarray(needed, dtype=np.int64)
    running = np.empty(needed.size, dtype=np.int64)
    ready = np.empty(needed.size, dtype=np.int64)
    _simulate(needed, min_replicas, max_replicas, up_window, down_window, cold_start, running, ready)
    return AutoscaleTrace(running, ready)


def simulate_reference(
    needed: np.ndarray,
    min_replicas: int,
    max_replicas: int,
    up_window: int,
    down_window: int,
    cold_start: int,
) -> AutoscaleTrace:
    """The autoscaler's rules in plain Python, one minute at a time (slow; the tests' reference for ``simulate``)."""
    _check(min_replicas, max_replicas, up_window, down_window, cold_start)
    replicas: list[int] = [-1] * min_replicas  # the minute each running replica is ready from, oldest first
    desired_history: list[int] = []
    above_history: list[bool] = []
    below_streak = 0
    running_out, ready_out = [], []
    for m, need in enumerate(int(n) for n in needed):
        running = len(replicas)
        running_out.append(running)
        ready_out.append(sum(1 for ready_from in replicas if ready_from <= m))
        desired = min(max(need, min_replicas), max_replicas)
        desired_history.append(desired)
        above_history.append(desired > running)
        below_streak = below_streak + 1 if desired < running else 0
        if len(above_history) >= up_window and all(above_history[-up_window:]):
            start = min(desired_history[-up_window:]) - running
            replicas.extend([m + 1 + cold_start] * max(0, start))
        elif below_streak >= down_window:
            replicas.pop()
            below_streak = 0
    return AutoscaleTrace(np.array(running_out, dtype=np.int64), np.array(ready_out, dtype=np.int64))


def _check(min_replicas: int, max_replicas: int, up_window: int, down_window: int, cold_start: int) -> None:
    if min_replicas < 0 or max_replicas < max(1, min_replicas):
        raise ValueError(f"need 0 <= min <= max and max >= 1, got min {min_replicas}, max {max_replicas}")
    if up_window < 1 or down_window < 1:
        raise ValueError(f"windows must be >= 1 minute, got up {up_window}, down {down_window}")
    if cold_start < 0:
        raise ValueError(f"cold start must be >= 0 minutes, got {cold_start}")
