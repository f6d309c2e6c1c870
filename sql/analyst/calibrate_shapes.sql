-- modeshift calibrate: per endpoint and model, the requests served on dedicated replicas in the request lake
-- ($files: its day files): how many, the median input and output tokens per request (the shape the card's
-- capacity is read for), and the time of the last one (the week whose rate-card terms are compared).
SELECT
    endpoint,
    model,
    count(*) AS requests,
    quantile_cont(input_tokens, 0.5) AS input_tokens_p50,
    quantile_cont(output_tokens, 0.5) AS output_tokens_p50,
    max(ts) AS last_ts
FROM read_parquet($files, union_by_name = true, hive_partitioning = false)
WHERE deployment_mode = 'dedicated'
GROUP BY endpoint, model
ORDER BY endpoint, model
