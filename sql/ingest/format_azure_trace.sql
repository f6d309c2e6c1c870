-- Azure LLM inference trace (CSV, 2023 and 2024 releases) -> the raw rows every format produces (all text; typed
-- later by normalize_rows.sql). Input: relation `records` with source_line, parse_error, TIMESTAMP, ContextTokens,
-- GeneratedTokens. TIMESTAMP is passed on as written: ISO text, no zone (2023) meaning UTC, or +00:00 (2024);
-- DuckDB keeps microseconds and drops a seventh fractional digit. The trace has no request id (derived later from
-- file and line), no latency, no status. Endpoint and model come from the file's options: endpoint via
-- normalize_rows.sql's override, model set by the adapter after this query.
SELECT
    source_line,
    parse_error,
    CAST(NULL AS VARCHAR) AS request_id,
    "TIMESTAMP" AS ts,
    CAST(NULL AS VARCHAR) AS endpoint,
    CAST(NULL AS VARCHAR) AS model,
    "ContextTokens" AS input_tokens,
    "GeneratedTokens" AS output_tokens,
    CAST(NULL AS VARCHAR) AS cached_input_tokens,
    CAST(NULL AS VARCHAR) AS latency_ms,
    CAST(NULL AS VARCHAR) AS ttft_ms,
    CAST(NULL AS VARCHAR) AS ok,
    CAST(NULL AS VARCHAR) AS stream,
    CAST(NULL AS VARCHAR) AS interactive,
    CAST(NULL AS VARCHAR) AS client,
    CAST(NULL AS VARCHAR) AS api_key,
    CAST(NULL AS VARCHAR) AS deployment_mode,
    CAST(NULL AS VARCHAR) AS billed_cost_usd
FROM records
