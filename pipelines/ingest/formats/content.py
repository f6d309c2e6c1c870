"""What a landed file really holds, found before any reader touches it: one streaming pass, bounded memory.

- Its **content digest**: the SHA-256 of the decompressed bytes (of the bytes themselves for a plain file), so the
  same records plain and gzipped derive the same request ids.
- Whether it is **what its name says**: a ``.gz`` must start with the gzip magic; a text file must not be a zip, a
  gzip stream or a Parquet file. A file that is not is refused as a whole with a file-level reason saying what it
  looks like ("not gzip: looks like a zip archive").
- Whether a gzip file **decompresses past the cap** (a decompression bomb): it is refused as a whole, found while
  streaming (1 MiB at a time), never by inflating it into memory.
- Whether a JSON file is **one JSON array** of records (its first non-blank character is ``[``, and its first line
  is not a whole JSON value followed by more lines) rather than JSON lines.

A refused file is staged as one quarantined row carrying the reason: rows in = 1 = rows quarantined.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

_CHUNK_BYTES = 1 << 20
_HEAD_BYTES = 4096
_GZIP_MAGIC = b"\x1f\x8b"

# Leading bytes of the containers a log file is most often mistaken for, and what to call each.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a zip archive"),
    (b"PK\x05\x06", "a zip archive (empty)"),
    (_GZIP_MAGIC, "a gzip stream"),
    (b"BZh", "a bzip2 stream"),
    (b"\xfd7zXZ\x00", "an xz stream"),
    (b"\x28\xb5\x2f\xfd", "a zstd stream"),
    (b"PAR1", "a Parquet file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
)


@dataclass(frozen=True)
class Content:
    """What one landed file holds (see the module docstring)."""

    sha256: str  # hex SHA-256 of the decompressed bytes (of what could be read of a truncated stream)
    decompressed_bytes: int  # bytes read (decompressed), up to the point a refusal stopped the pass
    json_array: bool  # the file holds one JSON array (see _is_json_array)
    refusal: str | None  # the file-level reason the file is refused as a whole, or None


def describe(head: bytes) -> str:
    """What the first bytes of a file look like, for a person: 'a zip archive', 'plain text', 'empty', ..."""
    if not head:
        return "an empty file"
    for magic, name in _SIGNATURES:
        if head.startswith(magic):
            return name
    text = head.removeprefix(b"\xef\xbb\xbf")
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as error:  # a multi-byte character cut at the end of the head is still text
        decoded = text[: error.start].decode("utf-8") if error.start >= len(text) - 3 else ""
    if decoded and all(ch.isprintable() or ch in "\r\n\t" for ch in decoded):
        stripped = decoded.lstrip()
        shape = " (JSON)" if stripped[:1] in ("{", "[") else ""
        return f"plain text{shape}"
    return "binary data (first bytes " + head[:8].hex(" ") + ")"


def _is_json_array(head: bytes) -> bool:
    """Whether a file starting with ``head`` holds one JSON array: its first non-blank character is '[', unless its
    first line is a whole JSON value followed by more lines (JSON lines whose first record is an array)."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text[:1] != b"[":
        return False
    first, newline, rest = text.partition(b"\n")
    if not newline or not rest.strip():
        return True
    try:
        json.loads(first)
    except ValueError:
        return True  # '[' alone, or the first elements of a pretty-printed array
    return False


def _misnamed(raw_head: bytes, suffix: str) -> str | None:
    """Why a file whose first bytes are ``raw_head`` is not what ``suffix`` says, or None."""
    looks = describe(raw_head)
    if suffix.endswith(".gz"):
        if raw_head and not raw_head.startswith(_GZIP_MAGIC):
            hint = f" (name it {suffix.removesuffix('.gz')})" if looks.startswith("plain text") else ""
            return f"not gzip: looks like {looks}{hint}"
        return None
    if suffix != ".parquet" and raw_head and not looks.startswith(("plain text", "binary data")):
        hint = f" (name it {suffix}.gz)" if looks == "a gzip stream" else ""
        return f"not a text file: looks like {looks}{hint}"
    return None


def misnamed(path: Path, suffix: str) -> str | None:
    """The file-level reason :func:`inspect_content` refuses the file at ``path`` (landed with ``suffix``) for not
    being what its name says, found from its first bytes only (nothing is decompressed); None when it is."""
    with open(path, "rb") as handle:
        return _misnamed(handle.read(_HEAD_BYTES), suffix)


def inspect_content(path: Path, suffix: str, sha256: str, max_decompressed_bytes: int) -> Content:
    """Inspect the file at ``path`` landed with ``suffix`` (e.g. '.jsonl.gz') and ``sha256`` (of its bytes).

    A plain file is only sniffed (its digest is ``sha256``); a gzip file is decompressed once, streaming, to digest
    its content and to refuse it when it holds more than ``max_decompressed_bytes`` bytes. A stream that ends early
    or is corrupt part-way is not refused here: the readers keep its records up to the damage.
    """
    base = suffix.removesuffix(".gz")
    json_kind = base in (".jsonl", ".ndjson", ".json")
    with open(path, "rb") as handle:
        raw_head = handle.read(_HEAD_BYTES)
    if not suffix.endswith(".gz"):
        refusal = _misnamed(raw_head, suffix)
        return Content(sha256, path.stat().st_size, json_kind and _is_json_array(raw_head), refusal)
    if (refusal := _misnamed(raw_head, suffix)) is not None:
        return Content(sha256, 0, False, refusal)
    digest = hashlib.sha256()
    total = 0
    head = b""
    with gzip.open(path, "rb") as stream:
        while True:
            try:
                chunk = stream.read1(_CHUNK_BYTES)  # read1: what comes before a cut is still seen
            except (EOFError, gzip.BadGzipFile, zlib.error, OSError):
                break  # truncated or corrupt part-way: the readers keep what comes before
            if not chunk:
                break
            if len(head) < _HEAD_BYTES:
                head += chunk[:_HEAD_BYTES]
            total += len(chunk)
            if total > max_decompressed_bytes:
                refusal = (
                    f"decompression bomb: the gzip stream inflates to more than {max_decompressed_bytes:,} bytes "
                    f"(the cap for a {path.stat().st_size:,}-byte file: settings ingest.gzip_max_ratio and "
                    "ingest.gzip_min_cap_bytes)"
                )
                return Content(digest.hexdigest(), total, False, refusal)
            digest.update(chunk)
    return Content(digest.hexdigest(), total, json_kind and _is_json_array(head), None)
