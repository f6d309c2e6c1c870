-- Totals of one day's minute rollup ($file), for run metadata.
SELECT
    count(DISTINCT endpoint) AS endpoints,
    count(*) AS minute_rows,
    sum(requests) AS requests,
    sum(list_cost_usd) AS list_cost_usd,
    sum(unpriced_requests) AS unpriced_requests
FROM read_parquet($file)
