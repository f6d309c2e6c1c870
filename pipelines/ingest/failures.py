"""Landed files that could not be staged: set aside with their error, so one bad file never blocks the others.

A failed file keeps its landed bytes and manifest and gets ``landing/<file_id>.failed.json`` (its error, when, how
many attempts). The runner and the landing sensor skip it; ``modeshift status`` and ``ingest_log`` show it. Then:

* ``modeshift retry FILE_ID`` stages it again at the next ``materialize`` (after fixing the cause, e.g. disk space);
* ``modeshift forget FILE_ID`` drops it (bytes, manifest, failure record; see :mod:`pipelines.lake.forget`), e.g. to
  ingest it again with other options.

An error caused by the file itself (its content, its options) sets it aside at once; one of the machine (disk,
memory) only after :data:`MAX_TRANSIENT_ATTEMPTS` attempts, since the next run may well succeed.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.core.atomic import read_json, write_json
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.ingest.landing import LandedFile
from pipelines.ingest.staging import StagedFile, stage_file

MAX_TRANSIENT_ATTEMPTS = 3
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


@dataclass(frozen=True)
class FileFailure:
    """Why a landed file could not be staged. ``failed`` is False while a transient error is still being retried,
    and after ``modeshift retry`` (``retries`` counts those, so the landing sensor asks for a fresh run)."""

    file_id: str
    original_name: str
    error: str
    at: str
    attempts: int
    failed: bool
    retries: int = 0


def failure_path(home: Home, file_id: str) -> Path:
    """Where one file's failure record lives (next to its manifest)."""
    return home.landing / f"{file_id}.failed.json"


def read_failure(home: Home, file_id: str) -> FileFailure | None:
    """The failure record of a file, or None when it never failed."""
    payload = read_json(failure_path(home, file_id))
    return FileFailure(**payload) if payload is not None else None


def failed_files(home: Home) -> dict[str, FileFailure]:
    """Every file set aside (failed and not retried), by file id."""
    failures = {}
    for path in sorted(home.landing.glob("*.failed.json")):
        payload = read_json(path)
        if payload is not None and payload.get("failed"):
            failures[payload["file_id"]] = FileFailure(**payload)
    return failures


def is_transient(error: BaseException) -> bool:
    """True for errors of the machine rather than of the file: out of disk or memory, an I/O error (DuckDB's
    own, e.g. a full disk under write_parquet, included: a file DuckDB cannot read is read record by record)."""
    return isinstance(error, OSError | MemoryError | duckdb.OutOfMemoryException | duckdb.IOException)


def describe(error: BaseException) -> str:
    """One line about ``error`` that is safe to keep: modeshift's own sentence, or the error's type and first line
    with every quoted value removed (a DuckDB message may quote the data it choked on: prompts, keys)."""
    if isinstance(error, ModeshiftError):
        return str(error).splitlines()[0][:400]
    first = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {_QUOTED.sub('…', first)}"[:300]


def record_failure(home: Home, file_id: str, original_name: str, error: BaseException) -> FileFailure:
    """Count one failed staging attempt of a file; set the file aside when the error is the file's, or after
    :data:`MAX_TRANSIENT_ATTEMPTS` transient ones. Returns the record written."""
    previous = read_failure(home, file_id)
    attempts = (previous.attempts if previous is not None and not previous.failed else 0) + 1
    failure = FileFailure(
        file_id=file_id,
        original_name=original_name,
        error=describe(error),
        at=datetime.fromtimestamp(time.time(), tz=UTC).isoformat(),
        attempts=attempts,
        failed=not is_transient(error) or attempts >= MAX_TRANSIENT_ATTEMPTS,
        retries=previous.retries if previous is not None else 0,
    )
    write_json(failure_path(home, file_id), asdict(failure))
    return failure


def clear_after_success(home: Home, file_id: str) -> None:
    """Forget the failed attempts of a file that has now been staged."""
    failure_path(home, file_id).unlink(missing_ok=True)


def retry_file(home: Home, file_id: str) -> FileFailure:
    """Put a failed file back in the queue: the next ``materialize`` (or sensor tick) stages it again."""
    failure = read_failure(home, file_id)
    if failure is None or not failure.failed:
        raise ModeshiftError(
            f"No failed file has the id {file_id}.", "'modeshift status' lists failed files."
        )
    again = FileFailure(**{**asdict(failure), "failed": False, "attempts": 0, "retries": failure.retries + 1})
    write_json(failure_path(home, file_id), asdict(again))
    return again


def stage_or_set_aside(home: Home, settings: Settings, landed: LandedFile) -> StagedFile:
    """Stage ``landed`` (see :func:`pipelines.ingest.staging.stage_file`); when that fails, record the failure
    (setting the file aside, see the module) and re-raise."""
    try:
        staged = stage_file(home, settings, landed)
    except Exception as error:
        record_failure(home, landed.file_id, landed.original_name, error)
        raise
    clear_after_success(home, landed.file_id)
    return staged
