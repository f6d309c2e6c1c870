-- Every row of a list of Parquet files ($files), columns matched by name.
SELECT * FROM read_parquet($files, union_by_name = true)
