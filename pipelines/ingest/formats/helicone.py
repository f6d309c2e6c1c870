"""``helicone``: Helicone request records, as Helicone's export tool (``@helicone/export``: JSON, JSON lines or
CSV) and its query API (``POST /v1/request/query-clickhouse``, whose ``data`` records the tool writes) give them.

One record is one request that went through Helicone's gateway or was logged to it. The fields, as Helicone's
``HeliconeRequest`` type and its ClickHouse table ``request_response_rmt`` define them, and what modeshift makes of
them (``sql/ingest/format_helicone.sql``):

- ``request_id`` (a UUID; the older CSV export has only ``response_id``, used instead) → ``request_id``;
  ``request_created_at`` → ``ts``; ``response_created_at`` → ``latency_ms`` when ``delay_ms`` is missing.
- ``request_model`` (what the caller asked for), ``response_model`` (what the provider said it served; older
  records), ``model`` (the CSV export): the first present → ``model``.
- ``prompt_tokens`` (the fresh, uncached prompt tokens: Helicone prices each bucket at its own rate),
  ``prompt_cache_read_tokens``, ``prompt_cache_write_tokens`` → ``input_tokens`` = their sum (every prompt token the
  model read); ``prompt_cache_read_tokens`` → ``cached_input_tokens``; ``completion_tokens`` → ``output_tokens``.
- ``delay_ms`` (ClickHouse ``latency``, milliseconds; named ``latency`` in the older CSV export) → ``latency_ms``;
  ``time_to_first_token`` (milliseconds) → ``ttft_ms``.
- ``cost`` → ``billed_cost_usd``: USD. Helicone stores costs multiplied by ``COST_PRECISION_MULTIPLIER`` (10^9) and
  its API divides by it before returning them, so the export holds dollars, not micro- or nano-dollars (older
  exports name it ``cost_usd`` or ``costUSD``). Helicone computes it from its own price table.
- ``response_status``: the HTTP status (``-1`` when no response arrived); not 2xx → ``ok`` = false.
- ``request_properties`` (``properties`` in newer records): the custom properties, set with
  ``Helicone-Property-<Name>`` headers and stored under ``<Name>``. The endpoint is the property ``endpoint``
  (header ``Helicone-Property-Endpoint``; the key compared case-insensitively, the ``helicone-property-`` prefix
  accepted), else the model; ``--endpoint`` overrides every row. No other property is read.
- ``request_user_id`` (the ``Helicone-User-Id`` header; ``user_id`` in ClickHouse) → ``client``, kept only as the
  salted hash API keys get (``key-`` + 16 hex digits).
- ``cache_reference_id``: set (not the all-zero UUID) when Helicone answered from its own response cache: no model
  ran, so the record is quarantined as "served from the Helicone cache" (counted, no load, no list spend).

The export tool's ``json`` output writes a comma after every record, the last one included (``[{...},\n]``): DuckDB
refuses such an array, so it is read record by record and the empty element after the last comma is one quarantined
row ("unreadable JSON array at record N"); every request is still read.

Never read: ``request_body`` and ``response_body`` (prompt and completion, written with ``--include-body``),
``signed_body_url``, ``helicone_user`` (the Helicone account, not the caller), ``scores``, ``asset_urls``,
``country_code`` and every other field. ``request_properties`` may arrive as a JSON object (JSON lines) or as JSON
text (CSV): :mod:`pipelines.ingest.formats.nested` reads both.
"""

from __future__ import annotations

from typing import Any

import duckdb

from pipelines.core.sql_loader import load_sql
from pipelines.ingest.formats.nested import with_json_objects
from pipelines.ingest.formats.options import TimestampRule, refuse_options
from pipelines.ingest.formats.records import RecordReader

NAME = "helicone"
KINDS = ("jsonl", "csv")

# The request fields the adapter reads (and nothing else: no body fields).
FIELDS: tuple[str, ...] = (
    "request_id",
    "response_id",
    "request_created_at",
    "response_created_at",
    "request_model",
    "response_model",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "prompt_cache_read_tokens",
    "prompt_cache_write_tokens",
    "delay_ms",
    "latency",
    "time_to_first_token",
    "cost",
    "cost_usd",
    "costUSD",
    "response_status",
    "request_properties",
    "properties",
    "request_user_id",
    "user_id",
    "cache_reference_id",
)
OBJECT_FIELDS: tuple[str, ...] = ("request_properties", "properties")

NOT_APPLICABLE = {
    "anchor": "Helicone times are instants, not offsets from a trace start.",
    "ts_unit": "Helicone times are ISO-8601 text.",
    "model": "every Helicone request names its model.",
    "mapping": "use --format mapped to read a log through a mapping file.",
}


def validate_options(options: dict[str, Any]) -> None:
    """Refuse options that make no sense for Helicone records (only ``endpoint``, an override for every row,
    applies)."""
    refuse_options("helicone", options, NOT_APPLICABLE)


def timestamp_rule(options: dict[str, Any]) -> TimestampRule:
    """``request_created_at`` is ISO-8601 text (ClickHouse's ``YYYY-MM-DD HH:MM:SS.fff`` is UTC)."""
    return TimestampRule(unit="iso")


def raw_rows(suffix: str, options: dict[str, Any], read: RecordReader) -> duckdb.DuckDBPyRelation:
    """The raw rows of a Helicone export: ts from ``request_created_at``, input tokens as prompt + cache reads +
    cache writes (counts), latency and ttft in milliseconds, ok from the HTTP status, cost in USD, the endpoint from
    the ``endpoint`` property, cache hits quarantined (see the module docstring)."""
    records = with_json_objects(read(list(FIELDS)), OBJECT_FIELDS)
    return records.query("records", load_sql("ingest/format_helicone"))
