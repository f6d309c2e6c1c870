"""What-if plan specs: the plan a user asks ``modeshift whatif`` to cost, parsed from one line of text
(see docs/cost-model.md#what-if).

Grammar (case-insensitive kinds; whitespace around the parts is ignored)::

    fixed:R                      R >= 1 replicas all week
    autoscale:MIN-MAX            an autoscaler between MIN >= 0 and MAX >= max(1, MIN) replicas
    scheduled:R@DAYS HOURS [ZONE] R >= 1 replicas inside a recurring window, none outside it
    serverless                   every token on serverless
    batch                        every token through the batch API
    pool:E1,E2,...               the named endpoints (and the one given with --endpoint) on one shared deployment

DAYS is what ``core.calendar.parse_window`` accepts (``daily``, ``weekdays``, ``weekends``, ``Mon-Fri``,
``Mon,Wed,Fri``); HOURS is ``HH-HH`` or ``HH:MM-HH:MM`` (whole hours, the end may be 24, an end before the start
wraps past midnight); ZONE an optional IANA zone (``Europe/Berlin``), default the settings' ``schedules.time_zone``
(it is checked where the week is read). Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipelines.core.calendar import parse_window

FIXED = "fixed"
AUTOSCALE = "autoscale"
SCHEDULED = "scheduled"
SERVERLESS = "serverless"
BATCH = "batch"
POOL = "pool"
KINDS = (FIXED, AUTOSCALE, SCHEDULED, SERVERLESS, BATCH, POOL)
MAX_REPLICAS = 10_000  # a spec asking for more is a typo, not a plan

_EXAMPLES = "fixed:3, autoscale:1-4, 'scheduled:2@weekdays 08-20 Europe/Berlin', serverless, batch or pool:chat-api,support-agent"
_COUNT = re.compile(r"\d+")
_HOURS = re.compile(r"(\d{1,2})(?::(\d{2}))?-(\d{1,2})(?::(\d{2}))?")


@dataclass(frozen=True)
class PlanSpec:
    """One what-if plan, parsed: ``kind`` (one of ``KINDS``); ``replicas`` (fixed and scheduled R; autoscale max;
    0 otherwise); ``min_replicas`` / ``max_replicas`` (autoscale bounds; fixed R and R; scheduled 0 and R);
    ``window`` (the normalized window text, ``Mon-Fri 08:00-20:00``) and ``cells`` (its 168 weekday-hour cells)
    for scheduled plans; ``time_zone`` (the zone the window was written in, None for the settings' default);
    ``members`` (a pool's endpoints as written, in order, without repeats); ``text``: the spec as given."""

    kind: str
    text: str
    replicas: int = 0
    min_replicas: int = 0
    max_replicas: int = 0
    window: str | None = None
    cells: tuple[bool, ...] | None = None
    time_zone: str | None = None
    members: tuple[str, ...] = ()

    @property
    def window_cells(self) -> list[int]:
        """The window's cells as a list of indices (weekday·24 + hour, Monday = 0); empty when there is none."""
        return [c for c, on in enumerate(self.cells or ()) if on]


def _bad(text: str, why: str) -> ValueError:
    return ValueError(f"plan {text!r}: {why} (e.g. {_EXAMPLES})")


def _count(text: str, value: str, what: str, least: int) -> int:
    """A whole number >= ``least`` (at most MAX_REPLICAS) written in ``value``."""
    value = value.strip()
    if not _COUNT.fullmatch(value):
        raise _bad(text, f"{what} must be a whole number, not {value!r}")
    count = int(value)
    if count < least:
        raise _bad(text, f"{what} must be at least {least}, got {count}")
    if count > MAX_REPLICAS:
        raise _bad(text, f"{what} must be at most {MAX_REPLICAS}, got {count}")
    return count


def _hours(text: str, hours: str) -> str:
    """``HH-HH`` or ``HH:MM-HH:MM`` as ``HH:MM-HH:MM`` (minutes kept as written, so parse_window judges them)."""
    match = _HOURS.fullmatch(hours)
    if match is None:
        raise _bad(text, f"hours {hours!r} are not HH-HH or HH:MM-HH:MM")
    start, start_minutes, end, end_minutes = match.groups()
    return f"{int(start):02d}:{start_minutes or '00'}-{int(end):02d}:{end_minutes or '00'}"


def _scheduled(text: str, body: str) -> PlanSpec:
    """``R@DAYS HOURS [ZONE]``."""
    count, at, window_text = body.partition("@")
    if not at:
        raise _bad(text, "a scheduled plan is R@DAYS HOURS [ZONE]")
    replicas = _count(text, count, "replicas", 1)
    parts = window_text.replace("–", "-").replace("—", "-").split()
    if len(parts) not in (2, 3):
        raise _bad(text, "the window is DAYS HOURS and an optional time zone")
    window = f"{parts[0]} {_hours(text, parts[1])}"
    try:
        cells = parse_window(window)
    except ValueError as error:
        raise _bad(text, str(error)) from None
    zone = parts[2] if len(parts) == 3 else None
    if zone is not None and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-/]*", zone):
        raise _bad(text, f"{zone!r} is not an IANA time zone name")
    return PlanSpec(SCHEDULED, text, replicas, 0, replicas, _canonical_window(parts[0], window), cells, zone)


def _canonical_window(days: str, window: str) -> str:
    """The window with its days spelled as written, but capitalized (``mon-fri`` → ``Mon-Fri``)."""
    named = days.lower()
    if named in ("daily", "weekdays", "weekends"):
        spelled = named
    else:
        spelled = re.sub(r"[a-z]+", lambda m: m.group(0).capitalize(), named)
    return f"{spelled} {window.split(' ', 1)[1]}"


def _pool(text: str, body: str) -> PlanSpec:
    """``E1,E2,...``: endpoint names, kept in order without repeats."""
    names: list[str] = []
    for raw in body.split(","):
        name = raw.strip()
        if not name:
            raise _bad(text, "a pool lists endpoint names separated by commas, none empty")
        if name not in names:
            names.append(name)
    return PlanSpec(POOL, text, members=tuple(names))


def parse_plan_spec(text: str) -> PlanSpec:
    """The ``PlanSpec`` written in ``text`` (module docstring for the grammar); ValueError saying what is wrong."""
    stripped = text.strip()
    kind, colon, body = stripped.partition(":")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise _bad(text, f"unknown plan {kind!r}; expected one of {', '.join(KINDS)}")
    if kind in (SERVERLESS, BATCH):
        if colon:
            raise _bad(text, f"{kind} takes no settings")
        return PlanSpec(kind, text)
    if not colon or not body.strip():
        raise _bad(text, f"{kind} needs its settings after a colon")
    if kind == FIXED:
        replicas = _count(text, body, "replicas", 1)
        return PlanSpec(FIXED, text, replicas, replicas, replicas)
    if kind == AUTOSCALE:
        low, dash, high = body.partition("-")
        if not dash:
            raise _bad(text, "an autoscaler is MIN-MAX replicas")
        least = _count(text, low, "min replicas", 0)
        most = _count(text, high, "max replicas", max(1, least))
        return PlanSpec(AUTOSCALE, text, most, least, most)
    if kind == SCHEDULED:
        return _scheduled(text, body)
    return _pool(text, body)
