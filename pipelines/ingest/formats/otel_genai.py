"""``otel-genai``: OpenTelemetry traces in the OTLP/JSON file format, read by the GenAI semantic conventions.

The file is what the OpenTelemetry Collector's ``file`` exporter (and the SDKs' file / stdout exporters) write: JSON
lines, each one ``TracesData`` object, ``{"resourceSpans": [{"resource": {"attributes": [...]}, "scopeSpans":
[{"scope": {...}, "spans": [...]}]}]}``. A line can hold many spans; **one span is one request row**. In OTLP/JSON
an attribute is ``{"key": K, "value": {"stringValue" | "intValue" | "doubleValue" | "boolValue": V}}``, 64-bit
integers (``intValue``, ``startTimeUnixNano``, ``endTimeUnixNano``) are decimal strings (numbers are accepted too),
``traceId`` / ``spanId`` are hex, and ``status.code`` is an integer (2 = ``STATUS_CODE_ERROR``).

Fields read (span attributes unless said otherwise):

- ``gen_ai.response.model``, else ``gen_ai.request.model``: the model (the one that answered is preferred).
- ``gen_ai.usage.input_tokens`` / ``gen_ai.usage.output_tokens`` (older ``gen_ai.usage.prompt_tokens`` /
  ``completion_tokens``): the tokens.
- ``gen_ai.usage.cache_read.input_tokens`` (older ``gen_ai.usage.cache_read_input_tokens``): ``cached_input_tokens``.
- ``gen_ai.usage.cache_creation.input_tokens`` (also spelled ``gen_ai.usage.cache_write.input_tokens`` and, older,
  ``gen_ai.usage.cache_creation_input_tokens``): tokens written to the provider's cache. The conventions count both
  cache reads and cache writes inside ``gen_ai.usage.input_tokens``, so they are billed as input through it; the
  value is checked (a non-negative integer) but adds nothing.
- ``gen_ai.provider.name`` (older ``gen_ai.system``) and ``gen_ai.operation.name``: whether the span is a GenAI model
  call (the request record has no provider column).
- ``gen_ai.request.stream``: ``stream``; ``gen_ai.response.time_to_first_chunk`` (seconds): ``ttft_ms``.
- span ``startTimeUnixNano``: ``ts``; ``endTimeUnixNano`` - ``startTimeUnixNano``: ``latency_ms``.
- ``error.type`` set, or ``status.code`` 2: ``ok`` false.
- ``gen_ai.response.id``, else ``traceId:spanId``: ``request_id``.
- the endpoint: the attribute named by ``--endpoint-attribute`` (default ``service.name``), looked up on the span,
  then on its resource; ``--endpoint`` overrides it for every row.
- ``user.id``, else ``enduser.id``: the client, kept only as the salted hash API keys get.

Never read: ``gen_ai.input.messages``, ``gen_ai.output.messages``, ``gen_ai.system_instructions``, ``gen_ai.prompt*``,
``gen_ai.completion*``, tool call arguments and results, span events and links, span names and status messages:
the fast reader extracts only the span keys of :data:`RESOURCE_SPANS_TYPE` (no events, links, names or status
messages), and the query keeps only the attributes above right after unnesting the spans, before any step that
buffers rows (the attribute values of one chunk of lines are in memory until then, never in a file); the
record-by-record reader prunes each parsed line the same way before it writes anything (:func:`prune`).

Accounting: a record is a span, so ``source_line`` is the span's running number in the file (line by line, then in
the order of resourceSpans, scopeSpans and spans): the same file always numbers its spans the same way. A line
without any span (not JSON, or an envelope holding no span) is one record too, quarantined with the reason, so
rows in = spans + lines without a span = accepted + quarantined, checked against an independent count of the file
(:func:`count_records`). A span that is not a GenAI model call is counted and quarantined with the reason: "not a
GenAI span" (no ``gen_ai.operation.name``, provider or model attribute: an HTTP or database span of the trace) or
"not a model call" (``invoke_agent``, ``create_agent``, ``execute_tool``: their model calls are spans of their own,
so counting them would count the tokens twice).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from pipelines.core.duck import connect
from pipelines.core.errors import ModeshiftError
from pipelines.core.sql_loader import load_sql
from pipelines.ingest.formats.content import Content
from pipelines.ingest.formats.options import TimestampRule, check_name, refuse_options
from pipelines.ingest.formats.physical import count_lines
from pipelines.ingest.formats.records import MAX_RECORD_BYTES, RecordReader
from pipelines.ingest.formats.salvage import json_records

NAME = "otel-genai"
KINDS = ("jsonl",)
# The options of this format beyond the shared ones (see pipelines.ingest.formats.options.FORMAT_OPTIONS).
OPTIONS = ("endpoint_attribute",)
DEFAULT_ENDPOINT_ATTRIBUTE = "service.name"

# The span attribute keys read (besides the endpoint attribute); everything else is never selected.
SPAN_ATTRIBUTES: tuple[str, ...] = (
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.system",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.response.id",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.prompt_tokens",
    "gen_ai.usage.completion_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "gen_ai.request.stream",
    "gen_ai.response.time_to_first_chunk",
    "error.type",
    "user.id",
    "enduser.id",
)
# Attributes that carry message content: never an endpoint.
_CONTENT_PREFIXES = (
    "gen_ai.input.",
    "gen_ai.output.",
    "gen_ai.prompt",
    "gen_ai.completion",
    "gen_ai.system_instructions",
    "gen_ai.tool.call.",
    "gen_ai.tool.definitions",
)

_VALUE = "STRUCT(stringValue VARCHAR, intValue VARCHAR, doubleValue VARCHAR, boolValue VARCHAR)"
_ATTRIBUTES = f"STRUCT(key VARCHAR, value {_VALUE})[]"
_SPAN = (
    "STRUCT(traceId VARCHAR, spanId VARCHAR, startTimeUnixNano VARCHAR, endTimeUnixNano VARCHAR, "
    f"attributes {_ATTRIBUTES}, status STRUCT(code VARCHAR))"
)
# The part of a TracesData line that is read, as a DuckDB type (the fast reader extracts only these keys) and as the
# JSON structure json_transform takes (for the record-by-record reader's pruned JSON text).
RESOURCE_SPANS_TYPE = (
    f"STRUCT(resource STRUCT(attributes {_ATTRIBUTES}), scopeSpans STRUCT(spans {_SPAN}[])[])[]"
)
_VALUE_JSON = {
    "stringValue": "VARCHAR",
    "intValue": "VARCHAR",
    "doubleValue": "VARCHAR",
    "boolValue": "VARCHAR",
}
_ATTRIBUTES_JSON = [{"key": "VARCHAR", "value": _VALUE_JSON}]
_SPAN_KEYS = ("traceId", "spanId", "startTimeUnixNano", "endTimeUnixNano")
RESOURCE_SPANS_STRUCTURE = json.dumps(
    [
        {
            "resource": {"attributes": _ATTRIBUTES_JSON},
            "scopeSpans": [
                {
                    "spans": [
                        {
                            **{key: "VARCHAR" for key in _SPAN_KEYS},
                            "attributes": _ATTRIBUTES_JSON,
                            "status": {"code": "VARCHAR"},
                        }
                    ]
                }
            ],
        }
    ]
)

NOT_APPLICABLE = {
    "anchor": "span times are nanoseconds since 1970, not offsets from a trace start.",
    "ts_unit": "span times are OTLP's startTimeUnixNano (nanoseconds since 1970).",
    "model": "every GenAI span names its model (gen_ai.response.model or gen_ai.request.model).",
    "mapping": "use --format mapped to read a log through a mapping file.",
}


def endpoint_attribute(options: dict[str, Any]) -> str:
    """The attribute key that names a span's endpoint: ``endpoint_attribute`` when given, else ``service.name``."""
    return str(options.get("endpoint_attribute") or DEFAULT_ENDPOINT_ATTRIBUTE).strip()


def validate_options(options: dict[str, Any]) -> None:
    """Refuse options that make no sense for OTLP traces; check ``endpoint_attribute`` (visible text, and not an
    attribute that carries message content)."""
    refuse_options(NAME, options, NOT_APPLICABLE)
    if options.get("endpoint_attribute") is None:
        return
    key = check_name("endpoint_attribute", options["endpoint_attribute"])
    if key.startswith(_CONTENT_PREFIXES):
        raise ModeshiftError(
            f"The endpoint attribute {key!r} carries message content, which modeshift never reads.",
            "Name an attribute such as service.name, http.route or gen_ai.agent.name.",
        )


def timestamp_rule(options: dict[str, Any]) -> TimestampRule:
    """Span start times become microseconds since 1970 in the raw rows (from OTLP's nanoseconds)."""
    return TimestampRule(unit="us")


def _attributes(items: object, keys: frozenset[str]) -> list[object]:
    """The attributes of an OTLP attribute list whose key is in ``keys``, each with only its scalar value."""
    if not isinstance(items, list):
        return []
    kept: list[object] = []
    for item in items:
        if isinstance(item, dict) and item.get("key") in keys:
            value = item.get("value")
            scalars = (
                {k: v for k, v in value.items() if k in _VALUE_JSON} if isinstance(value, dict) else None
            )
            kept.append({"key": item["key"], "value": scalars})
    return kept


def prune(record: dict[str, object], endpoint_key: str = DEFAULT_ENDPOINT_ATTRIBUTE) -> dict[str, object]:
    """The part of one parsed TracesData line the format reads (the same keys as :data:`RESOURCE_SPANS_TYPE`, and
    only the allowlisted attributes): what the record-by-record reader keeps of the line. A span that is not a
    JSON object becomes an empty one (the fast reader reads it as a span without fields)."""
    span_keys = frozenset((*SPAN_ATTRIBUTES, endpoint_key))
    resource_keys = frozenset((endpoint_key,))
    resources = record.get("resourceSpans")
    if not isinstance(resources, list):
        return {}
    pruned: list[object] = []
    for resource_spans in resources:
        if not isinstance(resource_spans, dict):
            pruned.append(None)
            continue
        resource = resource_spans.get("resource")
        scopes = resource_spans.get("scopeSpans")
        kept_scopes: list[object] | None = None
        if isinstance(scopes, list):
            kept_scopes = []
            for scope in scopes:
                spans = scope.get("spans") if isinstance(scope, dict) else None
                if not isinstance(spans, list):
                    kept_scopes.append(None)
                    continue
                kept_spans: list[object] = []
                for span in spans:
                    if not isinstance(span, dict):
                        kept_spans.append(None if span is None else {})
                        continue
                    status = span.get("status")
                    kept_spans.append(
                        {
                            **{key: span.get(key) for key in _SPAN_KEYS},
                            "attributes": _attributes(span.get("attributes"), span_keys),
                            "status": {"code": status.get("code")} if isinstance(status, dict) else None,
                        }
                    )
                kept_scopes.append({"spans": kept_spans})
        attributes = resource.get("attributes") if isinstance(resource, dict) else None
        pruned.append(
            {"resource": {"attributes": _attributes(attributes, resource_keys)}, "scopeSpans": kept_scopes}
        )
    return {"resourceSpans": pruned}


def raw_rows(suffix: str, options: dict[str, Any], read: RecordReader) -> duckdb.DuckDBPyRelation:
    """The raw rows of an OTLP/JSON trace file, one per span (see the module docstring and
    ``sql/ingest/format_otel_genai.sql``): ts in microseconds since 1970, latency and ttft in milliseconds, tokens
    as the spans give them. The endpoint attribute key is a bound constant, never SQL text."""
    key = endpoint_attribute(options)
    records = read(
        ["resourceSpans"],
        {"resourceSpans": RESOURCE_SPANS_TYPE},
        project=lambda record: prune(record, key),
    )
    column = duckdb.ColumnExpression("resourceSpans")
    types = dict(zip(records.columns, (str(t) for t in records.dtypes), strict=True))
    if types["resourceSpans"] == "VARCHAR":  # the record-by-record reader's pruned JSON text
        column = duckdb.FunctionExpression(
            "json_transform", column, duckdb.ConstantExpression(RESOURCE_SPANS_STRUCTURE)
        )
    records = records.select(
        duckdb.ColumnExpression("source_line"),
        duckdb.ColumnExpression("parse_error"),
        column.alias("resourceSpans"),
        duckdb.ConstantExpression(key).cast("VARCHAR").alias("endpoint_key"),
    )
    return records.query("records", load_sql("ingest/format_otel_genai"))


def spans_in(record: object) -> int:
    """How many spans one parsed TracesData line holds: the elements of every ``resourceSpans[].scopeSpans[].spans``
    list (an element that is not an object still counts: it becomes a quarantined row)."""
    if not isinstance(record, dict) or not isinstance(record.get("resourceSpans"), list):
        return 0
    count = 0
    for resource_spans in record["resourceSpans"]:
        scopes = resource_spans.get("scopeSpans") if isinstance(resource_spans, dict) else None
        for scope in scopes if isinstance(scopes, list) else []:
            spans = scope.get("spans") if isinstance(scope, dict) else None
            count += len(spans) if isinstance(spans, list) else 0
    return count


def count_records(path: Path, content: Content | None, max_record_bytes: int, careful: bool) -> int | None:
    """The records of the file counted without the reader that staged it: per line (or array element), its spans,
    or 1 for a line without any. ``careful``: with Python's JSON decoder, line by line as the record-by-record
    reader reads (a truncated tail, a line past ``max_record_bytes``: one record each). Otherwise with DuckDB's
    line reader (``read_ndjson_objects``) and JSON path lengths, not the typed reader and the unnesting of the
    staging query, its lines checked against the file's non-blank lines counted from the bytes; None when that
    reader cannot read the file or misses a line (the file is then read record by record)."""
    json_array = content is not None and content.json_array
    if careful or json_array:
        return sum(
            max(spans_in(record), 1) if problem is None else 1
            for record, problem in json_records(path, json_array, max_record_bytes)
        )
    try:
        with connect() as con:
            lines, records = con.sql(
                load_sql("ingest/count_otel_spans"), params={"path": str(path), "max_bytes": MAX_RECORD_BYTES}
            ).fetchall()[0]
    except duckdb.Error:
        return None
    physical = count_lines(path)
    if physical.truncated:
        return None
    if lines != physical.lines:  # blank lines are no record: count them only when the quick count differs
        exact = count_lines(path, count_empty=True)
        if lines != exact.lines - (exact.empty or 0):
            return None
    return int(records)
