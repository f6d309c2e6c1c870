-- whatif_fixed(ep, wk, r): fixed(r) for one endpoint ep in the week starting wk, the columns modeshift whatif
-- prints (docs/analytics.md#what-if-in-sql): equal to the week's plan_curve row for r.
CREATE MACRO whatif_fixed(ep, wk, r) AS TABLE
SELECT week_start, ep AS endpoint, * EXCLUDE (week_start, endpoints) FROM whatif_pool_fixed([ep], wk, r)
