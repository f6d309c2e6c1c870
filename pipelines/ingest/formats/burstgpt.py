"""``burstgpt``: the BurstGPT trace (CSV) of an Azure OpenAI GPT service.

``Timestamp`` counts seconds from 00:00 of the trace's first day, so the file needs an anchor (``--anchor``). Columns
are read by name: newer files insert ``Session ID`` and ``Elapsed time`` after ``Timestamp``. The endpoint is the
model plus the log type (four endpoints: chatgpt-conversation, chatgpt-api, gpt-4-conversation, gpt-4-api); see
``sql/ingest/format_burstgpt.sql`` for every column.
"""

from __future__ import annotations

from typing import Any

import duckdb

from pipelines.core.errors import ModeshiftError
from pipelines.core.sql_loader import load_sql
from pipelines.ingest.formats.options import TimestampRule, parse_anchor, refuse_options
from pipelines.ingest.formats.records import RecordReader

NAME = "burstgpt"
KINDS = ("csv",)
REQUIRED_OPTIONS = ("anchor",)  # options every file of this format needs

FIELDS: tuple[str, ...] = (
    "Timestamp",
    "Elapsed time",
    "Model",
    "Request tokens",
    "Response tokens",
    "Log Type",
)

NOT_APPLICABLE = {
    "model": "every BurstGPT row names its model.",
    "mapping": "use --format mapped to read a log through a mapping file.",
}


def validate_options(options: dict[str, Any]) -> None:
    """Require a valid ``anchor`` (the instant the trace's seconds count from); refuse options that do not apply."""
    if not options.get("anchor"):
        raise ModeshiftError(
            "BurstGPT timestamps count seconds from the start of the trace, so the burstgpt format needs an anchor.",
            "Pass --anchor 2023-MM-DDT00:00:00Z, the midnight (UTC) that starts the trace's first day.",
        )
    parse_anchor(options["anchor"])
    if options.get("ts_unit") and options["ts_unit"] != "s":
        raise ModeshiftError(
            f"BurstGPT timestamps are seconds, not '{options['ts_unit']}'.",
            "Drop --ts-unit or pass --ts-unit s.",
        )
    refuse_options("burstgpt", options, NOT_APPLICABLE)


def timestamp_rule(options: dict[str, Any]) -> TimestampRule:
    """Seconds (possibly fractional, e.g. '19440110.0') since the ``anchor`` instant."""
    return TimestampRule(unit="s", anchor=parse_anchor(options["anchor"]))


def raw_rows(suffix: str, options: dict[str, Any], read: RecordReader) -> duckdb.DuckDBPyRelation:
    """The raw rows of a BurstGPT file: ts in seconds since the anchor, endpoint from model and log type, ok = false
    when no response tokens, latency_ms = Elapsed time (s) x 1000 where the file has it."""
    return read(list(FIELDS)).query("records", load_sql("ingest/format_burstgpt"))
