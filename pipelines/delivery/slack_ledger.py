"""The record of the weekly Slack reports delivered, shared by ``weekly_report_sensor`` and ``modeshift slack``:
``$MODESHIFT_HOME/reports/slack/weekly-ledger.json``, one entry per week (the same entry the sensor's cursor keeps:
status ``sent``, ``dry_run`` or ``retrying``, the materialization it was built from, tries, last error, the delivery
progress, who delivered it and when).

Whoever delivers a week holds the home's Slack lock (an OS file lock, ``flock``, on ``$MODESHIFT_HOME/slack.lock``)
from reading the week's entry until its new entry is written, so the sensor and the command never both post the same
week: the second one waits, reads that the week was sent, and sends nothing. The lock is the kernel's, released when
its holder exits however it exits. In object mode the ledger travels with the other Slack records under
``reports/`` (a small object); the lock only serializes deliveries on one machine.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.core.atomic import read_json, write_json
from pipelines.core.home import Home

LEDGER_VERSION = 1
SENT = "sent"
DRY_RUN = "dry_run"
DONE = (SENT, DRY_RUN)


def ledger_path(home: Home) -> Path:
    """Where the shared record lives: ``$MODESHIFT_HOME/reports/slack/weekly-ledger.json``."""
    return home.root / "reports" / "slack" / "weekly-ledger.json"


def lock_path(home: Home) -> Path:
    """The lock held while a week is delivered: ``$MODESHIFT_HOME/slack.lock`` (outside ``reports/``, so object
    mode never uploads it)."""
    return home.root / "slack.lock"


@contextmanager
def slack_lock(home: Home) -> Iterator[None]:
    """Hold the home's Slack lock for the block (waits for the holder: a delivery ends within its retry budget)."""
    path = lock_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def read_ledger(home: Home) -> dict[str, dict[str, Any]]:
    """Every week's entry, by week start (YYYY-MM-DD); empty when nothing was delivered yet."""
    data = read_json(ledger_path(home)) or {}
    if data.get("version") != LEDGER_VERSION:
        return {}
    return {str(week): dict(entry) for week, entry in (data.get("weeks") or {}).items()}


def record_week(home: Home, week: str, entry: dict[str, Any], by: str) -> dict[str, Any]:
    """Write ``week``'s entry (stamped ``by`` and ``updated_at``, UTC) into the ledger, atomically; call it while
    holding ``slack_lock``. Returns the entry as written."""
    weeks = read_ledger(home)
    stamped = {**entry, "by": by, "updated_at": datetime.now(UTC).isoformat(timespec="microseconds")}
    weeks[week] = stamped
    write_json(ledger_path(home), {"version": LEDGER_VERSION, "weeks": weeks})
    return stamped


def newer(shared: dict[str, Any] | None, own: dict[str, Any] | None) -> bool:
    """Whether the ledger's entry ``shared`` should replace a cursor's ``own`` entry of the same week: it exists and
    was written at or after ``own`` (every delivery writes the ledger, so it is never behind unless it was lost)."""
    if not shared:
        return False
    if not own:
        return True
    return str(shared.get("updated_at") or "") >= str(own.get("updated_at") or "")
