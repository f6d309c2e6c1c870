"""How recommendations change when the plan families are allowed, on a generated fleet (no Dagster, pure domain).

    .venv/bin/python -m benchmarks.compare_families --endpoints 200 --seed 7

Generates ``--endpoints`` one-week per-minute demand series of mixed shapes (steady, diurnal, business hours,
bursty, sporadic, nightly jobs), prices them with the shipped rate card's models, and decides each endpoint twice
with the same policy: once with the fixed plans only (the model before plan families) and once with every family.
Prints how many endpoints moved family and the fleet's weekly cost under each model, each endpoint starting from
serverless. The figures are what the closing note of the plan-families work quotes.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from datetime import date

import numpy as np

from pipelines.domain.cost_model import DedicatedOffer, plan_curve
from pipelines.domain.plan_families import family_options, propose_windows
from pipelines.domain.policy import EndpointWeekInput, PolicySettings, decide
from pipelines.domain.provider import TOGETHER_DEFAULT as TOGETHER

MINUTES = 7 * 1440
WEEK = date(2026, 11, 9)
# (name, serverless USD per weighted token, offer) — like the shipped 8B and 70B rows (prices per weighted token
# at w = 1 for simplicity: the comparison is between plan models, not of the card)
MODELS = [
    ("8b", 0.18e-6, DedicatedOffer("H100-80GB", 1, 3.99, 40000.0, 0.8)),
    ("70b", 0.88e-6, DedicatedOffer("H100-80GB", 2, 3.99, 12000.0, 0.8)),
]
SHAPES = ("steady", "diurnal", "business_hours", "bursty", "sporadic", "nightly")


def _series(shape: str, level: float, rng: np.random.Generator) -> np.ndarray:
    """One week of demand (weighted tokens/s per minute) of the given shape around ``level``."""
    minute = np.arange(MINUTES)
    hour = (minute % 1440) / 60
    weekday = minute // 1440 < 5
    noise = rng.lognormal(0, 0.25, MINUTES)
    if shape == "steady":
        demand = level * noise
    elif shape == "diurnal":
        demand = level * (0.55 + 0.45 * np.sin((hour - 8) / 24 * 2 * np.pi)) * noise
    elif shape == "business_hours":
        on = weekday & (hour >= 8) & (hour < 19)
        demand = np.where(on, level, level * 0.03) * noise
    elif shape == "bursty":
        demand = level * 0.3 * noise
        for start in rng.integers(0, MINUTES - 60, size=int(rng.integers(5, 25))):
            demand[start : start + int(rng.integers(10, 45))] += level * rng.uniform(2, 6)
    elif shape == "sporadic":
        demand = np.zeros(MINUTES)
        for start in rng.integers(0, MINUTES - 30, size=int(rng.integers(3, 12))):
            demand[start : start + int(rng.integers(5, 30))] = level * rng.uniform(0.5, 3)
    else:  # nightly
        demand = np.where((hour >= 1) & (hour < 3), level * 4, 0.0) * noise
    return np.maximum(demand, 0.0)


def main() -> None:
    """Decide a generated fleet with fixed plans only and with all families; print the comparison."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    cells = (np.arange(MINUTES) // 1440) * 24 + (np.arange(MINUTES) % 1440) // 60
    policy = PolicySettings(persistence_weeks=1)
    moved: Counter[tuple[str, str]] = Counter()
    families_used: Counter[str] = Counter()
    totals = {"serverless": 0.0, "fixed only": 0.0, "families": 0.0}
    seconds = 0.0
    for index in range(args.endpoints):
        shape = SHAPES[index % len(SHAPES)]
        _, price, offer = MODELS[index % len(MODELS)]
        level = offer.planned_replica_tps * float(rng.choice([0.05, 0.3, 0.8, 1.5, 4.0, 12.0]))
        demand = _series(shape, level, rng)
        cost = demand * 60 * price
        curve = plan_curve(demand, cost, offer, MINUTES / 60)
        started = time.perf_counter()
        windows = propose_windows(demand, cost, offer, cells, "UTC")
        options = family_options(demand, cost, curve, TOGETHER, windows, cells)
        seconds += time.perf_counter() - started
        base = dict(endpoint=f"{shape}-{index}", model="m", week_start=WEEK, current_mode="serverless",
                    latency_class="interactive", coverage_days=7, covered_hours=168.0,
                    serverless_cost_usd=float(cost.sum()), curve=curve, history_raw_modes=["serverless"])  # fmt: skip
        before = decide(EndpointWeekInput(**base), policy)  # type: ignore[arg-type]
        after = decide(EndpointWeekInput(**base, families=options), policy)  # type: ignore[arg-type]
        totals["serverless"] += float(cost.sum())
        totals["fixed only"] += before.recommended_cost_usd or 0.0
        totals["families"] += after.recommended_cost_usd or 0.0
        old = before.plan_family or before.recommended_mode
        new = after.plan_family or after.recommended_mode
        families_used[new] += 1
        if old != new:
            moved[(old, new)] += 1
    print(f"{args.endpoints} endpoints, seed {args.seed}; family search {seconds:.2f} s in all")
    for name, total in totals.items():
        print(f"  weekly cost, {name:<10}: ${total:,.0f}")
    print(f"  saving of families over fixed-only: ${totals['fixed only'] - totals['families']:,.0f}/week")
    print(f"  recommended plans with families: {dict(sorted(families_used.items()))}")
    print(f"  endpoints that changed plan family: {sum(moved.values())}")
    for (old, new), count in sorted(moved.items()):
        print(f"    {old} -> {new}: {count}")


if __name__ == "__main__":
    main()
