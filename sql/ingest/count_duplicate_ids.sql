-- How many rows of a set of Parquet files ($files) repeat a request_id already seen in them.
SELECT count(*) - count(DISTINCT request_id) AS duplicates FROM read_parquet($files)
