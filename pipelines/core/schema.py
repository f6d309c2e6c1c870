"""The request record: one row per accepted request, as the lake stores it. The parsers (raw columns), the
validation suite, the demo generator and the SQL that creates empty tables all follow this list; a test checks
the SQL files and the written lake files against it (docs/metrics.md#the-request-record)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestColumn:
    """One column of the request record: its name, its DuckDB type in the lake, whether every row has it, and
    whether the raw readers read it as a number (DOUBLE) rather than as text."""

    name: str
    lake_type: str
    required: bool = False
    numeric_in_raw: bool = False


REQUEST_RECORD: tuple[RequestColumn, ...] = (
    RequestColumn("request_id", "VARCHAR", required=True),
    RequestColumn("ts", "TIMESTAMP WITH TIME ZONE", required=True),
    RequestColumn("endpoint", "VARCHAR", required=True),
    RequestColumn("model", "VARCHAR", required=True),
    RequestColumn("input_tokens", "BIGINT", required=True, numeric_in_raw=True),
    RequestColumn("output_tokens", "BIGINT", required=True, numeric_in_raw=True),
    RequestColumn("cached_input_tokens", "BIGINT", numeric_in_raw=True),
    RequestColumn("latency_ms", "DOUBLE", numeric_in_raw=True),
    RequestColumn("ttft_ms", "DOUBLE", numeric_in_raw=True),
    RequestColumn("ok", "BOOLEAN", required=True),
    RequestColumn("stream", "BOOLEAN"),
    RequestColumn("interactive", "BOOLEAN"),
    RequestColumn("client", "VARCHAR"),
    RequestColumn("deployment_mode", "VARCHAR", required=True),
    RequestColumn("billed_cost_usd", "DOUBLE", numeric_in_raw=True),
)
REQUEST_COLUMNS: tuple[str, ...] = tuple(column.name for column in REQUEST_RECORD)
REQUIRED_COLUMNS: tuple[str, ...] = tuple(column.name for column in REQUEST_RECORD if column.required)
TOKEN_COLUMNS: tuple[str, ...] = ("input_tokens", "output_tokens", "cached_input_tokens")
# Where a row came from: the landed file's id and the 1-based record number in it.
PROVENANCE_COLUMNS: tuple[RequestColumn, ...] = (
    RequestColumn("source_file", "VARCHAR", required=True),
    RequestColumn("source_line", "BIGINT", required=True),
)
LAKE_COLUMNS: tuple[str, ...] = REQUEST_COLUMNS + tuple(column.name for column in PROVENANCE_COLUMNS)
# Read from sources but never stored: the API key becomes the salted hash in ``client`` when no client is given.
INPUT_ONLY_COLUMNS: tuple[str, ...] = ("api_key",)
# The columns every format's reader produces, as text or numbers (plus source_line and parse_error).
RAW_COLUMNS: tuple[str, ...] = REQUEST_COLUMNS[:13] + INPUT_ONLY_COLUMNS + REQUEST_COLUMNS[13:]
RAW_NUMERIC_COLUMNS: frozenset[str] = frozenset(
    column.name for column in REQUEST_RECORD if column.numeric_in_raw
)
