"""Great Expectations validation of one day of the request lake.

GX is imported inside :func:`validate_requests` only (its import takes seconds). Partitions up to
``ingest.gx_full_validation_max_rows`` rows are validated whole; bigger ones on a deterministic sample (rows whose
request_id hashes to 0 modulo k), and the result says so. The accounting identity is always checked on every row,
separately, by :func:`pipelines.ingest.day_merge.recount_day`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from pipelines.core.schema import LAKE_COLUMNS, REQUIRED_COLUMNS, TOKEN_COLUMNS

_NOT_NULL = REQUIRED_COLUMNS
_TOKENS = TOKEN_COLUMNS


@dataclass
class ValidationSummary:
    """What GX found: overall success, how many rows it looked at, and the failed expectations."""

    success: bool
    rows_validated: int
    rows_total: int
    sampled: bool
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def scope(self) -> str:
        """'every row' or a description of the sample."""
        if not self.sampled:
            return f"every row ({self.rows_total:,})"
        return f"deterministic sample of {self.rows_validated:,} of {self.rows_total:,} rows (hash of request_id)"


def _suite(day: date):  # noqa: ANN202 - GX types are imported lazily
    import great_expectations as gx

    expectations = gx.expectations
    start = pd.Timestamp(datetime.combine(day, datetime.min.time(), tzinfo=UTC))
    end = start + timedelta(days=1)
    suite = gx.ExpectationSuite(name=f"requests_{day.isoformat()}")
    suite.add_expectation(
        expectations.ExpectTableColumnsToMatchSet(column_set=list(LAKE_COLUMNS), exact_match=True)
    )
    for column in _NOT_NULL:
        suite.add_expectation(expectations.ExpectColumnValuesToNotBeNull(column=column))
    for column in _TOKENS:
        suite.add_expectation(expectations.ExpectColumnValuesToBeBetween(column=column, min_value=0))
    # GX 1.24 misreads pandas' nullable Int64 in type checks, so the integer type is checked on the required
    # (never null, plain int64) token columns; cached_input_tokens is BIGINT in the lake's Parquet schema.
    for column in ("input_tokens", "output_tokens"):
        suite.add_expectation(
            expectations.ExpectColumnValuesToBeInTypeList(column=column, type_list=["int64"])
        )
    suite.add_expectation(
        expectations.ExpectColumnValuesToBeBetween(
            column="ts", min_value=start, max_value=end, strict_max=True
        )
    )
    suite.add_expectation(expectations.ExpectColumnValuesToBeUnique(column="request_id"))
    suite.add_expectation(
        expectations.ExpectColumnValuesToBeInSet(
            column="deployment_mode", value_set=["serverless", "dedicated", "batch"]
        )
    )
    return suite


def validate_requests(frame: pd.DataFrame, day: date, rows_total: int, sampled: bool) -> ValidationSummary:
    """Validate one day's requests (a pandas frame of the lake columns) with Great Expectations 1.x.

    Checks: exact schema, non-null keys, integer non-negative token counts, timestamps inside the UTC day,
    unique request_id, known deployment modes.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    batch_definition = (
        context.data_sources.add_pandas("lake")
        .add_dataframe_asset("requests")
        .add_batch_definition_whole_dataframe("day")
    )
    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(_suite(day))
    failures = {}
    for outcome in result.results:
        if not outcome.success:
            config = outcome.expectation_config
            column = config.kwargs.get("column", "table")
            unexpected = outcome.result.get("unexpected_count")
            detail = f"{unexpected} unexpected rows" if unexpected is not None else "failed"
            failures[f"{config.type}({column})"] = detail
    return ValidationSummary(
        success=bool(result.success),
        rows_validated=len(frame),
        rows_total=rows_total,
        sampled=sampled,
        failures=failures,
    )
