"""End-to-end benchmark of one busy week: N requests (default 100 million) shipped as time-ordered Parquet files go
through ingest (land + stage + day merges), daily rollups and the weekly step (profiles, spend concentration, plans
and recommendations), each stage in its own process, against bare DuckDB doing the comparable work on the same
data in the same run.

    .venv/bin/python -m benchmarks.bench_week --rows 100000000 --files 10

Prints, per stage: wall time, CPU time, rows per second, peak RSS of the process tree, the ratio to bare DuckDB
(wall and CPU) and the goal of issue 18 beside it
(ingest: read every file and write one Parquet file; rollup: the per-endpoint-minute GROUP BY over the lake). The day
merge can also be timed alone (``--merge-window``), deduping within each day and within the default window.
The input (about 4 GB of Parquet per 100 M rows) and the home are kept under benchmarks/out/.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from benchmarks.harness import Measurement, measure

OUT = Path(__file__).resolve().parent / "out"


# The goals of issue 18: each stage's time as a multiple of bare DuckDB doing the comparable work in the same run,
# and the peak resident memory of any stage.
GOALS = {"ingest": 2.5, "rollup": 1.3, "end to end": 2.0}
PEAK_GOAL_GB = 1.0


def _ratio(m: Measurement, bare: Measurement) -> str:
    """Wall-time and CPU-time ratios to bare DuckDB (CPU time moves much less with a shared machine's load)."""
    return f"{m.seconds / bare.seconds:.2f} / {m.cpu_seconds / bare.cpu_seconds:.2f}"


def _row(stage: str, m: Measurement, rows: int, bare: Measurement | None) -> str:
    ratio = _ratio(m, bare) if bare is not None else ""
    goal = f"<= {GOALS[stage]}" if stage in GOALS else ""
    return (
        f"{stage:<14} {m.seconds:>8.1f} {m.cpu_seconds:>8.1f} {rows / m.seconds:>12,.0f} {m.peak_rss_gb:>8.2f} "
        f"{ratio:>13} {goal:>6}"
    )


def main() -> None:
    """Generate the week once (kept between runs), then measure every stage and its bare counterpart."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument(
        "--home", default=str(OUT / "home-bench-week"), help="where the measured home is kept"
    )
    parser.add_argument(
        "--merge-window", action="store_true", help="also time the day merge alone, per day and across days"
    )
    args = parser.parse_args()
    data = OUT / f"week-{args.rows}-{args.files}files-{args.endpoints}"
    files = [str(data / f"requests-{part:03d}.parquet") for part in range(args.files)]
    if not all(Path(f).exists() for f in files):
        print(f"generating {args.rows:,} requests in {args.files} files ...", flush=True)
        generated = measure([sys.executable, "-m", "benchmarks.generate", "--rows", str(args.rows), "--files",
                             str(args.files), "--endpoints", str(args.endpoints), "--days", "7", "--out", str(data),
                             "--formats", "parquet"])  # fmt: skip
        print(f"  generated in {generated.seconds:.1f} s", flush=True)
    home = Path(args.home)
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "MODESHIFT_SALT": "bench"}
    step = [sys.executable, "-m", "benchmarks.steps"]
    print(
        f"{'stage':<14} {'seconds':>8} {'CPU s':>8} {'rows/s':>12} {'peak GB':>8} {'ratio wall/CPU':>13} {'goal':>6}"
    )
    bare_ingest = measure([*step, "bare-ingest-many", str(OUT / "bare-week.parquet"), *files], env=env)
    print(_row("bare ingest", bare_ingest, args.rows, None), flush=True)
    ingest = measure([*step, "ingest-many", str(home), "canonical", *files], env=env)
    print(_row("ingest", ingest, args.rows, bare_ingest), flush=True)
    if args.merge_window:
        # The day merge alone, again, with duplicates looked for within each day only (as before issue 12 item 6)
        # and within the default window (the ISO week and the neighbouring days): the cost of deduping across days.
        per_day = measure([*step, "merge", str(home), "false", "0"], env=env)
        print(_row("merge per day", per_day, args.rows, None), flush=True)
        across = measure([*step, "merge", str(home), "true", "1"], env=env)
        print(_row("merge window", across, args.rows, per_day), flush=True)
    bare_rollup = measure([*step, "bare-rollup", str(home), str(OUT / "bare-rollup.parquet")], env=env)
    print(_row("bare rollup", bare_rollup, args.rows, None), flush=True)
    rollup = measure([*step, "rollup", str(home)], env=env)
    print(_row("rollup", rollup, args.rows, bare_rollup), flush=True)
    weekly = measure([*step, "weekly", str(home)], env=env)
    print(_row("weekly", weekly, args.rows, None), flush=True)
    total = ingest.seconds + rollup.seconds + weekly.seconds
    total_cpu = ingest.cpu_seconds + rollup.cpu_seconds + weekly.cpu_seconds
    bare_total = bare_ingest.seconds + bare_rollup.seconds
    bare_cpu = bare_ingest.cpu_seconds + bare_rollup.cpu_seconds
    peak = max(ingest.peak_rss_gb, rollup.peak_rss_gb, weekly.peak_rss_gb)
    print(
        f"week end to end: {total:.1f} s, {total_cpu:.1f} CPU s ({args.rows / total:,.0f} requests/s); "
        f"ratio to the bare stages (ingest + rollup) {total / bare_total:.2f} wall / {total_cpu / bare_cpu:.2f} CPU "
        f"(goal <= {GOALS['end to end']}); peak {peak:.2f} GB (goal <= {PEAK_GOAL_GB})",
        flush=True,
    )
    (OUT / "bare-week.parquet").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
