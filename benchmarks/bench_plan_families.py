"""Plan-families benchmark (issue 14): the weekly step with the autoscale search, on a saturated week, against the
weekly step of the code before the plan families (fixed-only plans), on the same rolled-up home.

    git worktree add ../modeshift-baseline 1934d59     # the code before the plan families (fixed-only plans)
    .venv/bin/python -m benchmarks.bench_plan_families --baseline ../modeshift-baseline

1. A saturated week (``generate --saturate``: every endpoint has ok demand in every minute, peaks needing 2-40
   replicas) is generated, ingested and rolled up once; the data and the rolled-up home are kept under
   benchmarks/out/ and reused by later runs.
2. The weekly step (``python -m benchmarks.steps weekly HOME``: profiles + plans) runs on a fresh copy of that home
   with the old code (cwd and PYTHONPATH = ``--baseline``) and with this checkout's code, alternately, each in its
   own process, ``--runs`` times each. Numba's cache goes to a directory emptied at the start, so the new code's
   first run includes compiling the autoscaler and later runs load it from the cache.
3. From the new code's last run: how many endpoints' cheapest option and recommendation are in each family, and,
   on ``--sample`` endpoints (default: all; in a fresh process with an empty numba cache, so the compile shows
   separately), the autoscale grid against the settings the branch and bound simulated, in ms per endpoint; on
   ``--exhaustive`` of them every setting of the grid is simulated too, to check the search's answer and show what
   pruning saves.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from benchmarks.harness import Measurement, measure

OUT = Path(__file__).resolve().parent / "out"
ROOT = Path(__file__).resolve().parent.parent


def _copy_home(source: Path, target: Path) -> None:
    """A fresh copy of a rolled-up home: the request lake, staged slices and landed files hard-linked (not written by
    the weekly step), everything else copied (the weekly step writes its tables there)."""
    shutil.rmtree(target, ignore_errors=True)
    shared = (source / "lake" / "requests", source / "lake" / "staged", source / "landing")

    def copy(src: str, dst: str) -> None:
        if any(Path(src).is_relative_to(s) for s in shared):
            os.link(src, dst)
        else:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=copy)


def _built_home(args: argparse.Namespace, env: dict[str, str]) -> Path:
    """The saturated week, generated, ingested and rolled up once (reused while ``.ready`` exists)."""
    name = f"saturated-{args.rows}-{args.endpoints}-{args.peak_replicas.replace(',', '-')}"
    data = OUT / name
    home = OUT / f"home-{name}"
    if (home / ".ready").exists():
        print(f"reusing the rolled-up home {home}", flush=True)
        return home
    step = [sys.executable, "-m", "benchmarks.steps"]
    if not (data / "requests.parquet").exists():
        generated = measure([sys.executable, "-m", "benchmarks.generate", "--saturate", "--rows", str(args.rows),
                             "--endpoints", str(args.endpoints), "--days", "7", "--peak-replicas",
                             args.peak_replicas, "--out", str(data), "--formats", "parquet"], env=env)  # fmt: skip
        print(f"generate   {generated.seconds:7.1f} s  {generated.peak_rss_gb:5.2f} GB", flush=True)
    shutil.rmtree(home, ignore_errors=True)
    for stage, extra in (("ingest", [str(data / "requests.parquet"), "canonical"]), ("rollup", [])):
        m = measure([*step, stage, str(home), *extra], env=env)
        print(f"{stage:<10} {m.seconds:7.1f} s  {m.peak_rss_gb:5.2f} GB", flush=True)
    (home / ".ready").touch()
    return home


def _weekly(code: Path, home: Path, env: dict[str, str]) -> tuple[Measurement, float]:
    """The weekly step of the code at ``code`` on ``home``, in its own process: its measurement and the CPU seconds
    (user + system) it used, which vary less than wall time on a shared machine."""
    env = {**env, "PYTHONPATH": str(code)}
    started = os.getcwd()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.chdir(code)
    try:
        m = measure([sys.executable, "-m", "benchmarks.steps", "weekly", str(home)], env=env)
    finally:
        os.chdir(started)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return m, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def _family_counts(home: Path) -> None:
    """Per family: endpoints whose cheapest option it is (plan_options), and the recommendations' raw and
    recommended plans (after the policy's thresholds and persistence)."""
    import polars as pl

    options = pl.read_parquet(home / "lake" / "weekly" / "plan_options" / "week=*" / "part.parquet")
    recs = pl.read_parquet(home / "lake" / "weekly" / "recommendations" / "week=*" / "part.parquet")
    cheapest = Counter(options.filter("is_cheapest")["family"].to_list())
    print(f"\nendpoints: {recs.height}; plan_options rows: {options.height}", flush=True)
    print(f"cheapest option per endpoint (plan_options.is_cheapest): {dict(cheapest.most_common())}")
    offered = Counter(options["family"].to_list())
    print(f"options offered per family (rows of plan_options): {dict(offered.most_common())}")
    raw = Counter(f"{m}/{f}" if f else m for m, f in zip(recs["raw_mode"], recs["raw_family"], strict=True))
    print(f"raw candidate (recommendations.raw_mode/raw_family): {dict(raw.most_common())}")
    rec = Counter(
        f"{m}/{f}" if f else m for m, f in zip(recs["recommended_mode"], recs["plan_family"], strict=True)
    )
    print(f"recommended (recommended_mode/plan_family): {dict(rec.most_common())}")
    print(f"actions: {dict(Counter(recs['action'].to_list()).most_common())}")
    reserving = options.filter(pl.col("family").is_in(["fixed", "autoscale", "scheduled"]))
    wide = reserving.pivot(on="family", index="endpoint", values="total_cost_usd")
    if {"fixed", "autoscale"} <= set(wide.columns):
        both = wide.drop_nulls(["fixed", "autoscale"])
        saving = both["fixed"] - both["autoscale"]
        print(
            f"best autoscale vs best fixed: cheaper on {(saving > 1e-6).sum()} of {both.height} endpoints, "
            f"{saving.sum():,.0f} USD/week less in total ({saving.sum() / both['fixed'].sum():.1%} of best fixed)"
        )
    auto = options.filter(pl.col("family") == "autoscale")
    if auto.height:
        spread = Counter(
            "fixed-like (min = max)" if lo == hi else "scaling (min < max)"
            for lo, hi in zip(auto["min_replicas"], auto["max_replicas"], strict=True)
        )
        print(f"best autoscale settings: {dict(spread)}")


def _sample(home: Path, count: int, exhaustive: int) -> dict[str, object]:
    """The autoscale search (``best_autoscale``, as the plan step calls it) on ``count`` endpoints (a seeded sample;
    all of them by default): grid size, settings simulated and ms per endpoint, the first call of the compiled
    autoscaler timed apart (it compiles, or loads numba's cache); on ``exhaustive`` of them, evenly spread, every
    setting of the grid is simulated too and the minima compared."""
    import numpy as np

    from pipelines.core.home import Home
    from pipelines.core.settings import Settings
    from pipelines.domain.autoscaler import simulate
    from pipelines.domain.cost_model import plan_curve
    from pipelines.domain.plan_families import _cheapest, autoscale_plan, best_autoscale
    from pipelines.lake.lineage import weeks_with_data
    from pipelines.lake.rate_card import load_rate_card, model_terms
    from pipelines.lake.series import endpoint_series
    from pipelines.lake.weekly_inputs import load_week_rollups
    from pipelines.lake.weekly_store import read_week_table
    from pipelines.weekly.plans import provider_for

    os.environ["MODESHIFT_HOME"] = str(home)
    h = Home(home)
    settings = Settings.load(h)
    started = time.perf_counter()
    simulate(np.zeros(10, dtype=np.int64), 1, 2, 1, 1, 0)
    first_call_s = time.perf_counter() - started
    week = weeks_with_data(h)[0]
    rollups = load_week_rollups(h, week)
    started = time.perf_counter()
    series = endpoint_series(rollups.minutes, rollups.covered_days)
    series_s = time.perf_counter() - started
    profiles = read_week_table(h, "endpoint_profiles", week)
    model = dict(zip(profiles["endpoint"], profiles["model"], strict=True))
    terms = model_terms(load_rate_card(settings.rate_card_path), week)
    provider = provider_for(settings)
    covered_hours = 24.0 * len(rollups.covered_days)
    rng = np.random.default_rng(0)
    chosen = sorted(rng.choice(sorted(series), size=min(count, len(series)), replace=False).tolist())
    checked = set(chosen[:: max(1, len(chosen) // exhaustive)][:exhaustive]) if exhaustive else set()
    rows = []
    for endpoint in chosen:
        s = series[endpoint]
        offer = terms[model[endpoint]].offer
        curve = plan_curve(s.demand_tps, s.serverless_cost_usd, offer, covered_hours)
        started = time.perf_counter()
        search = best_autoscale(s.demand_tps, s.serverless_cost_usd, curve, provider)
        ms = (time.perf_counter() - started) * 1000
        row = {"endpoint": endpoint, "r_full": curve.r_full, "grid": search.settings_in_grid,
               "simulated": search.settings_simulated, "ms": ms,
               "best": [search.best.min_replicas, search.best.max_replicas] if search.best else None}  # fmt: skip
        if endpoint in checked:
            started = time.perf_counter()
            plans = [
                autoscale_plan(s.demand_tps, s.serverless_cost_usd, offer, provider, low, high)
                for low in range(provider.lowest_min_replicas, curve.r_full + 1)
                for high in range(max(1, low), curve.r_full + 1)
            ]
            row["exhaustive_ms"] = (time.perf_counter() - started) * 1000
            full = _cheapest(plans)
            row["exhaustive_best_usd"] = full.total_cost_usd
            row["search_best_usd"] = search.best.total_cost_usd
        rows.append(row)
    return {"first_call_s": first_call_s, "series_s": series_s, "rows": rows}


def _report_sample(result: dict[str, object]) -> None:
    import numpy as np

    rows = result["rows"]
    grid = np.array([r["grid"] for r in rows])
    sim = np.array([r["simulated"] for r in rows])
    ms = np.array([r["ms"] for r in rows])
    r_full = np.array([r["r_full"] for r in rows])
    print(f"\nautoscale search (best_autoscale) on {len(rows)} endpoints (R_full {r_full.min()}-{r_full.max()}, "
          f"median {np.median(r_full):.0f}):")  # fmt: skip
    print(f"  first call of the compiled autoscaler (compile + cache write, empty cache): "
          f"{result['first_call_s']:.2f} s; dense series of all endpoints: {result['series_s']:.1f} s")  # fmt: skip
    print(f"  settings in the grids: {grid.sum():,} (median {np.median(grid):.0f}, max {grid.max()}); "
          f"simulated: {sim.sum():,} ({sim.sum() / grid.sum():.1%}; median {np.median(sim):.0f}, "
          f"max {sim.max()})")  # fmt: skip
    print(f"  ms per endpoint: mean {ms.mean():.1f}, median {np.median(ms):.1f}, p95 {np.percentile(ms, 95):.1f}, "
          f"max {ms.max():.1f}; total {ms.sum() / 1000:.2f} s")  # fmt: skip
    slowest = sorted(rows, key=lambda r: -r["ms"])[:3]
    for r in slowest:
        print(f"  slow: {r['endpoint']} R_full {r['r_full']} grid {r['grid']} simulated {r['simulated']} "
              f"{r['ms']:.1f} ms best {r['best']}")  # fmt: skip
    checked = [r for r in rows if "exhaustive_ms" in r]
    if checked:
        same = sum(abs(r["exhaustive_best_usd"] - r["search_best_usd"]) <= 1e-6 * max(1, r["search_best_usd"])
                   for r in checked)  # fmt: skip
        ex = np.array([r["exhaustive_ms"] for r in checked])
        pr = np.array([r["ms"] for r in checked])
        print(f"  exhaustive grid on {len(checked)} of them: {ex.mean():.0f} ms per endpoint against "
              f"{pr.mean():.1f} ms searched ({ex.sum() / pr.sum():.0f}x); same minimum on {same} of "
              f"{len(checked)}")  # fmt: skip


def main() -> None:
    """Build the saturated home once, time the old and new weekly steps on copies of it, report the families."""
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--baseline", type=Path, help="a checkout of the code before the plan families (required)"
    )
    parser.add_argument("--rows", type=int, default=12_000_000)
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--peak-replicas", default="2,40")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--sample", type=int, default=1000, help="endpoints the autoscale search is timed on")
    parser.add_argument("--exhaustive", type=int, default=10)
    parser.add_argument("--sample-home", type=Path, help=argparse.SUPPRESS)  # internal: the sample, as JSON
    args = parser.parse_args()
    if args.sample_home is not None:
        print(json.dumps(_sample(args.sample_home, args.sample, args.exhaustive)))
        return
    if args.baseline is None or not (args.baseline / "benchmarks" / "steps.py").exists():
        parser.error(
            "--baseline must be a checkout of modeshift before the plan families (e.g. a worktree of 1934d59)"
        )
    cache = OUT / "numba-cache"
    shutil.rmtree(cache, ignore_errors=True)
    env = {**os.environ, "MODESHIFT_SALT": "bench", "NUMBA_CACHE_DIR": str(cache)}
    built = _built_home(args, env)
    codes = {"old": args.baseline.resolve(), "new": ROOT}
    times: dict[str, list[Measurement]] = {"old": [], "new": []}
    cpu: dict[str, list[float]] = {"old": [], "new": []}
    print(f"\n{'code':<5} {'run':>3} {'seconds':>8} {'CPU s':>6} {'peak GB':>8} {'load':>5}", flush=True)
    for run in range(1, args.runs + 1):
        for name, code in codes.items():
            home = OUT / f"home-weekly-{name}"
            _copy_home(built, home)
            load = os.getloadavg()[0]  # this machine is shared: the 1-minute load average when the run starts
            m, cpu_s = _weekly(code, home, env)
            times[name].append(m)
            cpu[name].append(cpu_s)
            note = " (numba compiles: empty cache)" if name == "new" and run == 1 else ""
            print(f"{name:<5} {run:>3} {m.seconds:>8.1f} {cpu_s:>6.1f} {m.peak_rss_gb:>8.2f} {load:>5.1f}{note}",
                  flush=True)  # fmt: skip
    old = min(m.seconds for m in times["old"])
    for label, new in (("best runs", min(m.seconds for m in times["new"])),
                       ("cold new run (compile)", times["new"][0].seconds)):  # fmt: skip
        print(f"new / old wall time ({label}): {new:.1f} / {old:.1f} s = {new / old:.2f}")
    print(f"new / old CPU time (least of each): {min(cpu['new']):.1f} / {min(cpu['old']):.1f} s = "
          f"{min(cpu['new']) / min(cpu['old']):.2f}")  # fmt: skip
    print(f"peak GB: old {max(m.peak_rss_gb for m in times['old']):.2f}, "
          f"new {max(m.peak_rss_gb for m in times['new']):.2f}")  # fmt: skip
    new_home = OUT / "home-weekly-new"
    _family_counts(new_home)
    sample_cache = OUT / "numba-cache-sample"
    shutil.rmtree(sample_cache, ignore_errors=True)
    sample_env = {**env, "NUMBA_CACHE_DIR": str(sample_cache)}
    out = subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "benchmarks.bench_plan_families", "--sample-home", str(new_home), "--sample",
         str(args.sample), "--exhaustive", str(args.exhaustive)],
        env=sample_env, cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    result = json.loads(out.strip().splitlines()[-1])
    (OUT / "plan_families_sample.json").write_text(json.dumps(result, indent=1))
    _report_sample(result)


if __name__ == "__main__":
    main()
