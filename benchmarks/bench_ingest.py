"""Ingest benchmark: N canonical requests as JSONL and as Parquet through modeshift's ingest (land, stage, merge
days), against DuckDB alone reading the same file and writing Parquet, in the same run.

    .venv/bin/python -m benchmarks.bench_ingest --rows 10000000

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
    parser.add_argument("--formats", default="jsonl,parquet")
    args = parser.parse_args()
    data = OUT / f"data-{args.rows}"
    formats = args.formats.split(",")
    if not all((data / f"requests.{fmt}").exists() for fmt in formats):
        print(f"generating {args.rows:,} rows ...", flush=True)
        generated = measure([sys.executable, "-m", "benchmarks.generate", "--rows", str(args.rows), "--endpoints",
                             str(args.endpoints), "--days", str(args.days), "--out", str(data), "--formats",
                             args.formats])  # fmt: skip
        print(f"  generated in {generated.seconds:.1f} s", flush=True)
    print(f"{'input':<8} {'engine':<10} {'seconds':>8} {'rows/s':>12} {'peak GB':>8} {'ratio':>6}")
    for fmt in formats:
        source = data / f"requests.{fmt}"
        home = OUT / f"home-{fmt}"
        shutil.rmtree(home, ignore_errors=True)
        bare = measure(
            [sys.executable, "-m", "benchmarks.steps", "bare-ingest", str(source), str(OUT / "bare.parquet")]
        )
        ours = measure([sys.executable, "-m", "benchmarks.steps", "ingest", str(home), str(source), "canonical"],
                       env={**os.environ, "MODESHIFT_SALT": "bench"})  # fmt: skip
        for engine, m in (("duckdb", bare), ("modeshift", ours)):
            ratio = m.seconds / bare.seconds
            print(f"{fmt:<8} {engine:<10} {m.seconds:>8.1f} {args.rows / m.seconds:>12,.0f} {m.peak_rss_gb:>8.2f} "
                  f"{ratio:>6.2f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
