"""What serving one endpoint for one week costs under each plan, minute by minute
(see docs/cost-model.md#the-plan-curve).

A plan reserves R dedicated replicas for the covered hours and sends whatever demand they cannot serve
(the *overflow*) to serverless at list prices; R = 0 is pure serverless. Units:

* demand ``D_m``: weighted tokens per second in minute m, one input token = 1, one cached input token = w_c, one
  output token = w (``weighted_demand_tps``);
* serverless cost ``S_m``: USD in minute m at list prices (``serverless_cost_usd``);
* a replica sustains ``K`` weighted tokens/s (``replica_capacity_tps``) and is planned at ``u·K`` (target utilization).

With capacity Cap = R·K·u the served fraction of minute m is φ_m = min(1, Cap / D_m) (1 when D_m = 0), the overflow
costs O_m = (1 − φ_m)·S_m and total(R) = R·g·P·H + Σ_m O_m (g GPUs per replica at P USD per GPU-hour for H hours).

Instead of re-scanning every minute for every R, the minutes are sorted once by demand: the overflow of a
capacity ``c`` only involves the minutes with D_m > c, a suffix of the sorted order, and
Σ_{D_m > c} (1 − c/D_m)·S_m = Σ S_m − c·Σ S_m/D_m over that suffix, read from precomputed suffix sums (the
served tokens Σ min(D_m, c) likewise from prefix sums). Costing any R is then one binary search (O(log minutes)),
and the whole curve one vectorised search over R = 0..R_full.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

SECONDS_PER_MINUTE = 60
TOKENS_PER_MILLION = 1_000_000


@dataclass(frozen=True)
class DedicatedOffer:
    """Dedicated replica economics of one model from the rate card
    (see docs/cost-model.md#rate-card-fields).

    ``replica_capacity_tps`` is K, the weighted tokens per second one replica sustains at the target latency (a
    rate-card assumption until calibrated); ``target_utilization`` is u, the share of K a plan counts on.
    ``min_replicas`` is the provider's deployment minimum for the model in replicas (e.g. 3 increments of 5 PTUs
    = 15 PTUs on Azure OpenAI Global provisioned): a plan that reserves anything reserves at least that many.
    """

    gpu_type: str
    gpus_per_replica: int
    usd_per_gpu_hour: float
    replica_capacity_tps: float
    target_utilization: float = 0.8
    min_replicas: int = 1

    def __post_init__(self) -> None:
        if self.gpus_per_replica < 1:
            raise ValueError(f"gpus_per_replica must be >= 1, got {self.gpus_per_replica}")
        if self.usd_per_gpu_hour < 0:
            raise ValueError(f"usd_per_gpu_hour must be >= 0, got {self.usd_per_gpu_hour}")
        if not self.replica_capacity_tps > 0:
            raise ValueError(f"replica_capacity_tps must be > 0, got {self.replica_capacity_tps}")
        if not 0 < self.target_utilization <= 1:
            raise ValueError(f"target_utilization must be in (0, 1], got {self.target_utilization}")
        if self.min_replicas < 1:
            raise ValueError(f"min_replicas must be >= 1, got {self.min_replicas}")

    @property
    def replica_usd_per_hour(self) -> float:
        """USD per hour of one replica: GPUs per replica × USD per GPU-hour."""
        return self.gpus_per_replica * self.usd_per_gpu_hour

    @property
    def planned_replica_tps(self) -> float:
        """Weighted tokens per second one replica is planned to serve: K·u."""
        return self.replica_capacity_tps * self.target_utilization


@dataclass(frozen=True)
class PlanCost:
    """Cost of R reserved replicas plus serverless overflow for one endpoint and week (USD, shares as fractions).

    ``utilization`` = served weighted tokens / (R·K·60·minutes): measured against the *full* replica capacity K,
    not the planned K·u, so a plan running exactly at its target shows u (e.g. 0.8) and 1.0 means the replicas
    are saturated. None for R = 0 (nothing reserved). ``overflow_share`` = overflow weighted tokens / all weighted
    tokens (0 when there is no demand; 1 for R = 0 with demand).
    """

    replicas: int
    reserved_cost_usd: float
    overflow_cost_usd: float
    total_cost_usd: float
    utilization: float | None
    overflow_share: float


class _SortedDemand:
    """One week's per-minute demand and serverless cost, sorted once so any capacity is costed by binary search."""

    def __init__(self, demand_tps: np.ndarray, serverless_cost: np.ndarray) -> None:
        demand = np.asarray(demand_tps, dtype=np.float64)
        cost = np.asarray(serverless_cost, dtype=np.float64)
        if demand.shape != cost.shape or demand.ndim != 1:
            raise ValueError(
                f"demand_tps and serverless_cost must be 1-D arrays of the same length, "
                f"got shapes {demand.shape} and {cost.shape}"
            )
        if not (np.all(np.isfinite(demand)) and np.all(np.isfinite(cost))):
            raise ValueError("demand_tps and serverless_cost must be finite")
        if np.any(demand < 0) or np.any(cost < 0):
            raise ValueError("demand_tps and serverless_cost must be >= 0")
        self.minutes = int(demand.size)
        self.serverless_total_usd = float(cost.sum())
        self.max_demand_tps = float(demand.max()) if demand.size else 0.0
        # Only minutes with D_m > 0 can overflow a capacity c >= 0 (D_m > c); keep those, ascending.
        positive = demand > 0
        order = np.argsort(demand[positive], kind="stable")
        self._demand_asc = demand[positive][order]
        cost_asc = cost[positive][order]
        self._prefix_demand = np.concatenate(([0.0], np.cumsum(self._demand_asc)))
        # Summed in the same order as the served tokens, so a plan with no overflow serves exactly all of it.
        self.weighted_tokens_total = float(self._prefix_demand[-1]) * SECONDS_PER_MINUTE
        self._suffix_cost = _suffix_sums(cost_asc)
        self._suffix_cost_per_demand = _suffix_sums(cost_asc / self._demand_asc)

    def overflow_and_served(self, capacity_tps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(overflow cost in USD, served weighted tokens) for each reserved capacity in ``capacity_tps`` (tokens/s).

        Served tokens are Σ_m min(D_m, c)·60, a sum of non-negative terms (no cancellation), so the utilization
        built from them never exceeds u by rounding.
        """
        capacity = np.asarray(capacity_tps, dtype=np.float64)
        first_above = np.searchsorted(self._demand_asc, capacity, side="right")
        above = self._demand_asc.size - first_above
        cost = self._suffix_cost[first_above] - capacity * self._suffix_cost_per_demand[first_above]
        served_tps = self._prefix_demand[first_above] + capacity * above
        # Clip the rounding noise of the subtraction (each overflow term is >= 0 exactly).
        return np.maximum(cost, 0.0), served_tps * SECONDS_PER_MINUTE


def _suffix_sums(values: np.ndarray) -> np.ndarray:
    """s[i] = Σ_{j >= i} values[j], with one extra trailing 0 (length n + 1)."""
    out = np.zeros(values.size + 1, dtype=np.float64)
    out[:-1] = np.cumsum(values[::-1])[::-1]
    return out


def _plan_costs(
    replicas: np.ndarray, demand: _SortedDemand, offer: DedicatedOffer, covered_hours: float
) -> dict[str, np.ndarray]:
    """Cost columns of each replica count in ``replicas`` on the sorted demand (see ``total_cost_usd``).

    ``utilization`` is NaN where R = 0.
    """
    replicas = np.asarray(replicas, dtype=np.int64)
    if np.any(replicas < 0):
        raise ValueError(f"replicas must be >= 0, got {replicas.min()}")
    if covered_hours < 0:
        raise ValueError(f"covered_hours must be >= 0, got {covered_hours}")
    reserved = replicas * (offer.replica_usd_per_hour * covered_hours)
    overflow_cost, served_tokens = demand.overflow_and_served(replicas * offer.planned_replica_tps)
    all_tokens = demand.weighted_tokens_total
    # R = 0 sends every minute to serverless, including minutes with cost but no weighted demand (w = 0).
    none_reserved = replicas == 0
    overflow_cost[none_reserved] = demand.serverless_total_usd
    served_tokens[none_reserved] = 0.0
    served_tokens = np.minimum(served_tokens, all_tokens)
    overflow_tokens = all_tokens - served_tokens
    overflow_share = (
        np.clip(overflow_tokens / all_tokens, 0.0, 1.0) if all_tokens > 0 else np.zeros(replicas.size)
    )
    capacity_tokens = replicas * (offer.replica_capacity_tps * SECONDS_PER_MINUTE * demand.minutes)
    with np.errstate(divide="ignore", invalid="ignore"):
        utilization = np.where(capacity_tokens > 0, served_tokens / capacity_tokens, 0.0)
    # Served tokens never exceed R·K·u per second: clip the last-bit rounding of the division.
    utilization = np.minimum(utilization, offer.target_utilization)
    utilization[none_reserved] = np.nan
    return {
        "reserved_cost_usd": reserved.astype(np.float64),
        "overflow_cost_usd": overflow_cost,
        "total_cost_usd": reserved + overflow_cost,
        "utilization": utilization,
        "overflow_share": overflow_share,
    }


def _plan_cost(replicas: int, demand: _SortedDemand, offer: DedicatedOffer, covered_hours: float) -> PlanCost:
    """Cost of ``replicas`` reserved replicas on the sorted demand, as one ``PlanCost``."""
    columns = _plan_costs(np.array([replicas]), demand, offer, covered_hours)
    utilization = float(columns["utilization"][0])
    return PlanCost(
        replicas=int(replicas),
        reserved_cost_usd=float(columns["reserved_cost_usd"][0]),
        overflow_cost_usd=float(columns["overflow_cost_usd"][0]),
        total_cost_usd=float(columns["total_cost_usd"][0]),
        utilization=None if np.isnan(utilization) else utilization,
        overflow_share=float(columns["overflow_share"][0]),
    )


def weighted_demand_tps(
    input_tokens: np.ndarray,
    output_tokens: np.ndarray,
    output_weight: float,
    cached_input_tokens: np.ndarray | None = None,
    cached_input_weight: float = 1.0,
) -> np.ndarray:
    """Weighted demand D_m = ((in_m − cin_m) + w_c·cin_m + w·out_m) / 60 in weighted tokens per second, one value
    per minute.

    ``input_tokens`` and ``output_tokens`` are per-minute token counts of ok requests; ``cached_input_tokens``
    (cin_m, None = none) the part of the input tokens that were prompt-cache hits; ``output_weight`` is w and
    ``cached_input_weight`` w_c (``capacity.cached_input_weight``, in [0, 1]).
    """
    if output_weight < 0:
        raise ValueError(f"output_weight must be >= 0, got {output_weight}")
    if not 0 <= cached_input_weight <= 1:
        raise ValueError(f"cached_input_weight must be in [0, 1], got {cached_input_weight}")
    tokens_in = np.asarray(input_tokens, dtype=np.float64)
    tokens_out = np.asarray(output_tokens, dtype=np.float64)
    if cached_input_tokens is None:
        return (tokens_in + output_weight * tokens_out) / SECONDS_PER_MINUTE
    cached = _cached_part(tokens_in, cached_input_tokens)
    return (
        (tokens_in - cached) + cached_input_weight * cached + output_weight * tokens_out
    ) / SECONDS_PER_MINUTE


def serverless_cost_usd(
    input_tokens: np.ndarray,
    output_tokens: np.ndarray,
    input_usd_per_mtok: float,
    output_usd_per_mtok: float,
    cached_input_tokens: np.ndarray | None = None,
    cached_input_usd_per_mtok: float | None = None,
) -> np.ndarray:
    """Serverless list cost S_m in USD per minute: ((in_m − cin_m)·p_in + cin_m·p_cin + out_m·p_out) / 10⁶, prices
    given in USD per million tokens; ``cached_input_tokens`` (cin_m, None = none) is the part of the input tokens
    that were prompt-cache hits, priced at ``cached_input_usd_per_mtok`` (p_cin; None = the input price p_in)."""
    tokens_in = np.asarray(input_tokens, dtype=np.float64)
    tokens_out = np.asarray(output_tokens, dtype=np.float64)
    if cached_input_tokens is None:
        return (tokens_in * input_usd_per_mtok + tokens_out * output_usd_per_mtok) / TOKENS_PER_MILLION
    cached = _cached_part(tokens_in, cached_input_tokens)
    cached_price = input_usd_per_mtok if cached_input_usd_per_mtok is None else cached_input_usd_per_mtok
    return (
        (tokens_in - cached) * input_usd_per_mtok + cached * cached_price + tokens_out * output_usd_per_mtok
    ) / TOKENS_PER_MILLION


def _cached_part(tokens_in: np.ndarray, cached_input_tokens: np.ndarray) -> np.ndarray:
    """The cached input tokens as float64, checked to be a part of the input tokens (0 <= cached <= input)."""
    cached = np.asarray(cached_input_tokens, dtype=np.float64)
    if cached.shape != tokens_in.shape or (cached < 0).any() or (cached > tokens_in).any():
        raise ValueError("cached_input_tokens must have the input's shape and lie in [0, input_tokens]")
    return cached


def total_cost_usd(
    replicas: int,
    demand_tps: np.ndarray,
    serverless_cost: np.ndarray,
    offer: DedicatedOffer,
    covered_hours: float,
) -> PlanCost:
    """Weekly cost (USD) of reserving ``replicas`` replicas for ``covered_hours`` hours plus serverless overflow.

    ``demand_tps`` (weighted tokens/s) and ``serverless_cost`` (USD) hold one value per covered minute. Any
    R >= 0 is accepted, including R above R_full (an over-provisioned current deployment: no overflow, idle
    capacity still paid). total(0) is the serverless sum.
    """
    return _plan_cost(replicas, _SortedDemand(demand_tps, serverless_cost), offer, covered_hours)


def full_coverage_replicas(max_demand_tps: float, offer: DedicatedOffer) -> int:
    """R_full = ceil(max_m D_m / (K·u)): the fewest replicas that serve every minute with no overflow (0 if no demand)."""
    if max_demand_tps <= 0:
        return 0
    per_replica = offer.planned_replica_tps
    r_full = math.ceil(max_demand_tps / per_replica)
    # Guard the division's rounding: the smallest R with R·K·u >= max D, computed the way capacity is.
    while r_full > 1 and (r_full - 1) * per_replica >= max_demand_tps:
        r_full -= 1
    while r_full * per_replica < max_demand_tps:
        r_full += 1
    return r_full


def plan_mode(r_star: int, r_full: int) -> str:
    """Deployment mode of the cheapest plan: 'serverless' (R* = 0), 'dedicated' (R* = R_full) or 'hybrid'."""
    if r_star == 0:
        return "serverless"
    if r_star == r_full:
        return "dedicated"
    return "hybrid"


@dataclass(frozen=True, eq=False)
class PlanCurve:
    """The whole cost curve of one endpoint and week, R = 0..R_full, and the cheapest plan on it.

    Arrays are indexed by R (``replicas[i] == i``). Money in USD per week; ``utilization`` is NaN at R = 0 (see
    ``PlanCost``). ``r_star`` is the cheapest R (ties, within floating rounding, go to fewer replicas) and
    ``mode`` its deployment mode. ``plan(R)`` costs any R >= 0 on the same traffic, also beyond R_full.
    """

    replicas: np.ndarray
    reserved_cost_usd: np.ndarray
    overflow_cost_usd: np.ndarray
    total_cost_usd: np.ndarray
    utilization: np.ndarray
    overflow_share: np.ndarray
    r_star: int
    r_full: int
    mode: str
    offer: DedicatedOffer
    covered_hours: float
    _demand: _SortedDemand = field(repr=False)

    def plan(self, replicas: int) -> PlanCost:
        """Cost of ``replicas`` reserved replicas on this curve's traffic (any R >= 0)."""
        return _plan_cost(replicas, self._demand, self.offer, self.covered_hours)

    @property
    def cheapest(self) -> PlanCost:
        """The plan at R*."""
        return self.plan(self.r_star)


def _argmin_fewest(totals: np.ndarray) -> int:
    """Index of the smallest total; totals within floating rounding (1e-9 relative) of it count as ties → lowest index."""
    best = float(totals.min())
    tolerance = 1e-9 * max(1.0, abs(best))
    return int(np.flatnonzero(totals <= best + tolerance)[0])


def plan_curve(
    demand_tps: np.ndarray,
    serverless_cost: np.ndarray,
    offer: DedicatedOffer,
    covered_hours: float,
) -> PlanCurve:
    """Cost curve total(R) for R = 0..R_full on one week's per-minute demand (weighted tokens/s) and serverless cost (USD).

    R_full = ceil(max D / (K·u)) (0 when there is no demand); R* = argmin total(R), fewer replicas on ties.
    Cost: one sort of the minutes plus one vectorised binary search per R, O((minutes + R_full)·log minutes).
    """
    demand = _SortedDemand(demand_tps, serverless_cost)
    r_full = full_coverage_replicas(demand.max_demand_tps, offer)
    replicas = np.arange(r_full + 1, dtype=np.int64)
    columns = _plan_costs(replicas, demand, offer, covered_hours)
    r_star = _argmin_fewest(columns["total_cost_usd"])
    return PlanCurve(
        replicas=replicas,
        **columns,
        r_star=r_star,
        r_full=r_full,
        mode=plan_mode(r_star, r_full),
        offer=offer,
        covered_hours=float(covered_hours),
        _demand=demand,
    )


def batch_cost_usd(serverless_cost_total: float, discount: float) -> float:
    """Batch plan cost in USD: the week's serverless list cost × (1 − discount), discount a fraction in [0, 1]."""
    if not 0 <= discount <= 1:
        raise ValueError(f"batch discount must be in [0, 1], got {discount}")
    return serverless_cost_total * (1.0 - discount)
