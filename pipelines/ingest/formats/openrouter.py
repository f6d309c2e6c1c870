"""``openrouter``: OpenRouter generation records, the ``data`` objects ``GET /api/v1/generation?id=...`` returns, one
per JSON line or in a JSON array (a whole response, ``{"data": {...}}``, is read too).

One record is one generation (one model call routed by OpenRouter). The fields, as OpenRouter's API reference
documents them (``GenerationResponseData``), and what modeshift makes of them (``sql/ingest/format_openrouter.sql``):

- ``id`` (``gen-...``) → ``request_id``; ``created_at`` (ISO-8601, "when the generation was created") → ``ts``;
  ``model`` (``openai/gpt-4o``) → ``model``. ``provider_name`` (who served it) is not a request column.
- Tokens: ``tokens_prompt`` / ``tokens_completion`` are OpenRouter's normalized counts; ``native_tokens_prompt`` /
  ``native_tokens_completion`` are counted with the model's own tokenizer, the counts the provider billed and
  OpenRouter's usage accounting reports. modeshift takes the native counts (they are what the model processed and
  what the cost was computed from; the normalized ones can differ widely for non-OpenAI tokenizers) and falls
  back to the normalized counts only when a native count is missing. ``native_tokens_cached`` (prompt tokens read
  from the provider's cache, part of the native prompt count) → ``cached_input_tokens`` (not used with normalized
  counts, which are of another tokenizer).
- Times, milliseconds: the reference calls ``latency`` "total latency" and ``generation_time`` "time taken for
  generation", but in recorded responses ``latency`` is always below ``generation_time`` and grows with the prompt
  (10.9 s of 12.6 s for an 87 k-token prompt, 52 output tokens), as a time to the first token does. modeshift reads
  ``generation_time`` as the end-to-end latency (``latency_ms``) and ``latency`` as the time to first token
  (``ttft_ms``), kept only for a streamed generation and when it is not above ``generation_time``.
- ``streamed`` → ``stream``. ``finish_reason`` (normalized: ``stop``, ``length``, ``tool_calls``, ``content_filter``,
  ``error``): ``error`` → ``ok`` = false. ``cancelled`` (the caller aborted) is not a failure: the generation ran and
  was billed, so it stays ok and its tokens and cost count.
- ``total_cost`` → ``billed_cost_usd``: OpenRouter bills in credits worth one US dollar each; ``usage`` (the same
  amount) when ``total_cost`` is missing.
- Endpoint: OpenRouter records carry no workload name, only the app a generation is attributed to (``app_id``, from
  the caller's ``HTTP-Referer`` / ``X-Title`` headers). The endpoint is ``app-<app_id>:<model>`` for an attributed
  generation, else the model; ``--endpoint`` overrides every row.
- ``external_user`` (the ``user`` field the caller sent) → ``client``, kept only as the salted hash API keys get.

Never read: the prompt and completion (``GET /api/v1/generation/content``; never part of these records anyway),
``origin`` / ``http_referer`` / ``user_agent`` (addresses of the caller), ``upstream_id``, ``api_type``,
``provider_responses`` and every other field.
"""

from __future__ import annotations

from typing import Any

import duckdb

from pipelines.core.sql_loader import load_sql
from pipelines.ingest.formats.nested import with_json_objects
from pipelines.ingest.formats.options import TimestampRule, refuse_options
from pipelines.ingest.formats.records import RecordReader

NAME = "openrouter"
KINDS = ("jsonl",)

# The generation fields the adapter reads, and `data` (the response envelope holding them).
FIELDS: tuple[str, ...] = (
    "data",
    "id",
    "created_at",
    "model",
    "native_tokens_prompt",
    "native_tokens_completion",
    "native_tokens_cached",
    "tokens_prompt",
    "tokens_completion",
    "latency",
    "generation_time",
    "streamed",
    "total_cost",
    "usage",
    "finish_reason",
    "app_id",
    "external_user",
)

NOT_APPLICABLE = {
    "anchor": "OpenRouter's created_at is an instant, not an offset from a trace start.",
    "ts_unit": "OpenRouter's created_at is ISO-8601 text.",
    "model": "every OpenRouter generation names its model.",
    "mapping": "use --format mapped to read a log through a mapping file.",
}


def validate_options(options: dict[str, Any]) -> None:
    """Refuse options that make no sense for OpenRouter generations (only ``endpoint``, an override for every row,
    applies)."""
    refuse_options("openrouter", options, NOT_APPLICABLE)


def timestamp_rule(options: dict[str, Any]) -> TimestampRule:
    """``created_at`` is ISO-8601 text with an offset."""
    return TimestampRule(unit="iso")


def raw_rows(suffix: str, options: dict[str, Any], read: RecordReader) -> duckdb.DuckDBPyRelation:
    """The raw rows of OpenRouter generation records: ts from ``created_at``, native token counts (else normalized
    ones), latency = ``generation_time`` and ttft = ``latency`` in milliseconds, billed cost in USD (see the module
    docstring)."""
    records = with_json_objects(read(list(FIELDS)), ("data",))
    return records.query("records", load_sql("ingest/format_openrouter"))
