"""Object stores the lake can live in: an S3-compatible bucket (boto3), or a shared directory that behaves like one.

Only this module talks to a store. Both kinds offer the same few operations, each atomic on its own: put an object
whole (optionally only if no object has that key: S3's ``If-None-Match: *``), get one, list a prefix, delete.
There is no rename: what makes several objects one commit is decided above this module
(``pipelines.core.lake_mirror``).

``MODESHIFT_LAKE`` names the store: unset (the default) keeps the lake inside the home, as before;
``s3://bucket/prefix`` a bucket, with credentials, region and endpoint from the standard AWS environment variables
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION`` / ``AWS_DEFAULT_REGION``,
``AWS_ENDPOINT_URL`` or ``AWS_ENDPOINT_URL_S3`` for an S3-compatible server); ``file:///path`` or an absolute path a
directory shared by the workers (for example a network file system), used exactly like a bucket.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pipelines.core.errors import ModeshiftError

LAKE_ENV = "MODESHIFT_LAKE"


@dataclass(frozen=True)
class StoredObject:
    """One object of a listing: its key relative to the lake prefix, size in bytes, last change (s since epoch) and
    a tag that changes whenever the object is written again (S3's ETag)."""

    key: str
    size: int
    modified_s: float
    tag: str


@dataclass
class TransferCounts:
    """Bytes and requests that crossed between this process and the store (for benchmarks and logs)."""

    bytes_read: int = 0
    bytes_written: int = 0
    requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, read: int = 0, written: int = 0) -> None:
        """Count one request moving ``read`` / ``written`` bytes."""
        with self._lock:
            self.bytes_read += read
            self.bytes_written += written
            self.requests += 1


class ObjectStore(Protocol):
    """The operations the lake needs from a store; keys are relative to the lake's prefix, '/'-separated."""

    url: str
    counts: TransferCounts

    def get_bytes(self, key: str) -> bytes | None: ...

    def put_bytes(self, key: str, data: bytes, if_absent: bool = False) -> bool: ...

    def upload_file(self, key: str, path: Path) -> None: ...

    def download_file(self, key: str, path: Path) -> bool: ...

    def list(self, prefix: str) -> Iterator[StoredObject]: ...

    def delete(self, keys: list[str]) -> None: ...


class S3Store:
    """A bucket (and key prefix) of an S3-compatible server, through boto3."""

    def __init__(self, bucket: str, prefix: str) -> None:
        import boto3  # imported only in object mode: the local default never needs it
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.counts = TransferCounts()
        # retries in the standard mode: a throttled or reset request is tried again before anything fails
        self._client = boto3.client(
            "s3", config=Config(retries={"max_attempts": 8, "mode": "standard"}, max_pool_connections=32)
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _error_code(self, error: Exception) -> str:
        return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))

    def get_bytes(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no object with this key."""
        try:
            body = self._client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self._client.exceptions.NoSuchKey:
            self.counts.add()
            return None
        self.counts.add(read=len(body))
        return body

    def put_bytes(self, key: str, data: bytes, if_absent: bool = False) -> bool:
        """Write the object whole; with ``if_absent`` only when no object has the key (False: one already did)."""
        extra = {"IfNoneMatch": "*"} if if_absent else {}
        try:
            self._client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **extra)
        except self._client.exceptions.ClientError as error:
            if if_absent and self._error_code(error) in {"PreconditionFailed", "ConditionalRequestConflict"}:
                self.counts.add()
                return False
            raise
        self.counts.add(written=len(data))
        return True

    def upload_file(self, key: str, path: Path) -> None:
        """Upload a local file as one object (multipart for large files: visible only once complete)."""
        self._client.upload_file(str(path), self.bucket, self._key(key))
        self.counts.add(written=path.stat().st_size)

    def download_file(self, key: str, path: Path) -> bool:
        """Download one object to ``path`` (written in place: callers download to a temporary name); False when
        there is no such object."""
        try:
            self._client.download_file(self.bucket, self._key(key), str(path))
        except self._client.exceptions.ClientError as error:
            if self._error_code(error) in {"404", "NoSuchKey", "NotFound"}:
                self.counts.add()
                return False
            raise
        self.counts.add(read=path.stat().st_size)
        return True

    def list(self, prefix: str) -> Iterator[StoredObject]:
        """Every object whose key starts with ``prefix``."""
        paginator = self._client.get_paginator("list_objects_v2")
        strip = len(self._key(""))
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            self.counts.add()
            for item in page.get("Contents", []):
                yield StoredObject(
                    item["Key"][strip:], int(item["Size"]), item["LastModified"].timestamp(), item["ETag"]
                )

    def delete(self, keys: list[str]) -> None:
        """Delete these objects (missing ones are fine)."""
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": self._key(k)} for k in keys[start : start + 1000]]
            self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})
            self.counts.add()


class DirectoryStore:
    """A directory used as an object store: each object one file, put by writing a temporary file and renaming it
    (so a reader sees an object whole or not at all), put-if-absent by a hard link that fails when the name
    exists."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = root.as_uri()
        self.counts = TransferCounts()

    def _path(self, key: str) -> Path:
        return self.root / key

    def _temporary(self, final: Path) -> Path:
        final.parent.mkdir(parents=True, exist_ok=True)
        return final.parent / f".put-{uuid.uuid4().hex}-{final.name}"

    def get_bytes(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none."""
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            self.counts.add()
            return None
        self.counts.add(read=len(data))
        return data

    def put_bytes(self, key: str, data: bytes, if_absent: bool = False) -> bool:
        """Write the object whole; with ``if_absent`` only when no object has the key."""
        final = self._path(key)
        tmp = self._temporary(final)
        tmp.write_bytes(data)
        try:
            if if_absent:
                try:
                    os.link(tmp, final)
                except FileExistsError:
                    self.counts.add()
                    return False
            else:
                os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        self.counts.add(written=len(data))
        return True

    def upload_file(self, key: str, path: Path) -> None:
        """Copy a local file in as one object."""
        final = self._path(key)
        tmp = self._temporary(final)
        shutil.copyfile(path, tmp)
        os.replace(tmp, final)
        self.counts.add(written=path.stat().st_size)

    def download_file(self, key: str, path: Path) -> bool:
        """Copy one object to ``path``; False when there is none."""
        try:
            shutil.copyfile(self._path(key), path)
        except FileNotFoundError:
            self.counts.add()
            return False
        self.counts.add(read=path.stat().st_size)
        return True

    def list(self, prefix: str) -> Iterator[StoredObject]:
        """Every object whose key starts with ``prefix`` (temporary files of puts in flight are not objects)."""
        self.counts.add()
        base = self._path(prefix) if prefix.endswith("/") or not prefix else self._path(prefix).parent
        if not base.exists():
            return
        for path in sorted(base.rglob("*")):
            if not path.is_file() or path.name.startswith(".put-"):
                continue
            key = path.relative_to(self.root).as_posix()
            if key.startswith(prefix):
                stat = path.stat()
                yield StoredObject(key, stat.st_size, stat.st_mtime, f"{stat.st_ino}-{stat.st_mtime_ns}")

    def delete(self, keys: list[str]) -> None:
        """Delete these objects (missing ones are fine)."""
        for key in keys:
            self._path(key).unlink(missing_ok=True)
        self.counts.add()


def configured_store(value: str | None = None) -> ObjectStore | None:
    """The store ``MODESHIFT_LAKE`` (or ``value``) names, or None for the default: the lake inside the home."""
    raw = (value if value is not None else os.environ.get(LAKE_ENV, "")).strip()
    if not raw:
        return None
    if raw.startswith("s3://"):
        bucket, _, prefix = raw.removeprefix("s3://").partition("/")
        if not bucket:
            raise ModeshiftError(f"{LAKE_ENV}={raw} names no bucket.", "Use s3://bucket/prefix.")
        return S3Store(bucket, prefix)
    if raw.startswith("file://"):
        raw = raw.removeprefix("file://")
    path = Path(raw).expanduser()
    if not path.is_absolute():
        raise ModeshiftError(
            f"{LAKE_ENV}={raw} is neither s3://bucket/prefix nor an absolute directory.",
            "Unset it to keep the lake in MODESHIFT_HOME, or give s3://... or an absolute path.",
        )
    path.mkdir(parents=True, exist_ok=True)
    return DirectoryStore(path.resolve())
