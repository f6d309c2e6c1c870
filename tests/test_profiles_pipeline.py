"""Traffic profiles end to end: generated requests → real Dagster runs → endpoint_profiles in the warehouse."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from pipelines.app.runner import materialize_pending
from pipelines.core.home import Home
from pipelines.ingest.landing import land_file

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"  # priced in the shipped rate card: 0.18 $/M in and out
WEEK = datetime(2026, 9, 28, tzinfo=UTC)  # a Monday; the week spans the September/October boundary


def _requests(endpoint: str, seconds: np.ndarray, tokens_in: int = 100, tokens_out: int = 20) -> list[dict]:
    return [
        {
            "request_id": f"{endpoint}-{i}",
            "ts": (WEEK + timedelta(seconds=float(s))).isoformat(),
            "endpoint": endpoint,
            "model": MODEL,
            "input_tokens": tokens_in,
            "output_tokens": tokens_out,
            "stream": True,
        }
        for i, s in enumerate(seconds)
    ]


def _land(home: Home, path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    land_file(home, path, "canonical", {})


def _profiles(home: Home) -> dict[str, dict]:
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        relation = con.sql("SELECT * FROM endpoint_profiles ORDER BY endpoint")
        return {row[1]: dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()}


@pytest.mark.slow
def test_a_week_of_poisson_periodic_and_flat_traffic(home, tmp_path):
    rng = np.random.default_rng(7)
    week_s = 7 * 86_400
    poisson = np.sort(rng.uniform(0, week_s, 60_000))
    periodic = np.arange(0, week_s, 60.0) + 30.0  # one request every minute, on the half minute
    _land(home, tmp_path / "poisson.jsonl", _requests("poisson", poisson))
    _land(home, tmp_path / "periodic.jsonl", _requests("periodic", periodic, tokens_in=300, tokens_out=0))
    materialize_pending(home, progress=lambda _: None)
    profiles = _profiles(home)

    p = profiles["poisson"]
    assert p["requests"] == 60_000 and p["coverage_days"] == 7
    assert 0.9 <= p["fano"] <= 1.1
    assert abs(p["burstiness_b"]) < 0.05 and abs(p["burstiness_an"]) < 0.05
    assert p["latency_class"] == "interactive"
    assert p["input_tokens_p50"] == 100 and p["output_tokens_p95"] == 20
    assert p["list_cost_usd"] == pytest.approx(60_000 * 120 * 0.18 / 1e6, rel=1e-9)

    q = profiles["periodic"]
    assert q["requests"] == 7 * 1440
    assert q["burstiness_b"] == pytest.approx(-1.0, abs=1e-9)
    assert q["hourly_cv"] == pytest.approx(0.0, abs=1e-12) and q["baseline_ratio"] == pytest.approx(1.0)
    assert q["stability_class"] == "steady" and q["burst_class"] == "smooth"
    assert q["fano"] == pytest.approx(0.0, abs=1e-12)

    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        weeks = con.sql("SELECT DISTINCT CAST(week_start AS VARCHAR) FROM endpoint_profiles").fetchall()
        days = con.sql("SELECT count(DISTINCT day) FROM requests").fetchall()[0][0]
        shares = con.sql("SELECT sum(share) FROM spend_concentration").fetchall()[0][0]
        summary = con.sql("SELECT hhi, top_k_80, endpoints FROM spend_concentration_summary").fetchall()[0]
    assert weeks == [("2026-09-28",)] and days == 7  # September 30 and October 1 fall in the same ISO week
    assert shares == pytest.approx(1.0)
    assert summary[1] == 2 and summary[2] == 2


def test_a_request_crossing_midnight_counts_once_in_its_day_and_week(home, tmp_path):
    rows = _requests(
        "e", np.array([6 * 86_400 + 86_399.5, 7 * 86_400 + 0.5])
    )  # Sunday 23:59:59.5, Monday 00:00:00.5
    _land(home, tmp_path / "midnight.jsonl", rows)
    materialize_pending(home, progress=lambda _: None)
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        weeks = con.sql(
            "SELECT CAST(week_start AS VARCHAR), requests, coverage_days FROM endpoint_profiles ORDER BY 1"
        ).fetchall()
    assert weeks == [("2026-09-28", 1, 1), ("2026-10-05", 1, 1)]
