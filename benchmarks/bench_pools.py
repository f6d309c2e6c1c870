"""The pooling search on a generated fleet: how long it takes beside the per-endpoint plan search it follows.

    .venv/bin/python -m benchmarks.bench_pools --endpoints 1000 --models 20 --seed 7

Generates ``--endpoints`` one-week per-minute demand series of mixed shapes (those of ``compare_families``) spread
over ``--models`` models (each model a distinct offer), costs every endpoint's own best plan with every family (what
the weekly plan step does: the *budget*), then runs the weekly pool step's work on each model's endpoints: the
partition search on the screening cost (exact up to ``--exact-limit`` endpoints, else greedy with
``--max-open-pools`` groups), then every family on the candidate pools and the comparison with the all-endpoints
pool (``pipelines.weekly.pools.best_grouping``'s rule). Prints seconds for each part, groups costed, pools found and
the fleet's multiplexing saving. No Dagster, pure domain.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.compare_families import SHAPES, _series
from pipelines.domain.cost_model import DedicatedOffer, plan_curve
from pipelines.domain.plan_families import family_options, propose_windows
from pipelines.domain.pool_policy import cost_candidate
from pipelines.domain.pools import GroupScreening, PoolMember, search_pools
from pipelines.domain.provider import TOGETHER_DEFAULT as TOGETHER

MINUTES = 7 * 1440
HOURS = MINUTES / 60
CELLS = (np.arange(MINUTES) // 1440) * 24 + (np.arange(MINUTES) % 1440) // 60


def _model_offers(models: int, rng: np.random.Generator) -> list[tuple[float, DedicatedOffer]]:
    """(serverless USD per weighted token, offer) per model: 8B-like to 405B-like economics."""
    out = []
    for index in range(models):
        gpus = int(rng.choice([1, 2, 4, 8]))
        price = {1: 0.18e-6, 2: 0.88e-6, 4: 1.2e-6, 8: 3.5e-6}[gpus] * float(rng.uniform(0.8, 1.2))
        capacity = {1: 40000.0, 2: 12000.0, 4: 9000.0, 8: 8000.0}[gpus]
        out.append((price, DedicatedOffer(f"GPU-{index}", gpus, 3.99, capacity, 0.8)))
    return out


def main() -> None:
    """Generate the fleet, time the per-endpoint family search and the pool step, print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--exact-limit", type=int, default=8)
    parser.add_argument("--max-open-pools", type=int, default=4)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    offers = _model_offers(args.models, rng)
    members: dict[int, list[PoolMember]] = {m: [] for m in range(args.models)}
    started = time.perf_counter()
    for index in range(args.endpoints):
        model = index % args.models
        price, offer = offers[model]
        shape = SHAPES[int(rng.integers(len(SHAPES)))]
        level = offer.planned_replica_tps * float(rng.choice([0.05, 0.2, 0.4, 0.8, 1.5, 4.0]))
        demand = _series(shape, level, rng)
        cost = demand * 60 * price
        curve = plan_curve(demand, cost, offer, HOURS)
        windows = propose_windows(demand, cost, offer, CELLS, "UTC")
        best = family_options(demand, cost, curve, TOGETHER, windows, CELLS).cheapest()
        serverless = float(cost.sum())
        own = min(serverless, best.total_cost_usd) if best is not None else serverless
        replicas = best.replicas if best is not None and best.total_cost_usd < serverless else 0
        members[model].append(PoolMember(f"e{index}", demand, cost, offer, own, replicas))
    budget = time.perf_counter() - started

    started = time.perf_counter()
    groups_costed = 0
    screening_seconds = 0.0
    pools = 0
    saving = 0.0
    for model, group in members.items():
        t0 = time.perf_counter()

        screening = GroupScreening(group, HOURS, TOGETHER)
        search = search_pools(len(group), screening.cost, args.exact_limit, args.max_open_pools)
        screening_seconds += time.perf_counter() - t0
        groups_costed += search.groups_costed
        found = [g for g in search.groups if len(g) >= 2]
        candidates = {g: cost_candidate(str(model), [group[i] for i in g], HOURS, TOGETHER, CELLS, "UTC")
                      for g in found}  # fmt: skip
        everyone = tuple(range(len(group)))
        if everyone not in candidates:
            candidates[everyone] = cost_candidate(str(model), group, HOURS, TOGETHER, CELLS, "UTC")
        pooled = {i for g in found for i in g}
        search_total = sum(candidates[g].pooled_cost_usd for g in found) + sum(
            group[i].own_cost_usd for i in everyone if i not in pooled
        )
        best_groups = found if search_total <= candidates[everyone].pooled_cost_usd else [everyone]
        for g in best_groups:
            if candidates[g].saving_usd > 0 and candidates[g].reserves:
                pools += 1
                saving += candidates[g].saving_usd
    pool_seconds = time.perf_counter() - started
    own_total = sum(m.own_cost_usd for group in members.values() for m in group)
    print(f"fleet: {args.endpoints} endpoints over {args.models} models, one week per minute")
    print(f"per-endpoint family search (the weekly plan step's work, the budget): {budget:.1f} s")
    print(f"pool step: {pool_seconds:.1f} s ({pool_seconds / budget:.2f}x the budget), of which the partition search "
          f"{screening_seconds:.1f} s over {groups_costed} groups costed "
          f"(bound: n x (max_open_pools + 1) per model = {args.endpoints * (args.max_open_pools + 1)})")  # fmt: skip
    print(f"pools recommended (before persistence): {pools}; multiplexing saving ${saving:,.0f}/week on "
          f"${own_total:,.0f}/week of own best plans ({saving / own_total:.1%})")  # fmt: skip


if __name__ == "__main__":
    main()
