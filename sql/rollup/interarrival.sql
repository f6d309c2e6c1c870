-- Daily rollup of arrivals: per endpoint, the number of requests of the UTC day $day ($files: its lake file), the
-- count, sum and sum of squares of the gaps between consecutive arrivals inside the day (seconds), and the first
-- and last arrival (the weekly step stitches the gaps across midnight). All requests count, failed ones included.
-- Speed: each endpoint's arrivals are gathered as one sorted list (an ordered aggregate on a single group key is
-- much cheaper than a window over the endpoint partitions); the gaps are the differences of neighbours in it.
WITH arrivals AS (
    SELECT
        endpoint,
        count(*) AS n_requests,
        list(arrival_us ORDER BY arrival_us) FILTER (WHERE arrival_us IS NOT NULL) AS us
    FROM (SELECT endpoint, epoch_us(ts) AS arrival_us FROM read_parquet($files))
    GROUP BY endpoint
),
gaps AS (
    SELECT
        *,
        list_transform(us[2:len(us)], lambda t, i: (t - us[i]) / 1e6) AS gap_s
    FROM arrivals
)
SELECT
    endpoint,
    CAST($day AS DATE) AS day,
    n_requests,
    len(gap_s) AS n_intervals,
    coalesce(list_sum(gap_s), 0) AS sum_tau_s,
    coalesce(list_dot_product(gap_s, gap_s), 0) AS sum_tau2_s2,
    make_timestamptz(us[1]) AS first_ts,
    make_timestamptz(us[len(us)]) AS last_ts
FROM gaps
