"""Atomic file replacement: readers see the old version or the new one, never a half-written file.

Temporary files and directories are named ``.tmp-<owner>-<random>-<label>`` (``.trash-...`` for a directory being
replaced), where ``<owner>`` names the writing process (``pipelines.core.processes``). A writer killed before its rename
leaves such a name behind; ``remove_stale_temporaries`` deletes exactly those whose owner is dead, so it is safe to
run while other processes write into the same lake.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from pipelines.core.processes import current_process, token_is_alive

_LEFTOVER = re.compile(r"^\.(?:tmp|trash)-(\d+_\d+_[0-9a-f]{8})-")
# A leftover whose name names no owner (written before owners were named) is removed once it is this old.
UNOWNED_LEFTOVER_AGE_S = 24 * 3600


def temp_path(directory: Path, label: str, kind: str = "tmp") -> Path:
    """A unique ``.<kind>-<owner>-<random>-<label>`` path in ``directory``, owned by this process."""
    return directory / f".{kind}-{current_process().token()}-{uuid.uuid4().hex[:16]}-{label}"


def temp_sibling(path: Path) -> Path:
    """A unique temporary path in the same directory as ``path`` (same filesystem, so rename is atomic)."""
    return temp_path(path.parent, f"{path.name}.partial")


def replace_file(tmp: Path, final: Path) -> None:
    """Move a finished temporary file over ``final`` atomically (fsync first, so a crash keeps one whole version)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, final)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as JSON to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(path)
    try:
        tmp.write_text(json.dumps(payload, indent=1, sort_keys=True, default=str), encoding="utf-8")
        replace_file(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk must not keep the half-written file
        raise


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when the file does not exist."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def replace_dir(tmp_dir: Path, final_dir: Path) -> None:
    """Swap a finished temporary directory into place; an older ``final_dir`` is removed afterwards.

    The swap is two renames (old away, new in): a reader may briefly find no directory, never a mixed one.
    """
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    trash = None
    if final_dir.exists():
        trash = temp_path(final_dir.parent, final_dir.name, kind="trash")
        os.replace(final_dir, trash)
    os.replace(tmp_dir, final_dir)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)


def is_stale(leftover: Path) -> bool:
    """Whether ``leftover`` (a ``.tmp-*`` / ``.trash-*`` path) was left by a writer that is gone: its owner is dead,
    or it names no owner and is older than UNOWNED_LEFTOVER_AGE_S. Another host's leftovers are never stale."""
    match = _LEFTOVER.match(leftover.name)
    if match is not None:
        alive = token_is_alive(match.group(1))
        return alive is False
    try:
        age_s = time.time() - leftover.lstat().st_mtime
    except FileNotFoundError:
        return False
    return age_s > UNOWNED_LEFTOVER_AGE_S


def remove_stale_temporaries(directory: Path, recursive: bool = True) -> list[Path]:
    """Delete the ``.tmp-*`` / ``.trash-*`` leftovers of dead writers below ``directory`` (only directly in it when
    not ``recursive``); return what was removed (a live writer's temporaries are left alone)."""
    if not directory.exists():
        return []
    removed: list[Path] = []
    find = directory.rglob if recursive else directory.glob
    for leftover in sorted(list(find(".tmp-*")) + list(find(".trash-*")), key=lambda p: len(p.parts)):
        if any(parent in removed for parent in leftover.parents) or not is_stale(leftover):
            continue
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        removed.append(leftover)
    return removed
