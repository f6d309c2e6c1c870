"""``mapped``: any JSONL / CSV / Parquet log described by a small YAML mapping file, without writing code.

Mapping file::

    columns:                       # canonical column -> source field, or {constant: value}
      ts: created                  # JSONL: dotted paths reach into nested objects (usage.prompt_tokens)
      endpoint: {constant: chat-prod}
      model: body.model
      input_tokens: usage.prompt_tokens
      output_tokens: usage.completion_tokens
    timestamp:
      unit: ms                     # iso | s | ms | us
      anchor: 2024-05-01T00:00:00Z # only for offsets since a trace start

In CSV and Parquet files a source field is a column name, taken literally (dots included).
"""

from __future__ import annotations

from typing import Any

import duckdb

from pipelines.core.errors import ModeshiftError
from pipelines.ingest.formats.options import (
    TimestampRule,
    check_ts_unit,
    parse_anchor,
    timestamp_rule_from_options,
)
from pipelines.ingest.formats.records import RAW_COLUMNS, RecordReader, kind_of

NAME = "mapped"
KINDS = ("jsonl", "csv", "parquet")
REQUIRED = ("ts", "endpoint", "model", "input_tokens", "output_tokens")


def validate_options(options: dict[str, Any]) -> None:
    """Check the mapping: known canonical columns, each mapped to a field name or a constant, required ones present."""
    mapping = options.get("mapping")
    if not isinstance(mapping, dict) or not isinstance(mapping.get("columns"), dict):
        raise ModeshiftError(
            "The mapped format needs a mapping file with a 'columns' section.",
            "Pass --mapping FILE; see the README for its shape.",
        )
    unknown = set(mapping) - {"columns", "timestamp"}
    if unknown:
        raise ModeshiftError(f"Unknown keys in the mapping file: {', '.join(sorted(unknown))}.")
    for column, source in mapping["columns"].items():
        if column not in RAW_COLUMNS:
            raise ModeshiftError(
                f"The mapping names '{column}', which is not a request column.",
                f"Use some of: {', '.join(RAW_COLUMNS)}.",
            )
        constant = isinstance(source, dict) and set(source) == {"constant"}
        if not constant and not (isinstance(source, str) and source.strip() and '"' not in source):
            raise ModeshiftError(
                f"The mapping of '{column}' must be a field name or {{constant: value}}, not {source!r}."
            )
    missing = [
        c
        for c in REQUIRED
        if c not in mapping["columns"] and not (c == "endpoint" and options.get("endpoint"))
    ]
    if missing:
        raise ModeshiftError(f"The mapping file does not map the required column(s) {', '.join(missing)}.")
    stamp = mapping.get("timestamp") or {}
    if not isinstance(stamp, dict):
        raise ModeshiftError(
            "The 'timestamp' section of the mapping must hold 'unit' and optionally 'anchor'."
        )
    if "unit" in stamp:
        check_ts_unit(stamp["unit"])
    if stamp.get("anchor"):
        parse_anchor(stamp["anchor"])


def timestamp_rule(options: dict[str, Any]) -> TimestampRule:
    """The mapping's timestamp section, overridden by ``--ts-unit`` / ``--anchor`` when given."""
    stamp = (options.get("mapping") or {}).get("timestamp") or {}
    merged = {"ts_unit": stamp.get("unit"), "anchor": stamp.get("anchor")}
    merged.update({key: value for key, value in options.items() if key in ("ts_unit", "anchor") and value})
    return timestamp_rule_from_options(merged)


def _source_expression(source: str, kind: str, columns: set[str]) -> duckdb.Expression:
    if kind != "jsonl" or "." not in source or source in columns:
        return duckdb.ColumnExpression(source)
    top, _, rest = source.partition(".")
    path = "$" + "".join(f'."{segment}"' for segment in rest.split("."))
    return duckdb.FunctionExpression(
        "json_extract_string", duckdb.ColumnExpression(top), duckdb.ConstantExpression(path)
    )


def raw_rows(suffix: str, options: dict[str, Any], read: RecordReader) -> duckdb.DuckDBPyRelation:
    """The file's records re-shaped by the mapping into the raw columns (unmapped ones are NULL)."""
    kind = kind_of(suffix)
    columns_map: dict[str, Any] = options["mapping"]["columns"]
    fields = sorted(
        {
            (source.partition(".")[0] if kind == "jsonl" else source)
            for source in columns_map.values()
            if isinstance(source, str)
        }
    )
    records = read(fields)
    present = set(records.columns)
    expressions = [duckdb.ColumnExpression("source_line"), duckdb.ColumnExpression("parse_error")]
    for column in RAW_COLUMNS:
        source = columns_map.get(column)
        if source is None:
            expression = duckdb.ConstantExpression(None)
        elif isinstance(source, dict):
            expression = duckdb.ConstantExpression(str(source["constant"]))
        else:
            expression = _source_expression(source, kind, present)
        expressions.append(expression.cast("VARCHAR").alias(column))
    return records.select(*expressions)
