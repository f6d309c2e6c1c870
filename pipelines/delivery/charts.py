"""Weekly pictures: per featured endpoint, the week's per-minute weighted demand against the recommended reserved
capacity (overflow above it shaded), the plan cost curve total(R) with R* marked, and the plan options compared
(one bar per family's best setting, split reserved / overflow, the cheapest and the recommended one marked).

A fixed plan's capacity is a constant line (R × K × u). An autoscale plan's is the autoscaler's *ready* capacity,
minute by minute (ready replicas × K × u: a step line), with its cold-start overflow minutes marked (a replica is
starting, so billed but not serving, and demand exceeds the ready capacity); a scheduled plan's capacity is drawn
inside its window only (outside it, everything is plain serverless traffic, not overflow).

Pure data first (``DemandChart``, ``PlanCapacity``, ``CurveChart``, ``OptionsChart``: what is drawn, testable
without looking at pixels), then rendering
with matplotlib's object API on the Agg canvas (no pyplot global state, no display, same bytes for the same data),
then loading from the weekly Parquet tables and the rollups and writing PNG files atomically under
``$MODESHIFT_HOME/reports/<week>/``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pipelines.core.atomic import read_json, replace_file, temp_sibling, write_json
from pipelines.core.calendar import MINUTES_PER_DAY
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.core.text import display_name, format_usd
from pipelines.core.vocabulary import BATCH, RESERVED_MODES, SERVERLESS
from pipelines.domain.cost_model import DedicatedOffer
from pipelines.domain.plan_families import (
    AUTOSCALE,
    FIXED,
    SCHEDULED,
    ScheduleWindow,
    scheduled_replicas,
    simulate_autoscale,
)
from pipelines.domain.provider import ProviderProfile
from pipelines.lake.price_factors import priced_week_series
from pipelines.lake.providers import provider_profile
from pipelines.lake.rate_card import model_terms, priced_rate_card
from pipelines.lake.series import week_cells
from pipelines.lake.weekly_inputs import load_week_rollups
from pipelines.lake.weekly_store import read_week_table, recorded_week_fingerprint

DPI = 100
CHART_STYLE = {
    "text.parse_math": False,  # endpoint names and dollar amounts are text, never mathtext
    "font.family": "DejaVu Sans",  # shipped with matplotlib: the same glyphs everywhere
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "modeshift",
}
_DEMAND_COLOR = "#1f5f99"
_CAPACITY_COLOR = "#c0392b"
_OVERFLOW_COLOR = "#f39c12"
_CHEAPEST_COLOR = "#7f8c8d"
_RESERVED_COLOR = "#5b8db8"
_COLD_START_COLOR = "#8e1b10"
_BATCH_COLOR = "#6a9f58"
# The options chart's bars, in this order (those present).
OPTION_FAMILIES = (SERVERLESS, FIXED, AUTOSCALE, SCHEDULED, BATCH)


# ----------------------------------------------------------------------------------------------- what is drawn


@dataclass(frozen=True, eq=False)
class PlanCapacity:
    """The per-minute capacity of a plan whose replicas change during the week (autoscale or scheduled).

    ``running_replicas``: replicas billed in each covered minute (starting or ready); ``ready_replicas``: those
    serving (int64, ready <= running); ``in_plan``: the minutes in which the plan holds replicas at all (every
    minute for autoscale, the window's minutes for scheduled); ``planned_replica_tps``: K × u, weighted tokens/s
    one ready replica is planned to serve; ``label``: the settings in words ("autoscale 1–4 replicas").
    """

    family: str
    label: str
    running_replicas: np.ndarray
    ready_replicas: np.ndarray
    in_plan: np.ndarray
    planned_replica_tps: float

    def __post_init__(self) -> None:
        shapes = {self.running_replicas.shape, self.ready_replicas.shape, self.in_plan.shape}
        if len(shapes) != 1 or self.running_replicas.ndim != 1:
            raise ValueError(
                f"running, ready and in_plan must be 1-D arrays of one length, got {sorted(shapes)}"
            )
        if np.any(self.ready_replicas < 0) or np.any(self.ready_replicas > self.running_replicas):
            raise ValueError("ready replicas must be >= 0 and <= the running replicas in every minute")
        if not self.planned_replica_tps > 0:
            raise ValueError(f"planned_replica_tps must be > 0, got {self.planned_replica_tps}")

    @classmethod
    def autoscale(
        cls, running: np.ndarray, ready: np.ndarray, planned_replica_tps: float, label: str
    ) -> PlanCapacity:
        """An autoscaler's trace (replicas per covered minute, e.g. ``simulate_autoscale``'s running and ready)."""
        running = np.asarray(running, dtype=np.int64)
        return cls(AUTOSCALE, label, running, np.asarray(ready, dtype=np.int64), np.ones(running.size, dtype=bool),
                   float(planned_replica_tps))  # fmt: skip

    @classmethod
    def scheduled(
        cls, in_window: np.ndarray, replicas: int, planned_replica_tps: float, label: str
    ) -> PlanCapacity:
        """``replicas`` replicas in the window's minutes (``in_window``, one bool per covered minute), none outside."""
        mask = np.asarray(in_window, dtype=bool)
        per_minute = scheduled_replicas(mask, replicas)
        return cls(SCHEDULED, label, per_minute, per_minute.copy(), mask, float(planned_replica_tps))

    @property
    def capacity_tps(self) -> np.ndarray:
        """Ready capacity per covered minute, ready replicas × K × u (weighted tokens/s); NaN outside the plan's
        minutes (a scheduled plan outside its window: nothing is drawn there)."""
        capacity = self.ready_replicas * self.planned_replica_tps
        return np.where(self.in_plan, capacity, np.nan)

    def overflow_tps(self, demand_tps: np.ndarray) -> np.ndarray:
        """Per-minute demand above the ready capacity inside the plan's minutes (weighted tokens/s); 0 outside them."""
        above = np.maximum(demand_tps - self.ready_replicas * self.planned_replica_tps, 0.0)
        return np.where(self.in_plan, above, 0.0)

    def cold_start_overflow(self, demand_tps: np.ndarray) -> np.ndarray:
        """The cold-start overflow minutes (bool per covered minute): a replica is starting (running > ready) and
        the demand exceeds the ready capacity, so serverless serves what the starting replica will."""
        starting = self.running_replicas > self.ready_replicas
        return self.in_plan & starting & (demand_tps > self.ready_replicas * self.planned_replica_tps)


@dataclass(frozen=True, eq=False)
class DemandChart:
    """One endpoint's week, minute by minute: weighted demand (weighted tokens/s) against reserved capacity.

    ``reserved_tps`` = replicas × K × u of the recommended plan when it is a fixed plan (0 when it reserves
    nothing); ``plan`` = the recommended plan's per-minute capacity when it is an autoscale or scheduled plan
    (then ``replicas`` is its most replicas and ``reserved_tps`` is not drawn). ``cheapest_tps`` = R* × K × u of
    the cheapest fixed plan when it is the held candidate, or ``candidate`` = the held candidate's per-minute
    capacity when that is an autoscale or scheduled plan; else None.
    """

    endpoint: str
    week_start: date
    covered_days: tuple[date, ...]
    demand_tps: np.ndarray
    recommended_mode: str
    replicas: int
    reserved_tps: float
    cheapest_replicas: int | None = None
    cheapest_tps: float | None = None
    plan: PlanCapacity | None = None
    candidate: PlanCapacity | None = None

    def __post_init__(self) -> None:
        for capacity in (self.plan, self.candidate):
            if capacity is not None and capacity.running_replicas.shape != self.demand_tps.shape:
                raise ValueError(
                    f"{capacity.family} capacity has {capacity.running_replicas.size} minutes, the demand "
                    f"{self.demand_tps.size}"
                )

    @property
    def overflow_tps(self) -> np.ndarray:
        """Per-minute demand above the recommended plan's (ready) capacity (weighted tokens/s), served by
        serverless; zeros when nothing is reserved (then all of it is simply serverless traffic, not overflow),
        and outside a scheduled plan's window."""
        if self.plan is not None:
            return self.plan.overflow_tps(self.demand_tps)
        if self.reserved_tps <= 0:
            return np.zeros_like(self.demand_tps)
        return np.maximum(self.demand_tps - self.reserved_tps, 0.0)

    @property
    def autoscaler(self) -> PlanCapacity | None:
        """The autoscale plan drawn on the chart: the recommended plan if it autoscales, else the held candidate
        if it does, else None."""
        for capacity in (self.plan, self.candidate):
            if capacity is not None and capacity.family == AUTOSCALE:
                return capacity
        return None

    @property
    def cold_start_minutes(self) -> np.ndarray:
        """The drawn autoscaler's cold-start overflow minutes (bool per covered minute; all False without one)."""
        autoscaler = self.autoscaler
        if autoscaler is None:
            return np.zeros(self.demand_tps.shape, dtype=bool)
        return autoscaler.cold_start_overflow(self.demand_tps)

    @property
    def overflow_share(self) -> float:
        """Overflow weighted tokens / all weighted tokens of the week (fraction; 0 without demand).
        Minute m overflows (1 − φ_m)·D_m = max(0, D_m − Cap), so this is the plan's overflow_share
        (see docs/cost-model.md#utilization-and-overflow-share)."""
        total = float(self.demand_tps.sum())
        return float(self.overflow_tps.sum()) / total if total > 0 else 0.0


@dataclass(frozen=True)
class PlanVerdict:
    """What the week's recommendations row says about one endpoint, in USD per week: the current plan and its cost
    (``current_cost_usd``), the recommended plan and its cost, and ``savings_usd``, the row's saving (current minus
    recommended, whatever the recommended plan is: serverless, reserved replicas or batch). A cheaper candidate the
    policy held back is named with what it would save (``held_savings_usd``, the row's ``raw_savings_usd``);
    ``batch_cost_usd`` is the week's batch price when batch was an option (else None)."""

    action: str
    current_mode: str
    current_cost_usd: float
    recommended_plan: str
    recommended_cost_usd: float
    savings_usd: float
    held_plan: str | None = None
    held_savings_usd: float | None = None
    batch_cost_usd: float | None = None

    def lines(self) -> list[str]:
        """The verdict in the words the cost-curve picture prints (money rounded as ``format_usd``)."""
        lines = [
            f"now: {self.current_mode}, {format_usd(self.current_cost_usd)}/wk",
            f"recommended: {self.recommended_plan}, {format_usd(self.recommended_cost_usd)}/wk",
            f"saves {format_usd(self.savings_usd)}/wk vs the current plan",
        ]
        if self.held_plan is not None and self.held_savings_usd is not None:
            lines.append(f"held: {self.held_plan} would save {format_usd(self.held_savings_usd)}/wk")
        return lines


def plan_words(mode: str | None, row: dict[str, Any], prefix: str = "") -> str:
    """A plan of a recommendations row in a few words: ``batch``, ``serverless``, ``dedicated, 2 replicas``,
    ``hybrid, autoscale 1–4``, ``dedicated, scheduled 2 Mon–Fri 08:00–20:00 UTC``. ``prefix`` picks the columns:
    '' for the recommended plan, 'raw_' for the raw candidate (its ``raw_replicas``; its family setting is not in
    the row beyond ``raw_family``)."""
    if mode not in RESERVED_MODES:
        return str(mode)
    family = row.get(f"{prefix}family") if prefix else row.get("plan_family")
    replicas = row.get(f"{prefix}replicas")
    if family == AUTOSCALE and not prefix and row.get("max_replicas"):
        return f"{mode}, autoscale {row['min_replicas']}–{row['max_replicas']}"
    count = f"{replicas} replica{'' if replicas == 1 else 's'}" if replicas is not None else "replicas"
    if family == SCHEDULED:
        window = row.get("schedule_window") if not prefix else None
        return f"{mode}, scheduled {count}" + (f" {window}" if window else "")
    return f"{mode}, {count}"


def plan_verdict(row: dict[str, Any], option_rows: pl.DataFrame | None = None) -> PlanVerdict | None:
    """The verdict of a recommendations row (None for an unpriced one); ``option_rows`` (the week's
    ``plan_options``) give the batch price when batch was an option."""
    if row.get("current_cost_usd") is None or row.get("recommended_cost_usd") is None:
        return None
    batch = None
    if option_rows is not None:
        rows = option_rows.filter((pl.col("endpoint") == row["endpoint"]) & (pl.col("family") == BATCH))
        batch = float(rows["total_cost_usd"][0]) if rows.height else None
    if batch is None and row.get("recommended_mode") == BATCH:
        batch = float(row["recommended_cost_usd"])
    held = row.get("action") == "hold" and row.get("raw_mode") not in (None, row.get("current_mode"))
    return PlanVerdict(
        action=str(row.get("action")),
        current_mode=str(row["current_mode"]),
        current_cost_usd=float(row["current_cost_usd"]),
        recommended_plan=plan_words(row["recommended_mode"], row),
        recommended_cost_usd=float(row["recommended_cost_usd"]),
        savings_usd=float(row["savings_usd"] or 0.0),
        held_plan=plan_words(row["raw_mode"], row, "raw_") if held else None,
        held_savings_usd=float(row["raw_savings_usd"])
        if held and row.get("raw_savings_usd") is not None
        else None,
        batch_cost_usd=batch,
    )


@dataclass(frozen=True, eq=False)
class CurveChart:
    """One endpoint's plan cost curve: weekly cost in USD of R = 0..R_full reserved replicas plus overflow, and
    (``verdict``) what the recommendation says against the current plan, batch included."""

    endpoint: str
    week_start: date
    replicas: np.ndarray
    reserved_cost_usd: np.ndarray
    overflow_cost_usd: np.ndarray
    total_cost_usd: np.ndarray
    r_star: int
    verdict: PlanVerdict | None = None

    @property
    def savings_vs_serverless_usd(self) -> np.ndarray:
        """Weekly saving of each R against pure serverless: total(0) − total(R), USD (not the recommendation's
        saving, which counts from the current plan: ``verdict.savings_usd``)."""
        return self.total_cost_usd[0] - self.total_cost_usd

    def annotations(self) -> list[str]:
        """The texts the picture prints beside the curve: R* with its cost, then the verdict's lines (or, without a
        verdict, R*'s saving against serverless, said so)."""
        best = int(np.flatnonzero(self.replicas == self.r_star)[0])
        star = f"R* = {self.r_star}: {format_usd(float(self.total_cost_usd[best]))}/wk"
        if self.verdict is None:
            saving = format_usd(float(self.savings_vs_serverless_usd[best]))
            return [f"{star}\nsaves {saving}/wk vs serverless"]
        return [star, "\n".join(self.verdict.lines())]


@dataclass(frozen=True, eq=False)
class OptionsChart:
    """One endpoint's plan options compared: one bar per option (the best setting of each family present, in the
    order of ``OPTION_FAMILIES``), weekly cost in USD split reserved / overflow.

    ``overflow_cost_usd`` is what goes to serverless (all of it for the serverless option; for a scheduled plan
    also the traffic outside its window); the rest of a total (``other_cost_usd``: the batch price) is neither.
    ``cheapest`` and ``recommended`` are indexes into the bars (``recommended`` None when the recommended plan is
    not among them).
    """

    endpoint: str
    week_start: date
    families: tuple[str, ...]
    labels: tuple[str, ...]
    reserved_cost_usd: np.ndarray
    overflow_cost_usd: np.ndarray
    total_cost_usd: np.ndarray
    cheapest: int
    recommended: int | None

    @property
    def other_cost_usd(self) -> np.ndarray:
        """Per bar, the cost that is neither reserved nor serverless overflow (USD per week, >= 0: the batch price)."""
        return np.maximum(self.total_cost_usd - self.reserved_cost_usd - self.overflow_cost_usd, 0.0)


@dataclass(frozen=True, eq=False)
class EndpointCharts:
    """The pictures of one featured endpoint (``curve`` is None when the model has no dedicated offer,
    ``options`` when the week has no ``plan_options`` rows for it)."""

    demand: DemandChart
    curve: CurveChart | None
    options: OptionsChart | None = None


def option_label(row: dict[str, Any]) -> str:
    """A ``plan_options`` row's settings in a few words: ``serverless``, ``batch``, ``fixed 3``, ``autoscale 1–4``,
    ``scheduled 2`` with its window on a second line."""
    family = row["family"]
    if family == FIXED:
        return f"fixed {row['replicas']}"
    if family == AUTOSCALE:
        return f"autoscale {row['min_replicas']}–{row['max_replicas']}"
    if family == SCHEDULED:
        window = row.get("window")
        return f"scheduled {row['replicas']}" + (f"\n{window}" if window else "")
    return str(family)


def recommended_family(recommendation: dict[str, Any]) -> str | None:
    """The plan family of a recommendations row: its ``plan_family`` when it has one, else from its mode (a
    reserving mode is a fixed plan: the recommendations of a weekly step that costs fixed plans only)."""
    family = recommendation.get("plan_family")
    if family is not None:
        return str(family)
    mode = recommendation.get("recommended_mode")
    if mode in RESERVED_MODES:
        return FIXED
    return mode if mode in (SERVERLESS, BATCH) else None


def options_chart(
    endpoint: str, week_start: date, option_rows: pl.DataFrame, recommended: str | None
) -> OptionsChart | None:
    """The options of ``endpoint`` from its ``plan_options`` rows (None when it has none), bars in the order of
    ``OPTION_FAMILIES``; ``recommended`` is the recommended plan's family. The cheapest bar is the row flagged
    ``is_cheapest`` (else the lowest total, the first on ties)."""
    rows = [row for row in option_rows.filter(pl.col("endpoint") == endpoint).iter_rows(named=True)
            if row["family"] in OPTION_FAMILIES]  # fmt: skip
    if not rows:
        return None
    rows.sort(key=lambda row: OPTION_FAMILIES.index(row["family"]))
    families = tuple(row["family"] for row in rows)
    totals = np.array([float(row["total_cost_usd"]) for row in rows])
    flagged = [index for index, row in enumerate(rows) if row.get("is_cheapest")]
    cheapest = flagged[0] if flagged else int(np.argmin(totals))
    return OptionsChart(
        endpoint=endpoint,
        week_start=week_start,
        families=families,
        labels=tuple(option_label(row) for row in rows),
        reserved_cost_usd=np.array([float(row["reserved_cost_usd"] or 0.0) for row in rows]),
        overflow_cost_usd=np.array([float(row["overflow_cost_usd"] or 0.0) for row in rows]),
        total_cost_usd=totals,
        cheapest=cheapest,
        recommended=families.index(recommended) if recommended in families else None,
    )


_WINDOW_LABEL = re.compile(r"^(Mon[–-]Fri|daily) (\d\d):00[–-](\d\d):00 (\S+)$")


def zone_of_label(label: str) -> str:
    """The time zone a window label ends with (``Mon–Fri 08:00–20:00 Europe/Berlin`` → Europe/Berlin); UTC when
    the label names none (e.g. "37 busiest hours of the week", whose cells are in the schedule time zone)."""
    last = label.replace(" (hours with traffic)", "").split(" ")[-1]
    return last if "/" in last or last == "UTC" else "UTC"


def window_from_label(label: str) -> tuple[ScheduleWindow, str] | None:
    """The weekday × hour window and time zone of a band label as the plan families name it
    (``Mon–Fri 08:00–20:00 UTC``, ``daily 08:00–20:00 Europe/Berlin``); None for any other label (e.g. "37
    busiest hours of the week": its cells are not in the label)."""
    match = _WINDOW_LABEL.match(label)
    if match is None:
        return None
    days, first, end, zone = match.group(1), int(match.group(2)), int(match.group(3)), match.group(4)
    if not 0 <= first < end <= 24:
        return None
    band = np.zeros(24, dtype=bool)
    band[first:end] = True
    week = np.tile(band, 7)
    if days != "daily":
        week[5 * 24 :] = False
    return ScheduleWindow(tuple(bool(cell) for cell in week), label), zone


def reserved_capacity_tps(replicas: int, replica_capacity_tps: float, target_utilization: float) -> float:
    """Planned capacity of ``replicas`` replicas in weighted tokens/s: R × K × u
    (see docs/cost-model.md#replica-capacity-and-target-utilization)."""
    return float(replicas) * replica_capacity_tps * target_utilization


def curve_chart(endpoint: str, week_start: date, curve_rows: pl.DataFrame) -> CurveChart | None:
    """The cost curve of ``endpoint`` from its ``plan_curve`` rows (None when it has none)."""
    rows = curve_rows.filter(pl.col("endpoint") == endpoint).sort("replicas")
    if rows.height == 0:
        return None
    cheapest = rows.filter(pl.col("is_cheapest"))
    totals = rows["total_cost_usd"].to_numpy()
    r_star = int(cheapest["replicas"][0]) if cheapest.height else int(np.argmin(totals))
    return CurveChart(
        endpoint=endpoint,
        week_start=week_start,
        replicas=rows["replicas"].to_numpy(),
        reserved_cost_usd=rows["reserved_cost_usd"].to_numpy(),
        overflow_cost_usd=rows["overflow_cost_usd"].to_numpy(),
        total_cost_usd=totals,
        r_star=r_star,
    )


# ------------------------------------------------------------------------------------------------- rendering


def hourly_mean(demand_tps: np.ndarray) -> np.ndarray:
    """Mean weighted demand of each hour (weighted tokens/s) from a per-minute series whose length is a whole
    number of hours."""
    return demand_tps.reshape(-1, 60).mean(axis=1) if demand_tps.size else demand_tps


def draw_demand(ax: Axes, chart: DemandChart) -> None:
    """Draw ``chart`` on ``ax``: per-minute demand (light) with its hourly mean (dark), the reserved capacity line,
    the overflow above it shaded, one tick per covered day."""
    demand = chart.demand_tps
    days = np.arange(demand.size) / MINUTES_PER_DAY
    ax.fill_between(days, 0, demand, step="post", color=_DEMAND_COLOR, alpha=0.25, linewidth=0,
                    label="weighted demand, per minute")  # fmt: skip
    hours = hourly_mean(demand)
    ax.plot(
        (np.arange(hours.size) + 0.5) / 24, hours, color=_DEMAND_COLOR, linewidth=1.0, label="hourly mean"
    )
    top = float(demand.max()) if demand.size else 0.0
    if chart.plan is not None:
        top = max(top, _draw_plan_capacity(ax, days, chart, chart.plan, held=False))
    elif chart.reserved_tps > 0:
        ax.fill_between(days, chart.reserved_tps, demand, where=demand > chart.reserved_tps, step="post",
                        color=_OVERFLOW_COLOR, alpha=0.85, linewidth=0,
                        label=f"overflow to serverless ({chart.overflow_share:.1%} of tokens)")  # fmt: skip
        ax.axhline(chart.reserved_tps, color=_CAPACITY_COLOR, linewidth=1.4,
                   label=f"reserved: {chart.replicas} × K × u = {chart.reserved_tps:,.0f}/s")  # fmt: skip
        top = max(top, chart.reserved_tps)
    if chart.cheapest_tps:
        ax.axhline(chart.cheapest_tps, color=_CHEAPEST_COLOR, linestyle="--", linewidth=1.0,
                   label=f"cheapest plan (held): R* = {chart.cheapest_replicas}, {chart.cheapest_tps:,.0f}/s")  # fmt: skip
        top = max(top, chart.cheapest_tps)
    if chart.candidate is not None:
        top = max(top, _draw_plan_capacity(ax, days, chart, chart.candidate, held=True))
    cold = chart.cold_start_minutes
    autoscaler = chart.autoscaler
    if autoscaler is not None and cold.any():
        ready = autoscaler.ready_replicas * autoscaler.planned_replica_tps
        ax.fill_between(days, ready, demand, where=cold, step="post", color=_COLD_START_COLOR, linewidth=0,
                        alpha=0.9)  # fmt: skip
        # one tick under the axis per cold-start minute: a minute is a fraction of a pixel at this width
        ax.plot(days[cold], np.zeros(int(cold.sum())), linestyle="none", marker="|", markersize=7,
                color=_COLD_START_COLOR, clip_on=False,
                label=f"cold-start overflow: {int(cold.sum())} min (replica starting)")  # fmt: skip
    ax.set_xlim(0, max(len(chart.covered_days), 1))
    ax.set_ylim(0, top * 1.25 if top > 0 else 1.0)
    ax.set_xticks(np.arange(len(chart.covered_days)) + 0.5)
    ax.set_xticklabels([day.strftime("%a %m-%d") for day in chart.covered_days])
    ax.tick_params(axis="x", length=0)
    for boundary in range(1, len(chart.covered_days)):
        ax.axvline(boundary, color="#dddddd", linewidth=0.6, zorder=0)
    ax.set_ylabel("weighted tokens/s")
    if chart.plan is not None:
        plan = f"{chart.recommended_mode}, {chart.plan.label}"
    elif chart.recommended_mode in RESERVED_MODES:
        plan = f"{chart.recommended_mode}, {chart.replicas} replica(s)"
    else:
        plan = f"{chart.recommended_mode} (nothing reserved)"
    ax.set_title(f"{display_name(chart.endpoint)}: demand, week of {chart.week_start} — recommended {plan}",
                 loc="left")  # fmt: skip
    ax.legend(loc="upper right", fontsize=7, frameon=True, framealpha=0.9, ncol=2)


def _draw_plan_capacity(
    ax: Axes, days: np.ndarray, chart: DemandChart, capacity: PlanCapacity, held: bool
) -> float:
    """Draw a varying plan capacity as a step line (solid for the recommended plan, with its overflow shaded;
    dashed for a held candidate); return its highest value (weighted tokens/s, 0 when it has none)."""
    line = capacity.capacity_tps
    drawn = line[~np.isnan(line)]
    if not held:
        overflow = capacity.overflow_tps(chart.demand_tps) > 0
        ax.fill_between(days, np.nan_to_num(line), chart.demand_tps, where=overflow, step="post",
                        color=_OVERFLOW_COLOR, alpha=0.85, linewidth=0,
                        label=f"overflow to serverless ({chart.overflow_share:.1%} of tokens)")  # fmt: skip
    what = "ready capacity" if capacity.family == AUTOSCALE else "reserved in window"
    label = f"cheapest plan (held): {capacity.label}" if held else f"{what}: {capacity.label} (× K × u)"
    ax.step(days, line, where="post", color=_CHEAPEST_COLOR if held else _CAPACITY_COLOR,
            linestyle="--" if held else "-", linewidth=1.0 if held else 1.2, label=label)  # fmt: skip
    return float(drawn.max()) if drawn.size else 0.0


def draw_options(ax: Axes, chart: OptionsChart) -> None:
    """Draw ``chart`` on ``ax``: one stacked bar per option (reserved, serverless overflow, batch price), each with
    its total, the cheapest starred and the recommended one outlined and labelled."""
    positions = np.arange(len(chart.families))
    reserved, overflow, other = chart.reserved_cost_usd, chart.overflow_cost_usd, chart.other_cost_usd
    ax.bar(positions, reserved, color=_RESERVED_COLOR, label="reserved replicas")
    ax.bar(positions, overflow, bottom=reserved, color=_OVERFLOW_COLOR, label="serverless / overflow")
    if other.any():
        ax.bar(positions, other, bottom=reserved + overflow, color=_BATCH_COLOR, label="batch price")
    top = float(chart.total_cost_usd.max()) if chart.total_cost_usd.size else 0.0
    for position, total in zip(positions, chart.total_cost_usd, strict=True):
        ax.annotate(f"{format_usd(float(total))}", xy=(position, total), xytext=(0, 2), textcoords="offset points",
                    ha="center", va="bottom", fontsize=7)  # fmt: skip
    cheapest = chart.cheapest
    ax.plot([cheapest], [chart.total_cost_usd[cheapest] + 0.08 * top], marker="*", markersize=13,
            color=_CAPACITY_COLOR, linestyle="none", label=f"cheapest: {chart.labels[cheapest].splitlines()[0]}")  # fmt: skip
    if chart.recommended is not None:
        recommended = chart.recommended
        ax.bar([recommended], [chart.total_cost_usd[recommended]], fill=False, edgecolor="#222222", linewidth=1.8,
               label="recommended")  # fmt: skip
        ax.annotate("recommended", xy=(recommended, chart.total_cost_usd[recommended]), xytext=(0, 32),
                    textcoords="offset points", ha="center", fontsize=7, fontweight="bold")  # fmt: skip
    ax.set_xticks(positions)
    ax.set_xticklabels(chart.labels, fontsize=7)
    ax.set_ylabel("USD per week")
    ax.set_ylim(0, top * 1.4 or 1.0)
    ax.set_title(f"{display_name(chart.endpoint, 40)}: weekly cost by option", loc="left")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=3, fontsize=7, frameon=False)


def draw_curve(ax: Axes, chart: CurveChart) -> None:
    """Draw ``chart`` on ``ax``: stacked bars of reserved and overflow cost per R, serverless cost as a dashed line,
    the current plan's cost and the batch price as lines when known, R* highlighted, and the recommendation's
    saving against the current plan (``CurveChart.annotations``)."""
    replicas = chart.replicas
    ax.bar(replicas, chart.reserved_cost_usd, color=_RESERVED_COLOR, label="reserved replicas")
    ax.bar(replicas, chart.overflow_cost_usd, bottom=chart.reserved_cost_usd, color=_OVERFLOW_COLOR,
           label="serverless overflow")  # fmt: skip
    ax.axhline(chart.total_cost_usd[0], color=_CHEAPEST_COLOR, linestyle="--", linewidth=1.0,
               label=f"serverless: {format_usd(float(chart.total_cost_usd[0]))}/wk")  # fmt: skip
    top = float(chart.total_cost_usd.max())
    verdict = chart.verdict
    if verdict is not None:
        ax.axhline(verdict.current_cost_usd, color="#222222", linewidth=1.0,
                   label=f"current plan ({verdict.current_mode}): {format_usd(verdict.current_cost_usd)}/wk")  # fmt: skip
        top = max(top, verdict.current_cost_usd)
        if verdict.batch_cost_usd is not None:
            ax.axhline(verdict.batch_cost_usd, color=_BATCH_COLOR, linestyle=":", linewidth=1.4,
                       label=f"batch: {format_usd(verdict.batch_cost_usd)}/wk")  # fmt: skip
    best = int(np.flatnonzero(replicas == chart.r_star)[0])
    ax.plot([chart.r_star], [chart.total_cost_usd[best]], marker="*", markersize=14, color=_CAPACITY_COLOR,
            linestyle="none", label=f"R* = {chart.r_star}")  # fmt: skip
    texts = chart.annotations()
    ax.annotate(texts[0], xy=(chart.r_star, chart.total_cost_usd[best]), xytext=(0, 14), textcoords="offset points",
                ha="center", fontsize=8)  # fmt: skip
    if len(texts) > 1:
        ax.text(0.99, 0.98, texts[1], transform=ax.transAxes, ha="right", va="top", fontsize=7,
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#bbbbbb", "alpha": 0.9})  # fmt: skip
    ax.set_xticks(replicas if replicas.size <= 16 else np.linspace(0, replicas[-1], 9).round().astype(int))
    ax.set_xlabel("reserved replicas R")
    ax.set_ylabel("USD per week")
    ax.set_ylim(0, top * (1.6 if verdict is not None else 1.3) or 1.0)
    ax.set_title(f"{display_name(chart.endpoint, 40)}: weekly cost vs replicas", loc="left")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=7, frameon=False)


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG bytes (no timestamp or version in the file: same data, same bytes)."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def demand_png(chart: DemandChart) -> bytes:
    """The demand picture of one endpoint as PNG bytes (1100 × 360 px)."""
    with matplotlib.rc_context(CHART_STYLE):
        figure = Figure(figsize=(11, 3.6), layout="constrained")
        draw_demand(figure.add_subplot(), chart)
        return png_bytes(figure)


def curve_png(chart: CurveChart) -> bytes:
    """The cost-curve picture of one endpoint as PNG bytes (600 × 360 px)."""
    with matplotlib.rc_context(CHART_STYLE):
        figure = Figure(figsize=(6, 3.6), layout="constrained")
        draw_curve(figure.add_subplot(), chart)
        return png_bytes(figure)


def options_png(chart: OptionsChart) -> bytes:
    """The options picture of one endpoint as PNG bytes (600 × 360 px)."""
    with matplotlib.rc_context(CHART_STYLE):
        figure = Figure(figsize=(6, 3.6), layout="constrained")
        draw_options(figure.add_subplot(), chart)
        return png_bytes(figure)


def overview_png(charts: list[EndpointCharts], week_start: date) -> bytes:
    """One picture of the week for the Slack report: a row per featured endpoint, demand left, cost curve right,
    and the options compared in a third column when any endpoint has them (same size either way)."""
    with matplotlib.rc_context(CHART_STYLE):
        rows = max(len(charts), 1)
        with_options = any(chart.options is not None for chart in charts)
        figure = Figure(figsize=(15, 3.4 * rows), layout="constrained")
        figure.suptitle(f"modeshift — week of {week_start}", fontsize=12, x=0.01, ha="left")
        grid = figure.add_gridspec(rows, 3 if with_options else 2,
                                   width_ratios=[2.4, 1, 1] if with_options else [2.4, 1])  # fmt: skip
        if not charts:
            figure.add_subplot(grid[0, :]).text(0.5, 0.5, "no priced spend this week", ha="center")
        for row, chart in enumerate(charts):
            draw_demand(figure.add_subplot(grid[row, 0]), chart.demand)
            curve_axes = figure.add_subplot(grid[row, 1])
            if chart.curve is not None:
                draw_curve(curve_axes, chart.curve)
            else:
                curve_axes.set_axis_off()
                curve_axes.text(0.5, 0.5, "no dedicated offer for this model", ha="center", va="center")
            if with_options:
                options_axes = figure.add_subplot(grid[row, 2])
                if chart.options is not None:
                    draw_options(options_axes, chart.options)
                else:
                    options_axes.set_axis_off()
                    options_axes.text(0.5, 0.5, "no plan options this week", ha="center", va="center")
        return png_bytes(figure)


# --------------------------------------------------------------------------------------- loading and writing


def plan_capacity(
    settings: dict[str, Any],
    demand_tps: np.ndarray,
    offer: DedicatedOffer,
    profile: ProviderProfile,
    covered_days: tuple[date, ...],
) -> PlanCapacity | None:
    """The per-minute capacity of an autoscale or scheduled plan on the week's demand (weighted tokens/s), from its
    settings as the weekly tables hold them: ``family``, ``replicas``, ``min_replicas``, ``max_replicas``,
    ``window`` (the window's label). The autoscaler is simulated again (``simulate_autoscale``: the same rules, the
    same trace the plan was costed on); a scheduled window is read from its label (``window_from_label``). None for
    a fixed, serverless or batch plan, and for a window whose label does not give its hours."""
    family = settings.get("family")
    if family == AUTOSCALE and settings.get("min_replicas") is not None and settings.get("max_replicas"):
        low, high = int(settings["min_replicas"]), int(settings["max_replicas"])
        trace = simulate_autoscale(demand_tps, offer, profile, low, high)
        return PlanCapacity.autoscale(trace.running, trace.ready, offer.planned_replica_tps,
                                      f"autoscale {low}–{high} replicas")  # fmt: skip
    if family == SCHEDULED and settings.get("window") and settings.get("replicas"):
        parsed = window_from_label(str(settings["window"]))
        cells = settings.get("window_cells")
        if cells is not None:  # the window's own cells, whatever its label says
            chosen = {int(c) for c in cells}
            zone = parsed[1] if parsed is not None else zone_of_label(str(settings["window"]))
            window = ScheduleWindow(tuple(c in chosen for c in range(168)), str(settings["window"]))
        elif parsed is None:
            return None
        else:
            window, zone = parsed
        replicas = int(settings["replicas"])
        mask = window.minute_mask(week_cells(list(covered_days), zone))
        count = f"{replicas} replica" + ("" if replicas == 1 else "s")
        return PlanCapacity.scheduled(mask, replicas, offer.planned_replica_tps,
                                      f"scheduled {count} {window.label}")  # fmt: skip
    return None


def _recommended_settings(row: dict[str, Any]) -> dict[str, Any]:
    """A recommendations row's plan settings under the names ``plan_options`` uses."""
    return {
        "family": recommended_family(row),
        "replicas": row.get("replicas"),
        "min_replicas": row.get("min_replicas"),
        "max_replicas": row.get("max_replicas"),
        "window": row.get("schedule_window"),
        "window_cells": row.get("schedule_cells"),
    }


def _same_settings(first: dict[str, Any], second: dict[str, Any]) -> bool:
    keys = ("family", "replicas", "min_replicas", "max_replicas", "window")
    return all(first.get(key) == second.get(key) for key in keys)


def load_week_charts(
    home: Home,
    settings: Settings,
    week_start: date,
    endpoints: list[str],
    profile: ProviderProfile | None = None,
) -> list[EndpointCharts]:
    """The pictures' data for ``endpoints`` (in that order) from the week's recommendations, plan_curve and
    plan_options Parquet tables, the daily rollups and the rate card; endpoints without a recommendation row are
    skipped. ``profile`` is the provider profile the plans were costed with (the autoscaler is simulated again on
    it; default: each endpoint's provider, provider.endpoints or provider.name). Capacity is drawn with the replica capacity K each recommendation was
    costed with (its ``replica_capacity_tps``, from the request shape). A week without ``plan_options`` (written
    before the plan families) gets no options chart."""
    chosen = profile
    recommendations = read_week_table(home, "recommendations", week_start)
    if recommendations is None:
        raise RuntimeError(f"week {week_start} has no recommendations yet")
    curves = read_week_table(home, "plan_curve", week_start)
    options = read_week_table(home, "plan_options", week_start)
    rollups = load_week_rollups(home, week_start)
    series = priced_week_series(home, settings, rollups)
    card = priced_rate_card(settings)
    covered_days = tuple(rollups.covered_days)
    minutes = len(covered_days) * MINUTES_PER_DAY
    by_endpoint = {row["endpoint"]: row for row in recommendations.iter_rows(named=True)}
    charts = []
    for endpoint in endpoints:
        row = by_endpoint.get(endpoint)
        if row is None:
            continue
        profile = chosen if chosen is not None else provider_profile(settings, endpoint)
        terms_ = model_terms(card, week_start, profile.name).get(row["model"])
        offer = terms_.offer if terms_ is not None else None
        if offer is not None and row.get("replica_capacity_tps"):
            offer = dataclasses.replace(offer, replica_capacity_tps=float(row["replica_capacity_tps"]))
        curve = curve_chart(endpoint, week_start, curves) if curves is not None else None
        if curve is not None:
            curve = dataclasses.replace(curve, verdict=plan_verdict(row, options))
        demand = series[endpoint].demand_tps if endpoint in series else np.zeros(minutes)
        recommended = _recommended_settings(row)
        plan = plan_capacity(recommended, demand, offer, profile, covered_days) if offer is not None else None
        replicas = int(row["replicas"] or 0) if row["recommended_mode"] in RESERVED_MODES else 0
        reserved = reserved_capacity_tps(replicas, offer.replica_capacity_tps, offer.target_utilization) if (
            offer is not None and plan is None) else 0.0  # fmt: skip
        cheapest_option = _cheapest_option(options, endpoint)
        cheapest_replicas = cheapest = candidate = None
        if cheapest_option is not None and not _same_settings(cheapest_option, recommended):
            if offer is not None:
                candidate = plan_capacity(cheapest_option, demand, offer, profile, covered_days)
            if cheapest_option["family"] == FIXED and offer is not None:
                cheapest_replicas = int(cheapest_option["replicas"])
                cheapest = reserved_capacity_tps(
                    cheapest_replicas, offer.replica_capacity_tps, offer.target_utilization
                )
        elif cheapest_option is None and curve is not None and offer is not None:
            if curve.r_star not in (0, replicas):  # a week costed with fixed plans only: R* held
                cheapest_replicas = curve.r_star
                cheapest = reserved_capacity_tps(
                    curve.r_star, offer.replica_capacity_tps, offer.target_utilization
                )
        charts.append(
            EndpointCharts(
                demand=DemandChart(
                    endpoint=endpoint,
                    week_start=week_start,
                    covered_days=covered_days,
                    demand_tps=demand,
                    recommended_mode=row["recommended_mode"],
                    replicas=int(row["replicas"] or 0) if plan is not None else replicas,
                    reserved_tps=reserved,
                    cheapest_replicas=cheapest_replicas,
                    cheapest_tps=cheapest,
                    plan=plan,
                    candidate=candidate,
                ),
                curve=curve,
                options=options_chart(endpoint, week_start, options, recommended["family"])
                if options is not None
                else None,
            )
        )
    return charts


def _cheapest_option(options: pl.DataFrame | None, endpoint: str) -> dict[str, Any] | None:
    """The ``plan_options`` row of ``endpoint`` flagged cheapest (the raw candidate), or None."""
    if options is None:
        return None
    rows = options.filter((pl.col("endpoint") == endpoint) & pl.col("is_cheapest"))
    return rows.row(0, named=True) if rows.height else None


def slugify(name: str, limit: int = 48) -> str:
    """A file-name-safe, unique slug of an endpoint name: ASCII letters, digits, '.', '_' and '-' only (no path
    separators, control characters or leading dots), plus 8 hex digits of the name's hash so that names that
    clean up alike ('a/b', 'a b') never share a file."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", ascii_name).strip("-.")[:limit].strip("-.") or "endpoint"
    return f"{cleaned}-{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def reports_dir(home: Home, week_start: date) -> Path:
    """Directory of one week's pictures: ``$MODESHIFT_HOME/reports/<week_start>/``."""
    return home.root / "reports" / week_start.isoformat()


@dataclass(frozen=True)
class WrittenCharts:
    """Paths of the PNG files written for one week: the overview and, per endpoint, demand, curve and options."""

    overview: Path
    demand: dict[str, Path]
    curve: dict[str, Path]
    options: dict[str, Path] = field(default_factory=dict)


def write_file_atomically(path: Path, data: bytes) -> None:
    tmp = temp_sibling(path)
    tmp.write_bytes(data)
    replace_file(tmp, path)


def _overview_manifest(home: Home, week_start: date) -> Path:
    return reports_dir(home, week_start) / "_overview.json"


def _overview_identity(home: Home, week_start: date, endpoints: list[str]) -> dict[str, object]:
    """What an overview picture was drawn from: the week's recommendations (their recorded fingerprint) and the
    featured endpoints in order."""
    return {
        "recommendations": recorded_week_fingerprint(home, "recommendations", week_start),
        "endpoints": endpoints,
    }


def write_week_charts(home: Home, week_start: date, charts: list[EndpointCharts]) -> WrittenCharts:
    """Render and write every picture of the week (each file replaced atomically); PNG files of endpoints no
    longer featured are removed. The overview records what it was drawn from (``_overview.json``), so the Slack
    report can upload the file instead of drawing it again."""
    directory = reports_dir(home, week_start)
    directory.mkdir(parents=True, exist_ok=True)
    overview = directory / "overview.png"
    write_file_atomically(overview, overview_png(charts, week_start))
    write_json(
        _overview_manifest(home, week_start),
        _overview_identity(home, week_start, [chart.demand.endpoint for chart in charts]),
    )
    demand: dict[str, Path] = {}
    curve: dict[str, Path] = {}
    options: dict[str, Path] = {}
    for chart in charts:
        slug = slugify(chart.demand.endpoint)
        demand[chart.demand.endpoint] = directory / f"demand-{slug}.png"
        write_file_atomically(demand[chart.demand.endpoint], demand_png(chart.demand))
        if chart.curve is not None:
            curve[chart.demand.endpoint] = directory / f"curve-{slug}.png"
            write_file_atomically(curve[chart.demand.endpoint], curve_png(chart.curve))
        if chart.options is not None:
            options[chart.demand.endpoint] = directory / f"options-{slug}.png"
            write_file_atomically(options[chart.demand.endpoint], options_png(chart.options))
    keep = {overview, *demand.values(), *curve.values(), *options.values()}
    for stale in directory.glob("*.png"):
        if stale not in keep:
            stale.unlink(missing_ok=True)
    return WrittenCharts(overview=overview, demand=demand, curve=curve, options=options)


def week_overview_png(home: Home, settings: Settings, week_start: date, endpoints: list[str]) -> bytes:
    """The week's overview picture (PNG bytes) for ``endpoints``: the file ``weekly_charts`` wrote when it was drawn
    from the week's current recommendations for the same endpoints, else drawn now (and written for next time)."""
    overview = reports_dir(home, week_start) / "overview.png"
    if overview.is_file() and read_json(_overview_manifest(home, week_start)) == _overview_identity(
        home, week_start, endpoints
    ):
        return overview.read_bytes()
    charts = load_week_charts(home, settings, week_start, endpoints)
    data = overview_png(charts, week_start)
    overview.parent.mkdir(parents=True, exist_ok=True)
    write_file_atomically(overview, data)
    write_json(
        _overview_manifest(home, week_start),
        _overview_identity(home, week_start, [c.demand.endpoint for c in charts]),
    )
    return data
