-- Merge the staged slices of one UTC day ($files: every staged Parquet file of that day, from every landed file).
-- The first copy of each request_id wins, in landing order then file then record number; later copies are
-- quarantined. Output column `kind` is 'accepted' or 'quarantine'; the other columns are those of a staged slice,
-- in the same order, so that a day with a single duplicate-free slice can use that slice as its lake file.
WITH staged AS (
    SELECT * EXCLUDE (quarantine_reason, raw)
    FROM read_parquet($files, union_by_name = true)
),
ranked AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY request_id ORDER BY landed_at_ns, source_file, source_line) AS copy_rank
    FROM staged
)
SELECT
    request_id, ts, endpoint, model, input_tokens, output_tokens, cached_input_tokens, latency_ms, ttft_ms, ok,
    stream, interactive, client, deployment_mode, billed_cost_usd, source_file, source_line, landed_at_ns,
    CASE WHEN copy_rank > 1 THEN 'duplicate request_id (an earlier copy was kept)' END AS quarantine_reason,
    CASE WHEN copy_rank > 1 THEN left(CAST(to_json({
        'request_id': request_id, 'ts': ts, 'endpoint': endpoint, 'model': model, 'input_tokens': input_tokens,
        'output_tokens': output_tokens
    }) AS VARCHAR), 1000) END AS raw,
    CASE WHEN copy_rank > 1 THEN 'quarantine' ELSE 'accepted' END AS kind
FROM ranked
