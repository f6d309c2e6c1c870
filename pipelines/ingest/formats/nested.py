"""Nested JSON fields of flat exports (Langfuse ``usageDetails`` / ``costDetails`` / ``metadata``, Helicone
``request_properties``, OpenRouter's ``data`` envelope), read the same way whatever the file kind.

One field arrives in up to four shapes: a JSON object in a JSON line, a Parquet map or struct (which the record
reader turns into the same JSON text, :func:`pipelines.ingest.formats.records.json_text`), JSON text in a CSV cell,
or a JSON string whose content is JSON text (an exporter that encoded the object twice). :func:`with_json_objects`
replaces such fields by the JSON text of the object in every case, and by NULL when the value is no JSON object
(a number, a list, broken text), so a format's SQL only ever sees an object or NULL.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

_OBJECT = duckdb.ConstantExpression("OBJECT")


def json_object_text(column: str) -> duckdb.Expression:
    """The JSON text of the object field ``column`` holds (see the module docstring), or NULL when it holds no
    JSON object; the value of a JSON string is parsed once more, so a doubly encoded object is read too."""
    value = duckdb.ColumnExpression(column).cast("VARCHAR").try_cast("JSON")
    inner = duckdb.FunctionExpression("json_extract_string", value, duckdb.ConstantExpression("$"))
    inner_json = inner.try_cast("JSON")
    value_type = duckdb.FunctionExpression("json_type", value)
    inner_type = duckdb.FunctionExpression("json_type", inner_json)
    return (
        duckdb.CaseExpression(value_type == _OBJECT, value.cast("VARCHAR"))
        .when(
            (value_type == duckdb.ConstantExpression("VARCHAR")) & (inner_type == _OBJECT),
            inner_json.cast("VARCHAR"),
        )
        .otherwise(duckdb.ConstantExpression(None).cast("VARCHAR"))
    )


def with_json_objects(relation: duckdb.DuckDBPyRelation, columns: Iterable[str]) -> duckdb.DuckDBPyRelation:
    """``relation`` with each of ``columns`` replaced by :func:`json_object_text` of it (the other columns as
    they are, in the same order)."""
    wanted = set(columns)
    missing = wanted - set(relation.columns)
    if missing:
        raise ValueError(f"no such fields to read as JSON objects: {', '.join(sorted(missing))}")
    return relation.select(
        *(
            json_object_text(name).alias(name) if name in wanted else duckdb.ColumnExpression(name)
            for name in relation.columns
        )
    )
