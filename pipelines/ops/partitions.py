"""Partitions: landed files (dynamic, one per file id), UTC days, and ISO weeks starting Monday 00:00 UTC.

The daily range (first day, days past today) comes from ``pipelines/core/calendar.py``, which the settings
validation reads too, so ``ingest.start_date`` and ``ingest.max_future_hours`` can never let rows land on a day
without a partition; the weekly range reaches the week of the last daily partition."""

from __future__ import annotations

from datetime import date

from dagster import DailyPartitionsDefinition, DynamicPartitionsDefinition, WeeklyPartitionsDefinition

from pipelines.core.calendar import (
    DAILY_PARTITIONS_END_OFFSET,
    PARTITIONS_START_DATE,
    WEEKLY_PARTITIONS_END_OFFSET,
    week_start_of,
)

LANDED_FILES = "landed_files"

# The first day modeshift partitions; ingest.start_date may not be earlier (rows before it are quarantined).
START_DATE: date = PARTITIONS_START_DATE


landed_files_partitions = DynamicPartitionsDefinition(name=LANDED_FILES)
daily_partitions = DailyPartitionsDefinition(
    start_date=START_DATE.isoformat(), end_offset=DAILY_PARTITIONS_END_OFFSET
)
weekly_partitions = WeeklyPartitionsDefinition(
    start_date=week_start_of(START_DATE).isoformat(), day_offset=1, end_offset=WEEKLY_PARTITIONS_END_OFFSET
)


def unknown_day_keys(days: list[str]) -> list[str]:
    """The days in ``days`` that are not daily partition keys now (not a date, or outside the partitions' range):
    a run for one would fail before it starts, so the runner and the sensor skip them and say which file made them."""
    return [day for day in days if not daily_partitions.has_partition_key(day)]


def unknown_week_keys(weeks: list[date]) -> list[date]:
    """The weeks (Mondays) in ``weeks`` that are not weekly partition keys now (e.g. a week that has not begun)."""
    return [week for week in weeks if not weekly_partitions.has_partition_key(week.isoformat())]
