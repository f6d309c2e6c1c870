-- The endpoints of one UTC day's merged usage minutes ($files), priced like day_endpoints.sql's.
SELECT DISTINCT endpoint FROM read_parquet($files) ORDER BY endpoint
