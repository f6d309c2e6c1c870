"""Options shared by the formats: how timestamps are written, and the checks on user-given values."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipelines.core.errors import ModeshiftError

TS_UNITS = ("iso", "s", "ms", "us")
# Every option a landed file may carry (``modeshift ingest`` flags; ``mapping`` is the parsed mapping file;
# ``endpoint_by``: which field of an aggregated usage export names the endpoint).
OPTION_KEYS = ("endpoint", "model", "anchor", "ts_unit", "mapping", "endpoint_attribute", "endpoint_by")
# Options only some formats take (each such format lists it in its module's OPTIONS); any other refuses it.
FORMAT_OPTIONS = ("endpoint_attribute", "endpoint_by")
DEFAULT_MAX_NAME_LENGTH = 200
_MAX_ANCHOR_CHARACTERS = 64


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


def unprintable(text: str) -> bool:
    """True when ``text`` holds a control character (C0, DEL, C1), a lone surrogate (undecodable command-line
    bytes) or a line/paragraph separator: none of them belongs in a name."""
    return any(unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") for ch in text)


def check_name(key: str, value: Any, max_length: int = DEFAULT_MAX_NAME_LENGTH) -> str:
    """An endpoint or model name given as an option (or a mapping constant): non-blank text of at most
    ``max_length`` characters without control characters; returned stripped, as staging stores it."""
    flag = f"--{key}"
    if not isinstance(value, str) or not value.strip() or unprintable(value):
        raise ModeshiftError(
            f"The {key} name {str(value)[:80]!r} is not usable: it must be non-blank text without control "
            "characters.",
            f"Pass {flag} NAME with a visible name.",
        )
    if len(value.strip()) > max_length:
        raise ModeshiftError(
            f"The {key} name is {len(value.strip())} characters long; at most {max_length} are kept.",
            f"Pass a shorter {flag} (ingest.max_name_length in config.yaml sets the limit).",
        )
    return value.strip()


def check_common_options(options: dict[str, Any], max_name_length: int = DEFAULT_MAX_NAME_LENGTH) -> None:
    """The checks every format shares, run once at ingest (and again at staging) before the format's own: only
    known options; endpoint and model usable names; a known timestamp unit; an anchor that is a finite ISO-8601
    instant. A value of None means the option was not given."""
    unknown = sorted(set(options) - set(OPTION_KEYS))
    if unknown:
        raise ModeshiftError(
            f"Unknown option(s): {', '.join(unknown)}.", f"Use only: {', '.join(OPTION_KEYS)}."
        )
    for key in ("endpoint", "model"):
        if options.get(key) is not None:
            check_name(key, options[key], max_name_length)
    if options.get("ts_unit") is not None:
        check_ts_unit(options["ts_unit"])
    if options.get("anchor") is not None:
        check_anchor(options["anchor"])


def check_anchor(value: Any) -> datetime:
    """An anchor instant (see :func:`parse_anchor`) that is short text, finite and between years 1970 and 9000."""
    text = str(value)
    if isinstance(value, float) and not math.isfinite(value) or len(text) > _MAX_ANCHOR_CHARACTERS:
        raise ModeshiftError(
            f"The anchor '{text[:40]}' is not an ISO-8601 time.", "Write it like 2024-01-01T00:00:00Z."
        )
    anchor = parse_anchor(value)
    if not 1970 <= anchor.year <= 9000:
        raise ModeshiftError(
            f"The anchor {anchor.isoformat()} is outside the years 1970 to 9000.", "Check --anchor."
        )
    return anchor


def refuse_options(format_name: str, options: Mapping[str, Any], not_applicable: Mapping[str, str]) -> None:
    """Refuse, with one clear sentence, the first option of ``not_applicable`` (option → why ``format_name`` does
    not take it) that ``options`` sets; ``ts_unit: iso`` is every format's default and always allowed."""
    for key, reason in not_applicable.items():
        if options.get(key) and not (key == "ts_unit" and options[key] == "iso"):
            flag = "--" + key.replace("_", "-")
            raise ModeshiftError(f"The {format_name} format does not take {flag}: {reason}", f"Drop {flag}.")
