-- How many buckets a set of usage files holds ($files: staged or merged minute files, or a duplicate-bucket file):
-- one bucket is one (source_file, source_line) pair, however many minutes it covers.
SELECT count(*) FROM (SELECT DISTINCT source_file, source_line FROM read_parquet($files))
