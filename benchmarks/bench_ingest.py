"""Ingest benchmark: N canonical requests as JSONL and as Parquet through modeshift's ingest (land, stage, merge
days), against DuckDB alone reading the same file and writing Parquet, in the same run.

    .venv/bin/python -m benchmarks.bench_ingest --rows 10000000
    .venv/bin/python -m benchmarks.bench_ingest --rows 1000000 --formats jsonl,otel   # OTel spans beside JSONL

``otel``: the same N requests as OpenTelemetry OTLP/JSON trace lines (``--spans-per-line``, default 1), ingested
with ``--format otel-genai``; DuckDB alone reads them (nested types auto-detected) and writes Parquet.

Prints rows/s, wall time, peak RSS of the process tree and the ratio to bare DuckDB for each input format.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from benchmarks.harness import measure

OUT = Path(__file__).resolve().parent / "out"


def main() -> None:
    """Generate the data once, then measure modeshift and bare DuckDB on each format."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--formats", default="jsonl,parquet", help="jsonl, parquet and/or otel")
    parser.add_argument("--spans-per-line", type=int, default=1, help="otel: spans in each trace line")
    args = parser.parse_args()
    data = (
        OUT / f"data-{args.rows}"
        if args.spans_per_line == 1
        else OUT / f"data-{args.rows}-{args.spans_per_line}"
    )
    formats = args.formats.split(",")
    files = {fmt: data / ("requests.otel.jsonl" if fmt == "otel" else f"requests.{fmt}") for fmt in formats}
    if not all(path.exists() for path in files.values()):
        print(f"generating {args.rows:,} rows ...", flush=True)
        generated = measure([sys.executable, "-m", "benchmarks.generate", "--rows", str(args.rows), "--endpoints",
                             str(args.endpoints), "--days", str(args.days), "--out", str(data), "--formats",
                             args.formats, "--spans-per-line", str(args.spans_per_line)])  # fmt: skip
        print(f"  generated in {generated.seconds:.1f} s", flush=True)
    print(f"{'input':<8} {'engine':<10} {'seconds':>8} {'rows/s':>12} {'peak GB':>8} {'ratio':>6}")
    for fmt in formats:
        source = files[fmt]
        home = OUT / f"home-{fmt}"
        shutil.rmtree(home, ignore_errors=True)
        bare = measure(
            [sys.executable, "-m", "benchmarks.steps", "bare-ingest", str(source), str(OUT / "bare.parquet")]
        )
        name = "otel-genai" if fmt == "otel" else "canonical"
        ours = measure([sys.executable, "-m", "benchmarks.steps", "ingest", str(home), str(source), name],
                       env={**os.environ, "MODESHIFT_SALT": "bench"})  # fmt: skip
        for engine, m in (("duckdb", bare), ("modeshift", ours)):
            ratio = m.seconds / bare.seconds
            print(f"{fmt:<8} {engine:<10} {m.seconds:>8.1f} {args.rows / m.seconds:>12,.0f} {m.peak_rss_gb:>8.2f} "
                  f"{ratio:>6.2f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
