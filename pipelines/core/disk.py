"""A full disk, said plainly: recognise "no space left" (ENOSPC, a quota, SQLite's "database or disk is full",
DuckDB's IO errors) and the file-size limit (EFBIG, ``ulimit -f``) in any exception or error text, and turn them
into one sentence naming the device that holds ``MODESHIFT_HOME`` and how much of it is free."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from pipelines.core.errors import ModeshiftError

_NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_NO_SPACE_TEXTS = ("no space left on device", "database or disk is full", "disk quota exceeded")
_TOO_LARGE_TEXTS = ("file too large",)
# SQLite reports some writes on a full disk (its journal, its schema reads) only as "disk I/O error": that counts as
# a full disk when the device holding the home has less than this much free, in MB.
_IO_ERROR_TEXTS = ("disk i/o error",)
NEARLY_FULL_MB = 8.0


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and the exceptions it was raised from or during, outermost first (cycles cut)."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not other for other in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def disk_problem(error: BaseException | str, home_root: Path | None = None) -> str | None:
    """``"no_space"`` when ``error`` (an exception, its causes, or an error message) says the disk or quota is
    full (or is SQLite's "disk I/O error" while the device of ``home_root`` is nearly full), ``"too_large"`` when a
    file hit the file-size limit, else None."""
    items: list[BaseException | str] = [error] if isinstance(error, str) else list(_chain(error))
    for item in items:
        if isinstance(item, OSError) and item.errno in _NO_SPACE_ERRNOS:
            return "no_space"
        if isinstance(item, OSError) and item.errno == errno.EFBIG:
            return "too_large"
        text = str(item).lower()
        if any(needle in text for needle in _NO_SPACE_TEXTS):
            return "no_space"
        if any(needle in text for needle in _TOO_LARGE_TEXTS):
            return "too_large"
    if home_root is not None and any(
        needle in str(item).lower() for item in items for needle in _IO_ERROR_TEXTS
    ):
        free = free_megabytes(home_root)
        if free is not None and free < NEARLY_FULL_MB:
            return "no_space"
    return None


def free_megabytes(path: Path) -> float | None:
    """Free space of the filesystem holding ``path`` (its nearest existing parent), in MB (10^6 bytes)."""
    for candidate in (path, *path.parents):
        try:
            return shutil.disk_usage(candidate).free / 1e6
        except OSError:
            continue
    return None


def disk_full_error(home_root: Path, problem: str = "no_space") -> ModeshiftError:
    """The clear error for a full disk (or, with ``problem="too_large"``, the file-size limit) under the home."""
    free = free_megabytes(home_root)
    free_text = f"{free:,.1f} MB free" if free is not None else "free space unknown"
    if problem == "too_large":
        return ModeshiftError(
            f"A file under MODESHIFT_HOME ({home_root}) hit the file-size limit of this process (ulimit -f; "
            f"{free_text} on its device).",
            "Raise the limit (ulimit -f unlimited), then re-run the command; nothing half-written was kept.",
        )
    return ModeshiftError(
        f"No space left on the device holding MODESHIFT_HOME ({home_root}, {free_text}).",
        "Free some space there (or move MODESHIFT_HOME to a larger disk), then re-run the command; nothing "
        "half-written was kept.",
    )


def clear_disk_error(home_root: Path, error: BaseException) -> ModeshiftError | None:
    """:func:`disk_full_error` when ``error`` is a full disk or the file-size limit, else None."""
    problem = disk_problem(error, home_root)
    return disk_full_error(home_root, problem) if problem is not None else None
