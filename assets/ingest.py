"""Ingest assets: a landed file parsed into day slices (one partition per file), then each UTC day merged.

Follow one request row: ``modeshift ingest`` lands the file → ``staged_file`` parses it (quarantining bad rows) →
``requests`` merges its day (dropping duplicate request_ids) and validates it with Great Expectations.
"""

from dagster import (
    AllPartitionMapping,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.table_metadata import request_table_metadata
from pipelines.core.text import markdown_table
from pipelines.ingest.day_merge import merge_day, recount_day, validation_frame
from pipelines.ingest.failures import stage_or_set_aside
from pipelines.ingest.landing import get_landed_file
from pipelines.ingest.usage_merge import merge_usage_day, recount_usage_day
from pipelines.ops.partitions import daily_partitions, landed_files_partitions
from pipelines.ops.resources import ModeshiftResource


@asset(
    partitions_def=landed_files_partitions,
    group_name="ingest",
    kinds={"duckdb", "parquet"},
    description="One landed file parsed into per-UTC-day Parquet slices; unreadable or invalid rows quarantined.",
    check_specs=[
        AssetCheckSpec(
            "quarantined_share",
            asset="staged_file",
            description="at most ingest.max_quarantined_share of the file's rows were quarantined at parse time "
            "(a warning: the file is staged all the same)",
        )
    ],
)
def staged_file(context: AssetExecutionContext, modeshift: ModeshiftResource) -> MaterializeResult:
    """Stage the landed file named by the partition key (a file that cannot be staged is set aside as failed)."""
    home = modeshift.step_home(context)
    landed = get_landed_file(home, context.partition_key)
    try:
        staged = stage_or_set_aside(home, modeshift.settings(), landed)
    finally:  # a failure record is shared state too: the file is set aside for every worker
        modeshift.commit(context)
    context.log.info(
        f"{landed.original_name}: {staged.rows_in:,} rows in, {staged.rows_staged:,} staged over "
        f"{len(staged.rows_by_day)} days, {staged.rows_quarantined:,} quarantined"
    )
    metadata = {
        "original_name": landed.original_name,
        "format": landed.format,
        "rows_in": staged.rows_in,
        "rows_staged": staged.rows_staged,
        "rows_quarantined": staged.rows_quarantined,
        "days": MetadataValue.json(staged.rows_by_day),
        "quarantine_reasons": MetadataValue.md(
            markdown_table(["reason", "rows"], list(staged.top_reasons.items()))
            if staged.top_reasons
            else "none"
        ),
    }
    if staged.note:
        metadata["note"] = staged.note
    limit = modeshift.settings().ingest.max_quarantined_share
    return MaterializeResult(
        metadata=metadata,
        check_results=[quarantined_share_check(staged.rows_quarantined, staged.rows_in, limit)],
    )


def quarantined_share_check(quarantined: int, rows_in: int, limit: float) -> AssetCheckResult:
    """The WARNING check ``quarantined_share``: passed when ``quarantined`` / ``rows_in`` (0 without rows) is at most
    ``limit`` (a fraction); the share, the counts and the limit go into its metadata."""
    share = quarantined / rows_in if rows_in else 0.0
    return AssetCheckResult(
        check_name="quarantined_share",
        passed=share <= limit,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "quarantined_share": MetadataValue.float(round(share, 6)),
            "rows_quarantined": quarantined,
            "rows_in": rows_in,
            "max_quarantined_share": MetadataValue.float(limit),
        },
    )


@asset(
    key="requests",
    partitions_def=daily_partitions,
    deps=[AssetDep(staged_file, partition_mapping=AllPartitionMapping())],
    group_name="ingest",
    kinds={"duckdb", "parquet"},
    description="The accepted requests of one UTC day (the request lake); duplicate request_ids quarantined. "
    "Also merges the day's aggregated usage buckets (lake/usage/day=D, see docs/metrics.md#aggregated-sources); "
    "duplicate buckets quarantined.",
    check_specs=[
        AssetCheckSpec(
            "rows_balance",
            asset="requests",
            blocking=True,
            description="rows in = rows accepted + rows quarantined, counted from the files (request rows, and "
            "usage buckets alike)",
        ),
        AssetCheckSpec(
            "great_expectations",
            asset="requests",
            blocking=True,
            description="schema, non-null keys, token counts, timestamps in the day, unique request_id",
        ),
        AssetCheckSpec(
            "quarantined_share",
            asset="requests",
            description="at most ingest.max_quarantined_share of the day's rows (request rows and usage buckets) "
            "were quarantined at the merge, as duplicates (a warning: the day is merged all the same)",
        ),
    ],
)
def requests(context: AssetExecutionContext, modeshift: ModeshiftResource) -> MaterializeResult:
    """Merge every staged slice of the partition's day into the request lake, then validate it."""
    home = modeshift.step_home(context)
    settings = modeshift.settings()
    day = context.partition_key
    merged = merge_day(home, day, settings.dedupe_window)
    usage = merge_usage_day(home, day)
    modeshift.commit(context)
    recount = recount_day(home, day)
    usage_recount = recount_usage_day(home, day)
    check_results = [
        AssetCheckResult(
            check_name="rows_balance",
            passed=recount.balanced
            and recount.staged_rows == merged.rows_in
            and usage_recount.balanced
            and usage_recount.staged == usage.rows_in,
            severity=AssetCheckSeverity.ERROR,
            metadata={
                "rows_in": recount.staged_rows,
                "rows_accepted": recount.accepted_rows,
                "rows_quarantined": recount.quarantined_rows,
                "usage_buckets_in": usage_recount.staged,
                "usage_buckets_accepted": usage_recount.accepted,
                "usage_buckets_quarantined": usage_recount.quarantined,
            },
        )
    ]
    if merged.inputs:
        frame, total, sampled = validation_frame(
            home, day, settings.ingest.gx_full_validation_max_rows, settings.ingest.gx_sample_rows
        )
        from pipelines.ingest.validation import validate_requests  # GX: imported only when a check runs

        summary = validate_requests(
            frame, daily_partitions.time_window_for_partition_key(day).start.date(), total, sampled
        )
        check_results.append(
            AssetCheckResult(
                check_name="great_expectations",
                passed=summary.success,
                severity=AssetCheckSeverity.ERROR,
                metadata={"validated": summary.scope, "failures": MetadataValue.json(summary.failures)},
            )
        )
    else:
        check_results.append(
            AssetCheckResult(
                check_name="great_expectations", passed=True, metadata={"validated": "no data that day"}
            )
        )
    check_results.append(
        quarantined_share_check(
            merged.quarantined + usage.quarantined,
            merged.rows_in + usage.rows_in,
            settings.ingest.max_quarantined_share,
        )
    )
    per_file = [
        [file_id, counts.rows_in, counts.accepted, counts.quarantined]
        for file_id, counts in merged.inputs.items()
    ]
    context.log.info(
        f"{day}: {merged.rows_in:,} rows in, {merged.accepted:,} accepted, {merged.quarantined:,} duplicates"
    )
    return MaterializeResult(
        metadata={
            **request_table_metadata(merged.accepted),
            "rows_in": merged.rows_in,
            "rows_accepted": merged.accepted,
            "rows_quarantined": merged.quarantined,
            "usage_buckets_in": usage.rows_in,
            "usage_buckets_accepted": usage.accepted,
            "usage_buckets_quarantined": usage.quarantined,
            "usage_requests": usage.requests,
            "files": MetadataValue.md(
                markdown_table(["file", "rows in", "accepted", "quarantined (duplicates)"], per_file)
                if per_file
                else "no data landed for this day (the day counts as missing)"
            ),
        },
        check_results=check_results,
    )
