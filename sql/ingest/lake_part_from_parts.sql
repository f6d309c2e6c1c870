-- Concatenate several written parts of one merge output ($files) into one lake file.
SELECT * FROM read_parquet($files, union_by_name = true)
