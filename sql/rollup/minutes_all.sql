-- The day's minute rollup: the request minutes (view request_minutes, the rows of minutes.sql) and the aggregated
-- usage minutes (view usage_minutes, the rows of usage_minutes.sql) in one table. Request rows have NULL
-- bucket_requests and bucket_width_s. An endpoint and minute may have a row from each; every reader sums.
SELECT * FROM request_minutes
UNION ALL BY NAME
SELECT * FROM usage_minutes
