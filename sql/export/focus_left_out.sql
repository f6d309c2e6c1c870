-- What the FOCUS export of a week leaves out of its minute rollups ($files, as in sql/export/focus_week.sql):
-- requests (and their list cost, USD) of minutes with an unpriced model, and of minutes with a dedicated or batch
-- request; and the list and billed cost (USD) of the minutes it keeps, which its rows add up to.
SELECT
    coalesce(sum(requests) FILTER (WHERE unpriced_requests > 0), 0) AS unpriced_requests,
    coalesce(sum(requests) FILTER (WHERE unpriced_requests = 0 AND (dedicated_requests > 0 OR batch_requests > 0)), 0)
        AS not_serverless_requests,
    coalesce(sum(list_cost_usd) FILTER (WHERE unpriced_requests = 0 AND (dedicated_requests > 0 OR batch_requests > 0)), 0)
        AS not_serverless_list_cost_usd,
    coalesce(sum(list_cost_usd) FILTER (WHERE unpriced_requests = 0 AND dedicated_requests = 0 AND batch_requests = 0), 0)
        AS kept_list_cost_usd,
    coalesce(sum(billed_cost_usd) FILTER (WHERE unpriced_requests = 0 AND dedicated_requests = 0 AND batch_requests = 0
        AND billed_requests = requests), 0) AS kept_billed_cost_usd
FROM read_parquet($files, union_by_name = true)
