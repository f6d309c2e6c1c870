"""The fleet part of the reports: pooled deployments (docs/cost-model.md#pools) and commitments
(docs/cost-model.md#commitments) in a few lines, with the same noise controls as the rest of the report (``slack.min_saving_usd``, ``top_n``, ``exclude_endpoints``). The terminal report
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
class CommitmentLine:
    """One recommended commitment: the endpoint, the term, replicas committed at what discount, the expected weekly
    saving, the committed hours' utilization against the break-even one, its risk (lookback weeks that would
    have lost money), and the mean weekly cost on demand and with the commitment (USD)."""

    endpoint: str
    term: str
    committed_replicas: int
    discount: float
    expected_saving_usd: float
    committed_utilization: float | None
    break_even_utilization: float
    weeks_lost: int
    lookback_weeks: int
    on_demand_cost_usd: float
    committed_cost_usd: float


@dataclass(frozen=True)
class FleetSummary:
    """The week's fleet view: the pools listed (recommended first, then held, larger savings first) and the
    recommended commitments listed (larger savings first), how many of each the noise controls left out, and the
    weekly saving of all recommended pools and commitments (listed or not)."""

    pools: tuple[PoolLine, ...] = ()
    hidden_pools: int = 0
    pooled_saving_usd: float = 0.0
    recommended_pools: int = 0
    commitments: tuple[CommitmentLine, ...] = ()
    hidden_commitments: int = 0
    committed_saving_usd: float = 0.0
    recommended_commitments: int = 0

    @property
    def empty(self) -> bool:
        """Whether there is nothing to say about the fleet."""
        return not (self.pools or self.hidden_pools or self.commitments or self.hidden_commitments)


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


def fleet_summary(
    pool_rows: Iterable[Mapping[str, Any]],
    settings: ReportSettings,
    commitment_rows: Iterable[Mapping[str, Any]] = (),
) -> FleetSummary:
    """The fleet summary of a week's ``pool_recommendations`` rows (pools recommended or held, saving at least
    ``min_saving_usd``, with at least one member not excluded) and ``commitments`` rows (the recommended ones,
    saving at least ``min_saving_usd``, endpoint not excluded); at most ``top_n`` of each listed."""
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
    committed = [r for r in commitment_rows if r["recommended"]]
    shown_commitments = sorted(
        (r for r in committed if r["expected_saving_usd"] >= settings.min_saving_usd
         and not settings.excludes(r["endpoint"])),
        key=lambda r: (-r["expected_saving_usd"], r["endpoint"]),
    )[: settings.top_n]  # fmt: skip
    return FleetSummary(
        pools=lines,
        hidden_pools=len(rows) - len(lines),
        pooled_saving_usd=sum(float(r["multiplexing_saving_usd"]) for r in recommended),
        recommended_pools=len(recommended),
        commitments=tuple(
            CommitmentLine(
                r["endpoint"],
                r["term"],
                int(r["committed_replicas"]),
                float(r["discount"]),
                float(r["expected_saving_usd"]),
                r["committed_utilization"],
                float(r["break_even_utilization"]),
                int(r["weeks_lost"]),
                int(r["lookback_weeks"]),
                float(r["on_demand_cost_usd"]),
                float(r["committed_cost_usd"]),
            )
            for r in shown_commitments
        ),  # fmt: skip
        hidden_commitments=len(committed) - len(shown_commitments),
        committed_saving_usd=sum(float(r["expected_saving_usd"]) for r in committed),
        recommended_commitments=len(committed),
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


def commitment_sentence(line: CommitmentLine, name: Callable[[str], str] = str) -> str:
    """One commitment in words: "commit 1 replica of chat-api for 1-month at 10% off: saves $134/week; its hours
    used 100% (pays above 90%); lost money in 0 of 3 lookback weeks"."""
    replicas = f"{line.committed_replicas} replica" + ("" if line.committed_replicas == 1 else "s")
    used = (
        f"its hours used {line.committed_utilization:.0%} (pays above {line.break_even_utilization:.0%})"
        if line.committed_utilization is not None
        else f"pays above {line.break_even_utilization:.0%} of its hours used"
    )
    return (
        f"commit {replicas} of {name(line.endpoint)} for {line.term} at {line.discount:.0%} off: saves "
        f"{format_usd(line.expected_saving_usd)}/week; {used}; lost money in {line.weeks_lost} of "
        f"{line.lookback_weeks} lookback weeks"
    )


def fleet_intro(summary: FleetSummary) -> str:
    """The fleet section's first line: what the recommended pools save beyond the endpoints' own best plans, and
    what the recommended commitments save on top of the plans they commit to."""
    pools = (
        f"{summary.recommended_pools} pooled deployment(s) recommended: they save "
        f"{format_usd(summary.pooled_saving_usd)}/week beyond the members' own best plans"
        if summary.recommended_pools
        else "no pool recommended this week"
    )
    if not summary.recommended_commitments:
        return pools
    return (
        f"{pools}; {summary.recommended_commitments} commitment(s) recommended: "
        f"{format_usd(summary.committed_saving_usd)}/week on the replicas they commit to"
    )
