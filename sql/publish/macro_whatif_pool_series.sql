-- whatif_pool_series(eps, wk): the per-minute series of the endpoints in the list eps on one shared deployment in
-- the week starting wk (docs/cost-model.md#what-if): every member's demand in the pool's tokens, D_i * K_pool / K_i,
-- with K_pool = W / sum(W_i / K_i) (W_i a member's weighted demand of the week; K itself for one endpoint), summed
-- per covered minute with the members' serverless cost. Columns: minute_index, cell, demand_tps (weighted
-- tokens/s), serverless_cost_usd (USD), k_pool. Fails when a member has no offer that week or the members' GPU
-- offers differ (only K may).
CREATE MACRO whatif_pool_series(eps, wk) AS TABLE
WITH
members AS (
    SELECT o.endpoint, o.replica_capacity_tps AS k,
           coalesce((SELECT sum(m.demand_tps) FROM endpoint_minutes AS m
                     WHERE m.week_start = o.week_start AND m.endpoint = o.endpoint), 0.0) AS w
    FROM endpoint_offers AS o
    WHERE o.week_start = CAST(wk AS DATE) AND list_contains(eps, o.endpoint)
),
checked AS (
    SELECT
        CASE
            WHEN count(*) <> len(list_distinct(eps)) THEN
                error('whatif: some of ' || CAST(eps AS VARCHAR) || ' have no dedicated offer in week ' || CAST(wk AS VARCHAR))
            WHEN (SELECT count(DISTINCT (gpu_type, gpus_per_replica, replica_usd_per_hour, target_utilization))
                  FROM endpoint_offers WHERE week_start = CAST(wk AS DATE) AND list_contains(eps, endpoint)) > 1 THEN
                error('whatif: ' || CAST(eps AS VARCHAR) || ' cannot share a deployment (their GPU offers differ)')
            WHEN count(*) = 1 THEN any_value(k)
            WHEN sum(w) > 0 THEN sum(w) / sum(w / k)
            ELSE count(*) / sum(1.0 / k)
        END AS k_pool
    FROM members
)
SELECT
    m.minute_index,
    any_value(m.cell) AS cell,
    sum(m.demand_tps * (c.k_pool / p.k)) AS demand_tps,
    sum(m.serverless_cost_usd) AS serverless_cost_usd,
    any_value(c.k_pool) AS k_pool
FROM endpoint_minutes AS m
JOIN members AS p ON p.endpoint = m.endpoint
CROSS JOIN checked AS c
WHERE m.week_start = CAST(wk AS DATE)
GROUP BY m.minute_index
