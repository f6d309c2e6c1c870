"""The lake in an object store, worked on through a local working copy (the worker's scratch home).

Every step of modeshift reads and writes a home directory with DuckDB and Polars, exactly as in the default local
mode. In object mode (``MODESHIFT_LAKE``) that home is a *working copy*: before a step, the mirror brings in what the
step reads; after it, the mirror commits what the step wrote. A worker needs no disk but its own scratch directory.

What is a commit without rename. The home holds two kinds of things:

- **units**: directories written as a whole (a staged file, a merged day of requests or quarantine, a day's
  rollups, a day's aggregated usage minutes, one week of one weekly table). A unit is committed by uploading its files under a key no one has used
  (``<unit>/<version>/<file>``, the version is unique per push), then writing one small **commit record**,
  ``_commits/<unit>.json``, which lists the keys of its files and carries its small JSON files (the manifests)
  inline. A single object put is atomic, so a reader sees the old record or the new one; readers follow records
  only, so files of a writer killed before its record (or superseded versions) are never read. They are
  garbage, deleted by :func:`collect_garbage` once older than a grace period.
- **objects**: single files that are their own commit (landed raw files and their manifests, failure records,
  ``config.yaml``, ``warehouse.duckdb``, charts and Slack state under ``reports/``), put whole. A landed file's
  manifest is put only if absent (``If-None-Match: *``), so the same bytes landed from two workers at once land
  exactly once.

Small things (every commit record and inline manifest, every ``.json`` object) are brought in by
:meth:`LakeMirror.pull_metadata`, so the pending-work logic sees the whole lake; big files only when a step asks
for them (:meth:`LakeMirror.pull_files`). The working copy records what it pulled (``.mirror/state.json``), so
a push sends only what the step changed, and a unit pulled without its data files keeps them in its next commit.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.core.atomic import temp_path
from pipelines.core.object_store import ObjectStore

COMMITS = "_commits/"
PUBLISHED_RECORD = "analytics/published.json"
INLINE_MAX_BYTES = 256 * 1024
GARBAGE_GRACE_S = 3600.0
_THREADS = 16

# unit directories, relative to the home; anything under lake/ is in one of them
_UNIT_GLOBS = (
    "lake/staged/*",
    "lake/requests/day=*",
    "lake/quarantine/day=*",
    "lake/rollups/day=*",
    "lake/usage/day=*",
    "lake/weekly/*/week=*",
)
_UNIT = re.compile(
    r"^lake/(?:staged/[^/.][^/]*|(?:requests|quarantine|rollups|usage)/day=[^/]+|weekly/[^/.][^/]*/week=[^/]+)$"
)
# single-file objects, relative to the home
_OBJECT_GLOBS = ("landing/*", "config.yaml", "warehouse.duckdb", "reports/**/*")
_SMALL_OBJECT = re.compile(r"^(?:landing/[^/]+\.json|config\.yaml|reports/.+\.json)$")
_LANDING_MANIFEST = re.compile(r"^landing/[^/]+\.manifest\.json$")


def is_unit(relative: str) -> bool:
    """Whether ``relative`` (a path in the home) names a unit directory."""
    return _UNIT.match(relative) is not None


def _hidden(relative: str) -> bool:
    return any(part.startswith(".") for part in relative.split("/"))


def _signature(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _unit_state(
    record: dict[str, Any], tag: str | None, directory: Path, kept: dict[str, list[int]]
) -> dict[str, Any]:
    """What the working copy's state says of a unit whose files in ``directory`` agree with commit ``record``:
    each data file's key and size (bytes), with the local copy's signature where ``kept`` has one (None: not
    pulled), and each inline file with its signature."""
    files = {
        name: {"key": entry["key"], "size": entry["size"], "local": kept.get(name)}
        for name, entry in record["files"].items()
    }
    files |= {
        name: {"key": None, "size": len(text), "local": _signature(directory / name)}
        for name, text in record.get("inline", {}).items()
    }
    return {"tag": tag, "version": record["version"], "inode": directory.stat().st_ino, "files": files}


@dataclass
class PushResult:
    """What one push committed: units written and deleted, objects written and deleted, and landed manifests that
    were refused because another writer had put the same key first."""

    units: list[str] = field(default_factory=list)
    deleted_units: list[str] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)
    deleted_objects: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


class LakeMirror:
    """A working copy (``scratch``, a home directory) of the lake in ``store``."""

    def __init__(self, store: ObjectStore, scratch: Path) -> None:
        self.store = store
        self.scratch = scratch
        self._state_dir = scratch / ".mirror"
        self._state_dir.mkdir(parents=True, exist_ok=True)

    # -- state ------------------------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """The working copy's state, under an exclusive lock (processes sharing one scratch take turns)."""
        fd = os.open(self._state_dir / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            path = self._state_dir / "state.json"
            state = json.loads(path.read_text()) if path.exists() else {"units": {}, "objects": {}}
            yield state
            tmp = temp_path(self._state_dir, "state.json")
            tmp.write_text(json.dumps(state, sort_keys=True))
            os.replace(tmp, path)
        finally:
            os.close(fd)

    # -- pulling ----------------------------------------------------------------------------------------------

    def pull_metadata(self) -> None:
        """Bring in every unit's commit record with its inline files (manifests) and every small object; remove
        from the working copy what was deleted from the lake. Data files are left out (see :meth:`pull_files`)."""
        with self._locked() as state:
            commits = {
                item.key[len(COMMITS) : -len(".json")]: item.tag
                for item in self.store.list(COMMITS)
                if item.key.endswith(".json")
            }
            units = state["units"]
            changed = [unit for unit, tag in commits.items() if units.get(unit, {}).get("tag") != tag]
            with ThreadPoolExecutor(_THREADS) as pool:
                records = dict(zip(changed, pool.map(self._read_commit, changed), strict=True))
            for unit, record in records.items():
                if record is not None:
                    self._apply_commit(units, unit, record, commits[unit])
            for unit in [u for u in units if u not in commits]:  # deleted in the lake (by another worker)
                shutil.rmtree(self.scratch / unit, ignore_errors=True)
                del units[unit]
            self._pull_small_objects(state["objects"])

    def _read_commit(self, unit: str) -> dict[str, Any] | None:
        data = self.store.get_bytes(f"{COMMITS}{unit}.json")
        return json.loads(data) if data is not None else None

    def _apply_commit(self, units: dict[str, Any], unit: str, record: dict[str, Any], tag: str) -> None:
        """Make the working copy of ``unit`` agree with ``record``: its inline files written, local data files kept
        only where they are the very objects the record names."""
        directory = self.scratch / unit
        directory.mkdir(parents=True, exist_ok=True)
        previous = units.get(unit, {"files": {}})
        kept: dict[str, list[int]] = {}
        for name, entry in record["files"].items():
            local = directory / name
            known = previous["files"].get(name)
            same = known is not None and known.get("key") == entry["key"] and known.get("local") is not None
            if same and local.exists() and _signature(local) == known["local"]:
                kept[name] = known["local"]
            else:
                local.unlink(missing_ok=True)
        for name, text in record.get("inline", {}).items():
            local = directory / name
            local.parent.mkdir(parents=True, exist_ok=True)
            if not local.exists() or local.read_text(encoding="utf-8") != text:
                tmp = temp_path(local.parent, local.name)
                tmp.write_text(text, encoding="utf-8")
                os.replace(tmp, local)
        named = set(record["files"]) | set(record.get("inline", {}))
        for path in sorted(directory.rglob("*"), reverse=True):  # files of another version
            relative = path.relative_to(directory).as_posix()
            if path.is_file() and relative not in named and not _hidden(relative):
                path.unlink()
        units[unit] = _unit_state(record, tag, directory, kept)

    def _pull_small_objects(self, objects: dict[str, Any]) -> None:
        listed = {
            item.key: item.tag
            for prefix in ("landing/", "reports/", "config.yaml")
            for item in self.store.list(prefix)
            if _SMALL_OBJECT.match(item.key)
        }
        changed = [key for key, tag in listed.items() if objects.get(key, {}).get("tag") != tag]
        with ThreadPoolExecutor(_THREADS) as pool:
            contents = dict(zip(changed, pool.map(self.store.get_bytes, changed), strict=True))
        for key, data in contents.items():
            if data is None:
                continue
            local = self.scratch / key
            local.parent.mkdir(parents=True, exist_ok=True)
            tmp = temp_path(local.parent, local.name)
            tmp.write_bytes(data)
            os.replace(tmp, local)
            objects[key] = {"tag": listed[key], "local": _signature(local)}
        for key in [k for k, v in objects.items() if _SMALL_OBJECT.match(k) and k not in listed]:
            if objects[key].get("local") is not None:  # pushed or pulled before, now gone from the lake
                (self.scratch / key).unlink(missing_ok=True)
                del objects[key]

    def pull_files(self, wanted: dict[str, tuple[str, ...] | None]) -> int:
        """Bring in the data files of units and big objects: ``{relative path: name prefixes or None for all}``
        (a unit's names are paths inside it, e.g. ``day=2026-11-09/``). Paths the lake does not hold are skipped.
        Returns the bytes downloaded."""
        with self._locked() as state:
            jobs: list[tuple[str, str, Path]] = []  # (unit or "", key, local path)
            for relative, prefixes in self._expand(state, wanted).items():
                unit = state["units"].get(relative)
                if unit is not None:
                    for name, entry in unit["files"].items():
                        if entry["key"] is None or (prefixes is not None and not name.startswith(prefixes)):
                            continue
                        local = self.scratch / relative / name
                        if (
                            entry["local"] is None
                            or not local.exists()
                            or _signature(local) != entry["local"]
                        ):
                            jobs.append((relative, entry["key"], local))
                elif not is_unit(relative):
                    local = self.scratch / relative
                    known = state["objects"].get(relative)
                    if known is None or known.get("local") is None or not local.exists():
                        jobs.append(("", relative, local))
            with ThreadPoolExecutor(_THREADS) as pool:
                results = list(pool.map(self._download, jobs))
            downloaded = 0
            for (unit, key, local), size in zip(jobs, results, strict=True):
                if size is None:
                    if unit:  # the record moved on (a newer commit, its old files collected): re-read it
                        raise FileNotFoundError(f"{key} is gone from {self.store.url}: run the step again")
                    continue
                downloaded += size
                if unit:
                    name = local.relative_to(self.scratch / unit).as_posix()
                    state["units"][unit]["files"][name]["local"] = _signature(local)
                else:
                    state["objects"][key] = {"tag": None, "local": _signature(local)}
            return downloaded

    def _expand(self, state: dict[str, Any], wanted: dict[str, tuple[str, ...] | None]) -> dict[str, Any]:
        """``wanted`` with each folder (a path ending in '/') replaced by the units and objects below it."""
        expanded: dict[str, Any] = {}
        for relative, prefixes in wanted.items():
            if not relative.endswith("/"):
                expanded[relative] = prefixes
                continue
            expanded |= {unit: prefixes for unit in state["units"] if unit.startswith(relative)}
            if not relative.startswith("lake/"):
                expanded |= {item.key: None for item in self.store.list(relative) if not _hidden(item.key)}
        return expanded

    def _download(self, job: tuple[str, str, Path]) -> int | None:
        _unit, key, local = job
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(local.parent, local.name)
        try:
            if not self.store.download_file(key, tmp):
                return None
            os.replace(tmp, local)
        finally:
            tmp.unlink(missing_ok=True)
        return local.stat().st_size

    # -- pushing ----------------------------------------------------------------------------------------------

    def push(self) -> PushResult:
        """Commit every unit and object the working copy changed since it was pulled or last pushed, and delete
        from the lake those it removed. Data files first, each unit's record last."""
        result = PushResult()
        with self._locked() as state:
            self._push_objects(state["objects"], result, manifests=False)
            local_units = {
                path.relative_to(self.scratch).as_posix()
                for pattern in _UNIT_GLOBS
                for path in self.scratch.glob(pattern)
                if path.is_dir() and not path.name.startswith(".")
            }
            for unit in sorted(local_units):
                if self._push_unit(state["units"], unit):
                    result.units.append(unit)
            for unit in sorted(set(state["units"]) - local_units):
                self.store.delete([f"{COMMITS}{unit}.json"])
                del state["units"][unit]
                result.deleted_units.append(unit)
            self._push_objects(state["objects"], result, manifests=True)
        return result

    def _push_unit(self, units: dict[str, Any], unit: str) -> bool:
        directory = self.scratch / unit
        previous = units.get(unit)
        local_files = {
            path.relative_to(directory).as_posix(): path
            for path in directory.rglob("*")
            if path.is_file() and not _hidden(path.relative_to(directory).as_posix())
        }
        signatures = {name: _signature(path) for name, path in local_files.items()}
        if previous is not None:
            recorded = {n: e["local"] for n, e in previous["files"].items() if e["local"] is not None}
            if recorded == signatures:
                return False
        if not local_files:
            return False  # an empty directory is not a unit yet
        version = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"
        same_directory = previous is not None and previous.get("inode") == directory.stat().st_ino
        files: dict[str, Any] = {}
        inline: dict[str, str] = {}
        uploads: list[tuple[str, Path]] = []
        for name, path in sorted(local_files.items()):
            if name.endswith(".json") and path.stat().st_size <= INLINE_MAX_BYTES:
                inline[name] = path.read_text(encoding="utf-8")
                continue
            key = f"{unit}/{version}/{name}"
            unchanged = (
                previous is not None and previous["files"].get(name, {}).get("local") == signatures[name]
            )
            if unchanged and previous["files"][name]["key"] is not None:
                key = previous["files"][name]["key"]  # the very object pulled: no upload
            else:
                uploads.append((key, path))
            files[name] = {"key": key, "size": signatures[name][0]}
        if same_directory:  # files never pulled into this copy stay part of the unit
            for name, entry in previous["files"].items():
                if name not in local_files and entry["local"] is None and entry["key"] is not None:
                    files[name] = {"key": entry["key"], "size": entry["size"]}
        with ThreadPoolExecutor(_THREADS) as pool:
            list(pool.map(lambda job: self.store.upload_file(*job), uploads))
        record = {"version": version, "files": files, "inline": inline}
        self.store.put_bytes(f"{COMMITS}{unit}.json", json.dumps(record, sort_keys=True).encode())
        kept = {name: signatures[name] for name in files if name in local_files}
        units[unit] = _unit_state(record, None, directory, kept)  # tag unknown until listed: read once more
        return True

    def _push_objects(self, objects: dict[str, Any], result: PushResult, manifests: bool) -> None:
        """Put the changed single-file objects (landed manifests only when ``manifests``, after everything else,
        and only if absent), delete those removed from the working copy."""
        local = {
            path.relative_to(self.scratch).as_posix(): path
            for pattern in _OBJECT_GLOBS
            for path in self.scratch.glob(pattern)
            if path.is_file() and not _hidden(path.relative_to(self.scratch).as_posix())
        }
        for key, path in sorted(local.items()):
            if (_LANDING_MANIFEST.match(key) is not None) != manifests:
                continue
            signature = _signature(path)
            known = objects.get(key)
            if known is not None and known.get("local") == signature:
                continue
            if manifests:
                if not self.store.put_bytes(key, path.read_bytes(), if_absent=known is None):
                    result.refused.append(key)
                    continue
            elif path.stat().st_size <= INLINE_MAX_BYTES:
                self.store.put_bytes(key, path.read_bytes())
            else:
                self.store.upload_file(key, path)
            objects[key] = {"tag": None, "local": signature}
            result.objects.append(key)
        for key in sorted(k for k in objects if k not in local and objects[k].get("local") is not None):
            if (_LANDING_MANIFEST.match(key) is not None) != manifests:
                continue
            self.store.delete([key])
            del objects[key]
            result.deleted_objects.append(key)

    def forget_object(self, relative: str) -> None:
        """Drop what the working copy knows of one object (after a refused put, so the next pull brings the
        lake's version)."""
        with self._locked() as state:
            state["objects"].pop(relative, None)
        (self.scratch / relative).unlink(missing_ok=True)

    def unit_keys(self, unit: str) -> dict[str, str]:
        """The store keys of a pulled unit's data files: {name: key}."""
        with self._locked() as state:
            entry = state["units"].get(unit, {"files": {}})
            return {name: e["key"] for name, e in entry["files"].items() if e["key"] is not None}


@dataclass(frozen=True)
class GarbageReport:
    """What :func:`collect_garbage` found: objects deleted, and unreferenced ones kept because they are young."""

    deleted: list[str]
    kept_young: list[str]


def referenced_keys(store: ObjectStore) -> set[str]:
    """Every key a current commit record or the published analytics snapshot refers to."""
    keys = [item.key for item in store.list(COMMITS) if item.key.endswith(".json")]
    with ThreadPoolExecutor(_THREADS) as pool:
        records = list(pool.map(store.get_bytes, keys))
    referenced = {
        entry["key"]
        for data in records
        if data is not None
        for entry in json.loads(data)["files"].values()
        if entry["key"] is not None
    }
    published = store.get_bytes(PUBLISHED_RECORD)
    if published is not None:
        referenced |= set(json.loads(published).get("keys", []))
    return referenced


def collect_garbage(
    store: ObjectStore, grace_s: float = GARBAGE_GRACE_S, now: float | None = None
) -> GarbageReport:
    """Delete the lake's unreferenced data objects (superseded versions, files of writers killed before their
    commit) older than ``grace_s`` seconds (younger ones may belong to a push in flight and are kept), and the raw
    landed bytes of files already staged (they may carry prompts and keys)."""
    now = time.time() if now is None else now
    referenced = referenced_keys(store)
    deleted, young = [], []
    for item in store.list("lake/"):
        if item.key in referenced:
            continue
        (deleted if now - item.modified_s > grace_s else young).append(item.key)
    staged = {
        item.key[len(COMMITS) + len("lake/staged/") :].removesuffix(".json")
        for item in store.list(COMMITS + "lake/staged/")
    }
    for item in store.list("landing/"):  # raw bytes of staged files (a late duplicate landing may leave them)
        name = item.key.removeprefix("landing/")
        if not name.endswith(".json") and name.split(".")[0] in staged:
            deleted.append(item.key)
    store.delete(deleted)
    return GarbageReport(deleted, young)
