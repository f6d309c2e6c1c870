"""``litellm``: LiteLLM spend logs (JSON lines, or a CSV export of the SpendLogs table).

One record is one proxied call. ``startTime`` is the arrival; latency and time to first token are differences of the
record's own timestamps (see ``sql/ingest/format_litellm.sql``). The ``messages`` and ``response`` fields carry prompt and
completion text and are never read; ``api_key`` (already a hash upstream) is only kept as a salted re-hash.

A call the proxy answered from its own cache (``cache_hit`` true: "True" in the SpendLogs table, true in JSON) put
no load on any model and is not list spend: it is quarantined with the reason "served from the proxy cache", so it
is counted (rows in = accepted + quarantined) but never reaches the request lake, the rollups or the plans.
"""

from __future__ import annotations

from typing import Any

import duckdb

from pipelines.core.sql_loader import load_sql
from pipelines.ingest.formats.options import TimestampRule, refuse_options
from pipelines.ingest.formats.records import RecordReader

NAME = "litellm"
KINDS = ("jsonl", "csv")

# The SpendLogs fields the adapter reads (and nothing else: no text fields).
FIELDS: tuple[str, ...] = (
    "request_id",
    "startTime",
    "endTime",
    "completionStartTime",
    "model",
    "model_group",
    "api_key",
    "prompt_tokens",
    "completion_tokens",
    "spend",
    "status",
    "request_tags",
    "metadata",
    "team_id",
    "end_user",
    "cache_hit",
)

NOT_APPLICABLE = {
    "anchor": "LiteLLM times are ISO-8601 instants, not offsets from a trace start.",
    "ts_unit": "LiteLLM times are ISO-8601 text.",
    "model": "every LiteLLM record names its model.",
    "mapping": "use --format mapped to read a log through a mapping file.",
}


def validate_options(options: dict[str, Any]) -> None:
    """Refuse options that make no sense for LiteLLM logs (only ``endpoint``, an override for every row, applies)."""
    refuse_options("litellm", options, NOT_APPLICABLE)


def timestamp_rule(options: dict[str, Any]) -> TimestampRule:
    """``startTime`` is ISO-8601 text (a time without offset is UTC)."""
    return TimestampRule(unit="iso")


def raw_rows(suffix: str, options: dict[str, Any], read: RecordReader) -> duckdb.DuckDBPyRelation:
    """The raw rows of a SpendLogs export: ts from ``startTime``, latency and ttft in milliseconds from the record's
    timestamps, endpoint ``model_group`` (else ``model``), ok from ``status``, interactive from ``request_tags``,
    client ``team_id`` (else ``end_user``), spend as the billed cost in USD."""
    return read(list(FIELDS)).query("records", load_sql("ingest/format_litellm"))
