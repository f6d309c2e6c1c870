-- The day's minute rollup when it has no aggregated usage: the request minutes (view request_minutes, the rows of
-- minutes.sql) with the usage columns of minutes_all.sql, NULL.
SELECT *, CAST(NULL AS BIGINT) AS bucket_requests, CAST(NULL AS BIGINT) AS bucket_width_s FROM request_minutes
