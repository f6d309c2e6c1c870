"""``canonical``: the columns of the request record by their own names, in JSONL, CSV or Parquet.

Prompt and completion text are never read: only the record's own columns are selected.
"""

from __future__ import annotations

from typing import Any

import duckdb

from pipelines.ingest.formats.options import TimestampRule, refuse_options, timestamp_rule_from_options
from pipelines.ingest.formats.records import RAW_COLUMNS, RAW_TYPES, TIMESTAMP_OR_TEXT, RecordReader, kind_of

NAME = "canonical"
KINDS = ("jsonl", "csv", "parquet")
FIELDS = RAW_COLUMNS  # the request record's own names (and api_key, kept only as a salted hash)
NOT_APPLICABLE = {
    "model": "canonical records name their model (a 'model' column).",
    "mapping": "use --format mapped to read a log through a mapping file.",
}


def validate_options(options: dict[str, Any]) -> None:
    """Check the options at landing time (timestamp unit and anchor); refuse those that do not apply."""
    refuse_options(NAME, options, NOT_APPLICABLE)
    timestamp_rule_from_options(options)


def timestamp_rule(options: dict[str, Any]) -> TimestampRule:
    """ISO-8601 text unless ``--ts-unit`` says epoch seconds / ms / µs."""
    return timestamp_rule_from_options(options)


def raw_rows(suffix: str, options: dict[str, Any], read: RecordReader) -> duckdb.DuckDBPyRelation:
    """The file's records with the raw columns (they already carry the canonical names); a Parquet ``ts`` column
    that holds instants stays one (the registry decides whether it is read as such)."""
    types = RAW_TYPES | {"ts": TIMESTAMP_OR_TEXT} if kind_of(suffix) == "parquet" else RAW_TYPES
    return read(list(RAW_COLUMNS), types)
