"""Cached input tokens priced at the card's cached price and weighted by capacity.cached_input_weight
(docs/cost-model.md#cached-input-tokens): known answers through the minute rollup, the domain formulas, a property
(cost never rises with the cached share when cached tokens are cheaper) and the whole pipeline through Dagster."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.app.runner import materialize_pending
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.schema import LAKE_COLUMNS
from pipelines.core.settings import Settings
from pipelines.domain.cost_model import serverless_cost_usd, weighted_demand_tps
from pipelines.ingest.landing import land_file
from pipelines.lake.rate_card import load_rate_card
from pipelines.lake.rollups import rollup_day

HEADER = (
    "model,effective_from,effective_to,input_usd_per_mtok,output_usd_per_mtok,batch_offered,batch_discount,"
    "gpu_type,gpus_per_replica,usd_per_gpu_hour,replica_capacity_tps,output_weight,target_utilization,source,as_of"
)
# gpt-4o at the Azure standard list prices of the shipped card: $2.50 input, $1.25 cached input, $10.00 output.
CARD = (
    HEADER + ",cached_input_usd_per_mtok\n"
    "cached/model,2020-01-01,,2.50,10.00,false,,G1,1,2.0,1000,3,1.0,test card,2026-11-01,1.25\n"
    "plain/model,2020-01-01,,2.50,10.00,false,,G1,1,2.0,1000,3,1.0,test card,2026-11-01,\n"
)
DAY = "2026-11-03"


def _configure(home: Home, card: str, extra: str = "") -> Path:
    path = home.root / "card.csv"
    path.write_text(card)
    home.config_file.write_text(f"rate_card: {path}\n{extra}")
    return path


def _lake_day(home: Home, rows: list[dict]) -> None:
    """A merged lake day (every lake column; the values not given are neutral) and its manifest."""
    start = datetime.fromisoformat(DAY).replace(tzinfo=UTC)
    full = [
        {
            "request_id": f"r{i}",
            "ts": start + timedelta(minutes=row.pop("minute", 0)),
            "latency_ms": None,
            "ttft_ms": None,
            "ok": True,
            "stream": None,
            "interactive": None,
            "client": "c",
            "deployment_mode": "serverless",
            "billed_cost_usd": None,
            "source_file": "f",
            "source_line": i + 1,
            "cached_input_tokens": None,
        }
        | row
        for i, row in enumerate(rows)
    ]
    frame = pl.DataFrame(
        full,
        schema_overrides={
            "ts": pl.Datetime("us", "UTC"), "cached_input_tokens": pl.Int64, "latency_ms": pl.Float64,
            "ttft_ms": pl.Float64, "stream": pl.Boolean, "interactive": pl.Boolean, "billed_cost_usd": pl.Float64,
            "input_tokens": pl.Int64, "output_tokens": pl.Int64, "source_line": pl.Int64,
        },
    ).select(LAKE_COLUMNS)  # fmt: skip
    day_dir = home.request_day_dir(DAY)
    day_dir.mkdir(parents=True)
    frame.write_parquet(day_dir / "part.parquet")
    (day_dir / "_manifest.json").write_text(json.dumps({"day": DAY, "inputs": {"f": {"rows": len(rows)}}}))


def _minutes(home: Home) -> dict[tuple[str, str], dict]:
    assert rollup_day(home, Settings.load(home), DAY) is not None
    frame = pl.read_parquet(home.rollup_day_dir(DAY) / "minutes.parquet")
    return {(r["endpoint"], r["model"]): r for r in frame.to_dicts()}


def _request(endpoint: str, model: str, tokens_in: int, cached: int | None, tokens_out: int, **more) -> dict:
    return {"endpoint": endpoint, "model": model, "input_tokens": tokens_in, "cached_input_tokens": cached,
            "output_tokens": tokens_out} | more  # fmt: skip


def test_a_minute_with_cached_tokens_costs_the_card_cached_price(home: Home) -> None:
    # 1,000,000 input tokens of which 600,000 cached, 100,000 output, in two requests of one minute:
    #   (400,000 × 2.50 + 600,000 × 1.25 + 100,000 × 10.00) / 1e6 = 1.00 + 0.75 + 1.00 = $2.75
    # The same minute at a card row without a cached price: (1,000,000 × 2.50 + 100,000 × 10) / 1e6 = $3.50.
    # A failed request's cached tokens are load, not spend: neither priced nor weighted.
    _configure(home, CARD)
    _lake_day(home, [
        _request("a", "cached/model", 700_000, 500_000, 60_000),
        _request("a", "cached/model", 300_000, 100_000, 40_000),
        _request("a", "cached/model", 50_000, 50_000, 0, ok=False),
        _request("b", "plain/model", 700_000, 500_000, 60_000),
        _request("b", "plain/model", 300_000, 100_000, 40_000),
        _request("c", "cached/model", 1_000_000, None, 100_000),  # no cached tokens logged
    ])  # fmt: skip
    rows = _minutes(home)
    cached, plain, none = rows[("a", "cached/model")], rows[("b", "plain/model")], rows[("c", "cached/model")]
    assert cached["ok_cached_input_tokens"] == 600_000 and cached["cached_input_tokens"] == 650_000
    assert cached["list_cost_usd"] == pytest.approx(2.75, rel=1e-12)
    assert plain["list_cost_usd"] == pytest.approx(3.50, rel=1e-12)  # null cached price = the input price
    assert none["ok_cached_input_tokens"] == 0
    assert none["list_cost_usd"] == (1_000_000 * 2.50 + 100_000 * 10.00) / 1e6  # bit for bit the old formula
    # the default weight 1.0 keeps weighted tokens = input + w × output whatever the cache did
    assert cached["weighted_tokens"] == 1_000_000 + 3 * 100_000 == plain["weighted_tokens"]


def test_the_cached_input_weight_applies_to_weighted_tokens_only(home: Home) -> None:
    # w_c = 0.25, w = 3: 400,000 + 0.25 × 600,000 + 3 × 100,000 = 850,000 weighted tokens; the cost is unchanged.
    _configure(home, CARD, "capacity:\n  cached_input_weight: 0.25\n")
    _lake_day(home, [_request("a", "cached/model", 1_000_000, 600_000, 100_000)])
    row = _minutes(home)[("a", "cached/model")]
    assert row["weighted_tokens"] == 850_000
    assert row["list_cost_usd"] == pytest.approx(2.75, rel=1e-12)


def test_changing_the_weight_makes_the_rollups_pending(home: Home) -> None:
    from pipelines.lake.lineage import pending_rollup_days

    _configure(home, CARD)
    _lake_day(home, [_request("a", "cached/model", 10, 5, 1)])
    _minutes(home)
    assert pending_rollup_days(home, Settings.load(home)) == []
    _configure(home, CARD, "capacity:\n  cached_input_weight: 0.5\n")
    assert pending_rollup_days(home, Settings.load(home)) == [DAY]


def test_old_cards_load_and_bad_cached_prices_are_refused(home: Home, tmp_path: Path) -> None:
    old = tmp_path / "old.csv"
    old.write_text(HEADER + "\nm,2020-01-01,,1.0,2.0,false,,,,,,1,,test,2026-11-01\n")
    card = load_rate_card(old)
    assert card["cached_input_usd_per_mtok"].to_list() == [None]
    assert card.schema["cached_input_usd_per_mtok"] == pl.Float64
    for price, words in (("-0.1", "negative"), ("1.5", "above its input tokens")):
        bad = tmp_path / "bad.csv"
        bad.write_text(
            HEADER + f",cached_input_usd_per_mtok\nm,2020-01-01,,1.0,2.0,false,,,,,,1,,t,2026-11-01,{price}\n"
        )
        with pytest.raises(ModeshiftError, match=words):
            load_rate_card(bad)
    with pytest.raises(Exception, match="cached_input_weight"):
        Settings.from_overrides({"capacity": {"cached_input_weight": 1.5}})


def test_the_domain_formulas_match_the_worked_example() -> None:
    tokens_in, cached, tokens_out = np.array([1_000_000.0]), np.array([600_000.0]), np.array([100_000.0])
    assert serverless_cost_usd(tokens_in, tokens_out, 2.5, 10.0, cached, 1.25)[0] == pytest.approx(2.75)
    assert serverless_cost_usd(tokens_in, tokens_out, 2.5, 10.0, cached, None)[0] == pytest.approx(3.50)
    assert weighted_demand_tps(tokens_in, tokens_out, 3.0, cached, 0.25)[0] * 60 == pytest.approx(850_000)
    assert weighted_demand_tps(tokens_in, tokens_out, 3.0, cached)[0] * 60 == pytest.approx(1_300_000)
    with pytest.raises(ValueError, match="cached_input_tokens"):
        serverless_cost_usd(tokens_in, tokens_out, 2.5, 10.0, tokens_in + 1, 1.25)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    tokens_in=st.integers(0, 10**9),
    tokens_out=st.integers(0, 10**9),
    shares=st.lists(st.floats(0, 1), min_size=2, max_size=6),
    p_in=st.floats(0, 100),
    discount=st.floats(0, 1),
    p_out=st.floats(0, 100),
    weight=st.floats(0, 1),
)
def test_cost_and_load_never_rise_with_the_cached_share(
    tokens_in, tokens_out, shares, p_in, discount, p_out, weight
):
    """With p_cin ≤ p_in, more of the same input served from the cache never costs more, and with w_c ≤ 1 never
    weighs more; at share 0 both are the formulas without cached tokens."""
    p_cin = p_in * discount
    cached = np.floor(np.sort(np.asarray(shares)) * tokens_in)
    n = cached.size
    cost = serverless_cost_usd(np.full(n, tokens_in), np.full(n, tokens_out), p_in, p_out, cached, p_cin)
    load = weighted_demand_tps(np.full(n, tokens_in), np.full(n, tokens_out), 2.0, cached, weight)
    slack = 1e-12 * (tokens_in * p_in + tokens_out * p_out + 1) / 1e6
    assert (np.diff(cost) <= slack).all()
    assert (np.diff(load) <= 1e-9 * (tokens_in + 2 * tokens_out + 1)).all()
    none = serverless_cost_usd(np.array([tokens_in]), np.array([tokens_out]), p_in, p_out)
    zero = serverless_cost_usd(
        np.array([tokens_in]), np.array([tokens_out]), p_in, p_out, np.array([0.0]), p_cin
    )
    assert zero[0] == none[0]


# --- end to end through Dagster --------------------------------------------------------------------------------

MONDAY = datetime(2026, 11, 2, tzinfo=UTC)


def _week(endpoint: str, tokens_in: int, cached: int | None) -> list[dict]:
    """One request at the start of every minute of the week 2026-11-02."""
    return [
        {"request_id": f"{endpoint}-{m}", "ts": (MONDAY + timedelta(minutes=m)).isoformat(), "endpoint": endpoint,
         "model": "cached/model", "input_tokens": tokens_in, "output_tokens": 1_000, "stream": True}
        | ({"cached_input_tokens": cached} if cached is not None else {})
        for m in range(7 * 1440)
    ]  # fmt: skip


@pytest.mark.slow
def test_the_weekly_current_cost_drops_by_the_cached_discount(home: Home, tmp_path: Path) -> None:
    # Two serverless endpoints with the same traffic, 100,000 input and 1,000 output tokens a minute; one log says
    # 80,000 of the input tokens were cached. Per minute: plain 100,000 × 2.50 / 1e6 + 1,000 × 10 / 1e6 = $0.26;
    # cached 20,000 × 2.50 / 1e6 + 80,000 × 1.25 / 1e6 + $0.01 = $0.16: the week costs 10,080 × $0.10 = $1,008.00
    # less (10,080 × $0.26 = $2,620.80 vs 10,080 × $0.16 = $1,612.80).
    _configure(home, CARD)
    path = tmp_path / "week.jsonl"
    path.write_text(
        "".join(json.dumps(r) + "\n" for r in _week("plain", 100_000, None) + _week("hit", 100_000, 80_000))
    )
    land_file(home, path, "canonical", {})
    materialize_pending(home, progress=lambda _: None)
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        cost = dict(con.sql("SELECT endpoint, current_cost_usd FROM recommendations").fetchall())
        profile = dict(con.sql("SELECT endpoint, cached_input_tokens FROM endpoint_profiles").fetchall())
    assert round(cost["plain"], 2) == 2620.80
    assert round(cost["hit"], 2) == 1612.80
    assert round(cost["plain"] - cost["hit"], 2) == 1008.00
    assert profile == {"plain": 0, "hit": 80_000 * 10_080}
