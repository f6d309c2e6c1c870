-- Which rows a merged day quarantined, as one number ($files: the day's quarantine part): 0 when none. A change of
-- this digest changes the day's fingerprint (lineage), so its rollup and weeks are recomputed.
SELECT coalesce(bit_xor(hash(source_file, source_line)), 0)::VARCHAR AS digest FROM read_parquet($files)
