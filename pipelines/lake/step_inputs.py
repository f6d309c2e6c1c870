"""What each step reads from the lake, so that a worker with an empty scratch home brings in exactly that (object
mode, ``pipelines.core.lake_mirror``). Every step also sees all manifests (pulled for everyone); these are the data
files on top, as ``{path in the home: name prefixes inside a unit, or None for all}``, a path ending in '/' meaning
everything below it.

The per-file and per-day steps, the ones that run in parallel, read only their own slice of the lake: a staging run
its landed bytes, a day merge the staged slices of the days of its dedupe region (its own day among them; and the day's staged
usage minutes), a day's rollup that day's requests and aggregated usage minutes. A week reads its days' rollups (and the day before, for jobs crossing midnight)
and the weekly tables; the single-writer warehouse and analytics steps read what they publish.
"""

from __future__ import annotations

from datetime import date, timedelta

from pipelines.core.calendar import week_days
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.ingest.day_merge import staged_inputs_by_day
from pipelines.ingest.dedupe_census import region_inputs
from pipelines.ingest.landing import get_landed_file
from pipelines.ingest.staging import QUARANTINE_DAY, all_staged
from pipelines.ingest.usage import USAGE_DIR
from pipelines.ingest.usage_merge import QUARANTINE as USAGE_QUARANTINE
from pipelines.ingest.usage_merge import usage_inputs
from pipelines.lake.lineage import weeks_with_data

Wanted = dict[str, tuple[str, ...] | None]

WEEKLY_UNITS = "lake/weekly/"
WEEK_STEPS = frozenset(
    {
        "endpoint_profiles",
        "spend_concentration",
        "price_basis",
        "recommendations",
        "backtest",
        "pool_recommendations",
        "commitments",
        "weekly_charts",
        "fleet_charts",
    }
)


def staging_inputs(home: Home, file_id: str) -> Wanted:
    """A staging run reads the landed bytes of its file."""
    landed = get_landed_file(home, file_id)
    return {f"landing/{file_id}{landed.suffix}": None}


def day_merge_inputs(home: Home, settings: Settings, day: str) -> Wanted:
    """A day merge reads the staged slices of its day and those of its dedupe region (the census of repeated
    request_ids is built over the region: ``pipelines.ingest.dedupe_census``), and the staged usage minutes of its
    day (the usage merge runs in the same step)."""
    region = region_inputs(staged_inputs_by_day(all_staged(home)), day, settings.dedupe_window)
    prefixes: dict[str, set[str]] = {}
    for file_id in usage_inputs(home, day):
        prefixes.setdefault(f"lake/staged/{file_id}", set()).add(f"{USAGE_DIR}/day={day}/")
    for other, files in region.items():
        for file_id in files:
            prefixes.setdefault(f"lake/staged/{file_id}", set()).add(f"day={other}/")
    return {unit: tuple(sorted(names)) for unit, names in prefixes.items()}


def rollup_inputs(day: str) -> Wanted:
    """A day's rollup reads the day's requests and the day's merged aggregated usage minutes."""
    return {f"lake/requests/day={day}": None, f"lake/usage/day={day}": None}


def week_inputs(week_start: date) -> Wanted:
    """A week reads the rollups of its days and of the day before, and every weekly table (history, backtest)."""
    days = [(week_start - timedelta(days=1)).isoformat(), *week_days(week_start)]
    return {f"lake/rollups/day={day}": None for day in days} | {WEEKLY_UNITS: None}


def focus_export_inputs(week_start: date) -> Wanted:
    """The FOCUS export of a week reads the minute rollups of its days (nothing else: not the request lake)."""
    return {f"lake/rollups/day={day}": ("minutes.parquet",) for day in week_days(week_start)}


def warehouse_inputs() -> Wanted:
    """The warehouse reads the request lake, the quarantines (staging, day merge, usage duplicates) and the weekly
    tables, into its own file."""
    return {
        "lake/requests/": None,
        "lake/quarantine/": None,
        "lake/staged/": (f"day={QUARANTINE_DAY}/",),
        "lake/usage/": (USAGE_QUARANTINE,),
        WEEKLY_UNITS: None,
        "warehouse.duckdb": None,
    }


def analytics_inputs(home: Home, settings: Settings) -> Wanted:
    """Publishing reads the warehouse, the request lake (its snapshot) and the rollups of the what-if weeks."""
    weeks = (
        weeks_with_data(home)[-settings.analytics.whatif_weeks :] if settings.analytics.whatif_weeks else []
    )
    rollups: Wanted = {}
    for week in weeks:
        rollups |= week_inputs(week)
    return {"warehouse.duckdb": None, "lake/requests/": None, WEEKLY_UNITS: None} | rollups


def report_inputs() -> Wanted:
    """The weekly report reads the weekly tables and the charts (and the Slack state, a small object)."""
    return {WEEKLY_UNITS: None, "reports/": None}


def step_inputs(home: Home, settings: Settings, steps: set[str], partition_key: str | None) -> Wanted:
    """The union of what the named steps (asset names) read for ``partition_key``."""
    wanted: Wanted = {}
    for step in sorted(steps):
        if step == "staged_file" and partition_key:
            wanted |= staging_inputs(home, partition_key)
        elif step == "requests" and partition_key:
            wanted |= day_merge_inputs(home, settings, partition_key)
        elif step == "daily_rollups" and partition_key:
            wanted |= rollup_inputs(partition_key)
        elif step in WEEK_STEPS and partition_key:
            wanted |= week_inputs(date.fromisoformat(partition_key))
        elif step == "warehouse":
            wanted |= warehouse_inputs()
        elif step == "analytics":
            wanted |= analytics_inputs(home, settings)
    return wanted
