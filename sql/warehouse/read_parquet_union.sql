-- Every row of a list of Parquet files ($files), columns matched by name (directory names are not columns).
SELECT * FROM read_parquet($files, union_by_name = true, hive_partitioning = false)
