-- Row counts of the ingest tables of the warehouse.
SELECT
    (SELECT count(*) FROM ingest_log) AS ingest_log,
    (SELECT count(*) FROM requests) AS requests,
    (SELECT count(*) FROM quarantine) AS quarantine
