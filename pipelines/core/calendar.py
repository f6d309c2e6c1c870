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


# The range of days Dagster partitions (``pipelines/ops/partitions.py``): from ``ingest.start_date``, which may not be
# earlier than this floor (``pipelines/core/settings.py``), to tomorrow. The settings may not let rows land outside it
# (a longer ``ingest.max_future_hours`` is refused), since a day without a partition makes every run that reaches it
# fail.
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

    def region_of(self, day: str) -> list[str]:
        """The UTC days (YYYY-MM-DD, in order) of the *dedupe region* of ``day``: a span that holds ``day`` and every
        day of its window, and that is the same for every day of ``day``'s ISO week when windows follow ISO weeks
        (``same_iso_week``): the week and ``adjacent_days`` days on either side. With windows that only slide
        (``same_iso_week`` false) it is ``day`` and its window. The day merge looks for repeated request_ids once
        per region, and every day of the region's week reuses that census."""
        moment = date.fromisoformat(day)
        if self.same_iso_week:
            first = week_start_of(moment) - timedelta(days=self.adjacent_days)
            length = DAYS_PER_WEEK + 2 * self.adjacent_days
        else:
            first = moment - timedelta(days=self.adjacent_days)
            length = 1 + 2 * self.adjacent_days
        return [(first + timedelta(days=offset)).isoformat() for offset in range(length)]


HOURS_PER_WEEK = 168
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_window(text: str) -> tuple[bool, ...]:
    """The weekday × hour cells (168 booleans, cell = weekday·24 + hour, Monday = 0) of a schedule window written
    as ``DAYS HH:MM-HH:MM``: DAYS is ``daily``, ``weekdays``, ``weekends``, a range ``Mon-Fri`` or a list
    ``Mon,Wed,Fri``; the hours are whole, the end may be 24:00, and an end before the start wraps past midnight
    (``Mon-Fri 20:00-08:00`` runs each of those evenings into the next morning). En dashes are accepted. ValueError
    with the reason for anything else."""
    normalized = " ".join(text.replace("–", "-").replace("—", "-").split()).lower()
    parts = normalized.split(" ")
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not 'DAYS HH:MM-HH:MM' (e.g. 'Mon-Fri 08:00-20:00')")
    days_text, hours_text = parts
    named = {"daily": _WEEKDAYS, "weekdays": _WEEKDAYS[:5], "weekends": _WEEKDAYS[5:]}
    if days_text in named:
        days = [_WEEKDAYS.index(day) for day in named[days_text]]
    elif "-" in days_text and "," not in days_text:
        first, _, last = days_text.partition("-")
        if first not in _WEEKDAYS or last not in _WEEKDAYS:
            raise ValueError(f"{text!r}: days must be Mon..Sun, daily, weekdays or weekends")
        start, end = _WEEKDAYS.index(first), _WEEKDAYS.index(last)
        days = [(start + offset) % 7 for offset in range((end - start) % 7 + 1)]
    else:
        names = days_text.split(",")
        if any(name not in _WEEKDAYS for name in names):
            raise ValueError(f"{text!r}: days must be Mon..Sun, daily, weekdays or weekends")
        days = [_WEEKDAYS.index(name) for name in names]
    start_hour, end_hour = _hour_range(text, hours_text)
    cells = [False] * HOURS_PER_WEEK
    length = (end_hour - start_hour) % 24 or 24
    for day in days:
        for offset in range(length):
            cells[(day * 24 + start_hour + offset) % HOURS_PER_WEEK] = True
    return tuple(cells)


def _hour_range(text: str, hours_text: str) -> tuple[int, int]:
    """(start hour, end hour) of ``HH:MM-HH:MM`` with whole hours; the end may be 24:00."""
    start_text, dash, end_text = hours_text.partition("-")
    hours = []
    for value in (start_text, end_text):
        hour, colon, minute = value.partition(":")
        if not dash or not colon or not hour.isdigit() or minute != "00":
            raise ValueError(f"{text!r}: hours must be whole, as HH:00-HH:00 (e.g. 08:00-20:00)")
        hours.append(int(hour))
    if not 0 <= hours[0] <= 23 or not 0 <= hours[1] <= 24 or hours[0] == hours[1] % 24 and hours[1] != 24:
        raise ValueError(f"{text!r}: hours run from 00:00 to 24:00 and the window cannot be empty")
    return hours[0], hours[1] % 24 if hours[1] != 24 else 24
