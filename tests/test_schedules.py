"""The schedules target the previous complete UTC day and ISO week."""

from __future__ import annotations

from datetime import UTC, datetime

from dagster import build_schedule_context

from pipelines.definitions import defs
from pipelines.ops.schedules import daily_schedule, weekly_schedule


def test_daily_schedule_runs_yesterday():
    context = build_schedule_context(scheduled_execution_time=datetime(2026, 11, 1, 1, 0, tzinfo=UTC))
    request = daily_schedule(context)
    assert request.partition_key == "2026-10-31"
    assert request.run_key == "daily:2026-10-31"


def test_weekly_schedule_runs_the_week_that_just_ended():
    monday = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    request = weekly_schedule(build_schedule_context(scheduled_execution_time=monday))
    assert request.partition_key == "2026-11-23"


def test_schedules_are_registered_with_their_cron():
    assert defs.resolve_schedule_def("weekly_schedule").cron_schedule == "0 6 * * 1"
    assert defs.resolve_schedule_def("daily_schedule").cron_schedule == "0 1 * * *"
