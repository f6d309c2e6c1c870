-- BurstGPT (CSV) -> the raw rows every format produces (all text; typed later by normalize_rows.sql).
-- Input: relation `records` with source_line, parse_error and the BurstGPT columns by name (a column the file
-- lacks, such as "Elapsed time" in the older files, is NULL).
--   ts: "Timestamp" as written (seconds since the trace start; the anchor is added by normalize_rows.sql).
--   endpoint: slug of Model + '-' + slug of Log Type without its trailing 'log': 'chatgpt-conversation', 'gpt-4-api'.
--   ok: false when "Response tokens" is 0 (BurstGPT's mark of a failed request).
--   latency_ms: "Elapsed time" (seconds, end to end) x 1000; non-numeric text passes through to be quarantined.
--   interactive: true for 'Conversation log' (people chatting); NULL for 'API log' (no signal either way).
WITH fields AS (
    SELECT
        source_line,
        parse_error,
        "Timestamp" AS timestamp_text,
        nullif(trim("Model"), '') AS model_text,
        nullif(trim(regexp_replace(trim("Log Type"), '\s*log$', '', 'i')), '') AS log_kind,
        "Request tokens" AS request_tokens,
        "Response tokens" AS response_tokens,
        TRY_CAST(trim("Response tokens") AS DOUBLE) AS response_number,
        nullif(trim("Elapsed time"), '') AS elapsed_text,
        TRY_CAST(trim("Elapsed time") AS DOUBLE) AS elapsed_seconds,
        lower(trim("Log Type")) AS log_type
    FROM records
)
SELECT
    source_line,
    parse_error,
    CAST(NULL AS VARCHAR) AS request_id,
    timestamp_text AS ts,
    nullif(concat_ws('-',
        nullif(trim(regexp_replace(lower(model_text), '[^a-z0-9]+', '-', 'g'), '-'), ''),
        nullif(trim(regexp_replace(lower(log_kind), '[^a-z0-9]+', '-', 'g'), '-'), '')
    ), '') AS endpoint,
    model_text AS model,
    request_tokens AS input_tokens,
    response_tokens AS output_tokens,
    CAST(NULL AS VARCHAR) AS cached_input_tokens,
    CASE WHEN elapsed_seconds IS NOT NULL THEN CAST(elapsed_seconds * 1000 AS VARCHAR) ELSE elapsed_text END
        AS latency_ms,
    CAST(NULL AS VARCHAR) AS ttft_ms,
    CASE WHEN response_number = 0 THEN 'false' WHEN response_number > 0 THEN 'true' END AS ok,
    CAST(NULL AS VARCHAR) AS stream,
    CASE WHEN log_type = 'conversation log' THEN 'true' END AS interactive,
    CAST(NULL AS VARCHAR) AS client,
    CAST(NULL AS VARCHAR) AS api_key,
    CAST(NULL AS VARCHAR) AS deployment_mode,
    CAST(NULL AS VARCHAR) AS billed_cost_usd
FROM fields
