"""Price bases end to end (docs/cost-model.md#price-bases): the same two weeks of billed traffic decided through
real Dagster runs at list, billed and contract prices, with every figure computed by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.app.runner import materialize_pending
from pipelines.core.home import Home
from pipelines.ingest.landing import land_file

MONDAY = datetime(2026, 11, 2, tzinfo=UTC)
WEEK_2 = "2026-11-09"
# Two models at the same hand-friendly prices: $1 per million input tokens (output free), a replica of one GPU at
# $2 an hour serving K = 1,000 weighted tokens/s at u = 1, batch half price.
RATE_CARD = """model,effective_from,effective_to,input_usd_per_mtok,output_usd_per_mtok,batch_offered,batch_discount,gpu_type,gpus_per_replica,usd_per_gpu_hour,replica_capacity_tps,output_weight,target_utilization,source,as_of
hand/chat,2020-01-01,,1.0,0.0,true,0.5,G1,1,2.0,1000,1,1.0,test card,2026-11-01
hand/batchy,2020-01-01,,1.0,0.0,true,0.5,G1,1,2.0,1000,1,1.0,test card,2026-11-01
"""
# steady (hand/chat, billed at half the list price): 80,000 input tokens every minute = 1,333.3 weighted tokens/s.
#   list:   serverless $0.08 × 10,080 minutes = $806.40; one replica $2 × 168 h = $336 + a quarter of every
#           minute overflowing ($201.60) = $537.60 → hybrid, saving $268.80 a week.
#   billed: serverless $403.20; one replica $336 + $100.80 = $436.80 → serverless is the cheapest plan: stay.
STEADY_TOKENS, STEADY_BILLED = 80_000, 0.5
# nightly (hand/batchy, offline, billed at 70 % of list): 200,000 input tokens a minute from 01:00 to 03:00 UTC.
#   list:   120 minutes × 7 nights × $0.20 = $168.00 a week; batch at half price saves $84.00.
#   billed: $117.60 a week; batch saves $58.80 = 70 % of the saving at list (30 % lower).
NIGHTLY_TOKENS, NIGHTLY_BILLED = 200_000, 0.7


def _rows() -> list[dict]:
    rows = []
    for m in range(2 * 7 * 1440):
        ts = MONDAY + timedelta(minutes=m)
        rows.append({"request_id": f"s-{m}", "ts": ts.isoformat(), "endpoint": "steady", "model": "hand/chat",
                     "input_tokens": STEADY_TOKENS, "output_tokens": 0, "stream": True,
                     "billed_cost_usd": STEADY_TOKENS * 1e-6 * STEADY_BILLED})  # fmt: skip
        if 60 <= m % 1440 < 180:
            rows.append({"request_id": f"n-{m}", "ts": ts.isoformat(), "endpoint": "nightly", "model": "hand/batchy",
                         "input_tokens": NIGHTLY_TOKENS, "output_tokens": 0, "interactive": False,
                         "billed_cost_usd": NIGHTLY_TOKENS * 1e-6 * NIGHTLY_BILLED})  # fmt: skip
    return rows


def _configure(home: Home, card: Path, pricing: str) -> None:
    home.config_file.write_text(f"rate_card: {card}\n{pricing}")


def _week_2(home: Home) -> dict[str, dict]:
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        relation = con.sql("SELECT * FROM recommendations WHERE week_start = $week", params={"week": WEEK_2})
        rows = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    return {r["endpoint"]: r for r in rows}


def _price_basis(home: Home) -> dict[str, dict]:
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        relation = con.sql(
            "SELECT * FROM price_basis WHERE week_start = $week AND endpoint IS NULL", params={"week": WEEK_2}
        )
        rows = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    return {r["model"]: r for r in rows}


@pytest.mark.slow
def test_migrate_at_list_becomes_stay_at_billed_and_contract_overrides(home: Home, tmp_path: Path) -> None:
    card = tmp_path / "card.csv"
    card.write_text(RATE_CARD)
    log = tmp_path / "billed.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in _rows()))

    _configure(home, card, "pricing:\n  basis: list\n")
    land_file(home, log, "canonical", {})
    materialize_pending(home, progress=lambda _: None)
    at_list = _week_2(home)
    steady, nightly = at_list["steady"], at_list["nightly"]
    assert (steady["action"], steady["recommended_mode"], steady["replicas"]) == ("migrate", "hybrid", 1)
    assert steady["current_cost_usd"] == pytest.approx(806.40)
    assert steady["savings_usd"] == pytest.approx(268.80)
    assert (nightly["action"], nightly["recommended_mode"]) == ("migrate", "batch")
    assert nightly["savings_usd"] == pytest.approx(84.00)
    assert steady["price_basis"] == nightly["price_basis"] == "list"
    assert steady["list_savings_usd"] == pytest.approx(268.80)  # at list, the list figures are the figures
    assert _price_basis(home)["hand/chat"]["effective_factor"] == pytest.approx(STEADY_BILLED)

    _configure(
        home, card, ""
    )  # the default, auto: billed prices, since every ok request carries a billed cost
    materialize_pending(home, progress=lambda _: None)
    billed = _week_2(home)
    steady, nightly = billed["steady"], billed["nightly"]
    assert steady["price_basis"] == "billed" and steady["price_factor"] == pytest.approx(STEADY_BILLED)
    assert steady["current_cost_usd"] == pytest.approx(403.20)
    assert (steady["action"], steady["recommended_mode"]) == ("stay", "serverless")
    assert steady["savings_usd"] == pytest.approx(0.0)
    assert (steady["list_action"], steady["list_recommended_mode"]) == ("migrate", "hybrid")
    assert steady["list_savings_usd"] == pytest.approx(268.80)
    assert steady["list_current_cost_usd"] == pytest.approx(806.40)
    said = " ".join(steady["reasons"])
    assert (
        "billed prices: 0.50 × list" in said
        and "At list prices modeshift would say migrate to hybrid" in said
    )
    assert (nightly["action"], nightly["recommended_mode"]) == ("migrate", "batch")
    assert nightly["savings_usd"] == pytest.approx(58.80)
    assert nightly["savings_usd"] == pytest.approx(
        0.7 * nightly["list_savings_usd"]
    )  # 30 % lower than at list
    assert "$58.80/week at billed prices, $84.00/week at list" in " ".join(nightly["reasons"])

    # Every serverless figure of the week is at the basis: the plan options, the curve's total(0), the
    # concentration and the backtest.
    week = {"week": WEEK_2}
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        serverless_option = con.execute(
            "SELECT total_cost_usd FROM plan_options WHERE week_start = $week AND endpoint = 'steady' "
            "AND family = 'serverless'",
            week,
        ).fetchone()[0]
        curve_zero = con.execute(
            "SELECT total_cost_usd FROM plan_curve WHERE week_start = $week AND endpoint = 'steady' "
            "AND replicas = 0",
            week,
        ).fetchone()[0]
        concentration = con.execute(
            "SELECT total_cost_usd, price_basis FROM spend_concentration_summary WHERE week_start = $week",
            week,
        ).fetchone()
        backtest = con.execute(
            "SELECT recommended_plan_cost_usd FROM backtest WHERE week_start = $week AND endpoint = 'steady'",
            week,
        ).fetchone()[0]
    assert serverless_option == pytest.approx(403.20) and curve_zero == pytest.approx(403.20)
    assert concentration[0] == pytest.approx(403.20 + 117.60) and concentration[1] == "billed"
    assert backtest == pytest.approx(
        403.20
    )  # last week's plan (held: serverless) on this week at billed prices

    _configure(
        home,
        card,
        "pricing:\n  contracts:\n    - {model: hand/chat, discount: 0.10, source: order form 2026-10}\n",
    )
    materialize_pending(home, progress=lambda _: None)
    contract = _week_2(home)
    steady = contract["steady"]
    # contract: 90 % of list overrides the 50 % billed: serverless $725.76, one replica $336 + $181.44 = $517.44.
    assert steady["price_basis"] == "contract" and steady["price_factor"] == pytest.approx(0.9)
    assert (steady["action"], steady["recommended_mode"]) == ("migrate", "hybrid")
    assert steady["savings_usd"] == pytest.approx(725.76 - 517.44)
    assert "order form 2026-10" in steady["price_note"]
    assert contract["nightly"]["price_basis"] == "billed"  # no contract for hand/batchy: its billed prices
    assert _price_basis(home)["hand/chat"]["contract_source"] == "order form 2026-10"

    # A GPU contract halves the replica's price (G1 at $1 per GPU-hour instead of $2); serverless back at the billed
    # 50 %: serverless $403.20, one replica $168 + $100.80 overflow = $268.80 → hybrid, saving $134.40.
    _configure(
        home,
        card,
        "pricing:\n  gpu_contracts:\n    - {gpu_type: G1, usd_per_gpu_hour: 1.0, source: GPU order 2026-11}\n",
    )
    materialize_pending(home, progress=lambda _: None)
    steady = _week_2(home)["steady"]
    assert steady["price_basis"] == "billed" and steady["current_cost_usd"] == pytest.approx(403.20)
    assert (steady["action"], steady["recommended_mode"], steady["replicas"]) == ("migrate", "hybrid", 1)
    assert steady["recommended_cost_usd"] == pytest.approx(268.80)
    assert steady["savings_usd"] == pytest.approx(134.40)
    assert (
        "dedicated replicas at the contract GPU price: $1.00 per G1 GPU-hour (GPU order 2026-11; the rate "
        "card's $2.00)"
    ) in steady["reasons"]
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        card_rows = con.execute(
            "SELECT usd_per_gpu_hour, list_usd_per_gpu_hour, gpu_price_source FROM rate_card WHERE model = 'hand/chat'"
        ).fetchall()
    assert card_rows == [(1.0, 2.0, "GPU order 2026-11")]
