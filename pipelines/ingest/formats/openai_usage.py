"""``openai-usage``: the OpenAI Usage API's completions usage (``GET /v1/organization/usage/completions``), an
*aggregated* source: counts per time bucket, no single requests.

What a file may hold (``.json`` / ``.jsonl``, optionally ``.gz``), each top-level value being one of:

- a **page**, as the API answers: ``{"object": "page", "data": [bucket, ...], "has_more": ..., "next_page": ...}``;
- a **bucket**: ``{"object": "bucket", "start_time": S, "end_time": E, "results": [result, ...]}`` (``result`` is
  accepted for ``results``: older API descriptions spell it so);
- a **flattened result row**: one result's fields plus its bucket's ``start_time`` and ``end_time`` (what a script
  that unnests the pages writes).

The file is one JSON document (a page, pretty-printed or not), JSON lines of such values, or one JSON array of
them (pages collected in a list). One **record** is one result: rows in = results (plus one record per value that
cannot be read: a line that is not JSON, a bucket without a results list); every record is accepted or
quarantined with a reason.

The fields of a bucket and of a result (``organization.usage.completions.result``):

- ``start_time``, ``end_time``: the bucket's bounds, Unix seconds, start inclusive, end exclusive. The width
  E − S must be 60 (``1m``), 3,600 (``1h``) or 86,400 s (``1d``), the bucket widths the API offers; the bucket
  must start on a whole minute and lie inside one UTC day (a ``1d`` bucket starts at 00:00 UTC).
- ``input_tokens``: input tokens of the bucket, cached ones included; ``input_cached_tokens``: how many of them
  were read from the prompt cache; ``output_tokens``: output tokens. ``input_audio_tokens`` and
  ``output_audio_tokens`` are checked (non-negative integers when present) but not added to the token counts: the
  rate card has no audio prices, and recent API descriptions count them inside ``input_tokens`` / ``output_tokens``.
- ``num_model_requests``: requests made to the model in the bucket (the only request count there is).
- ``project_id``, ``user_id``, ``api_key_id``, ``model``, ``batch``, ``service_tier``: the group the result stands
  for, set only for the fields the export was grouped by (``group_by``), null otherwise. ``batch`` true is Batch API
  traffic (``deployment_mode`` batch); ``api_key_id`` names a key (it is not the secret) and is still kept only as
  the salted hash the other formats use for keys.

The endpoint is ``--endpoint`` when given, else the field ``--endpoint-by`` names (default ``project_id``;
``api_key_id`` gives ``key-`` + the salted hash, ``user_id`` and ``model`` their value). A result without a model,
or without the field that names its endpoint, is quarantined: the export was not grouped by it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.core.errors import ModeshiftError
from pipelines.ingest.formats.options import TimestampRule, refuse_options
from pipelines.ingest.formats.salvage import TRUNCATED, binary_lines, json_array_values

NAME = "openai-usage"
KINDS = ("jsonl",)
# The options of this format beyond the shared ones (see pipelines.ingest.formats.options.FORMAT_OPTIONS).
OPTIONS = ("endpoint_by",)
# Aggregated: its records are counts per time bucket, staged by pipelines.ingest.usage, never request rows.
AGGREGATED = True

ENDPOINT_BY = ("project_id", "api_key_id", "user_id", "model")
DEFAULT_ENDPOINT_BY = "project_id"
# Bucket widths the Usage API offers (bucket_width), in seconds.
BUCKET_WIDTHS: dict[int, str] = {60: "1m", 3600: "1h", 86400: "1d"}

# The fields read from a bucket and from a result (and nothing else).
BUCKET_FIELDS: tuple[str, ...] = ("start_time", "end_time")
RESULT_FIELDS: tuple[str, ...] = (
    "input_tokens",
    "input_cached_tokens",
    "output_tokens",
    "input_audio_tokens",
    "output_audio_tokens",
    "num_model_requests",
    "project_id",
    "user_id",
    "api_key_id",
    "model",
    "batch",
    "service_tier",
)
FIELDS: tuple[str, ...] = BUCKET_FIELDS + RESULT_FIELDS

NOT_APPLICABLE = {
    "anchor": "bucket times are Unix seconds.",
    "ts_unit": "bucket times are Unix seconds.",
    "model": "every usage result names its model (a result without one is quarantined).",
    "mapping": "use --format mapped to read a request log through a mapping file.",
}


def validate_options(options: dict[str, Any]) -> None:
    """Refuse options that make no sense for a usage export; ``endpoint`` (one name for every result) and
    ``endpoint_by`` (one of :data:`ENDPOINT_BY`) apply."""
    refuse_options(NAME, options, NOT_APPLICABLE)
    by = options.get("endpoint_by")
    if by is not None and by not in ENDPOINT_BY:
        raise ModeshiftError(
            f"--endpoint-by {str(by)[:40]!r} is not a field of a usage result.",
            f"Use one of: {', '.join(ENDPOINT_BY)}.",
        )


def endpoint_by(options: dict[str, Any]) -> str:
    """The result field that names the endpoint (``--endpoint-by``, default ``project_id``)."""
    return str(options.get("endpoint_by") or DEFAULT_ENDPOINT_BY)


def timestamp_rule(options: dict[str, Any]) -> TimestampRule:
    """Bucket bounds are Unix seconds."""
    return TimestampRule(unit="s")


def raw_rows(suffix: str, options: dict[str, Any], read: Any) -> Any:
    """Never called: an aggregated format is staged by ``pipelines.ingest.usage``, not as request rows."""
    raise ModeshiftError(f"The {NAME} format holds usage buckets, not request rows.")


Record = tuple[str | None, dict[str, Any]]  # (why the record cannot be read, or None; its fields)


def _text(value: Any) -> str | None:
    """A field's value as text: JSON numbers and booleans as JSON spells them, strings as they are, nested values
    as compact JSON (a number field holding one is then refused by the staging query)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"))


def _bucket_results(bucket: Any, where: str) -> Iterator[Record]:
    """One record per result of a bucket (a bucket that is not an object, or has no results list, is one record
    with the reason)."""
    if not isinstance(bucket, dict):
        yield f"{where}: a bucket that is not an object (a {type(bucket).__name__})", {}
        return
    results = bucket.get("results", bucket.get("result"))
    bounds = {name: _text(bucket.get(name)) for name in BUCKET_FIELDS}
    if not isinstance(results, list):
        yield f"{where}: a bucket without a results list", bounds
        return
    for result in results:
        if not isinstance(result, dict):
            yield f"{where}: a result that is not an object (a {type(result).__name__})", bounds
            continue
        yield None, bounds | {name: _text(result.get(name)) for name in RESULT_FIELDS}


def value_records(value: Any, where: str) -> Iterator[Record]:
    """The records of one top-level JSON value: a page, a bucket or a flattened result row (module docstring)."""
    if not isinstance(value, dict):
        yield f"{where} is JSON but not an object (a {type(value).__name__})", {}
        return
    if "data" in value:
        data = value["data"]
        if not isinstance(data, list):
            yield f"{where}: a page whose data is not a list of buckets", {}
            return
        for bucket in data:
            yield from _bucket_results(bucket, where)
        return
    if "results" in value or "result" in value:
        yield from _bucket_results(value, where)
        return
    yield None, {name: _text(value.get(name)) for name in FIELDS}


def _whole_document(path: Path, max_record_bytes: int) -> Any | None:
    """The file parsed as one JSON document (a pretty-printed page), or None when it is not one (or is longer than
    ``max_record_bytes``)."""
    pieces: list[bytes] = []
    size = 0
    for line in binary_lines(path, max_record_bytes):
        if not isinstance(line, bytes):
            return None  # a cut stream or an over-long line: not a document to trust, read it line by line
        pieces.append(line)
        size += len(line)
        if size > max_record_bytes:
            return None
    try:
        return json.loads(b"".join(pieces).removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None


def usage_records(path: Path, json_array: bool, max_record_bytes: int) -> Iterator[Record]:
    """Every record of a usage export (decompressed when ``.gz``), in file order, each ``(reason, fields)``: the
    fields of one result as text (see :data:`FIELDS`), or why a value could not be read. ``json_array``: the file
    holds one JSON array (what content inspection found). Memory stays bounded by ``max_record_bytes`` per value."""
    if json_array:
        for index, (value, damage) in enumerate(json_array_values(path, max_record_bytes), start=1):
            if damage is not None:
                yield damage, {}
                return
            yield from value_records(value, f"array element {index}")
        return
    first = True
    line_number = 0
    for raw in binary_lines(path, max_record_bytes):
        if raw is None:
            yield TRUNCATED, {}
            return
        line_number += 1
        if not isinstance(raw, bytes):
            yield raw.reason, {}
            first = False
            continue
        if first:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        if not raw.strip():
            continue
        try:
            value = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            if first:  # a pretty-printed page spans lines: read the file as one document
                document = _whole_document(path, max_record_bytes)
                if document is not None:
                    yield from value_records(document, "the document")
                    return
            first = False
            yield f"line {line_number}: not valid JSON", {}
            continue
        first = False
        yield from value_records(value, f"line {line_number}")
