"""Partitions: landed files (dynamic, one per file id), UTC days, and ISO weeks starting Monday 00:00 UTC."""

from __future__ import annotations

from datetime import date, timedelta

from dagster import DailyPartitionsDefinition, DynamicPartitionsDefinition, WeeklyPartitionsDefinition

from pipelines.config import default_settings_mapping

LANDED_FILES = "landed_files"

# The first day modeshift partitions; rows before it are quarantined at staging (ingest.start_date).
START_DATE: date = date.fromisoformat(str(default_settings_mapping()["ingest"]["start_date"]))


def week_start_of(day: date) -> date:
    """The Monday (UTC) starting the ISO week that contains ``day``."""
    return day - timedelta(days=day.weekday())


landed_files_partitions = DynamicPartitionsDefinition(name=LANDED_FILES)
daily_partitions = DailyPartitionsDefinition(start_date=START_DATE.isoformat(), end_offset=2)
weekly_partitions = WeeklyPartitionsDefinition(
    start_date=week_start_of(START_DATE).isoformat(), day_offset=1, end_offset=1
)
