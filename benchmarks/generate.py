"""Generate synthetic canonical request logs of a given size (rows, endpoints, days) as JSONL and Parquet (and,
with ``--formats otel``, the same requests as OpenTelemetry OTLP/JSON trace lines).

    python -m benchmarks.generate --rows 10000000 --endpoints 1000 --days 7 --out benchmarks/out/10m
    python -m benchmarks.generate --saturate --rows 12000000 --endpoints 1000 --days 7 --out benchmarks/out/sat

Default: arrivals are uniform over the days; endpoints follow a Zipf-like popularity; token counts are lognormal
(``--token-scale F`` multiplies both token counts by F).

``--saturate``: every endpoint has at least one ok request in every minute of the days, and its per-minute weighted
demand (input + output_weight x output tokens, the rate card's weight) follows its own shape: a daily cycle peaking at
an endpoint-specific hour, quieter weekends, a few bursts and per-minute noise. Each endpoint's peak minute needs
``--peak-replicas LO,HI`` replicas (log-uniform per endpoint, default 2,40) of its model at the rate card's planned
capacity (replica_capacity_tps x target_utilization): the minute's tokens are scaled to its demand, so requests are
large (hundreds of thousands of tokens each). Requests beyond the one per minute (``--rows`` minus endpoints x
minutes) follow the demand.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

START = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday
MINUTES_PER_DAY = 1440
RATE_CARD = Path(__file__).resolve().parent.parent / "pipelines" / "config" / "rate_card.csv"
MODELS = [
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
    "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo",
]


def synthetic_requests(
    rows: int,
    endpoints: int,
    days: int,
    seed: int = 1,
    part: int = 0,
    parts: int = 1,
    token_scale: float = 1.0,
) -> pl.DataFrame:
    """A frame of ``rows`` canonical requests over ``endpoints`` endpoints and ``days`` UTC days; with ``parts``
    > 1, part ``part`` (0-based) of a log shipped in ``parts`` files covering consecutive equal time spans, with
    request ids that continue across the parts."""
    rng = np.random.default_rng(seed + part)
    popularity = 1.0 / np.arange(1, endpoints + 1)
    endpoint_index = rng.choice(endpoints, size=rows, p=popularity / popularity.sum())
    span_us = days * 86_400_000_000 // parts
    start_us = int(START.timestamp() * 1_000_000) + part * span_us
    ts_us = start_us + rng.integers(0, span_us, size=rows)
    return pl.DataFrame(
        {
            "request_id": pl.Series(np.arange(part * rows, (part + 1) * rows)).cast(pl.String),
            "ts": pl.Series(ts_us).cast(pl.Datetime("us", "UTC")),
            "endpoint": pl.Series(endpoint_index)
            .cast(pl.String)
            .str.pad_start(5, "0")
            .str.replace(r"^", "ep-"),
            "model": pl.Series(np.array(MODELS)[endpoint_index % len(MODELS)]),
            "input_tokens": (rng.lognormal(6.5, 1.0, rows) * token_scale).astype(np.int64),
            "output_tokens": (rng.lognormal(5.0, 0.8, rows) * token_scale).astype(np.int64),
            "latency_ms": rng.lognormal(6.8, 0.5, rows).round(1),
            "ok": rng.random(rows) > 0.01,
            "stream": rng.random(rows) > 0.3,
            "client": pl.Series(rng.integers(0, 50, rows)).cast(pl.String).str.replace(r"^", "team-"),
        }
    )


def planned_capacity(rate_card: Path = RATE_CARD) -> dict[str, tuple[float, float]]:
    """Per model of ``MODELS``: (planned replica capacity K x u in weighted tokens/s, output weight) from the rate
    card's newest row of that model."""
    card = pl.read_csv(rate_card).sort("effective_from")
    terms = {}
    for model in MODELS:
        row = card.filter(pl.col("model") == model).row(-1, named=True)
        terms[model] = (
            float(row["replica_capacity_tps"]) * float(row["target_utilization"]),
            float(row["output_weight"]),
        )
    return terms


def with_billed_cost(frame: pl.DataFrame, factor: float, rate_card: Path = RATE_CARD) -> pl.DataFrame:
    """``frame`` with ``billed_cost_usd``: each request's list price (its model's newest rate-card row, USD) times
    ``factor``, as a gateway log that records what was billed."""
    card = pl.read_csv(rate_card).filter(pl.col("model").is_in(MODELS))
    prices = card.group_by("model").agg(
        pl.col("input_usd_per_mtok").last(), pl.col("output_usd_per_mtok").last()
    )
    return (
        frame.join(prices, on="model", how="left")
        .with_columns(
            billed_cost_usd=factor
            * (
                pl.col("input_tokens") * pl.col("input_usd_per_mtok")
                + pl.col("output_tokens") * pl.col("output_usd_per_mtok")
            )
            / 1e6
        )
        .drop("input_usd_per_mtok", "output_usd_per_mtok")
    )


def demand_shapes(rng: np.random.Generator, endpoints: int, days: int) -> np.ndarray:
    """Per endpoint (rows) and minute of the days (columns, from a Monday 00:00 UTC): demand relative to the
    endpoint's peak minute (max 1 per row, > 0 everywhere), float32.

    A daily cycle floor + (1 - floor)·((1 + cos(2π(h − peak hour)/24))/2)^k, weekends scaled down, 0–10 bursts of
    5–60 minutes at 1.5–4× and lognormal per-minute noise (σ 0.15)."""
    minutes = days * MINUTES_PER_DAY
    t = np.arange(minutes)
    hour = (t % MINUTES_PER_DAY) / 60.0
    weekend = (t // MINUTES_PER_DAY) % 7 >= 5
    shapes = np.empty((endpoints, minutes), dtype=np.float32)
    for e in range(endpoints):
        floor = rng.uniform(0.05, 0.6)
        cycle = ((1.0 + np.cos(2 * np.pi * (hour - rng.uniform(0, 24)) / 24)) / 2) ** rng.uniform(1, 4)
        shape = floor + (1.0 - floor) * cycle
        shape[weekend] *= rng.uniform(0.3, 1.0)
        for _ in range(min(rng.poisson(4), 10)):
            start = int(rng.integers(0, minutes))
            shape[start : start + int(rng.integers(5, 61))] *= rng.uniform(1.5, 4.0)
        shape *= rng.lognormal(0.0, 0.15, minutes)
        shapes[e] = shape / shape.max()
    return shapes


def saturated_requests(
    rows: int,
    endpoints: int,
    days: int,
    seed: int = 1,
    peak_replicas: tuple[int, int] = (2, 40),
    token_scale: float = 1.0,
) -> pl.DataFrame:
    """About ``rows`` canonical requests (at least one per endpoint and minute, so at least endpoints x minutes)
    whose per-minute weighted demand follows ``demand_shapes`` and peaks, per endpoint, at a demand needing
    ``peak_replicas`` (log-uniform integers, inclusive) replicas of its model at the rate card's planned capacity
    (``planned_capacity``); sorted by time. Only requests beyond the first of a minute may fail (1 %), so every
    minute of every endpoint has ok demand."""
    rng = np.random.default_rng(seed)
    minutes = days * MINUTES_PER_DAY
    cells = endpoints * minutes
    if rows < cells:
        raise SystemExit(f"--saturate needs --rows >= endpoints x minutes = {cells:,}")
    terms = planned_capacity()
    model_index = np.arange(endpoints) % len(MODELS)
    capacity = np.array([terms[m][0] for m in MODELS])[model_index]
    weight = np.array([terms[m][1] for m in MODELS])[model_index]
    low, high = peak_replicas
    replicas = np.clip(np.rint(np.exp(rng.uniform(np.log(low), np.log(high), endpoints))), low, high)
    shapes = demand_shapes(rng, endpoints, days)
    # weighted tokens per minute, minute-major (cell = minute·endpoints + endpoint): peak (R − 0.5)·K·u·60
    demand = (shapes.T * ((replicas - 0.5) * capacity * 60.0)).ravel()
    load = (shapes.T * replicas).ravel()
    counts = 1 + rng.poisson(load * ((rows - cells) / load.sum()))
    del shapes, load
    cell = np.repeat(np.arange(cells), counts)
    n = cell.size
    first = np.zeros(n, dtype=bool)
    first[np.cumsum(counts) - counts] = True
    endpoint_index = cell % endpoints
    base_in = rng.lognormal(6.5, 1.0, n)
    base_out = rng.lognormal(5.0, 0.8, n)
    base_weighted = base_in + weight[endpoint_index] * base_out
    scale = (demand / np.bincount(cell, weights=base_weighted, minlength=cells))[cell] * token_scale
    start_us = int(START.timestamp() * 1_000_000)
    ts_us = start_us + (cell // endpoints) * 60_000_000 + rng.integers(0, 60_000_000, size=n)
    return pl.DataFrame(
        {
            "request_id": pl.Series(np.arange(n)).cast(pl.String),
            "ts": pl.Series(ts_us).cast(pl.Datetime("us", "UTC")),
            "endpoint": pl.Series(endpoint_index)
            .cast(pl.String)
            .str.pad_start(5, "0")
            .str.replace(r"^", "ep-"),
            "model": pl.Series(np.array(MODELS)[model_index[endpoint_index]]),
            "input_tokens": np.rint(base_in * scale).astype(np.int64),
            "output_tokens": np.rint(base_out * scale).astype(np.int64),
            "latency_ms": rng.lognormal(6.8, 0.5, n).round(1),
            "ok": first | (rng.random(n) > 0.01),
            "stream": rng.random(n) > 0.3,
            "client": pl.Series(rng.integers(0, 50, n)).cast(pl.String).str.replace(r"^", "team-"),
        }
    ).sort("ts")


def _attribute(key: str, kind: str, column: pl.Expr | str) -> list[pl.Expr]:
    """The pieces of one OTLP/JSON attribute ``{"key": K, "value": {kind: V}}``; ``kind`` 'stringValue' and
    'intValue' (int64: a decimal string) quote the value, the others write it as a JSON value."""
    value = pl.lit(column) if isinstance(column, str) else column.cast(pl.String)
    quote = '"' if kind in ("stringValue", "intValue") else ""
    return [pl.lit(f'{{"key":"{key}","value":{{"{kind}":{quote}'), value, pl.lit(f"{quote}}}}},")]


def otel_lines(frame: pl.DataFrame, spans_per_line: int = 1) -> pl.DataFrame:
    """The requests of ``frame`` as OTLP/JSON trace lines (one ``TracesData`` object a line, as the OpenTelemetry
    Collector's file exporter writes them), ``spans_per_line`` consecutive requests in each line (under one
    resource: the service of the first). Each span carries the GenAI attributes an OpenAI instrumentation writes
    (operation, provider, request and response model, response id, usage, stream, time to first chunk, finish
    reasons, server address), without message content (capturing it is off by default). Column ``line``."""
    rows = frame.height
    start_ns = pl.col("ts").dt.epoch("us") * 1000
    ttft_s = (pl.col("latency_ms") * 0.2 / 1000).round(3)
    pieces: list[pl.Expr] = [
        pl.lit('{"traceId":"'),
        pl.col("request_id").str.pad_start(32, "0"),
        pl.lit('","spanId":"'),
        pl.col("request_id").str.pad_start(16, "0"),
        pl.lit('","parentSpanId":"","flags":256,"name":"chat ').add(pl.col("model")),
        pl.lit('","kind":3,"startTimeUnixNano":"'),
        start_ns.cast(pl.String),
        pl.lit('","endTimeUnixNano":"'),
        (start_ns + (pl.col("latency_ms") * 1e6).cast(pl.Int64)).cast(pl.String),
        pl.lit('","attributes":['),
        *_attribute("gen_ai.operation.name", "stringValue", "chat"),
        *_attribute("gen_ai.provider.name", "stringValue", "together"),
        *_attribute("gen_ai.request.model", "stringValue", pl.col("model")),
        *_attribute("gen_ai.response.model", "stringValue", pl.col("model")),
        *_attribute("gen_ai.response.id", "stringValue", pl.lit("chatcmpl-") + pl.col("request_id")),
        *_attribute("gen_ai.usage.input_tokens", "intValue", pl.col("input_tokens")),
        *_attribute("gen_ai.usage.output_tokens", "intValue", pl.col("output_tokens")),
        *_attribute("gen_ai.usage.cache_read.input_tokens", "intValue", pl.col("input_tokens") // 4),
        *_attribute(
            "gen_ai.request.stream", "boolValue", pl.col("stream").cast(pl.String).str.to_lowercase()
        ),
        *_attribute("gen_ai.response.time_to_first_chunk", "doubleValue", ttft_s),
        *_attribute("gen_ai.request.max_tokens", "intValue", "1024"),
        *_attribute("server.address", "stringValue", "api.together.xyz"),
        pl.lit(
            '{"key":"gen_ai.response.finish_reasons","value":{"arrayValue":{"values":[{"stringValue":"stop"}]}}}'
        ),
        pl.lit('],"status":{"code":'),
        pl.when(pl.col("ok")).then(pl.lit("1")).otherwise(pl.lit("2")),
        pl.lit("}}"),
    ]
    spans = frame.select(
        (pl.int_range(rows) // spans_per_line).alias("group"),
        pl.col("endpoint"),
        pl.concat_str(pieces).alias("span"),
    )
    grouped = spans.group_by("group", maintain_order=True).agg(
        pl.col("endpoint").first(), pl.col("span").str.join(",")
    )
    line = pl.concat_str(
        [
            pl.lit('{"resourceSpans":[{"resource":{"attributes":['),
            *_attribute("service.name", "stringValue", pl.col("endpoint")),
            pl.lit(
                '{"key":"telemetry.sdk.language","value":{"stringValue":"python"}}]},"scopeSpans":[{"scope":'
            ),
            pl.lit('{"name":"opentelemetry.instrumentation.openai_v2","version":"2.1b0"},"spans":['),
            pl.col("span"),
            pl.lit("]}]}]}"),
        ]
    )
    return grouped.select(line.alias("line"))


def main() -> None:
    """Write requests.jsonl and requests.parquet of the requested size into --out (and requests.otel.jsonl, the
    same requests as OTLP/JSON trace lines, with ``--formats otel``)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--formats", default="jsonl,parquet")
    parser.add_argument("--files", type=int, default=1, help="split into this many time-ordered files")
    parser.add_argument("--token-scale", type=float, default=1.0, help="multiply input and output tokens")
    parser.add_argument("--saturate", action="store_true", help="demand in every minute of every endpoint")
    parser.add_argument("--peak-replicas", default="2,40", help="with --saturate: LO,HI replicas at the peak")
    parser.add_argument(
        "--spans-per-line", type=int, default=1, help="with --formats otel: spans in each line"
    )
    parser.add_argument("--billed-factor", type=float, help="write billed_cost_usd = this x the list price")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    formats = args.formats.split(",")
    if args.saturate and args.files != 1:
        parser.error("--saturate writes one file")
    for part in range(args.files):  # one part in memory at a time: 100 M rows fit in 10 parts
        if args.saturate:
            low, high = (int(x) for x in args.peak_replicas.split(","))
            frame = saturated_requests(
                args.rows, args.endpoints, args.days, peak_replicas=(low, high), token_scale=args.token_scale
            )
        else:
            frame = synthetic_requests(args.rows // args.files, args.endpoints, args.days, part=part,
                                       parts=args.files, token_scale=args.token_scale)  # fmt: skip
        if args.billed_factor is not None:
            frame = with_billed_cost(frame, args.billed_factor)
        stem = "requests" if args.files == 1 else f"requests-{part:03d}"
        if "parquet" in formats:
            frame.write_parquet(args.out / f"{stem}.parquet")
        if "jsonl" in formats:
            frame.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")).write_ndjson(
                args.out / f"{stem}.jsonl"
            )
        if "otel" in formats:
            with open(args.out / f"{stem}.otel.jsonl", "wb") as handle:
                for start in range(0, frame.height, 1_000_000):  # a million requests in memory at a time
                    lines = otel_lines(frame.slice(start, 1_000_000), args.spans_per_line)
                    handle.write(("\n".join(lines["line"].to_list()) + "\n").encode())


if __name__ == "__main__":
    main()
