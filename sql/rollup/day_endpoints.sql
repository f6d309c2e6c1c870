-- The endpoints of one UTC day ($files: the day's request lake file), so that the daily rollup can price each
-- endpoint with the rate card of its provider (provider.endpoints in the settings; a relation named
-- endpoint_provider is registered from this list).
SELECT DISTINCT endpoint FROM read_parquet($files) ORDER BY endpoint
