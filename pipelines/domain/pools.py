"""Pools: several endpoints of one model sharing one dedicated deployment (see docs/cost-model.md#pools).

A pool's demand and serverless cost are its members' per-minute sums; it is costed with the same plan families as
one endpoint. Members whose request shapes differ have different replica capacities K_i, so a member's demand is
first expressed in the pool's tokens: D_m = Σ_i D_i,m · K_pool / K_i with K_pool = W / Σ_i (W_i / K_i) (W_i the
member's weighted tokens of the week, W their sum). A replica then serves the same replica-seconds of each member's
traffic as it would alone, and the pool's weighted tokens of the week are exactly W.

The search (``search_pools``) partitions a model's endpoints into groups, costing each candidate group by its
*screening cost*: the cheapest of serverless and fixed(R) on the group's summed demand (one sort, every R at once).
Up to ``exact_limit`` endpoints it tries every partition (dynamic programming over the 2^n subsets, 3^n steps);
above, a greedy pass bounded by ``max_open_pools`` groups: endpoints in decreasing screening cost join the open
group whose cost rises least (only when joining beats running alone), else open a new group while fewer than
``max_open_pools`` are open; then each member leaves its group when it costs less alone. At most
n·(max_open_pools + 1) groups are costed. The groups found are then costed with every family
(``plan_families.family_options``) by the caller and compared with the members' own best plans.

Money in USD per week, demand in weighted tokens per second.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipelines.domain.cost_model import DedicatedOffer, plan_curve
from pipelines.domain.provider import ProviderProfile

_TIE = 1e-9


@dataclass(frozen=True)
class PoolMember:
    """One endpoint that may join a pool: its week's per-minute weighted demand (tokens/s) and serverless cost
    (USD), its dedicated offer (its K follows its request shape), the cost and most replicas of its own best plan
    (USD per week; 0 replicas when it reserves nothing), and the overflow cap its breached SLO puts on any plan
    that serves it (None without one)."""

    endpoint: str
    demand_tps: np.ndarray
    serverless_cost_usd: np.ndarray
    offer: DedicatedOffer
    own_cost_usd: float
    own_replicas: int = 0
    max_overflow_share: float | None = None


@dataclass(frozen=True)
class PooledSeries:
    """A pool's week: demand in the pool's weighted tokens/s, serverless cost (USD) per minute, its offer (K_pool),
    and each member's demand in the pool's tokens (for the members' own overflow shares)."""

    demand_tps: np.ndarray
    serverless_cost_usd: np.ndarray
    offer: DedicatedOffer
    member_demand_tps: tuple[np.ndarray, ...]


def pool_key(model: str, endpoints: Sequence[str]) -> str:
    """A stable identifier of a pool: ``pool-`` and 10 hex digits of a hash of the model and its sorted members."""
    text = "\n".join([model, *sorted(endpoints)])
    return "pool-" + hashlib.sha256(text.encode()).hexdigest()[:10]


def poolable_together(offers: Sequence[DedicatedOffer]) -> bool:
    """Whether endpoints with these offers can share replicas: the same GPU type, GPUs per replica, GPU-hour price,
    target utilization and deployment minimum (only K, which follows the request shape, may differ)."""
    keys = {(o.gpu_type, o.gpus_per_replica, o.usd_per_gpu_hour, o.target_utilization, o.min_replicas)
            for o in offers}  # fmt: skip
    return len(keys) <= 1


def pooled_series(members: Sequence[PoolMember]) -> PooledSeries:
    """The pool's per-minute demand and serverless cost, each member's demand converted to the pool's tokens
    (D_i,m · K_pool / K_i), and the pool's offer with K_pool = W / Σ_i (W_i / K_i) (a member without demand counts
    at its own K). ValueError for no members, series of different lengths, or offers that cannot pool."""
    if not members:
        raise ValueError("a pool needs at least one member")
    offers = [m.offer for m in members]
    if not poolable_together(offers):
        raise ValueError("pool members must share GPU type, GPUs per replica, price and target utilization")
    sizes = {np.asarray(m.demand_tps).size for m in members} | {
        np.asarray(m.serverless_cost_usd).size for m in members
    }
    if len(sizes) != 1:
        raise ValueError("pool members' series must cover the same minutes")
    weights = np.array([float(np.asarray(m.demand_tps, dtype=np.float64).sum()) for m in members])
    capacities = np.array([m.offer.replica_capacity_tps for m in members])
    if weights.sum() > 0:
        pool_capacity = float(weights.sum() / (weights / capacities).sum())
    else:
        pool_capacity = float(len(members) / (1.0 / capacities).sum())
    converted = tuple(
        np.asarray(m.demand_tps, dtype=np.float64) * (pool_capacity / m.offer.replica_capacity_tps)
        for m in members
    )
    first = offers[0]
    offer = DedicatedOffer(first.gpu_type, first.gpus_per_replica, first.usd_per_gpu_hour, pool_capacity,
                           first.target_utilization, first.min_replicas)  # fmt: skip
    cost = np.sum([np.asarray(m.serverless_cost_usd, dtype=np.float64) for m in members], axis=0)
    return PooledSeries(np.sum(converted, axis=0), cost, offer, converted)


def overflow_cap(members: Sequence[PoolMember]) -> float | None:
    """The overflow cap a pool inherits: the tightest of its members' SLO caps (None when no member has one)."""
    caps = [m.max_overflow_share for m in members if m.max_overflow_share is not None]
    return min(caps) if caps else None


def screening_cost(
    series: PooledSeries, covered_hours: float, profile: ProviderProfile, max_overflow_share: float | None
) -> float:
    """The search's cost of a group (USD per week): the cheapest of serverless (when no SLO cap applies) and
    fixed(R) for the R the provider allows (R >= its running minimum and the deployment minimum) that keep the overflow share within the cap."""
    curve = plan_curve(series.demand_tps, series.serverless_cost_usd, series.offer, covered_hours)
    lowest = max(1, profile.min_replicas_while_running, series.offer.min_replicas)
    allowed = np.arange(curve.r_full + 1) >= lowest
    if max_overflow_share is None:
        allowed[0] = True
    else:
        allowed &= curve.overflow_share <= max_overflow_share + 1e-12
    if not allowed.any():
        return float("inf") if max_overflow_share is not None else float(curve.total_cost_usd[0])
    return float(curve.total_cost_usd[allowed].min())


class GroupScreening:
    """Screening costs (USD per week) of groups of one model's members, for the search. Each member's demand is
    held as its load in replicas' worth (D_i,m / K_i, the same for every group it joins), so a group's load and
    serverless cost are plain sums, and a group grown by one member costs one addition of arrays and one sort
    (``screening_cost`` on the summed load with a replica of capacity 1)."""

    def __init__(self, members: Sequence[PoolMember], covered_hours: float, profile: ProviderProfile) -> None:
        if not poolable_together([m.offer for m in members]):
            raise ValueError(
                "pool members must share GPU type, GPUs per replica, price and target utilization"
            )
        self._members = list(members)
        self._covered_hours = covered_hours
        self._profile = profile
        first = members[0].offer
        self._unit = DedicatedOffer(first.gpu_type, first.gpus_per_replica, first.usd_per_gpu_hour, 1.0,
                                    first.target_utilization, first.min_replicas)  # fmt: skip
        self._loads = [
            np.asarray(m.demand_tps, dtype=np.float64) / m.offer.replica_capacity_tps for m in members
        ]
        self._sums: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}

    def _summed(self, group: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(load, serverless cost) per minute of ``group`` (sorted member indices), from a cached group one member
        smaller when there is one."""
        if group in self._sums:
            return self._sums[group]
        for position, extra in enumerate(group):
            smaller = group[:position] + group[position + 1 :]
            if smaller in self._sums:
                load, cost = self._sums[smaller]
                summed = (load + self._loads[extra],
                          cost + np.asarray(self._members[extra].serverless_cost_usd, dtype=np.float64))  # fmt: skip
                break
        else:
            summed = (np.sum([self._loads[i] for i in group], axis=0),
                      np.sum([np.asarray(self._members[i].serverless_cost_usd, dtype=np.float64) for i in group],
                             axis=0))  # fmt: skip
        self._sums[group] = summed
        return summed

    def cost(self, group: tuple[int, ...]) -> float:
        """The screening cost of ``group`` (member indices), with the tightest SLO cap of its members."""
        key = tuple(sorted(group))
        load, cost = self._summed(key)
        series = PooledSeries(load, cost, self._unit, ())
        cap = overflow_cap([self._members[i] for i in key])
        return screening_cost(series, self._covered_hours, self._profile, cap)


@dataclass(frozen=True)
class PoolSearch:
    """The search's partition of one model's endpoints (tuples of member indices; singletons included), how it was
    found (``exact`` or ``greedy``), and how many groups it costed."""

    groups: tuple[tuple[int, ...], ...]
    method: str
    groups_costed: int


def search_pools(
    size: int,
    group_cost: Callable[[tuple[int, ...]], float],
    exact_limit: int = 8,
    max_open_pools: int = 4,
) -> PoolSearch:
    """Partition members 0..size−1 into groups of least total ``group_cost`` (USD per week): every partition when
    ``size <= exact_limit``, else the bounded greedy pass of the module docstring. ``group_cost`` is called once per
    distinct group (results are cached)."""
    cache: dict[tuple[int, ...], float] = {}

    def cost(group: tuple[int, ...]) -> float:
        key = tuple(sorted(group))
        if key not in cache:
            cache[key] = group_cost(key)
        return cache[key]

    if size <= 0:
        return PoolSearch((), "exact", 0)
    if size <= exact_limit:
        groups = _exact_partition(size, cost)
        return PoolSearch(groups, "exact", len(cache))
    groups = _greedy_partition(size, cost, max_open_pools)
    return PoolSearch(groups, "greedy", len(cache))


def _exact_partition(size: int, cost: Callable[[tuple[int, ...]], float]) -> tuple[tuple[int, ...], ...]:
    """The least-cost partition by dynamic programming over subsets: best[S] = min over the groups G ⊆ S holding
    S's lowest member of cost(G) + best[S − G]; on ties the smaller G (no pooling without a gain)."""
    full = (1 << size) - 1
    subset_cost = np.full(full + 1, np.inf)
    for mask in range(1, full + 1):
        subset_cost[mask] = cost(tuple(i for i in range(size) if mask >> i & 1))
    best = np.full(full + 1, np.inf)
    choice = np.zeros(full + 1, dtype=np.int64)
    best[0] = 0.0
    for mask in range(1, full + 1):
        low = mask & -mask
        rest = mask ^ low
        candidates = []
        sub = rest
        while True:
            group = sub | low
            candidates.append((float(subset_cost[group] + best[mask ^ group]), group.bit_count(), group))
            if sub == 0:
                break
            sub = (sub - 1) & rest
        least = min(total for total, _, _ in candidates)
        tied = [c for c in candidates if c[0] <= least + _TIE * max(1.0, abs(least))]
        total, _, group = min(tied, key=lambda c: (c[1], c[2]))  # ties: the smaller group
        best[mask], choice[mask] = total, group
    groups = []
    mask = full
    while mask:
        group = int(choice[mask])
        groups.append(tuple(i for i in range(size) if group >> i & 1))
        mask ^= group
    return tuple(sorted(groups))


def _greedy_partition(
    size: int, cost: Callable[[tuple[int, ...]], float], max_open_pools: int
) -> tuple[tuple[int, ...], ...]:
    """The bounded greedy pass (module docstring): join the open group whose cost rises least below running alone,
    else open a group while fewer than ``max_open_pools`` are open; then members that cost less alone leave."""
    alone = [cost((i,)) for i in range(size)]
    order = sorted(range(size), key=lambda i: (-alone[i], i))
    groups: list[list[int]] = []
    singles: list[int] = []
    for member in order:
        best_delta, best_group = 0.0, None
        for group in groups:
            delta = cost((*group, member)) - cost(tuple(group)) - alone[member]
            if delta < best_delta - _TIE * max(1.0, alone[member]):
                best_delta, best_group = delta, group
        if best_group is not None:
            best_group.append(member)
        elif len(groups) < max_open_pools:
            groups.append([member])
        else:
            singles.append(member)
    for group in groups:
        for member in list(group):
            if len(group) < 2:
                break
            rest = tuple(m for m in group if m != member)
            if cost(tuple(group)) - cost(rest) - alone[member] > _TIE * max(1.0, alone[member]):
                group.remove(member)
                singles.append(member)
    return tuple(sorted([tuple(sorted(g)) for g in groups if g] + [(m,) for m in singles]))


def member_overflow_shares(
    series: PooledSeries, ready: np.ndarray, offer: DedicatedOffer
) -> list[float | None]:
    """Each member's share of weighted tokens sent to serverless under a pool plan with ``ready`` replicas per
    minute: the served fraction φ_m = min(1, ready_m·K·u / D_m) applies to every member's demand in that minute
    alike. None for a member without demand."""
    capacity = np.asarray(ready, dtype=np.float64) * offer.planned_replica_tps
    demand = series.demand_tps
    with np.errstate(divide="ignore", invalid="ignore"):
        served = np.where(demand > 0, np.minimum(1.0, capacity / demand), 1.0)
    shares: list[float | None] = []
    for member in series.member_demand_tps:
        total = float(member.sum())
        shares.append(float(((1.0 - served) * member).sum() / total) if total > 0 else None)
    return shares


def demand_correlation(demands: Sequence[np.ndarray]) -> float | None:
    """The mean Pearson correlation of minute demand over the members' pairs (−1..1); None with fewer than two
    members or when a member's demand is constant (no variation to correlate)."""
    if len(demands) < 2:
        return None
    matrix = np.vstack([np.asarray(d, dtype=np.float64) for d in demands])
    if np.any(matrix.std(axis=1) == 0):
        return None
    corr = np.corrcoef(matrix)
    upper = corr[np.triu_indices(len(demands), k=1)]
    return float(upper.mean())
