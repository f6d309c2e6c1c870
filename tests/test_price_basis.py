"""price_basis end to end: landed request logs → real Dagster runs → the weekly table in the lake and warehouse."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.app.runner import materialize_pending
from pipelines.core.home import Home
from pipelines.ingest.landing import land_file
from pipelines.lake.weekly_store import read_week_table

WEEK = datetime(2026, 9, 28, tzinfo=UTC)  # a Monday
# Priced in the shipped rate card (together), in and out per million tokens: 0.18 and 0.88 USD.
DISCOUNTED, DISCOUNTED_PRICE = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", 0.18
HALF_BILLED, HALF_BILLED_PRICE = "meta-llama/Llama-3.3-70B-Instruct-Turbo", 0.88


def _rows(endpoint: str, model: str, price: float, n: int, billed) -> list[dict]:
    list_usd = (100 + 20) * price / 1e6
    return [
        {
            "request_id": f"{endpoint}-{i}",
            "ts": (WEEK + timedelta(minutes=7 * i)).isoformat(),
            "endpoint": endpoint,
            "model": model,
            "input_tokens": 100,
            "output_tokens": 20,
            "billed_cost_usd": billed(i, list_usd),
        }
        for i in range(n)
    ]


def _land(home: Home, path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    land_file(home, path, "canonical", {})


def test_price_basis_of_a_discounted_and_a_half_billed_model(home: Home, tmp_path: Path) -> None:
    n = 400  # one request every 7 minutes: 400 requests span about two days of the week
    _land(home, tmp_path / "a.jsonl", _rows("chat", DISCOUNTED, DISCOUNTED_PRICE, n, lambda i, p: 0.7 * p))
    _land(
        home,
        tmp_path / "b.jsonl",
        _rows("docs", HALF_BILLED, HALF_BILLED_PRICE, n, lambda i, p: p if i % 2 else None),
    )
    materialize_pending(home, progress=lambda _: None)

    table = read_week_table(home, "price_basis", date(2026, 9, 28))
    assert table is not None
    rows = {r["model"]: r for r in table.filter(pl.col("endpoint").is_null()).iter_rows(named=True)}
    a, b = rows[DISCOUNTED], rows[HALF_BILLED]
    assert a["effective_factor"] == pytest.approx(0.70, rel=1e-9)
    assert (a["rows_with_both"], a["ok_requests"], a["coverage_share"]) == (n, n, 1.0)
    assert a["warning"] is None
    assert a["list_cost_usd"] == pytest.approx(n * 120 * DISCOUNTED_PRICE / 1e6, rel=1e-9)
    assert b["effective_factor"] == pytest.approx(1.0, rel=1e-9)
    assert (b["rows_with_both"], b["ok_requests"], b["coverage_share"]) == (n // 2, n, 0.5)
    assert "partial" in b["warning"]

    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        published = con.sql(
            "SELECT model, effective_factor FROM price_basis WHERE endpoint IS NULL ORDER BY model"
        ).fetchall()
    assert [m for m, _ in published] == sorted([DISCOUNTED, HALF_BILLED])


def test_an_endpoint_billed_on_its_own_is_costed_at_its_own_price(home: Home, tmp_path: Path) -> None:
    # three endpoints of one model: a gateway billed at 60 % of list, one billed at list, one without billed cost
    n = 400
    _land(home, tmp_path / "g.jsonl", _rows("gateway", DISCOUNTED, DISCOUNTED_PRICE, n, lambda i, p: 0.6 * p))
    _land(home, tmp_path / "d.jsonl", _rows("direct", DISCOUNTED, DISCOUNTED_PRICE, n, lambda i, p: p))
    _land(home, tmp_path / "l.jsonl", _rows("legacy", DISCOUNTED, DISCOUNTED_PRICE, 10, lambda i, p: None))
    materialize_pending(home, progress=lambda _: None)

    table = read_week_table(home, "price_basis", date(2026, 9, 28))
    assert table is not None
    model = table.filter(pl.col("endpoint").is_null()).row(0, named=True)
    assert model["effective_factor"] == pytest.approx(0.8, rel=1e-9)  # (0.6 + 1.0) / 2 over equal list costs
    assert model["coverage_share"] == pytest.approx(800 / 810)
    endpoints = {
        r["endpoint"]: r for r in table.filter(pl.col("endpoint").is_not_null()).iter_rows(named=True)
    }
    assert set(endpoints) == {"gateway", "direct", "legacy"}
    assert endpoints["gateway"]["price_factor"] == pytest.approx(0.6, rel=1e-9)
    assert endpoints["direct"]["price_factor"] == pytest.approx(1.0, rel=1e-9)
    assert endpoints["legacy"]["price_factor"] == pytest.approx(0.8, rel=1e-9)  # its model's
    assert endpoints["legacy"]["basis_note"].endswith("(its model's basis)")
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        current = dict(
            con.execute(
                "SELECT endpoint, current_cost_usd / list_current_cost_usd FROM recommendations "
                "WHERE week_start = DATE '2026-09-28'"
            ).fetchall()
        )
    assert current == pytest.approx({"gateway": 0.6, "direct": 1.0, "legacy": 0.8})
