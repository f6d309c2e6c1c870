-- An empty lake part with the lake's columns, for a day where every row went the other way ($files: staged slices).
SELECT
    request_id, ts, endpoint, model, input_tokens, output_tokens, cached_input_tokens, latency_ms, ttft_ms, ok,
    stream, interactive, client, deployment_mode, billed_cost_usd, source_file, source_line, landed_at_ns,
    CAST(NULL AS VARCHAR) AS quarantine_reason,
    CAST(NULL AS VARCHAR) AS raw
FROM read_parquet($files, union_by_name = true)
LIMIT 0
