"""The landing area: files handed to modeshift, stored under their identity with a manifest saying how to read them.

A landed file is identified by its bytes *and* how they are read (the format and its options: endpoint, anchor,
mapping, ...; not the file's name): landing the same bytes with the same options twice (under any name) is a no-op,
the same bytes with other options land as a new file (:func:`landed_file_id`). Homes written before the options
were part of the identity named a file by its bytes alone (``sha256[:20]``); those ids stay valid and are still
found as "already landed" (:func:`_existing_landing`). The landed bytes are a
queue, not an archive: staging deletes them once the file's rows are safely in the lake (raw logs may carry prompt
text and API keys, which modeshift never keeps). The manifest stays, so the same file is never ingested twice.

A process killed at the wrong moment must not leave raw bytes behind for good: killed after staging committed but
before it unlinked the bytes, or between the landed copy and its manifest (an *orphan* copy, invisible to
``status``). :func:`remove_raw_leftovers`, run first by every materialize, deletes both. Landing holds a shared
``flock`` on ``landing/.landing.lock`` from its copy to its manifest, and the orphan sweep takes it exclusively
without waiting: a copy a live ``ingest`` is still writing is never taken for an orphan.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.core.atomic import read_json, replace_file, temp_sibling, write_json
from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.settings import Settings
from pipelines.core.text import escape_name
from pipelines.ingest.formats.registry import FORMAT_NAMES, validate_options
from pipelines.ingest.normalize import check_stageable

FILE_ID_HEX_DIGITS = 20
_LANDED_NAME = re.compile(rf"^([0-9a-f]{{{FILE_ID_HEX_DIGITS}}})\.")
_KNOWN_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".parquet")


@dataclass(frozen=True)
class LandedFile:
    """One file in the landing area and how to read it."""

    file_id: str
    sha256: str
    original_name: str
    format: str
    suffix: str
    size_bytes: int
    landed_at: str
    landed_at_ns: int
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A manifest written before names were escaped may hold raw surrogateescape bytes: escape them on read too.
        object.__setattr__(self, "original_name", escape_name(self.original_name))

    def path(self, home: Home) -> Path:
        """Where the landed bytes are."""
        return home.landing / f"{self.file_id}{self.suffix}"

    @classmethod
    def from_manifest(cls, payload: dict[str, Any]) -> LandedFile:
        """Rebuild a LandedFile from its manifest JSON."""
        return cls(**payload)


def file_suffix(path: Path) -> str:
    """The data suffix of a file name, keeping ``.gz``: ``x.jsonl.gz`` → ``.jsonl.gz``."""
    name = path.name.lower()
    compressed = name.endswith(".gz")
    base = name[:-3] if compressed else name
    for suffix in _KNOWN_SUFFIXES:
        if base.endswith(suffix):
            return suffix + (".gz" if compressed else "")
    raise ModeshiftError(
        f"Cannot tell the file type of {escape_name(path.name)}.",
        "Name it .jsonl, .csv or .parquet (optionally .gz).",
    )


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_identity(fmt: str, options: dict[str, Any]) -> str:
    """How a file is read, as canonical JSON text: its format and options (keys sorted, so the order the options
    were given in does not matter)."""
    return json.dumps({"format": fmt, "options": options}, sort_keys=True, separators=(",", ":"), default=str)


def landed_file_id(sha256: str, fmt: str, options: dict[str, Any]) -> str:
    """The id a file lands under: the first :data:`FILE_ID_HEX_DIGITS` hex digits of the SHA-256 of its bytes'
    SHA-256 (hex) and its :func:`read_identity`, so the same bytes read another way are another file."""
    identity = f"{sha256}\n{read_identity(fmt, options)}".encode()
    return hashlib.sha256(identity).hexdigest()[:FILE_ID_HEX_DIGITS]


def legacy_file_id(sha256: str) -> str:
    """The id a home written before the read options were part of the identity gave a file: its bytes' hash."""
    return sha256[:FILE_ID_HEX_DIGITS]


def reads_alike(landed: LandedFile, fmt: str, options: dict[str, Any]) -> bool:
    """Whether ``landed`` is read with format ``fmt`` and ``options`` (compared as canonical JSON)."""
    return read_identity(landed.format, landed.options) == read_identity(fmt, options)


def manifest_path(home: Home, file_id: str) -> Path:
    """Path of one landed file's manifest."""
    return home.landing / f"{file_id}.manifest.json"


@dataclass(frozen=True)
class PreparedLanding:
    """A file checked for landing (readable, its options valid, the staging query dry-run) and hashed, not yet
    copied in: :func:`land_prepared` lands it."""

    source: Path
    fmt: str
    options: dict[str, Any]
    suffix: str
    sha256: str


def prepare_landing(home: Home, source: Path, fmt: str, options: dict[str, Any]) -> PreparedLanding:
    """Check that ``source`` can be landed as format ``fmt`` with ``options`` and hash its bytes (reading the whole
    file, so an unreadable one fails here); a clear error otherwise. Nothing is written."""
    if fmt not in FORMAT_NAMES:
        raise ModeshiftError(f"Unknown format '{fmt}'.", f"Use one of: {', '.join(FORMAT_NAMES)}.")
    if not source.is_file():
        raise ModeshiftError(f"{escape_name(str(source))} is not a readable file.", "Check the path.")
    suffix = file_suffix(source)
    settings = Settings.load(home)
    validate_options(fmt, suffix, options, settings.ingest.max_name_length)
    check_stageable(
        settings, source, fmt, suffix, options
    )  # the staging query itself, on a zero-row stand-in
    try:
        sha = _sha256_of(source)
    except OSError as error:
        raise ModeshiftError(
            f"{escape_name(str(source))} cannot be read ({error.strerror}).",
            "Check the file and its permissions.",
        ) from None
    return PreparedLanding(source, fmt, options, suffix, sha)


def land_prepared(home: Home, prepared: PreparedLanding) -> tuple[LandedFile, bool]:
    """Copy a prepared file into the landing area (under its identity: bytes and read options). Returns the landed file and whether it
    was new."""
    with _landing_lock(home, fcntl.LOCK_SH):
        return _land(home, prepared.source, prepared.fmt, prepared.options, prepared.suffix, prepared.sha256)


def land_file(home: Home, source: Path, fmt: str, options: dict[str, Any]) -> tuple[LandedFile, bool]:
    """Copy ``source`` into the landing area (under its identity: bytes and read options). Returns the landed file and whether it was new.

    ``options`` are the format options (endpoint, model, mapping, anchor, ts_unit); they are validated here, with
    the checks staging runs again and a dry run of the staging query, so a bad option fails at once, not later
    inside every run.
    """
    return land_prepared(home, prepare_landing(home, source, fmt, options))


def _land(
    home: Home, source: Path, fmt: str, options: dict[str, Any], suffix: str, sha: str
) -> tuple[LandedFile, bool]:
    file_id = landed_file_id(sha, fmt, options)
    landed = _existing_landing(home, sha, fmt, options)
    if landed is not None:
        if not is_staged(home, file_id) and not landed.path(home).exists():  # lost before staging: take again
            _copy_in(source, landed.path(home))
        return landed, False
    now_ns = time.time_ns()
    landed = LandedFile(
        file_id=file_id,
        sha256=sha,
        original_name=escape_name(source.name),  # a Linux name may be any bytes: kept as valid text
        format=fmt,
        suffix=suffix,
        size_bytes=source.stat().st_size,
        landed_at=datetime.fromtimestamp(now_ns / 1e9, tz=UTC).isoformat(),
        landed_at_ns=now_ns,
        options=options,
    )
    _copy_in(source, landed.path(home))
    try:
        write_json(manifest_path(home, file_id), asdict(landed))  # the manifest is the commit record
    except BaseException:
        landed.path(home).unlink(missing_ok=True)  # no manifest: the copy would be an orphan
        raise
    return landed, True


def _existing_landing(home: Home, sha: str, fmt: str, options: dict[str, Any]) -> LandedFile | None:
    """The landed file with these bytes (``sha``) read with ``fmt`` and ``options``: under its id, or under the id a
    home of an older version gave it (the bytes' hash alone, when it is read alike); None when there is none."""
    for candidate in (landed_file_id(sha, fmt, options), legacy_file_id(sha)):
        payload = read_json(manifest_path(home, candidate))
        if payload is None:
            continue
        landed = LandedFile.from_manifest(payload)
        if landed.sha256 == sha and reads_alike(landed, fmt, options):
            return landed
    return None


def landed_by_content(home: Home) -> dict[str, list[LandedFile]]:
    """Every landed file by the SHA-256 of its bytes (several when the same bytes landed with other options)."""
    by_content: dict[str, list[LandedFile]] = {}
    for landed in landed_files(home):
        by_content.setdefault(landed.sha256, []).append(landed)
    return by_content


def _copy_in(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` atomically; on any failure (a full disk...) the partial copy is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(target)
    try:
        shutil.copyfile(source, tmp)
        replace_file(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def is_staged(home: Home, file_id: str) -> bool:
    """Whether the staging of ``file_id`` committed (its staged manifest exists)."""
    return (home.staged / file_id / "_manifest.json").exists()


@contextmanager
def _landing_lock(home: Home, operation: int, blocking: bool = True) -> Iterator[bool]:
    """Hold ``landing/.landing.lock`` (shared: landing a file; exclusive: sweeping orphans); yields whether it was
    obtained (always True when ``blocking``). The kernel releases it when the holder dies."""
    home.landing.mkdir(parents=True, exist_ok=True)
    fd = os.open(home.landing / ".landing.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, operation | (0 if blocking else fcntl.LOCK_NB))
            obtained = True
        except BlockingIOError:
            obtained = False
        yield obtained
    finally:
        os.close(fd)


@dataclass
class RawLeftovers:
    """Raw landed bytes deleted by :func:`remove_raw_leftovers`, and whether the orphan sweep had to be skipped."""

    staged: list[Path] = field(default_factory=list)
    orphans: list[Path] = field(default_factory=list)
    orphan_sweep_skipped: bool = False


def remove_raw_leftovers(home: Home) -> RawLeftovers:
    """Delete raw landed bytes that must not stay: those of files whose staging committed (a kill between staging's
    commit and its unlink leaves them), and orphan copies without a manifest (a kill between the copy and the
    manifest). Orphans are swept only when no ``ingest`` is landing a file right now (else left to the next run)."""
    removed = RawLeftovers()
    if not home.landing.exists():
        return removed
    for landed in landed_files(home):
        path = landed.path(home)
        if is_staged(home, landed.file_id) and path.exists():
            path.unlink(missing_ok=True)
            removed.staged.append(path)
    with _landing_lock(home, fcntl.LOCK_EX, blocking=False) as locked:
        if not locked:
            removed.orphan_sweep_skipped = True
            return removed
        for path in orphan_copies(home):
            path.unlink(missing_ok=True)
            removed.orphans.append(path)
    return removed


def orphan_copies(home: Home) -> list[Path]:
    """Landed copies without a manifest (an ingest killed between the two, or one still landing them)."""
    orphans = []
    for path in sorted(home.landing.iterdir()) if home.landing.exists() else []:
        match = _LANDED_NAME.match(path.name)
        if match is None or path.name.endswith(".manifest.json") or not path.is_file():
            continue
        if not manifest_path(home, match.group(1)).exists():
            orphans.append(path)
    return orphans


def landed_files(home: Home) -> list[LandedFile]:
    """Every landed file with a manifest, oldest first."""
    files = []
    for manifest in home.landing.glob("*.manifest.json"):
        payload = read_json(manifest)
        if payload is not None:
            files.append(LandedFile.from_manifest(payload))
    return sorted(files, key=lambda landed: (landed.landed_at_ns, landed.file_id))


def get_landed_file(home: Home, file_id: str) -> LandedFile:
    """The landed file with this id; a clear error when there is none."""
    payload = read_json(manifest_path(home, file_id))
    if payload is None:
        raise ModeshiftError(f"No landed file has the id {file_id}.", "Run 'modeshift ingest' first.")
    return LandedFile.from_manifest(payload)
