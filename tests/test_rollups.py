"""Daily rollups: the tuned SQL in sql/rollup_*.sql gives exactly what the plain per-request definitions give.

The reference queries below are the straightforward definitions (one scan per output, the rate card joined per
request, a window over each endpoint's arrivals, one GROUP BY over the union of the four metrics). The day they run
on has what makes the tuned queries' shortcuts risky: ties in arrival times, arrivals on exact minute boundaries,
NULLs in every optional column, endpoints served by several models, an unpriced model and prices that start or end
at the day's midnight, and a day before 1970 (negative epoch microseconds).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.core.duck import connect
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.lake.rate_card import load_rate_card
from pipelines.lake.rollups import rollup_day

REFERENCE_MINUTES = """
SELECT
    r.endpoint, r.model, date_trunc('minute', r.ts) AS minute,
    count(*) AS requests,
    count(*) FILTER (WHERE r.ok) AS ok_requests,
    sum(r.input_tokens) AS input_tokens,
    sum(r.output_tokens) AS output_tokens,
    sum(coalesce(r.cached_input_tokens, 0)) AS cached_input_tokens,
    coalesce(sum(r.input_tokens) FILTER (WHERE r.ok), 0) AS ok_input_tokens,
    coalesce(sum(r.output_tokens) FILTER (WHERE r.ok), 0) AS ok_output_tokens,
    coalesce(sum(r.cached_input_tokens) FILTER (WHERE r.ok), 0) AS ok_cached_input_tokens,
    sum(CASE WHEN r.ok THEN r.input_tokens - coalesce(r.cached_input_tokens, 0)
        + $cached_input_weight * coalesce(r.cached_input_tokens, 0) + c.output_weight * r.output_tokens END)
        AS weighted_tokens,
    sum(CASE WHEN r.ok THEN ((r.input_tokens - coalesce(r.cached_input_tokens, 0)) * c.input_usd_per_mtok
        + coalesce(r.cached_input_tokens, 0) * coalesce(c.cached_input_usd_per_mtok, c.input_usd_per_mtok)
        + r.output_tokens * c.output_usd_per_mtok) / 1e6 END) AS list_cost_usd,
    sum(r.billed_cost_usd) AS billed_cost_usd,
    count(r.billed_cost_usd) AS billed_requests,
    count(*) FILTER (WHERE r.stream OR r.interactive) AS interactive_requests,
    count(*) FILTER (WHERE NOT r.interactive OR r.deployment_mode = 'batch') AS offline_requests,
    count(*) FILTER (WHERE r.stream IS NOT NULL OR r.interactive IS NOT NULL OR r.deployment_mode = 'batch')
        AS signal_requests,
    count(*) FILTER (WHERE r.deployment_mode = 'dedicated') AS dedicated_requests,
    count(*) FILTER (WHERE r.deployment_mode = 'batch') AS batch_requests,
    min(epoch_us(r.ts)) AS first_arrival_us,
    max(epoch_us(r.ts)) AS last_arrival_us,
    count(*) FILTER (WHERE c.model IS NULL) AS unpriced_requests,
    count(r.billed_cost_usd) FILTER (WHERE r.ok) AS billed_ok_requests,
    sum(r.billed_cost_usd) FILTER (WHERE r.ok) AS billed_ok_cost_usd,
    sum(CASE WHEN r.ok AND r.billed_cost_usd IS NOT NULL THEN
        ((r.input_tokens - coalesce(r.cached_input_tokens, 0)) * c.input_usd_per_mtok
        + coalesce(r.cached_input_tokens, 0) * coalesce(c.cached_input_usd_per_mtok, c.input_usd_per_mtok)
        + r.output_tokens * c.output_usd_per_mtok) / 1e6 END) AS billed_list_cost_usd,
    CAST(NULL AS BIGINT) AS bucket_requests,  -- single requests: no usage bucket behind them
    CAST(NULL AS BIGINT) AS bucket_width_s
FROM read_parquet($files) AS r
LEFT JOIN rate_card AS c
    ON r.model = c.model AND r.ts >= c.effective_from AND (c.effective_to IS NULL OR r.ts < c.effective_to)
GROUP BY ALL
"""

REFERENCE_INTERARRIVAL = """
WITH gaps AS (
    SELECT
        endpoint, ts,
        (epoch_us(ts) - lag(epoch_us(ts)) OVER (PARTITION BY endpoint ORDER BY ts, request_id)) / 1e6 AS gap_s
    FROM read_parquet($files)
)
SELECT
    endpoint, CAST($day AS DATE) AS day, count(*) AS n_requests, count(gap_s) AS n_intervals,
    coalesce(sum(gap_s), 0) AS sum_tau_s, coalesce(sum(gap_s * gap_s), 0) AS sum_tau2_s2,
    min(ts) AS first_ts, max(ts) AS last_ts
FROM gaps
GROUP BY endpoint
"""

REFERENCE_HISTOGRAMS = """
WITH values_long AS (
    SELECT endpoint, 'input_tokens' AS metric, CAST(input_tokens AS DOUBLE) AS v FROM read_parquet($files)
    UNION ALL
    SELECT endpoint, 'output_tokens', CAST(output_tokens AS DOUBLE) FROM read_parquet($files)
    UNION ALL
    SELECT endpoint, 'latency_ms', latency_ms FROM read_parquet($files) WHERE latency_ms IS NOT NULL
    UNION ALL
    SELECT endpoint, 'ttft_ms', ttft_ms FROM read_parquet($files) WHERE ttft_ms IS NOT NULL
)
SELECT
    endpoint, metric,
    CASE
        WHEN v < 1024 THEN CAST(floor(v) AS BIGINT)
        ELSE 1024 + CAST(floor(ln(v / 1024.0) / 0.009950330853168092) AS BIGINT)
    END AS bucket,
    count(*) AS n
FROM values_long
GROUP BY ALL
"""

REFERENCE_LATENCY_HOURS = """
WITH values_long AS (
    SELECT endpoint, date_trunc('hour', ts) AS hour, 'ttft_ms' AS metric, ttft_ms AS v
    FROM read_parquet($files) WHERE deployment_mode = 'serverless' AND ok AND ttft_ms IS NOT NULL
    UNION ALL
    SELECT endpoint, date_trunc('hour', ts), 'latency_ms', latency_ms
    FROM read_parquet($files) WHERE deployment_mode = 'serverless' AND ok AND latency_ms IS NOT NULL
)
SELECT
    endpoint, hour, metric,
    CASE
        WHEN v < 1024 THEN CAST(floor(v) AS BIGINT)
        ELSE 1024 + CAST(floor(ln(v / 1024.0) / 0.009950330853168092) AS BIGINT)
    END AS bucket,
    count(*) AS n
FROM values_long
GROUP BY ALL
"""

KEYS = {
    "minutes": ["endpoint", "model", "minute"],
    "interarrival": ["endpoint"],
    "histograms": ["endpoint", "metric", "bucket"],
    "latency_hours": ["endpoint", "hour", "metric", "bucket"],
}
# Sums of per-request floats (cost, weighted tokens, gaps) are added in another order: last bits may differ.
MODELS = ["m-priced", "m-new", "m-old", "m-unpriced", "m-two"]
CACHED_WEIGHT = 0.25  # capacity.cached_input_weight of the test home
ROUNDED = {
    "weighted_tokens",
    "list_cost_usd",
    "billed_cost_usd",
    "billed_ok_cost_usd",
    "billed_list_cost_usd",
    "sum_tau_s",
    "sum_tau2_s2",
}


def write_day(home: Home, day: str, rows: int, seed: int) -> Path:
    """A lake file for ``day`` (the columns a merged day has) plus its manifest; returns the rate card written."""
    rng = np.random.default_rng(seed)
    start_us = int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1_000_000)
    offset_us = rng.integers(0, 86_400_000_000, size=rows)
    whole = rng.random(rows) < 0.3
    offset_us[whole] -= offset_us[whole] % 1_000_000  # whole seconds: many ties within an endpoint
    offset_us[::53] -= offset_us[::53] % 60_000_000  # exactly on minute boundaries
    ts = start_us + offset_us
    weights = 1 / np.arange(1, 41)
    endpoints = rng.choice(40, size=rows, p=weights / weights.sum())
    endpoints[-1] = 99  # an endpoint with a single request

    def with_nulls(values: np.ndarray, share: float) -> pl.Series:
        series = pl.Series(values)
        return series.scatter(np.nonzero(rng.random(rows) < share)[0], None)

    # cached input tokens are a part of the input (ingest refuses more), a cached price for some models
    input_tokens = np.concatenate(
        [rng.lognormal(6.5, 2.0, rows - 4).astype(np.int64), [0, 1023, 1024, 10**11]]
    )
    frame = pl.DataFrame(
        {
            "request_id": pl.Series(rng.permutation(rows)).cast(pl.String),
            "ts": pl.Series(ts).cast(pl.Datetime("us", "UTC")),
            "endpoint": pl.Series(endpoints).cast(pl.String).str.replace(r"^", "ep-"),
            "model": np.array(MODELS)[rng.integers(0, len(MODELS), rows)],
            "input_tokens": input_tokens,
            "output_tokens": rng.lognormal(5.0, 1.5, rows).astype(np.int64),
            "cached_input_tokens": with_nulls(np.minimum(rng.integers(0, 500, rows), input_tokens), 0.5),
            "latency_ms": with_nulls(rng.lognormal(6.8, 1.5, rows).round(1), 0.1),
            "ttft_ms": with_nulls(rng.lognormal(5.0, 1.5, rows).round(3), 0.4),
            "ok": with_nulls(rng.random(rows) > 0.05, 0.02),
            "stream": with_nulls(rng.random(rows) > 0.3, 0.1),
            "interactive": with_nulls(rng.random(rows) > 0.5, 0.3),
            "client": pl.Series(rng.integers(0, 5, rows)).cast(pl.String),
            "deployment_mode": with_nulls(
                np.array(["serverless", "dedicated", "batch"])[rng.integers(0, 3, rows)], 0.3
            ),
            "billed_cost_usd": with_nulls(rng.random(rows) / 100, 0.3),
        }
    )
    assert frame["ts"].dt.date().unique().to_list() == [date.fromisoformat(day)]
    day_dir = home.request_day_dir(day)
    day_dir.mkdir(parents=True)
    frame.write_parquet(day_dir / "part.parquet", row_group_size=5_000)
    (day_dir / "_manifest.json").write_text(json.dumps({"day": day, "inputs": {"file": {"rows": rows}}}))

    the_day = date.fromisoformat(day)
    periods = [  # model, effective_from, effective_to, price, cached input price (None: the input price)
        ("m-priced", the_day - timedelta(days=400), None, 0.18, 0.045),
        ("m-new", the_day, None, 0.5, 0.0),  # priced from this day's midnight on; cache hits free
        ("m-old", the_day - timedelta(days=400), the_day, 1.0, 0.5),  # no longer priced on this day
        ("m-two", the_day - timedelta(days=400), the_day - timedelta(days=9), 2.0, 1.0),
        ("m-two", the_day - timedelta(days=9), None, 3.1, None),
    ]
    shipped = pl.read_csv(Settings.load(home).rate_card_path, infer_schema=False).row(0, named=True)
    card = pl.DataFrame(
        [
            shipped
            | {
                "model": model,
                "effective_from": start.isoformat(),
                "effective_to": end.isoformat() if end else None,
                "input_usd_per_mtok": str(price),
                "output_usd_per_mtok": str(price * 2),
                "output_weight": str(price * 3),
                "cached_input_usd_per_mtok": None if cached is None else str(cached),
            }
            for model, start, end, price, cached in periods
        ]
    )
    card_path = home.root / "card.csv"
    card.write_csv(card_path)
    home.config_file.write_text(
        f"rate_card: {card_path}\ncapacity: {{cached_input_weight: {CACHED_WEIGHT}}}\n", encoding="utf-8"
    )
    return card_path


def reference(home: Home, card_path: Path, day: str) -> dict[str, pl.DataFrame]:
    """The day's rollup tables computed with the plain definitions."""
    files = [str(p) for p in home.request_day_dir(day).glob("*.parquet")]
    out: dict[str, pl.DataFrame] = {}
    with connect() as con:
        con.register("rate_card", load_rate_card(card_path))
        for name, sql in (
            ("minutes", REFERENCE_MINUTES),
            ("interarrival", REFERENCE_INTERARRIVAL),
            ("histograms", REFERENCE_HISTOGRAMS),
            ("latency_hours", REFERENCE_LATENCY_HOURS),
        ):
            path = home.root / f"reference-{name}.parquet"
            params = {"files": files} | ({"day": day} if "$day" in sql else {})
            params |= {"cached_input_weight": CACHED_WEIGHT} if "$cached_input_weight" in sql else {}
            con.sql(sql, params=params).write_parquet(str(path))
            out[name] = pl.read_parquet(path)
    return out


@pytest.mark.parametrize(("day", "seed"), [("2026-03-10", 7), ("1969-12-31", 8)])
def test_rollup_tables_equal_the_plain_definitions(home: Home, day: str, seed: int) -> None:
    card_path = write_day(home, day, rows=20_000, seed=seed)
    result = rollup_day(home, Settings.load(home), day)
    assert result is not None
    expected = reference(home, card_path, day)
    for name, keys in KEYS.items():
        actual = pl.read_parquet(home.rollup_day_dir(day) / f"{name}.parquet")
        assert actual.schema == expected[name].schema, name
        actual, wanted = actual.sort(keys, nulls_last=True), expected[name].sort(keys, nulls_last=True)
        exact = [c for c in actual.columns if c not in ROUNDED]
        assert_frame_equal(actual.select(exact), wanted.select(exact), check_exact=True)
        rounded = [c for c in actual.columns if c in ROUNDED]
        assert_frame_equal(actual.select(rounded), wanted.select(rounded), check_exact=False, rel_tol=1e-12)
    assert expected["latency_hours"]["metric"].unique().sort().to_list() == ["latency_ms", "ttft_ms"]
    minutes = expected["minutes"]
    assert result.requests == 20_000 == minutes["requests"].sum()
    assert result.minute_rows == minutes.height
    assert result.unpriced_requests == minutes["unpriced_requests"].sum() > 0
    assert result.list_cost_usd == pytest.approx(minutes["list_cost_usd"].sum(), rel=1e-12)


def test_a_recorded_stream_false_is_a_latency_signal(home: Home) -> None:
    """A half-streamed endpoint (40 % stream = true, 60 % stream = false, nothing else) is `mixed`, not `unknown`
    (docs/metrics.md#latency-sensitivity); requests that record nothing still carry no signal."""
    from pipelines.weekly.profiles import compute_week_profiles

    day = "2026-03-10"  # a Tuesday
    start = datetime(2026, 3, 10, tzinfo=UTC)
    streams = {"half": [True] * 40 + [False] * 60, "silent": [None] * 100}
    frame = pl.DataFrame(
        [
            {"request_id": f"{endpoint}-{i}", "ts": start + timedelta(minutes=i), "endpoint": endpoint,
             "model": "m", "input_tokens": 10, "output_tokens": 1, "cached_input_tokens": None,
             "latency_ms": None, "ttft_ms": None, "ok": True, "stream": stream, "interactive": None,
             "client": "c", "deployment_mode": "serverless", "billed_cost_usd": None}
            for endpoint, values in streams.items()
            for i, stream in enumerate(values)
        ],
        schema_overrides={"ts": pl.Datetime("us", "UTC"), "stream": pl.Boolean, "interactive": pl.Boolean,
                          "cached_input_tokens": pl.Int64, "latency_ms": pl.Float64, "ttft_ms": pl.Float64,
                          "billed_cost_usd": pl.Float64},
    )  # fmt: skip
    day_dir = home.request_day_dir(day)
    day_dir.mkdir(parents=True)
    frame.write_parquet(day_dir / "part.parquet")
    (day_dir / "_manifest.json").write_text(json.dumps({"day": day, "inputs": {"file": {"rows": 200}}}))
    settings = Settings.load(home)
    assert rollup_day(home, settings, day) is not None
    profiles = {r["endpoint"]: r for r in compute_week_profiles(home, settings, date(2026, 3, 9)).to_dicts()}
    half = profiles["half"]
    assert (half["interactive_share"], half["signal_coverage"], half["latency_class"]) == (0.4, 1.0, "mixed")
    silent = profiles["silent"]
    assert (silent["signal_coverage"], silent["latency_class"]) == (0.0, "unknown")
