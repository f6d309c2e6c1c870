-- The quarantine view before anything was quarantined: the same columns, no rows.
CREATE OR REPLACE VIEW quarantine AS
SELECT
    CAST(NULL AS VARCHAR) AS source_file, CAST(NULL AS BIGINT) AS line, CAST(NULL AS VARCHAR) AS reason,
    CAST(NULL AS VARCHAR) AS raw, CAST(NULL AS VARCHAR) AS stage, CAST(NULL AS DATE) AS day
WHERE false
