"""The calendar modeshift works in: UTC days, ISO weeks starting Monday 00:00 UTC, and minutes of a day."""

from __future__ import annotations

from datetime import date, timedelta

MINUTES_PER_DAY = 1440
DAYS_PER_WEEK = 7


def week_start_of(day: date) -> date:
    """The Monday (UTC) starting the ISO week that contains ``day``."""
    return day - timedelta(days=day.weekday())


def week_days(week_start: date) -> list[str]:
    """The seven UTC days (YYYY-MM-DD) of the ISO week starting ``week_start``."""
    return [(week_start + timedelta(days=offset)).isoformat() for offset in range(DAYS_PER_WEEK)]


# The range of days Dagster partitions (``pipelines/ops/partitions.py``). The settings may not let rows land outside
# it (``pipelines/core/settings.py`` refuses an earlier ``ingest.start_date`` or a longer ``ingest.max_future_hours``),
# since a day without a partition makes every run that reaches it fail.
PARTITIONS_START_DATE = date(2020, 1, 1)
# Daily partitions exist up to this many days from today's: 2 = today and tomorrow (UTC).
DAILY_PARTITIONS_END_OFFSET = 2
# Hours after any moment that always fall on a partitioned day: from the last instant of today, the last
# partitioned day (tomorrow) ends 24 h later.
PARTITIONED_FUTURE_HOURS = 24 * (DAILY_PARTITIONS_END_OFFSET - 1)
# Weekly partitions exist up to this many weeks from this week's: enough for the week of the last daily partition
# (on a Sunday, tomorrow's day belongs to next week), so every partitioned day's week is partitioned too.
WEEKLY_PARTITIONS_END_OFFSET = 1 + -(-(DAILY_PARTITIONS_END_OFFSET - 1) // DAYS_PER_WEEK)
