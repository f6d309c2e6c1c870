"""Plan families: the ways a dedicated endpoint can be bought, each costed minute by minute on one week's demand
(see docs/cost-model.md#plan-families).

* ``fixed(R)``: R replicas running for every covered minute (the plan curve of ``cost_model``);
* ``autoscale(min, max)``: an autoscaler between min and max replicas, simulated on the demand (``autoscaler``);
* ``scheduled(R, window)``: R replicas during a recurring window of weekday × hour cells, none outside it.

Every family is a pair of per-minute replica counts: *running* (billed) and *ready* (serving). A ready replica
serves up to K·u weighted tokens/s; demand above the ready capacity overflows to serverless, O_m = (1 − φ_m)·S_m
with φ_m = min(1, ready_m·K·u / D_m) (1 when D_m = 0 and a replica is ready, 0 when none is). A replica is billed
for every minute it runs (per-minute billing), or each clock hour at the most replicas that ran in it (hourly
billing). Money in USD per week, demand in weighted tokens per second, durations in minutes.

The best setting of each family is the cheapest of its grid (ties: fewer replica-hours). Fixed and scheduled are
costed for every R at once from sorted demand; autoscale is searched by branch and bound over
1 <= min <= max <= R_full (0 <= min with scale-to-zero), which provably returns the grid's minimum: see
``best_autoscale``. Every grid respects the offer's deployment minimum m (``DedicatedOffer.min_replicas``): a plan
reserves 0 or >= m replicas, so the grids run over R = m..max(R_full, m); a provider without autoscaling
(``ProviderProfile.autoscaling``) has no autoscale family.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.domain.autoscaler import AutoscaleTrace, replicas_needed, simulate, simulate_totals
from pipelines.domain.cost_model import DedicatedOffer, PlanCurve, plan_curve
from pipelines.domain.provider import ProviderProfile

FIXED = "fixed"
AUTOSCALE = "autoscale"
SCHEDULED = "scheduled"
FAMILIES = (FIXED, AUTOSCALE, SCHEDULED)

MINUTES_PER_HOUR = 60
HOURS_PER_WEEK = 168
_TIE = 1e-9  # relative tolerance under which two totals count as equal


@dataclass(frozen=True)
class ScheduleWindow:
    """A recurring window: ``cells[c]`` is True for the weekday × hour cells (c = weekday·24 + hour, Monday = 0,
    in the schedule's time zone) in which replicas run; ``label`` says it in words ("Mon–Fri 08:00–20:00 UTC")."""

    cells: tuple[bool, ...]
    label: str

    def __post_init__(self) -> None:
        if len(self.cells) != HOURS_PER_WEEK:
            raise ValueError(f"a window has {HOURS_PER_WEEK} weekday-hour cells, got {len(self.cells)}")

    @property
    def hours_per_week(self) -> int:
        """Hours of the week inside the window."""
        return sum(self.cells)

    def minute_mask(self, cell_of_minute: np.ndarray) -> np.ndarray:
        """Which covered minutes fall inside the window, given each minute's weekday-hour cell (0..167)."""
        return np.asarray(self.cells, dtype=bool)[np.asarray(cell_of_minute, dtype=np.int64)]


@dataclass(frozen=True)
class FamilyPlan:
    """One costed setting of a plan family for one endpoint-week.

    ``replicas``: the most replicas the plan runs (fixed and scheduled R; autoscale max). ``min_replicas`` /
    ``max_replicas``: the autoscaler's bounds (fixed: R and R). ``window``: the scheduled window (else None).
    ``replica_hours``: billed replica-hours. ``utilization``: served weighted tokens / (billed replica-minutes ×
    K × 60), None when nothing is billed. ``overflow_share``: weighted tokens served on serverless (overflow and,
    for scheduled plans, all traffic outside the window) / all weighted tokens. ``cold_start_overflow_usd``: the
    part of the overflow cost the starting replicas would have served had they been ready.
    """

    family: str
    replicas: int
    min_replicas: int
    max_replicas: int
    window: ScheduleWindow | None
    reserved_cost_usd: float
    overflow_cost_usd: float
    total_cost_usd: float
    replica_hours: float
    utilization: float | None
    overflow_share: float
    cold_start_overflow_usd: float = 0.0

    @property
    def has_overflow(self) -> bool:
        """Whether some weighted tokens go to serverless (the plan is hybrid rather than dedicated)."""
        return self.overflow_share > 1e-12

    def settings_text(self, profile: ProviderProfile | None = None) -> str:
        """The settings to apply, in words: ``fixed 3 replicas``, ``autoscale 1–4 replicas`` (with the windows
        when a profile is given), ``scheduled 2 replicas Mon–Fri 08:00–20:00 UTC``; counted in the profile's unit
        (``fixed 6 PTU increments``) when a profile is given."""
        unit = profile.unit if profile is not None else "replica"
        if self.family == AUTOSCALE:
            text = f"autoscale {self.min_replicas}–{self.max_replicas} {unit}s"
            if profile is not None:
                text += (
                    f", scale up after {profile.scale_up_window_minutes} min, down after "
                    f"{profile.scale_down_window_minutes} min"
                )
            return text
        count = f"{self.replicas} {unit}" + ("" if self.replicas == 1 else "s")
        if self.family == SCHEDULED and self.window is not None:
            return f"scheduled {count} {self.window.label}"
        return f"{self.family} {count}"


def _billed_replica_minutes(running: np.ndarray, profile: ProviderProfile) -> float:
    """Billed replica-minutes: Σ running (per-minute billing), or per clock hour the most replicas that ran in it
    × 60 (hourly billing; the covered minutes are whole days, so every 60 minutes from the first are one hour)."""
    if profile.billing_granularity_minutes == 1 or running.size == 0:
        return float(running.sum())
    hours = running.size // MINUTES_PER_HOUR
    per_hour = running[: hours * MINUTES_PER_HOUR].reshape(hours, MINUTES_PER_HOUR).max(axis=1)
    tail = running[hours * MINUTES_PER_HOUR :]
    return float(per_hour.sum() * MINUTES_PER_HOUR + (tail.max() * MINUTES_PER_HOUR if tail.size else 0))


def _served_fraction(ready: np.ndarray, demand: np.ndarray, offer: DedicatedOffer) -> np.ndarray:
    """φ_m = min(1, ready_m·K·u / D_m); 1 where D_m = 0 and a replica is ready; 0 where no replica is ready."""
    capacity = ready * offer.planned_replica_tps
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(demand > 0, np.minimum(1.0, capacity / demand), 1.0)
    return np.where(ready > 0, fraction, 0.0)


def _plan(
    family: str,
    settings: tuple[int, int, int],
    window: ScheduleWindow | None,
    offer: DedicatedOffer,
    billed_replica_minutes: float,
    overflow_usd: float,
    served_tokens: float,
    all_tokens: float,
    cold_start_overflow_usd: float = 0.0,
) -> FamilyPlan:
    """A costed setting from its week totals: ``settings`` = (replicas, min, max); billed replica-minutes; overflow
    in USD; served and all weighted tokens. Reserved cost, replica-hours, utilization (against the billed capacity)
    and overflow share follow the same rules for every family (see the module docstring)."""
    replicas, min_replicas, max_replicas = settings
    reserved = billed_replica_minutes * offer.replica_usd_per_hour / MINUTES_PER_HOUR
    capacity_tokens = billed_replica_minutes * offer.replica_capacity_tps * 60
    served = min(served_tokens, all_tokens)
    return FamilyPlan(
        family=family,
        replicas=replicas,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        window=window,
        reserved_cost_usd=reserved,
        overflow_cost_usd=overflow_usd,
        total_cost_usd=reserved + overflow_usd,
        replica_hours=billed_replica_minutes / MINUTES_PER_HOUR,
        utilization=min(served / capacity_tokens, offer.target_utilization) if capacity_tokens else None,
        overflow_share=min(1.0, max(0.0, 1.0 - served / all_tokens)) if all_tokens > 0 else 0.0,
        cold_start_overflow_usd=max(0.0, cold_start_overflow_usd),
    )


def cost_trace(
    family: str,
    running: np.ndarray,
    ready: np.ndarray,
    demand_tps: np.ndarray,
    serverless_cost: np.ndarray,
    offer: DedicatedOffer,
    profile: ProviderProfile,
    *,
    min_replicas: int,
    max_replicas: int,
    window: ScheduleWindow | None = None,
) -> FamilyPlan:
    """Cost (USD per week) of any plan given as running and ready replicas per covered minute, on the week's
    demand (weighted tokens/s) and serverless cost (USD per minute)."""
    running = np.asarray(running, dtype=np.int64)
    ready = np.asarray(ready, dtype=np.int64)
    demand = np.asarray(demand_tps, dtype=np.float64)
    cost = np.asarray(serverless_cost, dtype=np.float64)
    served_fraction = _served_fraction(ready, demand, offer)
    overflow = float(((1.0 - served_fraction) * cost).sum())
    cold_start = float(((_served_fraction(running, demand, offer) - served_fraction) * cost).sum())
    served_tokens = float((np.minimum(demand, ready * offer.planned_replica_tps) * (ready > 0)).sum()) * 60
    replicas = int(running.max()) if running.size else 0
    return _plan(family, (replicas, min_replicas, max_replicas), window, offer,
                 _billed_replica_minutes(running, profile), overflow, served_tokens, float(demand.sum()) * 60,
                 cold_start)  # fmt: skip


# --------------------------------------------------------------------------------------------------- fixed


def fixed_plan(curve: PlanCurve, replicas: int, profile: ProviderProfile) -> FamilyPlan:
    """fixed(R) read off the plan curve (R >= 1): R replicas all week (the same under minute or hourly billing)."""
    cost = curve.plan(replicas)
    minutes = curve.covered_hours * MINUTES_PER_HOUR
    return FamilyPlan(
        family=FIXED,
        replicas=replicas,
        min_replicas=replicas,
        max_replicas=replicas,
        window=None,
        reserved_cost_usd=cost.reserved_cost_usd,
        overflow_cost_usd=cost.overflow_cost_usd,
        total_cost_usd=cost.total_cost_usd,
        replica_hours=replicas * minutes / MINUTES_PER_HOUR,
        utilization=cost.utilization,
        overflow_share=cost.overflow_share,
    )


def _cheapest(plans: list[FamilyPlan]) -> FamilyPlan | None:
    """The cheapest plan; totals within rounding tie, and ties go to fewer replica-hours (then the first)."""
    if not plans:
        return None
    best = min(plan.total_cost_usd for plan in plans)
    tied = [plan for plan in plans if plan.total_cost_usd <= best + _TIE * max(1.0, abs(best))]
    return min(tied, key=lambda plan: (plan.replica_hours, plan.max_replicas, plan.min_replicas))


def _within(plan: FamilyPlan, max_overflow_share: float | None) -> bool:
    return max_overflow_share is None or plan.overflow_share <= max_overflow_share + 1e-12


def reserving_range(curve: PlanCurve) -> range:
    """The replica counts a reserving plan may run on this curve: m..max(R_full, m), m the offer's deployment
    minimum (``min_replicas``, 1 on most providers); empty when the week has no demand (R_full = 0). Above R_full
    nothing overflows, so larger counts only cost more; below m the provider does not sell a deployment."""
    if curve.r_full < 1:
        return range(0)
    low = max(1, curve.offer.min_replicas)
    return range(low, max(curve.r_full, low) + 1)


def curve_replica_counts(curve: PlanCurve) -> range:
    """The replica counts the ``plan_curve`` table lists: 0..R_full, extended to the deployment minimum when that
    is larger (a provider selling at least m replicas: fixed(m) is a choice even where fewer would cover the peak)."""
    return range(0, max(curve.r_full, *reserving_range(curve), 0) + 1)


def cheapest_sellable_replicas(curve: PlanCurve) -> int:
    """The cheapest replica count the provider sells on this week's traffic: 0 (all serverless) or one of
    ``reserving_range`` (ties, within rounding, go to fewer replicas); R* itself when the deployment minimum is 1."""
    allowed = [0, *reserving_range(curve)]
    totals = [curve.plan(r).total_cost_usd for r in allowed]
    best = min(totals)
    return next(
        r for r, total in zip(allowed, totals, strict=True) if total <= best + _TIE * max(1.0, abs(best))
    )


def best_fixed(
    curve: PlanCurve, profile: ProviderProfile, max_overflow_share: float | None = None
) -> FamilyPlan | None:
    """The cheapest fixed(R) with R in ``reserving_range`` (R >= 1 and R >= the deployment minimum; optionally
    with overflow share <= ``max_overflow_share``); None when the week has no demand or no R holds the cap."""
    plans = [fixed_plan(curve, r, profile) for r in reserving_range(curve)]
    return _cheapest([plan for plan in plans if _within(plan, max_overflow_share)])


# ----------------------------------------------------------------------------------------------- autoscale


def simulate_autoscale(
    demand_tps: np.ndarray,
    offer: DedicatedOffer,
    profile: ProviderProfile,
    min_replicas: int,
    max_replicas: int,
) -> AutoscaleTrace:
    """Running and ready replicas per covered minute of ``autoscale(min_replicas, max_replicas)`` on the week's
    demand (weighted tokens/s), with the profile's windows and cold start."""
    return simulate(
        replicas_needed(demand_tps, offer.planned_replica_tps),
        min_replicas,
        max_replicas,
        profile.scale_up_window_minutes,
        profile.scale_down_window_minutes,
        profile.cold_start_minutes,
    )


def autoscale_plan(
    demand_tps: np.ndarray,
    serverless_cost: np.ndarray,
    offer: DedicatedOffer,
    profile: ProviderProfile,
    min_replicas: int,
    max_replicas: int,
    needed: np.ndarray | None = None,
) -> FamilyPlan:
    """Cost (USD per week) of ``autoscale(min_replicas, max_replicas)`` on the week's traffic, simulated and costed
    in one compiled pass (``needed``: the replicas each minute needs, when already computed)."""
    demand = np.asarray(demand_tps, dtype=np.float64)
    if needed is None:
        needed = replicas_needed(demand, offer.planned_replica_tps)
    totals = simulate_totals(needed, demand, serverless_cost, offer.planned_replica_tps, min_replicas, max_replicas,
                             profile.scale_up_window_minutes, profile.scale_down_window_minutes,
                             profile.cold_start_minutes, profile.billing_granularity_minutes == MINUTES_PER_HOUR)  # fmt: skip
    return _plan(AUTOSCALE, (max_replicas, min_replicas, max_replicas), None, offer, totals.billed_replica_minutes,
                 totals.overflow_usd, totals.served_weighted_tokens, float(demand.sum()) * 60,
                 totals.cold_start_overflow_usd)  # fmt: skip


@dataclass(frozen=True)
class AutoscaleSearch:
    """The best autoscale setting and how much work finding it took: ``settings_in_grid`` pairs (min, max),
    ``settings_simulated`` of them simulated (the rest pruned by their lower bound)."""

    best: FamilyPlan | None
    settings_in_grid: int
    settings_simulated: int


def best_autoscale(
    demand_tps: np.ndarray,
    serverless_cost: np.ndarray,
    curve: PlanCurve,
    profile: ProviderProfile,
    max_overflow_share: float | None = None,
) -> AutoscaleSearch:
    """The cheapest autoscale(min, max) over the grid lowest_min <= min <= max <= R_full, max >= 1 (optionally only
    settings whose overflow share is <= ``max_overflow_share``), found by branch and bound.

    Lower bound of a setting: min replicas run all week, so it pays at least min·g·P·H; at most max replicas are
    ever ready, so its overflow is at least fixed(max)'s (overflow falls as capacity rises, minute by minute). Both
    come from the plan curve without simulating. Settings are simulated in increasing bound and the search stops
    at the first bound above the best total found (within rounding, so ties are still seen): every pruned setting
    costs at least its bound, hence more than the best. Settings with min = max = R are fixed(R) exactly and are
    taken from the curve. Under a cap, a setting whose fixed(max) already overflows more than the cap cannot hold
    it and is skipped.
    """
    r_full = curve.r_full
    lowest = profile.lowest_min_replicas
    offer = curve.offer
    if (
        offer.min_replicas > 1
    ):  # a deployment minimum m: every running setting keeps at least m (no scale to 0)
        lowest = max(lowest, offer.min_replicas)
        if r_full >= 1 and lowest > r_full:  # m already serves every minute: (m, m) = fixed(m) is the best
            plan = fixed_plan(curve, lowest, profile)
            return AutoscaleSearch(_as_autoscale(plan) if _within(plan, max_overflow_share) else None, 1, 0)
    if r_full < 1 or lowest > r_full:
        return AutoscaleSearch(None, 0, 0)
    lows, highs = np.meshgrid(
        np.arange(lowest, r_full + 1), np.arange(max(1, lowest), r_full + 1), indexing="ij"
    )
    keep = lows <= highs
    lows, highs = lows[keep], highs[keep]
    grid = int(lows.size)
    bound = lows * offer.replica_usd_per_hour * curve.covered_hours + curve.overflow_cost_usd[highs]
    feasible = (
        np.ones(grid, dtype=bool)
        if max_overflow_share is None
        else curve.overflow_share[highs] <= max_overflow_share + 1e-12
    )
    candidates: list[FamilyPlan] = []
    for r in range(max(1, lowest), r_full + 1):  # min = max = R: fixed(R), known without simulating
        plan = fixed_plan(curve, r, profile)
        if _within(plan, max_overflow_share):
            candidates.append(_as_autoscale(plan))
    simulated = 0
    best = _cheapest(candidates)
    needed = replicas_needed(demand_tps, offer.planned_replica_tps)
    order = np.argsort(bound, kind="stable")
    for index in order:
        low, high = int(lows[index]), int(highs[index])
        if not feasible[index] or (low == high and low >= 1):
            continue
        if best is not None and bound[index] > best.total_cost_usd + _TIE * max(1.0, best.total_cost_usd):
            break
        plan = autoscale_plan(demand_tps, serverless_cost, offer, profile, low, high, needed)
        simulated += 1
        if _within(plan, max_overflow_share):
            best = _cheapest([plan] if best is None else [best, plan])
    return AutoscaleSearch(best, grid, simulated)


def _as_autoscale(plan: FamilyPlan) -> FamilyPlan:
    """fixed(R) seen as autoscale(R, R): the same replicas every minute, the same cost."""
    return FamilyPlan(AUTOSCALE, plan.replicas, plan.replicas, plan.replicas, None, plan.reserved_cost_usd,
                      plan.overflow_cost_usd, plan.total_cost_usd, plan.replica_hours, plan.utilization,
                      plan.overflow_share)  # fmt: skip


# ----------------------------------------------------------------------------------------------- scheduled


def scheduled_replicas(in_window: np.ndarray, replicas: int) -> np.ndarray:
    """Ready replicas per covered minute of a scheduled plan: ``replicas`` inside the window, 0 outside (int64)."""
    return np.where(np.asarray(in_window, dtype=bool), replicas, 0).astype(np.int64)


def window_starts(in_window: np.ndarray) -> int:
    """How many times the window opens over the covered minutes: window minutes whose preceding covered minute is
    outside it (the first covered minute counts when it is inside)."""
    mask = np.asarray(in_window, dtype=bool)
    if mask.size == 0:
        return 0
    return int(mask[0]) + int((mask[1:] & ~mask[:-1]).sum())


def _warm_up_minutes(profile: ProviderProfile) -> int:
    """Billed minutes of warm-up before each window start: the cold start C, rounded up to whole hours under
    hourly billing."""
    cold = profile.cold_start_minutes
    if profile.billing_granularity_minutes == 1 or cold == 0:
        return cold
    return -(-cold // MINUTES_PER_HOUR) * MINUTES_PER_HOUR


def scheduled_curve(
    demand_tps: np.ndarray,
    serverless_cost: np.ndarray,
    offer: DedicatedOffer,
    profile: ProviderProfile,
    window: ScheduleWindow,
    cell_of_minute: np.ndarray,
    max_replicas: int,
    min_replicas: int = 1,
) -> list[FamilyPlan]:
    """scheduled(R, window) for R = min_replicas..max_replicas at once: inside the window R replicas are billed
    and serve (the plan curve of the window's minutes), outside it all traffic is serverless, and each window
    start adds the warm-up minutes of R replicas (``_warm_up_minutes``). Empty when the window holds no covered
    minute."""
    demand = np.asarray(demand_tps, dtype=np.float64)
    cost = np.asarray(serverless_cost, dtype=np.float64)
    mask = window.minute_mask(cell_of_minute)
    window_minutes = int(mask.sum())
    if window_minutes == 0 or max_replicas < 1:
        return []
    inside = plan_curve(demand[mask], cost[mask], offer, window_minutes / MINUTES_PER_HOUR)
    outside_cost = float(cost[~mask].sum())
    all_tokens = float(demand.sum()) * 60
    warm_up = window_starts(mask) * _warm_up_minutes(profile)
    billed_window_minutes = _billed_window_minutes(mask, profile)
    inside_tokens = float(demand[mask].sum()) * 60
    plans = []
    for r in range(max(1, min_replicas), max_replicas + 1):
        cost_r = inside.plan(r)
        billed = r * (billed_window_minutes + warm_up)
        overflow = cost_r.overflow_cost_usd + outside_cost
        served = inside_tokens * (1.0 - cost_r.overflow_share)
        plans.append(_plan(SCHEDULED, (r, 0, r), window, offer, billed, overflow, served, all_tokens))
    return plans


def _billed_window_minutes(mask: np.ndarray, profile: ProviderProfile) -> int:
    """Billed minutes of one replica over the window's covered minutes: the minutes themselves, or, under hourly
    billing, 60 for every clock hour the window touches."""
    if profile.billing_granularity_minutes == 1:
        return int(mask.sum())
    hours = mask.size // MINUTES_PER_HOUR
    touched = mask[: hours * MINUTES_PER_HOUR].reshape(hours, MINUTES_PER_HOUR).any(axis=1)
    return int(touched.sum()) * MINUTES_PER_HOUR


def _bands(cells_on: np.ndarray, minutes: np.ndarray, zone_label: str, what: str) -> list[ScheduleWindow]:
    """The Mon–Fri and daily bands of ``cells_on`` (168 booleans): every hour of the day from the first to the last
    hour that is on for at least half of the covered weekdays (Monday to Friday)."""
    covered_weekdays = (minutes.reshape(7, 24).sum(axis=1) > 0)[:5]
    if not covered_weekdays.any():
        return []
    weekday_hours = cells_on.reshape(7, 24)[:5][covered_weekdays].mean(axis=0) >= 0.5
    if not weekday_hours.any():
        return []
    first, last = int(np.argmax(weekday_hours)), int(23 - np.argmax(weekday_hours[::-1]))
    band = np.zeros(24, dtype=bool)
    band[first : last + 1] = True
    hours = f"{first:02d}:00–{last + 1:02d}:00"
    weekdays = np.concatenate([np.tile(band, 5), np.zeros(48, dtype=bool)])
    return [
        ScheduleWindow(tuple(bool(c) for c in weekdays), f"Mon–Fri {hours} {zone_label}{what}"),
        ScheduleWindow(tuple(bool(c) for c in np.tile(band, 7)), f"daily {hours} {zone_label}{what}"),
    ]


def propose_windows(
    demand_tps: np.ndarray,
    serverless_cost: np.ndarray,
    offer: DedicatedOffer,
    cell_of_minute: np.ndarray,
    zone_label: str,
) -> list[ScheduleWindow]:
    """Candidate windows from the endpoint's week, hour-of-week cell by cell (see docs/cost-model.md#scheduled).

    A cell *carries a replica* when one replica there saves more serverless cost than it costs (the serverless
    cost of the demand one replica would serve, Σ_m min(D_m, K·u)/D_m·S_m over the cell's minutes, exceeds the
    replica's price for the cell's minutes); a cell is *active* when it has any demand. Proposed, in this order:
    the Mon–Fri band and the daily band of the carried cells (every hour of the day from the first to the last hour
    carried on at least half of the covered weekdays), the carried cells themselves, and the two bands of the
    active cells (the hours with traffic: what an SLO may need). A window with the same cells as an earlier one is
    kept once, and a window of all 168 hours is left out (it is the fixed plan plus a warm-up).
    """
    demand = np.asarray(demand_tps, dtype=np.float64)
    cost = np.asarray(serverless_cost, dtype=np.float64)
    cells = np.asarray(cell_of_minute, dtype=np.int64)
    per_replica = offer.planned_replica_tps
    with np.errstate(divide="ignore", invalid="ignore"):
        served = np.where(demand > 0, np.minimum(demand, per_replica) / demand, 0.0) * cost
    saving = np.bincount(cells, weights=served, minlength=HOURS_PER_WEEK)
    minutes = np.bincount(cells, minlength=HOURS_PER_WEEK)
    price = minutes * offer.replica_usd_per_hour / MINUTES_PER_HOUR
    carried = (saving > price) & (minutes > 0)
    active = np.bincount(cells, weights=(demand > 0).astype(np.float64), minlength=HOURS_PER_WEEK) > 0
    windows: list[ScheduleWindow] = []
    if carried.any():
        windows.extend(_bands(carried, minutes, zone_label, ""))
        label = f"{int(carried.sum())} busiest hours of the week"
        windows.append(ScheduleWindow(tuple(bool(c) for c in carried), label))
    if active.any():
        windows.extend(_bands(active, minutes, zone_label, " (hours with traffic)"))
    unique: dict[tuple[bool, ...], ScheduleWindow] = {}
    for window in windows:
        if window.hours_per_week < HOURS_PER_WEEK:
            unique.setdefault(window.cells, window)
    return list(unique.values())


def best_scheduled(
    demand_tps: np.ndarray,
    serverless_cost: np.ndarray,
    curve: PlanCurve,
    profile: ProviderProfile,
    windows: list[ScheduleWindow],
    cell_of_minute: np.ndarray,
    max_overflow_share: float | None = None,
) -> FamilyPlan | None:
    """The cheapest scheduled(R, window) over R in ``reserving_range`` (1..R_full, or from the deployment minimum)
    and the given windows (optionally with overflow share <= ``max_overflow_share``); None when there is no window
    or no demand."""
    plans: list[FamilyPlan] = []
    counts = reserving_range(curve)
    if not counts:
        return None
    for window in windows:
        plans.extend(
            scheduled_curve(
                demand_tps,
                serverless_cost,
                curve.offer,
                profile,
                window,
                cell_of_minute,
                counts.stop - 1,
                counts.start,
            )  # fmt: skip
        )
    return _cheapest([plan for plan in plans if _within(plan, max_overflow_share)])


# ----------------------------------------------------------------------------------------------- all families


@dataclass(frozen=True)
class FamilyOptions:
    """The best setting of each reserving family for one endpoint-week (None where the family has none), with the
    autoscale search's work."""

    fixed: FamilyPlan | None
    autoscale: FamilyPlan | None
    scheduled: FamilyPlan | None
    autoscale_settings_in_grid: int = 0
    autoscale_settings_simulated: int = 0

    def plans(self) -> list[FamilyPlan]:
        """The families' best plans that exist, in the order fixed, autoscale, scheduled."""
        return [plan for plan in (self.fixed, self.autoscale, self.scheduled) if plan is not None]

    def cheapest(self) -> FamilyPlan | None:
        """The cheapest of the families' best plans; exact ties keep the order fixed, autoscale, scheduled."""
        plans = self.plans()
        if not plans:
            return None
        best = min(plan.total_cost_usd for plan in plans)
        return next(p for p in plans if p.total_cost_usd <= best + _TIE * max(1.0, abs(best)))


def family_options(
    demand_tps: np.ndarray,
    serverless_cost: np.ndarray,
    curve: PlanCurve,
    profile: ProviderProfile,
    windows: list[ScheduleWindow],
    cell_of_minute: np.ndarray,
    max_overflow_share: float | None = None,
) -> FamilyOptions:
    """Best fixed, autoscale and scheduled plan of one endpoint-week (each optionally held to an overflow cap); no
    autoscale plan when the provider does not autoscale (``profile.autoscaling`` False)."""
    search = (
        best_autoscale(demand_tps, serverless_cost, curve, profile, max_overflow_share)
        if profile.autoscaling
        else AutoscaleSearch(None, 0, 0)
    )
    return FamilyOptions(
        fixed=best_fixed(curve, profile, max_overflow_share),
        autoscale=search.best,
        scheduled=best_scheduled(
            demand_tps, serverless_cost, curve, profile, windows, cell_of_minute, max_overflow_share
        ),  # fmt: skip
        autoscale_settings_in_grid=search.settings_in_grid,
        autoscale_settings_simulated=search.settings_simulated,
    )


def cost_of_setting(
    family: str,
    replicas: int,
    min_replicas: int,
    max_replicas: int,
    window_cells: list[int] | None,
    demand_tps: np.ndarray,
    serverless_cost: np.ndarray,
    offer: DedicatedOffer,
    profile: ProviderProfile,
    cell_of_minute: np.ndarray,
) -> FamilyPlan:
    """Cost (USD per week) of one given setting of a family on a week's traffic (the backtest costs last week's
    recommended setting on this week): fixed R, autoscale(min, max), or scheduled R over the window's cells."""
    if family == AUTOSCALE:
        return autoscale_plan(demand_tps, serverless_cost, offer, profile, min_replicas, max_replicas)
    if family == SCHEDULED:
        chosen = set(window_cells or [])
        window = ScheduleWindow(tuple(c in chosen for c in range(HOURS_PER_WEEK)), "the recommended window")
        plans = scheduled_curve(demand_tps, serverless_cost, offer, profile, window, cell_of_minute, replicas)
        if plans:
            return plans[-1]
        ready = np.zeros(np.asarray(demand_tps).size, dtype=np.int64)
        return cost_trace(SCHEDULED, ready, ready, demand_tps, serverless_cost, offer, profile,
                          min_replicas=0, max_replicas=replicas, window=window)  # fmt: skip
    if family == FIXED:
        curve = plan_curve(demand_tps, serverless_cost, offer, np.asarray(demand_tps).size / MINUTES_PER_HOUR)
        return fixed_plan(curve, replicas, profile)
    raise ValueError(f"unknown plan family {family!r}; expected one of {FAMILIES}")


# --------------------------------------------------------------------------------------- billed capacity per hour


def ready_replicas(
    plan: FamilyPlan,
    demand_tps: np.ndarray,
    offer: DedicatedOffer,
    profile: ProviderProfile,
    cell_of_minute: np.ndarray,
) -> np.ndarray:
    """Ready (serving) replicas per covered minute of a costed plan (int64): R all week (fixed), the autoscaler
    simulation's ready count, or R inside the schedule window and 0 outside."""
    demand = np.asarray(demand_tps, dtype=np.float64)
    if plan.family == AUTOSCALE:
        return simulate_autoscale(demand, offer, profile, plan.min_replicas, plan.max_replicas).ready
    if plan.family == SCHEDULED and plan.window is not None:
        return scheduled_replicas(plan.window.minute_mask(cell_of_minute), plan.replicas)
    return np.full(demand.size, plan.replicas, dtype=np.int64)


def billed_replicas_per_hour(
    plan: FamilyPlan,
    demand_tps: np.ndarray,
    offer: DedicatedOffer,
    profile: ProviderProfile,
    cell_of_minute: np.ndarray,
) -> np.ndarray:
    """Billed replicas in each covered clock hour of a costed plan, in time order (float64, one value per 60
    covered minutes): the hour's billed replica-minutes / 60, so that the values add up to ``plan.replica_hours``
    (docs/cost-model.md#what-a-week-contributes).

    * fixed(R): R every hour;
    * scheduled(R, window): R in every hour the window touches (per-minute billing: R × the window's minutes in the
      hour / 60), plus the warm-up of each window start, booked to the minutes just before it (the first hour when
      the start is the first covered minute);
    * autoscale(min, max): the running replicas the autoscaler simulation gives per minute; per-minute billing books
      their mean over the hour, hourly billing the hour's most running replicas.
    """
    demand = np.asarray(demand_tps, dtype=np.float64)
    minutes = demand.size
    hours = minutes // MINUTES_PER_HOUR
    hourly = profile.billing_granularity_minutes == MINUTES_PER_HOUR
    if plan.family == FIXED:
        return np.full(hours, float(plan.replicas))
    if plan.family == AUTOSCALE:
        running = simulate_autoscale(demand, offer, profile, plan.min_replicas, plan.max_replicas).running
        per_hour = running[: hours * MINUTES_PER_HOUR].reshape(hours, MINUTES_PER_HOUR).astype(np.float64)
        return per_hour.max(axis=1) if hourly else per_hour.sum(axis=1) / MINUTES_PER_HOUR
    if plan.family == SCHEDULED and plan.window is not None:
        mask = plan.window.minute_mask(cell_of_minute)
        shaped = mask[: hours * MINUTES_PER_HOUR].reshape(hours, MINUTES_PER_HOUR)
        window_minutes = (
            shaped.any(axis=1) * float(MINUTES_PER_HOUR) if hourly else shaped.sum(axis=1).astype(np.float64)
        )
        warm_up = _warm_up_minutes(profile)
        booked = np.zeros(minutes, dtype=np.float64)
        starts = np.flatnonzero(mask & ~np.concatenate([[False], mask[:-1]]))
        for start in starts:
            booked[max(0, start - warm_up) : start] += 1.0
            # a start in the first covered minutes: what falls before them is booked to the first hour
            booked[0] += max(0, warm_up - start)
        warm = booked[: hours * MINUTES_PER_HOUR].reshape(hours, MINUTES_PER_HOUR).sum(axis=1)
        return plan.replicas * (window_minutes + warm) / MINUTES_PER_HOUR
    raise ValueError(f"unknown plan family {plan.family!r}; expected one of {FAMILIES}")
