-- The recommended commitments of one week ($week_start), for `modeshift report`'s fleet section
-- (docs/cost-model.md#commitments).
SELECT
    endpoint,
    term,
    committed_replicas,
    discount,
    expected_saving_usd,
    on_demand_cost_usd,
    committed_cost_usd,
    committed_utilization,
    break_even_utilization,
    weeks_lost,
    lookback_weeks,
    recommended
FROM commitments
WHERE week_start = CAST($week_start AS DATE) AND recommended
ORDER BY expected_saving_usd DESC, endpoint
