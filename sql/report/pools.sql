-- The candidate pools of one week ($week_start) that are recommended or held, for `modeshift report`'s fleet
-- section (docs/cost-model.md#pools).
SELECT
    pool_id,
    model,
    members,
    action,
    family,
    replicas,
    min_replicas,
    max_replicas,
    schedule_window,
    pooled_cost_usd,
    separate_cost_usd,
    multiplexing_saving_usd,
    saving_pct,
    held_reasons
FROM pool_recommendations
WHERE week_start = CAST($week_start AS DATE) AND action IN ('pool', 'hold')
ORDER BY multiplexing_saving_usd DESC, pool_id
