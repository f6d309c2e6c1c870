-- Rows in a list of Parquet files ($files); DuckDB answers from the files' metadata.
SELECT count(*) FROM read_parquet($files)
