"""Generate synthetic canonical request logs of a given size (rows, endpoints, days) as JSONL and Parquet.

    python -m benchmarks.generate --rows 10000000 --endpoints 1000 --days 7 --out benchmarks/out/10m

Arrivals are uniform over the days; endpoints follow a Zipf-like popularity; token counts are lognormal.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

START = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday
MODELS = [
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
    "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo",
]


def synthetic_requests(
    rows: int, endpoints: int, days: int, seed: int = 1, part: int = 0, parts: int = 1
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
            "input_tokens": rng.lognormal(6.5, 1.0, rows).astype(np.int64),
            "output_tokens": rng.lognormal(5.0, 0.8, rows).astype(np.int64),
            "latency_ms": rng.lognormal(6.8, 0.5, rows).round(1),
            "ok": rng.random(rows) > 0.01,
            "stream": rng.random(rows) > 0.3,
            "client": pl.Series(rng.integers(0, 50, rows)).cast(pl.String).str.replace(r"^", "team-"),
        }
    )


def main() -> None:
    """Write requests.jsonl and requests.parquet of the requested size into --out."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--formats", default="jsonl,parquet")
    parser.add_argument("--files", type=int, default=1, help="split into this many time-ordered files")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    formats = args.formats.split(",")
    for part in range(args.files):  # one part in memory at a time: 100 M rows fit in 10 parts
        frame = synthetic_requests(
            args.rows // args.files, args.endpoints, args.days, part=part, parts=args.files
        )
        stem = "requests" if args.files == 1 else f"requests-{part:03d}"
        if "parquet" in formats:
            frame.write_parquet(args.out / f"{stem}.parquet")
        if "jsonl" in formats:
            frame.with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")).write_ndjson(
                args.out / f"{stem}.jsonl"
            )


if __name__ == "__main__":
    main()
