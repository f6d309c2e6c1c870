"""The landing area: files handed to modeshift, stored under their content hash with a manifest saying how to read them.

A file is identified by its bytes: landing the same bytes twice (under any name) is a no-op. The landed bytes are a
queue, not an archive: staging deletes them once the file's rows are safely in the lake (raw logs may carry prompt
text and API keys, which modeshift never keeps). The manifest stays, so the same file is never ingested twice.
"""

from __future__ import annotations

import hashlib
import shutil
import time
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


def manifest_path(home: Home, file_id: str) -> Path:
    """Path of one landed file's manifest."""
    return home.landing / f"{file_id}.manifest.json"


def land_file(home: Home, source: Path, fmt: str, options: dict[str, Any]) -> tuple[LandedFile, bool]:
    """Copy ``source`` into the landing area (content-addressed). Returns the landed file and whether it was new.

    ``options`` are the format options (endpoint, model, mapping, anchor, ts_unit); they are validated here, with
    the checks staging runs again and a dry run of the staging query, so a bad option fails at once, not later
    inside every run.
    """
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
    sha = _sha256_of(source)
    file_id = sha[:FILE_ID_HEX_DIGITS]
    existing = read_json(manifest_path(home, file_id))
    if existing is not None:
        landed = LandedFile.from_manifest(existing)
        staged = (home.staged / file_id / "_manifest.json").exists()
        if not staged and not landed.path(home).exists():  # bytes lost before staging: take them again
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
    write_json(manifest_path(home, file_id), asdict(landed))  # the manifest is the commit record
    return landed, True


def _copy_in(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(target)
    shutil.copyfile(source, tmp)
    replace_file(tmp, target)


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
