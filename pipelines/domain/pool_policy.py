"""The pool policy: whether a candidate pool of one model's endpoints is recommended this week
(see docs/cost-model.md#pools).

A pool found by the search is the week's *raw* pool when it is cheaper than its members' own best plans and
every member with an SLO keeps its overflow cap inside it. It is recommended (action ``pool``) when its saving is
at least max(min_savings_usd_per_week, min_savings_pct × the members' separate cost) and the same pool (same members,
same family) was raw in each of the persistence_weeks − 1 weeks before; otherwise ``hold`` with why, and candidates
that are not raw are ``separate``. Money in USD per week.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pipelines.core.text import format_usd
from pipelines.domain.cost_model import DedicatedOffer, plan_curve
from pipelines.domain.plan_families import FamilyPlan, family_options, propose_windows, ready_replicas
from pipelines.domain.policy import PolicySettings
from pipelines.domain.pools import (
    PoolMember,
    demand_correlation,
    member_overflow_shares,
    overflow_cap,
    pool_key,
    pooled_series,
)
from pipelines.domain.provider import ProviderProfile

POOL = "pool"
HOLD = "hold"
SEPARATE = "separate"
POOL_ACTIONS = (POOL, HOLD, SEPARATE)
_CENT = 0.005
LOW_CORRELATION = 0.3
HIGH_CORRELATION = 0.8


@dataclass(frozen=True)
class PoolCandidate:
    """A candidate pool costed for one week.

    ``separate_cost_usd`` / ``separate_replicas``: Σ of the members' own best plans (cost, most replicas);
    ``plan``: the pool's cheapest reserving plan (None when no family can serve it within its SLO cap);
    ``serverless_cost_usd``: the pool's traffic all on serverless; ``correlation``: the mean pairwise correlation
    of the members' minute demand (None when undefined); ``peak_of_sum_tps`` / ``sum_of_peaks_tps``: the pool's
    peak demand and its members' peaks summed (weighted tokens/s); ``member_overflow_shares`` /
    ``member_caps``: each member's overflow share under ``plan`` and its SLO cap (None without one);
    ``in_best_grouping``: the week's cheapest grouping of the model's endpoints holds this group (only those
    can be raw); ``offer``: the pool's
    replica economics (K_pool from its members' request shapes).
    """

    model: str
    pool_id: str
    members: tuple[str, ...]
    separate_cost_usd: float
    separate_replicas: int
    plan: FamilyPlan | None
    serverless_cost_usd: float
    correlation: float | None
    peak_of_sum_tps: float
    sum_of_peaks_tps: float
    member_overflow_shares: tuple[float | None, ...] = ()
    member_caps: tuple[float | None, ...] = ()
    in_best_grouping: bool = True
    offer: DedicatedOffer | None = None

    @property
    def capped(self) -> bool:
        """Whether some member's SLO caps the pool's overflow."""
        return any(cap is not None for cap in self.member_caps)

    @property
    def pooled_cost_usd(self) -> float:
        """The pool's cheapest plan: its best reserving plan, or serverless when that is cheaper and no SLO caps
        the overflow."""
        if self.plan is None:
            return self.serverless_cost_usd
        if self.capped:
            return self.plan.total_cost_usd
        return min(self.plan.total_cost_usd, self.serverless_cost_usd)

    @property
    def reserves(self) -> bool:
        """Whether the pool's cheapest plan reserves replicas (a pool on serverless shares nothing)."""
        return self.plan is not None and self.plan.total_cost_usd <= self.pooled_cost_usd + _CENT

    @property
    def saving_usd(self) -> float:
        """multiplexing_saving: the members' own best plans − the pool's cheapest plan (USD per week)."""
        return self.separate_cost_usd - self.pooled_cost_usd

    @property
    def history_key(self) -> str:
        """What persistence compares week to week: the pool and its family (``pool-…/autoscale``)."""
        family = self.plan.family if self.plan is not None else "serverless"
        return f"{self.pool_id}/{family}"


@dataclass(frozen=True)
class PoolDecision:
    """The week's decision on one candidate pool: ``action`` (pool, hold, separate), whether it was the raw pool
    (``is_raw``), its saving (USD per week and as a fraction of the separate cost), the reasons in plain words, and
    the held reasons (empty unless held)."""

    action: str
    is_raw: bool
    saving_usd: float
    saving_pct: float | None
    reasons: list[str] = field(default_factory=list)
    held_reasons: list[str] = field(default_factory=list)


def cost_candidate(
    model: str,
    members: Sequence[PoolMember],
    covered_hours: float,
    profile: ProviderProfile,
    cell_of_minute: np.ndarray,
    time_zone: str,
    in_best_grouping: bool = True,
) -> PoolCandidate:
    """A candidate pool of ``members`` costed with every plan family on its summed demand over ``covered_hours``
    (windows proposed from the pool's own hours in ``time_zone``; the tightest member SLO cap holds): USD per
    week."""
    series = pooled_series(members)
    cap = overflow_cap(members)
    cells = cell_of_minute
    curve = plan_curve(series.demand_tps, series.serverless_cost_usd, series.offer, covered_hours)
    windows = propose_windows(series.demand_tps, series.serverless_cost_usd, series.offer, cells, time_zone)
    options = family_options(
        series.demand_tps, series.serverless_cost_usd, curve, profile, windows, cells, cap
    )
    plan = options.cheapest()
    shares: tuple[float | None, ...] = ()
    if plan is not None:
        ready = ready_replicas(plan, series.demand_tps, series.offer, profile, cells)
        shares = tuple(member_overflow_shares(series, ready, series.offer))
    demands = [np.asarray(m.demand_tps) for m in members]
    return PoolCandidate(
        model=model,
        pool_id=pool_key(model, [m.endpoint for m in members]),
        members=tuple(m.endpoint for m in members),
        separate_cost_usd=float(sum(m.own_cost_usd for m in members)),
        separate_replicas=int(sum(m.own_replicas for m in members)),
        plan=plan,
        serverless_cost_usd=float(series.serverless_cost_usd.sum()),
        correlation=demand_correlation(demands),
        peak_of_sum_tps=float(np.sum(demands, axis=0).max(initial=0.0)),
        sum_of_peaks_tps=float(sum(d.max(initial=0.0) for d in demands)),
        member_overflow_shares=shares,
        member_caps=tuple(m.max_overflow_share for m in members),
        in_best_grouping=in_best_grouping,
        offer=series.offer,
    )


def _names(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _replicas(count: int) -> str:
    return f"{count} replica" + ("" if count == 1 else "s")


def _model_name(model: str) -> str:
    """The model's name without its organisation prefix (``meta-llama/Llama-3.3-70B`` → ``Llama-3.3-70B``)."""
    return model.rsplit("/", 1)[-1]


def _slo_violations(candidate: PoolCandidate) -> list[str]:
    """Members whose SLO cap the pool plan would break, in words."""
    out = []
    for name, share, cap in zip(
        candidate.members, candidate.member_overflow_shares, candidate.member_caps, strict=False
    ):
        if cap is not None and share is not None and share > cap + 1e-12:
            out.append(f"{name} would overflow {share:.1%} in the pool, above its SLO's {cap:.0%}")
    return out


def _correlation_sentence(candidate: PoolCandidate) -> str | None:
    corr = candidate.correlation
    peaks = (
        f"the pool peaks at {candidate.peak_of_sum_tps:,.0f} weighted tokens/s against "
        f"{candidate.sum_of_peaks_tps:,.0f} for the members' peaks summed"
    )
    if corr is None:
        return peaks
    if corr < LOW_CORRELATION:
        return f"their peaks rarely coincide (correlation of minute demand {corr:.2f}): {peaks}"
    if corr >= HIGH_CORRELATION:
        return f"their demand moves together (correlation of minute demand {corr:.2f}): {peaks}"
    return f"their peaks partly coincide (correlation of minute demand {corr:.2f}): {peaks}"


def _weeks_in_a_row(key: str, history: Sequence[str | None]) -> int:
    """This week plus the consecutive earlier weeks (most recent first) whose raw pool had ``key``."""
    seen = 1
    for earlier in history:
        if earlier != key:
            break
        seen += 1
    return seen


def decide_pool(
    candidate: PoolCandidate, history: Sequence[str | None], settings: PolicySettings
) -> PoolDecision:
    """The week's decision on ``candidate`` (module docstring); ``history``: the raw pool's history key of each
    earlier week for these members (most recent first, None where it was not raw)."""
    saving = candidate.saving_usd
    separate = candidate.separate_cost_usd
    pct = saving / separate if separate > 0 else None
    plan = candidate.plan
    pooled = (
        f"pooled {plan.settings_text()}"
        if plan is not None and candidate.reserves
        else "pooled on serverless"
    )
    reasons = [
        f"{_names(list(candidate.members))} on {_model_name(candidate.model)}: separately "
        f"{_replicas(candidate.separate_replicas)}, {format_usd(separate)}/week; {pooled}, "
        f"{format_usd(candidate.pooled_cost_usd)}/week"
        + (f" (saves {format_usd(saving)}/week, {pct:.0%})" if saving > _CENT and pct is not None else "")
    ]
    correlation = _correlation_sentence(candidate)
    if correlation is not None:
        reasons.append(correlation)
    capped = [
        name for name, cap in zip(candidate.members, candidate.member_caps, strict=False) if cap is not None
    ]
    if capped and plan is not None:
        reasons.append(
            f"the SLO of {_names(capped)} carries over: the pool plan overflows {plan.overflow_share:.1%} of its "
            f"tokens, at most {min(c for c in candidate.member_caps if c is not None):.0%} allowed"
        )
    violations = _slo_violations(candidate)
    reasons.extend(violations)
    if not candidate.reserves:
        reasons.append("the pool's cheapest plan reserves nothing: there is no capacity to share")
        return PoolDecision(SEPARATE, False, saving, pct, reasons)
    if saving <= _CENT:
        reasons.append("pooling saves nothing over the members' own plans")
        return PoolDecision(SEPARATE, False, saving, pct, reasons)
    if violations:
        return PoolDecision(SEPARATE, False, saving, pct, reasons)
    if not candidate.in_best_grouping:
        reasons.append("the search found a cheaper grouping of this model's endpoints")
        return PoolDecision(SEPARATE, False, saving, pct, reasons)
    threshold = max(settings.min_savings_usd_per_week, settings.min_savings_pct * separate)
    seen = _weeks_in_a_row(candidate.history_key, history)
    held = []
    if saving < threshold:
        held.append(f"saving {format_usd(saving)} below the {format_usd(threshold)} threshold")
    if seen < settings.persistence_weeks:
        held.append(
            f"needs {settings.persistence_weeks} weeks in a row as the cheapest grouping, seen {seen}"
        )
    if held:
        reasons.extend(f"held: {why}" for why in held)
        return PoolDecision(HOLD, True, saving, pct, reasons, held)
    return PoolDecision(POOL, True, saving, pct, reasons)
