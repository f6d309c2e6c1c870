-- modeshift calibrate: every endpoint in the request lake ($files: its day files) with its requests and the share
-- served on dedicated replicas, so endpoints without dedicated traffic can be listed with why.
SELECT
    endpoint,
    count(*) AS requests,
    count(*) FILTER (WHERE deployment_mode = 'dedicated') AS dedicated_requests
FROM read_parquet($files, union_by_name = true, hive_partitioning = false)
GROUP BY endpoint
ORDER BY endpoint
