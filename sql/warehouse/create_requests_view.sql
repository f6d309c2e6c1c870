-- The request lake as one view: the request record (see docs/metrics.md#the-request-record) plus source =
-- file:record. $requests_glob is replaced by the quoted lake path (views cannot take bound parameters).
CREATE OR REPLACE VIEW requests AS
SELECT
    request_id, ts, endpoint, model, input_tokens, output_tokens, cached_input_tokens, latency_ms, ttft_ms, ok,
    stream, interactive, client, deployment_mode, billed_cost_usd,
    source_file || ':' || CAST(source_line AS VARCHAR) AS source,
    source_file, source_line,
    CAST(day AS DATE) AS day
FROM read_parquet($requests_glob, hive_partitioning = true, hive_types_autocast = false, union_by_name = true)
