-- Every row of a list of Parquet files ($files) with the same columns.
SELECT * FROM read_parquet($files)
