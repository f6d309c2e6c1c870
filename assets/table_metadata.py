"""The table metadata the Dagster UI shows on an asset: its row count and column schema (``dagster/row_count``,
``dagster/column_schema``), from the frame the asset wrote or from the lake's column list."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl
from dagster import MetadataValue, TableColumn, TableSchema

from pipelines.core.schema import REQUEST_RECORD

ROW_COUNT = "dagster/row_count"
COLUMN_SCHEMA = "dagster/column_schema"


def column_schema(columns: Iterable[tuple[str, str]]) -> TableSchema:
    """The Dagster table schema of ``(name, type)`` pairs."""
    return TableSchema(columns=[TableColumn(name=name, type=type_) for name, type_ in columns])


def frame_metadata(frame: pl.DataFrame) -> dict[str, MetadataValue]:
    """Row count and column schema (Polars types) of a table an asset wrote."""
    return {
        ROW_COUNT: MetadataValue.int(frame.height),
        COLUMN_SCHEMA: MetadataValue.table_schema(
            column_schema((name, str(dtype)) for name, dtype in frame.schema.items())
        ),
    }


def request_table_metadata(rows: int) -> dict[str, MetadataValue]:
    """Row count and column schema (DuckDB types of the request record) of one day of the request lake."""
    return {
        ROW_COUNT: MetadataValue.int(rows),
        COLUMN_SCHEMA: MetadataValue.table_schema(
            column_schema((column.name, column.lake_type) for column in REQUEST_RECORD)
        ),
    }
