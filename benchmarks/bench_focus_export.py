"""FOCUS export benchmark: how long ``modeshift export focus`` takes for one week, against the minute rollups it reads.

    .venv/bin/python -m benchmarks.bench_focus_export --rows 7000000 --endpoints 1000

A week of synthetic requests is ingested and rolled up once (not measured), then the export of that week runs in its
own process for Parquet and CSV. It reads only the rollups, so its time grows with endpoints × active minutes, not
with requests.
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
    """Ingest and roll up a synthetic week, then measure the FOCUS export in Parquet and CSV."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=7_000_000)
    parser.add_argument("--endpoints", type=int, default=1000)
    args = parser.parse_args()
    env = {**os.environ, "MODESHIFT_SALT": "bench"}
    data = OUT / f"week-{args.rows}-{args.endpoints}"
    if not (data / "requests.parquet").exists():
        measure([sys.executable, "-m", "benchmarks.generate", "--rows", str(args.rows), "--endpoints",
                 str(args.endpoints), "--days", "7", "--out", str(data), "--formats", "parquet"])  # fmt: skip
    home = OUT / f"home-focus-{args.rows}"
    shutil.rmtree(home, ignore_errors=True)
    step = [sys.executable, "-m", "benchmarks.steps"]
    measure([*step, "ingest", str(home), str(data / "requests.parquet"), "canonical"], env=env)
    measure([*step, "rollup", str(home)], env=env)
    import polars as pl

    minute_rows = (
        pl.scan_parquet(str(home / "lake/rollups/day=*/minutes.parquet")).select(pl.len()).collect().item()
    )
    print(
        f"{'format':<8} {'seconds':>8} {'peak GB':>8}  ({args.rows:,} requests, {minute_rows:,} minute rows)"
    )
    for suffix in ("parquet", "csv"):
        out = OUT / f"focus.{suffix}"
        week = _first_week(home)
        m = measure([*step, "focus", str(home), week, str(out)], env=env)
        print(f"{suffix:<8} {m.seconds:>8.2f} {m.peak_rss_gb:>8.2f}", flush=True)


def _first_week(home: Path) -> str:
    """The Monday of the first week with a rollup."""
    from datetime import date, timedelta

    first = min(
        date.fromisoformat(p.parent.name.removeprefix("day="))
        for p in home.glob("lake/rollups/day=*/minutes.parquet")
    )
    return (first - timedelta(days=first.weekday())).isoformat()


if __name__ == "__main__":
    main()
