-- Type and validate the raw rows of one landed file (view raw_rows: numbers as DOUBLE, the rest as text; ts_native
-- holds the instants of a Parquet timestamp column read as such, and ts is then NULL).
-- One output row per input row: the typed request, the reason it is quarantined (NULL when accepted), a short
-- copy of its raw fields for quarantined rows (API key redacted; text fields are never read), and its UTC day
-- ('quarantine' for refused rows). Parameters:
--   $file_id VARCHAR, $content_id VARCHAR (hex digest of the decompressed content: a record without a request_id
--   gets the id content_id:record number, the same for the file plain and gzipped), $landed_at_ns BIGINT, $ts_unit VARCHAR ('iso'|'s'|'ms'|'us'), $anchor_us BIGINT or NULL,
--   $endpoint_override VARCHAR or NULL, $salt VARCHAR, $min_ts_us BIGINT, $max_ts_us BIGINT, $max_name_length BIGINT
-- Every accepted row's day is a real date between $min_ts_us and $max_ts_us (staging checks it again: days are
-- partition keys).
WITH cleaned AS (
    SELECT
        source_line,
        parse_error,
        nullif(trim(request_id), '') AS request_id_text,
        nullif(trim(ts), '') AS ts_text,
        ts_native,
        -- epoch timestamps: microseconds since 1970 (or since the anchor); NULL for ISO-8601 text
        CASE WHEN $ts_unit <> 'iso' OR CAST($anchor_us AS BIGINT) IS NOT NULL THEN
            coalesce(CAST($anchor_us AS BIGINT), 0) + TRY_CAST(nullif(trim(ts), '') AS DOUBLE)
                * CASE $ts_unit WHEN 's' THEN 1e6 WHEN 'ms' THEN 1e3 WHEN 'us' THEN 1 ELSE 1e6 END
        END AS ts_offset_us,
        nullif(trim(coalesce(CAST($endpoint_override AS VARCHAR), endpoint)), '') AS endpoint_text,
        nullif(trim(model), '') AS model_text,
        input_tokens AS input_number,
        output_tokens AS output_number,
        cached_input_tokens AS cached_number,
        latency_ms AS latency_number,
        ttft_ms AS ttft_number,
        billed_cost_usd AS billed_number,
        nullif(lower(trim(ok)), '') AS ok_text,
        nullif(lower(trim(stream)), '') AS stream_text,
        nullif(lower(trim(interactive)), '') AS interactive_text,
        nullif(trim(client), '') AS client_text,
        nullif(trim(api_key), '') AS api_key_text,
        nullif(lower(trim(deployment_mode)), '') AS mode_text
    FROM raw_rows
),
typed AS (
    SELECT
        *,
        CASE
            WHEN ts_native IS NOT NULL THEN ts_native
            WHEN ts_text IS NULL THEN NULL
            WHEN $ts_unit = 'iso' AND CAST($anchor_us AS BIGINT) IS NULL THEN TRY_CAST(ts_text AS TIMESTAMPTZ)
            -- a plain expression, not a scalar subquery: DuckDB would decorrelate one into a join over every row
            WHEN ts_offset_us BETWEEN -1e17 AND 1e17 THEN make_timestamptz(CAST(ts_offset_us AS BIGINT))
        END AS ts_value,
        TRY_CAST(ok_text AS BOOLEAN) AS ok_value,
        TRY_CAST(stream_text AS BOOLEAN) AS stream_value,
        TRY_CAST(interactive_text AS BOOLEAN) AS interactive_value
    FROM cleaned
),
judged AS (
    SELECT
        *,
        CASE
            WHEN parse_error IS NOT NULL THEN parse_error
            WHEN ts_text IS NULL AND ts_native IS NULL THEN 'missing timestamp'
            WHEN ts_value IS NULL THEN 'unreadable timestamp ''' || left(ts_text, 40) || ''' (expected '
                || CASE WHEN $ts_unit = 'iso' AND CAST($anchor_us AS BIGINT) IS NULL THEN 'ISO-8601 text'
                        ELSE 'a number of ' || $ts_unit || CASE WHEN CAST($anchor_us AS BIGINT) IS NULL
                            THEN ' since 1970' ELSE ' since the anchor' END END || ')'
            -- 'infinity' / '-infinity' cast to TIMESTAMPTZ without error, but are no instant and no UTC day
            WHEN NOT isfinite(ts_value) OR epoch_us(ts_value) IS NULL THEN 'timestamp '''
                || left(coalesce(ts_text, CAST(ts_native AS VARCHAR)), 40)
                || ''' is not a finite time'
            WHEN epoch_us(ts_value) < $min_ts_us THEN 'timestamp ' || CAST(ts_value AS VARCHAR)
                || ' is before the configured start date'
            WHEN epoch_us(ts_value) > $max_ts_us THEN 'timestamp ' || CAST(ts_value AS VARCHAR)
                || ' is in the future (after the file landed)'
            WHEN endpoint_text IS NULL THEN 'missing endpoint'
            WHEN length(endpoint_text) > $max_name_length THEN 'endpoint name is too long'
            WHEN regexp_matches(endpoint_text, '[\x00-\x1f\x7f]') THEN 'endpoint name contains control characters'
            WHEN model_text IS NULL THEN 'missing model'
            WHEN length(model_text) > $max_name_length THEN 'model name is too long'
            WHEN regexp_matches(model_text, '[\x00-\x1f\x7f]') THEN 'model name contains control characters'
            WHEN input_number IS NULL THEN 'input_tokens is missing or not a number'
            WHEN input_number <> floor(input_number) OR input_number < 0 OR input_number >= 1e12
                THEN 'input_tokens ' || CAST(input_number AS VARCHAR) || ' is not a non-negative integer below 10^12'
            WHEN output_number IS NULL THEN 'output_tokens is missing or not a number'
            WHEN output_number <> floor(output_number) OR output_number < 0 OR output_number >= 1e12
                THEN 'output_tokens ' || CAST(output_number AS VARCHAR) || ' is not a non-negative integer below 10^12'
            WHEN cached_number <> floor(cached_number) OR cached_number < 0 OR cached_number >= 1e12
                THEN 'cached_input_tokens ' || CAST(cached_number AS VARCHAR)
                    || ' is not a non-negative integer below 10^12'
            -- cached input tokens are the part of the input served from the prompt cache (docs/metrics.md)
            WHEN cached_number > input_number
                THEN 'cached_input_tokens ' || CAST(CAST(cached_number AS BIGINT) AS VARCHAR)
                    || ' exceeds input_tokens ' || CAST(CAST(input_number AS BIGINT) AS VARCHAR)
                    || ' (cached tokens are part of the input)'
            WHEN latency_number < 0 OR isnan(latency_number) OR isinf(latency_number)
                THEN 'latency_ms ' || CAST(latency_number AS VARCHAR) || ' is not a non-negative number'
            WHEN ttft_number < 0 OR isnan(ttft_number) OR isinf(ttft_number)
                THEN 'ttft_ms ' || CAST(ttft_number AS VARCHAR) || ' is not a non-negative number'
            WHEN ok_text IS NOT NULL AND ok_value IS NULL THEN 'ok ''' || left(ok_text, 40) || ''' is not a boolean'
            WHEN mode_text IS NOT NULL AND mode_text NOT IN ('serverless', 'dedicated', 'batch')
                THEN 'deployment_mode ''' || left(mode_text, 40) || ''' is not serverless, dedicated or batch'
            WHEN isnan(billed_number) OR isinf(billed_number)
                THEN 'billed_cost_usd ' || CAST(billed_number AS VARCHAR) || ' is not a finite number'
            WHEN client_text IS NOT NULL AND length(client_text) > $max_name_length THEN 'client name is too long'
        END AS quarantine_reason
    FROM typed
)
SELECT
    coalesce(request_id_text, $content_id || ':' || CAST(source_line AS VARCHAR)) AS request_id,
    ts_value AS ts,
    endpoint_text AS endpoint,
    model_text AS model,
    TRY_CAST(input_number AS BIGINT) AS input_tokens,
    TRY_CAST(output_number AS BIGINT) AS output_tokens,
    TRY_CAST(cached_number AS BIGINT) AS cached_input_tokens,
    latency_number AS latency_ms,
    ttft_number AS ttft_ms,
    coalesce(ok_value, true) AS ok,
    stream_value AS stream,
    interactive_value AS interactive,
    coalesce(client_text, 'key-' || left(sha256($salt || api_key_text), 16)) AS client,
    coalesce(mode_text, 'serverless') AS deployment_mode,
    billed_number AS billed_cost_usd,
    $file_id AS source_file,
    source_line,
    CAST($landed_at_ns AS BIGINT) AS landed_at_ns,
    quarantine_reason,
    CASE WHEN quarantine_reason IS NOT NULL THEN left(CAST(to_json({
        'request_id': request_id_text, 'ts': coalesce(ts_text, CAST(ts_native AS VARCHAR)),
        'endpoint': endpoint_text, 'model': model_text,
        'input_tokens': input_number, 'output_tokens': output_number, 'cached_input_tokens': cached_number,
        'latency_ms': latency_number, 'ttft_ms': ttft_number, 'ok': ok_text, 'stream': stream_text,
        'interactive': interactive_text, 'client': client_text,
        'api_key': CASE WHEN api_key_text IS NOT NULL THEN '<redacted>' END,
        'deployment_mode': mode_text, 'billed_cost_usd': billed_number
    }) AS VARCHAR), 1000) END AS raw,
    -- the UTC day from whole days since 1970 (an accepted time is after the start date, so positive): the same date as
    -- CAST(ts_value AS DATE) in UTC without the time zone library, row by row
    CASE WHEN quarantine_reason IS NULL THEN CAST(DATE '1970-01-01' + CAST(epoch_us(ts_value) // 86400000000 AS INTEGER)
        AS VARCHAR) ELSE 'quarantine' END AS day
FROM judged
