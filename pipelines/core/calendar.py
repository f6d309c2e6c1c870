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
