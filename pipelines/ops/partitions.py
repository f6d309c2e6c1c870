"""Partitions: landed files (dynamic, one per file id), UTC days, and ISO weeks starting Monday 00:00 UTC."""

from __future__ import annotations

from datetime import date

from dagster import DailyPartitionsDefinition, DynamicPartitionsDefinition, WeeklyPartitionsDefinition

from pipelines.core.calendar import week_start_of
from pipelines.core.settings import default_settings_mapping

LANDED_FILES = "landed_files"

# The first day modeshift partitions; rows before it are quarantined at staging (ingest.start_date).
START_DATE: date = date.fromisoformat(str(default_settings_mapping()["ingest"]["start_date"]))


landed_files_partitions = DynamicPartitionsDefinition(name=LANDED_FILES)
daily_partitions = DailyPartitionsDefinition(start_date=START_DATE.isoformat(), end_offset=2)
weekly_partitions = WeeklyPartitionsDefinition(
    start_date=week_start_of(START_DATE).isoformat(), day_offset=1, end_offset=1
)
