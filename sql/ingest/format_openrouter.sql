-- OpenRouter generation records (the `data` object of GET /api/v1/generation, one per JSON line or in a JSON array;
-- a whole response {"data": {...}} is read too) -> the raw rows every format produces (all text; typed later by
-- normalize_rows.sql). Input: relation `records` with source_line, parse_error, the fields of
-- pipelines/ingest/formats/openrouter.py as text and `data` as JSON object text or NULL
-- (pipelines/ingest/formats/nested.py). A top-level field wins over the same field inside `data`.
--   input_tokens / output_tokens: native_tokens_prompt / native_tokens_completion (the provider's own tokenizer:
--   what it billed and what its model processed), else tokens_prompt / tokens_completion (OpenRouter's normalized
--   count) when the native count is missing. cached_input_tokens: native_tokens_cached (part of the native prompt
--   count), only when the input is the native count.
--   latency_ms = generation_time; ttft_ms = latency (milliseconds: the time until the first token, which is why it is
--   below generation_time) for a streamed generation, when it is not above generation_time; else NULL.
--   stream: streamed. ok: finish_reason 'error' -> false, else true when a finish reason is given, else NULL;
--   a cancelled generation was still run and billed, so it stays ok (cancelled is not read).
--   endpoint: 'app-<app_id>:<model>' when the generation is attributed to an app, else the model (--endpoint
--   overrides every row). billed_cost_usd: total_cost (USD; OpenRouter credits are dollars), else usage.
--   external_user (the caller's `user` field) goes to api_key: normalize_rows.sql keeps only its salted hash.
WITH fields AS (
    SELECT
        source_line,
        parse_error,
        nullif(trim(coalesce(id, json_extract_string(data, '$.id'))), '') AS id_text,
        nullif(trim(coalesce(created_at, json_extract_string(data, '$.created_at'))), '') AS start_text,
        nullif(trim(coalesce(model, json_extract_string(data, '$.model'))), '') AS model_text,
        nullif(trim(coalesce(native_tokens_prompt, json_extract_string(data, '$.native_tokens_prompt'))), '')
            AS native_prompt,
        nullif(trim(coalesce(native_tokens_completion, json_extract_string(data, '$.native_tokens_completion'))), '')
            AS native_completion,
        nullif(trim(coalesce(native_tokens_cached, json_extract_string(data, '$.native_tokens_cached'))), '')
            AS native_cached,
        nullif(trim(coalesce(tokens_prompt, json_extract_string(data, '$.tokens_prompt'))), '') AS tokens_prompt_text,
        nullif(trim(coalesce(tokens_completion, json_extract_string(data, '$.tokens_completion'))), '')
            AS tokens_completion_text,
        TRY_CAST(coalesce(latency, json_extract_string(data, '$.latency')) AS DOUBLE) AS first_token_ms,
        nullif(trim(coalesce(generation_time, json_extract_string(data, '$.generation_time'))), '')
            AS generation_text,
        lower(nullif(trim(coalesce(streamed, json_extract_string(data, '$.streamed'))), '')) AS streamed_text,
        nullif(trim(coalesce(total_cost, json_extract_string(data, '$.total_cost'))), '') AS total_cost_text,
        nullif(trim(coalesce(usage, json_extract_string(data, '$.usage'))), '') AS usage_cost_text,
        lower(nullif(trim(coalesce(finish_reason, json_extract_string(data, '$.finish_reason'))), '')) AS finish_text,
        nullif(trim(coalesce(app_id, json_extract_string(data, '$.app_id'))), '') AS app_text,
        nullif(trim(coalesce(external_user, json_extract_string(data, '$.external_user'))), '') AS user_text
    FROM records
)
SELECT
    source_line,
    parse_error,
    id_text AS request_id,
    start_text AS ts,
    CASE WHEN app_text IS NOT NULL THEN 'app-' || app_text || ':' || model_text ELSE model_text END AS endpoint,
    model_text AS model,
    coalesce(native_prompt, tokens_prompt_text) AS input_tokens,
    coalesce(native_completion, tokens_completion_text) AS output_tokens,
    CASE WHEN native_prompt IS NOT NULL THEN native_cached END AS cached_input_tokens,
    generation_text AS latency_ms,
    CASE
        WHEN streamed_text = 'true' AND first_token_ms >= 0
            AND (TRY_CAST(generation_text AS DOUBLE) IS NULL OR first_token_ms <= TRY_CAST(generation_text AS DOUBLE))
            THEN CAST(first_token_ms AS VARCHAR)
    END AS ttft_ms,
    CASE WHEN finish_text IS NULL THEN NULL WHEN finish_text = 'error' THEN 'false' ELSE 'true' END AS ok,
    streamed_text AS stream,
    CAST(NULL AS VARCHAR) AS interactive,
    CAST(NULL AS VARCHAR) AS client,
    user_text AS api_key,
    CAST(NULL AS VARCHAR) AS deployment_mode,
    coalesce(total_cost_text, usage_cost_text) AS billed_cost_usd
FROM fields
