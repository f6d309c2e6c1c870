"""One request schema (pipelines/core/schema.py): the SQL that creates empty tables, the lake files staging and
the day merge write, the raw readers, the validation suite and the demo generator all follow it."""

from __future__ import annotations

import duckdb

from pipelines.core.home import Home
from pipelines.core.schema import (
    LAKE_COLUMNS,
    PROVENANCE_COLUMNS,
    RAW_COLUMNS,
    REQUEST_COLUMNS,
    REQUEST_RECORD,
    REQUIRED_COLUMNS,
)
from pipelines.core.sql_loader import load_sql
from pipelines.demo_data.generator import ROW_KEYS
from pipelines.ingest.formats.records import RAW_TYPES
from pipelines.ingest.validation import LAKE_COLUMNS as VALIDATED_COLUMNS

LAKE_TYPES = [(column.name, column.lake_type) for column in REQUEST_RECORD + PROVENANCE_COLUMNS]


def _described(relation: duckdb.DuckDBPyRelation) -> list[tuple[str, str]]:
    return [(name, str(kind)) for name, kind in zip(relation.columns, relation.types, strict=True)]


def test_the_empty_requests_view_has_the_schemas_columns_and_types() -> None:
    con = duckdb.connect()
    con.execute(load_sql("warehouse/create_requests_empty"))
    described = _described(con.sql("SELECT * FROM requests"))
    request_part = [(name, kind) for name, kind in described if name in REQUEST_COLUMNS]
    assert request_part == [(c.name, c.lake_type) for c in REQUEST_RECORD]
    assert [name for name, _ in described if name in LAKE_COLUMNS] == list(LAKE_COLUMNS)


def test_the_lake_files_written_by_the_pipeline_follow_the_schema(built_home: Home) -> None:
    day_files = sorted(str(p) for p in built_home.requests.glob("day=*/*.parquet"))
    assert day_files
    con = duckdb.connect()
    assert _described(con.read_parquet(day_files[0]))[: len(LAKE_TYPES)] == LAKE_TYPES
    staged = sorted(str(p) for p in built_home.staged.glob("*/day=2*/*.parquet"))
    assert staged
    assert _described(con.read_parquet(staged[0]))[: len(LAKE_TYPES)] == LAKE_TYPES


def test_readers_validation_and_the_demo_generator_use_the_same_columns() -> None:
    assert list(RAW_TYPES) == list(RAW_COLUMNS)
    assert [name for name in RAW_COLUMNS if name in REQUEST_COLUMNS] == list(REQUEST_COLUMNS)
    assert VALIDATED_COLUMNS == LAKE_COLUMNS
    assert ROW_KEYS[: len(REQUEST_COLUMNS)] == REQUEST_COLUMNS
    assert set(REQUIRED_COLUMNS) <= set(REQUEST_COLUMNS)
    assert {RAW_TYPES[name] for name in ("input_tokens", "latency_ms", "billed_cost_usd")} == {"DOUBLE"}
    assert RAW_TYPES["endpoint"] == RAW_TYPES["api_key"] == "VARCHAR"
