-- The endpoints of one week's minute rollups ($files), so that the FOCUS export prices each endpoint with the rate
-- card of its provider (a relation endpoint_provider is registered from this list, as the daily rollup does).
SELECT DISTINCT endpoint FROM read_parquet($files, union_by_name = true) ORDER BY endpoint
