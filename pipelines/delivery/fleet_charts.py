"""The fleet picture of a week (``reports/<week>/fleet.png``): the top pool's members' demand stacked under the
shared plan's capacity, every listed pool's cost together against apart (docs/cost-model.md#pools), and every
listed commitment's cost on demand against committed (docs/cost-model.md#commitments)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from pipelines.core.text import display_name
from pipelines.delivery.charts import CHART_STYLE, hourly_mean, png_bytes
from pipelines.delivery.fleet_report import FleetSummary

_MEMBER_COLORS = ("#1f5f99", "#5b8db8", "#8fb8de", "#6a9f58", "#a3c98f", "#b07aa1", "#d4a6c8", "#9c755f")
_CAPACITY_COLOR = "#c0392b"
_APART_COLOR = "#7f8c8d"
_POOLED_COLOR = "#1f5f99"


@dataclass(frozen=True)
class PoolPicture:
    """One pool's week to draw: each member's per-minute demand in the pool's weighted tokens/s, the shared plan's
    ready capacity per minute (ready replicas × K_pool × u), the plan in words and the covered days."""

    title: str
    members: tuple[str, ...]
    member_demand_tps: tuple[np.ndarray, ...]
    capacity_tps: np.ndarray
    plan: str
    covered_days: tuple[date, ...]


def draw_pool(ax: Axes, picture: PoolPicture) -> None:
    """The members' hourly mean demand stacked, with the shared plan's hourly mean capacity as a step line."""
    hours = [hourly_mean(d) for d in picture.member_demand_tps]
    x = (np.arange(hours[0].size) + 0.5) / 24 if hours else np.zeros(0)
    if hours:
        ax.stackplot(x, *hours, colors=_MEMBER_COLORS[: len(hours)] * (len(hours) // len(_MEMBER_COLORS) + 1),
                     labels=[display_name(m, 40) for m in picture.members], alpha=0.85, linewidth=0)  # fmt: skip
        capacity = hourly_mean(picture.capacity_tps)
        ax.step(x, capacity, where="mid", color=_CAPACITY_COLOR, linewidth=1.4,
                label=f"shared capacity: {picture.plan} (× K × u)")  # fmt: skip
        top = max(float(np.sum(hours, axis=0).max()), float(capacity.max()))
        ax.set_ylim(0, top * 1.3 if top > 0 else 1.0)
    days = len(picture.covered_days)
    ax.set_xlim(0, max(days, 1))
    ax.set_xticks(np.arange(days) + 0.5)
    ax.set_xticklabels([day.strftime("%a %m-%d") for day in picture.covered_days])
    ax.tick_params(axis="x", length=0)
    ax.set_ylabel("weighted tokens/s (hourly mean)")
    ax.set_title(picture.title, loc="left")
    ax.legend(loc="upper right", fontsize=7, frameon=True, framealpha=0.9, ncol=2)


def _paired_bars(
    ax: Axes,
    labels: list[str],
    bars: tuple[tuple[str, list[float]], tuple[str, list[float]]],
    notes: list[str],
    title: str,
    empty: str,
) -> None:
    """Two horizontal bars per row (grey: the first series, blue: the second; USD per week), a note after each
    row, the row labels on the left; ``empty`` in the middle when there is no row."""
    (first_name, first), (second_name, second) = bars
    y = np.arange(len(labels))
    ax.barh(y - 0.2, first, height=0.4, color=_APART_COLOR, label=first_name)
    ax.barh(y + 0.2, second, height=0.4, color=_POOLED_COLOR, label=second_name)
    for index, note in enumerate(notes):
        ax.annotate(note, (max(first[index], second[index]), index), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=7)  # fmt: skip
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("USD per week")
    ax.set_title(title, loc="left")
    if labels:
        ax.set_xlim(0, max(first + second) * 1.6)
        ax.legend(loc="lower right", fontsize=7)
    else:
        ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center")


def draw_pool_costs(ax: Axes, summary: FleetSummary) -> None:
    """One pair of bars per listed pool: the members' own best plans added up, and the pool's plan (USD/week)."""
    _paired_bars(
        ax,
        [", ".join(display_name(m, 24) for m in line.members[:3]) + ("…" if len(line.members) > 3 else "")
         for line in summary.pools],
        (("apart (own best plans)", [line.separate_cost_usd for line in summary.pools]),
         ("pooled", [line.pooled_cost_usd for line in summary.pools])),
        [f"saves ${line.saving_usd:,.0f} ({line.action})" for line in summary.pools],
        "pools: together against apart",
        "no pool this week",
    )  # fmt: skip


def draw_commitment_costs(ax: Axes, summary: FleetSummary) -> None:
    """One pair of bars per listed commitment: the mean weekly cost of its replicas over the lookback weeks on
    demand, and committed (USD/week)."""
    _paired_bars(
        ax,
        [f"{display_name(line.endpoint, 24)} ({line.committed_replicas}, {line.term})" for line in summary.commitments],
        (("on demand", [line.on_demand_cost_usd for line in summary.commitments]),
         ("committed", [line.committed_cost_usd for line in summary.commitments])),
        [f"saves ${line.expected_saving_usd:,.0f}, lost {line.weeks_lost}/{line.lookback_weeks} wk"
         for line in summary.commitments],
        "commitments: on demand against committed",
        "no commitment this week",
    )  # fmt: skip


def fleet_png(summary: FleetSummary, picture: PoolPicture | None, week_start: date) -> bytes:
    """The week's fleet picture as PNG bytes (1800 × 380 px): the top pool (when there is one) beside the pools'
    and the commitments' costs."""
    with matplotlib.rc_context(CHART_STYLE):
        figure = Figure(figsize=(18, 3.8), layout="constrained")
        figure.suptitle(f"modeshift fleet — week of {week_start}", fontsize=12, x=0.01, ha="left")
        grid = figure.add_gridspec(1, 3, width_ratios=[2.2, 1, 1])
        if picture is not None:
            draw_pool(figure.add_subplot(grid[0, 0]), picture)
        else:
            ax = figure.add_subplot(grid[0, 0])
            ax.text(0.5, 0.5, "no pool this week", transform=ax.transAxes, ha="center", va="center")
            ax.set_axis_off()
        draw_pool_costs(figure.add_subplot(grid[0, 1]), summary)
        draw_commitment_costs(figure.add_subplot(grid[0, 2]), summary)
        return png_bytes(figure)
