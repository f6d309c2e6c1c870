"""One ``modeshift materialize`` (or ``demo``) at a time per home: an OS file lock (``flock``) on
``$MODESHIFT_HOME/materialize.lock``, held for the whole run.

Two in-process runs on the same Dagster instance at once can corrupt it (two processes creating its SQLite schema),
and their day merges and staging race for the same files; the Dagster pool only guards runs Dagster launches
itself. The lock is the kernel's: it is released when its holder exits, however it exits (SIGKILL included), so there
is nothing stale to clean up. The holder writes who it is (pid, host, start time, command) into the file, so a
second run can say whom it waits for. ``modeshift ingest`` takes no such lock: landing files while a materialize
runs stays allowed (the next materialize picks them up).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home

_held: dict[str, int] = {}  # lock files this process holds, with their nesting depth (the lock is re-entrant)
_held_guard = threading.Lock()


def _holder_of(fd: int) -> dict[str, object]:
    try:
        text = os.pread(fd, 4096, 0).decode("utf-8", errors="replace")
        payload = json.loads(text) if text.strip() else {}
    except (OSError, ValueError):
        payload = {}
    return payload if isinstance(payload, dict) else {}


# How long a refused run waits for the holder's record: the holder writes it right after taking the lock, so a run
# refused in between would otherwise name no one.
HOLDER_RECORD_WAIT_S = 2.0


def _recorded_holder_of(fd: int) -> dict[str, object]:
    """The holder's record, waiting up to ``HOLDER_RECORD_WAIT_S`` seconds for a holder that has just taken the lock
    to write it (an empty dict when it still has not)."""
    deadline = time.monotonic() + HOLDER_RECORD_WAIT_S
    holder = _holder_of(fd)
    while not holder.get("pid") and time.monotonic() < deadline:
        time.sleep(0.05)
        holder = _holder_of(fd)
    return holder


def describe_holder(holder: dict[str, object]) -> str:
    """``pid N started at <UTC time> (modeshift <command>)`` from what a lock holder recorded."""
    if not holder.get("pid"):
        return "another process (it has not recorded itself yet)"
    where = f" on {holder['host']}" if holder.get("host") and holder["host"] != socket.gethostname() else ""
    return f"pid {holder['pid']}{where} started at {holder.get('started_at', '?')} (modeshift {holder.get('command', '?')})"


@contextmanager
def materialize_lock(
    home: Home, command: str = "materialize", wait: bool = True, progress: Callable[[str], None] = print
) -> Iterator[None]:
    """Hold the home's materialize lock for the duration of the block.

    When another process holds it: with ``wait`` print "waiting for the materialize of pid N started at ..." and
    block until it ends; without, raise ModeshiftError naming the holder. Re-entrant within one process.
    """
    path = home.materialize_lock_file
    key = str(path)
    with _held_guard:
        if key in _held:
            _held[key] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _held_guard:
                _held[key] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = describe_holder(_recorded_holder_of(fd))
            if not wait:
                raise ModeshiftError(
                    f"Another modeshift run holds this home ({home.root}): {holder}.",
                    "Wait for it to finish, or run without --no-wait to queue behind it.",
                ) from None
            progress(f"waiting for the materialize of {holder} to finish ...")
            fcntl.flock(fd, fcntl.LOCK_EX)
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": command,
        }
        try:  # who holds the lock, for the message of a second run; the lock holds without it (a full disk)
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(record).encode(), 0)
        except OSError:
            pass
        with _held_guard:
            _held[key] = 1
        try:
            yield
        finally:
            with _held_guard:
                del _held[key]
            os.ftruncate(fd, 0)  # the next reader must not mistake us for a live holder
    finally:
        os.close(fd)  # closing the last descriptor releases the lock
