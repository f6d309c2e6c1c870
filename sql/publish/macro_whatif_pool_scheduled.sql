-- whatif_pool_scheduled(eps, wk, r, window_cells): scheduled(r, window) on the shared deployment of the endpoints in
-- the list eps, week wk (docs/cost-model.md#scheduled): r replicas in the covered minutes whose weekday-hour cell
-- (weekday * 24 + hour, Monday = 0, in schedules.time_zone: week_minutes.cell) is in the list window_cells, none
-- outside (all that traffic on serverless). Billed: r * (the window's minutes, or under hourly billing 60 per clock
-- hour it touches, + each window start's warm-up: the cold start, rounded up to whole hours under hourly billing).
-- The columns modeshift whatif prints.
CREATE MACRO whatif_pool_scheduled(eps, wk, r, window_cells) AS TABLE
WITH
series AS (SELECT * FROM whatif_pool_series(eps, wk)),
offer AS (
    SELECT any_value(replica_usd_per_hour) AS price, any_value(target_utilization) AS u,
           any_value(cold_start_minutes) AS cold, any_value(billing_granularity_minutes) AS billing
    FROM endpoint_offers WHERE week_start = CAST(wk AS DATE) AND list_contains(eps, endpoint)
),
capacity AS (
    SELECT o.*, coalesce((SELECT any_value(k_pool) FROM series), 1.0) AS k,
           r * coalesce((SELECT any_value(k_pool) FROM series), 1.0) * o.u AS c,
           CASE WHEN o.billing = 1 OR o.cold = 0 THEN o.cold ELSE CAST(ceil(o.cold / 60.0) AS BIGINT) * 60 END AS warm_up
    FROM offer AS o
),
minutes AS (
    SELECT minute_index, list_contains(window_cells, cell) AS inside,
           coalesce(lag(list_contains(window_cells, cell)) OVER (ORDER BY minute_index), false) AS inside_before
    FROM week_minutes WHERE week_start = CAST(wk AS DATE)
),
window_time AS (
    SELECT
        count(*) FILTER (WHERE inside) AS window_minutes,
        count(*) FILTER (WHERE inside AND NOT inside_before) AS starts,
        count(DISTINCT minute_index // 60) FILTER (WHERE inside) * 60 AS window_hours_minutes
    FROM minutes
),
billed AS (
    SELECT CASE WHEN w.window_minutes = 0 THEN 0
                ELSE r * ((CASE WHEN c.billing = 1 THEN w.window_minutes ELSE w.window_hours_minutes END)
                          + w.starts * c.warm_up) END AS replica_minutes
    FROM window_time AS w, capacity AS c
),
totals AS (
    SELECT
        coalesce(sum(CASE WHEN NOT inside OR r = 0 THEN s.serverless_cost_usd
                          WHEN s.demand_tps > c.c THEN s.serverless_cost_usd * (1.0 - c.c / s.demand_tps)
                          ELSE 0.0 END), 0.0) AS overflow,
        coalesce(sum(CASE WHEN inside AND r > 0 AND s.demand_tps > 0 THEN least(s.demand_tps, c.c) ELSE 0.0 END), 0.0)
            * 60 AS served,
        coalesce(sum(s.demand_tps), 0.0) * 60 AS all_tokens
    FROM capacity AS c
    LEFT JOIN (SELECT s.*, list_contains(window_cells, s.cell) AS inside FROM series AS s) AS s ON true
)
SELECT
    CAST(wk AS DATE) AS week_start,
    list_sort(list_distinct(eps)) AS endpoints,
    r AS replicas,
    b.replica_minutes * c.price / 60.0 AS reserved_cost_usd,
    t.overflow AS overflow_cost_usd,
    b.replica_minutes * c.price / 60.0 + t.overflow AS total_cost_usd,
    b.replica_minutes / 60.0 AS replica_hours,
    CASE WHEN b.replica_minutes > 0 THEN least(least(t.served, t.all_tokens) / (b.replica_minutes * c.k * 60), c.u) END
        AS utilization,
    CASE WHEN t.all_tokens > 0 THEN greatest(0.0, least(1.0, (t.all_tokens - least(t.served, t.all_tokens)) / t.all_tokens))
         ELSE 0.0 END AS overflow_share
FROM capacity AS c, totals AS t, billed AS b
