"""Options shared by the formats: how timestamps are written, and the checks on user-given values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipelines.core.errors import ModeshiftError

TS_UNITS = ("iso", "s", "ms", "us")


@dataclass(frozen=True)
class TimestampRule:
    """How a format's ``ts`` text becomes an instant: ISO-8601 text, or a number of ``unit`` since the epoch or,
    with an ``anchor``, since the anchor instant (trace formats count from the start of the trace)."""

    unit: str = "iso"
    anchor: datetime | None = None


def parse_anchor(value: Any) -> datetime:
    """An anchor instant from ISO-8601 text (a value without offset is UTC); a clear error otherwise."""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ModeshiftError(
            f"The anchor '{value}' is not an ISO-8601 time.", "Write it like 2024-01-01T00:00:00Z."
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_ts_unit(value: Any) -> str:
    """A valid timestamp unit name; a clear error otherwise."""
    if value not in TS_UNITS:
        raise ModeshiftError(f"Unknown timestamp unit '{value}'.", f"Use one of: {', '.join(TS_UNITS)}.")
    return str(value)


def timestamp_rule_from_options(options: dict[str, Any], default_unit: str = "iso") -> TimestampRule:
    """The timestamp rule given by ``--ts-unit`` / ``--anchor`` options (anchor implies seconds by default)."""
    anchor = parse_anchor(options["anchor"]) if options.get("anchor") else None
    unit = options.get("ts_unit") or ("s" if anchor is not None and default_unit == "iso" else default_unit)
    return TimestampRule(unit=check_ts_unit(unit), anchor=anchor)
