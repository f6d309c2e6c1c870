"""The fleet part of the reports: pooled deployments (docs/cost-model.md#pools) in a few lines, with the same noise
controls as the rest of the report (``slack.min_saving_usd``, ``top_n``, ``exclude_endpoints``). The terminal report
and the Slack message both read it, so they say the same. Money in USD per week."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.core.text import format_usd
from pipelines.delivery.featured import ReportSettings

LISTED_POOL_ACTIONS = ("pool", "hold")


@dataclass(frozen=True)
class PoolLine:
    """One pool worth a line: its model, members, decision (``pool`` or ``hold``), the shared plan in words, its cost
    against the members' own plans, and why it is held (empty when recommended)."""

    model: str
    members: tuple[str, ...]
    action: str
    plan: str
    pooled_cost_usd: float
    separate_cost_usd: float
    saving_usd: float
    saving_pct: float | None
    held_why: str


@dataclass(frozen=True)
class FleetSummary:
    """The week's fleet view: the pools listed (recommended first, then held, larger savings first), how many were
    left out by the noise controls, and the weekly saving of all recommended pools (listed or not)."""

    pools: tuple[PoolLine, ...] = ()
    hidden_pools: int = 0
    pooled_saving_usd: float = 0.0
    recommended_pools: int = 0

    @property
    def empty(self) -> bool:
        """Whether there is nothing to say about the fleet."""
        return not self.pools and not self.hidden_pools


def pool_plan_text(row: Mapping[str, Any]) -> str:
    """A pool row's plan in words: ``fixed 2 replicas``, ``autoscale 1–8 replicas``, ``scheduled 2 replicas
    Mon–Fri 08:00–19:00 UTC``."""
    family = row["family"]
    if family == "autoscale":
        return f"autoscale {row['min_replicas']}–{row['max_replicas']} replicas"
    count = f"{row['replicas']} replica" + ("" if row["replicas"] == 1 else "s")
    if family == "scheduled" and row.get("schedule_window"):
        return f"scheduled {count} {row['schedule_window']}"
    return f"{family} {count}"


def fleet_summary(pool_rows: Iterable[Mapping[str, Any]], settings: ReportSettings) -> FleetSummary:
    """The fleet summary of a week's ``pool_recommendations`` rows: pools recommended or held, saving at least
    ``min_saving_usd``, with at least one member not excluded, at most ``top_n`` listed."""
    rows = [r for r in pool_rows if r["action"] in LISTED_POOL_ACTIONS]
    recommended = [r for r in rows if r["action"] == "pool"]
    shown = sorted(
        (r for r in rows if r["multiplexing_saving_usd"] >= settings.min_saving_usd
         and not all(settings.excludes(m) for m in r["members"])),
        key=lambda r: (r["action"] != "pool", -r["multiplexing_saving_usd"], r["pool_id"]),
    )  # fmt: skip
    lines = tuple(
        PoolLine(
            model=r["model"],
            members=tuple(r["members"]),
            action=r["action"],
            plan=pool_plan_text(r),
            pooled_cost_usd=float(r["pooled_cost_usd"]),
            separate_cost_usd=float(r["separate_cost_usd"]),
            saving_usd=float(r["multiplexing_saving_usd"]),
            saving_pct=r["saving_pct"],
            held_why="; ".join(r["held_reasons"] or []),
        )
        for r in shown[: settings.top_n]
    )
    return FleetSummary(
        pools=lines,
        hidden_pools=len(rows) - len(lines),
        pooled_saving_usd=sum(float(r["multiplexing_saving_usd"]) for r in recommended),
        recommended_pools=len(recommended),
    )


def pool_sentence(
    line: PoolLine, name: Callable[[str], str] = str, escape: Callable[[str], str] = str
) -> str:
    """One pool in words (``name`` formats an endpoint name, e.g. as Slack code; ``escape`` the other text taken
    from the data: the model and the held reasons): "pool a, b and c on
    Meta-Llama-3.1-405B-Instruct-Turbo: fixed 2 replicas, $11,076/week against $15,044 apart, saves $3,968/week
    (26%)", and why it is held."""
    members = [name(m) for m in line.members]
    joined = members[0] if len(members) == 1 else ", ".join(members[:-1]) + " and " + members[-1]
    verb = "pool" if line.action == "pool" else "could pool"
    pct = f" ({line.saving_pct:.0%})" if line.saving_pct is not None else ""
    text = (
        f"{verb} {joined} on {escape(line.model.rsplit('/', 1)[-1])}: {escape(line.plan)}, {format_usd(line.pooled_cost_usd)}/week "
        f"against {format_usd(line.separate_cost_usd)} apart, saves {format_usd(line.saving_usd)}/week{pct}"
    )
    return text + (f"; held: {escape(line.held_why)}" if line.held_why else "")


def fleet_intro(summary: FleetSummary) -> str:
    """The fleet section's first line: what the recommended pools save beyond the endpoints' own best plans."""
    if not summary.recommended_pools:
        return "no pool recommended this week"
    return (
        f"{summary.recommended_pools} pooled deployment(s) recommended: they save "
        f"{format_usd(summary.pooled_saving_usd)}/week beyond the members' own best plans"
    )
