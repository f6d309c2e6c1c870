"""Rollup and weekly-step benchmark: how the daily rollup and the weekly profile + plan step scale with traffic.

    .venv/bin/python -m benchmarks.bench_weekly --rows-per-day 100000,1000000 --endpoints 1000
    .venv/bin/python -m benchmarks.bench_weekly --rows-per-day 100000 --billed-factor 0.7

``--billed-factor F``: the requests carry a billed cost of F × list, so every endpoint is costed at billed prices
and also decided at list (docs/cost-model.md#price-bases): the weekly step's extra cost of that second decision.

For each size: a week of synthetic requests (Parquet) is ingested, rolled up (compared with DuckDB alone doing the
per-minute GROUP BY over the same lake), then the weekly step runs. The weekly step reads only the rollups, so its
time should stay flat as requests per day grow (it grows with endpoints × minutes): each size's weekly time is
printed as a ratio to the first size's (goal of issue 18: <= 1.5 at 100× the traffic), in wall and CPU time.
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
    """Measure rollup (vs bare DuckDB) and weekly step for each requested size."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows-per-day", default="100000,1000000")
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--billed-factor", type=float, help="requests billed at this share of list")
    args = parser.parse_args()
    billed = [] if args.billed_factor is None else ["--billed-factor", str(args.billed_factor)]
    tag = "" if args.billed_factor is None else f"-billed{args.billed_factor}"
    env = {**os.environ, "MODESHIFT_SALT": "bench"}
    print(
        f"{'rows/day':>10} {'stage':<12} {'seconds':>8} {'CPU s':>8} {'rows/s':>12} {'peak GB':>8} {'ratio':>13}",
        flush=True,
    )
    first_weekly = None
    for per_day in (int(x) for x in args.rows_per_day.split(",")):
        rows = per_day * 7
        data = OUT / f"week-{rows}-{args.endpoints}{tag}"
        if not (data / "requests.parquet").exists():
            measure([sys.executable, "-m", "benchmarks.generate", "--rows", str(rows), "--endpoints",
                     str(args.endpoints), "--days", "7", "--out", str(data), "--formats", "parquet",
                     *billed])  # fmt: skip
        home = OUT / f"home-week-{rows}{tag}"
        shutil.rmtree(home, ignore_errors=True)
        step = [sys.executable, "-m", "benchmarks.steps"]
        measure([*step, "ingest", str(home), str(data / "requests.parquet"), "canonical"], env=env)
        bare = measure([*step, "bare-rollup", str(home), str(OUT / "bare-rollup.parquet")], env=env)
        rollup = measure([*step, "rollup", str(home)], env=env)
        weekly = measure([*step, "weekly", str(home)], env=env)
        first_weekly = first_weekly or weekly
        for name, m, base in (
            ("bare rollup", bare, None),
            ("rollup", rollup, bare),
            ("weekly", weekly, first_weekly),
        ):
            ratio = (
                ""
                if base is None
                else f"{m.seconds / base.seconds:.2f} / {m.cpu_seconds / base.cpu_seconds:.2f}"
            )
            print(f"{per_day:>10,} {name:<12} {m.seconds:>8.1f} {m.cpu_seconds:>8.1f} {rows / m.seconds:>12,.0f} "
                  f"{m.peak_rss_gb:>8.2f} {ratio:>13}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
