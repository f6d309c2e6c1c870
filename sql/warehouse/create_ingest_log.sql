-- One row per landed file (from the registered frame ingest_log_frame):
-- rows_in = rows_accepted + rows_quarantined + rows_pending.
CREATE OR REPLACE TABLE ingest_log AS
SELECT * FROM ingest_log_frame ORDER BY ingested_at, source_file
