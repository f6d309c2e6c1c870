-- whatif_scheduled(ep, wk, r, window_cells): scheduled(r, window) for one endpoint ep in the week starting wk,
-- window_cells the list of weekday-hour cells (weekday * 24 + hour, Monday = 0, in schedules.time_zone), the
-- columns modeshift whatif prints (docs/analytics.md#what-if-in-sql).
CREATE MACRO whatif_scheduled(ep, wk, r, window_cells) AS TABLE
SELECT week_start, ep AS endpoint, * EXCLUDE (week_start, endpoints)
FROM whatif_pool_scheduled([ep], wk, r, window_cells)
