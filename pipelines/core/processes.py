"""Which process is this, and is another one still running: identities that survive pid reuse (a pid plus the
process start time) and name a host. Used to tag runs (``run_recovery``) and temporary files (``atomic``), so that
what a dead process left behind can be cleaned up while a live writer's work is never touched."""

from __future__ import annotations

import hashlib
import os
import re
import socket
from dataclasses import dataclass
from functools import lru_cache

import psutil

_TOKEN = re.compile(r"^(\d+)_(\d+)_([0-9a-f]{8})$")


@dataclass(frozen=True)
class ProcessIdentity:
    """A process: host name, pid and start time (seconds since the epoch, to 0.01 s)."""

    host: str
    pid: int
    started: float

    def tag(self) -> str:
        """``host:pid:start``, readable in the Dagster UI."""
        return f"{self.host}:{self.pid}:{self.started:.2f}"

    @staticmethod
    def parse(tag: str) -> ProcessIdentity | None:
        """The identity in a ``tag()`` string, or None when it is not one."""
        rest, _, started = tag.rpartition(":")
        host, _, pid = rest.rpartition(":")
        try:
            return ProcessIdentity(host=host, pid=int(pid), started=float(started))
        except ValueError:
            return None

    def token(self) -> str:
        """``pid_centiseconds_hosthash``: the same identity in characters safe in a file name."""
        return f"{self.pid}_{round(self.started * 100)}_{_host_hash(self.host)}"


def _host_hash(host: str) -> str:
    return hashlib.sha256(host.encode()).hexdigest()[:8]


@lru_cache(maxsize=8)
def _identity_of(pid: int) -> ProcessIdentity:
    return ProcessIdentity(
        host=socket.gethostname(), pid=pid, started=round(psutil.Process(pid).create_time(), 2)
    )


def current_process() -> ProcessIdentity:
    """The identity of the calling process (a forked child gets its own)."""
    return _identity_of(os.getpid())


def is_alive(process: ProcessIdentity) -> bool:
    """Whether ``process`` still runs. A process of another host counts as alive: we cannot tell, so whatever it
    owns is never touched."""
    if process.host != socket.gethostname():
        return True
    try:
        return abs(psutil.Process(process.pid).create_time() - process.started) < 0.05
    except psutil.NoSuchProcess:
        return False


def token_is_alive(token: str) -> bool | None:
    """Whether the process a file-name ``token()`` names still runs on this host; None when ``token`` is not a
    token or names another host (nothing can be said)."""
    match = _TOKEN.match(token)
    if match is None or match.group(3) != _host_hash(socket.gethostname()):
        return None
    return is_alive(ProcessIdentity(socket.gethostname(), int(match.group(1)), int(match.group(2)) / 100))
