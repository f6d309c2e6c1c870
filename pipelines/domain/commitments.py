"""Commitments: how many replicas to commit to for a term, simulated on the lookback weeks the way cloud
commitment tools do (see docs/cost-model.md#commitments).

A commitment of L replicas for a term costs L·(1 − discount)·g·P for **every hour of the term**, used or not (168
hours a week, whether or not the week's logs cover them); the billed capacity above L in an hour is paid on demand
at g·P. Each week w contributes its hourly billed replicas b_h (the raw candidate's, ``hourly_billed_replicas``), so

    on_demand_w    = g·P · Σ_h b_h
    committed_w(L) = L·(1 − d)·g·P·168 + g·P · Σ_h max(0, b_h − L)
    saving_w(L)    = on_demand_w − committed_w(L) = g·P · (Σ_h min(b_h, L) − L·(1 − d)·168)

A week without data contributes no billed capacity (the commitment is owed anyway). The recommended level is the
one with the largest mean weekly saving over the lookback weeks (ties: the lower level), taken only when every
lookback week has data and the saving meets the policy's weekly threshold. Money in USD, durations in hours,
capacity in replicas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from pipelines.core.text import format_usd

HOURS_PER_WEEK = 168
_TIE = 1e-9  # relative tolerance under which two savings count as equal


@dataclass(frozen=True)
class CommitmentTerm:
    """One commitment a provider sells: ``term`` (name, e.g. ``1-month``), its length in weeks, the ``discount``
    off the on-demand replica price (fraction), the smallest quantity it may cover (replicas or units; 0 = no
    minimum), what cancelling costs (``cancellation``, in words), and where the figures come from."""

    provider: str
    term: str
    term_weeks: float
    discount: float
    minimum_quantity: float = 0.0
    cancellation: str = "none: owed for the whole term"
    source: str = ""
    as_of: date | None = None

    def __post_init__(self) -> None:
        if not self.term_weeks > 0:
            raise ValueError(f"term_weeks must be > 0, got {self.term_weeks}")
        if not 0 <= self.discount < 1:
            raise ValueError(f"discount must be a fraction in [0, 1), got {self.discount}")
        if self.minimum_quantity < 0:
            raise ValueError(f"minimum_quantity must be >= 0, got {self.minimum_quantity}")

    @property
    def break_even_utilization(self) -> float:
        """The share of committed replica-hours that must be used for the commitment to pay: 1 − discount."""
        return 1.0 - self.discount


@dataclass(frozen=True)
class LevelWeeks:
    """One commitment level simulated on the lookback weeks: per week the on-demand cost, the committed cost and
    the committed replica-hours used (USD and replica-hours, one value per lookback week, newest last)."""

    level: int
    on_demand_usd: np.ndarray
    committed_usd: np.ndarray
    used_committed_hours: np.ndarray

    @property
    def savings_usd(self) -> np.ndarray:
        """Saving of each week, on-demand − committed (USD; negative in a week the level loses money)."""
        return self.on_demand_usd - self.committed_usd


@dataclass(frozen=True)
class CommitmentOutcome:
    """The commitment modeshift proposes for one endpoint and term (docs/cost-model.md#the-commitments-table).

    ``committed_replicas``: the level recommended (0 when none is). ``on_demand_cost_usd``, ``committed_cost_usd``
    and ``expected_saving_usd``: means per lookback week at that level. ``committed_utilization``: used / committed
    replica-hours over the lookback (None at level 0). ``weeks_lost``: lookback weeks in which the level would
    have cost more than on demand. ``best_level`` / ``best_saving_usd``: the best level and its mean weekly saving
    before the data and threshold rules (what a held commitment would have been).
    """

    term: CommitmentTerm
    committed_replicas: int
    on_demand_cost_usd: float
    committed_cost_usd: float
    expected_saving_usd: float
    break_even_utilization: float
    committed_utilization: float | None
    lookback_weeks: int
    weeks_with_data: int
    weeks_lost: int
    recommended: bool
    best_level: int
    best_saving_usd: float
    reasons: list[str] = field(default_factory=list)


def _as_weeks(weeks: Sequence[np.ndarray | Sequence[float] | None]) -> list[np.ndarray | None]:
    return [None if week is None else np.asarray(week, dtype=np.float64) for week in weeks]


def simulate_level(
    weeks: Sequence[np.ndarray | Sequence[float] | None],
    level: int,
    replica_usd_per_hour: float,
    discount: float,
) -> LevelWeeks:
    """Commit to ``level`` replicas on each lookback week: the week's on-demand cost of its hourly billed replicas
    (g·P·Σ b_h, USD), the committed cost (L·(1 − d)·g·P·168 plus on demand above L, USD) and the committed
    replica-hours used (Σ min(b_h, L)). A missing week (None) has no billed capacity."""
    on_demand, committed, used = [], [], []
    for week in _as_weeks(weeks):
        billed = np.zeros(0) if week is None else week
        on_demand.append(replica_usd_per_hour * float(billed.sum()))
        above = float(np.maximum(billed - level, 0.0).sum())
        committed.append(
            level * (1.0 - discount) * replica_usd_per_hour * HOURS_PER_WEEK + replica_usd_per_hour * above
        )
        used.append(float(np.minimum(billed, level).sum()))
    return LevelWeeks(level, np.asarray(on_demand), np.asarray(committed), np.asarray(used))


def max_observed_level(weeks: Sequence[np.ndarray | Sequence[float] | None]) -> int:
    """The most replicas billed in any hour of the lookback, rounded up to a whole replica (0 without any)."""
    peaks = [float(week.max()) for week in _as_weeks(weeks) if week is not None and week.size]
    return int(math.ceil(max(peaks) - 1e-9)) if peaks else 0


def level_savings(
    weeks: Sequence[np.ndarray | Sequence[float] | None],
    replica_usd_per_hour: float,
    discount: float,
    max_level: int,
) -> np.ndarray:
    """Total saving over the lookback weeks (USD) of every level L = 0..``max_level``."""
    return np.asarray(
        [float(simulate_level(weeks, level, replica_usd_per_hour, discount).savings_usd.sum())
         for level in range(max_level + 1)]
    )  # fmt: skip


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def recommend_commitment(
    weeks: Sequence[np.ndarray | Sequence[float] | None],
    replica_usd_per_hour: float,
    term: CommitmentTerm,
    lookback_weeks: int,
    min_savings_usd_per_week: float,
) -> CommitmentOutcome:
    """The committed level for one endpoint and ``term`` from its lookback weeks' hourly billed replicas (newest
    last; None for a week without traffic): every level 0..max observed (respecting the term's minimum quantity)
    is simulated, the one with the largest mean weekly saving is taken (ties: the lower level), and recommended
    only when at least ``lookback_weeks`` weeks have data and its saving is at least ``min_savings_usd_per_week``
    (USD). Money in USD per week (means over the lookback weeks simulated)."""
    weeks_ = _as_weeks(weeks)
    simulated = max(1, len(weeks_))
    with_data = sum(week is not None for week in weeks_)
    top = max_observed_level(weeks_)
    minimum = int(math.ceil(term.minimum_quantity - 1e-9))
    levels = [0, *(level for level in range(1, top + 1) if level >= minimum)]
    results = [simulate_level(weeks_, level, replica_usd_per_hour, term.discount) for level in levels]
    means = [float(result.savings_usd.sum()) / simulated for result in results]
    best_mean = max(means)
    best_index = next(i for i, m in enumerate(means) if m >= best_mean - _TIE * max(1.0, abs(best_mean)))
    best = results[best_index]
    reasons: list[str] = []
    held = False
    if with_data < lookback_weeks:
        reasons.append(
            f"only {with_data} of the {lookback_weeks} lookback weeks have traffic: no commitment recommended"
        )
        held = True
    if best.level == 0:
        if top == 0:
            reasons.append("no reserved capacity was billed in the lookback weeks: nothing to commit to")
        elif minimum > top:
            reasons.append(
                f"the {term.term} term needs at least {minimum} units, more than the {top} ever billed in an hour"
            )
        else:
            reasons.append(
                f"no level pays: even 1 committed replica is used less than the {term.break_even_utilization:.0%} "
                f"break-even over the lookback"
            )
        held = True
    elif means[best_index] < min_savings_usd_per_week:
        reasons.append(
            f"{_plural(best.level, 'committed replica')} would save {format_usd(means[best_index])}/week, below the "
            f"{format_usd(min_savings_usd_per_week)} threshold"
        )
        held = True
    chosen = results[0] if held else best
    utilization = (
        float(chosen.used_committed_hours.sum()) / (chosen.level * HOURS_PER_WEEK * simulated)
        if chosen.level
        else None
    )
    lost = int((chosen.savings_usd < -0.005).sum())
    if not held:
        reasons.append(
            f"commit {_plural(chosen.level, 'replica')} for {term.term} at {term.discount:.0%} off: saves "
            f"{format_usd(means[best_index])}/week on average over {_plural(simulated, 'lookback week')} "
            f"({format_usd(float(chosen.on_demand_usd.mean()))} on demand vs "
            f"{format_usd(float(chosen.committed_usd.mean()))} committed)"
        )
        reasons.append(
            f"the committed replicas would be used {utilization or 0.0:.0%} of their hours; the commitment pays above "
            f"{term.break_even_utilization:.0%}"
        )
        reasons.append(
            f"would have lost money in {lost} of {_plural(simulated, 'lookback week')}"
            if lost
            else f"would have saved money in every one of the {_plural(simulated, 'lookback week')}"
        )
        owed = chosen.level * (1 - term.discount) * replica_usd_per_hour * HOURS_PER_WEEK * term.term_weeks
        reasons.append(
            f"owed for {term.term_weeks:.3g} weeks: {format_usd(owed)} committed over the term; "
            f"cancellation: {term.cancellation}"
        )
    return CommitmentOutcome(
        term=term,
        committed_replicas=chosen.level,
        on_demand_cost_usd=float(chosen.on_demand_usd.mean()) if weeks_ else 0.0,
        committed_cost_usd=float(chosen.committed_usd.mean()) if weeks_ else 0.0,
        expected_saving_usd=float(chosen.savings_usd.sum()) / simulated,
        break_even_utilization=term.break_even_utilization,
        committed_utilization=utilization,
        lookback_weeks=len(weeks_),
        weeks_with_data=with_data,
        weeks_lost=lost,
        recommended=not held,
        best_level=best.level,
        best_saving_usd=means[best_index],
        reasons=reasons,
    )
