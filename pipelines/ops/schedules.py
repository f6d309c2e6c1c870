"""Schedules: the previous UTC day every day at 01:00, the previous ISO week every Monday at 06:00 UTC.

Both are built on the partitioned jobs. They target the *previous* complete partition explicitly, because the
partitions definitions reach a little into the future (so data of today and this week can be processed on demand).
"""

from __future__ import annotations

from datetime import timedelta

from dagster import RunRequest, ScheduleEvaluationContext, schedule

from pipelines.core.calendar import week_start_of
from pipelines.ops.jobs import daily_job, weekly_job


@schedule(job=daily_job, cron_schedule="0 1 * * *", execution_timezone="UTC")
def daily_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """At 01:00 UTC: merge, validate and roll up yesterday (UTC)."""
    yesterday = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
    return RunRequest(run_key=f"daily:{yesterday}", partition_key=yesterday)


@schedule(job=weekly_job, cron_schedule="0 6 * * 1", execution_timezone="UTC")
def weekly_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """Mondays at 06:00 UTC: profiles, plans, recommendations and backtest of the week that just ended."""
    last_week = week_start_of(context.scheduled_execution_time.date()) - timedelta(days=7)
    return RunRequest(run_key=f"weekly:{last_week.isoformat()}", partition_key=last_week.isoformat())
