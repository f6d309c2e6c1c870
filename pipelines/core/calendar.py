"""The calendar modeshift works in: UTC days, ISO weeks starting Monday 00:00 UTC, and minutes of a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from pipelines.core.errors import ModeshiftError

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


@dataclass(frozen=True)
class DedupeWindow:
    """Which other UTC days a request_id is looked for on, to call a copy a duplicate: the days of the same ISO
    week (``same_iso_week``) and the days at most ``adjacent_days`` days before or after (so 1 also pairs a Sunday
    with the next Monday). ``DedupeWindow(False, 0)`` dedupes within each day only."""

    same_iso_week: bool = True
    adjacent_days: int = 1

    def __post_init__(self) -> None:
        if self.adjacent_days < 0:
            raise ModeshiftError(
                f"ingest.dedupe_adjacent_days must be 0 or more, not {self.adjacent_days}.",
                "Fix config.yaml.",
            )

    def days_around(self, day: str) -> list[str]:
        """The UTC days (YYYY-MM-DD, ``day`` itself excluded, in order) whose copies of a request_id count as
        duplicates of a copy on ``day``. The relation is symmetric: ``b in days_around(a)`` iff ``a in
        days_around(b)``."""
        moment = date.fromisoformat(day)
        days = set(week_days(week_start_of(moment))) if self.same_iso_week else set()
        for offset in range(1, self.adjacent_days + 1):
            days.update(
                ((moment - timedelta(days=offset)).isoformat(), (moment + timedelta(days=offset)).isoformat())
            )
        days.discard(day)
        return sorted(days)
