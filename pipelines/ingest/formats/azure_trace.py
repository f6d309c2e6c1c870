"""``azure-trace``: the Azure LLM inference trace (CSV; Azure public dataset, 2023 and 2024 releases).

Each row is one request: ``TIMESTAMP`` (ISO text, UTC), ``ContextTokens`` and ``GeneratedTokens``. One file is one
service, so the endpoint comes from ``--endpoint`` (required). The trace does not name a model: ``--model`` names the
rate-card model that serves it; without it the rows carry the model ``unknown``, which has no price: they count as
load (requests, tokens, rates) but are unpriced and cost nothing. Choose ``--model`` when the file is first ingested:
landing the same bytes again is a no-op, options included.
"""

from __future__ import annotations

from typing import Any

import duckdb

from pipelines.core.errors import ModeshiftError
from pipelines.core.sql_loader import load_sql
from pipelines.ingest.formats.options import TimestampRule, check_name, refuse_options
from pipelines.ingest.formats.records import RecordReader

NAME = "azure-trace"
KINDS = ("csv",)
REQUIRED_OPTIONS = ("endpoint",)  # options every file of this format needs

FIELDS: tuple[str, ...] = ("TIMESTAMP", "ContextTokens", "GeneratedTokens")
UNKNOWN_MODEL = "unknown"

NOT_APPLICABLE = {
    "anchor": "the trace's TIMESTAMP values are ISO-8601 instants.",
    "ts_unit": "the trace's TIMESTAMP values are ISO-8601 text.",
    "mapping": "use --format mapped to read a log through a mapping file.",
}


def validate_options(options: dict[str, Any]) -> None:
    """Require an ``endpoint`` (one file is one service); check ``model`` when given; refuse options that do not
    apply."""
    if not options.get("endpoint"):
        raise ModeshiftError(
            "An Azure trace file is one service and does not name it, so the azure-trace format needs an endpoint.",
            "Pass --endpoint NAME (for example --endpoint azure-code), one name per service.",
        )
    check_name("endpoint", options["endpoint"])
    if options.get("model") is not None:
        check_name("model", options["model"])
    refuse_options("azure-trace", options, NOT_APPLICABLE)


def timestamp_rule(options: dict[str, Any]) -> TimestampRule:
    """``TIMESTAMP`` is ISO-8601 text; without an offset (2023 files) it is UTC."""
    return TimestampRule(unit="iso")


def model_name(options: dict[str, Any]) -> str:
    """The model every row of the file carries: ``--model`` when given, else ``unknown`` (unpriced)."""
    return str(options.get("model") or UNKNOWN_MODEL).strip()


def raw_rows(suffix: str, options: dict[str, Any], read: RecordReader) -> duckdb.DuckDBPyRelation:
    """The raw rows of an Azure trace file: ts from TIMESTAMP, input/output tokens from Context/GeneratedTokens,
    the model from the options (a bound value, never SQL text); the endpoint override is applied at normalization."""
    rows = read(list(FIELDS)).query("records", load_sql("ingest/format_azure_trace"))
    model = duckdb.ConstantExpression(model_name(options)).cast("VARCHAR").alias("model")
    columns = [model if name == "model" else duckdb.ColumnExpression(name) for name in rows.columns]
    return rows.select(*columns)
