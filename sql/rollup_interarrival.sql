-- Daily rollup of arrivals: per endpoint, the number of requests of the UTC day $day ($files: its lake file), the
-- count, sum and sum of squares of the gaps between consecutive arrivals inside the day (seconds), and the first
-- and last arrival (the weekly step stitches the gaps across midnight). All requests count, failed ones included.
WITH gaps AS (
    SELECT
        endpoint,
        ts,
        (epoch_us(ts) - lag(epoch_us(ts)) OVER (PARTITION BY endpoint ORDER BY ts, request_id)) / 1e6 AS gap_s
    FROM read_parquet($files)
)
SELECT
    endpoint,
    CAST($day AS DATE) AS day,
    count(*) AS n_requests,
    count(gap_s) AS n_intervals,
    coalesce(sum(gap_s), 0) AS sum_tau_s,
    coalesce(sum(gap_s * gap_s), 0) AS sum_tau2_s2,
    min(ts) AS first_ts,
    max(ts) AS last_ts
FROM gaps
GROUP BY endpoint
