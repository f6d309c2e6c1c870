"""The weekly recommendation policy: from one endpoint's costed plans to migrate / tune / hold / stay
(see docs/cost-model.md#the-policy).

For one endpoint and week ``decide`` takes the cheapest plan (the *raw candidate*) among serverless, the best
setting of each plan family (fixed, autoscale, scheduled: ``plan_families``; or the R* replicas of the cost curve
when no families are given) and batch (only for offline endpoints whose model offers it), costs the plan running
today (the *current* plan), and recommends a move only when it saves enough money and the same raw mode and family
have been seen for ``persistence_weeks`` weeks in a row (a new setting of the family already running is a *tune*,
applied without waiting). Otherwise the row holds (or stays) on the current plan and its reasons say why. Money is USD per week, shares and percentages are fractions.

Conventions:
* ``replicas`` is >= 1 exactly when the recommended mode is dedicated or hybrid and 0 otherwise; it is None only
  on an unpriced row of a dedicated endpoint whose replica count is not declared.
* ``utilization`` and ``overflow_share`` describe reserved capacity: None when the recommended plan reserves none.
* ``confidence`` is 'medium' when the raw candidate's saving lies within a factor 2 of the threshold
  (threshold/2 <= saving < 2·threshold), the zone where a small change of traffic flips the decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from pipelines.core.errors import ModeshiftError
from pipelines.core.text import format_usd
from pipelines.core.vocabulary import (
    CURRENT_MODES,
    OFFLINE,
    PLAN_MODES,
    RESERVED_MODES,
    SLO_MET,
    SLO_NOT_CHECKED,
    TUNE,
)
from pipelines.domain.cost_model import (
    DedicatedOffer,
    PlanCurve,
    batch_cost_usd,
    total_cost_usd,
)
from pipelines.domain.jobs import BatchLimits, JobsSummary, batch_blockers, describe_jobs, format_tokens
from pipelines.domain.plan_families import FIXED, FamilyOptions, FamilyPlan, fixed_plan
from pipelines.domain.provider import TOGETHER_DEFAULT, ProviderProfile
from pipelines.domain.slo import NOT_CHECKED, Slo, SloStatus, slo_plan

FULL_WEEK_DAYS = 7
# Aggregated source grains coarser than the cost model's minute (docs/metrics.md#aggregated-sources).
COARSE_GRAINS = ("1h", "1d")


@dataclass(frozen=True)
class PolicySettings:
    """Thresholds of the policy: minimum weekly saving in USD and as a fraction of current cost, weeks in a row."""

    min_savings_usd_per_week: float = 50.0
    min_savings_pct: float = 0.10
    persistence_weeks: int = 2

    def __post_init__(self) -> None:
        if self.min_savings_usd_per_week < 0:
            raise ModeshiftError(
                f"policy.min_savings_usd_per_week must be >= 0, got {self.min_savings_usd_per_week}."
            )
        if not 0 <= self.min_savings_pct <= 1:
            raise ModeshiftError(
                f"policy.min_savings_pct must be a fraction in [0, 1], got {self.min_savings_pct}.",
                "Write 10% as 0.10.",
            )
        if self.persistence_weeks < 1:
            raise ModeshiftError(f"policy.persistence_weeks must be >= 1, got {self.persistence_weeks}.")


@dataclass(frozen=True, eq=False)
class EndpointWeekInput:
    """Everything one endpoint-week decision needs.

    * ``current_mode``: how the endpoint is served today ('serverless', 'dedicated' or 'batch').
    * ``priced``: False when the model has no rate-card price; such endpoints are never recommended a move.
    * ``serverless_cost_usd``: the week's serverless list cost total(0) (None when unpriced).
    * ``curve``: the plan cost curve (None when unpriced or when the model has no dedicated offer).
    * ``offer``: the model's dedicated offer (None when the rate card has none; taken from ``curve`` when omitted).
    * ``batch_discount``: batch discount as a fraction; None when the model does not offer batch.
    * ``declared_replicas``: replicas the deployments file declares for a dedicated endpoint (None: undeclared).
    * ``history_raw_modes``: raw modes of the previous weeks, most recent first (None for a week without one);
      may be shorter than persistence_weeks − 1.
    * ``jobs``: the week's runs of the endpoint (None when it had none); with ``batch_limits`` they decide whether
      batch can take the endpoint (docs/metrics.md#jobs); ``offline_share`` (fraction) says why it may.
    * the profile fields (``stability_class``, ``baseline_ratio`` (P10/P50 of hourly tokens), ``burst_class``,
      ``peak_to_mean``) only feed the reasons; ``burst_reason``, when given, is the burst sentence quoting the
      metric that set the class (``profile_metrics.burst_reason``) and replaces the plain peak/mean one.
    * ``slo`` / ``slo_status``: the endpoint's latency SLO and its week on serverless (None: no SLO; a missing
      status with an SLO is ``not_checked``), see docs/cost-model.md#latency-slos.
    * ``families``: the best plan of each reserving family (docs/cost-model.md#plan-families); None = only the
      fixed plans of ``curve``. ``slo_families``: the same, each held to the SLO's overflow cap (used only when
      the SLO is breached). ``provider``: the provider profile the families were costed with.
    * ``declared_plan``: the deployment ``deployments:`` declares (a fixed count, an autoscaler or a schedule),
      costed on this week; it is the current plan of a dedicated endpoint when given (else ``declared_replicas``
      fixed replicas). ``capacity_note``: the sentence saying where the replica capacity K comes from (the shape
      of the endpoint's requests), replacing the generic assumption sentence.
    * ``source_grain``: the coarsest source of the endpoint's week (``request``, or an aggregated usage bucket
      width ``1m`` / ``1h`` / ``1d``; None: single requests). Coarser than a minute, its minute demand is its buckets
      spread evenly, which hides bursts: the plans reserving capacity are costed on it all the same, and the
      confidence is low (docs/metrics.md#aggregated-sources).
    """

    endpoint: str
    model: str
    week_start: date
    current_mode: str
    latency_class: str
    coverage_days: int
    covered_hours: float
    priced: bool = True
    serverless_cost_usd: float | None = None
    curve: PlanCurve | None = None
    offer: DedicatedOffer | None = None
    batch_discount: float | None = None
    declared_replicas: int | None = None
    history_raw_modes: Sequence[str | None] = ()
    stability_class: str | None = None
    baseline_ratio: float | None = None
    burst_class: str | None = None
    peak_to_mean: float | None = None
    jobs: JobsSummary | None = None
    batch_limits: BatchLimits = field(default_factory=BatchLimits)
    offline_share: float | None = None

    @property
    def batch_eligible(self) -> bool:
        """Whether batch is a candidate: the model offers it, nobody waits (offline) and every run of the week
        fits the provider's batch limits."""
        return (
            self.batch_discount is not None
            and self.latency_class == OFFLINE
            and not batch_blockers(self.jobs, self.batch_limits)
        )

    burst_reason: str | None = None
    slo: Slo | None = None
    slo_status: SloStatus | None = None
    families: FamilyOptions | None = None
    slo_families: FamilyOptions | None = None
    provider: ProviderProfile = TOGETHER_DEFAULT
    declared_plan: FamilyPlan | None = None
    capacity_note: str | None = None
    source_grain: str | None = None

    def __post_init__(self) -> None:
        if self.slo is not None and self.slo_status is None:
            object.__setattr__(self, "slo_status", NOT_CHECKED)
        if self.current_mode not in CURRENT_MODES:
            raise ValueError(f"current_mode must be one of {CURRENT_MODES}, got {self.current_mode!r}")
        if self.declared_replicas is not None and self.declared_replicas < 1:
            raise ValueError(f"declared_replicas must be >= 1 when given, got {self.declared_replicas}")
        if self.batch_discount is not None and not 0 <= self.batch_discount <= 1:
            raise ValueError(f"batch_discount must be in [0, 1], got {self.batch_discount}")
        if self.priced and self.serverless_cost_usd is None:
            raise ValueError("a priced endpoint needs serverless_cost_usd")
        if self.curve is not None:
            if self.offer is None:
                object.__setattr__(self, "offer", self.curve.offer)
            elif self.offer != self.curve.offer:
                raise ValueError("offer differs from the offer the curve was computed with")
        if self.curve is not None and self.serverless_cost_usd is not None:
            curve_zero = float(self.curve.total_cost_usd[0])
            if abs(curve_zero - self.serverless_cost_usd) > 1e-6 * max(1.0, abs(curve_zero)):
                raise ValueError(
                    f"serverless_cost_usd {self.serverless_cost_usd} differs from the curve's total(0) {curve_zero}"
                )


@dataclass(frozen=True)
class Decision:
    """One row of the ``recommendations`` table (docs/cost-model.md#the-recommendations-row); money in USD per
    week, shares as fractions."""

    week_start: date
    endpoint: str
    model: str
    current_mode: str
    raw_mode: str | None
    recommended_mode: str
    action: str
    replicas: int | None
    gpu_type: str | None
    current_cost_usd: float | None
    recommended_cost_usd: float | None
    savings_usd: float | None
    savings_pct: float | None
    utilization: float | None
    overflow_share: float | None
    batch_upper_bound_savings_usd: float | None
    confidence: str
    reasons: list[str] = field(default_factory=list)
    raw_replicas: int | None = None
    raw_cost_usd: float | None = None
    raw_savings_usd: float | None = None
    held_reasons: list[str] = field(default_factory=list)
    batch_eligible: bool = False
    slo_status: str | None = None
    slo_premium_usd: float | None = None
    plan_family: str | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    schedule_window: str | None = None
    schedule_cells: list[int] | None = None
    replica_hours: float | None = None
    cold_start_overflow_usd: float | None = None
    raw_family: str | None = None
    raw_plan: str | None = None
    replica_capacity_tps: float | None = None
    gpus_per_replica: int | None = None
    price_basis: str = "list"
    price_factor: float | None = None
    price_note: str | None = None
    list_current_cost_usd: float | None = None
    list_recommended_cost_usd: float | None = None
    list_savings_usd: float | None = None
    list_recommended_mode: str | None = None
    list_action: str | None = None
    list_raw_mode: str | None = None
    list_raw_family: str | None = None


@dataclass(frozen=True)
class _Plan:
    """A costed plan: mode, replicas (0 unless reserved), weekly cost and the reserved-capacity figures (the
    reserved and overflow parts of the cost in USD per week, utilization and overflow share as fractions)."""

    mode: str
    replicas: int
    cost_usd: float
    utilization: float | None = None
    overflow_share: float | None = None
    reserved_cost_usd: float | None = None
    overflow_cost_usd: float | None = None
    family: FamilyPlan | None = None

    @property
    def family_name(self) -> str | None:
        """The plan family of a reserved plan ('fixed', 'autoscale', 'scheduled'); None otherwise."""
        return self.family.family if self.family is not None else None

    @property
    def key(self) -> str:
        """What persistence compares week to week: the mode and, for reserved plans, the family
        (``hybrid/autoscale``)."""
        return plan_key(self.mode, self.family_name)


def plan_key(mode: str | None, family: str | None) -> str | None:
    """``hybrid/autoscale`` for a reserved plan of a family, else the mode itself (None stays None)."""
    if mode is None:
        return None
    return f"{mode}/{family}" if mode in RESERVED_MODES and family is not None else mode


def _plural(count: int, word: str) -> str:
    """``1 week`` / ``2 weeks``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def cost_of_plan(
    mode: str,
    replicas: int,
    demand_tps: np.ndarray,
    serverless_cost: np.ndarray,
    offer: DedicatedOffer | None,
    covered_hours: float,
    batch_discount: float | None,
) -> float:
    """Weekly cost in USD of a given plan on a week's per-minute traffic (used by the backtest).

    'serverless' → Σ S_m; 'batch' → Σ S_m·(1 − discount); 'dedicated' / 'hybrid' → total(replicas) with serverless
    overflow. ``demand_tps`` in weighted tokens/s and ``serverless_cost`` in USD, one value per covered minute.
    """
    if mode == "serverless":
        return float(np.asarray(serverless_cost, dtype=np.float64).sum())
    if mode == "batch":
        if batch_discount is None:
            raise ValueError("a batch plan needs the model's batch discount")
        return batch_cost_usd(float(np.asarray(serverless_cost, dtype=np.float64).sum()), batch_discount)
    if mode in RESERVED_MODES:
        if offer is None:
            raise ValueError(f"a {mode} plan needs the model's dedicated offer")
        return total_cost_usd(replicas, demand_tps, serverless_cost, offer, covered_hours).total_cost_usd
    raise ValueError(f"unknown plan mode {mode!r}; expected one of {PLAN_MODES}")


def _reserved_plan(curve: PlanCurve, replicas: int, mode: str) -> _Plan:
    """The fixed plan of ``replicas`` replicas on ``curve`` labelled ``mode``."""
    return _from_family(fixed_plan(curve, replicas, TOGETHER_DEFAULT), mode)


def _from_family(plan: FamilyPlan, mode: str | None = None) -> _Plan:
    """A family's costed setting as a policy plan: 'dedicated' when nothing overflows, else 'hybrid' (unless
    ``mode`` says otherwise)."""
    return _Plan(
        mode or ("hybrid" if plan.has_overflow else "dedicated"),
        plan.replicas,
        plan.total_cost_usd,
        plan.utilization,
        plan.overflow_share,
        plan.reserved_cost_usd,
        plan.overflow_cost_usd,
        plan,
    )


def _raw_candidate(inp: EndpointWeekInput, serverless: float) -> _Plan:
    """Cheapest of serverless, the R* plan and (offline endpoints whose jobs batch can take) batch; ties keep
    that order."""
    plans = [_Plan("serverless", 0, serverless)]
    if inp.families is not None:
        plans.extend(_from_family(plan) for plan in inp.families.plans())
    elif inp.curve is not None and inp.curve.r_star > 0:
        plans.append(_reserved_plan(inp.curve, inp.curve.r_star, inp.curve.mode))
    if inp.batch_eligible and inp.batch_discount is not None:
        plans.append(_Plan("batch", 0, batch_cost_usd(serverless, inp.batch_discount)))
    return min(plans, key=lambda plan: plan.cost_usd)


def _current_plan(inp: EndpointWeekInput, serverless: float, reasons: list[str]) -> _Plan | None:
    """The plan running today, costed on this week's traffic; None when it cannot be priced."""
    if inp.current_mode == "serverless":
        return _Plan("serverless", 0, serverless)
    if inp.current_mode == "batch":
        if inp.batch_discount is None:
            reasons.append(
                f"model {inp.model} offers no batch in the rate card; the current cost assumes serverless prices"
            )
            return _Plan("batch", 0, serverless)
        return _Plan("batch", 0, batch_cost_usd(serverless, inp.batch_discount))
    if inp.curve is None:
        return None
    if inp.declared_plan is not None:
        return _from_family(inp.declared_plan, "dedicated")
    if inp.declared_replicas is not None:
        return _reserved_plan(inp.curve, inp.declared_replicas, "dedicated")
    assumed = max(1, inp.curve.r_full, inp.curve.offer.min_replicas)
    reasons.append(
        f"no replica count declared for {inp.endpoint}; the current cost assumes {_plural(assumed, inp.provider.unit)} "
        f"(enough for the peak minute)"
    )
    return _reserved_plan(inp.curve, assumed, "dedicated")


def _settings(plan: _Plan) -> tuple[object, ...]:
    """A reserved plan's family and settings (replicas, min, max, window cells)."""
    family = plan.family
    if family is None:
        return (FIXED, plan.replicas, plan.replicas, plan.replicas, None)
    cells = family.window.cells if family.window is not None else None
    return (family.family, family.replicas, family.min_replicas, family.max_replicas, cells)


def _same_plan(current: _Plan, raw: _Plan) -> bool:
    """Whether the raw candidate is the plan already running (reserved plans: same family and settings)."""
    if current.mode in RESERVED_MODES and raw.mode in RESERVED_MODES:
        return _settings(current) == _settings(raw)
    return current.mode == raw.mode


def _same_family(current: _Plan, raw: _Plan) -> bool:
    """Whether both plans reserve capacity in the same family (a change of settings is a tuning, not a move)."""
    return (
        current.mode in RESERVED_MODES
        and raw.mode in RESERVED_MODES
        and _settings(current)[0] == _settings(raw)[0]
    )


def _move_of(key: str) -> str:
    """What a raw candidate's key moves the endpoint to, for persistence: dedicated and hybrid are one move (the
    same replicas reserved; whether a few minutes of the week overflow to serverless changes the label, not the
    deployment), so ``dedicated/fixed`` and ``hybrid/fixed`` are both ``reserved/fixed``."""
    mode, _, family = key.partition("/")
    return f"reserved/{family}" if mode in RESERVED_MODES else key


def _weeks_in_a_row(raw_key: str, history: Sequence[str | None], any_reserved: bool = False) -> int:
    """Weeks in a row, this one included, whose raw candidate made the same move as ``raw_key`` (mode and family,
    see ``plan_key``; dedicated and hybrid of one family alike, see ``_move_of``), or, with ``any_reserved`` (an
    SLO move), any plan reserving capacity."""
    seen = 1
    for key in history:
        if key is None:
            break
        if key in RESERVED_MODES:
            key = plan_key(key, FIXED)  # a week recorded before plan families: its reserved plans were fixed
        same = key.split("/")[0] in RESERVED_MODES if any_reserved else _move_of(key) == _move_of(raw_key)
        if not same:
            break
        seen += 1
    return seen


def _profile_reasons(inp: EndpointWeekInput) -> list[str]:
    """Traffic-shape sentences: baseline stability and burstiness, with their numbers."""
    reasons = []
    if inp.stability_class is not None and inp.baseline_ratio is not None:
        reasons.append(
            f"{inp.stability_class} baseline: P10/P50 = {inp.baseline_ratio:.2f} over {inp.covered_hours:g} h"
        )
    if inp.burst_reason is not None:
        reasons.append(inp.burst_reason)
    elif inp.burst_class is not None and inp.peak_to_mean is not None:
        reasons.append(f"{inp.burst_class}: peak/mean = {inp.peak_to_mean:.1f}")
    return reasons


def _utilization_text(utilization: float, target: float) -> str:
    """``65% of full capacity (81% of the 80% planning target)``: a reserved plan's utilization against the full
    replica capacity K and against the planned K·u (u = ``target``); the second part is left out when u = 1."""
    text = f"{utilization:.0%} of full capacity"
    if target < 1:
        text += f" ({utilization / target:.0%} of the {target:.0%} planning target)"
    return text


def _describe_plan(inp: EndpointWeekInput, plan: _Plan) -> str:
    """``4 replicas of 2×H100-80GB at 65% of full capacity (81% of the 80% planning target)`` /
    ``autoscale 1–4 replicas of 1×H100-80GB (scale up after 1 min, down after 10 min; 310 replica-hours) at ...`` /
    ``scheduled 2 replicas of 1×H100-80GB Mon–Fri 08:00–20:00 UTC (120 replica-hours) at ...`` / ``batch at 50%
    off`` / ``serverless``."""
    if plan.mode in RESERVED_MODES and inp.offer is not None:
        offer = inp.offer
        hardware = f"{offer.gpus_per_replica}×{offer.gpu_type}"
        load = _utilization_text(plan.utilization or 0.0, offer.target_utilization)
        family = plan.family
        if family is not None and family.family == "autoscale":
            windows = (
                f"scale up after {inp.provider.scale_up_window_minutes} min, down after "
                f"{inp.provider.scale_down_window_minutes} min"
            )
            return (
                f"autoscale {family.min_replicas}–{family.max_replicas} {inp.provider.unit}s of {hardware} ({windows}; "
                f"{family.replica_hours:,.0f} replica-hours) at {load}"
            )
        if family is not None and family.family == "scheduled" and family.window is not None:
            return (
                f"scheduled {_plural(plan.replicas, inp.provider.unit)} of {hardware} {family.window.label} "
                f"({family.replica_hours:,.0f} replica-hours) at {load}"
            )
        return f"{_plural(plan.replicas, inp.provider.unit)} of {hardware} at {load}"
    if plan.mode == "batch" and inp.batch_discount is not None:
        return f"batch at {inp.batch_discount:.0%} off"
    return plan.mode


def _cost_parts(plan: _Plan) -> str:
    """`` ($336 reserved + $604.80 serverless overflow)`` for a reserved plan, else empty: the two parts of its
    weekly cost, so the total can be checked."""
    if plan.mode not in RESERVED_MODES or plan.reserved_cost_usd is None:
        return ""
    if not plan.overflow_cost_usd:
        return f" ({format_usd(plan.reserved_cost_usd)} reserved, no overflow)"
    return (
        f" ({format_usd(plan.reserved_cost_usd)} reserved + {format_usd(plan.overflow_cost_usd or 0.0)} "
        f"serverless overflow)"
    )


def _overflow_clause(plan: _Plan) -> str:
    """``; 12% of weighted tokens overflow to serverless`` for a reserved plan with overflow, else empty."""
    if plan.mode in RESERVED_MODES and (plan.overflow_share or 0.0) > 0:
        return f"; {plan.overflow_share or 0.0:.0%} of weighted tokens overflow to serverless"
    return ""


def _candidate_sentence(inp: EndpointWeekInput, raw: _Plan, current: _Plan) -> str:
    """What the raw candidate is, what it costs and what it saves against the current plan."""
    saving = current.cost_usd - raw.cost_usd
    if _same_plan(current, raw):
        return (
            f"the current plan, {_describe_plan(inp, current)}, is already the cheapest at "
            f"{format_usd(current.cost_usd)}/week{_cost_parts(current)}{_overflow_clause(current)}"
        )
    if saving <= 0:
        return (
            f"cheapest eligible plan: {_describe_plan(inp, raw)} at {format_usd(raw.cost_usd)}/week"
            f"{_cost_parts(raw)}{_overflow_clause(raw)}"
        )
    amount = f"{format_usd(saving)}/week ({saving / current.cost_usd:.0%})"
    if raw.mode == "serverless" and current.mode == "dedicated":
        return f"move back to serverless: would save {amount}"
    if raw.mode in RESERVED_MODES:
        verb = "saves" if raw.replicas == 1 else "save"
        return (
            f"{_describe_plan(inp, raw)} {verb} {amount}, costing {format_usd(raw.cost_usd)}/week"
            f"{_cost_parts(raw)}{_overflow_clause(raw)}"
        )
    return f"{_describe_plan(inp, raw)} would save {amount}"


def _unpriced(inp: EndpointWeekInput, why: str) -> Decision:
    """A row for an endpoint that cannot be costed: it stays on its current mode and is never recommended a move."""
    replicas: int | None = 0
    if inp.current_mode == "dedicated":
        replicas = inp.declared_replicas
    return Decision(
        week_start=inp.week_start,
        endpoint=inp.endpoint,
        model=inp.model,
        current_mode=inp.current_mode,
        raw_mode=None,
        recommended_mode=inp.current_mode,
        action="stay",
        replicas=replicas,
        gpu_type=inp.offer.gpu_type if inp.offer is not None and inp.current_mode == "dedicated" else None,
        gpus_per_replica=(
            inp.offer.gpus_per_replica if inp.offer is not None and inp.current_mode == "dedicated" else None
        ),
        current_cost_usd=None,
        recommended_cost_usd=None,
        savings_usd=None,
        savings_pct=None,
        utilization=None,
        overflow_share=None,
        batch_upper_bound_savings_usd=None,
        confidence="low",
        reasons=[why],
        slo_status=inp.slo_status.status if inp.slo is not None and inp.slo_status is not None else None,
        slo_premium_usd=0.0 if inp.slo is not None else None,
    )


def _choose_action(
    current: _Plan,
    raw: _Plan,
    threshold: float,
    history: Sequence[str | None],
    persistence_weeks: int,
    slo_move: bool = False,
    slo_hold: str | None = None,
) -> tuple[str, list[str]]:
    """'stay', 'tune', 'migrate' or 'hold' for the raw candidate against the current plan, with why a hold holds (one
    sentence per rule that holds it back; empty unless the action is 'hold').

    ``slo_move``: the raw candidate is the plan that meets a breached SLO; it needs no saving (it may cost more),
    but persistence still applies, counting the weeks in a row whose raw candidate reserved capacity.
    ``slo_hold``: why the move must wait whatever it saves (an SLO that cannot be checked off reserved capacity).
    """
    if _same_plan(current, raw):
        return "stay", []
    saving = current.cost_usd - raw.cost_usd
    if _same_family(current, raw) and slo_hold is None:
        # new settings within the running family: a tuning, applied without waiting for persistence
        if saving >= threshold or slo_move:
            return TUNE, []
        if saving < 0:
            return "hold", [f"it would cost {format_usd(-saving)} more than the current plan"]
        return "hold", [f"saving {format_usd(saving)} below the {format_usd(threshold)} threshold"]
    seen = _weeks_in_a_row(raw.key, history, any_reserved=slo_move)
    saves_enough = slo_move or saving >= threshold
    if saves_enough and seen >= persistence_weeks and slo_hold is None:
        return "migrate", []
    held = []
    if slo_hold is not None:
        held.append(slo_hold)
    if slo_move:
        pass  # meeting the SLO is the reason for the move: its cost is the premium, not a hold
    elif saving < 0:
        held.append(f"it would cost {format_usd(-saving)} more than the current plan")
    elif saving < threshold:
        held.append(f"saving {format_usd(saving)} below the {format_usd(threshold)} threshold")
    if seen < persistence_weeks:
        held.append(f"needs {_plural(persistence_weeks, 'week')} in a row, seen {seen}")
    return "hold", held


def _batch_sentences(inp: EndpointWeekInput) -> list[str]:
    """For an offline endpoint whose model offers batch: why batch is allowed (offline share, the runs and the
    provider's limits) or why its jobs rule batch out."""
    if inp.batch_discount is None or inp.latency_class != OFFLINE:
        return []
    jobs = describe_jobs(inp.jobs) if inp.jobs is not None else "no runs"
    blockers = batch_blockers(inp.jobs, inp.batch_limits)
    if blockers:
        return [f"batch not eligible ({jobs}): " + "; ".join(blockers)]
    share = f"{inp.offline_share:.0%} of requests offline" if inp.offline_share is not None else "offline"
    limit = format_tokens(inp.batch_limits.max_tokens_per_job)
    window = f"{inp.batch_limits.completion_window_hours:g} h"
    return [f"batch allowed: {share}; {jobs}, every run within {limit} tokens per job and a {window} window"]


def _ms(value: float) -> str:
    """``1,430 ms``."""
    return f"{value:,.0f} ms"


def _plan_name(plan: _Plan, provider: ProviderProfile = TOGETHER_DEFAULT) -> str:
    """``serverless`` / ``batch`` / ``2 replicas`` / ``autoscale 1–4 replicas``: a plan named in a comparison,
    counted in the provider's unit (``3 PTU increments``)."""
    if plan.mode not in RESERVED_MODES:
        return plan.mode
    if plan.family is not None and plan.family.family != FIXED:
        return plan.family.settings_text(provider if provider.unit != "replica" else None)
    return _plural(plan.replicas, provider.unit)


def _options_sentence(inp: EndpointWeekInput, serverless: float, chosen: _Plan) -> str | None:
    """``options: autoscale 1–4 replicas, scale up after 1 min, down after 10 min $1,210/week vs fixed 3
    replicas $1,540 vs serverless $2,141``: every family's best against serverless (and batch where eligible),
    the chosen plan first."""
    if inp.families is None or not inp.families.plans():
        return None
    options: list[tuple[str, float]] = []
    for family in inp.families.plans():
        if family.family == "autoscale" and family.min_replicas == family.max_replicas:
            continue  # autoscale(R, R) is fixed(R), already listed
        options.append((family.settings_text(inp.provider), family.total_cost_usd))
    options.append(("serverless", serverless))
    if inp.batch_eligible and inp.batch_discount is not None:
        options.append(("batch", batch_cost_usd(serverless, inp.batch_discount)))
    chosen_text = (
        chosen.family.settings_text(inp.provider)
        if chosen.family is not None
        else ("serverless" if chosen.mode == "serverless" else chosen.mode)
    )
    options.sort(key=lambda option: (option[0] != chosen_text, option[1]))
    return "options: " + " vs ".join(f"{text} {format_usd(cost)}/week" for text, cost in options)


@dataclass(frozen=True)
class _SloOutcome:
    """What an endpoint's SLO does to the plan choice: the raw candidate after it, whether the SLO chose it
    (``drives``), the premium over the cheapest plan (USD per week, >= 0) and the sentences saying so."""

    raw: _Plan
    drives: bool
    premium_usd: float
    reasons: list[str]


def _slo_outcome(inp: EndpointWeekInput, cheapest: _Plan) -> _SloOutcome:
    """Meet a breached SLO with the cheapest plan reserving capacity (R >= 1) whose overflow share is within the
    SLO's cap, even when it costs more than ``cheapest``; a met or unchecked SLO leaves the cheapest plan."""
    slo, status = inp.slo, inp.slo_status
    assert slo is not None and status is not None
    target = f"SLO {slo.label} <= {_ms(slo.threshold_ms)}"
    if status.status == SLO_NOT_CHECKED:
        return _SloOutcome(
            cheapest,
            False,
            0.0,
            [f"{target} not checked: no ok serverless request of the week carries {slo.column}"],
        )
    hours = f"{status.hours_with_requests} hours with serverless requests"
    if status.status == SLO_MET:
        return _SloOutcome(
            cheapest,
            False,
            0.0,
            [
                f"{target} met on serverless: {_ms(status.week_ms or 0.0)} for the week, at most "
                f"{_ms(status.worst_hour_ms or 0.0)} in any of {hours}"
            ],
        )
    share = status.breached_request_share or 0.0
    breach = (
        f"{slo.label} {_ms(status.worst_hour_ms or 0.0)} > SLO {_ms(slo.threshold_ms)} in {status.breached_hours} "
        f"of {status.hours_with_requests} hours (worst hour; {_ms(status.week_ms or 0.0)} for the week, "
        f"{share:.0%} of serverless requests in breached hours)"
    )
    choice = _slo_choice(inp, slo.max_overflow_share)
    if inp.curve is None or choice is None:
        why = (
            f"model {inp.model} has no dedicated (GPU) price in the rate card"
            if inp.curve is None
            else "there is no demand to reserve capacity for"
        )
        return _SloOutcome(
            cheapest, False, 0.0, [f"{breach}; {why}, so no plan can reserve capacity to meet it"]
        )
    plan, within_cap = choice
    premium = max(0.0, plan.cost_usd - cheapest.cost_usd)
    overflow = plan.overflow_share or 0.0
    name = _plan_name(plan, inp.provider)
    verb = "costs" if plan.replicas == 1 else "cost"
    money = (
        f"{name} {verb} {format_usd(premium)}/week more than {_plan_name(cheapest, inp.provider)}"
        if premium > 0
        else f"{name} {'is' if plan.replicas == 1 else 'are'} also the cheapest plan"
    )
    sentence = (
        f"{money} and {'serves' if plan.replicas == 1 else 'serve'} {1 - overflow:.0%} of weighted tokens on "
        f"reserved capacity at {_utilization_text(plan.utilization or 0.0, inp.curve.offer.target_utilization)}, "
        f"{format_usd(plan.cost_usd)}/week{_cost_parts(plan)}"
    )
    sentence += f"; {overflow:.0%} still overflow to serverless" if overflow > 0 else ""
    if not within_cap:
        sentence += (
            f"; even full coverage leaves {overflow:.0%} overflowing, above the {slo.max_overflow_share:.0%} cap, "
            f"so full coverage is taken"
        )
    offer = inp.curve.offer
    assumption = (
        f"latency on reserved replicas is an assumption, not measured: the rate card's replica capacity "
        f"{offer.replica_capacity_tps:,.0f} weighted tokens/s is defined at a target latency"
    )
    return _SloOutcome(plan, True, premium, [breach, sentence, assumption])


def _slo_choice(inp: EndpointWeekInput, max_overflow_share: float) -> tuple[_Plan, bool] | None:
    """The cheapest reserving plan whose overflow share is within the cap — over the families held to the cap
    when given, else over the fixed plans — and whether it holds the cap (False: full coverage, nothing holds
    it). None when there is nothing to reserve for."""
    if inp.curve is None:
        return None
    if inp.slo_families is not None and inp.slo_families.plans():
        cheapest = inp.slo_families.cheapest()
        assert cheapest is not None
        return _from_family(cheapest), True
    choice = slo_plan(inp.curve, max_overflow_share)
    if choice is None:
        return None
    return _reserved_plan(inp.curve, choice.replicas, choice.mode), choice.within_cap


def _slo_hold(inp: EndpointWeekInput, current: _Plan, raw: _Plan) -> str | None:
    """Why a move off reserved capacity must wait: the endpoint's SLO could not be checked on serverless this
    week (its requests ran on reserved replicas), so nothing shows serverless would meet it."""
    if (
        inp.slo is not None
        and inp.slo_status is not None
        and inp.slo_status.status == SLO_NOT_CHECKED
        and current.mode in RESERVED_MODES
        and raw.mode not in RESERVED_MODES
    ):
        return f"the SLO ({inp.slo.label}) cannot be checked on serverless from this week's logs"
    return None


def _batch_upper_bound(
    inp: EndpointWeekInput, serverless: float, current: _Plan, reasons: list[str]
) -> float | None:
    """Weekly saving batch would bring an endpoint that may not get batch (not offline); None when not applicable."""
    if inp.batch_discount is None or inp.latency_class == OFFLINE:
        return None
    upper_bound = max(0.0, current.cost_usd - batch_cost_usd(serverless, inp.batch_discount))
    if upper_bound > 0:
        reasons.append(
            f"batch would save up to {format_usd(upper_bound)}/week but the endpoint is {inp.latency_class}"
        )
    return upper_bound


def _current_replicas_assumed(inp: EndpointWeekInput) -> bool:
    """Whether the current plan's cost rests on an assumed replica count: a dedicated endpoint costed on the rate
    card's curve with neither a declared plan nor declared replicas (see the current plan's costing)."""
    return (
        inp.current_mode not in ("serverless", "batch")
        and inp.curve is not None
        and inp.declared_plan is None
        and inp.declared_replicas is None
    )


def _confidence(
    inp: EndpointWeekInput,
    action: str,
    saving: float,
    threshold: float,
    persistence_weeks: int,
    reasons: list[str],
) -> str:
    """'low' with partial coverage, short history or traffic known only in coarse usage buckets (saying why),
    'medium' near the threshold or when the saving rests on an assumed replica count (a dedicated endpoint with no
    deployments entry), else 'high'."""
    confidence = "high"
    if action != "stay" and threshold / 2 <= saving < 2 * threshold:
        confidence = "medium"
    if action != "stay" and _current_replicas_assumed(inp):
        confidence = "medium"
        reasons.append(
            "medium confidence: the current cost assumes a replica count (no deployments entry for this "
            "endpoint); declare its replicas or plan to firm up the saving"
        )
    if inp.coverage_days < FULL_WEEK_DAYS:
        confidence = "low"
        reasons.append(f"low confidence: only {inp.coverage_days} of {FULL_WEEK_DAYS} days have data")
    if inp.source_grain in COARSE_GRAINS:
        confidence = "low"
        reasons.append(
            f"low confidence: the traffic is known only in {inp.source_grain} usage buckets, spread evenly over "
            "their minutes; bursts inside a bucket are not seen, so reserved capacity sized on it may overflow more"
        )
    earlier = len(inp.history_raw_modes)
    if earlier < persistence_weeks - 1:
        confidence = "low"
        reasons.append(
            f"low confidence: {_plural(earlier, 'earlier week')} of history, {persistence_weeks - 1} needed"
        )
    return confidence


def decide(inp: EndpointWeekInput, settings: PolicySettings) -> Decision:
    """The recommendation for one endpoint and week (docs/cost-model.md#the-policy), costs in USD per week.

    'stay' when the raw candidate is the current plan; 'migrate' when it saves at least
    max(min_savings_usd_per_week, min_savings_pct × current cost) and its mode was the raw mode for
    ``persistence_weeks`` weeks in a row; 'tune' when it is a new setting of the reserved family already running and
    saves that much (no persistence needed); 'hold' otherwise. On hold and stay the recommended plan is the current
    one and the saving is 0; the reasons carry the raw candidate and why it is held.
    """
    if not inp.priced or inp.serverless_cost_usd is None:
        return _unpriced(inp, f"model {inp.model} has no price in the rate card; not recommended")
    serverless = inp.serverless_cost_usd
    reasons = _profile_reasons(inp)
    current = _current_plan(inp, serverless, reasons)
    if current is None:
        return _unpriced(
            inp,
            f"model {inp.model} has no dedicated (GPU) price in the rate card; the current plan cannot be costed",
        )
    if inp.curve is None:
        reasons.append(
            f"model {inp.model} has no dedicated (GPU) price in the rate card; dedicated not considered"
        )
    raw = _raw_candidate(inp, serverless)
    slo = _slo_outcome(inp, raw) if inp.slo is not None else None
    if slo is not None and slo.drives:
        reasons.extend(slo.reasons)
        if slo.premium_usd == 0:
            reasons.append(_candidate_sentence(inp, slo.raw, current))
        raw = slo.raw
    else:
        reasons.append(_candidate_sentence(inp, raw, current))
        reasons.extend(slo.reasons if slo is not None else [])
    reasons.extend(_batch_sentences(inp))
    options = _options_sentence(inp, serverless, raw)
    if options is not None:
        reasons.append(options)

    saving = current.cost_usd - raw.cost_usd
    threshold = max(settings.min_savings_usd_per_week, settings.min_savings_pct * current.cost_usd)
    action, held_reasons = _choose_action(
        current,
        raw,
        threshold,
        inp.history_raw_modes,
        settings.persistence_weeks,
        slo_move=slo is not None and slo.drives,
        slo_hold=_slo_hold(inp, current, raw),
    )
    reasons.extend(f"held: {why}" for why in held_reasons)
    batch_upper_bound = _batch_upper_bound(inp, serverless, current, reasons)
    recommended = raw if action in ("migrate", TUNE) else current
    if action == TUNE:
        reasons.append(
            f"tuning within the {raw.family_name} family: {_plan_name(current, inp.provider)} → {_plan_name(raw, inp.provider)} "
            f"(a change of settings, not a migration)"
        )
    if recommended.mode in RESERVED_MODES and inp.offer is not None:
        reasons.append(
            inp.capacity_note
            or f"replica capacity {inp.offer.replica_capacity_tps:,.0f} weighted tokens/s is a rate-card "
            f"assumption until calibrated"
        )
    confidence = _confidence(inp, action, saving, threshold, settings.persistence_weeks, reasons)

    savings = current.cost_usd - recommended.cost_usd
    return Decision(
        week_start=inp.week_start,
        endpoint=inp.endpoint,
        model=inp.model,
        current_mode=inp.current_mode,
        raw_mode=raw.mode,
        recommended_mode=recommended.mode,
        action=action,
        replicas=recommended.replicas,
        gpu_type=inp.offer.gpu_type if recommended.mode in RESERVED_MODES and inp.offer is not None else None,
        gpus_per_replica=(
            inp.offer.gpus_per_replica
            if recommended.mode in RESERVED_MODES and inp.offer is not None
            else None
        ),
        current_cost_usd=current.cost_usd,
        recommended_cost_usd=recommended.cost_usd,
        savings_usd=savings,
        savings_pct=savings / current.cost_usd if current.cost_usd > 0 else 0.0,
        utilization=recommended.utilization if recommended.mode in RESERVED_MODES else None,
        overflow_share=recommended.overflow_share if recommended.mode in RESERVED_MODES else None,
        batch_upper_bound_savings_usd=batch_upper_bound,
        confidence=confidence,
        reasons=reasons,
        raw_replicas=raw.replicas,
        raw_cost_usd=raw.cost_usd,
        raw_savings_usd=saving,
        held_reasons=held_reasons,
        batch_eligible=inp.batch_eligible,
        slo_status=inp.slo_status.status if inp.slo is not None and inp.slo_status is not None else None,
        slo_premium_usd=slo.premium_usd if slo is not None else None,
        **_family_columns(recommended),
        raw_family=raw.family_name,
        raw_plan=_plan_name(raw, inp.provider),
        replica_capacity_tps=inp.offer.replica_capacity_tps if inp.offer is not None else None,
    )


def _family_columns(plan: _Plan) -> dict[str, object]:
    """The recommended plan's family and settings as recommendation columns (None unless it reserves)."""
    family = plan.family if plan.mode in RESERVED_MODES else None
    if plan.mode in RESERVED_MODES and family is None:
        return {"plan_family": FIXED, "min_replicas": plan.replicas, "max_replicas": plan.replicas}
    if family is None:
        return {}
    window = family.window
    return {
        "plan_family": family.family,
        "min_replicas": family.min_replicas,
        "max_replicas": family.max_replicas,
        "schedule_window": window.label if window is not None else None,
        "schedule_cells": [c for c, inside in enumerate(window.cells) if inside]
        if window is not None
        else None,
        "replica_hours": family.replica_hours,
        "cold_start_overflow_usd": family.cold_start_overflow_usd,
    }
