-- The recommendations of one week ($week_start), largest savings first, for `modeshift report`.
SELECT
    endpoint,
    current_mode,
    raw_mode,
    recommended_mode,
    action,
    replicas,
    current_cost_usd,
    recommended_cost_usd,
    savings_usd,
    savings_pct,
    confidence,
    reasons,
    slo_status,
    slo_premium_usd,
    plan_family,
    min_replicas,
    max_replicas,
    schedule_window,
    raw_plan,
    price_basis,
    price_factor,
    list_current_cost_usd,
    list_savings_usd,
    list_recommended_mode,
    list_action
FROM recommendations
WHERE week_start = CAST($week_start AS DATE)
ORDER BY savings_usd DESC NULLS LAST, current_cost_usd DESC NULLS LAST, endpoint
