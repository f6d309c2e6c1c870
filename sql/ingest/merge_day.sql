-- Merge the staged slices of one UTC day ($files: every staged Parquet file of that day, from every landed file).
-- The first copy of each request_id wins, in landing order then file then record number; later copies are
-- quarantined. Output column `kind` is 'accepted' or 'quarantine'; the other columns are those of a staged slice,
-- in the same order, so that a day with a single duplicate-free slice can use that slice as its lake file.
-- Speed: only the request_ids that occur more than once are ranked (usually none or few); every other row streams
-- through a join against that small set of losing copies instead of a window over the whole day. The files are
-- read once per use rather than through a shared CTE, which DuckDB would materialize whole.
WITH repeated_ids AS (
    SELECT request_id FROM read_parquet($files, union_by_name = true) GROUP BY request_id HAVING count(*) > 1
),
later_copies AS (
    SELECT source_file, source_line
    FROM (
        SELECT
            source_file,
            source_line,
            row_number() OVER (PARTITION BY request_id ORDER BY landed_at_ns, source_file, source_line) AS copy_rank
        FROM read_parquet($files, union_by_name = true) SEMI JOIN repeated_ids USING (request_id)
    )
    WHERE copy_rank > 1
),
judged AS (
    SELECT staged.* EXCLUDE (quarantine_reason, raw), later.source_line IS NOT NULL AS is_later_copy
    FROM read_parquet($files, union_by_name = true) AS staged
    LEFT JOIN later_copies AS later
        ON staged.source_file = later.source_file AND staged.source_line = later.source_line
)
SELECT
    request_id, ts, endpoint, model, input_tokens, output_tokens, cached_input_tokens, latency_ms, ttft_ms, ok,
    stream, interactive, client, deployment_mode, billed_cost_usd, source_file, source_line, landed_at_ns,
    CASE WHEN is_later_copy THEN 'duplicate request_id (an earlier copy was kept)' END AS quarantine_reason,
    CASE WHEN is_later_copy THEN left(CAST(to_json({
        'request_id': request_id, 'ts': ts, 'endpoint': endpoint, 'model': model, 'input_tokens': input_tokens,
        'output_tokens': output_tokens
    }) AS VARCHAR), 1000) END AS raw,
    CASE WHEN is_later_copy THEN 'quarantine' ELSE 'accepted' END AS kind
FROM judged
