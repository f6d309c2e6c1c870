"""``canonical``: the columns of the request record by their own names, in JSONL, CSV or Parquet.

Prompt and completion text are never read: only the record's own columns are selected.
"""

from __future__ import annotations

from typing import Any

import duckdb

from pipelines.core.errors import ModeshiftError
from pipelines.ingest.formats.options import TimestampRule, timestamp_rule_from_options
from pipelines.ingest.formats.records import RAW_COLUMNS, RAW_TYPES, RecordReader

NAME = "canonical"
KINDS = ("jsonl", "csv", "parquet")


def validate_options(options: dict[str, Any]) -> None:
    """Check the options at landing time (timestamp unit and anchor); refuse those that do not apply."""
    for key, reason in {
        "model": "canonical records name their model (a 'model' column).",
        "mapping": "use --format mapped to read a log through a mapping file.",
    }.items():
        if options.get(key) is not None:
            raise ModeshiftError(f"The canonical format does not take --{key}: {reason}", f"Drop --{key}.")
    timestamp_rule_from_options(options)


def timestamp_rule(options: dict[str, Any]) -> TimestampRule:
    """ISO-8601 text unless ``--ts-unit`` says epoch seconds / ms / µs."""
    return timestamp_rule_from_options(options)


def raw_rows(suffix: str, options: dict[str, Any], read: RecordReader) -> duckdb.DuckDBPyRelation:
    """The file's records with the raw columns (they already carry the canonical names)."""
    return read(list(RAW_COLUMNS), RAW_TYPES)
