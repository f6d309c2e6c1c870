"""One benchmark step per process, so that each one's peak memory is its own. Run by bench_*.py scripts.

python -m benchmarks.steps ingest HOME FILE FORMAT     land + stage + merge every day (modeshift's code path)
python -m benchmarks.steps bare-ingest FILE OUT        DuckDB alone: read the file, write Parquet
python -m benchmarks.steps ingest-many HOME FORMAT FILE...   land + stage every file, then merge every day
python -m benchmarks.steps bare-ingest-many OUT FILE...      DuckDB alone: read every file, write one Parquet file
python -m benchmarks.steps merge HOME SAME_WEEK ADJACENT   merge every staged day again with this dedupe window
python -m benchmarks.steps rollup HOME                 daily rollups of every merged day
python -m benchmarks.steps bare-rollup HOME OUT        DuckDB alone: per-minute GROUP BY over the lake
python -m benchmarks.steps weekly HOME                 weekly profiles + plans (recommendations, plan_options) of every week
python -m benchmarks.steps focus HOME WEEK OUT         the FOCUS export of one week (OUT: .parquet or .csv)
"""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path


def _home(path: str):  # noqa: ANN202
    os.environ["MODESHIFT_HOME"] = path
    from pipelines.core.home import Home
    from pipelines.core.settings import Settings

    home = Home(Path(path)).ensure()
    return home, Settings.load(home)


def ingest(home_dir: str, file: str, fmt: str) -> None:
    """Land, stage and merge one file through modeshift's own functions (no Dagster run overhead)."""
    from pipelines.ingest.day_merge import merge_day, pending_days
    from pipelines.ingest.landing import land_file
    from pipelines.ingest.staging import stage_file

    home, settings = _home(home_dir)
    landed, _ = land_file(home, Path(file), fmt, {})
    stage_file(home, settings, landed)
    for day in pending_days(home):
        merge_day(home, day)


def ingest_many(home_dir: str, fmt: str, *files: str) -> None:
    """Land and stage each file in turn (as the landing sensor would), then merge every day they touched."""
    from pipelines.ingest.day_merge import merge_day, pending_days
    from pipelines.ingest.landing import land_file
    from pipelines.ingest.staging import stage_file

    home, settings = _home(home_dir)
    for file in files:
        landed, _ = land_file(home, Path(file), fmt, {})
        stage_file(home, settings, landed)
    for day in pending_days(home):
        merge_day(home, day)


def merge(home_dir: str, same_iso_week: str, adjacent_days: str) -> None:
    """Merge every staged day again (the day merge alone), its duplicates looked for within the given window
    (``false 0``: within each day only, as before duplicates were found across days)."""
    from pipelines.core.calendar import DedupeWindow
    from pipelines.ingest.day_merge import merge_day, staged_inputs_by_day
    from pipelines.ingest.staging import all_staged

    home, _ = _home(home_dir)
    window = DedupeWindow(same_iso_week=same_iso_week == "true", adjacent_days=int(adjacent_days))
    for day in staged_inputs_by_day(all_staged(home)):
        merge_day(home, day, window)


def bare_ingest_many(out: str, *files: str) -> None:
    """DuckDB alone reading every file (Parquet) and writing one Parquet file."""
    import duckdb

    duckdb.connect().sql("SELECT * FROM read_parquet($f)", params={"f": list(files)}).write_parquet(out)


def bare_ingest(file: str, out: str) -> None:
    """DuckDB alone reading the file (JSON types auto-detected) and writing it as Parquet."""
    import duckdb

    con = duckdb.connect()
    reader = "read_json" if ".jsonl" in file else "read_parquet"
    con.sql(f"SELECT * FROM {reader}($f)", params={"f": file}).write_parquet(out)  # noqa: S608 - fixed names


def rollup(home_dir: str) -> None:
    """Daily rollups of every covered day."""
    from pipelines.lake.lineage import covered_days
    from pipelines.lake.rollups import rollup_day

    home, settings = _home(home_dir)
    for day in covered_days(home):
        rollup_day(home, settings, day)


def bare_rollup(home_dir: str, out: str) -> None:
    """DuckDB alone: the per-endpoint-minute GROUP BY over the whole request lake."""
    import duckdb

    con = duckdb.connect()
    con.sql("SET TimeZone = 'UTC'")
    lake = str(Path(home_dir) / "lake" / "requests" / "day=*" / "*.parquet")
    con.sql(
        "SELECT endpoint, model, date_trunc('minute', ts) AS minute, count(*) AS requests, "
        "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens FROM read_parquet($f) GROUP BY ALL",
        params={"f": lake},
    ).write_parquet(out)


def weekly(home_dir: str) -> None:
    """Every weekly step of every week with data (profiles, concentration, plans and recommendations), through the
    same functions the assets call."""
    from pipelines.lake.lineage import expected_week_fingerprints, weeks_with_data
    from pipelines.lake.weekly_store import write_week_table
    from pipelines.weekly.plans import compute_week_plans
    from pipelines.weekly.profiles import compute_week_concentration, compute_week_profiles

    try:  # the price basis (since issue 20) is read by the concentration and the plans
        from pipelines.weekly.prices import compute_week_price_basis
    except ImportError:
        compute_week_price_basis = None
    priced_concentration = len(inspect.signature(compute_week_concentration).parameters) == 4

    home, settings = _home(home_dir)
    fingerprints = expected_week_fingerprints(home, settings)
    for week in weeks_with_data(home):
        profiles = compute_week_profiles(home, settings, week)
        write_week_table(home, "endpoint_profiles", week, profiles, fingerprints[week])
        if compute_week_price_basis is not None:
            bases = compute_week_price_basis(home, settings, week)
            write_week_table(home, "price_basis", week, bases, fingerprints[week])
        if priced_concentration:
            compute_week_concentration(home, settings, week, profiles)
        else:
            compute_week_concentration(home, week, profiles)
        plans = compute_week_plans(home, settings, week)
        write_week_table(home, "recommendations", week, plans.recommendations, fingerprints[week])
        if hasattr(plans, "options"):  # each plan family's best setting (since the plan families)
            write_week_table(home, "plan_options", week, plans.options, fingerprints[week])


def focus(home_dir: str, week: str, out: str) -> None:
    """The FOCUS export of the week starting ``week`` (YYYY-MM-DD) into ``out``, as ``modeshift export focus``."""
    from datetime import date

    from pipelines.delivery.focus_export import export_focus

    home, settings = _home(home_dir)
    result = export_focus(home, settings, date.fromisoformat(week), Path(out))
    print(f"{result.rows} rows, list ${result.list_cost_usd:,.2f}", file=sys.stderr)


if __name__ == "__main__":
    step, *arguments = sys.argv[1:]
    {
        "ingest": ingest,
        "bare-ingest": bare_ingest,
        "ingest-many": ingest_many,
        "bare-ingest-many": bare_ingest_many,
        "merge": merge,
        "rollup": rollup,
        "bare-rollup": bare_rollup,
        "weekly": weekly,
        "focus": focus,
    }[step](*arguments)
