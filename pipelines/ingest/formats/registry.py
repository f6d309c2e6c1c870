"""The list of formats ``modeshift ingest --format NAME`` accepts, and the one place that dispatches on the name."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import duckdb

from pipelines.core.errors import ModeshiftError
from pipelines.core.schema import RAW_COLUMNS, RAW_NUMERIC_COLUMNS
from pipelines.ingest.formats import (
    azure_trace,
    burstgpt,
    canonical,
    helicone,
    langfuse,
    litellm,
    mapped,
    openai_usage,
    openrouter,
    otel_genai,
)
from pipelines.ingest.formats.options import (
    DEFAULT_MAX_NAME_LENGTH,
    FORMAT_OPTIONS,
    OPTION_KEYS,
    TimestampRule,
    check_common_options,
)
from pipelines.ingest.formats.physical import RecordCounter
from pipelines.ingest.formats.records import NATIVE_TIMESTAMP_TYPES, RAW_TYPES, RecordReader, kind_of

_FORMATS: dict[str, ModuleType] = {
    module.NAME: module
    for module in (
        canonical,
        mapped,
        litellm,
        burstgpt,
        azure_trace,
        otel_genai,
        langfuse,
        helicone,
        openrouter,
        openai_usage,
    )
}
FORMAT_NAMES: tuple[str, ...] = tuple(_FORMATS)


def _format(name: str) -> ModuleType:
    try:
        return _FORMATS[name]
    except KeyError:
        raise ModeshiftError(f"Unknown format '{name}'.", f"Use one of: {', '.join(FORMAT_NAMES)}.") from None


def is_aggregated(name: str) -> bool:
    """Whether format ``name`` holds aggregated usage (counts per time bucket, staged into the usage lake by
    ``pipelines.ingest.usage``) rather than single requests."""
    return bool(getattr(_format(name), "AGGREGATED", False))


def validate_options(
    name: str, suffix: str, options: dict[str, Any], max_name_length: int = DEFAULT_MAX_NAME_LENGTH
) -> None:
    """Fail with a clear sentence when a file of this suffix cannot be read as format ``name`` with ``options``:
    first the checks every format shares (:func:`check_common_options`), then the format's own."""
    module = _format(name)
    check_common_options(options, max_name_length)
    kind = kind_of(suffix)
    if kind not in module.KINDS:
        raise ModeshiftError(
            f"The {name} format reads {' or '.join(module.KINDS)} files, not {suffix}.",
            "Check --format and the file.",
        )
    for key in FORMAT_OPTIONS:
        if options.get(key) is not None and key not in getattr(module, "OPTIONS", ()):
            flag = "--" + key.replace("_", "-")
            raise ModeshiftError(f"The {name} format does not take {flag}.", f"Drop {flag}.")
    module.validate_options(options)


def record_counter(name: str) -> RecordCounter | None:
    """How format ``name`` counts the records of a file itself (its records are not its lines: a trace line holds
    many spans), or None for a format whose records are counted from the file's lines."""
    return getattr(_format(name), "count_records", None)


def timestamp_rule(name: str, options: dict[str, Any]) -> TimestampRule:
    """How format ``name`` writes its timestamps, given the file's options."""
    return _format(name).timestamp_rule(options)


def raw_rows(name: str, suffix: str, options: dict[str, Any], read: RecordReader) -> duckdb.DuckDBPyRelation:
    """The raw rows of one file (see :mod:`pipelines.ingest.formats`), its records read by ``read``: numeric columns
    DOUBLE (a value that is not a number becomes NULL), the others text.

    A boolean where a number belongs (JSON ``true``, a Parquet BOOLEAN column, the text ``False`` in a CSV) is never
    read as 1 or 0: the record gets the parse error "input_tokens is a boolean (true), not a number"."""
    relation = _format(name).raw_rows(suffix, options, read)
    columns = [duckdb.ColumnExpression("source_line"), _boolean_number_error(relation).alias("parse_error")]
    native = _native_timestamps(relation, name, options)
    for column in RAW_COLUMNS:
        if column == "ts" and native:  # the instants as they are; no text to parse
            columns.append(duckdb.ConstantExpression(None).cast("VARCHAR").alias("ts"))
        else:
            columns.append(duckdb.ColumnExpression(column).try_cast(RAW_TYPES[column]).alias(column))
    ts_native = duckdb.ColumnExpression("ts") if native else duckdb.ConstantExpression(None)
    columns.append(ts_native.cast("TIMESTAMP WITH TIME ZONE").alias("ts_native"))
    return relation.select(*columns)


def _native_timestamps(relation: duckdb.DuckDBPyRelation, name: str, options: dict[str, Any]) -> bool:
    """Whether the format gave ``ts`` as instants (a Parquet timestamp column) and the file's timestamps are read
    as ISO-8601 instants (no epoch unit, no anchor): then ``ts_native`` carries them and ``ts`` is empty. Epoch
    rules read the text of such a column, as they always have (it is then no number: the row is quarantined)."""
    types = {column: str(dtype) for column, dtype in zip(relation.columns, relation.dtypes, strict=True)}
    rule = timestamp_rule(name, options)
    return types.get("ts") in NATIVE_TIMESTAMP_TYPES and rule.unit == "iso" and rule.anchor is None


# How a boolean reaches a number column as text: JSON and Parquet booleans read as text, CSV and Python spellings.
_BOOLEAN_SPELLINGS = ("true", "false", "True", "False", "TRUE", "FALSE")


def _boolean_number_error(relation: duckdb.DuckDBPyRelation) -> duckdb.Expression:
    """``parse_error``, else the first numeric column holding a boolean (only columns that can hold one: text or
    BOOLEAN; a column the reader already typed as a number cannot)."""
    types = {column: str(dtype) for column, dtype in zip(relation.columns, relation.dtypes, strict=True)}
    parse_error = duckdb.ColumnExpression("parse_error")
    reason: duckdb.Expression | None = None
    for column in RAW_COLUMNS:
        if column not in RAW_NUMERIC_COLUMNS or types.get(column) not in ("VARCHAR", "BOOLEAN"):
            continue
        text = duckdb.ColumnExpression(column).cast("VARCHAR")
        # Plain comparisons with the spellings (lower(trim()) on every value cost more than the whole check).
        is_boolean = text.isin(*(duckdb.ConstantExpression(spelling) for spelling in _BOOLEAN_SPELLINGS))
        message = duckdb.FunctionExpression(
            "concat",
            duckdb.ConstantExpression(f"{column} is a boolean ("),
            duckdb.FunctionExpression("lower", text),
            duckdb.ConstantExpression("), not a number"),
        )
        if reason is None:
            reason = duckdb.CaseExpression(parse_error.isnotnull(), parse_error).when(is_boolean, message)
        else:
            reason = reason.when(is_boolean, message)
    return parse_error if reason is None else reason.otherwise(parse_error)


@dataclass(frozen=True)
class FormatDescription:
    """What ``modeshift formats`` prints of one format: the file kinds it reads, its module's summary, the source
    fields it reads (empty: the request record's own column names, or a mapping file names them) and the
    ``modeshift ingest`` options it takes (and those among them every file needs)."""

    name: str
    kinds: tuple[str, ...]
    summary: str
    fields: tuple[str, ...]
    options: tuple[str, ...]
    required_options: tuple[str, ...]


def describe_formats() -> list[FormatDescription]:
    """Every format, in the order ``--format`` lists them, described from its module (see
    :class:`FormatDescription`)."""
    shared = tuple(key for key in OPTION_KEYS if key not in FORMAT_OPTIONS)
    described = []
    for name, module in _FORMATS.items():
        refused = getattr(module, "NOT_APPLICABLE", {})
        options = tuple(key for key in shared if key not in refused) + tuple(getattr(module, "OPTIONS", ()))
        fields = tuple(getattr(module, "FIELDS", ())) + tuple(getattr(module, "SPAN_ATTRIBUTES", ()))
        summary = (module.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ").replace("``", "")
        summary = summary.removeprefix(f"{name}: ")
        required = tuple(getattr(module, "REQUIRED_OPTIONS", ()))
        described.append(FormatDescription(name, tuple(module.KINDS), summary, fields, options, required))
    return described
