-- A request lake part with no rows (the lake's columns), for the rollup of a day whose only data is aggregated
-- usage: the request rollups then have their columns and no rows.
SELECT
    CAST(NULL AS VARCHAR) AS request_id, CAST(NULL AS TIMESTAMPTZ) AS ts, CAST(NULL AS VARCHAR) AS endpoint,
    CAST(NULL AS VARCHAR) AS model, CAST(NULL AS BIGINT) AS input_tokens, CAST(NULL AS BIGINT) AS output_tokens,
    CAST(NULL AS BIGINT) AS cached_input_tokens, CAST(NULL AS DOUBLE) AS latency_ms, CAST(NULL AS DOUBLE) AS ttft_ms,
    CAST(NULL AS BOOLEAN) AS ok, CAST(NULL AS BOOLEAN) AS stream, CAST(NULL AS BOOLEAN) AS interactive,
    CAST(NULL AS VARCHAR) AS client, CAST(NULL AS VARCHAR) AS deployment_mode, CAST(NULL AS DOUBLE) AS billed_cost_usd,
    CAST(NULL AS VARCHAR) AS source_file, CAST(NULL AS BIGINT) AS source_line
WHERE false
