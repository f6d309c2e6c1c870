"""The terminal report's table: --top and --min-saving list fewer endpoints, endpoints under $1/week fold into one
line, and whatever is left out is counted with its money, so the listed rows and the folded lines add up to the
totals (which always count every endpoint)."""

from __future__ import annotations

import re

import duckdb

from pipelines.delivery.report import GLOSSARY, render_report

WEEK_SQL = (
    "SELECT endpoint, current_cost_usd, savings_usd FROM recommendations WHERE week_start = '2026-11-09'"
)


def _money(text: str) -> float:
    return float(text.replace("$", "").replace(",", ""))


def _listed(report: str, endpoints: list[str]) -> list[str]:
    return [e for e in endpoints if re.search(rf"^{re.escape(e)}\s", report, flags=re.M)]


def _folded_saving(report: str) -> float:
    return sum(_money(m) for m in re.findall(r"more endpoint\(s\) .*?, saving (\$[\d,.-]+)/week", report))


def test_top_min_saving_and_folding_add_up_to_the_totals(built_home):
    from datetime import date

    with duckdb.connect(str(built_home.warehouse), read_only=True) as con:
        rows = con.sql(WEEK_SQL).fetchall()
    endpoints = [r[0] for r in rows]
    week = date(2026, 11, 9)
    full = render_report(built_home.warehouse, week, fold_below_usd=0.0)
    assert GLOSSARY in full and _listed(full, endpoints) == _listed(full, endpoints)
    assert set(_listed(full, endpoints)) == set(endpoints)  # nothing folded at a $0 threshold
    total_line = next(line for line in full.splitlines() if line.startswith("total now"))

    top1 = render_report(built_home.warehouse, week, top=1, fold_below_usd=0.0)
    listed = _listed(top1, endpoints)
    assert len(listed) == 1
    best = max(rows, key=lambda r: r[2] or 0)
    assert listed == [best[0]]  # largest saving first
    assert f"... and {len(rows) - 1} more endpoint(s) beyond the top 1 (--top)" in top1
    assert next(line for line in top1.splitlines() if line.startswith("total now")) == total_line
    others = sum(r[2] or 0 for r in rows if r[0] != best[0])
    assert abs(_folded_saving(top1) - others) < 0.01

    threshold = (best[2] or 0) + 1  # no endpoint saves that much
    none = render_report(built_home.warehouse, week, min_saving_usd=threshold, fold_below_usd=0.0)
    assert _listed(none, endpoints) == []
    assert re.search(
        rf"\.\.\. and {len(rows)} more endpoint\(s\) saving under \$[\d,.]+/week \(--min-saving\)", none
    )

    cheap = [r[0] for r in rows if (r[1] or 0) < 1e9]  # every endpoint is "small" below a huge threshold
    folded_all = render_report(built_home.warehouse, week, fold_below_usd=1e9)
    assert (
        _listed(folded_all, endpoints) == [] and f"... and {len(cheap)} more endpoint(s) under" in folded_all
    )


def test_basis_lines_give_the_saving_at_list_and_every_decision_list_prices_would_change() -> None:
    from pipelines.delivery.report import basis_lines

    row = {"endpoint": "steady", "current_mode": "serverless", "current_cost_usd": 403.2, "savings_usd": 0.0,
           "action": "stay", "recommended_mode": "serverless", "price_basis": "billed", "price_factor": 0.5,
           "list_savings_usd": 268.8, "list_action": "migrate", "list_recommended_mode": "hybrid"}  # fmt: skip
    listed = row | {"endpoint": "other", "price_basis": "list", "savings_usd": 10.0, "list_savings_usd": 10.0,
                    "list_action": "stay", "list_recommended_mode": "serverless"}  # fmt: skip
    assert basis_lines([row, listed]) == [
        "money at the prices you pay (billed for 1, list for 1 endpoint(s)): saving $10.00/week; "
        "at list prices it would read $279/week",
        "  steady: at list prices migrate to hybrid ($269/week saved); at billed prices stay on serverless",
    ]
    assert basis_lines([listed]) == ["money at list prices (rate card)"]
    assert basis_lines([]) == []
