"""``modeshift report``: one week's recommendations as a readable terminal table, largest savings first, with totals."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import duckdb

from pipelines.core.duck import connect
from pipelines.core.errors import ModeshiftError
from pipelines.core.sql_loader import load_sql
from pipelines.core.text import format_usd, text_table
from pipelines.core.vocabulary import RESERVED_MODES, is_held_candidate
from pipelines.delivery.featured import ReportSettings
from pipelines.delivery.fleet_report import commitment_sentence, fleet_intro, fleet_summary, pool_sentence
from pipelines.delivery.warehouse import warehouse_lock_error
from pipelines.domain.price_comparison import what_it_says


def _money(value: float | None) -> str:
    """USD for the table (blank when unknown)."""
    return "" if value is None else format_usd(value)


def _recommended(row: dict) -> str:
    """``hybrid``, ``hybrid (autoscale)``, or for a held row ``serverless (raw: hybrid autoscale)``."""
    if row["action"] == "hold":
        family = (
            f" {row['raw_plan'].split(' ')[0]}"
            if (row.get("raw_plan") or "").startswith(("autoscale", "scheduled"))
            else ""
        )
        return f"{row['current_mode']} (raw: {row['raw_mode']}{family})"
    family = row.get("plan_family")
    return (
        f"{row['recommended_mode']} ({family})"
        if family in ("autoscale", "scheduled")
        else row["recommended_mode"]
    )


def _replicas(row: dict) -> str | int | None:
    """``3``, ``1–4`` for an autoscaler, ``2 Mon–Fri 08:00–20:00 UTC`` for a schedule; None when none reserved."""
    if row.get("plan_family") == "autoscale":
        return f"{row['min_replicas']}–{row['max_replicas']}"
    if row.get("plan_family") == "scheduled":
        return f"{row['replicas']} {row['schedule_window']}"
    return row["replicas"] or None


def _slo_label(row: dict) -> str:
    """``p95 ttft_ms <= 600 ms``."""
    return f"{row['percentile']} {row['metric']} <= {row['threshold_ms']:,.0f} ms"


def _prices(row: dict) -> str:
    """The row's price basis: ``list``, or ``billed 0.70`` / ``contract 0.80`` with the factor on list."""
    basis = row.get("price_basis") or "list"
    factor = row.get("price_factor")
    return basis if basis == "list" or factor is None else f"{basis} {factor:.2f}"


def basis_lines(rows: list[dict]) -> list[str]:
    """What the week's money is at (the ``prices`` column), and, when some endpoints are not at list, the totals at
    list and every endpoint list prices would recommend differently (docs/cost-model.md#price-bases)."""
    priced = [r for r in rows if r["current_cost_usd"] is not None]
    repriced = [r for r in priced if (r.get("price_basis") or "list") != "list"]
    if not repriced:
        return ["money at list prices (rate card)"] if priced else []
    counts = Counter(r.get("price_basis") or "list" for r in priced)
    bases = ", ".join(f"{basis} for {n}" for basis, n in sorted(counts.items()))
    saving = sum(r["savings_usd"] or 0 for r in priced)
    list_saving = sum(r["list_savings_usd"] or 0 for r in priced)
    lines = [
        f"money at the prices you pay ({bases} endpoint(s)): saving {_money(saving)}/week; "
        f"at list prices it would read {_money(list_saving)}/week"
    ]
    for r in repriced:
        if (r["list_action"], r["list_recommended_mode"]) != (r["action"], r["recommended_mode"]):
            at_list = what_it_says(r["list_action"], r["list_recommended_mode"], r["current_mode"])
            here = what_it_says(r["action"], r["recommended_mode"], r["current_mode"])
            lines.append(
                f"  {r['endpoint']}: at list prices {at_list} ({_money(r['list_savings_usd'])}/week saved); "
                f"at {r['price_basis']} prices {here}"
            )
    return lines


def slo_lines(rows: list[dict]) -> list[str]:
    """The report's SLO block (empty when the week has no endpoint with an SLO): a count per status, what meeting
    the breached SLOs costs (USD per week), and one line per breached or unchecked SLO."""
    if not rows:
        return []
    counts = {
        status: sum(1 for r in rows if r["status"] == status) for status in ("breached", "not_checked", "met")
    }
    premium = sum(r["slo_premium_usd"] or 0.0 for r in rows)
    lines = [
        "",
        f"SLOs: {len(rows)} endpoint(s) with a latency SLO: {counts['breached']} breached, {counts['met']} met, "
        f"{counts['not_checked']} not checked; meeting the breached ones costs {_money(premium)}/week more than "
        f"the cheapest plans",
    ]
    for r in rows:
        if r["status"] == "breached":
            plan = (
                f"{r['raw_replicas']} replica(s), {r['raw_mode']}"
                if r["raw_mode"] in RESERVED_MODES
                else "no plan can reserve capacity"
            )
            lines.append(
                f"  {r['endpoint']}: {_slo_label(r)} breached in {r['breached_hours']} of "
                f"{r['hours_with_requests']} hours (worst {r['worst_hour_ms']:,.0f} ms); meeting it: {plan}, "
                f"+{_money(r['slo_premium_usd'] or 0.0)}/week ({r['action']})"
            )
        elif r["status"] == "not_checked":
            lines.append(
                f"  {r['endpoint']}: {_slo_label(r)} not checked: no serverless latency data this week"
            )
    return lines


def fleet_lines(pool_rows: list[dict], commitment_rows: list[dict] | None = None) -> list[str]:
    """The report's fleet section: every pool recommended or held and every commitment recommended this week, with
    what each saves (no noise controls: the terminal report lists everything)."""
    commitment_rows = commitment_rows or []
    listed = ReportSettings(min_saving_usd=0.0, top_n=max(len(pool_rows), len(commitment_rows), 1))
    summary = fleet_summary(pool_rows, listed, commitment_rows)
    if summary.empty:
        return []
    return [
        "",
        f"Fleet: {fleet_intro(summary)}",
        *(f"  {pool_sentence(line)}" for line in summary.pools),
        *(f"  {commitment_sentence(line)}" for line in summary.commitments),
    ]


GLOSSARY = (
    "serverless = pay per token; dedicated = reserved replicas billed by time; hybrid = replicas plus a serverless "
    "overflow; batch = the asynchronous batch API at its discount; stay / tune / migrate / hold = keep the plan, "
    "change its settings, move, or a move held back (see Why)"
)


def render_report(
    warehouse: Path,
    week: date | None = None,
    top: int | None = None,
    min_saving_usd: float | None = None,
    fold_below_usd: float = 1.0,
) -> str:
    """The report of ``week`` (default: the newest week with recommendations) from the warehouse file. The table
    lists at most ``top`` endpoints (largest savings first), only those saving at least ``min_saving_usd`` USD a
    week when given, and folds the endpoints costing under ``fold_below_usd`` USD a week now and under the plan into
    one line; the totals always count every endpoint."""
    if not warehouse.exists():
        raise ModeshiftError(
            "There is no warehouse yet.", "Run 'modeshift materialize' (or 'modeshift demo') first."
        )
    try:
        con = connect(warehouse, read_only=True)
    except duckdb.IOException as error:
        clear = warehouse_lock_error(error, warehouse)
        if clear is None:
            raise
        raise clear from None
    with con:
        tables = {row[0] for row in con.sql(load_sql("report/list_tables")).fetchall()}
        if "recommendations" not in tables:
            raise ModeshiftError(
                "The warehouse has no recommendations yet.", "Run 'modeshift materialize' first."
            )
        weeks = [row[0] for row in con.sql(load_sql("report/weeks")).fetchall()]
        if not weeks:
            raise ModeshiftError(
                "The warehouse has no recommendations yet.", "Run 'modeshift materialize' first."
            )
        chosen = week.isoformat() if week else weeks[0]
        if chosen not in weeks:
            raise ModeshiftError(
                f"No recommendations for the week starting {chosen}.",
                f"Weeks with recommendations: {', '.join(sorted(weeks))} (weeks start on Monday).",
            )
        relation = con.sql(load_sql("report/recommendations"), params={"week_start": chosen})
        rows = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
        slo_rows: list[dict] = []
        if "slo_status" in tables:
            relation = con.sql(load_sql("report/slo_status"), params={"week_start": chosen})
            slo_rows = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
        pool_rows: list[dict] = []
        if "pool_recommendations" in tables:
            relation = con.sql(load_sql("report/pools"), params={"week_start": chosen})
            pool_rows = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
        commitment_rows: list[dict] = []
        if "commitments" in tables:
            relation = con.sql(load_sql("report/commitments"), params={"week_start": chosen})
            commitment_rows = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    shown, folded = _shown_rows(rows, top, min_saving_usd, fold_below_usd)
    table = text_table(
        ["endpoint", "now", "recommended", "action", "replicas", "now $/wk", "plan $/wk", "saving $/wk", "saving",
         "prices", "confidence"],
        [
            [r["endpoint"], r["current_mode"], _recommended(r), r["action"], _replicas(r),
             _money(r["current_cost_usd"]), _money(r["recommended_cost_usd"]), _money(r["savings_usd"]),
             f"{r['savings_pct']:.0%}" if r["savings_pct"] is not None else "", _prices(r), r["confidence"]]
            for r in shown
        ],
    )  # fmt: skip
    current = sum(r["current_cost_usd"] or 0 for r in rows)
    recommended = sum(r["recommended_cost_usd"] or 0 for r in rows)
    held = [r for r in rows if is_held_candidate(r)]
    lines = [
        f"modeshift recommendations for the week starting {chosen} ({len(rows)} endpoints)",
        "",
        table,
        *folded,
        GLOSSARY,
        "",
        f"total now {_money(current)}/week; under the recommendations {_money(recommended)}/week; "
        f"saving {_money(current - recommended)}/week ({(current - recommended) / current:.0%})"
        if current
        else "no priced spend this week",
        f"{len(held)} candidate(s) held by the hysteresis rule" if held else "",
        *basis_lines(rows),
        *slo_lines(slo_rows),
        *fleet_lines(pool_rows, commitment_rows),
        "",
        "Why:",
    ]
    for r in shown:
        lines.append(f"  {r['endpoint']}: {'; '.join(r['reasons'] or [])}.")
    return "\n".join(line for line in lines).rstrip() + "\n"


def _shown_rows(
    rows: list[dict], top: int | None, min_saving_usd: float | None, fold_below_usd: float
) -> tuple[list[dict], list[str]]:
    """The rows the table lists (see :func:`render_report`) and one line per group left out, each with its count
    and its weekly money (USD) so the table and the lines add up to the totals."""
    small = [
        r for r in rows
        if (r["current_cost_usd"] or 0) < fold_below_usd and (r["recommended_cost_usd"] or 0) < fold_below_usd
    ]  # fmt: skip
    rest = [r for r in rows if r not in small]
    below = [r for r in rest if min_saving_usd is not None and (r["savings_usd"] or 0) < min_saving_usd]
    rest = [r for r in rest if r not in below]
    beyond = rest[top:] if top is not None else []
    shown = rest[:top] if top is not None else rest
    folded = []
    for group, what in (
        (small, f"under {_money(fold_below_usd)}/week now and under the plan"),
        (below, f"saving under {_money(min_saving_usd or 0)}/week (--min-saving)"),
        (beyond, f"beyond the top {top} (--top)"),
    ):
        if group:
            now = sum(r["current_cost_usd"] or 0 for r in group)
            saving = sum(r["savings_usd"] or 0 for r in group)
            folded.append(
                f"... and {len(group)} more endpoint(s) {what}: {_money(now)}/week now, saving {_money(saving)}/week"
            )
    return shown, folded
