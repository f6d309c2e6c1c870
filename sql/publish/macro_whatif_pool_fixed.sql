-- whatif_pool_fixed(eps, wk, r): fixed(r) on the shared deployment of the endpoints in the list eps, week wk
-- (docs/cost-model.md#what-if): r replicas for every covered minute, each serving up to K_pool * u weighted tokens/s,
-- the rest of each minute on serverless. The columns modeshift whatif prints: reserved, overflow and total USD per
-- week, billed replica-hours, utilization (served tokens / billed capacity K_pool), overflow share (tokens).
CREATE MACRO whatif_pool_fixed(eps, wk, r) AS TABLE
WITH
series AS (SELECT * FROM whatif_pool_series(eps, wk)),
offer AS (
    SELECT any_value(replica_usd_per_hour) AS price, any_value(target_utilization) AS u,
           any_value(covered_minutes) AS covered
    FROM endpoint_offers WHERE week_start = CAST(wk AS DATE) AND list_contains(eps, endpoint)
),
capacity AS (
    SELECT o.*, coalesce((SELECT any_value(k_pool) FROM series), 1.0) AS k,
           r * coalesce((SELECT any_value(k_pool) FROM series), 1.0) * o.u AS c
    FROM offer AS o
),
totals AS (
    SELECT
        CASE WHEN r = 0 THEN coalesce(sum(s.serverless_cost_usd), 0.0)
             ELSE coalesce(sum(CASE WHEN s.demand_tps > c.c THEN s.serverless_cost_usd * (1.0 - c.c / s.demand_tps)
                                    ELSE 0.0 END), 0.0) END AS overflow,
        CASE WHEN r = 0 THEN 0.0
             ELSE coalesce(sum(CASE WHEN s.demand_tps > 0 THEN least(s.demand_tps, c.c) ELSE 0.0 END), 0.0) * 60
        END AS served,
        coalesce(sum(s.demand_tps), 0.0) * 60 AS all_tokens
    FROM capacity AS c LEFT JOIN series AS s ON true
)
SELECT
    CAST(wk AS DATE) AS week_start,
    list_sort(list_distinct(eps)) AS endpoints,
    r AS replicas,
    r * c.price * c.covered / 60.0 AS reserved_cost_usd,
    t.overflow AS overflow_cost_usd,
    r * c.price * c.covered / 60.0 + t.overflow AS total_cost_usd,
    r * c.covered / 60.0 AS replica_hours,
    CASE WHEN r * c.covered > 0 THEN least(least(t.served, t.all_tokens) / (r * c.k * 60 * c.covered), c.u) END
        AS utilization,
    CASE WHEN t.all_tokens > 0 THEN greatest(0.0, least(1.0, (t.all_tokens - least(t.served, t.all_tokens)) / t.all_tokens))
         ELSE 0.0 END AS overflow_share
FROM capacity AS c, totals AS t
