"""The weekly Slack report: what one week's recommendations say, as numbers (``WeekReport``) and as a Block Kit
message. Built from the weekly Parquet tables (recommendations, plan_curve, spend_concentration and its summary)
and the rate card, never from the pipeline's DuckDB file. Money in USD per week, shares as fractions.

Noise controls (the ``slack`` section of the settings): ``min_saving_usd`` (rows saving less are not listed),
``top_n`` (rows per list, endpoints pictured) and ``exclude_endpoints`` (names or glob patterns left out of the
lists and pictures; the week's totals still count them). The backtest line sums the week's ``backtest`` table;
``slack.dagster_url`` adds links to the Dagster run that computed the week and to the week's recommendations page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

import polars as pl

from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.core.text import display_name, format_usd
from pipelines.core.vocabulary import (
    RESERVED_MODES,
    SLO_BREACHED,
    SLO_MET,
    SLO_NOT_CHECKED,
    is_held_candidate,
)
from pipelines.delivery.featured import ReportSettings, featured_endpoints
from pipelines.delivery.fleet_report import (
    FleetSummary,
    commitment_sentence,
    fleet_intro,
    fleet_summary,
    pool_sentence,
)
from pipelines.domain.effective_price import basis_label
from pipelines.lake.weekly_store import read_week_table

SECTION_TEXT_LIMIT = 2900  # Block Kit allows 3000 characters per section text


@dataclass(frozen=True)
class Migration:
    """A recommended move: from the current mode to the recommended one, its weekly saving and why."""

    endpoint: str
    current_mode: str
    recommended_mode: str
    savings_usd: float
    savings_pct: float | None
    reason: str
    confidence: str
    # what the saving is costed at (docs/cost-model.md#price-bases); where that is not list, the saving at list
    # prices (USD per week) and what list prices would recommend
    price_basis: str = "list"
    list_savings_usd: float | None = None
    list_action: str | None = None

    def at_list_aside(self) -> str:
        """`` at billed prices ($2,410/week at list)``, or what list prices would do instead; empty at list."""
        if self.price_basis == "list":
            return ""
        if self.list_action in ("migrate", "tune") and self.list_savings_usd is not None:
            return f" at {self.price_basis} prices ({format_usd(self.list_savings_usd)}/week at list)"
        return f" at {self.price_basis} prices (list prices would say {self.list_action or 'nothing'})"


@dataclass(frozen=True)
class HeldCandidate:
    """A cheaper plan the policy holds back: the raw candidate, what it would save per week (None when it cannot
    be costed from the tables) and why it is held."""

    endpoint: str
    current_mode: str
    raw_mode: str
    potential_saving_usd: float | None
    why: str


@dataclass(frozen=True)
class SpendShare:
    """One endpoint's list spend in the week (USD) and its share of the week's total (fraction)."""

    endpoint: str
    cost_usd: float
    share: float


@dataclass(frozen=True)
class SloLine:
    """One endpoint's latency SLO this week: ``status`` ('breached', 'not_checked' or 'met'), the SLO in words
    (``p95 ttft_ms <= 600 ms``), breached and counted hours, the worst hour's percentile (ms), the plan that meets
    it when breached (``1 replica (dedicated)``; None when no plan can reserve capacity) with the action taken on
    it, and what meeting it costs above the cheapest plan (USD per week)."""

    endpoint: str
    status: str
    slo: str
    breached_hours: int
    hours_with_requests: int
    worst_hour_ms: float | None
    plan: str | None
    action: str | None
    premium_usd: float


@dataclass(frozen=True)
class BacktestSummary:
    """The week's backtest in total (USD per week, over the endpoints it could cost): last week's recommended plans
    costed on this week's traffic (``plan_cost_usd``, the sum of ``recommended_plan_cost_usd``) against this week's
    best plans in hindsight (``hindsight_cost_usd``, the sum of ``hindsight_cost_usd``)."""

    endpoints: int
    plan_cost_usd: float
    hindsight_cost_usd: float


def backtest_summary(backtest: pl.DataFrame | None) -> BacktestSummary | None:
    """The totals of a week's ``backtest`` table; None when there is no table or it has no row (no recommendations
    the week before, or none that could be costed)."""
    if backtest is None or backtest.is_empty():
        return None
    return BacktestSummary(
        endpoints=backtest.height,
        plan_cost_usd=float(backtest["recommended_plan_cost_usd"].sum()),
        hindsight_cost_usd=float(backtest["hindsight_cost_usd"].sum()),
    )


def dagster_links(base_url: str | None, week_start: date, run_id: str | None) -> tuple[tuple[str, str], ...]:
    """The message's links into the Dagster UI at ``base_url`` (none without it): the run that materialized the
    week's recommendations (``/runs/<run id>``, when known) and the week's partition of the recommendations asset
    (``/assets/recommendations?view=partitions&partition=<week>``), as (label, URL) pairs."""
    if not base_url:
        return ()
    base = base_url.rstrip("/")
    links = []
    if run_id:
        links.append(("Dagster run", f"{base}/runs/{quote(run_id, safe='')}"))
    week = quote(week_start.isoformat(), safe="")
    links.append(
        ("recommendations of the week", f"{base}/assets/recommendations?view=partitions&partition={week}")
    )
    return tuple(links)


@dataclass(frozen=True)
class WeekReport:
    """Everything the weekly message says. Totals cover every priced endpoint; the lists apply the noise controls
    (``hidden_*`` count what they left out)."""

    week_start: date
    endpoints: int
    unpriced: int
    total_spend_usd: float
    recommended_spend_usd: float
    potential_savings_usd: float
    migrations: tuple[Migration, ...]
    hidden_migrations: int
    held: tuple[HeldCandidate, ...]
    hidden_held: int
    top_spend: tuple[SpendShare, ...]
    top_k_80: int | None
    hhi: float | None
    settings: ReportSettings
    slos: tuple[SloLine, ...] = ()
    slo_counts: tuple[tuple[str, int], ...] = ()
    slo_premium_usd: float = 0.0
    hidden_slos: int = 0
    price_basis: str = "list"
    list_potential_savings_usd: float = 0.0
    fleet: FleetSummary = FleetSummary()
    backtest: BacktestSummary | None = None
    links: tuple[tuple[str, str], ...] = ()


def migration_reason(row: Mapping[str, Any]) -> str:
    """One line saying what the recommended plan is, from the row's numbers: ``1 replica of 2×H100-80GB at 67%
    utilization, no overflow`` / ``batch pricing for offline traffic`` / ``reserved capacity sits idle``."""
    mode = row["recommended_mode"]
    if mode in RESERVED_MODES:
        replicas = int(row["replicas"] or 0)
        gpus = row.get("gpus_per_replica")
        hardware = f"{gpus}×{row['gpu_type'] or 'GPU'}" if gpus else (row["gpu_type"] or "GPU")
        what = f"{replicas} replica{'s' if replicas != 1 else ''} of {hardware}"
        if row.get("plan_family") == "autoscale":
            what = f"autoscale {row['min_replicas']}–{row['max_replicas']} replicas of {hardware}"
        elif row.get("plan_family") == "scheduled" and row.get("schedule_window"):
            what += f" {row['schedule_window']}"
        if row["utilization"] is not None:
            what += f" at {row['utilization']:.0%} utilization"
        overflow = row["overflow_share"] or 0.0
        return what + (
            f", {overflow:.0%} of tokens overflow to serverless" if overflow > 0 else ", no overflow"
        )
    if mode == "batch":
        return "batch pricing for offline traffic"
    if mode == "serverless" and row["current_mode"] == "dedicated":
        return "reserved capacity costs more than serverless for this traffic"
    return f"{mode} is cheaper"


def _slo_lines(
    slo_status: pl.DataFrame | None, rows: list[dict[str, Any]], settings: ReportSettings
) -> tuple[list[SloLine], tuple[tuple[str, int], ...], float]:
    """Every SLO of the week not excluded (breached first, dearest first, then not checked, then met), the count
    per status and the total premium (USD per week) of the breached ones, from ``slo_status`` and the
    recommendations rows."""
    if slo_status is None or slo_status.is_empty():
        return [], (), 0.0
    recs = {r["endpoint"]: r for r in rows}
    lines = []
    for s in slo_status.iter_rows(named=True):
        if settings.excludes(s["endpoint"]):
            continue
        r = recs.get(s["endpoint"], {})
        plan = None
        if s["status"] == SLO_BREACHED and r.get("raw_mode") in RESERVED_MODES:
            replicas = int(r.get("raw_replicas") or 0)
            plan = f"{replicas} replica{'s' if replicas != 1 else ''} ({r['raw_mode']})"
        lines.append(
            SloLine(
                endpoint=s["endpoint"],
                status=s["status"],
                slo=f"{s['percentile']} {s['metric']} <= {s['threshold_ms']:,.0f} ms",
                breached_hours=int(s["breached_hours"]),
                hours_with_requests=int(s["hours_with_requests"]),
                worst_hour_ms=s["worst_hour_ms"],
                plan=plan,
                action=r.get("action"),
                premium_usd=float(r.get("slo_premium_usd") or 0.0),
            )
        )
    order = {SLO_BREACHED: 0, SLO_NOT_CHECKED: 1, SLO_MET: 2}
    lines.sort(key=lambda line: (order.get(line.status, 3), -line.premium_usd, line.endpoint))
    counts = tuple((status, sum(1 for line in lines if line.status == status)) for status in order)
    return lines, counts, sum(line.premium_usd for line in lines)


def build_week_report(
    week_start: date,
    recommendations: pl.DataFrame,
    concentration: pl.DataFrame | None,
    concentration_summary: pl.DataFrame | None,
    settings: ReportSettings,
    slo_status: pl.DataFrame | None = None,
    pool_recommendations: pl.DataFrame | None = None,
    commitments: pl.DataFrame | None = None,
    backtest: pl.DataFrame | None = None,
    links: tuple[tuple[str, str], ...] = (),
) -> WeekReport:
    """The week's report from its tables: money in USD per week as the recommendations table states it (a held
    candidate's potential saving is the row's ``raw_savings_usd``, why it is held its ``held_reasons``); the SLO
    lines from ``slo_status`` (the breached and unchecked SLOs are listed, at most ``top_n``); the fleet section from
    ``pool_recommendations`` and ``commitments``; the backtest line from ``backtest``; ``links`` as given
    (``dagster_links``)."""
    rows = list(recommendations.iter_rows(named=True))
    priced = [r for r in rows if r["current_cost_usd"] is not None]
    migrate_rows = [r for r in rows if r["action"] in ("migrate", "tune")]  # a tuning is a change to make too
    listed = sorted(
        (r for r in migrate_rows if not settings.excludes(r["endpoint"]) and r["savings_usd"] >= settings.min_saving_usd),
        key=lambda r: (-r["savings_usd"], r["endpoint"]),
    )  # fmt: skip
    migrations = tuple(
        Migration(
            endpoint=r["endpoint"],
            current_mode=r["current_mode"],
            recommended_mode=r["recommended_mode"],
            savings_usd=float(r["savings_usd"]),
            savings_pct=r["savings_pct"],
            reason=migration_reason(r),
            confidence=r["confidence"],
            price_basis=r.get("price_basis") or "list",
            list_savings_usd=r.get("list_savings_usd"),
            list_action=r.get("list_action"),
        )
        for r in listed[: settings.top_n]
    )
    candidates = []
    for r in rows:
        if not is_held_candidate(r):
            continue
        why = "; ".join(r["held_reasons"] or []) or "held by the policy"
        candidates.append(
            HeldCandidate(r["endpoint"], r["current_mode"], r["raw_mode"], r["raw_savings_usd"], why)
        )
    shown_held = sorted(
        (c for c in candidates if not settings.excludes(c.endpoint)
         and (c.potential_saving_usd is None or c.potential_saving_usd >= settings.min_saving_usd)),
        key=lambda c: (-(c.potential_saving_usd or 0.0), c.endpoint),
    )  # fmt: skip
    top_spend: tuple[SpendShare, ...] = ()
    if concentration is not None and concentration.height:
        by_endpoint = {r["endpoint"]: r for r in concentration.iter_rows(named=True)}
        top_spend = tuple(
            SpendShare(e, float(by_endpoint[e]["cost_usd"]), float(by_endpoint[e]["share"]))
            for e in featured_endpoints(concentration, settings)
        )
    slo_lines, slo_counts, slo_premium = _slo_lines(slo_status, rows, settings)
    listed_slos = [line for line in slo_lines if line.status != SLO_MET]
    summary = (
        concentration_summary.row(0, named=True)
        if concentration_summary is not None and concentration_summary.height
        else {}
    )
    return WeekReport(
        week_start=week_start,
        endpoints=len(rows),
        unpriced=len(rows) - len(priced),
        total_spend_usd=sum(float(r["current_cost_usd"]) for r in priced),
        recommended_spend_usd=sum(float(r["recommended_cost_usd"]) for r in priced),
        potential_savings_usd=sum(float(r["savings_usd"]) for r in migrate_rows),
        migrations=migrations,
        hidden_migrations=len(migrate_rows) - len(migrations),
        held=tuple(shown_held[: settings.top_n]),
        hidden_held=len(candidates) - min(len(shown_held), settings.top_n),
        top_spend=top_spend,
        top_k_80=summary.get("top_k_80"),
        hhi=summary.get("hhi"),
        settings=settings,
        slos=tuple(listed_slos[: settings.top_n]),
        slo_counts=slo_counts,
        slo_premium_usd=slo_premium,
        hidden_slos=max(0, len(listed_slos) - settings.top_n),
        price_basis=basis_label([r.get("price_basis") or "list" for r in priced]),
        list_potential_savings_usd=sum(
            float(r.get("list_savings_usd") or 0.0)
            for r in priced
            if r.get("list_action") in ("migrate", "tune")
        ),
        fleet=fleet_summary(
            pool_recommendations.iter_rows(named=True) if pool_recommendations is not None else [],
            settings,
            commitments.iter_rows(named=True) if commitments is not None else [],
        ),
        backtest=backtest_summary(backtest),
        links=links,
    )


def load_week_report(
    home: Home, settings: Settings, week_start: date, run_id: str | None = None
) -> WeekReport:
    """The report of the week starting ``week_start`` from its weekly Parquet tables; ``run_id`` is the Dagster run
    that materialized its recommendations (linked when ``slack.dagster_url`` is set)."""
    recommendations = read_week_table(home, "recommendations", week_start)
    if recommendations is None:
        raise ModeshiftError(
            f"The week starting {week_start} has no recommendations table.",
            "Run 'modeshift materialize' once its days are in.",
        )
    return build_week_report(
        week_start,
        recommendations,
        read_week_table(home, "spend_concentration", week_start),
        read_week_table(home, "spend_concentration_summary", week_start),
        ReportSettings.from_settings(settings),
        read_week_table(home, "slo_status", week_start),
        read_week_table(home, "pool_recommendations", week_start),
        read_week_table(home, "commitments", week_start),
        read_week_table(home, "backtest", week_start),
        dagster_links(settings.slack.dagster_url, week_start, run_id),
    )


# ------------------------------------------------------------------------------------------------ Block Kit


def slack_escape(text: str) -> str:
    """Text safe inside Slack mrkdwn: control characters replaced, '&', '<' and '>' escaped as Slack requires."""
    return display_name(text, 200).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code(name: str) -> str:
    """An endpoint name as inline code (backticks inside it would end the code span)."""
    return "`" + slack_escape(display_name(name, 80)).replace("`", "'") + "`"


def _pct(value: float | None) -> str:
    return f" ({value:.0%})" if value is not None else ""


def _share(value: float) -> str:
    return f"{value:.2%}"


def _section(
    title: str, lines: list[str], empty: str, hidden: int = 0, hidden_note: str = "", intro: str = ""
) -> dict[str, Any]:
    """A mrkdwn section: a bold title, an intro line, bullet lines (cut to Block Kit's size limit), a note on the
    rows not listed; ``empty`` when there is nothing at all."""
    text = f"*{title}*" + (f"\n{intro}" if intro else "")
    shown = 0
    for line in lines:
        if len(text) + len(line) + 60 > SECTION_TEXT_LIMIT:
            break
        text += "\n• " + line
        shown += 1
    more = hidden + len(lines) - shown
    if not lines and not more:
        text += f"\n_{empty}_"
    if more:
        text += f"\n_{more}{' more' if shown else ''} not listed{' (' + hidden_note + ')' if hidden_note else ''}_"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def summary_text(report: WeekReport) -> str:
    """The one-line notification text of the message (what Slack shows where blocks cannot be rendered)."""
    return (
        f"modeshift week of {report.week_start}: spend {format_usd(report.total_spend_usd)}/week, "
        f"potential savings {format_usd(report.potential_savings_usd)}/week, "
        f"{len(report.migrations) + report.hidden_migrations} migration(s), "
        f"{len(report.held) + report.hidden_held} held candidate(s)"
    )


def report_blocks(report: WeekReport) -> list[dict[str, Any]]:
    """The Block Kit blocks of the weekly message."""
    settings = report.settings
    savings_share = report.potential_savings_usd / report.total_spend_usd if report.total_spend_usd else None
    prices = f"{report.price_basis} prices"
    at_list = (
        f" ({format_usd(report.list_potential_savings_usd)}/week at list prices)"
        if report.price_basis != "list"
        else ""
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"modeshift weekly report: week of {report.week_start}"}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Spend this week (current plans, {prices})*\n"
                                           f"{format_usd(report.total_spend_usd)}"},
                {"type": "mrkdwn", "text": f"*Potential savings*\n{format_usd(report.potential_savings_usd)}/week"
                                           f"{_pct(savings_share)}{at_list}"},
                {"type": "mrkdwn", "text": f"*Under the recommendations*\n{format_usd(report.recommended_spend_usd)}/week"},
                {"type": "mrkdwn", "text": f"*Endpoints*\n{report.endpoints}"
                                           + (f" ({report.unpriced} unpriced)" if report.unpriced else "")},
            ],
        },
        {"type": "divider"},
    ]  # fmt: skip
    threshold = (
        f"below {format_usd(settings.min_saving_usd)}/week, excluded, or beyond the top {settings.top_n}"
    )
    blocks.append(
        _section(
            "Recommended migrations",
            [
                f"{_code(m.endpoint)}: {m.current_mode} → {m.recommended_mode}, saves "
                f"*{format_usd(m.savings_usd)}/week*{_pct(m.savings_pct)}{m.at_list_aside()}: {slack_escape(m.reason)} "
                f"(confidence {m.confidence})"
                for m in report.migrations
            ],
            "No migration this week.",
            report.hidden_migrations,
            threshold,
        )
    )
    blocks.append(
        _section(
            "Held candidates",
            [
                f"{_code(h.endpoint)}: {h.current_mode} → {h.raw_mode}"
                + (f" would save {format_usd(h.potential_saving_usd)}/week" if h.potential_saving_usd is not None
                   else "") + f"; held: {slack_escape(h.why)}"
                for h in report.held
            ],
            "No candidate held back.",
            report.hidden_held,
            threshold,
        )
    )  # fmt: skip
    if report.slo_counts:
        blocks.append(_slo_section(report))
    if not report.fleet.empty:
        blocks.append(
            _section(
                "Fleet",
                [pool_sentence(line, _code, slack_escape) for line in report.fleet.pools]
                + [commitment_sentence(line, _code) for line in report.fleet.commitments],
                "No pool or commitment this week.",
                report.fleet.hidden_pools + report.fleet.hidden_commitments,
                threshold,
                intro=slack_escape(fleet_intro(report.fleet)),
            )
        )
    blocks.append(_backtest_section(report))
    intro = ""
    if report.top_k_80 is not None:
        intro = f"{report.top_k_80} endpoint(s) make 80% of the spend at serverless {prices}" + (
            f" (HHI {report.hhi:.2f})" if report.hhi is not None else "")  # fmt: skip
    blocks.append(
        _section(
            f"Spend concentration (serverless at {prices}, not the current plans)",
            [f"{_code(s.endpoint)} {format_usd(s.cost_usd)} ({_share(s.share)})" for s in report.top_spend],
            "No priced spend this week.",
            intro=intro if report.top_spend else "",
        )
    )
    excluded = f"; excluded: {', '.join(settings.exclude_endpoints)}" if settings.exclude_endpoints else ""
    if report.links:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": " · ".join(_link(url, label) for label, url in report.links)}
                ],
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": slack_escape(
                        f"modeshift · lists show savings of at least {format_usd(settings.min_saving_usd)}/week, "
                        f"top {settings.top_n}{excluded} · charts in the thread"
                    ),
                }
            ],
        }
    )
    return blocks


def _link(url: str, label: str) -> str:
    """A Slack mrkdwn link (``&``, ``<`` and ``>`` escaped in both parts, as Slack requires)."""
    escape = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
    return f"<{''.join(escape.get(c, c) for c in url)}|{slack_escape(label)}>"


def backtest_sentence(backtest: BacktestSummary | None) -> str:
    """The backtest in one line: ``last week's plans cost $X on this week's traffic; best in hindsight $Y (N
    endpoints)``, or why there is none. (No regret printed: X − Y of the rounded amounts can differ from the rounded
    regret by a dollar, and the two amounts say it.)"""
    if backtest is None:
        return "no backtest this week: no plans of the week before could be costed on this week's traffic"
    return (
        f"last week's plans cost {format_usd(backtest.plan_cost_usd)} on this week's traffic; best in hindsight "
        f"{format_usd(backtest.hindsight_cost_usd)} ({backtest.endpoints} "
        f"endpoint{'s' if backtest.endpoints != 1 else ''})"
    )


def _backtest_section(report: WeekReport) -> dict[str, Any]:
    """The "Backtest" section: last week's recommended plans on this week's traffic against the best in hindsight."""
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": f"*Backtest*\n{backtest_sentence(report.backtest)}"},
    }


def _slo_line(line: SloLine) -> str:
    """One bullet of the SLO section."""
    if line.status == SLO_NOT_CHECKED:
        return f"{_code(line.endpoint)}: {slack_escape(line.slo)} *not checked*: no serverless latency data this week"
    worst = f", worst hour {line.worst_hour_ms:,.0f} ms" if line.worst_hour_ms is not None else ""
    text = (
        f"{_code(line.endpoint)}: {slack_escape(line.slo)} *breached* in {line.breached_hours} of "
        f"{line.hours_with_requests} hours{worst}; "
    )
    if line.plan is None:
        return text + "no plan can reserve capacity to meet it"
    return text + (
        f"meeting it: {slack_escape(line.plan)}, *+{format_usd(line.premium_usd)}/week* over the cheapest plan "
        f"({slack_escape(line.action or '')})"
    )


def _slo_section(report: WeekReport) -> dict[str, Any]:
    """The "SLO" section: how many SLOs were met, breached or not checked, what meeting the breached ones costs,
    and a line per breached or unchecked SLO."""
    counts = dict(report.slo_counts)
    intro = (
        f"{sum(counts.values())} endpoint(s) with a latency SLO: {counts.get(SLO_BREACHED, 0)} breached, "
        f"{counts.get(SLO_MET, 0)} met, {counts.get(SLO_NOT_CHECKED, 0)} not checked · meeting the breached ones "
        f"costs {format_usd(report.slo_premium_usd)}/week more than the cheapest plans"
    )
    return _section(
        "SLO",
        [_slo_line(line) for line in report.slos],
        "Every SLO was met on serverless.",
        report.hidden_slos,
        f"beyond the top {report.settings.top_n}",
        intro=slack_escape(intro),
    )


def report_message(report: WeekReport) -> dict[str, Any]:
    """The chat.postMessage arguments of the weekly message except the channel: ``text`` and ``blocks``."""
    return {"text": summary_text(report), "blocks": report_blocks(report)}


def failure_alert_message(
    job_name: str, partition: str | None, run_id: str, first_error_line: str
) -> dict[str, Any]:
    """The chat.postMessage arguments (``text`` and ``blocks``) of a short run-failure alert."""
    where = f"`{slack_escape(job_name)}`" + (f" partition `{slack_escape(partition)}`" if partition else "")
    error = slack_escape(first_error_line[:300])
    text = f"modeshift run failed: {job_name}{' ' + partition if partition else ''} (run {run_id[:8]}): {first_error_line[:300]}"
    return {
        "text": display_name(text, 500),
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f":rotating_light: *modeshift run failed*: job {where}, run `{run_id}`\n> {error}",
                },
            }
        ],
    }


def message_text(message: dict[str, Any]) -> str:
    """A message's blocks as plain text, as a reader sees them (for ``modeshift slack --dry-run``): the header, each
    section's text and fields, context lines and ``---`` for a divider; Slack's escapes undone and a link
    ``<url|label>`` written ``label (url)``."""

    def plain(text: str) -> str:
        text = re.sub(r"<([^|<>]+)\|([^<>]+)>", r"\2 (\1)", text)
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    lines: list[str] = []
    for block in message.get("blocks") or []:
        kind = block.get("type")
        if kind == "divider":
            lines.append("---")
        elif kind == "header":
            lines.append(plain(block["text"]["text"]))
        elif kind == "section":
            if "text" in block:
                lines.append(plain(block["text"]["text"]))
            lines.extend(plain(field["text"]).replace("\n", ": ", 1) for field in block.get("fields") or [])
        elif kind == "context":
            lines.append(
                " · ".join(plain(element.get("text", "")) for element in block.get("elements") or [])
            )
    return "\n".join(lines) if lines else plain(str(message.get("text", "")))
