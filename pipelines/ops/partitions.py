"""Partitions: landed files (dynamic, one per file id), UTC days, and ISO weeks starting Monday 00:00 UTC.

The days begin on the home's ``ingest.start_date`` (read from ``$MODESHIFT_HOME/config.yaml`` when the code location
loads), so the UI's partitions cover the data instead of years before it; the weeks begin on that day's Monday.
Days and weeks are time windows, not dynamic partitions, because weeks carry state into the next one and that is
declared as a self-dependency on the previous week (``TimeWindowPartitionMapping``), which only time windows support.
Rows before ``ingest.start_date`` are quarantined at staging, and ``ingest.max_future_hours`` cannot reach past the
last daily partition (``pipelines/core/calendar.py``), so no accepted row lands on a day without a partition; a
start_date changed while a code server runs takes effect when the code location is reloaded (until then a day
before the old start is skipped, named, like any day that is not a partition key)."""

from __future__ import annotations

import warnings
from datetime import date

from dagster import (
    AssetDep,
    BetaWarning,
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    TimeWindowPartitionMapping,
    WeeklyPartitionsDefinition,
)

from pipelines.core.calendar import (
    DAILY_PARTITIONS_END_OFFSET,
    WEEKLY_PARTITIONS_END_OFFSET,
    week_start_of,
)
from pipelines.core.home import Home
from pipelines.core.settings import Settings

LANDED_FILES = "landed_files"


def daily_partitions_from(start: date) -> DailyPartitionsDefinition:
    """UTC days from ``start`` to tomorrow (``DAILY_PARTITIONS_END_OFFSET``)."""
    return DailyPartitionsDefinition(start_date=start.isoformat(), end_offset=DAILY_PARTITIONS_END_OFFSET)


def weekly_partitions_from(start: date) -> WeeklyPartitionsDefinition:
    """ISO weeks (Monday 00:00 UTC) from the week holding ``start`` to the week of the last daily partition."""
    return WeeklyPartitionsDefinition(
        start_date=week_start_of(start).isoformat(), day_offset=1, end_offset=WEEKLY_PARTITIONS_END_OFFSET
    )


# The first partitioned day: the home's ingest.start_date when this module is imported (the code location loads).
START_DATE: date = Settings.partitions_start(Home.from_env())

landed_files_partitions = DynamicPartitionsDefinition(name=LANDED_FILES)
daily_partitions = daily_partitions_from(START_DATE)
weekly_partitions = weekly_partitions_from(START_DATE)


def _weeks_back(start_offset: int, end_offset: int) -> TimeWindowPartitionMapping:
    """Weeks ``start_offset``..``end_offset`` relative to the downstream week; weeks before the first partition are
    allowed to be missing (a beta parameter in this Dagster, hence the warning silenced here only)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)
        return TimeWindowPartitionMapping(
            start_offset=start_offset, end_offset=end_offset, allow_nonexistent_upstream_partitions=True
        )


def previous_week(asset: str) -> AssetDep:
    """The dependency of a weekly asset on ``asset``'s partition of the week before (e.g. on its own previous week,
    whose outputs its hysteresis or week-over-week change reads); the first partitioned week has none, and runs."""
    return AssetDep(asset, partition_mapping=_weeks_back(start_offset=-1, end_offset=-1))


def this_and_previous_week(asset: str) -> AssetDep:
    """The dependency of a weekly asset on ``asset``'s partitions of the same week and the week before."""
    return AssetDep(asset, partition_mapping=_weeks_back(start_offset=-1, end_offset=0))


def unknown_day_keys(days: list[str]) -> list[str]:
    """The days in ``days`` that are not daily partition keys now (not a date, or outside the partitions' range):
    a run for one would fail before it starts, so the runner and the sensor skip them and say which file made them."""
    return [day for day in days if not daily_partitions.has_partition_key(day)]


def unknown_week_keys(weeks: list[date]) -> list[date]:
    """The weeks (Mondays) in ``weeks`` that are not weekly partition keys now (e.g. a week that has not begun)."""
    return [week for week in weeks if not weekly_partitions.has_partition_key(week.isoformat())]
