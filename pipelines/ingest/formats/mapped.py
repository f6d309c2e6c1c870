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

import math
from pathlib import Path
from typing import Any

import duckdb
import yaml

from pipelines.core.errors import ModeshiftError
from pipelines.ingest.formats.options import (
    TimestampRule,
    check_anchor,
    check_name,
    check_ts_unit,
    refuse_options,
    timestamp_rule_from_options,
    unprintable,
)
from pipelines.ingest.formats.records import RAW_COLUMNS, RecordReader, kind_of

NAME = "mapped"
KINDS = ("jsonl", "csv", "parquet")
REQUIRED_OPTIONS = ("mapping",)  # options every file of this format needs
REQUIRED = ("ts", "endpoint", "model", "input_tokens", "output_tokens")
NOT_APPLICABLE = {"model": "map 'model' in the mapping file ({constant: NAME})."}


MAX_MAPPING_BYTES = 64 * 1024
MAX_MAPPING_DEPTH = 8
MAX_FIELD_CHARACTERS = 500


class _PlainYamlLoader(yaml.SafeLoader):
    """A safe YAML loader that also refuses anchors and aliases (``&a`` / ``*a``, and so ``<<`` merges) and nesting
    deeper than :data:`MAX_MAPPING_DEPTH`: a few hundred bytes of aliases expand to gigabytes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: ANN401 - PyYAML's own signature
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            mark = event.start_mark
            raise ModeshiftError(
                f"The mapping file uses a YAML anchor or alias (line {mark.line + 1}); mapping files may not.",
                "Write every value out in full.",
            )
        self._depth += 1
        try:
            if self._depth > MAX_MAPPING_DEPTH:
                raise ModeshiftError(
                    f"The mapping file nests deeper than {MAX_MAPPING_DEPTH} levels.",
                    "A mapping has at most three levels: columns, a column, its constant.",
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_mapping_file(path: Path) -> dict[str, Any]:
    """The mapping of a YAML mapping file: plain YAML (no anchors, aliases or custom tags), at most
    :data:`MAX_MAPPING_BYTES` bytes and :data:`MAX_MAPPING_DEPTH` levels; a clear error otherwise."""
    if not path.is_file():
        raise ModeshiftError(f"The mapping file {path} does not exist.", "Check the --mapping path.")
    size = path.stat().st_size
    if size > MAX_MAPPING_BYTES:
        raise ModeshiftError(
            f"The mapping file {path} is {size:,} bytes; a mapping is at most {MAX_MAPPING_BYTES:,}.",
            "Check the --mapping path: a mapping names a few columns.",
        )
    try:
        text = path.read_bytes()[:MAX_MAPPING_BYTES].decode("utf-8")
        mapping = yaml.load(text, Loader=_PlainYamlLoader)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError):
        raise ModeshiftError(f"The mapping file {path} is not valid YAML.", "Fix the file.") from None
    if not isinstance(mapping, dict):
        raise ModeshiftError(f"The mapping file {path} must hold a mapping with a 'columns' section.")
    return mapping


def _check_source(column: str, source: str) -> None:
    """A source field: a column name (CSV, Parquet) or a dotted path of non-empty keys (JSON)."""
    segments = source.split(".")
    problem = None
    if not source.strip():
        problem = "it is blank"
    elif len(source) > MAX_FIELD_CHARACTERS:
        problem = f"it is longer than {MAX_FIELD_CHARACTERS} characters"
    elif '"' in source or "\\" in source:
        problem = "it contains a quote or a backslash"
    elif unprintable(source):
        problem = "it contains control characters"
    elif any(not segment.strip() for segment in segments):
        problem = "a dotted path has an empty segment"
    if problem is not None:
        raise ModeshiftError(
            f"The mapping of '{column}' names the field {source[:80]!r}, which cannot be read: {problem}.",
            "Name a field of the file; reach into nested JSON with dots (usage.prompt_tokens).",
        )


def _check_constant(column: str, value: Any) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, str | int | float)
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        raise ModeshiftError(
            f"The constant of '{column}' must be text or a finite number, not {str(value)[:80]!r}."
        )
    if column in ("endpoint", "model"):
        check_name(column, str(value))
    elif isinstance(value, str) and (len(value) > MAX_FIELD_CHARACTERS or unprintable(value)):
        raise ModeshiftError(f"The constant of '{column}' is too long or contains control characters.")


def validate_options(options: dict[str, Any]) -> None:
    """Check the mapping: known canonical columns, each mapped to a readable field name or a usable constant,
    required ones present, a valid timestamp section; refuse ``--model`` (the mapping names the model)."""
    refuse_options(NAME, options, NOT_APPLICABLE)
    mapping = options.get("mapping")
    if not isinstance(mapping, dict) or not isinstance(mapping.get("columns"), dict):
        raise ModeshiftError(
            "The mapped format needs a mapping file with a 'columns' section.",
            "Pass --mapping FILE; see the README for its shape.",
        )
    unknown = set(mapping) - {"columns", "timestamp"}
    if unknown:
        raise ModeshiftError(f"Unknown keys in the mapping file: {', '.join(sorted(map(str, unknown)))}.")
    for column, source in mapping["columns"].items():
        if column not in RAW_COLUMNS:
            raise ModeshiftError(
                f"The mapping names '{str(column)[:80]}', which is not a request column.",
                f"Use some of: {', '.join(RAW_COLUMNS)}.",
            )
        if isinstance(source, dict) and set(source) == {"constant"}:
            _check_constant(column, source["constant"])
        elif isinstance(source, str):
            _check_source(column, source)
        else:
            raise ModeshiftError(
                f"The mapping of '{column}' must be a field name or {{constant: value}}, not {str(source)[:80]!r}."
            )
    missing = [
        c
        for c in REQUIRED
        if c not in mapping["columns"] and not (c == "endpoint" and options.get("endpoint"))
    ]
    if missing:
        raise ModeshiftError(f"The mapping file does not map the required column(s) {', '.join(missing)}.")
    stamp = mapping.get("timestamp") or {}
    if not isinstance(stamp, dict) or set(stamp) - {"unit", "anchor"}:
        raise ModeshiftError(
            "The 'timestamp' section of the mapping must hold 'unit' and optionally 'anchor'."
        )
    if "unit" in stamp:
        check_ts_unit(stamp["unit"])
    if stamp.get("anchor") is not None:
        check_anchor(stamp["anchor"])


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
