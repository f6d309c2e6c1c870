-- Merge the staged slices of one UTC day ($day; $files: every staged Parquet file of that day, from every landed
-- file) against the copies of its request_ids on the days of its dedupe window (see DedupeWindow). The copies come
-- from the census of the day's dedupe region ($census, see dedupe_census.sql: every copy of each request_id that
-- repeats in the region), restricted to the window's staged slices ($slices: 'file_id/day' of the day's own slices
-- and of those of its window that can decide its duplicates). Among the copies of a request_id in the window, the
-- first in landing order, then file, then record number is kept; the day's later copies are quarantined, their
-- reason naming the day of the first copy. Output column `kind` is 'accepted' or 'quarantine'; the other columns
-- are those of a staged slice, in the same order, so that a day with a single duplicate-free slice can use that
-- slice as its lake file.
-- Speed: only the census (usually empty or small) is ranked; every row of the day streams through a join against
-- the small set of losing copies instead of a window over the whole day.
WITH copies AS (
    SELECT request_id, source_file, source_line, landed_at_ns, day
    FROM read_parquet($census)
    WHERE list_contains($slices, source_file || '/' || day)
),
repeated_ids AS (
    SELECT request_id FROM copies GROUP BY request_id HAVING count(*) > 1 AND bool_or(day = $day)
),
ranked AS (
    SELECT
        source_file,
        source_line,
        day,
        row_number() OVER same_id AS copy_rank,
        first_value(day) OVER same_id AS first_day
    FROM copies
    SEMI JOIN repeated_ids USING (request_id)
    WINDOW same_id AS (PARTITION BY request_id ORDER BY landed_at_ns, source_file, source_line)
),
later_copies AS (
    SELECT source_file, source_line, first_day FROM ranked WHERE copy_rank > 1 AND day = $day
),
judged AS (
    SELECT
        staged.* EXCLUDE (quarantine_reason, raw),
        later.source_line IS NOT NULL AS is_later_copy,
        later.first_day
    FROM read_parquet($files, union_by_name = true, hive_partitioning = false) AS staged
    LEFT JOIN later_copies AS later
        ON staged.source_file = later.source_file AND staged.source_line = later.source_line
)
SELECT
    request_id, ts, endpoint, model, input_tokens, output_tokens, cached_input_tokens, latency_ms, ttft_ms, ok,
    stream, interactive, client, deployment_mode, billed_cost_usd, source_file, source_line, landed_at_ns,
    CASE WHEN is_later_copy THEN 'duplicate request_id (the first copy, on ' || first_day || ', was kept)' END
        AS quarantine_reason,
    CASE WHEN is_later_copy THEN left(CAST(to_json({
        'request_id': request_id, 'ts': ts, 'endpoint': endpoint, 'model': model, 'input_tokens': input_tokens,
        'output_tokens': output_tokens
    }) AS VARCHAR), 1000) END AS raw,
    CASE WHEN is_later_copy THEN 'quarantine' ELSE 'accepted' END AS kind
FROM judged
