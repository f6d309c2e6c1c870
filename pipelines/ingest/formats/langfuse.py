"""``langfuse``: Langfuse observations, as the blob-storage export writes them (Parquet, the default for new
integrations, or CSV / JSON / JSON lines) or as the public API returns them (JSON objects, one per line or an array).

The two shapes name the same fields differently and both are read: the export in snake_case, the API in camelCase.
What the fields are, as Langfuse documents them (blob storage export field reference; the public API's
``ObservationsView``), and what modeshift makes of them (``sql/ingest/format_langfuse.sql``):

- ``id``: the observation id → ``request_id``. ``type``: ``GENERATION`` (an LLM call), ``SPAN``, ``EVENT``,
  ``AGENT``, ``TOOL``, ``CHAIN``, ``RETRIEVER``, ``EVALUATOR``, ``EMBEDDING`` or ``GUARDRAIL``. Only a generation is
  a model request: every other type is quarantined with a reason naming it, so an export of whole traces is
  accounted for row by row (rows in = accepted + quarantined); an ``EMBEDDING`` observation (a call to an embedding
  model, no generated tokens) is not a generation either. An observation without a type is read as a generation.
- ``startTime`` / ``start_time`` (the export writes ``YYYY-MM-DD HH:MM:SS.ffffff``, UTC) → ``ts``;
  ``endTime`` / ``end_time`` → ``latency_ms`` = end − start; ``completionStartTime`` / ``completion_start_time``
  (the first token of a streamed call, null otherwise) → ``ttft_ms`` = completion start − start, and
  ``stream`` = true. The export's own ``latency`` and ``time_to_first_token`` are not read: they are seconds for
  integrations created from 2026-04-01 and milliseconds before, and the file does not say which.
- ``model`` / ``provided_model_name``: the model name as the SDK sent it (``gpt-4o``) → ``model``.
- ``usageDetails`` / ``usage_details``: a map of usage type → units. Langfuse counts every key containing
  ``input`` as input and every key containing ``output`` as output, and keeps the buckets apart (``input`` is the
  uncached prompt, cache reads are ``input_cached_tokens`` from the OpenAI integrations or
  ``cache_read_input_tokens`` in Anthropic's spelling, cache writes ``cache_creation_input_tokens``): so
  ``input_tokens`` = the sum of the input keys (every prompt token), ``output_tokens`` = the sum of the output keys,
  ``cached_input_tokens`` = the input keys that also say ``cached`` or ``cache_read``. Older objects carry the
  deprecated ``usage`` object (``input``, ``output``) or ``promptTokens`` / ``completionTokens``: read when the map
  has no input or output key.
- ``costDetails`` / ``cost_details``: cost in USD per usage type; its ``total`` → ``billed_cost_usd``, else
  ``totalCost`` / ``total_cost`` / ``calculatedTotalCost`` (deprecated). Langfuse either took this cost from the
  provider's response or inferred it from its model price table; the file does not say which.
- ``userId`` / ``user_id`` (the trace's end user; in the enriched export and the v2 API) → ``client``, kept only as
  the salted hash API keys get (``key-`` + 16 hex digits).
- ``tags`` (the trace's tags): ``interactive`` → interactive, ``batch`` / ``offline`` → not.
- ``metadata``: only its ``endpoint`` key is read. ``environment``: a label (``default`` when unset).
  The endpoint is ``metadata.endpoint``, else ``<environment>:<model>`` when the environment is set and not
  ``default``, else the model; ``--endpoint`` overrides every row.
- ``level``: ``DEBUG``, ``DEFAULT``, ``WARNING`` or ``ERROR``; ``ERROR`` → ``ok`` = false.

Never read: ``input`` and ``output`` (prompt and completion), ``statusMessage`` / ``status_message`` (free text that
can quote them), ``name`` and ``trace_name``, ``traceId`` / ``trace_id`` and ``session_id`` (no request column
needs them), ``model_parameters``, tool calls and every other field. ``usageDetails``,
``costDetails`` and ``metadata`` may arrive as JSON objects (JSON lines, Parquet maps or structs) or as JSON text
(CSV): :mod:`pipelines.ingest.formats.nested` reads both.
"""

from __future__ import annotations

from typing import Any

import duckdb

from pipelines.core.sql_loader import load_sql
from pipelines.ingest.formats.nested import with_json_objects
from pipelines.ingest.formats.options import TimestampRule, refuse_options
from pipelines.ingest.formats.records import RecordReader

NAME = "langfuse"
KINDS = ("jsonl", "csv", "parquet")

# The observation fields the adapter reads, API spelling then export spelling (and nothing else: no text fields).
FIELDS: tuple[str, ...] = (
    "id",
    "type",
    "startTime",
    "start_time",
    "endTime",
    "end_time",
    "completionStartTime",
    "completion_start_time",
    "model",
    "provided_model_name",
    "usageDetails",
    "usage_details",
    "usage",
    "promptTokens",
    "completionTokens",
    "costDetails",
    "cost_details",
    "totalCost",
    "total_cost",
    "calculatedTotalCost",
    "userId",
    "user_id",
    "tags",
    "metadata",
    "environment",
    "level",
)
# Fields holding JSON objects (read as object text whatever the file kind).
OBJECT_FIELDS: tuple[str, ...] = (
    "usageDetails",
    "usage_details",
    "usage",
    "costDetails",
    "cost_details",
    "metadata",
)

NOT_APPLICABLE = {
    "anchor": "Langfuse times are instants, not offsets from a trace start.",
    "ts_unit": "Langfuse times are ISO-8601 text.",
    "model": "every Langfuse generation names its model.",
    "mapping": "use --format mapped to read a log through a mapping file.",
}


def validate_options(options: dict[str, Any]) -> None:
    """Refuse options that make no sense for Langfuse observations (only ``endpoint``, an override for every row,
    applies)."""
    refuse_options("langfuse", options, NOT_APPLICABLE)


def timestamp_rule(options: dict[str, Any]) -> TimestampRule:
    """``startTime`` / ``start_time`` is ISO-8601 text (the export's ``YYYY-MM-DD HH:MM:SS.ffffff`` is UTC)."""
    return TimestampRule(unit="iso")


def raw_rows(suffix: str, options: dict[str, Any], read: RecordReader) -> duckdb.DuckDBPyRelation:
    """The raw rows of a Langfuse observations file: ts from the start time, latency and ttft in milliseconds from
    the observation's timestamps, tokens from the usage map (counts), billed cost in USD from the cost map, other
    observation types quarantined (see the module docstring)."""
    records = with_json_objects(read(list(FIELDS)), OBJECT_FIELDS)
    return records.query("records", load_sql("ingest/format_langfuse"))
