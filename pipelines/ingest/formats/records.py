"""Read a JSONL, CSV or Parquet file (optionally gzip) into a DuckDB relation of text fields, one row per record.

Fast path: DuckDB's own readers. A record DuckDB cannot parse becomes a row with a ``parse_error``, never a lost row.
When DuckDB cannot read the file at all (a truncated gzip stream, a CSV row with too many fields, bytes that are not
UTF-8), the caller reads it again through :mod:`pipelines.ingest.formats.salvage`, record by record, so the rest still lands.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.core.duck import connect
from pipelines.core.schema import RAW_COLUMNS, RAW_NUMERIC_COLUMNS
from pipelines.core.sql_loader import load_sql
from pipelines.ingest.formats import salvage
from pipelines.ingest.formats.content import Content

# Raw columns that hold numbers are DOUBLE (a Parquet number column is read as a number: fast, and "12" still reads
# as 12); every other raw column is text. A field asked for as DOUBLE is read as text wherever it could hold a
# boolean (JSON, CSV, a Parquet text or BOOLEAN column): DuckDB would read JSON true as 1. The registry then types it
# and refuses booleans (pipelines.ingest.formats.registry.raw_rows).
RAW_TYPES: dict[str, str] = {
    name: ("DOUBLE" if name in RAW_NUMERIC_COLUMNS else "VARCHAR") for name in RAW_COLUMNS
}

# A field asked for as TIMESTAMP_OR_TEXT keeps a Parquet column that already holds instants (one of
# NATIVE_TIMESTAMP_TYPES) as it is, and is text otherwise: the request time of a Parquet file is then not printed as
# text and parsed back, row by row (the costliest expression of staging).
TIMESTAMP_OR_TEXT = "TIMESTAMP_OR_TEXT"
NATIVE_TIMESTAMP_TYPES = ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP")

UNPARSEABLE_JSON = "unreadable line: not a JSON object with any expected field"
UNREADABLE_ARRAY_ELEMENT = (
    "unreadable record: an element of the JSON array that is not an object with any expected field"
)

# Longest record DuckDB's fast readers accept (bytes). DuckDB sizes its read buffers by it: 256 MiB made a 10 M-row
# JSONL read 1.5x slower than 16 MiB. A file with a longer record is refused as a whole and read record by record
# (pipelines.ingest.formats.salvage), so nothing is lost.
MAX_RECORD_BYTES = 16 * 1024 * 1024


def kind_of(suffix: str) -> str:
    """'jsonl', 'csv' or 'parquet' for a landed file suffix such as '.jsonl.gz'."""
    base = suffix.removesuffix(".gz")
    if base in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if base == ".csv":
        return "csv"
    return "parquet"


def csv_header(path: Path) -> list[str]:
    """The field names on the first line of a CSV file (BOM and surrounding blanks removed)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
        import csv

        header = next(csv.reader(handle), [])
    return [name.lstrip("\ufeff").strip() for name in header]


RecordReader = Callable[..., duckdb.DuckDBPyRelation]


def record_reader(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    suffix: str,
    salvage_dir: Path | None = None,
    csv_limits: salvage.CsvLimits | None = None,
    content: Content | None = None,
    max_record_bytes: int = salvage.DEFAULT_MAX_RECORD_BYTES,
) -> RecordReader:
    """A function ``(fields, types=None) -> relation`` reading every record of the file: ``source_line``,
    ``parse_error`` and each of ``fields`` (a field the file lacks is NULL), as VARCHAR unless ``types`` names
    another type for it (a value that does not convert is NULL). ``fields`` are top-level JSON keys, CSV header
    names or Parquet column names. A nested value read as VARCHAR (a JSON object or array, a Parquet struct, map or
    list) is its JSON text, whatever the file kind (:func:`json_text`). A field asked for as a nested type (a STRUCT
    or a list) is read as such by the fast JSON reader; the record-by-record reader gives such a field as its JSON
    text (VARCHAR), pruned first by the ``project`` the format passes (see
    :func:`pipelines.ingest.formats.salvage.salvage_to_parquet`), and the format converts it.

    ``content`` is what :func:`pipelines.ingest.formats.content.inspect_content` found: a JSON file holding one
    array is read element by element; a refused file is one record whose ``parse_error`` is the refusal.

    The relation is lazy: DuckDB reads the file when it is consumed. When that fails as a whole, call again with
    ``salvage_dir``: the file is then read record by record (see :mod:`pipelines.ingest.formats.salvage`), quoted
    CSV fields bounded by ``csv_limits``, no record longer than ``max_record_bytes``.
    """
    kind = kind_of(suffix)
    json_array = content is not None and content.json_array

    def read(
        fields: list[str], types: dict[str, str] | None = None, project: salvage.Project | None = None
    ) -> duckdb.DuckDBPyRelation:
        wanted = {name: (types or {}).get(name, "VARCHAR") for name in fields}
        if content is not None and content.refusal is not None:
            return _refused(con, content.refusal, wanted)
        if salvage_dir is not None and kind != "parquet":
            salvaged = salvage.salvage_to_parquet(
                path,
                "json_array" if json_array else kind,
                fields,
                salvage_dir,
                csv_limits,
                max_record_bytes,
                project,
            )
            return _read_parquet(con, salvaged, wanted)
        if kind == "jsonl":
            return _read_jsonl(con, path, wanted, json_array)
        if kind == "csv":
            return _read_csv(con, path, wanted)
        return _read_parquet(con, path, wanted)

    return read


def _refused(con: duckdb.DuckDBPyConnection, reason: str, fields: dict[str, str]) -> duckdb.DuckDBPyRelation:
    """The one record standing for a file refused as a whole: record 1, its parse error the reason."""
    relation = con.sql(
        "SELECT CAST(1 AS BIGINT) AS source_line, CAST($reason AS VARCHAR) AS reason",
        params={"reason": reason},
    )
    return _select_fields(relation, fields, parse_error=duckdb.ColumnExpression("reason"))


def _read_jsonl(
    con: duckdb.DuckDBPyConnection, path: Path, fields: dict[str, str], json_array: bool = False
) -> duckdb.DuckDBPyRelation:
    columns = {name: ("VARCHAR" if sql_type == "DOUBLE" else sql_type) for name, sql_type in fields.items()}
    columns["__modeshift_parse_error"] = "VARCHAR"  # set by the salvage path only
    # With ignore_errors a malformed line still yields a row (all NULL): the count of records is kept. A malformed
    # JSON array fails as a whole (DuckDB ignores errors in JSON lines only) and goes to the salvage reader.
    relation = con.sql(
        "SELECT row_number() OVER () AS source_line, * FROM read_json($path, format = $format, "
        "ignore_errors = true, columns = $columns, maximum_object_size = $max_bytes)",
        params={
            "path": str(path),
            "format": "array" if json_array else "newline_delimited",
            "columns": columns,
            "max_bytes": MAX_RECORD_BYTES,
        },
    )
    reason = UNREADABLE_ARRAY_ELEMENT if json_array else UNPARSEABLE_JSON
    return _with_parse_error(con, relation, fields, all_null_reason=reason)


# The fast reader's CSV dialect (as in _read_csv), every column as text: for csv_field_spans.
_READ_CSV = (
    "SELECT * FROM read_csv($path, header = true, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
    "columns = $columns, max_line_size = $max_bytes, buffer_size = $max_bytes)"
)


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, fields: dict[str, str]) -> duckdb.DuckDBPyRelation:
    columns = {name: "VARCHAR" for name in csv_header(path)}
    relation = con.sql(
        "SELECT row_number() OVER () AS source_line, * FROM read_csv($path, header = true, auto_detect = false, "
        "delim = ',', quote = '\"', escape = '\"', columns = $columns, max_line_size = $max_bytes, "
        "buffer_size = $max_bytes)",
        params={"path": str(path), "columns": columns, "max_bytes": MAX_RECORD_BYTES},
    )
    return _select_fields(relation, fields, parse_error=duckdb.ConstantExpression(None).cast("VARCHAR"))


@dataclass(frozen=True)
class CsvFieldSpans:
    """Line breaks inside the fields of a CSV file as DuckDB's fast reader reads it."""

    inner_breaks: int
    max_field_breaks: int
    max_multiline_bytes: int


def csv_field_spans(path: Path) -> CsvFieldSpans:
    """How many line breaks DuckDB's CSV reader puts inside fields (in all, in one field) and the longest field
    that spans lines (bytes): a second read, made only when the records do not match the file's lines."""
    columns = {name: "VARCHAR" for name in csv_header(path)}
    with connect() as con:
        con.sql(
            _READ_CSV, params={"path": str(path), "columns": columns, "max_bytes": MAX_RECORD_BYTES}
        ).create_view("csv_records")
        row = con.sql(load_sql("ingest/csv_field_spans")).fetchall()[0]
    return CsvFieldSpans(*(int(value) for value in row))


def _read_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, fields: dict[str, str]
) -> duckdb.DuckDBPyRelation:
    relation = con.sql(
        "SELECT file_row_number + 1 AS source_line, * EXCLUDE (file_row_number) "
        "FROM read_parquet($path, file_row_number = true)",
        params={"path": str(path)},
    )
    parse_error = (
        duckdb.ColumnExpression("__modeshift_parse_error")
        if "__modeshift_parse_error" in relation.columns
        else duckdb.ConstantExpression(None).cast("VARCHAR")
    )
    return _select_fields(relation, fields, parse_error=parse_error)


def _select_fields(
    relation: duckdb.DuckDBPyRelation, fields: dict[str, str], parse_error: duckdb.Expression
) -> duckdb.DuckDBPyRelation:
    present = {column: str(dtype) for column, dtype in zip(relation.columns, relation.dtypes, strict=True)}
    expressions = [duckdb.ColumnExpression("source_line"), parse_error.alias("parse_error")]
    for name, sql_type in fields.items():
        if sql_type == TIMESTAMP_OR_TEXT:
            sql_type = present[name] if present.get(name) in NATIVE_TIMESTAMP_TYPES else "VARCHAR"
        if name in present:
            if sql_type == "DOUBLE" and present[name] in ("VARCHAR", "BOOLEAN"):
                sql_type = present[name]  # typed by the registry, which refuses booleans
            elif is_nested_type(sql_type.upper()) and present[name] == "VARCHAR":
                sql_type = "VARCHAR"  # JSON text from the record-by-record reader: the format converts it
            if sql_type == "VARCHAR" and is_nested_type(present[name]):
                expressions.append(json_text(duckdb.ColumnExpression(name)).alias(name))
                continue
            expressions.append(duckdb.ColumnExpression(name).try_cast(sql_type).alias(name))
        else:
            expressions.append(duckdb.ConstantExpression(None).cast(sql_type).alias(name))
    return relation.select(*expressions)


def is_nested_type(duckdb_type: str) -> bool:
    """True for a DuckDB column type that holds a nested value (STRUCT, MAP, UNION or a list/array): a Parquet
    column such as Langfuse's ``usage_details`` map or ``tags`` list."""
    return duckdb_type.startswith(("STRUCT", "MAP", "UNION")) or duckdb_type.endswith("]")


def json_text(column: duckdb.Expression) -> duckdb.Expression:
    """A nested value as JSON text (``{"input":500}``, ``["a","b"]``): the shape a JSON line or a CSV export
    gives the same field, so a format's SQL reads nested fields one way (DuckDB's own text form of a MAP,
    ``{input=500}``, is not JSON)."""
    return duckdb.FunctionExpression("to_json", column).cast("VARCHAR")


def _with_parse_error(
    con: duckdb.DuckDBPyConnection,
    relation: duckdb.DuckDBPyRelation,
    fields: dict[str, str],
    all_null_reason: str,
) -> duckdb.DuckDBPyRelation:
    """Mark records whose every field is NULL (DuckDB could not parse the line) with ``all_null_reason``."""
    all_null = duckdb.ConstantExpression(True)
    for name in fields:
        all_null = all_null & duckdb.ColumnExpression(name).isnull()
    salvaged = duckdb.ColumnExpression("__modeshift_parse_error")
    reason = (
        duckdb.CaseExpression(salvaged.isnotnull(), salvaged)
        .when(all_null, duckdb.ConstantExpression(all_null_reason))
        .otherwise(duckdb.ConstantExpression(None).cast("VARCHAR"))
    )
    return _select_fields(relation, fields, parse_error=reason)
