"""Atomic file replacement: readers see the old version or the new one, never a half-written file."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any


def temp_sibling(path: Path) -> Path:
    """A unique temporary path in the same directory as ``path`` (same filesystem, so rename is atomic)."""
    return path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}.partial")


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
    tmp.write_text(json.dumps(payload, indent=1, sort_keys=True, default=str), encoding="utf-8")
    replace_file(tmp, path)


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
        trash = final_dir.with_name(f".trash-{uuid.uuid4().hex}-{final_dir.name}")
        os.replace(final_dir, trash)
    os.replace(tmp_dir, final_dir)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)


def remove_stale_temporaries(directory: Path) -> None:
    """Delete ``.tmp-*`` / ``.trash-*`` leftovers of a crashed writer below ``directory``."""
    if not directory.exists():
        return
    for leftover in list(directory.rglob(".tmp-*")) + list(directory.rglob(".trash-*")):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
